#pragma once
// Hand-written parsers for delimited CTR text (Criteo TSV, Avazu CSV, KDD12 TSV, user CSV).
// One pass over a memory-mapped file, no iostreams, no per-field allocation. A file is parsed
// in chunks; each chunk is split on line boundaries into one piece per thread and the pieces
// are concatenated in file order, so the output does not depend on the thread count.
//
// Bad input (wrong field count, non-numeric integer, bad hex, label not 0/1, truncated last
// line, empty file) throws input_error(file, line, field, reason), or, with skip_bad_rows,
// the row is dropped and counted. CRLF line ends and a UTF-8 byte-order mark are accepted.

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/partitioner.h>

#include "recnas/core/error.hpp"
#include "recnas/data/block.hpp"
#include "recnas/data/mapped_file.hpp"
#include "recnas/data/schema.hpp"
#include "recnas/parallel/threads.hpp"

namespace recnas::data {

/// What a text column becomes.
enum class column_kind : std::uint8_t {
  skip,         // ignored
  label01,      // label: exactly "0" or "1"
  label_count,  // label: a count >= 0, positive when > 0 (KDD12 clicks)
  dense_int,    // integer -> dense feature (empty = missing)
  dense_float,  // decimal number -> dense feature (empty = missing)
  cat_hex,      // hexadecimal id (Criteo), up to 16 digits
  cat_decimal,  // unsigned decimal id (a leading '-' wraps modulo 2^64)
  cat_mod31,    // decimal if all digits, else hex; then mod 2^31-1 (Avazu/KDD reference rule)
  cat_string,   // any bytes: FNV-1a 64 hashed (top bit cleared)
};

/// One column of a text format. `source` is a header name (resolved when the file has a
/// header) or empty when `position` says where the column is.
struct column_spec {
  std::string name;  // for error messages
  column_kind kind = column_kind::skip;
  int target = -1;    // dense or categorical feature index
  int position = -1;  // 0-based field index, or -1 to look `source` up in the header
  std::string source;
};

enum class header_mode : std::uint8_t { none, present, detect };

/// Joined side table of KDD12: UserID -> (gender, age) raw values.
using user_profile = std::unordered_map<std::uint64_t, std::pair<std::uint64_t, std::uint64_t>>;

struct text_format {
  schema features;
  char delimiter = '\t';
  header_mode header = header_mode::none;
  int fields = -1;  // expected fields per row; -1 = header's count or max position + 1
  std::vector<column_spec> columns;
  // KDD12: categorical targets filled from `profile` keyed by the raw value of `profile_key`.
  std::shared_ptr<const user_profile> profile;
  int profile_key = -1, profile_gender = -1, profile_age = -1;
};

// ---------------------------------------------------------------------------------------------
// Field parsers. Each returns nullptr on success or a static reason.
namespace detail {

constexpr std::uint64_t mod31 = 2147483647ULL;

/// Hex digit values, 0xFF for any other byte: a table lookup instead of branches that
/// mispredict on the random mix of digits and letters in hashed ids.
inline constexpr auto hex_table = [] {
  std::array<std::uint8_t, 256> t{};
  for (auto& v : t) v = 0xFF;
  for (int c = 0; c < 10; ++c) t[static_cast<std::size_t>('0' + c)] = static_cast<std::uint8_t>(c);
  for (int c = 0; c < 6; ++c) {
    t[static_cast<std::size_t>('a' + c)] = static_cast<std::uint8_t>(10 + c);
    t[static_cast<std::size_t>('A' + c)] = static_cast<std::uint8_t>(10 + c);
  }
  return t;
}();

inline int hex_digit(char c) noexcept {
  const auto v = hex_table[static_cast<unsigned char>(c)];
  return v == 0xFF ? -1 : v;
}

inline const char* parse_int(const char* p, const char* e, std::int64_t& out) noexcept {
  bool neg = false;
  if (p != e && (*p == '-' || *p == '+')) neg = *p++ == '-';
  if (p == e) return "not an integer";
  std::uint64_t v = 0;
  if (e - p <= 18) {  // cannot overflow: no range check per digit
    for (; p != e; ++p) {
      const unsigned d = static_cast<unsigned>(*p - '0');
      if (d > 9) return "not an integer";
      v = v * 10 + d;
    }
  } else {
    for (; p != e; ++p) {
      const unsigned d = static_cast<unsigned>(*p - '0');
      if (d > 9) return "not an integer";
      if (v > (static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) - d) / 10)
        return "integer out of range";
      v = v * 10 + d;
    }
  }
  out = neg ? -static_cast<std::int64_t>(v) : static_cast<std::int64_t>(v);
  return nullptr;
}

inline const char* parse_float(const char* p, const char* e, double& out) noexcept {
  if (p != e && *p == '+') ++p;
  const auto r = std::from_chars(p, e, out);
  if (r.ec != std::errc{} || r.ptr != e) return "not a number";
  if (!std::isfinite(out)) return "not a finite number";
  return nullptr;
}

inline const char* parse_hex(const char* p, const char* e, std::uint64_t& out) noexcept {
  if (p == e) return "empty hex";
  if (e - p > 16) return "hex value longer than 16 digits";
  std::uint64_t v = 0;
  unsigned bad = 0;
  for (; p != e; ++p) {
    const unsigned d = hex_table[static_cast<unsigned char>(*p)];
    bad |= d;
    v = (v << 4) | (d & 0xF);
  }
  if (bad & 0x80) return "bad hex digit";
  out = v;
  return nullptr;
}

inline const char* parse_udec(const char* p, const char* e, std::uint64_t& out) noexcept {
  bool neg = false;
  if (p != e && *p == '-') {
    neg = true;
    ++p;
  }
  if (p == e) return "not an integer";
  std::uint64_t v = 0;
  for (; p != e; ++p) {
    const unsigned d = static_cast<unsigned>(*p - '0');
    if (d > 9) return "not an integer";
    if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return "integer out of range";
    v = v * 10 + d;
  }
  out = neg ? 0 - v : v;
  return nullptr;
}

/// Python's `int(v, 10) % M`, falling back to `int(v, 16) % M` (exact for any length).
inline const char* parse_mod31(const char* p, const char* e, std::uint64_t& out) noexcept {
  if (p == e) return "empty value";
  bool neg = false;
  const char* q = p;
  if (*q == '-' || *q == '+') neg = *q++ == '-';
  bool all_dec = q != e;
  for (const char* s = q; s != e; ++s) all_dec = all_dec && (*s >= '0' && *s <= '9');
  std::uint64_t v = 0;
  if (all_dec) {
    for (; q != e; ++q) v = (v * 10 + static_cast<unsigned>(*q - '0')) % mod31;
  } else {
    if (e - q > 2 && q[0] == '0' && (q[1] == 'x' || q[1] == 'X')) q += 2;
    if (q == e) return "neither decimal nor hex";
    for (; q != e; ++q) {
      const int d = hex_digit(*q);
      if (d < 0) return "neither decimal nor hex";
      v = (v * 16 + static_cast<unsigned>(d)) % mod31;
    }
  }
  out = neg ? (mod31 - v) % mod31 : v;  // Python's % is non-negative
  return nullptr;
}

inline std::uint64_t fnv1a(const char* p, const char* e) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (; p != e; ++p) h = (h ^ static_cast<unsigned char>(*p)) * 0x100000001b3ULL;
  return h >> 1;  // never equals missing_categorical
}

