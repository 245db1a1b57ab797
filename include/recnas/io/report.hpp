#pragma once
// Self-contained HTML reports with inline SVG charts: no scripts, no fonts, no network, so a
// report opens anywhere (including a headless browser in CI) and can be archived as one file.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace recnas::io {

/// Escapes text for HTML/SVG content and attribute values.
[[nodiscard]] inline std::string escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

/// Formats a number compactly (up to `digits` significant digits).
[[nodiscard]] inline std::string num(double v, int digits = 4) {
  if (!std::isfinite(v)) return v > 0 ? "inf" : (v < 0 ? "-inf" : "nan");
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

struct point {
  double x = 0;
  double y = 0;
  std::string label;  // tooltip
};

struct series {
  std::string name;
  std::vector<point> points;
  std::string color = "#1f77b4";
  bool line = true;   // connect points in order
  bool dots = false;  // draw markers
};

struct chart {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<series> data;
  int width = 640;
  int height = 360;
};

namespace detail {
struct axis_range {
  double lo = 0, hi = 1;
};
inline axis_range range_of(const std::vector<series>& data, bool x) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto& s : data) {
    for (const auto& p : s.points) {
      const double v = x ? p.x : p.y;
      if (!std::isfinite(v)) continue;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  if (!std::isfinite(lo)) return {0, 1};
  if (hi - lo < 1e-12 * std::max(1.0, std::abs(hi))) {
    const double pad = std::max(1e-9, std::abs(hi) * 0.05);
    return {lo - pad, hi + pad};
  }
  const double pad = (hi - lo) * 0.05;
  return {lo - pad, hi + pad};
}
}  // namespace detail

/// An SVG line/scatter chart with axes, 5 ticks per axis and a legend.
[[nodiscard]] inline std::string render_svg(const chart& c) {
  const double left = 70, right = 20, top = 30, bottom = 50;
  const double pw = c.width - left - right, ph = c.height - top - bottom;
  const auto xr = detail::range_of(c.data, true), yr = detail::range_of(c.data, false);
  auto sx = [&](double x) { return left + (x - xr.lo) / (xr.hi - xr.lo) * pw; };
  auto sy = [&](double y) { return top + ph - (y - yr.lo) / (yr.hi - yr.lo) * ph; };
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(c.width) +
                  "\" height=\"" + std::to_string(c.height) + "\" role=\"img\" aria-label=\"" +
                  escape(c.title) + "\">\n";
  s += "<rect x=\"0\" y=\"0\" width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s += "<text x=\"" + num(left) + "\" y=\"18\" font-size=\"14\" font-weight=\"bold\">" +
       escape(c.title) + "</text>\n";
  s += "<g stroke=\"#444\" fill=\"none\"><rect x=\"" + num(left) + "\" y=\"" + num(top) +
       "\" width=\"" + num(pw) + "\" height=\"" + num(ph) + "\"/></g>\n";
  for (int i = 0; i <= 4; ++i) {
    const double xv = xr.lo + (xr.hi - xr.lo) * i / 4.0, yv = yr.lo + (yr.hi - yr.lo) * i / 4.0;
    s += "<text x=\"" + num(sx(xv)) + "\" y=\"" + num(top + ph + 16) +
         "\" font-size=\"11\" text-anchor=\"middle\">" + num(xv) + "</text>\n";
    s += "<text x=\"" + num(left - 6) + "\" y=\"" + num(sy(yv) + 4) +
         "\" font-size=\"11\" text-anchor=\"end\">" + num(yv) + "</text>\n";
    s += "<line x1=\"" + num(left) + "\" x2=\"" + num(left + pw) + "\" y1=\"" + num(sy(yv)) +
         "\" y2=\"" + num(sy(yv)) + "\" stroke=\"#eee\"/>\n";
  }
  s += "<text x=\"" + num(left + pw / 2) + "\" y=\"" + num(c.height - 10) +
       "\" font-size=\"12\" text-anchor=\"middle\">" + escape(c.x_label) + "</text>\n";
  s += "<text x=\"14\" y=\"" + num(top + ph / 2) +
       "\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 14 " + num(top + ph / 2) +
       ")\">" + escape(c.y_label) + "</text>\n";
  int legend_y = static_cast<int>(top) + 12;
  for (const auto& ser : c.data) {
    if (ser.line && ser.points.size() > 1) {
      s += "<polyline fill=\"none\" stroke=\"" + escape(ser.color) +
           "\" stroke-width=\"1.5\" points=\"";
      for (const auto& p : ser.points) {
        if (std::isfinite(p.x) && std::isfinite(p.y))
          s += num(sx(p.x), 6) + "," + num(sy(p.y), 6) + " ";
      }
      s += "\"/>\n";
    }
    if (ser.dots || ser.points.size() == 1) {
      for (const auto& p : ser.points) {
        if (!std::isfinite(p.x) || !std::isfinite(p.y)) continue;
        s += "<circle cx=\"" + num(sx(p.x), 6) + "\" cy=\"" + num(sy(p.y), 6) +
             "\" r=\"3\" fill=\"" + escape(ser.color) + "\">";
        if (!p.label.empty()) s += "<title>" + escape(p.label) + "</title>";
        s += "</circle>\n";
      }
    }
    s += "<rect x=\"" + num(left + pw - 150) + "\" y=\"" + std::to_string(legend_y - 9) +
         "\" width=\"10\" height=\"10\" fill=\"" + escape(ser.color) + "\"/>";
    s += "<text x=\"" + num(left + pw - 135) + "\" y=\"" + std::to_string(legend_y) +
         "\" font-size=\"11\">" + escape(ser.name) + "</text>\n";
    legend_y += 15;
  }
  s += "</svg>\n";
  return s;
}

/// A layered graph (the blocks of an architecture): nodes in columns by `layer`, edges as
/// curves, dead nodes greyed out.
struct graph_node {
  std::string id;
  std::string label;   // first line
  std::string detail;  // second line
  int layer = 0;
  bool live = true;
};
struct graph_edge {
  std::string from, to;
  std::string color = "#555";  // e.g. dense vs sparse connections
  bool dashed = false;
};

[[nodiscard]] inline std::string render_graph_svg(const std::vector<graph_node>& nodes,
                                                  const std::vector<graph_edge>& edges,
                                                  const std::string& title) {
  int layers = 0;
  for (const auto& n : nodes) layers = std::max(layers, n.layer + 1);
  std::vector<int> per_layer(static_cast<std::size_t>(std::max(layers, 1)), 0);
  std::vector<std::pair<double, double>> pos(nodes.size());
  const double col_w = 170, row_h = 70, node_w = 150, node_h = 46;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const int l = nodes[i].layer;
    pos[i] = {20 + l * col_w, 40 + per_layer[static_cast<std::size_t>(l)]++ * row_h};
  }
  int rows = 1;
  for (int c : per_layer) rows = std::max(rows, c);
  const int w = static_cast<int>(40 + layers * col_w), h = static_cast<int>(60 + rows * row_h);
  auto find = [&](const std::string& id) -> int {
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      if (nodes[i].id == id) return static_cast<int>(i);
    }
    return -1;
  };
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(w) +
                  "\" height=\"" + std::to_string(h) + "\" role=\"img\" aria-label=\"" +
                  escape(title) + "\">\n";
  s += "<rect x=\"0\" y=\"0\" width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s += "<text x=\"20\" y=\"20\" font-size=\"14\" font-weight=\"bold\">" + escape(title) +
       "</text>\n";
  for (const auto& e : edges) {
    const int a = find(e.from), b = find(e.to);
    if (a < 0 || b < 0) continue;
    const double x1 = pos[static_cast<std::size_t>(a)].first + node_w,
                 y1 = pos[static_cast<std::size_t>(a)].second + node_h / 2;
    const double x2 = pos[static_cast<std::size_t>(b)].first,
                 y2 = pos[static_cast<std::size_t>(b)].second + node_h / 2;
    const double mx = (x1 + x2) / 2;
    s += "<path d=\"M" + num(x1, 6) + "," + num(y1, 6) + " C" + num(mx, 6) + "," + num(y1, 6) +
         " " + num(mx, 6) + "," + num(y2, 6) + " " + num(x2, 6) + "," + num(y2, 6) +
         "\" fill=\"none\" stroke=\"" + escape(e.color) + "\" stroke-width=\"1.2\"" +
         (e.dashed ? " stroke-dasharray=\"4 3\"" : "") + "/>\n";
  }
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const auto& n = nodes[i];
    const auto [x, y] = pos[i];
    s += "<g><rect x=\"" + num(x, 6) + "\" y=\"" + num(y, 6) + "\" rx=\"6\" width=\"" +
         num(node_w) + "\" height=\"" + num(node_h) + "\" fill=\"" +
         (n.live ? "#e8f0fe" : "#f1f1f1") + "\" stroke=\"" + (n.live ? "#1a73e8" : "#aaa") + "\"/>";
    s += "<text x=\"" + num(x + 8, 6) + "\" y=\"" + num(y + 18, 6) +
         "\" font-size=\"12\" font-weight=\"bold\" fill=\"" + (n.live ? "#111" : "#888") + "\">" +
         escape(n.label) + "</text>";
    s += "<text x=\"" + num(x + 8, 6) + "\" y=\"" + num(y + 35, 6) + "\" font-size=\"10\" fill=\"" +
         (n.live ? "#333" : "#999") + "\">" + escape(n.detail) + "</text></g>\n";
  }
  s += "</svg>\n";
  return s;
}

