#pragma once
// Fixed-size batches from a dataset, optionally shuffled, prefetched by a oneTBB pipeline.
//
// Order. The rows of an epoch are the selected rows (all, or a split's row list), visited
// either in order or with a windowed shuffle: the selection is cut into windows of W rows,
// the windows are visited in a seeded random order and the rows inside each window in a
// seeded random order (both from recnas::rng, seeded by (seed, epoch, window)). Batch b of an
// epoch is therefore a pure function of (seed, epoch, b): any thread count, any prefetch depth
// and any resume point give the same batches, and memory is O(W + prefetch * batch).
//
// Resume. state() is (epoch, rows consumed in the epoch); restore(state) continues exactly
// there. Both are plain integers, so they go into a training checkpoint as they are.

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <oneapi/tbb/parallel_pipeline.h>
#include <oneapi/tbb/task_arena.h>

#include "recnas/core/error.hpp"
#include "recnas/core/rng.hpp"
#include "recnas/data/block.hpp"
#include "recnas/data/dataset.hpp"

namespace recnas::data {

struct stream_options {
  index batch_size = 512;
  bool shuffle = false;
  index shuffle_window = index{1} << 20;  // rows per shuffle window (memory: 8 bytes per row)
  std::uint64_t seed = 0;
  bool drop_last = true;  // the reference skips a final partial batch
  int prefetch = 4;       // batches prepared ahead; 0 = synchronous
  int threads = 2;        // threads of the prefetch pipeline
};

/// Position of a stream: serialisable as two integers.
struct stream_state {
  std::uint64_t epoch = 0;
  std::uint64_t position = 0;  // rows of the epoch already returned
  friend bool operator==(const stream_state&, const stream_state&) = default;
};

/// The row order of one epoch, computed window by window.
class epoch_order {
 public:
  epoch_order() = default;
  epoch_order(std::shared_ptr<const std::vector<std::uint32_t>> selection, index rows,
              const stream_options& opt, std::uint64_t epoch)
      : sel_(std::move(selection)),
        n_(sel_ ? static_cast<index>(sel_->size()) : rows),
        shuffle_(opt.shuffle),
        w_(std::max<index>(1, opt.shuffle_window)),
        seed_(opt.seed),
        epoch_(epoch) {
    if (!shuffle_) return;
    const index nw = (n_ + w_ - 1) / w_;
    order_.resize(static_cast<std::size_t>(nw));
    for (index i = 0; i < nw; ++i) order_[static_cast<std::size_t>(i)] = i;
    rng g = rng::stream(seed_ ^ 0x5EEDF00DULL, epoch_);
    g.shuffle(std::span<index>(order_));
    start_.resize(static_cast<std::size_t>(nw) + 1, 0);
    for (index i = 0; i < nw; ++i)
      start_[static_cast<std::size_t>(i) + 1] =
          start_[static_cast<std::size_t>(i)] + window_size(order_[static_cast<std::size_t>(i)]);
  }
  [[nodiscard]] index size() const noexcept { return n_; }

  /// Source row at epoch position k (0 <= k < size()).
  [[nodiscard]] index row(index k) {
    index local = k;
    if (shuffle_) {
      const auto it = std::upper_bound(start_.begin(), start_.end(), k) - 1;
      const auto slot = static_cast<std::size_t>(it - start_.begin());
      const index w = order_[slot];
      if (w != cached_) {
        const index n = window_size(w);
        perm_.resize(static_cast<std::size_t>(n));
        for (index i = 0; i < n; ++i) perm_[static_cast<std::size_t>(i)] = w * w_ + i;
        rng g = rng::stream(seed_ ^ (epoch_ * 0x9E3779B97F4A7C15ULL),
                            static_cast<std::uint64_t>(w) + 1);
        g.shuffle(std::span<index>(perm_));
        cached_ = w;
      }
      local = perm_[static_cast<std::size_t>(k - *it)];
    }
    return sel_ ? static_cast<index>((*sel_)[static_cast<std::size_t>(local)]) : local;
  }

