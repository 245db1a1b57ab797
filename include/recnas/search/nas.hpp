#pragma once
// Architecture search over a supernet (nasrec-spec section 4): the search domain of a space
// (random candidates and the reference's macro/micro mutations) and candidate evaluation from
// the shared supernet weights with head-only fine-tuning.
//
// Evaluation is a pure function of (architecture, supernet weights, data rows, settings): the
// supernet is only read, every candidate fine-tunes its own copy of the head, and each candidate
// runs single-threaded, so a batch of candidates is spread over threads (or, later, processes)
// and gives the same numbers whatever the spread.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "recnas/core/error.hpp"
#include "recnas/core/rng.hpp"
#include "recnas/data/dataset.hpp"
#include "recnas/data/stream.hpp"
#include "recnas/parallel/threads.hpp"
#include "recnas/search/domain.hpp"
#include "recnas/supernet/architecture.hpp"
#include "recnas/supernet/supernet.hpp"
#include "recnas/train/loss.hpp"
#include "recnas/train/metrics.hpp"
#include "recnas/train/optimizer.hpp"
#include "recnas/train/schedule.hpp"
#include "recnas/train/trainer.hpp"

namespace recnas::search {

/// The architectures of space S as a search domain, with the reference's mutation rule: pick a
/// block; with probability 1/2 re-draw one of its input selections (dense set, sparse set, left,
/// right), otherwise one of its micro choices (the operator pair, the dense width, the token
/// count, or one merger bit).
template <class S>
struct architecture_domain {
  using candidate = supernet::architecture;
  using C = typename S::connectivity;

