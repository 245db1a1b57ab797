#pragma once
// One training step of a network (supernet or standalone subnet) and what surrounds it:
// bridging data batches to the network's input, the loss, global-norm clipping, the optimizer
// update (dense for layers, row-sparse for embedding tables), the schedule, and checkpoints.
//
// Cost model. A supernet holds every operator at its largest width plus every embedding
// table, but one step touches only the sampled path and the batch's embedding rows. The
// trainer therefore updates (and re-zeroes) only the parameter entries the backward wrote —
// `workspace::touched()` when the network reports it, every non-embedding entry otherwise —
// and, inside embedding tables, only the rows whose ids occur in the batch. For Adagrad and
// SGD this equals the dense update exactly (a zero gradient changes neither state nor weight).

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "recnas/core/error.hpp"
#include "recnas/core/rng.hpp"
#include "recnas/data/block.hpp"
#include "recnas/data/schema.hpp"
#include "recnas/kernels/optim.hpp"
#include "recnas/supernet/network.hpp"
#include "recnas/train/checkpoint.hpp"
#include "recnas/train/loss.hpp"
#include "recnas/train/metrics.hpp"
#include "recnas/train/optimizer.hpp"
#include "recnas/train/schedule.hpp"

namespace recnas::train {

/// The network-side view of a data batch (no copy).
[[nodiscard]] inline supernet::ctr_batch as_ctr_batch(const data::batch_view& b) noexcept {
  supernet::ctr_batch c;
  c.size = b.size();
  c.dense = b.dense;
  c.ids32 = b.categorical.data();
  c.ids_ld = b.categorical.ld();
  return c;
}

/// The model input shape of a dataset schema (its dense count and table sizes).
[[nodiscard]] inline supernet::data_shape shape_of(const data::schema& s) {
  supernet::data_shape d;
  d.dense_features = s.num_dense();
  d.table_rows.assign(s.table_sizes.begin(), s.table_sizes.end());
  return d;
}

struct trainer_options {
  double clip_norm = 5.0;  // global L2 norm over all gradients (embeddings included); <= 0: off
  lr_schedule schedule = constant_lr{0.12};
};

struct step_result {
  double loss = 0.0;       // mean BCE of the batch, before the update
  double grad_norm = 0.0;  // global norm before clipping
  double lr = 0.0;
};

namespace detail {
template <class W>
concept reports_touched = requires(const W& w) {
  { w.touched() } -> std::convertible_to<const std::vector<std::size_t>&>;
};
}  // namespace detail

template <class Net, Optimizer O = adagrad>
class trainer {
 public:
  using value_type = typename Net::value_type;
  static_assert(std::is_same_v<value_type, float>,
                "recnas::train::trainer trains float networks (double ones are for gradient "
                "checks); use supernet<S, float> or subnet<S, float>.");

  trainer(Net& net, O opt = {}, trainer_options o = {})
      : net_(&net),
        opt_(std::move(opt)),
        o_(std::move(o)),
        state_(opt_, static_cast<index>(net.params().size())) {
    net.params().zero_grad();
    const auto& es = net.params().entries();
    for (std::size_t k = 0; k < es.size(); ++k) {
      if (!es[k].embedding) dense_entries_.push_back(k);
    }
    table_of_entry_.assign(es.size(), -1);
    for (index f = 0; f < net.shape().sparse_features(); ++f)
      table_of_entry_[net.embedding_entry(f)] = static_cast<int>(f);
  }

  /// Forward, loss, backward and update on one batch for architecture `a`.
  step_result step(const supernet::architecture& a, const supernet::ctr_batch& batch,
                   std::span<const float> labels) {
    expects(static_cast<index>(labels.size()) == batch.size,
            "trainer::step: one label per example");
    const auto B = static_cast<std::size_t>(batch.size);
    logits_.resize(B);
    dlogits_.resize(B);
    net_->forward(a, batch, ws_, std::span<float>(logits_));
    step_result r;
    r.loss = train::bce_with_logits<float>(logits_, labels, dlogits_);
    net_->backward(a, ws_, dlogits_);
    collect_touched(batch);
    r.grad_norm = clip();
    r.lr = learning_rate(o_.schedule, step_);
    update(r.lr);
    ++step_;
    return r;
  }

  [[nodiscard]] std::int64_t steps() const noexcept { return step_; }
  [[nodiscard]] Net& network() noexcept { return *net_; }
  [[nodiscard]] const O& optimizer() const noexcept { return opt_; }
  [[nodiscard]] optimizer_state<O>& state() noexcept { return state_; }

  /// Parameters, optimizer state and step counter into `ck` (the caller adds data position,
  /// RNG state, ...).
  void save(checkpoint& ck) const {
    ck.put<float>("params", net_->params().values());
    ck.put<float>("optimizer", state_.raw());
    ck.put_value("step", step_);
    ck.put_string("optimizer_name", O::name);
  }
  void load(const checkpoint& ck) {
    if (ck.get_string("optimizer_name") != O::name)
      throw input_error("", 0, "optimizer_name",
                        "checkpoint was written with optimizer " + ck.get_string("optimizer_name") +
                            ", this run uses " + std::string(O::name));
    ck.get<float>("params", net_->params().values());
    ck.get<float>("optimizer", state_.raw());
    step_ = ck.get_value<std::int64_t>("step");
  }

