#pragma once
// A random-access source of model-ready rows: an in-memory block, a memory-mapped cache, or
// the synthetic generator (rows computed on demand). Copies share the underlying data.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "recnas/core/error.hpp"
#include "recnas/data/block.hpp"
#include "recnas/data/cache.hpp"
#include "recnas/data/schema.hpp"
#include "recnas/data/synthetic.hpp"
#include "recnas/parallel/threads.hpp"

namespace recnas::data {

class dataset {
 public:
  /// Rows held in memory (parsed text, tests).
  static dataset in_memory(example_block rows, schema s) {
    expects(rows.num_dense() == s.num_dense() && rows.num_categorical() == s.num_categorical(),
            "dataset::in_memory: block widths match the schema");
    dataset d;
    d.rows_ = rows.rows();
    d.schema_ = std::move(s);
    d.src_ = std::make_shared<const example_block>(std::move(rows));
    return d;
  }
  /// A cache file, opened (and verified) once.
  static dataset from_cache(const std::string& path, cache_verify verify = cache_verify::full) {
    auto c = std::make_shared<const cache_reader>(path, verify);
    dataset d;
    d.rows_ = c->rows();
    d.schema_ = c->features();
    d.src_ = std::move(c);
    return d;
  }
  /// The first `rows` rows of a synthetic generator, computed on demand (memory independent
  /// of `rows`), or generated once into memory (in parallel) when `materialize`: then every
  /// epoch reads them instead of recomputing them.
  static dataset synthetic(synthetic_config cfg, std::int64_t rows, bool materialize = false) {
    expects(rows >= 0, "dataset::synthetic: rows >= 0");
    auto g = std::make_shared<const synthetic_generator>(std::move(cfg));
    if (materialize) {
      example_block b(static_cast<index>(rows), g->features().num_dense(),
                      g->features().num_categorical());
      b.set_rows(static_cast<index>(rows));  // before the parallel fill, which then never resizes
      parallel::for_chunks(
          static_cast<index>(rows), std::max<index>(1, static_cast<index>(rows) / 16384),
          [&](index begin, index end) { g->generate(begin, end - begin, b, begin); });
      return in_memory(std::move(b), g->features());
    }
    dataset d;
    d.rows_ = static_cast<index>(rows);
    d.schema_ = g->features();
    d.src_ = std::move(g);
    return d;
  }

  [[nodiscard]] index rows() const noexcept { return rows_; }
  [[nodiscard]] const schema& features() const noexcept { return schema_; }
  [[nodiscard]] const synthetic_generator* generator() const noexcept {
    const auto* p = std::get_if<std::shared_ptr<const synthetic_generator>>(&src_);
    return p != nullptr ? p->get() : nullptr;
  }
  [[nodiscard]] const cache_reader* cache() const noexcept {
    const auto* p = std::get_if<std::shared_ptr<const cache_reader>>(&src_);
    return p != nullptr ? p->get() : nullptr;
  }

  /// Copies rows [begin, begin+count) into rows [at, at+count) of out.
  void read(index begin, index count, example_block& out, index at = 0) const {
    expects(begin >= 0 && count >= 0 && begin + count <= rows_, "dataset::read range");
    std::visit(
        [&](const auto& s) {
          using S = std::decay_t<decltype(*s)>;
          if constexpr (std::is_same_v<S, example_block>) {
            for (index i = 0; i < count; ++i) out.copy_row(at + i, *s, begin + i);
            if (out.rows() < at + count) out.set_rows(at + count);
          } else if constexpr (std::is_same_v<S, cache_reader>) {
            s->read(begin, count, out, at);
          } else {
            s->generate(begin, count, out, at);
          }
        },
        src_);
  }

  /// Copies the listed rows, in order, into rows [0, n) of out (runs of consecutive rows are
  /// copied in one go).
  template <class Int>
  void gather(std::span<const Int> rows, example_block& out) const {
    expects(static_cast<index>(rows.size()) <= out.capacity(), "dataset::gather: output too small");
    if (const auto* g = generator()) {  // rows are computed: one pass, no per-row allocation
      g->generate_rows(rows, out);
      return;
    }
    std::size_t i = 0;
    while (i < rows.size()) {
      std::size_t j = i + 1;
      while (j < rows.size() && static_cast<index>(rows[j]) == static_cast<index>(rows[j - 1]) + 1)
        ++j;
      read(static_cast<index>(rows[i]), static_cast<index>(j - i), out, static_cast<index>(i));
      i = j;
    }
    out.set_rows(static_cast<index>(rows.size()));
  }

  /// Every label (0/1), for the stratified split.
  [[nodiscard]] std::vector<std::uint8_t> labels() const {
    std::vector<std::uint8_t> y(static_cast<std::size_t>(rows_));
    if (const auto* c = cache()) {  // only the label arrays of the row groups are touched
      std::size_t at = 0;
      for (index g = 0; g < c->groups(); ++g)
        for (float v : c->group_view(g).labels) y[at++] = v != 0.0f ? 1 : 0;
      return y;
    }
    constexpr index step = 65536;
    example_block tmp(step, schema_.num_dense(), schema_.num_categorical());
    for (index r = 0; r < rows_; r += step) {
      const index n = std::min(step, rows_ - r);
      read(r, n, tmp, 0);
      for (index i = 0; i < n; ++i)
        y[static_cast<std::size_t>(r + i)] = tmp.labels()[i] != 0.0f ? 1 : 0;
    }
    return y;
  }

 private:
  index rows_ = 0;
  schema schema_;
  std::variant<std::shared_ptr<const example_block>, std::shared_ptr<const cache_reader>,
               std::shared_ptr<const synthetic_generator>>
      src_;
};

}  // namespace recnas::data
