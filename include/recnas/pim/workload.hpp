#pragma once
// What the PIM model evaluates: a workload is a DAG of layers (operators), each of one of
// three classes:
//  - analog: a static weight matrix of `rows` inputs x `cols` outputs applied to `vectors`
//    input vectors per example (FC: 1; EFC: one per embedding channel, i.e. 16; attention
//    projections: one per token). These go on crossbars.
//  - digital: work with two dynamic operands or element-wise work (dot-product interaction,
//    FM, QK^T, softmax, AV, gating, sums, LayerNorm), described by operation counts.
//  - memory: embedding lookups (tables x rows x width, lookups per example).
// supernet/workload.hpp emits it for any supernet architecture (supernet::workload_of) from the
// operators' own work descriptions (core/work.hpp); the builders below write it by hand (generic
// MLPs, the DLRM Criteo model, NASRec blocks, NeuroSim's VGG-8).

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "recnas/core/datasets.hpp"
#include "recnas/core/error.hpp"
#include "recnas/core/work.hpp"
#include "recnas/pim/units.hpp"

namespace recnas::pim {

/// The layer kinds are the operators' work vocabulary (core/work.hpp), under pim's names.
using op_kind = recnas::work_kind;
using op_class = recnas::work_class;
using recnas::class_of;
using recnas::to_string;

/// Parses the names of to_string(op_kind); returns false for an unknown name.
[[nodiscard]] inline bool parse_op_kind(std::string_view s, op_kind& out) noexcept {
  return recnas::parse_work_kind(s, out);
}

/// A layer reads the outputs of at most this many earlier layers (a NASRec op reads at most
/// 4 dense + 4 sparse sources; concatenations are free, they are just addresses).
inline constexpr int max_layer_inputs = 8;

struct layer {
  op_kind kind = op_kind::fc;
  std::string name;

  // analog: y[cols] = W[cols x rows] x[rows], applied to `vectors` vectors per example.
  index rows = 0;
  index cols = 0;
  index vectors = 1;
  int weight_bits = 0;  // 0: the config's default
  int act_bits = 0;     // 0: the config's default (input and output activations)
  int replication = 0;  // analog: fixed number of copies (0: the mapping decides)

  // digital: operation counts per example. `macs` are the multiply-accumulates of matrix
  // products with two dynamic operands (2 ops each; the FLOPs convention counts exactly these),
  // `muls` element-wise multiplications and `adds` element-wise adds, subtracts and compares
  // (1 op each).
  double macs = 0.0;
  double muls = 0.0;
  double adds = 0.0;
  double specials = 0.0;  // exp, sigmoid, reciprocal, rsqrt: several cycles each

  // data: activation elements read and written per example (sizes every transfer).
  index in_elems = 0;
  index out_elems = 0;

  // memory: `tables` embedding tables of `table_rows` rows in total, rows of `width`
  // elements; `lookups` rows read per example; access skew Zipf(zipf_s) over the rows.
  index tables = 0;
  index table_rows = 0;
  index width = 0;
  index lookups = 0;
  double zipf_s = 1.05;

  std::array<std::int32_t, max_layer_inputs> inputs{};
  int n_inputs = 0;

  [[nodiscard]] op_class cls() const noexcept { return class_of(kind); }
  /// MACs per example that run on crossbars (analog) or vector units (digital).
  [[nodiscard]] double mac_count() const noexcept {
    return cls() == op_class::analog ? static_cast<double>(rows) * static_cast<double>(cols) *
                                           static_cast<double>(vectors)
                                     : macs;
  }
  /// Operations per example (2 per MAC).
  [[nodiscard]] double op_count() const noexcept {
    return 2.0 * mac_count() + (cls() == op_class::digital ? muls + adds + specials : 0.0);
  }
  [[nodiscard]] std::span<const std::int32_t> input_layers() const noexcept {
    return {inputs.data(), static_cast<std::size_t>(n_inputs)};
  }

