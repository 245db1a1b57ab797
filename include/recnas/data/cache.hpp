#pragma once
// Binary cache of preprocessed examples, so that a 45M-row text file is parsed once.
// Layout (all integers little-endian; docs/data.md has the byte table):
//   header (a multiple of 4096 bytes): magic, version, row count, widths, group geometry,
//     schema text, and a checksum of the header itself;
//   row groups of `group_rows` rows, each [labels f32 | dense f32 row-major | ids i32
//     row-major], every array padded to 64 bytes, so a batch inside a group is a zero-copy view;
//   a table with one checksum per group, followed by the checksum of the table.
// Opening checks magic, version, header checksum and exact file size (truncation), and by
// default every group checksum (tampering).

#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>

#include "recnas/core/aligned_buffer.hpp"
#include "recnas/core/checksum.hpp"
#include "recnas/core/error.hpp"
#include "recnas/data/block.hpp"
#include "recnas/data/mapped_file.hpp"
#include "recnas/data/schema.hpp"

namespace recnas::data {

static_assert(std::endian::native == std::endian::little,
              "recnas data caches are little-endian; add byte swapping to port them");

inline constexpr char cache_magic[8] = {'R', 'E', 'C', 'N', 'A', 'S', 'D', 'C'};
inline constexpr std::uint32_t cache_version = 2;  // 2: checksums are XXH64

/// 64-bit checksum of a byte range: XXH64 with the given seed (recnas/core/checksum.hpp), so
/// other tools can verify a cache with any xxHash implementation.
[[nodiscard]] inline std::uint64_t checksum64(const void* data, std::size_t n,
                                              std::uint64_t seed = 0) noexcept {
  return xxh64::of(data, n, seed);
}

namespace detail {
struct cache_header {
  char magic[8];
  std::uint32_t version;
  std::uint32_t header_bytes;
  std::uint64_t rows;
  std::uint32_t num_dense;
  std::uint32_t num_categorical;
  std::uint64_t group_rows;
  std::uint64_t groups;
  std::uint64_t table_offset;
  std::uint64_t file_bytes;
  std::uint64_t positives;
  std::uint32_t schema_bytes;
  std::uint32_t reserved;
};
static_assert(sizeof(cache_header) == 80, "cache header layout is part of the file format");
inline constexpr std::size_t schema_offset = 128;

/// Byte offsets of the three arrays inside a group of n rows, and the group's size.
struct group_layout {
  std::size_t labels = 0, dense = 0, cat = 0, bytes = 0;
  group_layout(std::uint64_t n, std::uint64_t nd, std::uint64_t nc) {
    dense = round_up(n * 4, 64);
    cat = dense + round_up(n * nd * 4, 64);
    bytes = cat + round_up(n * nc * 4, 64);
  }
};

inline std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "\t" : "") + v[i];
  return s;
}
inline std::vector<std::string> split_tabs(std::string_view s) {
  std::vector<std::string> v;
  if (s.empty()) return v;
  for (;;) {
    const auto t = s.find('\t');
    v.emplace_back(s.substr(0, t));
    if (t == std::string_view::npos) break;
    s.remove_prefix(t + 1);
  }
  return v;
}
inline std::string encode_schema(const schema& s) {
  std::string t = s.name + "\n" + join(s.dense_names) + "\n" + join(s.categorical_names) + "\n";
  for (std::size_t i = 0; i < s.table_sizes.size(); ++i)
    t += (i ? "\t" : "") + std::to_string(s.table_sizes[i]);
  return t + "\n";
}
}  // namespace detail

