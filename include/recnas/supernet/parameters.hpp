#pragma once
// A model's parameters: one flat, aligned buffer of values and one of gradients with the same
// layout, plus named views. Optimizers are a loop over values()/grads(); embedding tables are
// entries too, and their gradients are row-sparse (backward touches only the batch's rows).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "recnas/core/aligned_buffer.hpp"
#include "recnas/core/error.hpp"
#include "recnas/core/rng.hpp"
#include "recnas/core/tensor.hpp"
#include "recnas/ops/concepts.hpp"

namespace recnas::supernet {

/// How a network's parameters start.
///   fan_in_uniform (default): weights and biases U(+-1/sqrt(fan_in)) (PyTorch's nn.Linear
///     default), embedding rows U(+-0.05); well conditioned for any width, which the supernet
///     and gradient checks rely on (zero biases in front of a LayerNorm over few units are not).
///   reference: the NASRec reference's (nasrec-spec 3): Xavier-uniform weights, zero biases,
///     Xavier-normal embeddings (`recnas train --init reference`).
enum class init_scheme : std::uint8_t { fan_in_uniform, reference };

struct param_entry {
  std::string name;        // e.g. "block3.fc.W", "stem.emb12", "head.W"
  std::size_t offset = 0;  // in elements, 16-element aligned
  index rows = 0;
  index cols = 1;
  ops::param_decl decl;  // how it was declared (init, column map)
  bool embedding = false;
  [[nodiscard]] index size() const noexcept { return rows * cols; }
};

template <class T>
class parameters {
 public:
  parameters() = default;

  /// Appends an entry (before allocate()); returns its index.
  std::size_t add(param_entry e) {
    e.offset = total_;
    total_ += round_up(static_cast<std::size_t>(e.size()), 16);
    by_name_.emplace(e.name, entries_.size());
    entries_.push_back(std::move(e));
    return entries_.size() - 1;
  }
  void allocate() {
    values_ = aligned_buffer<T>(total_);
    grads_ = aligned_buffer<T>(total_);
  }
  /// Deterministic initialisation: entry k draws from rng::stream(seed, k).
  void initialize(std::uint64_t seed, init_scheme scheme = init_scheme::fan_in_uniform) {
    for (std::size_t k = 0; k < entries_.size(); ++k) {
      const auto& e = entries_[k];
      T* p = values_.data() + e.offset;
      if (e.decl.init == ops::init_kind::constant) {
        std::fill(p, p + e.size(), static_cast<T>(e.decl.value));
        continue;
      }
      rng g = rng::stream(seed, k);
      const bool reference = scheme == init_scheme::reference;
      if (e.embedding) {
        if (reference) {  // Xavier-normal over the [rows, dim] table
          const double sd = std::sqrt(2.0 / static_cast<double>(e.rows + e.cols));
          for (index i = 0; i < e.size(); ++i) p[i] = static_cast<T>(sd * g.normal());
        } else {  // small uniform rows
          for (index i = 0; i < e.size(); ++i) p[i] = static_cast<T>(g.uniform(-0.05, 0.05));
        }
        continue;
      }
      if (reference && e.decl.init == ops::init_kind::bias) {
        std::fill(p, p + e.size(), T(0));
        continue;
      }
      const double bound =
          reference
              ? std::sqrt(6.0 / static_cast<double>(std::max<index>(1, e.decl.rows + e.decl.cols)))
              : 1.0 / std::sqrt(static_cast<double>(std::max<index>(1, e.decl.fan_in)));
      for (index i = 0; i < e.size(); ++i) p[i] = static_cast<T>(g.uniform(-bound, bound));
    }
  }

  [[nodiscard]] std::span<T> values() noexcept { return values_.span(); }
  [[nodiscard]] std::span<const T> values() const noexcept { return values_.span(); }
  [[nodiscard]] std::span<T> grads() noexcept { return grads_.span(); }
  [[nodiscard]] std::span<const T> grads() const noexcept { return grads_.span(); }
  void zero_grad() noexcept { grads_.fill(T(0)); }
  [[nodiscard]] const std::vector<param_entry>& entries() const noexcept { return entries_; }
  [[nodiscard]] std::size_t size() const noexcept { return total_; }
  /// Elements in use (without alignment padding), optionally without the embeddings.
  [[nodiscard]] index count(bool with_embeddings = true) const noexcept {
    index n = 0;
    for (const auto& e : entries_) {
      if (with_embeddings || !e.embedding) n += e.size();
    }
    return n;
  }
  [[nodiscard]] const param_entry* find(std::string_view name) const {
    auto it = by_name_.find(std::string(name));
    return it == by_name_.end() ? nullptr : &entries_[it->second];
  }
  [[nodiscard]] matrix_view<T> view(std::string_view name) {
    const auto* e = find(name);
    expects(e != nullptr, "parameters::view: no such parameter");
    return {values_.data() + e->offset, e->rows, e->cols};
  }
  [[nodiscard]] matrix_view<T> grad_view(std::string_view name) {
    const auto* e = find(name);
    expects(e != nullptr, "parameters::grad_view: no such parameter");
    return {grads_.data() + e->offset, e->rows, e->cols};
  }
  [[nodiscard]] ops::param_ref<T> ref(std::size_t k, T* grads = nullptr) const {
    const auto& e = entries_[k];
    T* g = grads != nullptr ? grads : const_cast<T*>(grads_.data());
    return {const_cast<T*>(values_.data()) + e.offset, g + e.offset, e.rows, e.cols};
  }

 private:
  std::vector<param_entry> entries_;
  std::unordered_map<std::string, std::size_t> by_name_;
  std::size_t total_ = 0;
  aligned_buffer<T> values_;
  aligned_buffer<T> grads_;
};

}  // namespace recnas::supernet
