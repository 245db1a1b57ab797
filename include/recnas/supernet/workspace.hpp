#pragma once
// Per-call state of a network: activations, operator tapes and gradients. One per thread; a
// network is read-only during forward, so several threads may evaluate different
// architectures at once, each with its own workspace.

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "recnas/ops/concepts.hpp"
#include "recnas/supernet/batch.hpp"
#include "recnas/supernet/plan.hpp"

namespace recnas::supernet {

/// How a forward computes: `sliced` runs each operator on its active widths and selected
/// sources only; `masked` runs the shared layout the way the reference does (full widths,
/// every source, zero-masking), as the benchmark baseline and for comparisons.
enum class exec_mode : std::uint8_t { sliced, masked };

template <class T>
class workspace {
 public:
  /// A run of tokens of one source: where it sits in the source's token buffer and where its
  /// weight columns start within the source's slice of the layout.
  struct part {
    index mem = 0;    // first token in the block's token buffer
    index count = 0;  // tokens
    index col = 0;    // weight column (in tokens) within the source's slice of the layout
  };
  /// What one source (the stem, or a block's output) holds for its readers.
  struct source {
    T* dense = nullptr;
    T* gdense = nullptr;
    index ld = 0;     // row stride of dense (= width in memory)
    index width = 0;  // active width
    T* tokens = nullptr;
    T* gtokens = nullptr;
    index example_stride = 0;  // tokens in memory per example * E
    std::vector<part> parts;
    index tokens_total = 0;  // active tokens (compact layout width)
  };
  /// What a block keeps from forward for its backward.
  struct block_state {
    bool ran = false;
    T* dense_pre = nullptr;  // the dense operator's output (kept intact for its backward)
    T* gdense_pre = nullptr;
    // One tape per operator and merger of the space, by index.
    std::vector<ops::tape<T>> dense_tapes, sparse_tapes, merger_tapes;
    bool merged = false;  // dense_out != dense_pre
  };

  ops::arena<T> arena;
  std::vector<source> sources;
  std::vector<block_state> blocks;
  std::vector<T> logits;
  model_plan plan;
  index batch = 0;
  const ctr_batch* input = nullptr;
  exec_mode mode = exec_mode::sliced;
  bool have_forward = false;
  T* zeros = nullptr;  // masked mode: the stand-in for unselected sources
  // Activation quantization: the head input's quantized copies (same layout as the last
  // source's dense and token buffers), which the head's forward and backward read.
  T* head_dense_q = nullptr;
  T* head_tokens_q = nullptr;
  // The stem's embedding lookups: 64-bit ids and table pointers for the kernels.
  std::vector<std::int64_t> ids;
  std::vector<const T*> tables;
  std::vector<T*> table_grads;
  std::vector<index> table_rows;

  /// After backward: the sorted parameter-entry indices whose gradients it may have written
  /// (the running operators' non-empty slots at the executed widths, every embedding table,
  /// the head). Entries not listed kept their gradients. For embedding tables, the rows are
  /// the batch's ids.
  [[nodiscard]] const std::vector<std::size_t>& touched() const noexcept { return touched_; }
  void set_touched(std::vector<std::size_t> entries) { touched_ = std::move(entries); }

  /// Starts a forward of a batch of `batch` examples through `blocks` blocks.
  void begin(const ctr_batch& in, exec_mode m, model_plan p, int num_blocks) {
    arena.reset();
    plan = std::move(p);
    mode = m;
    batch = in.size;
    input = &in;
    have_forward = false;
    head_dense_q = head_tokens_q = nullptr;
    sources.assign(static_cast<std::size_t>(num_blocks + 1), {});
    blocks.assign(static_cast<std::size_t>(num_blocks), {});
  }

 private:
  std::vector<std::size_t> touched_;
};

}  // namespace recnas::supernet