/// Writes a cache file: append example blocks in order, then finish(). The file appears under
/// its name only when finish() succeeds (written as <path>.tmp, then renamed).
class cache_writer {
 public:
  cache_writer(std::string path, schema s, index group_rows = 65536)
      : path_(std::move(path)),
        tmp_(path_ + ".tmp"),
        schema_(std::move(s)),
        group_rows_(group_rows),
        group_(group_rows, schema_.num_dense(), schema_.num_categorical()) {
    expects(group_rows >= 1, "cache group_rows >= 1");
    schema_.validate();
    schema_text_ = detail::encode_schema(schema_);
    header_bytes_ = round_up(detail::schema_offset + schema_text_.size() + 8, 4096);
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0)
      throw input_error(tmp_, 0, "", std::string("cannot create: ") + std::strerror(errno));
    offset_ = header_bytes_;
  }
  cache_writer(const cache_writer&) = delete;
  cache_writer& operator=(const cache_writer&) = delete;
  ~cache_writer() {
    if (fd_ >= 0) {
      ::close(fd_);
      std::remove(tmp_.c_str());
    }
  }

  void append(const batch_view& b) {
    expects(
        b.dense.cols() == schema_.num_dense() && b.categorical.cols() == schema_.num_categorical(),
        "cache_writer::append: batch widths match the schema");
    for (index r = 0; r < b.size(); ++r) {
      const index at = group_.rows();
      group_.set_rows(at + 1);
      group_.labels()[at] = b.labels[static_cast<std::size_t>(r)];
      positives_ += b.labels[static_cast<std::size_t>(r)] != 0.0f ? 1 : 0;
      if (b.dense.cols() != 0)
        std::memcpy(group_.dense_row(at), b.dense.row(r),
                    4 * static_cast<std::size_t>(b.dense.cols()));
      if (b.categorical.cols() != 0)
        std::memcpy(group_.cat_row(at), b.categorical.row(r),
                    4 * static_cast<std::size_t>(b.categorical.cols()));
      if (group_.rows() == group_rows_) flush();
    }
  }
  void append(const example_block& b) { append(b.view()); }

  [[nodiscard]] index rows() const noexcept { return rows_ + group_.rows(); }

  /// Writes the group table and the header, and moves the file into place.
  void finish() {
    if (group_.rows() > 0) flush();
    const std::uint64_t table_offset = offset_;
    std::vector<std::uint64_t> table = checksums_;
    table.push_back(checksum64(checksums_.data(), checksums_.size() * 8, 1));
    write_at(table.data(), table.size() * 8, offset_);
    offset_ += table.size() * 8;
    std::vector<char> head(header_bytes_, 0);
    detail::cache_header h{};
    std::memcpy(h.magic, cache_magic, 8);
    h.version = cache_version;
    h.header_bytes = static_cast<std::uint32_t>(header_bytes_);
    h.rows = static_cast<std::uint64_t>(rows_);
    h.num_dense = static_cast<std::uint32_t>(schema_.num_dense());
    h.num_categorical = static_cast<std::uint32_t>(schema_.num_categorical());
    h.group_rows = static_cast<std::uint64_t>(group_rows_);
    h.groups = checksums_.size();
    h.table_offset = table_offset;
    h.file_bytes = offset_;
    h.positives = positives_;
    h.schema_bytes = static_cast<std::uint32_t>(schema_text_.size());
    std::memcpy(head.data(), &h, sizeof h);
    std::memcpy(head.data() + detail::schema_offset, schema_text_.data(), schema_text_.size());
    const std::uint64_t hc = checksum64(head.data(), header_bytes_ - 8, 2);
    std::memcpy(head.data() + header_bytes_ - 8, &hc, 8);
    write_at(head.data(), head.size(), 0);
    if (::close(fd_) != 0) {
      fd_ = -1;
      throw input_error(tmp_, 0, "", std::string("cannot close: ") + std::strerror(errno));
    }
    fd_ = -1;
    if (std::rename(tmp_.c_str(), path_.c_str()) != 0)
      throw input_error(path_, 0, "",
                        std::string("cannot rename the finished cache: ") + std::strerror(errno));
  }

 private:
  void write_at(const void* p, std::size_t n, std::uint64_t off) {
    const char* c = static_cast<const char*>(p);
    while (n > 0) {
      const ssize_t w = ::pwrite(fd_, c, n, static_cast<off_t>(off));
      if (w < 0) {
        if (errno == EINTR) continue;
        throw input_error(tmp_, 0, "", std::string("write failed: ") + std::strerror(errno));
      }
      c += w;
      n -= static_cast<std::size_t>(w);
      off += static_cast<std::uint64_t>(w);
    }
  }
  void flush() {
    const auto n = static_cast<std::uint64_t>(group_.rows());
    const auto nd = static_cast<std::uint64_t>(schema_.num_dense());
    const auto nc = static_cast<std::uint64_t>(schema_.num_categorical());
    const detail::group_layout L(n, nd, nc);
    buf_.assign(L.bytes, 0);
    std::memcpy(buf_.data() + L.labels, group_.labels(), n * 4);
    if (nd) std::memcpy(buf_.data() + L.dense, group_.dense_row(0), n * nd * 4);
    if (nc) std::memcpy(buf_.data() + L.cat, group_.cat_row(0), n * nc * 4);
    checksums_.push_back(checksum64(buf_.data(), buf_.size(), checksums_.size()));
    write_at(buf_.data(), buf_.size(), offset_);
    offset_ += buf_.size();
    rows_ += group_.rows();
    group_.set_rows(0);
  }

  std::string path_, tmp_;
  schema schema_;
  std::string schema_text_;
  std::size_t header_bytes_ = 0;
  index group_rows_;
  example_block group_;
  std::vector<char> buf_;
  std::vector<std::uint64_t> checksums_;
  std::uint64_t offset_ = 0;
  std::uint64_t positives_ = 0;
  index rows_ = 0;
  int fd_ = -1;
};