  [[nodiscard]] candidate random(rng& g) const { return supernet::random_architecture<S>(g); }
  [[nodiscard]] candidate mutate(const candidate& c, rng& g) const {
    candidate m = c;
    const int i = static_cast<int>(g.below(S::num_blocks));
    auto& b = m.blocks[static_cast<std::size_t>(i)];
    if (g.bernoulli(0.5)) {
      switch (g.below(4)) {
        case 0:
          b.dense_in = C::sample_set(i, g);
          break;
        case 1:
          b.sparse_in = C::sample_set(i, g);
          break;
        case 2:
          b.left = C::sample_single(i, g);
          break;
        default:
          b.right = C::sample_single(i, g);
          break;
      }
    } else {
      const auto which = g.below(static_cast<std::uint64_t>(3 + S::num_mergers));
      if (which == 0) {
        b.dense_op = static_cast<int>(g.below(S::num_dense_ops));
        b.sparse_op = static_cast<int>(g.below(S::num_sparse_ops));
      } else if (which == 1) {
        b.d = S::dense_dim_values[g.below(S::dense_dim_values.size())];
      } else if (which == 2) {
        b.s = S::sparse_dim_values[g.below(S::sparse_dim_values.size())];
      } else {
        const auto bit = 1U << (which - 3);
        b.mergers = g.bernoulli(0.5) ? (b.mergers | bit) : (b.mergers & ~bit);
      }
    }
    return m;
  }
  [[nodiscard]] std::uint64_t hash(const candidate& c) const { return c.hash(); }
};

/// The head's input for the last forward on `ws`, as the head sees it: X [B, h] in the
/// order of the head weight's active columns, plus those columns of W and the bias.
template <class S>
struct head_view {
  std::vector<float> x;  // [B, h]
  std::vector<float> w;  // [h]
  float b = 0;
  index batch = 0;
  index width = 0;
};

namespace detail {
/// (pointer, row stride, width, weight column) of each piece of the head input.
struct head_piece {
  const float* p;
  index ld;
  index width;
  index col;
};
template <class Net>
std::vector<head_piece> head_pieces(const Net& net, const supernet::workspace<float>& ws) {
  using S = typename Net::space_type;
  constexpr index E = ops::embed_dim;
  const auto& src = ws.sources.back();
  const index D = net.layout() == supernet::layout_kind::shared ? S::max_dense_dim : src.width;
  std::vector<head_piece> v;
  v.push_back({src.dense, src.ld, src.width, 0});
  for (const auto& pt : src.parts)
    v.push_back({src.tokens + pt.mem * E, src.example_stride, pt.count * E, D + E * pt.col});
  return v;
}
}  // namespace detail

/// Fills `hv` from the last forward of `net` on `ws` (weights: only when `with_weights`).
template <class Net>
void extract_head(const Net& net, const supernet::workspace<float>& ws,
                  head_view<typename Net::space_type>& hv, bool with_weights) {
  const auto pieces = detail::head_pieces(net, ws);
  index h = 0;
  for (const auto& p : pieces) h += p.width;
  const index B = ws.batch;
  hv.batch = B;
  hv.width = h;
  hv.x.resize(static_cast<std::size_t>(B * h));
  index at = 0;
  for (const auto& p : pieces) {
    for (index r = 0; r < B; ++r) std::copy_n(p.p + r * p.ld, p.width, hv.x.data() + r * h + at);
    at += p.width;
  }
  if (!with_weights) return;
  const auto* W = net.params().find("head.W");
  const auto* b = net.params().find("head.b");
  expects(W != nullptr && b != nullptr, "extract_head: the network has a head");
  const float* wv = net.params().values().data() + W->offset;
  hv.w.resize(static_cast<std::size_t>(h));
  at = 0;
  for (const auto& p : pieces) {
    std::copy_n(wv + p.col, p.width, hv.w.data() + at);
    at += p.width;
  }
  hv.b = net.params().values()[b->offset];
}

struct evaluator_options {
  index batch_size = 512;
  std::int64_t finetune_steps = 500;  // on the first training batches (0: no fine-tuning)
  double finetune_lr = 0.04;
  std::int64_t finetune_warmup = 50;
  double clip_norm = 5.0;
  index val_batch_size = 8192;
  std::int64_t val_batches = 150;  // the first N validation batches
};

/// `eval(c)` of every candidate, concurrently: one task per candidate, each single-threaded,
/// at most `threads` threads; results in order (so identical to a sequential loop).
template <class Candidate, class Eval>
[[nodiscard]] auto evaluate_concurrently(const std::vector<Candidate>& cands, int threads,
                                         Eval&& eval) {
  std::vector<std::invoke_result_t<Eval&, const Candidate&>> out(cands.size());
  parallel::with_threads(threads, [&] {
    parallel::for_chunks(
        static_cast<std::ptrdiff_t>(cands.size()), static_cast<std::ptrdiff_t>(cands.size()),
        [&](std::ptrdiff_t b, std::ptrdiff_t e) {
          parallel::with_threads(1, [&] {
            for (auto i = b; i < e; ++i)
              out[static_cast<std::size_t>(i)] = eval(cands[static_cast<std::size_t>(i)]);
          });
        });
  });
  return out;
}

/// Head-only fine-tuning, then validation metrics: the part of candidate evaluation shared by
/// the NAS and co-design evaluators. The body is frozen, so fine-tuning is a logistic regression
/// on the head's input features (Adagrad with the reference's warm-up + cosine schedule and
/// clipping).
///   forward(batch, head_weights): runs the body, fills `hv` (its weights only when asked) and
///     `logits` (the network's own);
///   effective(w): the head weights the logit uses (identity, or quantized: the update then goes
///     to the float weights, a straight-through estimator).
/// Without fine-tuning, `network_logits_untuned` scores with the network's logits as they are.
template <class S, class Forward, class Effective>
[[nodiscard]] train::metric_values refit_head_and_validate(
    const data::dataset& data, const evaluator_options& o,
    const std::vector<std::uint32_t>& ft_rows, const std::vector<std::uint32_t>& val_rows,
    head_view<S>& hv, std::vector<float>& logits, Forward&& forward, Effective&& effective,
    bool network_logits_untuned) {
  std::vector<double> w;
  double bias = 0;
  bool have_w = false;
  auto take_head = [&] {
    w.assign(hv.w.begin(), hv.w.end());
    bias = hv.b;
    have_w = true;
  };
  if (o.finetune_steps > 0 && !ft_rows.empty()) {
    data::stream_options so;
    so.batch_size = o.batch_size;
    so.prefetch = 0;
    data::batch_stream stream(data, so, ft_rows);
    const std::int64_t steps = std::min<std::int64_t>(o.finetune_steps, stream.batches_per_epoch());
    const train::warmup_cosine_lr sched{
        .peak = o.finetune_lr,
        .total_steps = std::max<std::int64_t>(1, steps),
        .warmup_fraction = static_cast<double>(o.finetune_warmup) /
                           static_cast<double>(std::max<std::int64_t>(1, steps))};
    std::vector<double> acc, gw;
    double acc_b = 0;
    for (std::int64_t t = 0; t < steps; ++t) {
      auto batch = stream.next();
      if (!batch) break;
      forward(*batch, !have_w);
      if (!have_w) {
        take_head();
        acc.assign(w.size(), 0.0);
        gw.assign(w.size(), 0.0);
      }
      const std::vector<double> we = effective(w);
      const index B = hv.batch, h = hv.width;
      std::fill(gw.begin(), gw.end(), 0.0);
      double gb = 0;
      for (index r = 0; r < B; ++r) {
        const float* x = hv.x.data() + r * h;
        double z = bias;
        for (index k = 0; k < h; ++k) z += we[static_cast<std::size_t>(k)] * x[k];
        const double d = (train::sigmoid(z) - batch->labels[static_cast<std::size_t>(r)]) /
                         static_cast<double>(B);
        gb += d;
        for (index k = 0; k < h; ++k) gw[static_cast<std::size_t>(k)] += d * x[k];
      }
      double sq = gb * gb;
      for (double v : gw) sq += v * v;
      const double coef =
          o.clip_norm > 0 ? std::min(1.0, o.clip_norm / (std::sqrt(sq) + 1e-6)) : 1.0;
      const double lr = sched(t);
      constexpr double eps = 1e-2;  // the reference's Adagrad eps
      for (std::size_t k = 0; k < w.size(); ++k) {
        const double g = gw[k] * coef;
        acc[k] += g * g;
        w[k] -= lr * g / (std::sqrt(acc[k]) + eps);
      }
      gb *= coef;
      acc_b += gb * gb;
      bias -= lr * gb / (std::sqrt(acc_b) + eps);
    }
  }
  data::stream_options so;
  so.batch_size = o.val_batch_size;
  so.prefetch = 0;
  so.drop_last = false;
  data::batch_stream stream(data, so, val_rows);
  train::streaming_metrics m;
  std::vector<double> we;
  const bool own_logits = have_w || !network_logits_untuned;
  while (auto batch = stream.next()) {
    forward(*batch, own_logits && !have_w);
    if (own_logits) {
      if (!have_w) take_head();
      if (we.empty()) we = effective(w);
      for (index r = 0; r < hv.batch; ++r) {
        const float* x = hv.x.data() + r * hv.width;
        double z = bias;
        for (index k = 0; k < hv.width; ++k) z += we[static_cast<std::size_t>(k)] * x[k];
        logits[static_cast<std::size_t>(r)] = static_cast<float>(z);
      }
    }
    m.add(logits.data(), batch->labels.data(), batch->size());
  }
  return m.compute();
}

/// Scores candidates of space S with a trained supernet: fine-tune the head on the first
/// training batches, then logloss on the first validation batches (nasrec-spec 4.2).
template <class S>
class supernet_evaluator {
 public:
  supernet_evaluator(const supernet::supernet<S>& net, data::dataset data,
                     std::vector<std::uint32_t> train_rows, std::vector<std::uint32_t> val_rows,
                     evaluator_options o = {})
      : net_(&net), data_(std::move(data)), o_(o) {
    const auto nft = std::min<std::size_t>(
        train_rows.size(), static_cast<std::size_t>(o.finetune_steps * o.batch_size));
    ft_rows_.assign(train_rows.begin(), train_rows.begin() + static_cast<std::ptrdiff_t>(nft));
    const auto nval = std::min<std::size_t>(
        val_rows.size(), static_cast<std::size_t>(o.val_batches * o.val_batch_size));
    val_rows_.assign(val_rows.begin(), val_rows.begin() + static_cast<std::ptrdiff_t>(nval));
    expects(!val_rows_.empty(), "supernet_evaluator: no validation rows");
  }

