// The search job as a library call (search/pipeline.hpp): bad settings are refused naming the
// setting before any work; a run reports through its observer, stops when the observer asks,
// resumes to exactly what an uninterrupted run writes, and refuses other settings in its folder.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <recnas/search/pipeline.hpp>
#include <recnas/supernet/json.hpp>
#include <recnas/supernet/spaces.hpp>

namespace rs = recnas::search;
namespace sn = recnas::supernet;
namespace fs = std::filesystem;

namespace {
using S = sn::nasrec_small;

fs::path fresh_dir(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("recnas-test-pipeline-" + name);
  fs::remove_all(p);
  return p;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Records every event; asks to stop once `stop_at` candidates of the evolution are done.
struct recording_observer : rs::observer {
  std::vector<std::string> begun, notes;
  int open = 0, ended = 0;
  std::string task;
  double stop_at = -1;
  bool stop = false;
  void begin(std::string_view t, double total, std::string_view) override {
    CHECK(open == 0);  // one task at a time
    CHECK(total > 0);
    begun.emplace_back(t);
    task = t;
    ++open;
  }
  void advance(double done, std::string_view) override {
    CHECK(open == 1);
    if (stop_at >= 0 && task == "evolution" && done >= stop_at) stop = true;
  }
  void end(double, std::string_view) override {
    CHECK(open == 1);
    --open;
    ++ended;
  }
  void note(std::string_view line) override { notes.emplace_back(line); }
  [[nodiscard]] bool stop_requested() const override { return stop; }
  [[nodiscard]] bool began_with(const std::string& prefix) const {
    for (const auto& b : begun)
      if (b.rfind(prefix, 0) == 0) return true;
    return false;
  }
};

rs::search_settings tiny(const fs::path& out) {
  rs::search_settings s;
  s.data = "synthetic:rows=4000";
  s.budget = "tiny";
  s.baselines = "dnn";
  s.top_k = 1;
  s.screen = 0;
  s.threads = 2;
  s.seed = 5;
  s.out = out;
  return s;
}

std::string field_of_error(const rs::search_settings& s) {
  try {
    (void)rs::run_pipeline<S>(s);
  } catch (const recnas::input_error& e) {
    return e.field();
  }
  return "(no error)";
}
}  // namespace

TEST_CASE("run_pipeline refuses bad settings, naming the setting, before any work") {
  const auto dir = fresh_dir("bad");
  auto s = tiny(dir);
  s.objectives = "logloss,bogus";
  CHECK(field_of_error(s) == "objectives");
  s = tiny(dir);
  s.objectives = "flops,logloss";
  CHECK(field_of_error(s) == "objectives");
  s = tiny(dir);
  s.constraints = {"flops<5"};
  CHECK(field_of_error(s) == "constraint");
  s = tiny(dir);
  s.strategy = "annealing";
  CHECK(field_of_error(s) == "strategy");
  s = tiny(dir);
  s.budget = "3";
  CHECK(field_of_error(s) == "budget");
  s = tiny(dir);
  s.final_fit = "test";
  CHECK(field_of_error(s) == "final");
  s = tiny(dir);
  s.pim_mapping = "clever";
  CHECK(field_of_error(s) == "pim_mapping");
  s = tiny(dir);
  s.sampling = "some-path";
  CHECK(field_of_error(s) == "sampling");
  CHECK_FALSE(fs::exists(dir));  // nothing was started
}

TEST_CASE("run_pipeline runs, stops on request, resumes exactly and guards its settings" *
          doctest::test_suite("heavy")) {
  const auto a = fresh_dir("straight"), b = fresh_dir("resumed");
  recording_observer obs;
  const rs::search_result r = rs::run_pipeline<S>(tiny(a), obs);
  CHECK(obs.open == 0);
  CHECK(obs.ended == static_cast<int>(obs.begun.size()));
  CHECK(obs.began_with("supernet"));
  CHECK(obs.began_with("evolution"));
  CHECK(obs.began_with("retrain 1/1 lr "));
  CHECK(obs.began_with("baseline dnn lr "));
  REQUIRE_FALSE(obs.notes.empty());
  CHECK(obs.notes.front().rfind("data: ", 0) == 0);

  CHECK(r.space == S::name);
  CHECK(r.objectives == std::vector<std::string>{"logloss", "mflops"});
  CHECK(r.history.size() == 20);  // tiny: population 8 + 3 generations of 4
  CHECK(r.evaluated == 20);
  REQUIRE(r.finalists.size() == 1);
  REQUIRE(r.baseline_runs.size() == 1);
  CHECK(r.baseline_runs[0]["label"] == "baseline dnn");
  const double win = r.winner_run["test_logloss"].get<double>();
  CHECK(std::isfinite(win));
  CHECK(win > 0.0);
  CHECK(win < 1.0);
  CHECK(std::isfinite(r.baselines["dnn"].get<double>()));
  CHECK(r.metrics.count(r.winner.hash) == 1);
  REQUIRE_FALSE(r.front.empty());
  for (auto k : r.front) CHECK(k < r.points.size());

  rs::write_outputs<S>(r, a);
  const auto best = sn::read_json_file((a / "best.json").string());
  CHECK(best["arch"] == sn::to_json<S>(r.winner.candidate));
  CHECK(best["test_logloss"].get<double>() == win);
  CHECK(sn::read_json_file((a / "pareto.json").string())["front"].size() == r.front.size());

  // Asked to stop during evolution: an interruption naming the phase and the folder.
  recording_observer stopper;
  stopper.stop_at = 8;
  bool interrupted = false;
  try {
    (void)rs::run_pipeline<S>(tiny(b), stopper);
  } catch (const rs::interrupted_error& e) {
    interrupted = true;
    CHECK(e.phase() == "evolution");
    CHECK(e.folder() == b);
  }
  REQUIRE(interrupted);
  CHECK_FALSE(stopper.began_with("retrain"));
  // Resumed: replays the logged candidates and ends where the uninterrupted run did.
  recording_observer again;
  const auto r2 = rs::run_pipeline<S>(tiny(b), again);
  CHECK(r2.evaluated < 20);
  CHECK(slurp(a / "history.jsonl") == slurp(b / "history.jsonl"));
  CHECK(r2.winner.hash == r.winner.hash);
  CHECK(r2.winner_run["test_logloss"].get<double>() == win);
  CHECK(r2.baselines["dnn"].get<double>() == r.baselines["dnn"].get<double>());

  // Other settings in the same folder are refused, naming the first that differs.
  auto other = tiny(b);
  other.seed = 6;
  CHECK(field_of_error(other) == "seed");

  // A finished folder answers from its run store: nothing evaluated or trained again.
  recording_observer cached;
  const auto r3 = rs::run_pipeline<S>(tiny(a), cached);
  CHECK(r3.evaluated == 0);
  CHECK_FALSE(cached.began_with("retrain"));
  CHECK_FALSE(cached.began_with("baseline"));
  CHECK(r3.winner_run["test_logloss"].get<double>() == win);
  fs::remove_all(a);
  fs::remove_all(b);
}