/// A resolved format: one entry per field position.
struct plan {
  std::vector<column_spec> by_position;
  int fields = 0;
  char delimiter = '\t';
  index nd = 0, nc = 0;
  const user_profile* profile = nullptr;
  int profile_key = -1, profile_gender = -1, profile_age = -1;
};

struct row_error {
  const char* reason = nullptr;
  std::string field;
  std::string detail;
};

/// Parses one line [p, e) (no line terminator) into row `r` of `out`.
inline bool parse_row(const plan& pl, const char* p, const char* e, raw_block& out, index r,
                      row_error& err) {
  double* dense = out.dense.data() + r * pl.nd;
  std::uint64_t* cat = out.categorical.data() + r * pl.nc;
  int f = 0;
  const char* s = p;
  for (;; ++f) {
    const char* q = s;
    while (q != e && *q != pl.delimiter) ++q;
    if (f < pl.fields) {
      const column_spec& c = pl.by_position[static_cast<std::size_t>(f)];
      const char* why = nullptr;
      const bool empty = q == s;
      switch (c.kind) {
        case column_kind::skip:
          break;
        case column_kind::label01:
          if (q - s == 1 && (*s == '0' || *s == '1'))
            out.labels[static_cast<std::size_t>(r)] = static_cast<std::uint8_t>(*s - '0');
          else
            why = "label must be 0 or 1";
          break;
        case column_kind::label_count: {
          std::int64_t v = 0;
          why = parse_int(s, q, v);
          if (why == nullptr && v < 0) why = "label count must be >= 0";
          if (why == nullptr) out.labels[static_cast<std::size_t>(r)] = v > 0 ? 1 : 0;
          break;
        }
        case column_kind::dense_int:
          if (!empty) {
            std::int64_t v = 0;
            why = parse_int(s, q, v);
            dense[c.target] = static_cast<double>(v);
          }
          break;
        case column_kind::dense_float:
          if (!empty) why = parse_float(s, q, dense[c.target]);
          break;
        case column_kind::cat_hex:
          if (!empty) why = parse_hex(s, q, cat[c.target]);
          break;
        case column_kind::cat_decimal:
          if (!empty) why = parse_udec(s, q, cat[c.target]);
          break;
        case column_kind::cat_mod31:
          if (!empty) why = parse_mod31(s, q, cat[c.target]);
          break;
        case column_kind::cat_string:
          if (!empty) cat[c.target] = fnv1a(s, q);
          break;
      }
      if (why != nullptr) {
        err.reason = why;
        err.field = c.name;
        err.detail.assign(s, static_cast<std::size_t>(std::min<std::ptrdiff_t>(q - s, 40)));
        return false;
      }
    }
    if (q == e) break;
    s = q + 1;
  }
  if (f + 1 != pl.fields) {
    err.reason = "wrong field count";
    err.field.clear();
    err.detail =
        "expected " + std::to_string(pl.fields) + " fields, found " + std::to_string(f + 1);
    return false;
  }
  if (pl.profile != nullptr) {
    const auto it = pl.profile->find(cat[pl.profile_key]);
    cat[pl.profile_gender] = it == pl.profile->end() ? 0 : it->second.first;
    cat[pl.profile_age] = it == pl.profile->end() ? 0 : it->second.second;
  }
  return true;
}

