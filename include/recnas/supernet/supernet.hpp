#pragma once
// The weight-sharing supernet and the standalone ("fixed mode") subnet of a space.
//
//   recnas::supernet::supernet<nasrec_full> net(data_shape::criteo(), {.layernorm = true}, seed);
//   net.forward(arch, batch, ws, logits);      // only the active slices are computed
//   net.backward(arch, ws, dlogits);           // accumulates into net.params().grads()
//   subnet<nasrec_full> fixed(arch, net);      // the same function, own weights at true widths
//
// Differences from the reference (documented in docs/supernet.md): recnas computes every
// operator on its active widths only, so LayerNorm normalises over the active width, the
// Dot-Product uses k = round(sqrt(2 d)) for the *active* d, attention sees only the s active
// tokens, projections are skipped when widths match exactly as in fixed mode, and inactive
// operators cost nothing. A subnet inside the supernet is therefore the same function as the
// standalone subnet built from its slices (tested to 1e-5).

#include "recnas/supernet/architecture.hpp"
#include "recnas/supernet/counting.hpp"
#include "recnas/supernet/network.hpp"
#include "recnas/supernet/plan.hpp"
#include "recnas/supernet/space.hpp"
#include "recnas/supernet/spaces.hpp"

namespace recnas::supernet {

template <class S, class T = float>
class supernet : public network<S, T> {
 public:
  supernet(const data_shape& ds, model_options opts = {}, std::uint64_t seed = 0)
      : network<S, T>(ds, opts, seed) {}
};

template <class S, class T = float>
class subnet : public network<S, T> {
 public:
  /// Freshly initialised at the architecture's true widths.
  subnet(const architecture& a, const data_shape& ds, model_options opts = {},
         std::uint64_t seed = 0)
      : network<S, T>(a, ds, opts, seed) {}
  /// With the supernet's slices copied in (same options as the supernet).
  subnet(const architecture& a, const supernet<S, T>& super) : network<S, T>(a, super) {}

  using network<S, T>::forward;
  using network<S, T>::backward;
  [[nodiscard]] const architecture& arch() const { return *this->fixed_architecture(); }
  void forward(const ctr_batch& batch, workspace<T>& ws, std::span<T> logits) const {
    network<S, T>::forward(arch(), batch, ws, logits);
  }
  void backward(workspace<T>& ws, std::span<const T> dlogits, std::span<T> grads = {}) {
    network<S, T>::backward(arch(), ws, dlogits, grads);
  }
};

}  // namespace recnas::supernet
