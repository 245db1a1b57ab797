// `recnas data stats|convert`: inspect a dataset, or parse it once into a binary cache.
#include <cstdio>
#include <string>

#include <recnas/data/data.hpp>
#include <recnas/data/spec.hpp>

#include "cli.hpp"

namespace {

namespace rd = recnas::data;

struct data_args {
  std::string data;
  std::string out;
  bool json = false;
  bool skip_bad_rows = false;
  long long group_rows = 65536;
};

/// Feeds every row of a spec to `sink(raw or batch)`, with a progress bar; returns skipped rows.
template <class RawSink, class BatchSink>
recnas::index scan(const rd::data_spec& spec, bool skip_bad, const char* what, RawSink&& raw_sink,
                   BatchSink&& batch_sink, rd::schema& features) {
  using recnas::index;
  if (spec.is_text()) {
    rd::text_reader r(rd::text_format_of(spec), spec.path, {.skip_bad_rows = skip_bad});
    features = r.features();
    recnas_cli::progress bar(what, static_cast<double>(r.bytes_total()) / 1e6, "MB");
    rd::raw_block chunk;
    while (r.next_chunk(chunk)) {
      raw_sink(chunk, features);
      if (!r.done())
        bar.update(static_cast<double>(r.bytes_done()) / 1e6,
                   std::to_string(r.rows_read()) + " rows");
      if (recnas_cli::interrupted()) throw recnas::error("interrupted");
    }
    bar.finish(static_cast<double>(r.bytes_done()) / 1e6,
               std::to_string(r.rows_read()) + " rows, " +
                   std::to_string(
                       static_cast<long long>(r.rows_read() / std::max(1e-9, bar.elapsed_s()))) +
                   " rows/s");
    if (r.rows_skipped() > 0)
      std::fprintf(stderr, "recnas: skipped %lld bad rows; first: %s\n",
                   static_cast<long long>(r.rows_skipped()), r.first_skip_message().c_str());
    return r.rows_skipped();
  }
  const rd::dataset d = rd::open_dataset(spec);
  features = d.features();
  constexpr index step = 65536;
  rd::example_block tmp(step, features.num_dense(), features.num_categorical());
  recnas_cli::progress bar(what, static_cast<double>(d.rows()), "rows");
  for (index r = 0; r < d.rows(); r += step) {
    const index n = std::min(step, d.rows() - r);
    d.read(r, n, tmp, 0);
    tmp.set_rows(n);
    batch_sink(tmp.view(), features);
    if (r + n < d.rows()) bar.update(static_cast<double>(r + n));
    if (recnas_cli::interrupted()) throw recnas::error("interrupted");
  }
  bar.finish(static_cast<double>(d.rows()));
  return 0;
}

void run_stats(const data_args& a) {
  const auto spec = rd::parse_data_spec(a.data);
  rd::schema features;
  std::optional<rd::stats_accumulator> acc;
  auto get = [&](const rd::schema& s) -> rd::stats_accumulator& {
    if (!acc) acc.emplace(s);
    return *acc;
  };
  const auto skipped = scan(
      spec, a.skip_bad_rows, "stats",
      [&](const rd::raw_block& b, const rd::schema& s) { get(s).add(b); },
      [&](const rd::batch_view& b, const rd::schema& s) { get(s).add(b); }, features);
  const rd::dataset_stats st = get(features).finish(skipped);
  const bool transformed = !spec.is_text();
  std::printf(
      "dataset %s (%s): %lld rows, %lld positives, positive rate %.4f, %lld bad rows skipped\n",
      features.name.c_str(), a.data.c_str(), static_cast<long long>(st.rows),
      static_cast<long long>(st.positives), st.positive_rate(), static_cast<long long>(st.skipped));
  std::printf("%-16s %9s %14s %14s %14s%s\n", "dense", "missing", "min", "max", "mean",
              transformed ? "   (after ln(max(x,0)+1))" : "");
  nlohmann::json jd = nlohmann::json::array(), jc = nlohmann::json::array();
  const double rows = std::max<double>(1.0, static_cast<double>(st.rows));
  for (const auto& d : st.dense) {
    const double present = static_cast<double>(st.rows - d.missing);
    const double mean = present > 0 ? d.sum / present : 0.0;
    std::printf("%-16s %8.2f%% %14.6g %14.6g %14.6g\n", d.name.c_str(),
                100.0 * static_cast<double>(d.missing) / rows, present > 0 ? d.min : 0.0,
                present > 0 ? d.max : 0.0, mean);
    jd.push_back({{"name", d.name},
                  {"missing_rate", static_cast<double>(d.missing) / rows},
                  {"min", present > 0 ? d.min : 0.0},
                  {"max", present > 0 ? d.max : 0.0},
                  {"mean", mean}});
  }
  std::printf("%-16s %9s %12s %12s\n", "categorical", "missing", "distinct", "table size");
  for (const auto& c : st.categorical) {
    std::printf("%-16s %8.2f%% %12lld %12lld\n", c.name.c_str(),
                100.0 * static_cast<double>(c.missing) / rows, static_cast<long long>(c.distinct),
                static_cast<long long>(c.table_size));
    jc.push_back({{"name", c.name},
                  {"missing_rate", static_cast<double>(c.missing) / rows},
                  {"distinct", c.distinct},
                  {"table_size", c.table_size}});
  }
  if (a.json)
    recnas_cli::print_json_last_line({{"dataset", features.name},
                                      {"rows", st.rows},
                                      {"positives", st.positives},
                                      {"positive_rate", st.positive_rate()},
                                      {"skipped_rows", st.skipped},
                                      {"distinct_counts", transformed ? "table ids" : "raw values"},
                                      {"dense", jd},
                                      {"categorical", jc}});
}

void run_convert(const data_args& a) {
  const auto spec = rd::parse_data_spec(a.data);
  rd::schema features;
  std::optional<rd::cache_writer> w;
  auto writer = [&](const rd::schema& s) -> rd::cache_writer& {
    if (!w) w.emplace(a.out, s, static_cast<recnas::index>(a.group_rows));
    return *w;
  };
  const auto skipped = scan(
      spec, a.skip_bad_rows, "convert",
      [&](const rd::raw_block& b, const rd::schema& s) { writer(s).append(rd::preprocess(b, s)); },
      [&](const rd::batch_view& b, const rd::schema& s) { writer(s).append(b); }, features);
  const auto rows = writer(features).rows();
  w->finish();
  // Re-open: proves the file is complete and its checksums hold.
  const rd::cache_reader check(a.out);
  std::printf("wrote %s: %lld rows, %lld positives (rate %.4f), %lld bad rows skipped\n",
              a.out.c_str(), static_cast<long long>(rows),
              static_cast<long long>(check.positives()),
              rows > 0 ? static_cast<double>(check.positives()) / static_cast<double>(rows) : 0.0,
              static_cast<long long>(skipped));
  if (a.json)
    recnas_cli::print_json_last_line(
        {{"out", a.out},
         {"rows", rows},
         {"positives", check.positives()},
         {"positive_rate",
          rows > 0 ? static_cast<double>(check.positives()) / static_cast<double>(rows) : 0.0},
         {"skipped_rows", skipped}});
}

recnas_cli::register_command reg{
    {"data", "dataset statistics and text -> binary cache conversion", [](CLI::App& app) {
       auto args = std::make_shared<data_args>();
       app.require_subcommand(1);
       auto* stats =
           app.add_subcommand("stats", "rows, positive rate, missing rates, distinct values");
       recnas_cli::add_data_option(*stats, args->data)->required();
       stats->add_flag("--json", args->json, "print one JSON object as the last line of stdout");
       stats->add_flag("--skip-bad-rows", args->skip_bad_rows, "skip and count malformed rows");
       stats->callback([args] {
         recnas_cli::install_interrupt_handler();
         run_stats(*args);
       });
       auto* conv = app.add_subcommand("convert", "parse once into a memory-mapped binary cache");
       recnas_cli::add_data_option(*conv, args->data)->required();
       conv->add_option("--out", args->out, "cache file to write")->required();
       conv->add_flag("--skip-bad-rows", args->skip_bad_rows, "skip and count malformed rows");
       conv->add_option("--group-rows", args->group_rows, "rows per cache row group")
           ->check(CLI::Range(1LL, 1LL << 24));
       conv->add_flag("--json", args->json, "print one JSON object as the last line of stdout");
       conv->callback([args] {
         recnas_cli::install_interrupt_handler();
         run_convert(*args);
       });
     }}};

}  // namespace
