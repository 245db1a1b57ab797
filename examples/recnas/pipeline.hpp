#pragma once
// What `recnas search`, `recnas rank` and `recnas codesign` share on top of the library's
// phases (recnas/search/phases.hpp): the options that name those phases' settings.
#include <CLI/CLI.hpp>

#include <recnas/search/budget.hpp>
#include <recnas/search/phases.hpp>
#include <recnas/search/run_store.hpp>

#include "cli.hpp"

namespace recnas_cli {

/// `--supernet-lr` (search, rank, codesign).
inline void add_supernet_lr_option(CLI::App& app, double& lr) {
  app.add_option("--supernet-lr", lr,
                 "peak Adagrad learning rate of supernet training (reference: 0.12)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

}  // namespace recnas_cli
