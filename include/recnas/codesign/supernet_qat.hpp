#pragma once
// Quantization-aware supernet training: a step's sampled path also gets sampled precisions.
// Weights: before the forward, the path's layer weights inside the supernet are fake-quantized
// in place, each tensor on the grid codesign::quantize_weights gives the same tensor of the
// standalone subnet (per tensor of the compact layout, min/max over exactly the slices the
// subnet copies). After the optimizer step the float values come back plus the step they
// received: the straight-through estimator, as codesign::qat_shadow does for a subnet.
// Activations: the network quantizes, in its forward, what evaluation quantizes (the dense
// features, the embedding rows, the head's input; supernet::activation_quantization), except
// that each table's grid comes from the batch's rows rather than the whole table (scanning
// every table would cost more than the step). Min/max calibration never clips, so every
// gradient passes.
//
// Only the sampled path's slices are copied (a few MB at the largest widths), never the
// embedding tables.

#include <algorithm>
#include <cstdint>
#include <vector>

#include "recnas/codesign/evaluate.hpp"
#include "recnas/codesign/fake_quant.hpp"
#include "recnas/codesign/space.hpp"
#include "recnas/core/error.hpp"
#include "recnas/core/rng.hpp"
#include "recnas/supernet/supernet.hpp"

namespace recnas::codesign {

/// How supernet training samples precisions: a step trains in float with probability
/// `float_share`, else with every block's (and the head's) weight bits and, when
/// `activations`, the activation bits drawn uniformly from the co-design space's vocabulary.
/// The draw is a pure function of (seed, step), so a resumed run draws the same precisions.
struct precision_sampling {
  double float_share = 0.25;
  std::uint64_t seed = 0;
  bool activations = true;
};

/// One step's precisions: no weight bits is a float step; act_bits 0 keeps activations float.
struct precision_draw {
  std::vector<int> weight_bits;
  int act_bits = 0;
  [[nodiscard]] bool is_float() const noexcept { return weight_bits.empty() && act_bits == 0; }
};

/// The precisions of step `step`.
template <class CS>
[[nodiscard]] precision_draw sample_precisions(const precision_sampling& p, std::int64_t step) {
  expects(p.float_share >= 0.0 && p.float_share <= 1.0,
          "precision_sampling: float_share is a probability (0..1)");
  rng g = rng::stream(p.seed ^ 0x9A7E5B175EEDULL, static_cast<std::uint64_t>(step));
  if (g.bernoulli(p.float_share)) return {};
  precision_draw d;
  d.weight_bits.resize(static_cast<std::size_t>(CS::num_blocks + 1));
  for (auto& b : d.weight_bits) b = CS::weight_bits::draw(g);
  if (p.activations) d.act_bits = CS::act_bits::draw(g);
  return d;
}

/// Fake-quantizes one architecture's weights inside a supernet for one step and restores them.
template <class CS>
class supernet_quantizer {
 public:
  using S = typename CS::arch_space;
  explicit supernet_quantizer(supernet::supernet<S>& net) : net_(&net) {}

  /// Quantizes `a`'s layer weights (block i's at `draw.weight_bits[i]`, the head's at the last
  /// entry; none: float weights) and the network's activations at `draw.act_bits` (0: float).
  /// Returns the number of weights quantized. Call restore() after the update.
  index quantize(const supernet::architecture& a, const precision_draw& draw) {
    expects(!active_, "supernet_quantizer: restore() the previous step's weights first");
    const auto& weight_bits = draw.weight_bits;
    expects(
        weight_bits.empty() || weight_bits.size() == static_cast<std::size_t>(CS::num_blocks + 1),
        "supernet_quantizer: one weight precision per block plus the head's");
    expects(draw.act_bits == 0 || CS::act_bits::contains(draw.act_bits),
            "supernet_quantizer: activation bits outside the co-design space's vocabulary");
    net_->quantize_activations({.bits = draw.act_bits});
    runs_.clear();
    shadow_.clear();
    quant_.clear();
    active_ = true;
    if (weight_bits.empty()) return 0;
    const auto m = net_->active_slices(a);
    const auto& es = net_->params().entries();
    float* v = net_->params().values().data();
    for (std::size_t r = 0; r < m.runs.size();) {
      const std::size_t k = m.runs[r].compact_entry;
      std::size_t end = r;
      while (end < m.runs.size() && m.runs[end].compact_entry == k) ++end;
      const auto& ce = m.compact[k];
      const int bits = weight_bits_of<CS>(ce, weight_bits);
      if (bits > 0) {
        const std::size_t first = shadow_.size();
        for (std::size_t q = r; q < end; ++q) {
          const auto& run = m.runs[q];
          const auto& e = es[run.entry];
          for (index row = 0; row < run.rows; ++row) {
            const float* p = v + e.offset + row * e.cols + run.col;
            shadow_.insert(shadow_.end(), p, p + run.width);
          }
          runs_.push_back(run);
        }
        const auto n = static_cast<index>(shadow_.size() - first);
        const auto g = calibrate(shadow_.data() + first, n, bits, true);
        quant_.resize(shadow_.size());
        fake_quant_forward(shadow_.data() + first, n, g, quant_.data() + first);
      }
      r = end;
    }
    for_each_value([](float& w, float q, float) { w = q; });
    return static_cast<index>(shadow_.size());
  }

  /// After the update: each quantized weight becomes its float value plus the step it received.
  void restore() {
    if (!active_) return;
    for_each_value([](float& w, float q, float f) { w = f + (w - q); });
    net_->quantize_activations({});
    active_ = false;
  }
  [[nodiscard]] bool active() const noexcept { return active_; }

 private:
  // f(weight in the supernet, its quantized value, its float value), in gather order.
  template <class F>
  void for_each_value(F&& f) {
    const auto& es = net_->params().entries();
    float* v = net_->params().values().data();
    std::size_t i = 0;
    for (const auto& run : runs_) {
      const auto& e = es[run.entry];
      for (index row = 0; row < run.rows; ++row) {
        float* p = v + e.offset + row * e.cols + run.col;
        for (index c = 0; c < run.width; ++c, ++i) f(p[c], quant_[i], shadow_[i]);
      }
    }
  }

  supernet::supernet<S>* net_;
  std::vector<supernet::weight_run> runs_;
  std::vector<float> shadow_, quant_;
  bool active_ = false;
};

}  // namespace recnas::codesign
