#pragma once
// The network shared by the supernet and the standalone subnet: a parameter layout
// (supernet/layout.hpp: shared for the supernet, compact for a fixed architecture), the
// parameter values, and the executors that run an architecture on them
// (supernet/executor.hpp sliced, supernet/masked.hpp the reference's masked computation).
// Slices of a supernet (supernet/slices.hpp) map an architecture's weights between layouts.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "recnas/core/quantize.hpp"
#include "recnas/core/tensor.hpp"
#include "recnas/supernet/activation_quant.hpp"
#include "recnas/supernet/architecture.hpp"
#include "recnas/supernet/batch.hpp"
#include "recnas/supernet/executor.hpp"
#include "recnas/supernet/layout.hpp"
#include "recnas/supernet/masked.hpp"
#include "recnas/supernet/parameters.hpp"
#include "recnas/supernet/plan.hpp"
#include "recnas/supernet/slices.hpp"
#include "recnas/supernet/workspace.hpp"

namespace recnas::supernet {

template <class S, class T = float>
class network {
 public:
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "recnas networks compute in float (training) or double (gradient checks).");
  using space_type = S;
  using value_type = T;

  /// The supernet layout.
  network(const data_shape& ds, model_options opts, std::uint64_t seed = 0) : layout_(ds, opts) {
    allocate();
    params_.initialize(seed, opts.init);
  }
  /// The compact layout of `a` (dead blocks and unused operators pruned), freshly initialised.
  network(const architecture& a, const data_shape& ds, model_options opts, std::uint64_t seed = 0)
      : layout_(a, ds, opts) {
    allocate();
    params_.initialize(seed, opts.init);
  }
  /// The compact layout of `a` with the slices of a supernet's weights copied in.
  network(const architecture& a, const network& super)
      : layout_(a, super.shape(), super.options()) {
    expects(super.layout_.shared(), "copying slices needs a supernet (shared layout)");
    allocate();
    copy_slices(layout_, params_, super.layout_, super.params_);
  }
  [[nodiscard]] parameters<T>& params() noexcept { return params_; }
  [[nodiscard]] const parameters<T>& params() const noexcept { return params_; }
  [[nodiscard]] const data_shape& shape() const noexcept { return layout_.shape(); }
  [[nodiscard]] const model_options& options() const noexcept { return layout_.options(); }
  [[nodiscard]] layout_kind layout() const noexcept { return layout_.kind(); }
  [[nodiscard]] const network_layout<S>& parameter_layout() const noexcept { return layout_; }
  [[nodiscard]] const std::optional<architecture>& fixed_architecture() const noexcept {
    return layout_.fixed_architecture();
  }

  /// Logits [B] of architecture `a` on `batch`. The workspace keeps what backward needs.
  void forward(const architecture& a, const ctr_batch& batch, workspace<T>& ws, std::span<T> logits,
               exec_mode mode = exec_mode::sliced) const {
    expects(static_cast<index>(logits.size()) == batch.size, "forward: one logit per example");
    expects(batch.dense.cols() == shape().dense_features, "forward: dense feature count");
    check_runs(a, mode);
    if (mode == exec_mode::masked) {
      masked_executor<S, T>(layout_, params_, aq_).forward(a, batch, ws, logits);
    } else {
      sliced_executor<S, T>(layout_, params_, aq_).forward(a, batch, ws, logits);
    }
  }
  /// Accumulates d(loss)/d(params) into `grads` (default: params().grads()), given
  /// dlogits = d(loss)/d(logits) for the last forward on `ws`.
  void backward(const architecture& a, workspace<T>& ws, std::span<const T> dlogits,
                std::span<T> grads = {}) {
    expects(ws.have_forward, "backward needs a forward on the same workspace");
    T* g = grads.empty() ? params_.grads().data() : grads.data();
    expects(grads.empty() || grads.size() == params_.size(), "backward: gradient buffer layout");
    if (ws.mode == exec_mode::masked) {
      masked_executor<S, T>(layout_, params_, aq_).backward(a, ws, dlogits, g);
    } else {
      sliced_executor<S, T>(layout_, params_, aq_).backward(a, ws, dlogits, g);
    }
  }

  /// Quantize activations in every later forward (bits 0: stop). Not thread-safe against a
  /// concurrent forward; set it between steps.
  void quantize_activations(activation_quantization q) {
    expects(q.bits == 0 || (q.bits >= 2 && q.bits <= 24),
            "quantize_activations: 2..24 bits, or 0 for float");
    expects(q.table_range.empty() || q.table_range.size() == layout_.embeddings().size(),
            "quantize_activations: one table range per sparse feature, or none");
    aq_ = std::move(q);
  }
  [[nodiscard]] const activation_quantization& activation_quantizer() const noexcept { return aq_; }
  /// Per sparse feature, max |value| of its embedding table.
  [[nodiscard]] std::vector<double> embedding_ranges() const {
    std::vector<double> r;
    for (const auto k : layout_.embeddings()) {
      const auto& e = params_.entries()[k];
      r.push_back(value_range(params_.values().data() + e.offset, e.size(), true));
    }
    return r;
  }

  /// The entry index of embedding table f.
  [[nodiscard]] std::size_t embedding_entry(index f) const {
    return layout_.embeddings()[static_cast<std::size_t>(f)];
  }
  /// The head's weight row and bias entries (candidate evaluation fine-tunes only these).
  [[nodiscard]] std::array<std::size_t, 2> head_entries() const noexcept {
    return {layout_.head().first, layout_.head().first + 1};
  }
  /// Where architecture `a`'s layer weights live in this supernet (shared layout only): the
  /// entries of subnet<S>(a, *this) and the runs of supernet columns each one copies. This is
  /// how weights are read or rewritten slice by slice without building the subnet (e.g.
  /// fake-quantizing a sampled path's weights for one training step).
  [[nodiscard]] slice_map active_slices(const architecture& a) const {
    return supernet::active_slices(layout_, a);
  }
  /// The sorted entry indices a backward of `a` in `mode` may write: exactly what
  /// workspace::touched() holds after it, computed without running (per operator slot: the
  /// slots a running operator uses at the executed widths; every embedding table; the head).
  [[nodiscard]] std::vector<std::size_t> active_entries(const architecture& a,
                                                        exec_mode mode = exec_mode::sliced) const {
    check_runs(a, mode);
    return entries_written(layout_, a, layout_.plan(a), mode);
  }

 private:
  void allocate() {
    for (const auto& e : layout_.entries()) params_.add(e);
    params_.allocate();
  }
  void check_runs(const architecture& a, exec_mode mode) const {
    if (layout_.shared()) return;
    expects(layout_.fixed_architecture().has_value() && a == *layout_.fixed_architecture(),
            "a standalone subnet runs only its own architecture");
    expects(mode == exec_mode::sliced, "masked mode needs the shared layout");
  }

  network_layout<S> layout_;
  parameters<T> params_;
  activation_quantization aq_;
};

}  // namespace recnas::supernet
