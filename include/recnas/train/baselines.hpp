#pragma once
// Hand-designed CTR baselines. Most are written as architectures of NASRec-Full, with the very
// operators the search uses, so "the searched model beats the baselines" compares like with
// like; NASRec-Full has no flatten, so these are the closest members of the space to the
// classic designs, not bit-for-bit replicas:
//   dnn      an MLP over the dense features and an EFC stack over the embedding tokens (EFC
//            is an MLP over the token axis), joined by the linear head;
//   dlrm     bottom MLP 512-256-16 on the dense features, dot-product interaction with the
//            embeddings (token projection to k = 32), top MLP 512-256;
//   deepfm   the sparse->dense FM merger on the embeddings beside an MLP over dense features,
//            with the EFC stack for the deep embedding part;
//   autoint  three stacked self-attention blocks (8 heads of dim 2) over the embeddings, plus
//            an MLP, as AutoInt+.
// Two need operators NASRec-Full lacks and live in their own spaces (baseline_space):
//   dcnv2    (nasrec-full-cross) DCN-v2 stacked: x0 = the dot-product interaction of the dense
//            features and the embeddings (d = 256), three full-rank cross layers x_{l+1} =
//            x0 * (W x_l + b) + x_l, then the deep part 512-256-128;
//   dlrm-ref (dlrm-reference) the DLRM people know, exactly: bottom MLP 512-256-64-16, the
//            pairwise dots of the 26 embeddings and the bottom output (351 on Criteo) beside
//            that output (367 values), top MLP 512-256-1.
// Every block that does not reach the head is pruned, as for any architecture.

#include <array>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "recnas/core/error.hpp"
#include "recnas/supernet/architecture.hpp"
#include "recnas/supernet/spaces.hpp"

