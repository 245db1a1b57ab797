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
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <recnas/core/error.hpp>
#include <recnas/pim/presets.hpp>
#include <recnas/search/observer.hpp>
#include <recnas/search/run_store.hpp>
#include <recnas/supernet/spaces.hpp>

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

/// `--pim-preset`'s check: the names pim::visit_preset knows.
inline CLI::Validator pim_preset_names() {
  return CLI::IsMember(
      std::vector<std::string>(recnas::pim::preset_names.begin(), recnas::pim::preset_names.end()));
}

/// `--data SPEC` with the one help text of the spec syntax (recnas/data/spec.hpp).
inline CLI::Option* add_data_option(CLI::App& app, std::string& target) {
  return app.add_option(
      "--data", target,
      "criteo:PATH | avazu:PATH | kdd:PATH[,profile=PATH] | csv:PATH,schema=FILE | cache:PATH | "
      "synthetic[:rows=N,seed=S]; text formats size tables from the training ids "
      "(,min_count=N, default 2) or hash into at most N rows (,cap=N)");
}

/// Runs `job`, naming the command-line option in the library's settings errors: the library
/// names a setting (`pim_mapping`, `constraint`), the user typed `--pim-mapping`, `--constraint`.
template <class Job>
decltype(auto) with_option_names(Job&& job) {
  try {
    return std::forward<Job>(job)();
  } catch (const recnas::input_error& e) {
    if (!e.file().empty() || e.field().empty() || e.field().front() == '-') throw;
    std::string flag = e.field() == "constraints" ? "constraint" : e.field();
    for (char& c : flag)
      if (c == '_' || c == ' ') c = '-';
    throw recnas::input_error("", 0, "--" + flag, e.reason());
  }
}

inline void print_json_last_line(const nlohmann::json& j) {
  std::fflush(stderr);
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
}

using recnas::search::write_file_atomic;

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

/// The library's progress events as the tool shows them: one progress bar per task on stderr,
/// notes as lines, and Ctrl-C (SIGINT/SIGTERM) as the request to stop.
class printing_observer : public recnas::search::observer {
 public:
  void begin(std::string_view task, double total, std::string_view unit) override {
    bar_.emplace(std::string(task), total, std::string(unit));
  }
  void advance(double done, std::string_view status) override {
    if (bar_) bar_->update(done, std::string(status));
  }
  void end(double done, std::string_view status) override {
    if (bar_) bar_->finish(done, std::string(status));
    bar_.reset();
  }
  void note(std::string_view line) override {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
  }
  [[nodiscard]] bool stop_requested() const override { return interrupted().load(); }

 private:
  std::optional<progress> bar_;
};

}  // namespace recnas_cli