/// How much of a cache to check when opening it.
enum class cache_verify : std::uint8_t { header, full };

/// Read-only, memory-mapped access to a cache file.
class cache_reader {
 public:
  explicit cache_reader(const std::string& path, cache_verify verify = cache_verify::full)
      : file_(path) {
    auto bad = [&](const std::string& why) {
      return input_error(path, 0, "", "bad cache: " + why);
    };
    if (file_.size() < 4096) throw bad("truncated (shorter than a header)");
    std::memcpy(&h_, file_.data(), sizeof h_);
    if (std::memcmp(h_.magic, cache_magic, 8) != 0) throw bad("not a recnas data cache (magic)");
    if (h_.version != cache_version)
      throw bad("version " + std::to_string(h_.version) + ", this build reads version " +
                std::to_string(cache_version) + "; re-run `recnas data convert`");
    if (h_.header_bytes < 4096 || h_.header_bytes % 4096 != 0 || h_.header_bytes > file_.size() ||
        detail::schema_offset + h_.schema_bytes + 8 > h_.header_bytes)
      throw bad("corrupt header geometry");
    std::uint64_t stored = 0;
    std::memcpy(&stored, file_.data() + h_.header_bytes - 8, 8);
    if (stored != checksum64(file_.data(), h_.header_bytes - 8, 2))
      throw bad("header checksum mismatch");
    if (file_.size() != h_.file_bytes)
      throw bad("file is " + std::to_string(file_.size()) + " bytes, header says " +
                std::to_string(h_.file_bytes) + " (truncated or appended to)");
    const std::string_view text(file_.data() + detail::schema_offset, h_.schema_bytes);
    std::vector<std::string> lines;
    for (std::size_t a = 0; a < text.size();) {
      const auto b = text.find('\n', a);
      lines.emplace_back(text.substr(a, b - a));
      a = b + 1;
    }
    if (lines.size() != 4) throw bad("schema text");
    schema_.name = lines[0];
    schema_.dense_names = detail::split_tabs(lines[1]);
    schema_.categorical_names = detail::split_tabs(lines[2]);
    for (const auto& t : detail::split_tabs(lines[3])) schema_.table_sizes.push_back(std::stoll(t));
    if (schema_.num_dense() != h_.num_dense || schema_.num_categorical() != h_.num_categorical)
      throw bad("schema widths disagree with the header");
    schema_.validate();
    if (h_.group_rows == 0 || h_.groups != (h_.rows + h_.group_rows - 1) / h_.group_rows)
      throw bad("group geometry");
    full_ = detail::group_layout(h_.group_rows, h_.num_dense, h_.num_categorical);
    if (h_.table_offset != h_.header_bytes + layout_offset(h_.groups) ||
        h_.table_offset + (h_.groups + 1) * 8 != h_.file_bytes)
      throw bad("group table offset");
    table_.resize(h_.groups + 1);
    std::memcpy(table_.data(), file_.data() + h_.table_offset, table_.size() * 8);
    if (table_.back() != checksum64(table_.data(), h_.groups * 8, 1))
      throw bad("group table checksum");
    if (verify == cache_verify::full) verify_all();
  }

  [[nodiscard]] const schema& features() const noexcept { return schema_; }
  [[nodiscard]] index rows() const noexcept { return static_cast<index>(h_.rows); }
  [[nodiscard]] index positives() const noexcept { return static_cast<index>(h_.positives); }
  [[nodiscard]] index group_rows() const noexcept { return static_cast<index>(h_.group_rows); }
  [[nodiscard]] index groups() const noexcept { return static_cast<index>(h_.groups); }
  [[nodiscard]] const std::string& path() const noexcept { return file_.path(); }
  [[nodiscard]] const mapped_file& file() const noexcept { return file_; }

