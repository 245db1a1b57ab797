// recnas inspect: FLOPs, parameters and live blocks of one architecture (recnas's JSON or the
// reference's released configs), with a per-block table.
#include <cstdio>
#include <string>

#include <recnas/supernet/counting.hpp>
#include <recnas/supernet/json.hpp>

#include "cli.hpp"

namespace {

namespace sn = recnas::supernet;

struct inspect_options {
  std::string arch;
  std::string space;
  std::string dataset;
  bool json = false;
};

sn::data_shape dataset_shape(const std::string& name) {
  if (name == "criteo") return sn::data_shape::criteo();
  if (name == "avazu") return sn::data_shape::avazu();
  if (name == "kdd") return sn::data_shape::kdd();
  throw recnas::input_error("", 0, "--dataset",
                            "unknown dataset \"" + name + "\" (criteo, avazu, kdd)");
}

/// The dataset a file is for: the option, else its name (ea_<ds>_kaggle_...), else Criteo.
std::string infer_dataset(const inspect_options& o) {
  if (!o.dataset.empty()) return o.dataset;
  for (const char* ds : {"criteo", "avazu", "kdd"}) {
    if (o.arch.find(ds) != std::string::npos) return ds;
  }
  return "criteo";
}

std::string set_string(recnas::connect::source_set s) {
  std::string r;
  for (int j = 0; j < 64; ++j) {
    if (!recnas::connect::contains(s, j)) continue;
    if (!r.empty()) r += ',';
    r += std::to_string(j);
  }
  return r;
}

template <class S>
void run(const inspect_options& o, const nlohmann::json& j) {
  const auto a = sn::from_json<S>(j, o.arch);
  const std::string ds_name = infer_dataset(o);
  const auto ds = dataset_shape(ds_name);
  const auto r = sn::analyze<S>(a, ds);
  std::printf(
      "%s  space %s  dataset %s (%lld dense, %lld sparse features)  hash %016llx\n", o.arch.c_str(),
      std::string(S::name).c_str(), ds_name.c_str(), static_cast<long long>(ds.dense_features),
      static_cast<long long>(ds.sparse_features()), static_cast<unsigned long long>(a.hash()));
  std::printf("%-3s %-15s %-13s %-6s %-10s %-9s %-5s %-9s %-8s %-5s %9s %10s\n", "blk", "dense op",
              "dense in", "d", "sparse op", "sparse in", "s", "l/r", "mergers", "live", "MFLOPs",
              "params");
  for (const auto& b : r.blocks) {
    const auto& c = a.blocks[static_cast<std::size_t>(b.block)];
    std::string merg;
    for (const auto& m : b.mergers)
      merg += m == "dense_to_sparse" ? "dsi " : m == "sparse_to_dense" ? "fm " : m + " ";
    const char* live = b.dense_live && b.sparse_live ? "yes"
                       : b.dense_live                ? "dense"
                       : b.sparse_live               ? "sparse"
                                                     : "dead";
    std::printf("%-3d %-15s %-13s %-6lld %-10s %-9s %-5lld %-9s %-8s %-5s %9.4f %10lld\n", b.block,
                b.dense_op.c_str(), set_string(c.dense_in).c_str(), static_cast<long long>(b.d),
                b.sparse_op.c_str(), set_string(c.sparse_in).c_str(), static_cast<long long>(b.s),
                (std::to_string(c.left) + "/" + std::to_string(c.right)).c_str(),
                merg.empty() ? "-" : merg.c_str(), live, b.flops / 1e6,
                static_cast<long long>(b.params));
  }
  std::string live;
  for (int b : r.live_blocks) live += (live.empty() ? "" : ",") + std::to_string(b);
  std::printf("head: Linear(%lld -> 1)\n", static_cast<long long>(r.head_width));
  std::printf("MFLOPs per example: %.4f (%.4f without dead-block pruning)\n", r.mflops(),
              r.flops_unpruned / 1e6);
  std::printf(
      "parameters: %lld dense (%lld after pruning), %lld in embedding tables of 1000 rows\n",
      static_cast<long long>(r.params), static_cast<long long>(r.live_params),
      static_cast<long long>(r.embedding_params));
  std::printf("live blocks: %s\n", live.c_str());
  if (o.json) {
    nlohmann::json out;
    out["arch"] = o.arch;
    out["space"] = std::string(S::name);
    out["dataset"] = ds_name;
    out["hash"] = a.hash();
    out["mflops"] = r.mflops();
    out["mflops_unpruned"] = r.flops_unpruned / 1e6;
    out["params"] = r.params;
    out["live_params"] = r.live_params;
    out["live_blocks"] = r.live_blocks;
    out["head_width"] = r.head_width;
    auto& bl = out["blocks"] = nlohmann::json::array();
    for (const auto& b : r.blocks) {
      bl.push_back({{"block", b.block},
                    {"dense_op", b.dense_op},
                    {"sparse_op", b.sparse_op},
                    {"d", b.d},
                    {"s", b.s},
                    {"in_width", b.in_width},
                    {"in_tokens", b.in_tokens},
                    {"dense_live", b.dense_live},
                    {"sparse_live", b.sparse_live},
                    {"mergers", b.mergers},
                    {"mflops", b.flops / 1e6},
                    {"params", b.params}});
    }
    recnas_cli::print_json_last_line(out);
  }
}

void inspect(const inspect_options& o) {
  const auto j = sn::read_json_file(o.arch);
  std::string space = o.space;
  if (space.empty()) space = sn::space_name_of(j);
  if (space.empty()) space = "nasrec-full";
  if (!sn::searchable_spaces::contains(space))
    throw recnas::input_error(
        o.arch, 0, o.space.empty() ? "space" : "--space",
        "unknown space \"" + space + "\" (" + sn::searchable_spaces::names() + ")");
  sn::visit_space(space, [&]<class S>() { run<S>(o, j); });
}

recnas_cli::register_command reg{
    {"inspect", "FLOPs, parameters and live blocks of an architecture (recnas or reference JSON)",
     [](CLI::App& app) {
       static inspect_options o;
       app.add_option("--arch", o.arch, "architecture JSON (recnas format or a NasRec config)")
           ->required();
       recnas_cli::add_space_option(app, o.space, "space (default: from the file)");
       app.add_option(
           "--dataset", o.dataset,
           "criteo | avazu | kdd: the stem's feature counts (default: from the file name)");
       app.add_flag("--json", o.json, "print one JSON object as the last line");
       app.callback([] { inspect(o); });
     }}};

}  // namespace