  // ---- constructors of each kind ----
  static layer analog(op_kind k, std::string name, index in, index out, index vectors = 1) {
    expects(class_of(k) == op_class::analog, "layer::analog needs an analog op_kind");
    expects(in > 0 && out > 0 && vectors > 0, "an analog layer needs rows, cols, vectors > 0");
    layer l;
    l.kind = k;
    l.name = std::move(name);
    l.rows = in;
    l.cols = out;
    l.vectors = vectors;
    l.in_elems = in * vectors;
    l.out_elems = out * vectors;
    return l;
  }
  static layer fc(std::string name, index in, index out) {
    return analog(op_kind::fc, std::move(name), in, out, 1);
  }
  /// NASRec EFC: tokens_in -> tokens_out over the token axis, shared over `width` channels.
  static layer efc(std::string name, index tokens_in, index tokens_out, index width = 16) {
    return analog(op_kind::efc, std::move(name), tokens_in, tokens_out, width);
  }
  static layer digital(op_kind k, std::string name, double macs, double adds, double specials,
                       index in_elems, index out_elems) {
    expects(class_of(k) == op_class::digital, "layer::digital needs a digital op_kind");
    expects(macs >= 0 && adds >= 0 && specials >= 0, "operation counts must be >= 0");
    layer l;
    l.kind = k;
    l.name = std::move(name);
    l.macs = macs;
    l.adds = adds;
    l.specials = specials;
    l.in_elems = in_elems;
    l.out_elems = out_elems;
    return l;
  }
  /// Pairwise dot products of `n` vectors of `width` (strict lower triangle, no self-pairs).
  static layer dot_product(std::string name, index n, index width) {
    const index pairs = n * (n - 1) / 2;
    return digital(op_kind::dot_product, std::move(name), static_cast<double>(pairs * width), 0.0,
                   0.0, n * width, pairs);
  }
  /// The layer that runs one step of an operator's work (core/work.hpp).
  static layer of(const work_step& st) { return of(st, st.name); }
  /// The same, named `name` (e.g. the step's name prefixed with its block).
  static layer of(const work_step& st, std::string name) {
    if (st.cls() == op_class::analog)
      return analog(st.kind, std::move(name), st.inner, st.rows, st.vectors);
    expects(st.cls() == op_class::digital, "layer::of: an embedding is not an operator step");
    return digital(st.kind, std::move(name), st.macs, st.adds, st.specials, st.in_elems,
                   st.out_elems)
        .with_muls(st.muls);
  }
  /// NASRec FM: f = (sum_t x_t)^2 - sum_t x_t^2 over `tokens` vectors of `width`.
  static layer fm(std::string name, index tokens, index width) {
    return of(work_step::fm(std::move(name), tokens, width));
  }
  /// Adds `muls` element-wise multiplications to a digital layer.
  layer&& with_muls(double m) && {
    muls = m;
    return std::move(*this);
  }
  /// sigmoid(g) * x over `width` elements.
  static layer gating(std::string name, index width) {
    return of(work_step::gating(std::move(name), width));
  }
  static layer sum(std::string name, index width) {
    return of(work_step::sum(std::move(name), width));
  }
  /// LayerNorm over `rows` rows of `width`: mean, variance, normalise, scale and shift.
  static layer layernorm(std::string name, index rows, index width) {
    return of(work_step::layernorm(std::move(name), rows, width));
  }
  static layer embedding(std::string name, index tables, index total_rows, index width,
                         index lookups, double zipf_s = 1.05) {
    expects(tables > 0 && total_rows >= tables && width > 0 && lookups > 0,
            "an embedding layer needs tables, rows, width and lookups > 0");
    layer l;
    l.kind = op_kind::embedding;
    l.name = std::move(name);
    l.tables = tables;
    l.table_rows = total_rows;
    l.width = width;
    l.lookups = lookups;
    l.zipf_s = zipf_s;
    l.out_elems = lookups * width;
    return l;
  }
};

/// A DAG of layers in topological order (every input index is smaller than the layer's).
struct workload {
  std::string name;
  std::vector<layer> layers;

  struct roots_t {};
  static constexpr roots_t roots{};

  /// Appends `l`, reading the previous layer's output (or nothing if it is the first).
  index add(layer l) {
    if (!layers.empty()) {
      l.n_inputs = 1;
      l.inputs[0] = static_cast<std::int32_t>(layers.size() - 1);
    }
    return push(std::move(l));
  }
  /// Appends `l` reading the given earlier layers.
  index add(layer l, std::initializer_list<index> from) {
    return add(std::move(l), std::span<const index>(from.begin(), from.size()));
  }
  index add(layer l, std::span<const index> from) {
    expects(static_cast<int>(from.size()) <= max_layer_inputs,
            "a layer reads at most max_layer_inputs earlier layers");
    l.n_inputs = 0;
    for (index f : from) {
      expects(f >= 0 && f < static_cast<index>(layers.size()),
              "a layer can only read earlier layers");
      l.inputs[static_cast<std::size_t>(l.n_inputs++)] = static_cast<std::int32_t>(f);
    }
    return push(std::move(l));
  }
  /// Appends `l` as a root (it reads the example's raw features).
  index add(layer l, roots_t) {
    l.n_inputs = 0;
    return push(std::move(l));
  }

