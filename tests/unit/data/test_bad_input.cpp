// The bad-input table of the data issue, one test per case: each is rejected with
// file:line:field and a reason, or skipped and counted with skip_bad_rows; never a crash,
// never a silent wrong value. Plus truncated and tampered caches.
#include <filesystem>
#include <fstream>
#include <string>

#include <doctest/doctest.h>

#include <recnas/data/data.hpp>

#include "data_test_util.hpp"

namespace rd = recnas::data;
using data_test::temp_file;

namespace {
// A valid Criteo-layout row (synthetic values): label, 13 ints, 26 hex ids (some empty).
std::string row(const std::string& label = "0", const std::string& i3 = "7",
                const std::string& c2 = "0a1b2c3d") {
  std::string s = label + "\t1\t2\t" + i3 + "\t\t5\t6\t7\t8\t9\t10\t11\t12\t-3";
  s += "\t68fd1e64\t" + c2;
  for (int i = 2; i < 26; ++i) s += i % 5 == 0 ? "\t" : "\t0000abcd";
  return s;
}

/// Parses `content` as Criteo text; returns the input_error (or fails the test if none).
recnas::input_error parse_error(const std::string& name, const std::string& content) {
  temp_file f(name, content);
  try {
    rd::text_reader r(rd::criteo_format(), f.path);
    (void)r.read_all();
  } catch (const recnas::input_error& e) {
    CHECK(std::string(e.what()).rfind(f.path, 0) == 0);  // message starts with the file name
    return e;
  }
  FAIL("no input_error for " << name);
  return recnas::input_error("", 0, "", "");
}

rd::raw_block parse_skipping(const std::string& name, const std::string& content,
                             recnas::index& skipped) {
  temp_file f(name, content);
  rd::text_reader r(rd::criteo_format(), f.path, {.skip_bad_rows = true});
  auto b = r.read_all();
  skipped = r.rows_skipped();
  return b;
}
}  // namespace

TEST_CASE("bad input: wrong field count") {
  std::string bad = row();
  bad.erase(bad.rfind('\t'));  // 39 fields
  const auto e = parse_error("fields.txt", row() + "\n" + bad + "\n" + row() + "\n");
  CHECK(e.line() == 2);
  CHECK(e.reason().find("expected 40 fields, found 39") != std::string::npos);
  recnas::index skipped = 0;
  const auto b = parse_skipping("fields2.txt", row() + "\n" + bad + "\n" + row() + "\n", skipped);
  CHECK(b.rows() == 2);
  CHECK(skipped == 1);
  // Too many fields as well.
  CHECK(parse_error("fields3.txt", row() + "\t1\n").reason().find("found 41") != std::string::npos);
}

TEST_CASE("bad input: non-numeric integer") {
  const auto e = parse_error("int.txt", row() + "\n" + row() + "\n" + row("0", "12x") + "\n");
  CHECK(e.line() == 3);
  CHECK(e.field() == "I3");
  CHECK(e.reason().find("not an integer") != std::string::npos);
  CHECK(parse_error("int2.txt", row("0", "99999999999999999999") + "\n")
            .reason()
            .find("out of range") != std::string::npos);
  recnas::index skipped = 0;
  CHECK(parse_skipping("int3.txt", row("0", "1.5") + "\n" + row() + "\n", skipped).rows() == 1);
  CHECK(skipped == 1);
}

TEST_CASE("bad input: bad hex") {
  const auto e = parse_error("hex.txt", row("1", "7", "0a1g2c3d") + "\n");
  CHECK(e.line() == 1);
  CHECK(e.field() == "C2");
  CHECK(e.reason().find("bad hex digit") != std::string::npos);
  CHECK(parse_error("hex2.txt", row("1", "7", "0123456789abcdef0") + "\n").field() == "C2");
}

TEST_CASE("bad input: label not 0/1") {
  for (const char* label : {"2", "-1", "", "0.5", "01"}) {
    CAPTURE(label);
    const auto e = parse_error("label.txt", row() + "\n" + row(label) + "\n");
    CHECK(e.line() == 2);
    CHECK(e.field() == "label");
    CHECK(e.reason().find("label must be 0 or 1") != std::string::npos);
  }
}

TEST_CASE("bad input: truncated last line") {
  std::string full = row() + "\n" + row() + "\n" + row();
  const std::string truncated = full.substr(0, full.size() - 30);  // cut inside the last row
  const auto e = parse_error("trunc.txt", truncated);
  CHECK(e.line() == 3);
  CHECK(e.reason().find("truncated last line") != std::string::npos);
  recnas::index skipped = 0;
  CHECK(parse_skipping("trunc2.txt", truncated, skipped).rows() == 2);
  CHECK(skipped == 1);
  // A complete last row without a final newline is fine.
  CHECK(parse_skipping("nofinal.txt", full, skipped).rows() == 3);
  CHECK(skipped == 0);
}

TEST_CASE("bad input: CRLF line endings parse to the same values as LF") {
  const std::string lf = row("1") + "\n" + row("0", "42") + "\n";
  std::string crlf = row("1") + "\r\n" + row("0", "42") + "\r\n";
  recnas::index s1 = 0, s2 = 0;
  const auto a = parse_skipping("lf.txt", lf, s1), b = parse_skipping("crlf.txt", crlf, s2);
  CHECK(s1 == 0);
  CHECK(s2 == 0);
  REQUIRE(b.rows() == 2);
  CHECK(a.labels == b.labels);
  CHECK(a.categorical == b.categorical);
  CHECK(b.dense[13 + 2] == 42.0);  // the value before \r is not damaged
  CHECK(b.categorical[2 * 26 - 1] == a.categorical[2 * 26 - 1]);
}

