#pragma once
// Evaluating a co-design candidate: its logloss at its precisions (quantization-aware, from the
// supernet's shared weights) and its cost on the PIM model.
//
// What is fake-quantized (per tensor, min/max calibration, codesign/fake_quant.hpp):
//  - every weight matrix of block i (parameters "block<i>.*" with more than one column: FC,
//    EFC, projections, attention and gating matrices) at the block's weight bits, the head's
//    weight vector at the head's bits;
//  - the activations that reach a crossbar from outside the network body: the raw dense
//    features and the embedding rows (every table), and the head's input features (the last
//    block's outputs), all at the candidate's activation bits.
// What is not: biases, LayerNorm scales and shifts (digital, kept at 16 bits and more by the
// PIM model too) and the activations between blocks inside the body, which network.hpp does not
// expose. Hence activation precision is one global knob: every choice is paid at the head's
// input, so it cannot be lowered for free in blocks the evaluation does not see.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "recnas/codesign/fake_quant.hpp"
#include "recnas/codesign/space.hpp"
#include "recnas/data/stream.hpp"
#include "recnas/parallel/threads.hpp"
#include "recnas/pim/analytic.hpp"
#include "recnas/pim/mapping.hpp"
#include "recnas/search/nas.hpp"
#include "recnas/supernet/counting.hpp"
#include "recnas/supernet/supernet.hpp"
#include "recnas/train/metrics.hpp"
#include "recnas/train/schedule.hpp"
#include "recnas/train/trainer.hpp"

namespace recnas::codesign {

/// Which parameters are weights on crossbars (matrices, not embedding tables).
[[nodiscard]] inline bool is_crossbar_weight(const supernet::param_entry& e) {
  return !e.embedding && e.rows > 0 && (e.cols > 1 || e.name == "head.W");
}

/// The bits a layer parameter is quantized at given per-block weight bits (the head's last):
/// block i's crossbar matrices at weight_bits[i], the head's weight vector at the last entry,
/// 0 (stays float) for everything else (biases, LayerNorm, embedding tables).
template <class CS>
[[nodiscard]] int weight_bits_of(const supernet::param_entry& e,
                                 const std::vector<int>& weight_bits) {
  if (!is_crossbar_weight(e)) return 0;
  const int blk = block_of_param(e.name);
  return blk >= 0 && blk < CS::num_blocks ? weight_bits[static_cast<std::size_t>(blk)]
                                          : weight_bits.back();
}

/// Fake-quantizes the weights of `net` (a standalone subnet) at the candidate's precisions and
/// its embedding tables at the activation precision (their rows are the first crossbars'
/// inputs). Returns the number of values quantized.
template <class CS, class Net>
index quantize_weights(Net& net, const hw_knobs& h) {
  auto& p = net.params();
  float* v = p.values().data();
  index done = 0;
  for (const auto& e : p.entries()) {
    const int bits = e.embedding ? h.act_bits : weight_bits_of<CS>(e, h.weight_bits);
    if (bits == 0) continue;
    quantize_in_place(v + e.offset, e.size(), bits);
    done += e.size();
  }
  return done;
}

/// Quantization-aware training with the straight-through estimator, on top of train::fit:
/// the network trains on quantized weights while float "shadow" weights accumulate the updates.
/// Call begin() before fit and after_step() from fit's on_step; end() leaves the quantized
/// weights in the network. Since calibration is min/max per tensor nothing is clipped, so the
/// STE passes every gradient: the float weight receives exactly the optimizer's step.
template <class CS, class Net>
class qat_shadow {
 public:
  qat_shadow(Net& net, hw_knobs h) : net_(&net), h_(std::move(h)) {}
  void begin() {
    auto v = net_->params().values();
    shadow_.assign(v.begin(), v.end());
    quantize_weights<CS>(*net_, h_);
    last_.assign(v.begin(), v.end());
  }
  void after_step() {
    auto v = net_->params().values();
    for (std::size_t i = 0; i < shadow_.size(); ++i) shadow_[i] += v[i] - last_[i];
    std::copy(shadow_.begin(), shadow_.end(), v.begin());
    quantize_weights<CS>(*net_, h_);
    std::copy(v.begin(), v.end(), last_.begin());
  }