 private:
  void collect_touched(const supernet::ctr_batch& batch) {
    touched_.clear();
    if constexpr (detail::reports_touched<supernet::workspace<float>>) {
      for (auto k : ws_.touched())
        if (table_of_entry_[k] < 0) touched_.push_back(k);
    } else {
      touched_ = dense_entries_;
    }
    const index F = net_->shape().sparse_features();
    rows_.resize(static_cast<std::size_t>(F));
    for (index f = 0; f < F; ++f) {
      auto& r = rows_[static_cast<std::size_t>(f)];
      r.resize(static_cast<std::size_t>(batch.size));
      for (index b = 0; b < batch.size; ++b) r[static_cast<std::size_t>(b)] = batch.id(b, f);
      std::sort(r.begin(), r.end());
      r.erase(std::unique(r.begin(), r.end()), r.end());
    }
  }
  template <class F>
  void for_each_grad_span(F&& f) {
    auto& p = net_->params();
    const auto& es = p.entries();
    float* g = p.grads().data();
    for (auto k : touched_)
      f(std::span<float>(g + es[k].offset, static_cast<std::size_t>(es[k].size())));
    for (std::size_t t = 0; t < rows_.size(); ++t) {
      const auto& e = es[net_->embedding_entry(static_cast<index>(t))];
      for (auto r : rows_[t])
        f(std::span<float>(g + e.offset + static_cast<std::size_t>(r * e.cols),
                           static_cast<std::size_t>(e.cols)));
    }
  }
  double clip() {
    double sq = 0.0;
    for_each_grad_span([&](std::span<float> s) {
      sq += kernels::sum_squares(s.data(), static_cast<index>(s.size()));
    });
    const double norm = std::sqrt(sq);
    if (o_.clip_norm > 0) {
      const double coef = o_.clip_norm / (norm + 1e-6);
      if (coef < 1.0) {
        const auto c = static_cast<float>(coef);
        for_each_grad_span(
            [&](std::span<float> s) { kernels::scale(s.data(), static_cast<index>(s.size()), c); });
      }
    }
    return norm;
  }
  void update(double lr) {
    auto& p = net_->params();
    const auto& es = p.entries();
    float* w = p.values().data();
    float* g = p.grads().data();
    for (auto k : touched_) {
      const auto& e = es[k];
      const auto n = static_cast<index>(e.size());
      opt_.update(w + e.offset, g + e.offset, state_.at(static_cast<index>(e.offset)), n, lr,
                  step_);
      std::fill(g + e.offset, g + e.offset + n, 0.0f);
    }
    // Embedding rows are scattered over large tables: each row's weight, gradient and optimizer
    // state usually come from DRAM, so the rows a few iterations ahead are prefetched.
    constexpr std::size_t ahead = 4;
    for (std::size_t t = 0; t < rows_.size(); ++t) {
      const auto& e = es[net_->embedding_entry(static_cast<index>(t))];
      const auto& rows = rows_[t];
      for (std::size_t i = 0; i < rows.size(); ++i) {
        if (i + ahead < rows.size()) {
          const auto next = static_cast<index>(e.offset) + rows[i + ahead] * e.cols;
          __builtin_prefetch(w + next, 1);
          __builtin_prefetch(g + next, 1);
          for (float* s : state_.at(next)) __builtin_prefetch(s, 1);
        }
        const auto off = static_cast<index>(e.offset) + rows[i] * e.cols;
        opt_.update(w + off, g + off, state_.at(off), e.cols, lr, step_);
        std::fill(g + off, g + off + e.cols, 0.0f);
      }
    }
  }

  Net* net_;
  O opt_;
  trainer_options o_;
  optimizer_state<O> state_;
  supernet::workspace<float> ws_;
  std::vector<float> logits_, dlogits_;
  std::vector<std::size_t> dense_entries_, touched_;
  std::vector<int> table_of_entry_;
  std::vector<std::vector<std::int64_t>> rows_;
  std::int64_t step_ = 0;
};

/// Logloss, AUC and calibration of architecture `a` on every batch `next()` yields (a callable
/// returning std::optional<data::batch_view>), with its own workspace: the network is only read.
template <class Net, class Next>
[[nodiscard]] metric_values evaluate(const Net& net, const supernet::architecture& a, Next&& next,
                                     supernet::workspace<float>* ws = nullptr) {
  supernet::workspace<float> local;
  auto& w = ws != nullptr ? *ws : local;
  streaming_metrics m;
  std::vector<float> logits;
  while (auto b = next()) {
    const auto batch = as_ctr_batch(*b);
    logits.resize(static_cast<std::size_t>(batch.size));
    net.forward(a, batch, w, std::span<float>(logits));
    m.add(logits.data(), b->labels.data(), batch.size);
  }
  return m.compute();
}

}  // namespace recnas::train