 private:
  [[nodiscard]] index window_size(index w) const noexcept { return std::min(w_, n_ - w * w_); }
  std::shared_ptr<const std::vector<std::uint32_t>> sel_;
  index n_ = 0;
  bool shuffle_ = false;
  index w_ = 1;
  std::uint64_t seed_ = 0, epoch_ = 0;
  std::vector<index> order_, start_, perm_;
  index cached_ = -1;
};

class batch_stream {
 public:
  /// Streams all rows of `data`, or only `selection` (row ids in the order to stream them
  /// unshuffled, usually ascending: a split's rows).
  batch_stream(dataset data, stream_options opt,
               std::optional<std::vector<std::uint32_t>> selection = std::nullopt)
      : data_(std::move(data)), opt_(opt) {
    expects(opt_.batch_size >= 1, "batch_size >= 1");
    expects(opt_.prefetch >= 0 && opt_.threads >= 1, "prefetch >= 0, threads >= 1");
    if (selection) {
      for (auto r : *selection)
        expects(static_cast<index>(r) < data_.rows(), "selection rows exist");
      sel_ = std::make_shared<const std::vector<std::uint32_t>>(std::move(*selection));
    }
    const int slots = opt_.prefetch + 2;
    for (int i = 0; i < slots; ++i)
      slots_.emplace_back(opt_.batch_size, data_.features().num_dense(),
                          data_.features().num_categorical());
    restore({0, 0});
  }
  batch_stream(const batch_stream&) = delete;
  batch_stream& operator=(const batch_stream&) = delete;
  ~batch_stream() { stop(); }

  [[nodiscard]] const schema& features() const noexcept { return data_.features(); }
  [[nodiscard]] const stream_options& options() const noexcept { return opt_; }
  /// Rows of one epoch, and full batches per epoch (plus one partial when !drop_last).
  [[nodiscard]] index epoch_rows() const noexcept {
    return sel_ ? static_cast<index>(sel_->size()) : data_.rows();
  }
  [[nodiscard]] index batches_per_epoch() const noexcept {
    const index n = epoch_rows(), b = opt_.batch_size;
    return opt_.drop_last ? n / b : (n + b - 1) / b;
  }
  [[nodiscard]] stream_state state() const noexcept { return state_; }

  /// Continues from `s` (a state() saved earlier, possibly by another process).
  void restore(stream_state s) {
    stop();
    expects(s.position <= static_cast<std::uint64_t>(epoch_rows()),
            "stream_state position within the epoch");
    state_ = s;
    held_ = -1;
    free_.clear();
    for (int i = 0; i < static_cast<int>(slots_.size()); ++i) free_.push_back(i);
    ready_.clear();
    produce_epoch_ = s.epoch;
    produce_pos_ = s.position;
    order_ = epoch_order(sel_, data_.rows(), opt_, s.epoch);
    error_ = nullptr;
    stopping_ = false;
    if (opt_.prefetch > 0) worker_ = std::thread([this] { produce(); });
  }

  /// The next batch, valid until the next call; nullopt once at the end of each epoch (the
  /// following call starts the next epoch).
  std::optional<batch_view> next() {
    if (opt_.prefetch == 0) return next_sync();
    std::unique_lock lk(mu_);
    if (held_ >= 0) {
      free_.push_back(held_);
      held_ = -1;
      cv_.notify_all();
    }
    cv_.wait(lk, [&] { return !ready_.empty() || error_ != nullptr; });
    if (error_ != nullptr && ready_.empty()) std::rethrow_exception(error_);
    const item it = ready_.front();
    ready_.pop_front();
    cv_.notify_all();
    if (it.slot < 0) {  // end of epoch marker
      state_ = {state_.epoch + 1, 0};
      return std::nullopt;
    }
    held_ = it.slot;
    state_.position += static_cast<std::uint64_t>(it.rows);
    return slots_[static_cast<std::size_t>(it.slot)].view();
  }

 private:
  struct item {
    int slot;
    index rows;
  };

  [[nodiscard]] index batch_rows_at(index pos) const noexcept {
    const index left = epoch_rows() - pos;
    if (left >= opt_.batch_size) return opt_.batch_size;
    return opt_.drop_last ? 0 : left;
  }