 private:
  Net* net_;
  hw_knobs h_;
  std::vector<float> shadow_, last_;
};

/// A copy of a batch's dense features, fake-quantized at `bits`.
struct quantized_dense {
  std::vector<float> values;
  supernet::ctr_batch batch;
  void make(const data::batch_view& b, int bits) {
    batch = train::as_ctr_batch(b);
    const index n = b.dense.rows() * b.dense.cols();
    if (n == 0) return;
    values.resize(static_cast<std::size_t>(b.dense.rows() * b.dense.ld()));
    std::copy_n(b.dense.data(), (b.dense.rows() - 1) * b.dense.ld() + b.dense.cols(),
                values.data());
    // per tensor over the used columns (the stride may hold padding)
    std::vector<float> used;
    used.reserve(static_cast<std::size_t>(n));
    for (index r = 0; r < b.dense.rows(); ++r)
      for (index c = 0; c < b.dense.cols(); ++c) used.push_back(values[r * b.dense.ld() + c]);
    const auto g = calibrate(used.data(), n, bits, true);
    for (index r = 0; r < b.dense.rows(); ++r)
      fake_quant_forward(values.data() + r * b.dense.ld(), b.dense.cols(), g,
                         values.data() + r * b.dense.ld());
    batch.dense =
        matrix_view<const float>(values.data(), b.dense.rows(), b.dense.cols(), b.dense.ld());
  }
};

/// Validation logloss of candidates at their precisions, from a trained supernet: for each
/// candidate the compact subnet (the supernet's slices), its weights fake-quantized, then head
/// fine-tuning on quantized head inputs and the validation logloss (as
/// search::supernet_evaluator, whose settings it takes). A pure function of the candidate.
template <class CS>
class quantized_evaluator {
 public:
  using S = typename CS::arch_space;
  quantized_evaluator(const supernet::supernet<S>& net, data::dataset data,
                      std::vector<std::uint32_t> train_rows, std::vector<std::uint32_t> val_rows,
                      search::evaluator_options o = {})
      : net_(&net), data_(std::move(data)), o_(o) {
    const auto nft = std::min<std::size_t>(
        train_rows.size(), static_cast<std::size_t>(o.finetune_steps * o.batch_size));
    ft_rows_.assign(train_rows.begin(), train_rows.begin() + static_cast<std::ptrdiff_t>(nft));
    const auto nval = std::min<std::size_t>(
        val_rows.size(), static_cast<std::size_t>(o.val_batches * o.val_batch_size));
    val_rows_.assign(val_rows.begin(), val_rows.begin() + static_cast<std::ptrdiff_t>(nval));
    expects(!val_rows_.empty(), "quantized_evaluator: no validation rows");
  }

  /// `quantize = false` evaluates the float subnet (for comparison). Single-threaded.
  [[nodiscard]] train::metric_values evaluate(const candidate& c, bool quantize = true) const {
    supernet::subnet<S> net(c.arch, *net_);
    if (quantize) quantize_weights<CS>(net, c.hw);
    const int abits = quantize ? c.hw.act_bits : 0;
    const int hbits = c.hw.weight_bits.back();
    supernet::workspace<float> ws;
    search::head_view<S> hv;
    std::vector<float> logits;
    quantized_dense qd;
    auto forward = [&](const data::batch_view& b, bool head_weights) {
      supernet::ctr_batch cb = train::as_ctr_batch(b);
      if (abits > 0) {
        qd.make(b, abits);
        cb = qd.batch;
      }
      logits.resize(static_cast<std::size_t>(cb.size));
      net.forward(cb, ws, std::span<float>(logits));
      search::extract_head(net, ws, hv, head_weights);
      if (abits > 0) quantize_in_place(hv.x.data(), hv.batch * hv.width, abits);
    };
    auto quantized_head = [&](const std::vector<double>& w) {  // as the crossbar holds it
      std::vector<float> f(w.begin(), w.end());
      if (quantize) quantize_in_place(f.data(), static_cast<index>(f.size()), hbits);
      return std::vector<double>(f.begin(), f.end());
    };
    return search::refit_head_and_validate(data_, o_, ft_rows_, val_rows_, hv, logits, forward,
                                           quantized_head, false);
  }