  [[nodiscard]] index size() const noexcept { return static_cast<index>(layers.size()); }
  [[nodiscard]] double macs() const noexcept {
    double s = 0.0;
    for (const auto& l : layers) s += l.mac_count();
    return s;
  }
  [[nodiscard]] double analog_macs() const noexcept {
    double s = 0.0;
    for (const auto& l : layers)
      if (l.cls() == op_class::analog) s += l.mac_count();
    return s;
  }
  [[nodiscard]] double ops() const noexcept {
    double s = 0.0;
    for (const auto& l : layers) s += l.op_count();
    return s;
  }
  /// Checks the invariants the evaluators rely on; throws contract_error otherwise.
  void validate() const {
    for (index i = 0; i < size(); ++i) {
      const auto& l = layers[static_cast<std::size_t>(i)];
      for (auto in : l.input_layers())
        expects(in >= 0 && in < i, "workload layers must be in topological order");
      if (l.cls() == op_class::analog)
        expects(l.rows > 0 && l.cols > 0 && l.vectors > 0, "analog layer with an empty matrix");
      expects(l.weight_bits >= 0 && l.weight_bits <= 32 && l.act_bits >= 0 && l.act_bits <= 32,
              "layer bits must be in [0, 32] (0 = config default)");
    }
  }

