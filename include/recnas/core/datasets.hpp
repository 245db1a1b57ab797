#pragma once
// Per-feature cardinalities of the three CTR benchmarks, in one place for every layer: the data
// schemas (data/schema.hpp) and the hand-built PIM workloads (pim/workload.hpp) both read them.
//
// Criteo has two published lists, and both are kept because each is right for its reference:
//  - NASRec's (utils/config.py): the table sizes of its hashing, where id 0 is the missing
//    value and other values hash to [1, n - 1]. recnas's readers match it bit for bit.
//  - facebookresearch/dlrm's (the counts its Kaggle preprocessing writes): the rows the DLRM
//    reference allocates, which the PIM DLRM workload prices.
// NASRec's list is DLRM's count plus the missing row, except for tables 3 and 12, where NASRec
// lists DLRM's count unchanged; the check below pins that relation so a typo in either fails
// to compile.

#include <array>
#include <cstdint>

namespace recnas::datasets {

/// Dense inputs per example (Avazu has one all-zero pseudo feature so that every model has a
/// dense input).
inline constexpr std::int64_t criteo_dense_features = 13;
inline constexpr std::int64_t avazu_dense_features = 1;
inline constexpr std::int64_t kdd_dense_features = 3;

/// Criteo Kaggle/DAC table sizes of NASRec's hashing (id 0 = missing), C1..C26.
inline constexpr std::array<std::int64_t, 26> criteo_table_sizes{
    1461, 584,   10131227, 2202609, 306,  25,   12518, 634,     4,  93146, 5684,   8351593, 3195,
    28,   14993, 5461307,  11,      5653, 2174, 5,     7046548, 19, 16,    286182, 106,     142573};

/// Rows of the 26 Criteo-Kaggle tables as preprocessed by facebookresearch/dlrm (33.76 M).
inline constexpr std::array<std::int64_t, 26> criteo_dlrm_table_rows{
    1460, 583,   10131227, 2202608, 305,  24,   12517, 633,     3,  93145, 5683,   8351593, 3194,
    27,   14992, 5461306,  10,      5652, 2173, 4,     7046547, 18, 15,    286181, 105,     142572};

/// Avazu: `id` (table 10000) then the 22 other columns, NASRec's sizes.
inline constexpr std::array<std::int64_t, 23> avazu_table_sizes{
    10000, 241, 8, 8,    4738, 7746, 27,  8553, 560, 37,  2686409, 6729487,
    8252,  6,   5, 2627, 9,    10,   436, 5,    69,  173, 61};

/// KDD Cup 2012 track 2 (joined with userid_profile), NASRec's sizes.
inline constexpr std::array<std::int64_t, 10> kdd_table_sizes{
    26274, 641708, 14848, 22122011, 1188090, 3735797, 2934102, 20004011, 4, 8};

namespace detail {
consteval bool criteo_lists_agree() {
  for (std::size_t f = 0; f < criteo_table_sizes.size(); ++f) {
    const auto extra = criteo_table_sizes[f] - criteo_dlrm_table_rows[f];
    const bool unchanged = f == 2 || f == 11;  // C3 and C12: NASRec lists DLRM's count as is
    if (extra != (unchanged ? 0 : 1)) return false;
  }
  return true;
}
}  // namespace detail
static_assert(detail::criteo_lists_agree(),
              "the Criteo table-size lists of NASRec and DLRM no longer differ by the missing row");

}  // namespace recnas::datasets
