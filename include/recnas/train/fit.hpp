#pragma once
// The training loop shared by `recnas train`, supernet training and the search's re-training:
// epochs over a split, one path per batch (fixed for a standalone model, sampled for a
// supernet), warm-up + cosine schedule, periodic and on-interrupt checkpoints that resume
// bit for bit (parameters, optimizer state, step, data position and sampler RNG), and a final
// evaluation on a held-out split.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "recnas/core/rng.hpp"
#include "recnas/data/dataset.hpp"
#include "recnas/data/stream.hpp"
#include "recnas/parallel/threads.hpp"
#include "recnas/train/trainer.hpp"

namespace recnas::train {

struct fit_options {
  int epochs = 1;
  /// Exactly this many steps, over as many epochs as they take (-1: `epochs` decides).
  std::int64_t steps = -1;
  std::int64_t max_steps = -1;  // a cap on the steps either way (-1: none)
  index batch_size = 512;
  double lr = 0.12;
  bool warmup_cosine = true;  // the reference's schedule; else constant lr
  double clip_norm = 5.0;
  std::uint64_t seed = 0;  // sampler RNG (supernet paths)
  int threads = 1;
  bool shuffle = false;  // the reference never shuffles
  /// Checkpoint file (empty: none). Written atomically every `checkpoint_every` steps (0:
  /// only at the end / on interruption); an existing one is resumed when `resume`.
  std::filesystem::path checkpoint;
  std::int64_t checkpoint_every = 0;
  bool resume = true;
  /// Called after every step (step, total steps, result); return false to stop (the state is
  /// checkpointed and fit returns with interrupted = true).
  std::function<bool(std::int64_t, std::int64_t, const step_result&)> on_step;
  /// Optional, around every step: before_step(step, path) once the path is drawn, after_step()
  /// right after the update, before checkpoints and on_step (quantization-aware supernet
  /// training rewrites the path's weights between the two).
  std::function<void(std::int64_t, const supernet::architecture&)> before_step;
  std::function<void()> after_step;
  /// Optional: called at the end of every epoch with the number of epochs done, after the
  /// step's update and before any checkpoint of that step (so a resumed run never skips it);
  /// return false to stop there (early stopping: fit returns with stopped = true).
  std::function<bool(int)> on_epoch;
  /// Checkpoint at the end of every epoch as well (resume then never repeats an on_epoch).
  bool checkpoint_each_epoch = false;
};

struct fit_result {
  std::int64_t steps = 0;  // total steps done (including resumed ones)
  std::int64_t steps_this_run = 0;
  double seconds = 0.0;  // of this run's training steps
  double examples_per_s = 0.0;
  double last_loss = 0.0;
  double mean_loss = 0.0;  // over this run's steps
  bool interrupted = false;
  bool stopped = false;  // on_epoch asked to stop
  bool resumed = false;
};

/// Trains `net` on the `train_rows` of `data`. `path(step, rng)` gives the architecture of
/// each step (a constant for a standalone model, a sampler for a supernet).
template <class Net, class PathFn, Optimizer O = adagrad>
fit_result fit(Net& net, const data::dataset& data, std::vector<std::uint32_t> train_rows,
               PathFn&& path, const fit_options& o, O opt = {}) {
  data::stream_options so;
  so.batch_size = o.batch_size;
  so.shuffle = o.shuffle;
  so.seed = o.seed;
  so.drop_last = true;
  data::batch_stream stream(data, so, std::move(train_rows));
  const std::int64_t per_epoch = stream.batches_per_epoch();
  expects(o.steps >= -1 && o.max_steps >= -1, "fit: steps and max_steps are counts, or -1");
  std::int64_t total = o.steps >= 0 ? o.steps : per_epoch * o.epochs;
  if (o.max_steps >= 0) total = std::min(total, o.max_steps);
  trainer_options to;
  to.clip_norm = o.clip_norm;
  if (o.warmup_cosine)
    to.schedule = warmup_cosine_lr{.peak = o.lr, .total_steps = std::max<std::int64_t>(1, total)};
  else
    to.schedule = constant_lr{o.lr};
  trainer<Net, O> tr(net, std::move(opt), to);
  rng g(o.seed ^ 0xC0FFEE5EEDULL);
  fit_result r;

  auto save = [&] {
    if (o.checkpoint.empty()) return;
    checkpoint ck;
    tr.save(ck);
    const auto st = stream.state();
    ck.put_value("stream_epoch", st.epoch);
    ck.put_value("stream_position", st.position);
    ck.put_value("rng", g.state());
    ck.put_value("total_steps", total);
    if (!o.checkpoint.parent_path().empty())
      std::filesystem::create_directories(o.checkpoint.parent_path());
    ck.save(o.checkpoint);
  };
  if (!o.checkpoint.empty() && o.resume && std::filesystem::exists(o.checkpoint)) {
    const auto ck = checkpoint::load(o.checkpoint);
    if (ck.get_value<std::int64_t>("total_steps") != total)
      throw input_error(o.checkpoint.string(), 0, "total_steps",
                        "checkpoint was written for a run of " +
                            std::to_string(ck.get_value<std::int64_t>("total_steps")) +
                            " steps, this run has " + std::to_string(total) +
                            " (same data, batch and epochs are needed to resume)");
    tr.load(ck);
    stream.restore({ck.get_value<std::uint64_t>("stream_epoch"),
                    ck.get_value<std::uint64_t>("stream_position")});
    g.set_state(ck.get_value<rng::state_type>("rng"));
    r.resumed = true;
  }

  double loss_sum = 0;
  const auto t0 = std::chrono::steady_clock::now();
  parallel::with_threads(o.threads, [&] {
    while (tr.steps() < total) {
      auto b = stream.next();
      if (!b) continue;  // epoch boundary
      const auto a = path(tr.steps(), g);
      if (o.before_step) o.before_step(tr.steps(), a);
      const auto res = tr.step(a, as_ctr_batch(*b), b->labels);
      if (o.after_step) o.after_step();
      loss_sum += res.loss;
      r.last_loss = res.loss;
      ++r.steps_this_run;
      const bool epoch_end = per_epoch > 0 && tr.steps() % per_epoch == 0;
      if (epoch_end && o.on_epoch && !o.on_epoch(static_cast<int>(tr.steps() / per_epoch))) {
        r.stopped = true;
        break;
      }
      if (tr.steps() < total && ((o.checkpoint_every > 0 && tr.steps() % o.checkpoint_every == 0) ||
                                 (epoch_end && o.checkpoint_each_epoch)))
        save();
      if (o.on_step && !o.on_step(tr.steps(), total, res)) {
        r.interrupted = true;
        break;
      }
    }
  });
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.steps = tr.steps();
  r.mean_loss = r.steps_this_run > 0 ? loss_sum / static_cast<double>(r.steps_this_run) : 0.0;
  r.examples_per_s =
      r.seconds > 0 ? static_cast<double>(r.steps_this_run * o.batch_size) / r.seconds : 0.0;
  save();
  return r;
}

/// Metrics of architecture `a` on `rows` of `data` (all of them, the last batch partial),
/// inside the current thread arena.
template <class Net>
[[nodiscard]] metric_values evaluate_in_arena(const Net& net, const supernet::architecture& a,
                                              const data::dataset& data,
                                              std::vector<std::uint32_t> rows,
                                              index batch_size = 4096) {
  data::stream_options so;
  so.batch_size = batch_size;
  so.drop_last = false;
  so.prefetch = 0;
  data::batch_stream stream(data, so, std::move(rows));
  bool done = false;
  return evaluate(net, a, [&]() -> std::optional<data::batch_view> {
    if (done) return std::nullopt;
    auto b = stream.next();
    if (!b) done = true;
    return b;
  });
}

/// evaluate_in_arena on `threads` threads.
template <class Net>
[[nodiscard]] metric_values evaluate_rows(const Net& net, const supernet::architecture& a,
                                          const data::dataset& data,
                                          std::vector<std::uint32_t> rows, index batch_size = 4096,
                                          int threads = 1) {
  return parallel::with_threads(
      threads, [&] { return evaluate_in_arena(net, a, data, std::move(rows), batch_size); });
}

}  // namespace recnas::train