namespace recnas::train {

inline constexpr std::array<std::string_view, 6> baseline_names = {"dnn",     "dlrm",  "deepfm",
                                                                   "autoint", "dcnv2", "dlrm-ref"};

namespace detail {
// Node indices of NASRec-Full.
inline constexpr int fc = 0, dot = 1, cross = 4, attention = 0, efc = 1;  // NASRec-Full(-Cross)
inline constexpr int dlrm_dot = 1, zero_tokens = 0;                       // dlrm-reference
inline constexpr std::uint32_t fm = 2U;  // merger bit 1: sparse->dense (FM)

inline supernet::block_choice blk(int dense_op, int dense_src, index d, int sparse_op,
                                  int sparse_src, index s, std::uint32_t mergers = 0) {
  supernet::block_choice b;
  b.dense_op = dense_op;
  b.sparse_op = sparse_op;
  b.dense_in = connect::source_set{1} << dense_src;
  b.sparse_in = connect::source_set{1} << sparse_src;
  b.left = b.right = dense_src;
  b.d = d;
  b.s = s;
  b.mergers = mergers;
  return b;
}
}  // namespace detail

/// The space baseline `name` is an architecture of: nasrec-full, except dcnv2
/// (nasrec-full-cross) and dlrm-ref (dlrm-reference).
[[nodiscard]] inline std::string_view baseline_space(std::string_view name) noexcept {
  if (name == "dcnv2") return supernet::nasrec_full_cross::name;
  if (name == "dlrm-ref") return supernet::dlrm_reference::name;
  return supernet::nasrec_full::name;
}

/// Calls f.template operator()<S>() with the space type of baseline `name`.
template <class F>
decltype(auto) visit_baseline_space(std::string_view name, F&& f) {
  const auto sp = baseline_space(name);
  if (sp == supernet::nasrec_full_cross::name)
    return f.template operator()<supernet::nasrec_full_cross>();
  if (sp == supernet::dlrm_reference::name)
    return f.template operator()<supernet::dlrm_reference>();
  return f.template operator()<supernet::nasrec_full>();
}

/// The baseline `name` (one of baseline_names) as an architecture of baseline_space(name).
[[nodiscard]] inline supernet::architecture baseline(std::string_view name) {
  using detail::blk;
  namespace dt = detail;
  supernet::architecture a;
  auto& v = a.blocks;
  if (name == "dnn") {
    // dense: 13 -> 512 -> 256 -> 128 ; tokens: 26 -> 64 -> 32 -> 16 ; joined at the head.
    v = {blk(dt::fc, 0, 512, dt::efc, 0, 64), blk(dt::fc, 1, 256, dt::efc, 1, 32),
         blk(dt::fc, 2, 128, dt::efc, 2, 16), blk(dt::fc, 3, 128, dt::efc, 3, 16),
         blk(dt::fc, 4, 128, dt::efc, 4, 16), blk(dt::fc, 5, 128, dt::efc, 5, 16),
         blk(dt::fc, 6, 64, dt::efc, 6, 16)};
  } else if (name == "dlrm") {
    v = {blk(dt::fc, 0, 512, dt::efc, 0, 16), blk(dt::fc, 1, 256, dt::efc, 0, 16),
         blk(dt::fc, 2, 16, dt::efc, 0, 16),  blk(dt::dot, 3, 512, dt::efc, 0, 16),
         blk(dt::fc, 4, 512, dt::efc, 0, 16), blk(dt::fc, 5, 256, dt::efc, 0, 16),
         blk(dt::fc, 6, 128, dt::efc, 0, 16)};
    v[3].sparse_in = 1;  // the interaction reads the embeddings (stem tokens)
  } else if (name == "deepfm") {
    v = {blk(dt::fc, 0, 512, dt::efc, 0, 32, dt::fm), blk(dt::fc, 1, 256, dt::efc, 1, 32),
         blk(dt::fc, 2, 128, dt::efc, 2, 16),         blk(dt::fc, 3, 128, dt::efc, 3, 16),
         blk(dt::fc, 4, 128, dt::efc, 4, 16),         blk(dt::fc, 5, 128, dt::efc, 5, 16),
         blk(dt::fc, 6, 64, dt::efc, 6, 16, dt::fm)};
  } else if (name == "autoint") {
    v = {blk(dt::fc, 0, 512, dt::attention, 0, 32), blk(dt::fc, 1, 256, dt::attention, 1, 32),
         blk(dt::fc, 2, 128, dt::attention, 2, 32), blk(dt::fc, 3, 128, dt::efc, 3, 16),
         blk(dt::fc, 4, 128, dt::efc, 4, 16),       blk(dt::fc, 5, 128, dt::efc, 5, 16),
         blk(dt::fc, 6, 64, dt::efc, 6, 16)};
  } else if (name == "dcnv2") {
    v = {blk(dt::dot, 0, 256, dt::efc, 0, 16),   blk(dt::cross, 1, 256, dt::efc, 0, 16),
         blk(dt::cross, 2, 256, dt::efc, 0, 16), blk(dt::cross, 3, 256, dt::efc, 0, 16),
         blk(dt::fc, 4, 512, dt::efc, 0, 16),    blk(dt::fc, 5, 256, dt::efc, 0, 16),
         blk(dt::fc, 6, 128, dt::efc, 0, 16)};
    for (int i = 1; i <= 3; ++i) v[static_cast<std::size_t>(i)].right = 1;  // x0: block 0
  } else if (name == "dlrm-ref") {
    v = {blk(dt::fc, 0, 512, dt::zero_tokens, 0, 16),
         blk(dt::fc, 1, 256, dt::zero_tokens, 0, 16),
         blk(dt::fc, 2, 64, dt::zero_tokens, 0, 16),
         blk(dt::fc, 3, 16, dt::zero_tokens, 0, 16),
         blk(dt::dlrm_dot, 4, 512, dt::zero_tokens, 0, 16),
         blk(dt::fc, 5, 256, dt::zero_tokens, 0, 16)};
    v[4].sparse_in = 1;  // the interaction reads the embeddings (stem tokens)
  } else {
    throw input_error("", 0, "--model",
                      "unknown baseline \"" + std::string(name) +
                          "\" (dnn, dlrm, deepfm, autoint, dcnv2, dlrm-ref)");
  }
  return a;
}

/// The baselines that are members of S with their meaning: those of S itself, and NASRec-Full's
/// in NASRec-Full-Cross (whose operator list extends NASRec-Full's with the same indices).
template <class S>
[[nodiscard]] std::vector<std::string_view> baselines_in() {
  std::vector<std::string_view> out;
  for (auto n : baseline_names) {
    const auto sp = baseline_space(n);
    const bool same = sp == S::name || (sp == supernet::nasrec_full::name &&
                                        std::is_same_v<S, supernet::nasrec_full_cross>);
    if (same && !supernet::check<S>(baseline(n))) out.push_back(n);
  }
  return out;
}

}  // namespace recnas::train