/// An HTML table from a header row and body rows (cells are escaped).
[[nodiscard]] inline std::string render_table(const std::vector<std::string>& header,
                                              const std::vector<std::vector<std::string>>& rows) {
  std::string s = "<table>\n<thead><tr>";
  for (const auto& h : header) s += "<th>" + escape(h) + "</th>";
  s += "</tr></thead>\n<tbody>\n";
  for (const auto& r : rows) {
    s += "<tr>";
    for (const auto& c : r) s += "<td>" + escape(c) + "</td>";
    s += "</tr>\n";
  }
  s += "</tbody>\n</table>\n";
  return s;
}

/// A complete page. `sections` are (heading, pre-rendered HTML) pairs.
[[nodiscard]] inline std::string render_page(
    const std::string& title, const std::vector<std::pair<std::string, std::string>>& sections) {
  std::string s =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
      escape(title) +
      "</title>\n<style>\nbody{font-family:sans-serif;margin:24px;max-width:1100px;color:#222}"
      "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:4px 8px;"
      "text-align:right}th{background:#f4f4f4}h2{margin-top:28px}svg{max-width:100%;height:auto}\n"
      "</style>\n</head>\n<body>\n<h1>" +
      escape(title) + "</h1>\n";
  for (const auto& [heading, html] : sections) {
    s += "<section>\n<h2>" + escape(heading) + "</h2>\n" + html + "</section>\n";
  }
  s += "</body>\n</html>\n";
  return s;
}

}  // namespace recnas::io