/// Result of parsing one piece of text.
struct piece_result {
  index lines = 0;            // lines of the piece
  index first_bad_line = -1;  // local 0-based line of the first bad row
  row_error first_error;
  std::vector<index> bad_rows;  // rows of the output to drop (skip mode)
};

/// Number of lines of [p, e): newlines, plus a last line without one.
inline index count_lines(const char* p, const char* e) noexcept {
  index n = 0;
  const char* s = p;
  while (s < e) {
    const char* nl =
        static_cast<const char*>(std::memchr(s, '\n', static_cast<std::size_t>(e - s)));
    ++n;
    if (nl == nullptr) break;
    s = nl + 1;
  }
  return n;
}

/// Parses the whole lines of [p, e) into rows [first_row, ...) of `out` (already sized).
inline void parse_piece(const plan& pl, const char* p, const char* e, bool is_file_end,
                        bool skip_bad, raw_block& out, index first_row, piece_result& res) {
  row_error err;
  index r = first_row;
  while (p < e) {
    const char* nl =
        static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(e - p)));
    const bool has_nl = nl != nullptr;
    const char* le = has_nl ? nl : e;
    const char* next = has_nl ? nl + 1 : e;
    if (le != p && le[-1] == '\r') --le;
    out.clear_row(r);
    if (!parse_row(pl, p, le, out, r, err)) {
      if (!has_nl && is_file_end)
        err.detail = "truncated last line (no newline at end of file): " + err.detail;
      if (res.first_bad_line < 0) {
        res.first_bad_line = res.lines;
        res.first_error = err;
      }
      res.bad_rows.push_back(r);
      if (!skip_bad) return;
    }
    ++res.lines;
    ++r;
    p = next;
  }
}

}  // namespace detail

/// Options of a text reader.
struct text_options {
  bool skip_bad_rows = false;
  std::size_t chunk_bytes = std::size_t{32} << 20;  // parsed per next_chunk() call
  int threads = 0;                                  // 0 = current arena's limit
};