  /// Validation metrics of `a` after head fine-tuning. Single-threaded.
  [[nodiscard]] train::metric_values evaluate(const supernet::architecture& a) const {
    supernet::workspace<float> ws;
    head_view<S> hv;
    std::vector<float> logits;
    return refit_head_and_validate(
        data_, o_, ft_rows_, val_rows_, hv, logits,
        [&](const data::batch_view& b, bool head_weights) {
          forward(a, b, ws, logits);
          extract_head(*net_, ws, hv, head_weights);
        },
        [](const std::vector<double>& w) { return w; }, true);
  }

  /// Evaluates `cands` concurrently (one candidate per task, each single-threaded) with at
  /// most `threads` threads; results in the same order.
  [[nodiscard]] std::vector<train::metric_values> evaluate_all(
      const std::vector<supernet::architecture>& cands, int threads) const {
    return evaluate_concurrently(cands, threads, [this](const auto& c) { return evaluate(c); });
  }
  [[nodiscard]] const evaluator_options& options() const noexcept { return o_; }

 private:
  void forward(const supernet::architecture& a, const data::batch_view& b,
               supernet::workspace<float>& ws, std::vector<float>& logits) const {
    const auto cb = train::as_ctr_batch(b);
    logits.resize(static_cast<std::size_t>(cb.size));
    net_->forward(a, cb, ws, std::span<float>(logits));
  }
  const supernet::supernet<S>* net_;
  data::dataset data_;
  evaluator_options o_;
  std::vector<std::uint32_t> ft_rows_, val_rows_;
};

}  // namespace recnas::search
