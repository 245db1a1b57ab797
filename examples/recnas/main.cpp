// recnas: the command-line tool. Each subcommand lives in its own cmd_<name>.cpp.
#include <algorithm>
#include <cstdio>
#include <exception>

#include <unistd.h>

#include <recnas/recnas.hpp>
#include <recnas/supernet/architecture.hpp>
#include <recnas/supernet/spaces.hpp>

#include "cli.hpp"

bool recnas_cli::progress::isatty_stderr() { return ::isatty(2) != 0; }

namespace {

void print_overview() {
  std::printf("recnas %s: automated design of CTR models, co-designed with PIM hardware\n",
              recnas::version_string.data());
  std::printf(
      "SIMD: CPU supports %s, kernels use %s; %d hardware threads\n",
      recnas::simd::to_string(recnas::simd::detected_isa()).data(),
      recnas::simd::to_string(recnas::simd::dispatcher<recnas::kernels::peak_table>::selected())
          .data(),
      recnas::parallel::hardware_threads());
  std::printf("search spaces:\n");
  auto describe = []<class S>() {
    std::string dense, sparse;
    for (int i = 0; i < S::num_dense_ops; ++i)
      dense += (i ? ", " : "") + std::string(S::dense_op_name(i));
    for (int i = 0; i < S::num_sparse_ops; ++i)
      sparse += (i ? ", " : "") + std::string(S::sparse_op_name(i));
    std::printf("  %-13s %d blocks; dense ops: %s; sparse ops: %s; ~10^%.1f architectures\n",
                std::string(S::name).c_str(), S::num_blocks, dense.c_str(), sparse.c_str(),
                recnas::supernet::log10_space_size<S>());
  };
  describe.template operator()<recnas::supernet::nasrec_full>();
  describe.template operator()<recnas::supernet::nasrec_small>();
  std::printf("subcommands:\n");
  auto cmds = recnas_cli::registry();
  std::sort(cmds.begin(), cmds.end(), [](auto& a, auto& b) { return a.name < b.name; });
  if (cmds.empty()) std::printf("  (none yet)\n");
  for (const auto& c : cmds) std::printf("  %-12s %s\n", c.name.c_str(), c.help.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"recnas: weight-sharing NAS for CTR models with PIM co-design"};
  app.set_version_flag("--version", std::string("recnas ") + std::string(recnas::version_string));
  auto cmds = recnas_cli::registry();
  std::sort(cmds.begin(), cmds.end(), [](auto& a, auto& b) { return a.name < b.name; });
  for (const auto& c : cmds) c.setup(*app.add_subcommand(c.name, c.help));
  try {
    app.parse(argc, argv);
    if (app.get_subcommands().empty()) print_overview();
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "recnas: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
