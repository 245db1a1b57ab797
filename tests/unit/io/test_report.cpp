#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <recnas/io/report.hpp>

namespace {
// Every opened tag is closed in order (void tags excepted): a cheap well-formedness check.
bool balanced(const std::string& s) {
  std::vector<std::string> stack;
  std::size_t i = 0;
  while ((i = s.find('<', i)) != std::string::npos) {
    const std::size_t j = s.find('>', i);
    if (j == std::string::npos) return false;
    std::string tag = s.substr(i + 1, j - i - 1);
    i = j + 1;
    if (tag.empty() || tag[0] == '!' || tag.back() == '/') continue;
    const bool closing = tag[0] == '/';
    std::string name =
        tag.substr(closing ? 1 : 0, tag.find_first_of(" \n", closing ? 1 : 0) - (closing ? 1 : 0));
    if (name == "meta") continue;
    if (closing) {
      if (stack.empty() || stack.back() != name) return false;
      stack.pop_back();
    } else {
      stack.push_back(name);
    }
  }
  return stack.empty();
}
}  // namespace

TEST_CASE("escape neutralises markup") {
  CHECK(recnas::io::escape("<b>&\"'") == "&lt;b&gt;&amp;&quot;&#39;");
  CHECK(recnas::io::num(0.44081234) == "0.4408");
  CHECK(recnas::io::num(1.0 / 0.0) == "inf");
}

TEST_CASE("charts, graphs and pages are well-formed and contain their data") {
  recnas::io::chart c{
      .title = "best logloss <per> generation", .x_label = "generation", .y_label = "logloss"};
  c.data.push_back({.name = "best", .points = {{0, 0.46}, {1, 0.45}, {2, 0.447}}});
  c.data.push_back({.name = "front",
                    .points = {{1, 0.5, "a & b"}},
                    .color = "#d62728",
                    .line = false,
                    .dots = true});
  const auto svg = recnas::io::render_svg(c);
  CHECK(balanced(svg));
  CHECK(svg.find("&lt;per&gt;") != std::string::npos);
  CHECK(svg.find("<polyline") != std::string::npos);
  CHECK(svg.find("<title>a &amp; b</title>") != std::string::npos);
  // Empty and constant data do not divide by zero.
  recnas::io::chart flat{.title = "flat"};
  flat.data.push_back({.name = "c", .points = {{1, 2}, {1, 2}}});
  const auto fsvg = recnas::io::render_svg(flat);
  CHECK(fsvg.find("nan") == std::string::npos);
  CHECK(balanced(recnas::io::render_svg(recnas::io::chart{})));

  std::vector<recnas::io::graph_node> nodes = {{"stem", "stem", "13 dense, 26 tokens", 0, true},
                                               {"b0", "block 0", "FC 128 | EFC 16", 1, true},
                                               {"b1", "block 1", "dead", 2, false}};
  std::vector<recnas::io::graph_edge> edges = {
      {"stem", "b0"}, {"b0", "b1", "#d62728", true}, {"x", "b1"}};
  const auto g = recnas::io::render_graph_svg(nodes, edges, "best architecture");
  CHECK(balanced(g));
  CHECK(g.find("block 0") != std::string::npos);
  CHECK(g.find("stroke-dasharray") != std::string::npos);

  const auto t = recnas::io::render_table({"model", "logloss"}, {{"DLRM", "0.4733"}, {"<x>", "1"}});
  CHECK(balanced(t));
  const auto page =
      recnas::io::render_page("recnas search", {{"progress", svg}, {"graph", g}, {"table", t}});
  CHECK(page.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(balanced(page));
  CHECK(page.find("<script") == std::string::npos);               // self-contained, no scripts
  CHECK(page.find("http://") == page.find("http://www.w3.org"));  // no external resources
}
