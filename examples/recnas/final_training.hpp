#pragma once
// The final-training protocol's options as the commands spell them (`--lr`, `--epochs`).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <recnas/data/dataset.hpp>
#include <recnas/supernet/supernet.hpp>
#include <recnas/train/protocol.hpp>

#include "cli.hpp"

namespace recnas_cli {

/// `--lr auto|X|X,Y,...` and `--epochs auto|N` into the protocol's grid, epochs and patience.
inline void parse_protocol_choice(const std::string& lr, const std::string& epochs, int max_epochs,
                                  recnas::train::protocol_options& p) {
  if (lr == "auto") {
    p.lr_grid = recnas::train::default_lr_grid();
  } else {
    p.lr_grid.clear();
    std::stringstream ss(lr);
    for (std::string item; std::getline(ss, item, ',');) {
      char* end = nullptr;
      const double v = std::strtod(item.c_str(), &end);
      if (item.empty() || *end != '\0' || !std::isfinite(v) || v <= 0)
        throw recnas::input_error("", 0, "--lr",
                                  "\"" + item +
                                      "\" is not a positive number (--lr auto, a "
                                      "number, or a comma-separated grid)");
      p.lr_grid.push_back(v);
    }
    if (p.lr_grid.empty()) throw recnas::input_error("", 0, "--lr", "empty learning-rate list");
  }
  if (epochs == "auto") {
    p.max_epochs = max_epochs;
  } else {
    char* end = nullptr;
    const long n = std::strtol(epochs.c_str(), &end, 10);
    if (epochs.empty() || *end != '\0' || n < 1 || n > 1000)
      throw recnas::input_error("", 0, "--epochs",
                                "\"" + epochs + "\" is not auto or a number of epochs in 1..1000");
    p.max_epochs = static_cast<int>(n);
    p.patience = 0;  // a number fixes the epochs: the last one is the result
  }
}

}  // namespace recnas_cli