 private:
  index push(layer l) {
    layers.push_back(std::move(l));
    return static_cast<index>(layers.size() - 1);
  }
};

// ------------------------------------------------------------------------------------------
// Builders

/// A chain of FC layers, dims = {in, h1, ..., out}.
inline index add_mlp(workload& w, std::span<const index> dims, std::string_view prefix,
                     int weight_bits = 0, int act_bits = 0) {
  expects(dims.size() >= 2, "an MLP needs at least an input and an output width");
  index last = -1;
  for (std::size_t i = 0; i + 1 < dims.size(); ++i) {
    std::string name(prefix);
    name += std::to_string(i);
    auto l = layer::fc(std::move(name), dims[i], dims[i + 1]);
    l.weight_bits = weight_bits;
    l.act_bits = act_bits;
    last = (i == 0 && w.size() == 0) ? w.add(std::move(l), workload::roots) : w.add(std::move(l));
  }
  return last;
}

inline workload mlp(std::span<const index> dims, int weight_bits = 0, int act_bits = 0) {
  workload w;
  w.name = "mlp";
  add_mlp(w, dims, "fc", weight_bits, act_bits);
  return w;
}

/// The DLRM Criteo-Kaggle reference model (facebookresearch/dlrm bench/dlrm_s_criteo_kaggle.sh):
/// bottom MLP 13-512-256-64-16, 26 tables of 16-wide rows, dot interaction of 27 vectors
/// without self-pairs (351 pairs), top MLP (351+16)-512-256-1. With `embeddings` false only
/// the seven MLP layers are emitted, in the order of the reference doc's section 1.4 table.
inline workload dlrm_criteo_kaggle(int weight_bits = 0, int act_bits = 0, bool embeddings = true,
                                   double zipf_s = 1.05) {
  workload w;
  w.name = embeddings ? "dlrm-criteo-kaggle" : "dlrm-criteo-kaggle-mlps";
  const std::array<index, 5> bottom{13, 512, 256, 64, 16};
  const std::array<index, 4> top{367, 512, 256, 1};
  const index bot = add_mlp(w, bottom, "bot", weight_bits, act_bits);
  index interaction_input = bot;
  if (embeddings) {
    index rows = 0;
    for (auto r : datasets::criteo_dlrm_table_rows) rows += r;  // 33.76 M
    auto e = layer::embedding("emb", 26, rows, 16, 26, zipf_s);
    e.weight_bits = weight_bits;
    const index emb = w.add(std::move(e), workload::roots);
    interaction_input = w.add(layer::dot_product("dot", 27, 16), {bot, emb});
    // The dense vector is concatenated to the 351 interactions (DLRM, unlike NASRec).
    w.layers.back().out_elems += 16;
  }
  for (std::size_t i = 0; i + 1 < top.size(); ++i) {
    std::string name = "top";
    name += std::to_string(i);
    auto l = layer::fc(std::move(name), top[i], top[i + 1]);
    l.weight_bits = weight_bits;
    l.act_bits = act_bits;
    if (i == 0 && !embeddings)
      w.add(std::move(l), workload::roots);  // MLP-only mapping study: no interaction layer
    else if (i == 0)
      w.add(std::move(l), {interaction_input});
    else
      w.add(std::move(l));
  }
  return w;
}

// ---- NASRec operators (reference: nasrec-spec.md section 1.2-1.3; E = 16 everywhere) ----

/// Which NASRec ops a block uses and its widths (hand-written subnets; supernet architectures go
/// through supernet::workload_of in supernet/workload.hpp, from the operators' descriptions).
struct nasrec_block_spec {
  enum class dense_op : std::uint8_t { fc, dot_product, sigmoid_gating, sum } dense = dense_op::fc;
  enum class sparse_op : std::uint8_t { efc, attention } sparse = sparse_op::efc;
  index dense_dim = 256;         // d
  index sparse_dim = 32;         // s (output tokens)
  bool dense_to_sparse = false;  // dsi merger
  bool fm = false;               // deep_fm merger
};

/// Outputs of a block: the layer indices producing its dense and sparse outputs and widths.
struct nasrec_block_out {
  index dense_layer = -1;
  index dense_width = 0;
  index sparse_layer = -1;
  index sparse_tokens = 0;
};

/// Appends the layers of one NASRec block that reads `dense` (width w) and `sparse` (T tokens)
/// from earlier layers (-1: the raw features). Left/right operands of gating/sum are the
/// dense input and the previous block's dense output; here both are `dense` for simplicity.
inline nasrec_block_out add_nasrec_block(workload& w, const nasrec_block_spec& b,
                                         const std::string& tag, index dense, index dense_w,
                                         index sparse, index tokens) {
  constexpr index E = 16;
  auto add_from = [&](layer l, index src) {
    return src >= 0 ? w.add(std::move(l), {src}) : w.add(std::move(l), workload::roots);
  };
  auto add_from2 = [&](layer l, index a, index c) {
    if (a >= 0 && c >= 0) return w.add(std::move(l), {a, c});
    if (a >= 0) return w.add(std::move(l), {a});
    if (c >= 0) return w.add(std::move(l), {c});
    return w.add(std::move(l), workload::roots);
  };
  nasrec_block_out out;
  const index d = b.dense_dim;
  const index s = b.sparse_dim;
  // dense op
  switch (b.dense) {
    case nasrec_block_spec::dense_op::fc:
      out.dense_layer = add_from(layer::fc(tag + ".fc", dense_w, d), dense);
      break;
    case nasrec_block_spec::dense_op::dot_product: {
      // k = round(sqrt(2 d)) tokens after the token projection, plus the projected dense.
      const index k = std::lround(std::sqrt(2.0 * static_cast<double>(d)));
      index dp = dense;
      if (dense_w != E)
        dp = add_from(layer::analog(op_kind::projection, tag + ".dp_dproj", dense_w, E), dense);
      index sp = sparse;
      if (tokens != k)
        sp = add_from(layer::analog(op_kind::projection, tag + ".dp_tproj", tokens, k, E), sparse);
      const index dot = add_from2(layer::dot_product(tag + ".dot", k + 1, E), dp, sp);
      out.dense_layer =
          w.add(layer::analog(op_kind::projection, tag + ".dp_out", k * (k + 1) / 2, d), {dot});
      break;
    }
    case nasrec_block_spec::dense_op::sigmoid_gating: {
      const index g =
          add_from(layer::analog(op_kind::projection, tag + ".gate", dense_w, dense_w), dense);
      const index p = w.add(layer::gating(tag + ".sg", dense_w), {g});
      out.dense_layer =
          dense_w == d
              ? p
              : w.add(layer::analog(op_kind::projection, tag + ".sg_proj", dense_w, d), {p});
      break;
    }
    case nasrec_block_spec::dense_op::sum: {
      const index p = add_from(layer::sum(tag + ".sum", dense_w), dense);
      out.dense_layer =
          dense_w == d
              ? p
              : w.add(layer::analog(op_kind::projection, tag + ".sum_proj", dense_w, d), {p});
      break;
    }
  }
  out.dense_width = d;
  // sparse op
  if (b.sparse == nasrec_block_spec::sparse_op::efc) {
    out.sparse_layer = add_from(layer::efc(tag + ".efc", tokens, s, E), sparse);
  } else {
    const index tp = add_from(layer::efc(tag + ".att_tproj", tokens, s, E), sparse);
    // fused Q, K, V in-projection (16 -> 48) on every token
    const index qkv =
        w.add(layer::analog(op_kind::attention_projection, tag + ".qkv", E, 3 * E, s), {tp});
    constexpr index heads = 8;
    constexpr index hd = E / heads;
    const auto tt = static_cast<double>(heads * s * s);
    const index sc = w.add(layer::digital(op_kind::attention_scores, tag + ".qk", tt * hd, 0.0, 0.0,
                                          2 * s * E, heads * s * s),
                           {qkv});
    const index sm = w.add(layer::of(work_step::softmax(tag + ".softmax", heads * s * s)), {sc});
    const index av = w.add(layer::digital(op_kind::attention_values, tag + ".av", tt * hd, 0.0, 0.0,
                                          heads * s * s + s * E, s * E),
                           {sm, qkv});
    const index o = w.add(layer::analog(op_kind::attention_projection, tag + ".o", E, E, s), {av});
    const index ln1 = w.add(layer::layernorm(tag + ".ln1", s, E), {o, tp});
    const index f1 =
        w.add(layer::analog(op_kind::attention_projection, tag + ".ffn1", E, E, s), {ln1});
    const index f2 =
        w.add(layer::analog(op_kind::attention_projection, tag + ".ffn2", E, E, s), {f1});
    out.sparse_layer = w.add(layer::layernorm(tag + ".ln2", s, E), {f2, ln1});
  }
  out.sparse_tokens = s;
  // mergers
  if (b.fm) {
    index f = w.add(layer::fm(tag + ".fm", s, E), {out.sparse_layer});
    if (d != E) f = w.add(layer::analog(op_kind::projection, tag + ".fm_proj", E, d), {f});
    out.dense_layer = w.add(layer::sum(tag + ".fm_add", d), {out.dense_layer, f});
  }
  if (b.dense_to_sparse) {
    index p = out.dense_layer;
    if (d != 8 * E)
      p = w.add(layer::analog(op_kind::projection, tag + ".dsi", d, 8 * E), {out.dense_layer});
    // concatenation is free: the next block reads both producers
    out.sparse_tokens = s + 8;
    out.sparse_layer = w.add(layer::digital(op_kind::digital_other, tag + ".dsi_cat", 0.0, 0.0, 0.0,
                                            (s + 8) * E, (s + 8) * E),
                             {out.sparse_layer, p});
  }
  return out;
}

/// A NASRec subnet as a chain of blocks (block i reads block i-1; block 0 reads the stem:
/// `dense_features` raw features and `sparse_features` embedding lookups), plus the head
/// Linear(d_last + 16 t_last -> 1). The embedding tables are one memory layer.
inline workload nasrec_chain(std::span<const nasrec_block_spec> blocks, index dense_features = 13,
                             index sparse_features = 26, index rows_per_table = 500'000,
                             double zipf_s = 1.05) {
  workload w;
  w.name = "nasrec-chain";
  const index emb = w.add(layer::embedding("emb", sparse_features, sparse_features * rows_per_table,
                                           16, sparse_features, zipf_s),
                          workload::roots);
  index dense = -1;
  index dense_w = dense_features;
  index sparse = emb;
  index tokens = sparse_features;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    std::string tag = "b";  // (not "b" + to_string: GCC 12 -Wrestrict false positive)
    tag += std::to_string(i);
    const auto o = add_nasrec_block(w, blocks[i], tag, dense, dense_w, sparse, tokens);
    dense = o.dense_layer;
    dense_w = o.dense_width;
    sparse = o.sparse_layer;
    tokens = o.sparse_tokens;
  }
  w.add(layer::fc("head", dense_w + 16 * tokens, 1), {dense, sparse});
  return w;
}

