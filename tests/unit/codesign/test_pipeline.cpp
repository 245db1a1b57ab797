// The co-design job as a library call (codesign/pipeline.hpp): bad settings are refused naming
// the setting before any work is done or any file written. The job itself runs end to end in
// the cli.codesign tests (examples/recnas/codesign_tests.cmake).
#include <filesystem>
#include <string>

#include <doctest/doctest.h>

#include <recnas/codesign/pipeline.hpp>
#include <recnas/supernet/spaces.hpp>

namespace cd = recnas::codesign;
namespace fs = std::filesystem;

namespace {
std::string field_of_error(const cd::codesign_settings& s) {
  try {
    (void)cd::run_codesign<recnas::supernet::nasrec_small>(s);
  } catch (const recnas::input_error& e) {
    return e.field();
  }
  return "(no error)";
}
}  // namespace

TEST_CASE("run_codesign refuses bad settings, naming the setting, before any work") {
  const fs::path dir = fs::temp_directory_path() / "recnas-test-codesign-pipeline-bad";
  fs::remove_all(dir);
  cd::codesign_settings base;
  base.data = "synthetic:rows=2000";
  base.budget = "tiny";
  base.out = dir;
  auto s = base;
  s.budget = "3";
  CHECK(field_of_error(s) == "budget");
  s = base;
  s.preset = "tpu";
  CHECK(field_of_error(s) == "pim preset");
  s = base;
  s.objective_weights = {1.0, 0.5};
  CHECK(field_of_error(s) == "objective_weights");
  s = base;
  s.supernet_activations = "int8";
  CHECK(field_of_error(s) == "supernet_activations");
  s = base;
  s.supernet_float_share = 1.5;
  CHECK(field_of_error(s) == "supernet_float_share");
  s = base;
  s.seeds = 0;
  CHECK(field_of_error(s) == "seeds");
  CHECK_FALSE(fs::exists(dir));
}
