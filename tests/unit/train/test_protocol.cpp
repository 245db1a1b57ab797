// The final-training protocol: learning rate from a grid and epochs by early stopping, both on
// validation only; the kept weights are the best epoch's; a fixed choice equals plain fit();
// an interrupted protocol resumes to the same weights.
#include <cmath>
#include <filesystem>
#include <limits>
#include <vector>

#include <doctest/doctest.h>

#include <recnas/supernet/supernet.hpp>
#include <recnas/train/baselines.hpp>
#include <recnas/train/fit.hpp>
#include <recnas/train/protocol.hpp>

#include "synthetic_rows.hpp"

namespace sn = recnas::supernet;
namespace tr = recnas::train;

namespace {

using recnas_test::range_rows;

struct fixture {
  recnas::data::dataset data = recnas_test::synthetic_rows(6000, 11, 200);
  sn::data_shape shape = tr::shape_of(data.features());
  sn::architecture arch = tr::baseline("dnn");
  std::vector<std::uint32_t> train = range_rows(0, 4000), val = range_rows(4000, 5000);
  auto maker() const {
    return [this] { return sn::subnet<sn::nasrec_full>(arch, shape, {}, 5); };
  }
};

std::vector<float> params_of(const sn::subnet<sn::nasrec_full>& n) {
  const auto v = n.params().values();
  return {v.begin(), v.end()};
}

std::filesystem::path temp_state(const char* name) {
  const auto p = std::filesystem::temp_directory_path() /
                 ("recnas_protocol_" + std::to_string(::getpid()) + "_" + name);
  std::filesystem::remove(p);
  for (int r = 0; r < 4; ++r) std::filesystem::remove(p.string() + ".run" + std::to_string(r));
  return p;
}

}  // namespace

TEST_CASE("protocol: the grid's best (lr, epoch) on validation is kept, and a bad lr loses") {
  const fixture f;
  tr::protocol_options p;
  p.lr_grid = {0.0005, 0.1};  // the first barely moves in 4 epochs
  p.max_epochs = 4;
  p.patience = 1;
  p.fit.batch_size = 256;
  const auto out = tr::train_with_protocol(f.maker(), f.arch, f.data, f.train, f.val, p);
  const auto& r = out.result;
  CHECK(r.lr == doctest::Approx(0.1));
  REQUIRE_FALSE(r.curve.empty());
  double best = std::numeric_limits<double>::infinity();
  for (const auto& e : r.curve) best = std::min(best, e.val_logloss);
  CHECK(r.val_logloss == best);
  // The returned weights are those of the chosen epoch: re-evaluating them gives its score.
  const auto again = tr::evaluate_rows(out.net, f.arch, f.data, f.val);
  CHECK(again.logloss == doctest::Approx(r.val_logloss).epsilon(1e-12));
  // Early stopping: a run that stopped before max_epochs had `patience` worse epochs at its end.
  for (int run = 0; run < 2; ++run) {
    std::vector<double> c;
    for (const auto& e : r.curve)
      if (e.run == run) c.push_back(e.val_logloss);
    REQUIRE_FALSE(c.empty());
    if (static_cast<int>(c.size()) < p.max_epochs) {
      double before = std::numeric_limits<double>::infinity();
      for (std::size_t i = 0; i + 1 < c.size(); ++i) before = std::min(before, c[i]);
      CHECK_FALSE(c.back() < before);
    }
  }
}

TEST_CASE("protocol: a fixed lr and epoch count is plain fit(), bit for bit") {
  const fixture f;
  tr::protocol_options p;
  p.lr_grid = {0.05};
  p.max_epochs = 2;
  p.patience = 0;
  p.fit.batch_size = 256;
  const auto out = tr::train_with_protocol(f.maker(), f.arch, f.data, f.train, f.val, p);
  CHECK(out.result.epochs == 2);
  auto net = f.maker()();
  tr::fit_options fo = p.fit;
  fo.lr = 0.05;
  fo.epochs = 2;
  tr::fit(
      net, f.data, f.train, [&](std::int64_t, recnas::rng&) { return f.arch; }, fo);
  CHECK(params_of(out.net) == params_of(net));
}

TEST_CASE("protocol: interrupted in its second run, it resumes to the same weights") {
  const fixture f;
  tr::protocol_options p;
  p.lr_grid = {0.02, 0.1};
  p.max_epochs = 3;
  p.patience = 2;
  p.fit.batch_size = 256;
  const auto whole = tr::train_with_protocol(f.maker(), f.arch, f.data, f.train, f.val, p);

  auto q = p;
  q.state = temp_state("resume");
  int calls = 0;
  q.fit.on_step = [&](std::int64_t, std::int64_t, const tr::step_result&) {
    return ++calls != 52;  // inside run 2 (run 1: 3 epochs of 15 steps)
  };
  const auto cut = tr::train_with_protocol(f.maker(), f.arch, f.data, f.train, f.val, q);
  CHECK(cut.result.interrupted);
  CHECK(std::filesystem::exists(q.state));
  q.fit.on_step = nullptr;
  const auto resumed = tr::train_with_protocol(f.maker(), f.arch, f.data, f.train, f.val, q);
  CHECK_FALSE(resumed.result.interrupted);
  CHECK(resumed.result.lr == whole.result.lr);
  CHECK(resumed.result.epochs == whole.result.epochs);
  CHECK(resumed.result.val_logloss == whole.result.val_logloss);
  CHECK(params_of(resumed.net) == params_of(whole.net));
  CHECK(resumed.result.curve.size() == whole.result.curve.size());

  // Another grid cannot reuse that state.
  auto other = q;
  other.lr_grid = {0.3};
  CHECK_THROWS_WITH_AS(
      (void)tr::train_with_protocol(f.maker(), f.arch, f.data, f.train, f.val, other),
      doctest::Contains("another learning-rate grid"), recnas::input_error);
  std::filesystem::remove(q.state);
}

TEST_CASE("protocol: bad grids and missing validation rows are refused by name") {
  const fixture f;
  tr::protocol_options p;
  p.lr_grid = {};
  CHECK_THROWS_AS((void)tr::train_with_protocol(f.maker(), f.arch, f.data, f.train, f.val, p),
                  recnas::input_error);
  p.lr_grid = {std::nan("")};
  CHECK_THROWS_AS((void)tr::train_with_protocol(f.maker(), f.arch, f.data, f.train, f.val, p),
                  recnas::input_error);
  p.lr_grid = {0.01, 0.1};
  CHECK_THROWS_WITH_AS((void)tr::train_with_protocol(f.maker(), f.arch, f.data, f.train, {}, p),
                       doctest::Contains("validation rows"), recnas::input_error);
}