/// Streams a delimited text file as raw_blocks, chunk by chunk, with bounded memory.
class text_reader {
 public:
  text_reader(text_format fmt, const std::string& path, text_options opt = {})
      : fmt_(std::move(fmt)), file_(path), opt_(opt) {
    fmt_.features.validate();
    const char* p = file_.data();
    const char* e = p + file_.size();
    if (e - p >= 3 && std::memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3;  // UTF-8 BOM
    if (p == e) throw input_error(path, 0, "", "empty file: no data rows");
    pos_ = p;
    std::vector<std::string> header;
    if (fmt_.header != header_mode::none) {
      const char* nl =
          static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(e - p)));
      const char* le = nl != nullptr ? nl : e;
      if (le != p && le[-1] == '\r') --le;
      for (const char* s = p;;) {
        const char* q = s;
        while (q != le && *q != fmt_.delimiter) ++q;
        header.emplace_back(s, q);
        if (q == le) break;
        s = q + 1;
      }
      bool is_header = fmt_.header == header_mode::present;
      if (fmt_.header == header_mode::detect) {
        // A header is a first line that does not parse as a row.
        resolve({});
        raw_block probe(plan_.nd, plan_.nc);
        probe.push_row();
        detail::row_error err;
        is_header = !detail::parse_row(plan_, p, le, probe, 0, err);
      }
      if (is_header) {
        pos_ = nl != nullptr ? nl + 1 : e;
        line_ = 1;
        header_names_ = header;
      } else {
        header.clear();
      }
    }
    resolve(header);
    if (pos_ == e) throw input_error(path, 0, "", "no data rows (the file holds only a header)");
  }

  [[nodiscard]] const schema& features() const noexcept { return fmt_.features; }
  [[nodiscard]] const std::string& path() const noexcept { return file_.path(); }
  [[nodiscard]] std::size_t bytes_total() const noexcept { return file_.size(); }
  [[nodiscard]] std::size_t bytes_done() const noexcept {
    return static_cast<std::size_t>(pos_ - file_.data());
  }
  [[nodiscard]] index rows_read() const noexcept { return rows_; }
  [[nodiscard]] index rows_skipped() const noexcept { return skipped_; }
  /// The first skipped row's message (file:line: field: reason), empty when none.
  [[nodiscard]] const std::string& first_skip_message() const noexcept { return first_skip_; }
  [[nodiscard]] bool done() const noexcept { return pos_ == file_.data() + file_.size(); }

  /// Replaces `out` with the rows of the next chunk; returns false at the end of the file.
  bool next_chunk(raw_block& out) {
    if (out.nd != plan_.nd || out.nc != plan_.nc) out = raw_block(plan_.nd, plan_.nc);
    out.resize_rows(0);  // keeps the capacity of the previous chunk
    if (done()) return false;
    const char* begin = pos_;
    const char* fend = file_.data() + file_.size();
    const char* end = fend;
    if (static_cast<std::size_t>(fend - begin) > opt_.chunk_bytes) {
      end = line_end_after(begin + opt_.chunk_bytes, fend);
    }
    const int threads = opt_.threads > 0 ? opt_.threads : parallel::current_threads();
    // Pieces of at least 256 KiB so that small files are parsed by one thread.
    const auto bytes = static_cast<std::size_t>(end - begin);
    const auto pieces = static_cast<std::ptrdiff_t>(std::clamp<std::size_t>(
        bytes / (std::size_t{256} << 10), 1, static_cast<std::size_t>(threads)));
    std::vector<const char*> cuts(static_cast<std::size_t>(pieces) + 1);
    cuts[0] = begin;
    cuts.back() = end;
    for (std::ptrdiff_t k = 1; k < pieces; ++k)
      cuts[static_cast<std::size_t>(k)] =
          std::max(cuts[static_cast<std::size_t>(k) - 1],
                   line_end_after(begin + static_cast<std::ptrdiff_t>(bytes) * k / pieces, end));
    // Two parallel passes: count the lines of every piece, then parse each piece straight into
    // its rows of `out` (no concatenation copy); bad rows are removed afterwards.
    std::vector<index> first(static_cast<std::size_t>(pieces) + 1, 0);
    std::vector<detail::piece_result> res(static_cast<std::size_t>(pieces));
    auto each_piece = [&](auto&& f) {
      if (pieces == 1) {
        f(std::size_t{0});
        return;
      }
      oneapi::tbb::parallel_for(
          oneapi::tbb::blocked_range<std::ptrdiff_t>(0, pieces, 1),
          [&](const oneapi::tbb::blocked_range<std::ptrdiff_t>& r) {
            for (auto k = r.begin(); k != r.end(); ++k) f(static_cast<std::size_t>(k));
          },
          oneapi::tbb::static_partitioner{});
    };
    each_piece([&](std::size_t i) { first[i + 1] = detail::count_lines(cuts[i], cuts[i + 1]); });
    for (std::size_t i = 0; i < static_cast<std::size_t>(pieces); ++i) first[i + 1] += first[i];
    out.resize_rows(first.back());
    each_piece([&](std::size_t i) {
      detail::parse_piece(plan_, cuts[i], cuts[i + 1], cuts[i + 1] == fend, opt_.skip_bad_rows, out,
                          first[i], res[i]);
    });
    std::vector<index> bad;
    for (std::size_t i = 0; i < res.size(); ++i) {
      const auto& r = res[i];
      if (r.first_bad_line >= 0) {
        auto msg = make_error(line_ + first[i] + r.first_bad_line + 1, r.first_error);
        if (!opt_.skip_bad_rows) throw msg;
        if (first_skip_.empty()) first_skip_ = msg.what();
      }
      bad.insert(bad.end(), r.bad_rows.begin(), r.bad_rows.end());
    }
    if (!bad.empty()) out.erase_rows(bad);
    skipped_ += static_cast<index>(bad.size());
    line_ += first.back();
    rows_ += out.rows();
    pos_ = end;
    if (done() && rows_ == 0)
      throw input_error(path(), 0, "",
                        skipped_ > 0 ? "no valid data rows (all skipped)" : "no data rows");
    return true;
  }

  /// Every remaining row at once (for files that fit in memory).
  [[nodiscard]] raw_block read_all() {
    raw_block all(plan_.nd, plan_.nc), chunk;
    while (next_chunk(chunk)) all.append(chunk);
    return all;
  }

 private:
  static const char* line_end_after(const char* p, const char* e) noexcept {
    if (p >= e) return e;
    const char* nl =
        static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(e - p)));
    return nl != nullptr ? nl + 1 : e;
  }

  input_error make_error(index line, const detail::row_error& err) const {
    std::string reason = err.reason != nullptr ? err.reason : "bad row";
    if (err.field.empty() && !err.detail.empty())
      reason = err.detail;  // a row-level problem: the detail says it all
    else if (!err.detail.empty())
      reason += " ('" + err.detail + "')";
    return input_error(path(), static_cast<std::size_t>(line), err.field, reason);
  }

  void resolve(const std::vector<std::string>& header) {
    plan_ = {};
    plan_.delimiter = fmt_.delimiter;
    plan_.nd = fmt_.features.num_dense();
    plan_.nc = fmt_.features.num_categorical();
    int fields = fmt_.fields;
    if (fields < 0 && !header.empty()) fields = static_cast<int>(header.size());
    std::vector<std::pair<int, const column_spec*>> placed;
    for (const auto& c : fmt_.columns) {
      int pos = c.position;
      if (pos < 0) {
        const auto it = std::find(header.begin(), header.end(), c.source);
        if (it == header.end()) {
          if (header.empty()) {
            pos = -1;  // detection probe before the header is known
            continue;
          }
          throw input_error(path(), 1, c.source, "column named in the schema is not in the header");
        }
        pos = static_cast<int>(it - header.begin());
      }
      const bool is_dense = c.kind == column_kind::dense_int || c.kind == column_kind::dense_float;
      const bool is_cat = c.kind == column_kind::cat_hex || c.kind == column_kind::cat_decimal ||
                          c.kind == column_kind::cat_mod31 || c.kind == column_kind::cat_string;
      if ((is_dense && (c.target < 0 || c.target >= plan_.nd)) ||
          (is_cat && (c.target < 0 || c.target >= plan_.nc)))
        throw input_error(path(), 0, c.name, "column target outside the schema");
      placed.emplace_back(pos, &c);
      if (fmt_.fields < 0 && header.empty()) fields = std::max(fields, pos + 1);
    }
    plan_.fields = fields;
    plan_.by_position.assign(static_cast<std::size_t>(std::max(fields, 0)), column_spec{});
    for (int i = 0; i < fields; ++i) {
      auto& c = plan_.by_position[static_cast<std::size_t>(i)];
      c.name = i < static_cast<int>(header.size()) ? header[static_cast<std::size_t>(i)]
                                                   : numbered_name("field ", i + 1);
    }
    for (auto [pos, c] : placed) {
      if (pos >= fields)
        throw input_error(path(), 0, c->name, "column position beyond the field count");
      plan_.by_position[static_cast<std::size_t>(pos)] = *c;
    }
    plan_.profile = fmt_.profile.get();
    plan_.profile_key = fmt_.profile_key;
    plan_.profile_gender = fmt_.profile_gender;
    plan_.profile_age = fmt_.profile_age;
  }

  text_format fmt_;
  mapped_file file_;
  text_options opt_;
  detail::plan plan_;
  std::vector<std::string> header_names_;
  const char* pos_ = nullptr;
  index line_ = 0;  // lines consumed so far (1-based numbering of the next line = line_ + 1)
  index rows_ = 0;
  index skipped_ = 0;
  std::string first_skip_;
};

