#pragma once
// The input of a network: one batch in the data engineer's layout.

#include <cstdint>

#include "recnas/core/tensor.hpp"

namespace recnas::supernet {

/// Dense [B, Nd] floats and categorical ids [B, F] (int32 or int64, already hashed into each
/// table's range).
struct ctr_batch {
  index size = 0;
  matrix_view<const float> dense;
  const std::int32_t* ids32 = nullptr;
  const std::int64_t* ids64 = nullptr;
  index ids_ld = 0;  // row stride of the ids
  [[nodiscard]] std::int64_t id(index b, index f) const noexcept {
    return ids64 != nullptr ? ids64[b * ids_ld + f] : ids32[b * ids_ld + f];
  }
};

}  // namespace recnas::supernet