/// A representative NASRec-Full-sized subnet (7 blocks mixing FC, dot-product, gating, sum,
/// EFC, attention and both mergers, widths 64-1024): the benchmark's and tests' workload.
inline workload nasrec_reference_subnet() {
  using D = nasrec_block_spec::dense_op;
  using S = nasrec_block_spec::sparse_op;
  const std::array<nasrec_block_spec, 7> b{{
      {D::fc, S::efc, 512, 32, false, true},
      {D::dot_product, S::attention, 256, 16, true, false},
      {D::fc, S::efc, 1024, 48, false, false},
      {D::sigmoid_gating, S::efc, 512, 64, false, true},
      {D::sum, S::attention, 768, 32, true, false},
      {D::fc, S::efc, 256, 16, false, true},
      {D::dot_product, S::efc, 128, 16, false, false},
  }};
  auto w = nasrec_chain(b);
  w.name = "nasrec-reference-subnet";
  return w;
}

// ---- VGG-8 on CIFAR-10 (DNN+NeuroSim's example network; ref section 2.6, Table VII) ----

/// NeuroSim's pipeline speed-up of a layer whose input feature map is `ifm` wide (ref section
/// 1.3, Chip.cpp): speedUp = ceil((IFM / ceil(IFM_max / degree))^2). NeuroSim also caps it
/// "where no layer idles"; that cap is not described precisely enough to reproduce and is not
/// applied (the formula's value is used).
[[nodiscard]] inline int neurosim_speedup(index ifm, index ifm_max, int degree) {
  expects(ifm >= 1 && ifm_max >= ifm && degree >= 1, "neurosim_speedup needs 1 <= ifm <= ifm_max");
  const index unit = (ifm_max + degree - 1) / degree;
  const double r = static_cast<double>(ifm) / static_cast<double>(unit);
  return std::max(1, static_cast<int>(std::ceil(r * r - 1e-12)));
}

