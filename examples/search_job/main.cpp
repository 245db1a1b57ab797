// The main job of `recnas search`, called from C++: settings in, result out, progress through an
// observer of your own. Usage: recnas_search_job [DATA_SPEC [OUT_DIR]]
// (default: a tiny search on 3,000 synthetic rows into ./search-job).
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

#include <recnas/search/pipeline.hpp>
#include <recnas/supernet/spaces.hpp>

namespace {

/// One line per task and per note; a real service might log or update a dashboard instead.
class log_observer : public recnas::search::observer {
 public:
  void begin(std::string_view task, double total, std::string_view unit) override {
    std::printf("  %.*s: %.0f %.*s\n", static_cast<int>(task.size()), task.data(), total,
                static_cast<int>(unit.size()), unit.data());
  }
  void note(std::string_view line) override {
    std::printf("  %.*s\n", static_cast<int>(line.size()), line.data());
  }
};

}  // namespace

int main(int argc, char** argv) try {
  recnas::search::search_settings s;
  s.data = argc > 1 ? argv[1] : "synthetic:rows=3000";
  s.out = argc > 2 ? argv[2] : "search-job";
  s.budget = "tiny";  // tiny | small | paper | N candidate evaluations
  s.baselines = "dnn,dlrm";
  s.threads = 2;
  log_observer obs;
  using space = recnas::supernet::nasrec_small;
  const auto r = recnas::search::run_pipeline<space>(s, obs);  // resumes what s.out holds
  recnas::search::write_outputs<space>(r, s.out);  // best.json, best_arch.json, pareto.json
  std::printf("winner #%lld: test logloss %.5f, %.3f MFLOPs\n", static_cast<long long>(r.winner.id),
              r.winner_run["test_logloss"].get<double>(), r.winner_run["mflops"].get<double>());
  for (const auto& b : r.baseline_runs)
    std::printf("%s: test logloss %.5f\n", b["label"].get<std::string>().c_str(),
                b["test_logloss"].get<double>());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "recnas_search_job: %s\n", e.what());
  return 1;
}