// ---------------------------------------------------------------------------------------------
// The three benchmark formats.

/// Criteo Kaggle/DAC train.txt: label, I1..I13, C1..C26, tab separated, no header.
[[nodiscard]] inline text_format criteo_format(std::int64_t cap = 0) {
  text_format f;
  f.features = criteo_schema(cap);
  f.delimiter = '\t';
  f.fields = 40;
  f.columns.push_back({"label", column_kind::label01, -1, 0, {}});
  for (int i = 0; i < 13; ++i)
    f.columns.push_back({numbered_name("I", i + 1), column_kind::dense_int, i, 1 + i, {}});
  for (int i = 0; i < 26; ++i)
    f.columns.push_back({numbered_name("C", i + 1), column_kind::cat_hex, i, 14 + i, {}});
  return f;
}

/// Avazu train.csv: id, click, hour, C1, ... C21 (24 columns); the header line is detected.
/// Every categorical value is the reference's `int(v, 10)` or else `int(v, 16)`, mod 2^31-1.
[[nodiscard]] inline text_format avazu_format(std::int64_t cap = 0) {
  text_format f;
  f.features = avazu_schema(cap);
  f.delimiter = ',';
  f.header = header_mode::detect;
  f.fields = 24;
  f.columns.push_back({"id", column_kind::cat_mod31, 0, 0, {}});
  f.columns.push_back({"click", column_kind::label01, -1, 1, {}});
  for (int i = 1; i < 23; ++i)
    f.columns.push_back({f.features.categorical_names[static_cast<std::size_t>(i)],
                         column_kind::cat_mod31,
                         i,
                         i + 1,
                         {}});
  return f;
}