/// VGG-8 for CIFAR-10 as in DNN+NeuroSim (six 3x3 convolutions 3-128-128-256-256-512-512 with
/// 2x2 max-pooling after every second one, then FC 8192-1024-10). A convolution is an analog
/// layer of Cin k^2 rows x Cout columns applied to NeuroSim's numInVector =
/// ((H - k + 1) / s)^2 input vectors (ref section 2.1; NeuroSim ignores the padding). Max-pools
/// are digital compares. With `speedup_degree` > 0 every layer gets NeuroSim's pipeline
/// speed-up (neurosim_speedup) as its fixed replication.
inline workload vgg8_cifar10(int speedup_degree = 0) {
  struct conv {
    index ifm, cin, cout;
    bool pool;
  };
  constexpr std::array<conv, 6> convs{{{32, 3, 128, false},
                                       {32, 128, 128, true},
                                       {16, 128, 256, false},
                                       {16, 256, 256, true},
                                       {8, 256, 512, false},
                                       {8, 512, 512, true}}};
  constexpr index k = 3;
  constexpr index ifm_max = 32;
  workload w;
  w.name = "vgg8-cifar10";
  auto speedup = [&](index ifm) {
    return speedup_degree > 0 ? neurosim_speedup(ifm, ifm_max, speedup_degree) : 0;
  };
  for (std::size_t i = 0; i < convs.size(); ++i) {
    const auto& c = convs[i];
    const index out = c.ifm - k + 1;
    std::string name = "conv";
    name += std::to_string(i + 1);
    auto l = layer::analog(op_kind::fc, name, c.cin * k * k, c.cout, out * out);
    l.replication = speedup(c.ifm);
    if (i == 0)
      w.add(std::move(l), workload::roots);
    else
      w.add(std::move(l));
    if (c.pool) {
      const index elems = out * out * c.cout;
      std::string pool = "pool";
      pool += std::to_string(i + 1);
      w.add(layer::digital(op_kind::digital_other, std::move(pool), 0.0,
                           0.75 * static_cast<double>(elems), 0.0, elems, elems / 4));
    }
  }
  auto f1 = layer::fc("fc1", 8192, 1024);
  f1.replication = speedup(1);
  w.add(std::move(f1));
  auto f2 = layer::fc("fc2", 1024, 10);
  f2.replication = speedup(1);
  w.add(std::move(f2));
  return w;
}

}  // namespace recnas::pim