  [[nodiscard]] std::vector<train::metric_values> evaluate_all(const std::vector<candidate>& cands,
                                                               int threads) const {
    return search::evaluate_concurrently(cands, threads,
                                         [this](const auto& c) { return evaluate(c); });
  }

 private:
  const supernet::supernet<S>* net_;
  data::dataset data_;
  search::evaluator_options o_;
  std::vector<std::uint32_t> ft_rows_, val_rows_;
};

/// PIM cost of a candidate: energy per example, latency, area, whether it fits.
struct pim_cost {
  double energy_pj = 0;
  double latency_ns = 0;
  double interval_ns = 0;
  double area_mm2 = 0;
  double mflops = 0;
  index tiles = 0;
  bool fits = true;
};

/// The analytic PIM model of architecture family Arch under both mapping policies (a
/// candidate's mapping is a runtime knob; the mapping policies are types). Not thread-safe
/// (the models reuse buffers): use one per thread.
template <class CS, pim::PimArchitecture Arch = pim::isaac_architecture>
class pim_evaluator {
 public:
  explicit pim_evaluator(pim::pim_config base) : base_(std::move(base)) {}
  [[nodiscard]] pim_cost cost(const candidate& c, const supernet::data_shape& shape,
                              bool keep_chip = false) {
    const auto w = workload_of<CS>(c, shape);
    const auto cfg = config_of(c.hw, base_, keep_chip);
    const pim::model_report& r =
        c.hw.mapping == mapping_choice::naive ? naive_.evaluate(w, cfg) : aware_.evaluate(w, cfg);
    pim_cost out;
    out.energy_pj = r.energy.total().value();
    out.latency_ns = r.latency.value();
    out.interval_ns = r.interval.value();
    out.area_mm2 = r.area.total().value();
    out.tiles = r.tiles_used;
    out.fits = r.fits;
    out.mflops = supernet::analyze<typename CS::arch_space>(c.arch, shape).mflops();
    return out;
  }
  [[nodiscard]] const pim::pim_config& base() const noexcept { return base_; }

 private:
  pim::pim_config base_;
  pim::analytic_model<Arch, pim::naive_mapping> naive_;
  pim::analytic_model<Arch, pim::pim_aware_mapping> aware_;
};

/// The co-search's scalar criterion (evolution's tournaments compare one number): the log of
/// each cost relative to the reference design, weighted, plus a penalty of `penalty` per
/// `tolerance` of logloss above `ref_logloss + tolerance`. A candidate is feasible when its
/// logloss is within the tolerance and it fits the chip.
struct objective_settings {
  double ref_logloss = 0;
  double ref_energy_pj = 1, ref_latency_ns = 1, ref_mflops = 1;
  double tolerance = 0.002;
  double penalty = 1.0;
  double w_energy = 1.0, w_latency = 0.5, w_flops = 0.5;

  [[nodiscard]] double score(double logloss, const pim_cost& c) const {
    const double over = std::max(0.0, logloss - ref_logloss - tolerance);
    return w_energy * std::log(c.energy_pj / ref_energy_pj) +
           w_latency * std::log(c.latency_ns / ref_latency_ns) +
           w_flops * std::log(std::max(c.mflops, 1e-9) / ref_mflops) + penalty * over / tolerance;
  }
  [[nodiscard]] bool feasible(double logloss, const pim_cost& c) const {
    return std::isfinite(logloss) && logloss <= ref_logloss + tolerance && c.fits;
  }
};

}  // namespace recnas::codesign