/// Reads KDD12 userid_profile.txt (UserID, Gender, Age; tab separated).
[[nodiscard]] inline std::shared_ptr<const user_profile> read_user_profile(
    const std::string& path) {
  text_format f;
  f.features = {"kdd-profile", {}, {"UserID", "Gender", "Age"}, {2, 2, 2}};
  f.delimiter = '\t';
  f.fields = 3;
  f.columns = {{"UserID", column_kind::cat_mod31, 0, 0, {}},
               {"Gender", column_kind::cat_mod31, 1, 1, {}},
               {"Age", column_kind::cat_mod31, 2, 2, {}}};
  text_reader r(std::move(f), path);
  const raw_block b = r.read_all();
  auto m = std::make_shared<user_profile>();
  m->reserve(static_cast<std::size_t>(b.rows()));
  for (index i = 0; i < b.rows(); ++i) {
    const auto* c = b.categorical.data() + 3 * i;
    m->insert_or_assign(c[0], std::pair{c[1], c[2]});
  }
  return m;
}

/// KDD Cup 2012 track 2 training.txt (12 columns, tab separated), joined with the user
/// profile (unknown or absent users get gender 0, age 0, as in the reference).
[[nodiscard]] inline text_format kdd_format(std::shared_ptr<const user_profile> profile,
                                            std::int64_t cap = 0) {
  text_format f;
  f.features = kdd_schema(cap);
  f.delimiter = '\t';
  f.fields = 12;
  using k = column_kind;
  f.columns = {{"Click", k::label_count, -1, 0, {}},       {"Impression", k::dense_int, 0, 1, {}},
               {"DisplayURL", k::cat_mod31, 0, 2, {}},     {"AdID", k::cat_mod31, 1, 3, {}},
               {"AdvertiserID", k::cat_mod31, 2, 4, {}},   {"Depth", k::dense_int, 1, 5, {}},
               {"Position", k::dense_int, 2, 6, {}},       {"QueryID", k::cat_mod31, 3, 7, {}},
               {"KeywordID", k::cat_mod31, 4, 8, {}},      {"TitleID", k::cat_mod31, 5, 9, {}},
               {"DescriptionID", k::cat_mod31, 6, 10, {}}, {"UserID", k::cat_mod31, 7, 11, {}}};
  if (!profile) profile = std::make_shared<user_profile>();
  f.profile = std::move(profile);
  f.profile_key = 7;
  f.profile_gender = 8;
  f.profile_age = 9;
  return f;
}

