// `recnas data stats|convert` end to end, when the recnas tool has been built next to this
// test (build/<dir>/examples/recnas); skipped with a message otherwise.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <sys/wait.h>

#include <doctest/doctest.h>

#include "data_test_util.hpp"

namespace {
std::string cli_path() {
  const auto exe = std::filesystem::read_symlink("/proc/self/exe");
  return (exe.parent_path().parent_path() / "examples" / "recnas").string();
}

struct run_result {
  int exit_code = -1;
  std::string out, err;
};

run_result run(const std::string& args) {
  data_test::temp_file out("cli_out.txt", ""), err("cli_err.txt", "");
  const std::string cmd = cli_path() + " " + args + " >" + out.path + " 2>" + err.path;
  const int status = std::system(cmd.c_str());
  run_result r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  auto slurp = [](const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  r.out = slurp(out.path);
  r.err = slurp(err.path);
  return r;
}

std::string last_line(const std::string& s) {
  auto end = s.find_last_not_of('\n');
  if (end == std::string::npos) return {};
  const auto start = s.rfind('\n', end);
  return s.substr(start == std::string::npos ? 0 : start + 1,
                  end - (start == std::string::npos ? 0 : start + 1) + 1);
}

bool have_cli() {
  if (std::filesystem::exists(cli_path())) return true;
  MESSAGE("skipped: the recnas tool is not built at " << cli_path());
  return false;
}
}  // namespace

TEST_CASE("cli: a bad row exits non-zero with file:line: and the reason on stderr") {
  if (!have_cli()) return;
  data_test::temp_file bad("cli_bad.txt", "0\t1\t2\n");
  data_test::temp_file cache("cli_bad.cache");
  const auto r = run("data convert --data criteo:" + bad.path + " --out " + cache.path);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find(bad.path + ":1: expected 40 fields, found 3") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(cache.path));
  const auto s = run("data stats --data criteo:" + bad.path + " --skip-bad-rows");
  CHECK(s.exit_code == 1);  // nothing valid left
  CHECK(s.err.find("all skipped") != std::string::npos);
}

TEST_CASE("cli: stats --json ends stdout with one JSON object; convert round trip") {
  if (!have_cli()) return;
  data_test::temp_file cache("cli_syn.cache");
  const auto c =
      run("data convert --data synthetic:rows=3000,seed=3 --out " + cache.path + " --json");
  REQUIRE(c.exit_code == 0);
  CHECK(last_line(c.out).find("\"rows\":3000") != std::string::npos);
  const auto s = run("data stats --data cache:" + cache.path + " --json");
  REQUIRE(s.exit_code == 0);
  const auto j = last_line(s.out);
  CHECK(j.front() == '{');
  CHECK(j.find("\"rows\":3000") != std::string::npos);
  CHECK(j.find("\"positive_rate\":") != std::string::npos);
  const std::string rel = "criteo/autoint/train_examples.txt";
  if (!data_test::have_shared(rel)) return;
  const auto t = run("data stats --data criteo:" + data_test::shared(rel) + " --json");
  REQUIRE(t.exit_code == 0);
  CHECK(last_line(t.out).find("\"positive_rate\":0.2182") != std::string::npos);
  CHECK(last_line(t.out).find("\"rows\":10000") != std::string::npos);
}