TEST_CASE("bad input: UTF-8 byte-order mark is skipped") {
  recnas::index skipped = 0;
  const auto b = parse_skipping("bom.txt", "\xEF\xBB\xBF" + row("1") + "\n", skipped);
  CHECK(skipped == 0);
  REQUIRE(b.rows() == 1);
  CHECK(b.labels[0] == 1);
  // A BOM anywhere else is a bad label.
  CHECK(parse_error("bom2.txt", row() + "\n\xEF\xBB\xBF" + row() + "\n").field() == "label");
}

TEST_CASE("bad input: empty file, header-only file, file of only bad rows") {
  temp_file empty("empty.txt", "");
  CHECK_THROWS_WITH_AS(rd::text_reader(rd::criteo_format(), empty.path),
                       doctest::Contains("empty file"), recnas::input_error);
  temp_file bom_only("bomonly.txt", "\xEF\xBB\xBF");
  CHECK_THROWS_AS(rd::text_reader(rd::criteo_format(), bom_only.path), recnas::input_error);
  temp_file header_only("hdr.csv",
                        "id,click,hour,C1,banner_pos,site_id,site_domain,site_category,app_id,"
                        "app_domain,app_category,device_id,device_ip,device_model,device_type,"
                        "device_conn_type,C14,C15,C16,C17,C18,C19,C20,C21\n");
  CHECK_THROWS_WITH_AS(rd::text_reader(rd::avazu_format(), header_only.path),
                       doctest::Contains("no data rows"), recnas::input_error);
  temp_file all_bad("allbad.txt", "x\ny\n");
  rd::text_reader r(rd::criteo_format(), all_bad.path, {.skip_bad_rows = true});
  CHECK_THROWS_WITH_AS((void)r.read_all(), doctest::Contains("all skipped"), recnas::input_error);
  CHECK_THROWS_AS(rd::text_reader(rd::criteo_format(), "/nonexistent/recnas/file.txt"),
                  recnas::input_error);
}

TEST_CASE("bad input: the first bad row in file order is reported whatever the thread count") {
  std::string text;
  for (int i = 0; i < 20000; ++i)
    text += (i == 15000 ? row("0", "bad") : i == 17000 ? row("7") : row()) + "\n";
  temp_file f("order.txt", text);
  for (int threads : {1, 2}) {
    rd::text_reader r(rd::criteo_format(), f.path, {.chunk_bytes = 1 << 20, .threads = threads});
    try {
      (void)recnas::parallel::with_threads(threads, [&] { return r.read_all(); });
      FAIL("expected an error");
    } catch (const recnas::input_error& e) {
      CHECK(e.line() == 15001);
      CHECK(e.field() == "I3");
    }
  }
}

TEST_CASE("bad cache: truncated file is detected") {
  rd::synthetic_generator g({.num_dense = 2, .num_categorical = 3, .cardinalities = {5, 6, 7}});
  temp_file f("trunc.cache");
  rd::example_block b(1000, 2, 3);
  g.generate(0, 1000, b);
  {
    rd::cache_writer w(f.path, g.features(), 256);
    w.append(b);
    w.finish();
  }
  const auto size = std::filesystem::file_size(f.path);
  std::filesystem::resize_file(f.path, size - 100);
  CHECK_THROWS_WITH_AS(rd::cache_reader(f.path, rd::cache_verify::header),
                       doctest::Contains("truncated"), recnas::input_error);
  std::filesystem::resize_file(f.path, 100);
  CHECK_THROWS_AS(rd::cache_reader(f.path), recnas::input_error);
}

TEST_CASE("bad cache: a flipped byte in the data, table or header is detected") {
  rd::synthetic_generator g({.num_dense = 2, .num_categorical = 3, .cardinalities = {5, 6, 7}});
  temp_file f("tamper.cache");
  rd::example_block b(1000, 2, 3);
  g.generate(0, 1000, b);
  auto write = [&] {
    rd::cache_writer w(f.path, g.features(), 256);
    w.append(b);
    w.finish();
  };
  write();
  const auto size = static_cast<long>(std::filesystem::file_size(f.path));
  auto flip = [&](long at) {
    std::fstream io(f.path, std::ios::in | std::ios::out | std::ios::binary);
    io.seekg(at);
    char c = 0;
    io.read(&c, 1);
    c = static_cast<char>(c ^ 0x10);
    io.seekp(at);
    io.write(&c, 1);
  };
  CHECK_NOTHROW(rd::cache_reader(f.path));
  flip(4096 + 3000);  // inside row group 0
  CHECK_THROWS_WITH_AS(rd::cache_reader(f.path),
                       doctest::Contains("checksum mismatch in row group 0"), recnas::input_error);
  CHECK_NOTHROW(
      rd::cache_reader(f.path, rd::cache_verify::header));  // header-only check skips data
  write();
  flip(size - 12);  // group table
  CHECK_THROWS_AS(rd::cache_reader(f.path, rd::cache_verify::header), recnas::input_error);
  write();
  flip(20);  // header
  CHECK_THROWS_WITH_AS(rd::cache_reader(f.path), doctest::Contains("header checksum"),
                       recnas::input_error);
  temp_file other("notcache.txt", "hello");
  CHECK_THROWS_AS(rd::cache_reader(other.path), recnas::input_error);
}
