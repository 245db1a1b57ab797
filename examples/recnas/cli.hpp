#pragma once
// Shared pieces of the recnas command-line tool: the subcommand registry, progress bars,
// the `--json` last-line convention, and Ctrl-C handling.

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <recnas/core/error.hpp>
#include <recnas/supernet/space.hpp>

namespace recnas_cli {

/// A subcommand: `setup` adds options to its CLI::App and a callback that does the work.
struct command {
  std::string name;
  std::string help;
  std::function<void(CLI::App&)> setup;
};

inline std::vector<command>& registry() {
  static std::vector<command> commands;
  return commands;
}

/// `static recnas_cli::register_command reg{{"name", "help", setup}};` in a cmd_*.cpp file.
struct register_command {
  explicit register_command(command c) { registry().push_back(std::move(c)); }
};

/// The `--json` convention: exactly one JSON object, as the last line of stdout.
/// `--space NAME` restricted to the spaces of List (checked while parsing, with the known
/// names in the message); dispatch with recnas::supernet::visit_space<List>.
template <class List = recnas::supernet::searchable_spaces>
CLI::Option* add_space_option(CLI::App& app, std::string& target, const std::string& what) {
  return app.add_option("--space", target, what + ": " + List::names())
      ->check(CLI::Validator(
          [](std::string& v) {
            return List::contains(v) ? std::string()
                                     : "unknown space \"" + v + "\" (known: " + List::names() + ")";
          },
          "SPACE"));
}

inline void print_json_last_line(const nlohmann::json& j) {
  std::fflush(stderr);
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
}

/// Writes `text` to `p` through a temporary file and a rename, so readers never see half a file.
inline void write_file_atomic(const std::filesystem::path& p, const std::string& text) {
  const std::filesystem::path tmp = p.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) throw recnas::error("cannot write " + tmp.string());
  }
  std::filesystem::rename(tmp, p);
}

/// Set by SIGINT/SIGTERM; long-running commands poll it, checkpoint and exit cleanly.
inline std::atomic<bool>& interrupted() {
  static std::atomic<bool> flag{false};
  return flag;
}
inline void install_interrupt_handler() {
  auto handler = [](int) { interrupted().store(true); };
  std::signal(SIGINT, handler);
  std::signal(SIGTERM, handler);
}

/// A one-line progress bar on stderr with rate and ETA, redrawn at most 10 times a second
/// (plain lines every 5 s when stderr is not a terminal, so CI logs stay readable).
class progress {
 public:
  progress(std::string what, double total, std::string unit)
      : what_(std::move(what)),
        unit_(std::move(unit)),
        total_(total),
        start_(clock::now()),
        last_(start_),
        tty_(isatty_stderr()) {}

  void update(double done, const std::string& extra = {}) {
    const auto now = clock::now();
    const double since = std::chrono::duration<double>(now - last_).count();
    if (done >= total_ || since < (tty_ ? 0.1 : 5.0)) return;  // finish() draws the end
    last_ = now;
    draw(done, extra, false);
  }
  void finish(double done, const std::string& extra = {}) { draw(done, extra, true); }
  [[nodiscard]] double elapsed_s() const {
    return std::chrono::duration<double>(clock::now() - start_).count();
  }

 private:
  using clock = std::chrono::steady_clock;
  static bool isatty_stderr();
  void draw(double done, const std::string& extra, bool final) {
    const double el = elapsed_s();
    const double rate = el > 0 ? done / el : 0.0;
    const double frac = total_ > 0 ? std::min(1.0, done / total_) : 0.0;
    const double eta = rate > 0 && total_ > done ? (total_ - done) / rate : 0.0;
    constexpr int width = 28;
    std::string bar(static_cast<std::size_t>(frac * width), '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "%s%-14s [%s] %5.1f%% %10.0f %s/s  ETA %6.1fs  %s%s", tty_ ? "\r" : "",
                 what_.c_str(), bar.c_str(), 100.0 * frac, rate, unit_.c_str(), eta, extra.c_str(),
                 (final || !tty_) ? "\n" : "");
    std::fflush(stderr);
  }
  std::string what_, unit_;
  double total_;
  clock::time_point start_, last_;
  bool tty_;
};

}  // namespace recnas_cli
