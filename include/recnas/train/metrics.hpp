#pragma once
// Streaming evaluation metrics: logloss, exact AUC (ties get the average rank, as in
// sklearn.metrics.roc_auc_score), and calibration (mean prediction / positive rate).

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "recnas/train/loss.hpp"

namespace recnas::train {

struct metric_values {
  std::int64_t examples = 0;
  double logloss = 0.0;
  double auc = 0.5;  // 0.5 when only one class was seen
  double positive_rate = 0.0;
  double mean_prediction = 0.0;
  double calibration = 1.0;  // mean prediction / positive rate (1 is perfectly calibrated)
};

/// Accumulates (logit, label) pairs batch by batch; `compute()` gives the metrics of all of them.
/// Memory: 5 bytes per example (a float score and a label bit), so a 4.6M-row test split takes
/// 23 MB; the AUC is exact, not binned.
class streaming_metrics {
 public:
  void reserve(std::size_t n) {
    scores_.reserve(n);
    labels_.reserve(n);
  }
  void clear() {
    scores_.clear();
    labels_.clear();
    loss_sum_ = 0.0;
    pred_sum_ = 0.0;
    positives_ = 0;
  }

  void add(const float* logits, const float* labels, index n) {
    for (index i = 0; i < n; ++i) {
      const double z = logits[i];
      const bool y = labels[i] > 0.5f;
      loss_sum_ += bce_with_logit(z, y ? 1.0 : 0.0);
      pred_sum_ += sigmoid(z);
      positives_ += y ? 1 : 0;
      scores_.push_back(logits[i]);  // AUC is rank-based: logits rank like probabilities
      labels_.push_back(y ? 1 : 0);
    }
  }

  [[nodiscard]] std::int64_t size() const noexcept {
    return static_cast<std::int64_t>(scores_.size());
  }

  [[nodiscard]] metric_values compute() const {
    metric_values m;
    const auto n = static_cast<std::int64_t>(scores_.size());
    m.examples = n;
    if (n == 0) return m;
    m.logloss = loss_sum_ / static_cast<double>(n);
    m.positive_rate = static_cast<double>(positives_) / static_cast<double>(n);
    m.mean_prediction = pred_sum_ / static_cast<double>(n);
    m.calibration = positives_ > 0 ? m.mean_prediction / m.positive_rate
                                   : std::numeric_limits<double>::infinity();
    m.auc = exact_auc();
    return m;
  }

 private:
  // Mann-Whitney U: AUC = (sum of positive ranks - P(P+1)/2) / (P N), average ranks for ties.
  [[nodiscard]] double exact_auc() const {
    const std::size_t n = scores_.size();
    const auto pos = static_cast<double>(positives_);
    const double neg = static_cast<double>(n) - pos;
    if (pos == 0 || neg == 0) return 0.5;
    std::vector<std::uint32_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = static_cast<std::uint32_t>(i);
    std::sort(order.begin(), order.end(),
              [&](std::uint32_t a, std::uint32_t b) { return scores_[a] < scores_[b]; });
    double rank_sum = 0.0;
    std::size_t i = 0;
    while (i < n) {
      std::size_t j = i;
      std::size_t pos_in_tie = 0;
      while (j < n && scores_[order[j]] == scores_[order[i]]) {
        pos_in_tie += labels_[order[j]];
        ++j;
      }
      const double avg_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
      rank_sum += avg_rank * static_cast<double>(pos_in_tie);
      i = j;
    }
    return (rank_sum - pos * (pos + 1) / 2.0) / (pos * neg);
  }

  std::vector<float> scores_;
  std::vector<std::uint8_t> labels_;
  double loss_sum_ = 0.0;
  double pred_sum_ = 0.0;
  std::int64_t positives_ = 0;
};

}  // namespace recnas::train