// ---------------------------------------------------------------------------------------------
// User data: a schema-driven CSV/TSV reader.

/// A user's CSV/TSV layout. Columns are header names, or "#<n>" for the 0-based field n.
struct csv_schema {
  std::string name = "csv";
  char delimiter = ',';
  bool header = true;
  std::string label;
  bool label_is_count = false;  // true: label = (value > 0)
  struct dense_column {
    std::string column;
    bool integer = false;  // parse as integer (stricter) instead of decimal number
  };
  std::vector<dense_column> dense;
  struct categorical_column {
    std::string column;
    std::int64_t table_size = 0;
    column_kind encoding = column_kind::cat_hex;  // cat_hex, cat_decimal, cat_mod31, cat_string
  };
  std::vector<categorical_column> categorical;
};

[[nodiscard]] inline text_format csv_format(const csv_schema& cs, std::int64_t cap = 0) {
  text_format f;
  f.features.name = cs.name;
  f.delimiter = cs.delimiter;
  f.header = cs.header ? header_mode::present : header_mode::none;
  auto where = [&](const std::string& col, column_spec& s) {
    if (!col.empty() && col[0] == '#') {
      int pos = -1;
      const auto r = std::from_chars(col.data() + 1, col.data() + col.size(), pos);
      if (r.ec != std::errc{} || r.ptr != col.data() + col.size() || pos < 0)
        throw input_error(cs.name, 0, col, "a column index is written #<0-based number>");
      s.position = pos;
    } else {
      if (!cs.header)
        throw input_error(cs.name, 0, col, "columns are named but the file has no header");
      s.source = col;
    }
    s.name = col;
  };
  if (cs.label.empty()) throw input_error(cs.name, 0, "label", "the schema names no label column");
  column_spec lab;
  lab.kind = cs.label_is_count ? column_kind::label_count : column_kind::label01;
  where(cs.label, lab);
  f.columns.push_back(lab);
  for (std::size_t i = 0; i < cs.dense.size(); ++i) {
    column_spec s;
    s.kind = cs.dense[i].integer ? column_kind::dense_int : column_kind::dense_float;
    s.target = static_cast<int>(i);
    where(cs.dense[i].column, s);
    f.columns.push_back(s);
    f.features.dense_names.push_back(cs.dense[i].column);
  }
  for (std::size_t i = 0; i < cs.categorical.size(); ++i) {
    const auto& c = cs.categorical[i];
    if (c.encoding != column_kind::cat_hex && c.encoding != column_kind::cat_decimal &&
        c.encoding != column_kind::cat_mod31 && c.encoding != column_kind::cat_string)
      throw input_error(cs.name, 0, c.column,
                        "categorical encoding must be hex, decimal, mod31 or string");
    column_spec s;
    s.kind = c.encoding;
    s.target = static_cast<int>(i);
    where(c.column, s);
    f.columns.push_back(s);
    f.features.categorical_names.push_back(c.column);
    f.features.table_sizes.push_back(c.table_size);
  }
  f.features = f.features.capped(cap);
  f.features.validate();
  return f;
}

}  // namespace recnas::data