  /// Checks the checksum of every group (in parallel); throws on the first mismatch.
  void verify_all() const {
    std::vector<std::uint8_t> ok(h_.groups, 1);
    oneapi::tbb::parallel_for(oneapi::tbb::blocked_range<std::uint64_t>(0, h_.groups),
                              [&](const oneapi::tbb::blocked_range<std::uint64_t>& r) {
                                for (auto g = r.begin(); g != r.end(); ++g) ok[g] = group_ok(g);
                              });
    for (std::uint64_t g = 0; g < h_.groups; ++g)
      if (!ok[g])
        throw input_error(path(), 0, "",
                          "bad cache: checksum mismatch in row group " + std::to_string(g) +
                              " (file modified or corrupt)");
  }

  /// Rows of group g as a zero-copy batch view.
  [[nodiscard]] batch_view group_view(index g) const {
    expects(g >= 0 && g < groups(), "cache group index in range");
    const auto n = group_size(static_cast<std::uint64_t>(g));
    const detail::group_layout L(n, h_.num_dense, h_.num_categorical);
    const char* base = group_base(static_cast<std::uint64_t>(g));
    const auto nd = static_cast<index>(h_.num_dense), nc = static_cast<index>(h_.num_categorical);
    return {std::span<const float>(reinterpret_cast<const float*>(base + L.labels), n),
            matrix_view<const float>(reinterpret_cast<const float*>(base + L.dense),
                                     static_cast<index>(n), nd, nd),
            matrix_view<const std::int32_t>(reinterpret_cast<const std::int32_t*>(base + L.cat),
                                            static_cast<index>(n), nc, nc)};
  }

  /// Copies row `row` into row `at` of `out`.
  void copy_row(index row, example_block& out, index at) const {
    const index g = row / group_rows();
    const index i = row % group_rows();
    const auto v = group_view(g);
    out.labels()[at] = v.labels[static_cast<std::size_t>(i)];
    if (v.dense.cols())
      std::memcpy(out.dense_row(at), v.dense.row(i), 4 * static_cast<std::size_t>(v.dense.cols()));
    if (v.categorical.cols())
      std::memcpy(out.cat_row(at), v.categorical.row(i),
                  4 * static_cast<std::size_t>(v.categorical.cols()));
  }

  /// Copies rows [begin, begin+count) into rows [at, at+count) of `out`.
  void read(index begin, index count, example_block& out, index at = 0) const {
    expects(begin >= 0 && count >= 0 && begin + count <= rows() && at + count <= out.capacity(),
            "cache_reader::read range");
    index done = 0;
    while (done < count) {
      const index row = begin + done;
      const index g = row / group_rows(), i = row % group_rows();
      const auto v = group_view(g);
      const index n = std::min(count - done, v.size() - i);
      std::memcpy(out.labels() + at + done, v.labels.data() + i, 4 * static_cast<std::size_t>(n));
      if (v.dense.cols())
        std::memcpy(out.dense_row(at + done), v.dense.row(i),
                    4 * static_cast<std::size_t>(n * v.dense.cols()));
      if (v.categorical.cols())
        std::memcpy(out.cat_row(at + done), v.categorical.row(i),
                    4 * static_cast<std::size_t>(n * v.categorical.cols()));
      done += n;
    }
    if (out.rows() < at + count) out.set_rows(at + count);
  }

 private:
  [[nodiscard]] std::uint64_t group_size(std::uint64_t g) const noexcept {
    return std::min<std::uint64_t>(h_.group_rows, h_.rows - g * h_.group_rows);
  }
  [[nodiscard]] std::uint64_t layout_offset(std::uint64_t g) const noexcept {
    if (g == 0) return 0;
    // All groups but the last are full.
    const std::uint64_t last = h_.groups - 1;
    if (g <= last) return g * full_.bytes;
    return last * full_.bytes +
           detail::group_layout(group_size(last), h_.num_dense, h_.num_categorical).bytes;
  }
  [[nodiscard]] const char* group_base(std::uint64_t g) const noexcept {
    return file_.data() + h_.header_bytes + layout_offset(g);
  }
  [[nodiscard]] bool group_ok(std::uint64_t g) const noexcept {
    const detail::group_layout L(group_size(g), h_.num_dense, h_.num_categorical);
    return checksum64(group_base(g), L.bytes, g) == table_[g];
  }

  mapped_file file_;
  detail::cache_header h_{};
  detail::group_layout full_{0, 0, 0};
  schema schema_;
  std::vector<std::uint64_t> table_;
};

}  // namespace recnas::data