  std::optional<batch_view> next_sync() {
    const index pos = static_cast<index>(state_.position);
    const index n = batch_rows_at(pos);
    if (n == 0) {
      state_ = {state_.epoch + 1, 0};
      order_ = epoch_order(sel_, data_.rows(), opt_, state_.epoch);
      return std::nullopt;
    }
    fill(slots_[0], order_, pos, n);
    state_.position += static_cast<std::uint64_t>(n);
    return slots_[0].view();
  }

  void fill(example_block& out, epoch_order& ord, index pos, index n) const {
    std::vector<index> rows(static_cast<std::size_t>(n));
    for (index i = 0; i < n; ++i) rows[static_cast<std::size_t>(i)] = ord.row(pos + i);
    data_.gather(std::span<const index>(rows), out);
  }

  // Producer thread: rounds of a oneTBB pipeline over the currently free slots.
  void produce() {
    oneapi::tbb::task_arena arena(opt_.threads);
    try {
      for (;;) {
        std::vector<int> round;
        {
          std::unique_lock lk(mu_);
          cv_.wait(lk, [&] { return stopping_ || !free_.empty(); });
          if (stopping_) return;
          round.assign(free_.begin(), free_.end());
          free_.clear();
        }
        struct job {
          int slot;
          index pos, rows;
          std::vector<index> ids;
          bool end_of_epoch;
        };
        std::size_t next_slot = 0;
        arena.execute([&] {
          oneapi::tbb::parallel_pipeline(
              static_cast<std::size_t>(std::max(1, opt_.threads) * 2),
              oneapi::tbb::make_filter<void, job*>(
                  oneapi::tbb::filter_mode::serial_in_order,
                  [&](oneapi::tbb::flow_control& fc) -> job* {
                    if (next_slot == round.size() || stopping_.load()) {
                      fc.stop();
                      return nullptr;
                    }
                    auto* j = new job{round[next_slot++], produce_pos_, 0, {}, false};
                    j->rows = batch_rows_at(produce_pos_);
                    if (j->rows == 0) {
                      j->end_of_epoch = true;
                      ++produce_epoch_;
                      produce_pos_ = 0;
                      order_ = epoch_order(sel_, data_.rows(), opt_, produce_epoch_);
                    } else {
                      j->ids.resize(static_cast<std::size_t>(j->rows));
                      for (index i = 0; i < j->rows; ++i)
                        j->ids[static_cast<std::size_t>(i)] = order_.row(produce_pos_ + i);
                      produce_pos_ += j->rows;
                    }
                    return j;
                  }) &
                  oneapi::tbb::make_filter<job*, job*>(
                      oneapi::tbb::filter_mode::parallel,
                      [&](job* j) -> job* {
                        if (!j->end_of_epoch)
                          data_.gather(std::span<const index>(j->ids),
                                       slots_[static_cast<std::size_t>(j->slot)]);
                        return j;
                      }) &
                  oneapi::tbb::make_filter<job*, void>(oneapi::tbb::filter_mode::serial_in_order,
                                                       [&](job* j) {
                                                         {
                                                           std::lock_guard lk(mu_);
                                                           if (j->end_of_epoch) {
                                                             ready_.push_back({-1, 0});
                                                             free_.push_back(j->slot);
                                                           } else {
                                                             ready_.push_back({j->slot, j->rows});
                                                           }
                                                         }
                                                         cv_.notify_all();
                                                         delete j;
                                                       }));
        });
        // Slots handed out but not used (stop requested) go back to the pool.
        std::lock_guard lk(mu_);
        for (std::size_t i = next_slot; i < round.size(); ++i) free_.push_back(round[i]);
      }
    } catch (...) {
      std::lock_guard lk(mu_);
      error_ = std::current_exception();
      cv_.notify_all();
    }
  }

  void stop() {
    {
      std::lock_guard lk(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
  }

  dataset data_;
  stream_options opt_;
  std::shared_ptr<const std::vector<std::uint32_t>> sel_;
  std::vector<example_block> slots_;
  stream_state state_;
  epoch_order order_;  // used by the producer (or next_sync) only
  std::uint64_t produce_epoch_ = 0;
  index produce_pos_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<item> ready_;
  std::vector<int> free_;
  int held_ = -1;
  std::atomic<bool> stopping_{false};
  std::exception_ptr error_;
  std::thread worker_;
};

}  // namespace recnas::data
