// The trainer: learning on planted interactions, determinism, bit-exact resume, row-sparse
// updates equal to the dense update, path sampling rules, and checkpoint errors.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>

#include <doctest/doctest.h>

#include <recnas/data/dataset.hpp>
#include <recnas/supernet/supernet.hpp>
#include <recnas/train/baselines.hpp>
#include <recnas/train/fit.hpp>
#include <recnas/train/loss.hpp>
#include <recnas/train/sampling.hpp>

#include "synthetic_rows.hpp"

namespace sn = recnas::supernet;
namespace tr = recnas::train;
namespace dt = recnas::data;

namespace {

dt::dataset small_synthetic(std::int64_t rows) { return recnas_test::synthetic_rows(rows, 7, 200); }
using recnas_test::range_rows;
double trivial_logloss(const dt::dataset& d, const std::vector<std::uint32_t>& rows) {
  const auto y = d.labels();
  double p = 0;
  for (auto r : rows) p += y[r];
  p /= static_cast<double>(rows.size());
  return -(p * std::log(p) + (1 - p) * std::log(1 - p));
}
std::filesystem::path temp_path(const char* name) {
  auto p = std::filesystem::temp_directory_path() /
           ("recnas_test_" + std::to_string(::getpid()) + "_" + name);
  std::filesystem::remove(p);
  return p;
}

}  // namespace

TEST_CASE("a DLRM-shaped baseline learns the planted interactions, deterministically" *
          doctest::test_suite("heavy")) {
  const auto data = small_synthetic(24000);
  const auto shape = tr::shape_of(data.features());
  const auto arch = tr::baseline("dlrm");
  sn::validate<sn::nasrec_full>(arch);
  tr::fit_options o;
  o.epochs = 4;
  o.batch_size = 256;
  o.lr = 0.2;
  auto train_once = [&](std::uint64_t seed) {
    sn::subnet<sn::nasrec_full> net(arch, shape, {}, seed);
    tr::fit(
        net, data, range_rows(0, 19200), [&](std::int64_t, recnas::rng&) { return arch; }, o);
    return std::pair{
        tr::evaluate_rows(net, arch, data, range_rows(19200, 24000)),
        std::vector<float>(net.params().values().begin(), net.params().values().end())};
  };
  const auto [m1, p1] = train_once(3);
  const auto [m2, p2] = train_once(3);
  const double trivial = trivial_logloss(data, range_rows(19200, 24000));
  MESSAGE("test logloss " << m1.logloss << " auc " << m1.auc << " trivial " << trivial);
  CHECK(m1.logloss < trivial - 0.02);
  CHECK(m1.auc > 0.66);
  CHECK(std::isfinite(m1.logloss));
  CHECK(p1 == p2);  // same seed, same thread count: bit for bit
  CHECK(m1.logloss == m2.logloss);
}

TEST_CASE("fit: `steps` trains that many steps over as many epochs; max_steps only caps") {
  const auto data = small_synthetic(1000);
  const auto shape = tr::shape_of(data.features());
  const auto arch = tr::baseline("dnn");
  auto run = [&](std::int64_t steps, std::int64_t max_steps, int epochs) {
    sn::subnet<sn::nasrec_full> net(arch, shape, {}, 1);
    tr::fit_options o;
    o.batch_size = 100;  // 10 steps per epoch
    o.epochs = epochs;
    o.steps = steps;
    o.max_steps = max_steps;
    std::vector<int> epochs_done;
    o.on_epoch = [&](int e) {
      epochs_done.push_back(e);
      return true;
    };
    const auto r = tr::fit(
        net, data, range_rows(0, 1000), [&](std::int64_t, recnas::rng&) { return arch; }, o);
    return std::pair{r.steps, epochs_done};
  };
  CHECK(run(-1, -1, 1) == std::pair{std::int64_t{10}, std::vector<int>{1}});
  CHECK(run(-1, 25, 1).first == 10);  // a cap, not a request
  CHECK(run(25, -1, 1) == std::pair{std::int64_t{25}, std::vector<int>{1, 2}});
  CHECK(run(25, 12, 1).first == 12);
  CHECK(run(3, -1, 4).first == 3);
  sn::subnet<sn::nasrec_full> net(arch, shape, {}, 1);
  tr::fit_options bad;
  bad.steps = -2;
  CHECK_THROWS_AS(
      tr::fit(
          net, data, range_rows(0, 1000), [&](std::int64_t, recnas::rng&) { return arch; }, bad),
      recnas::contract_error);
}

TEST_CASE("every baseline is a valid architecture of its space, with live blocks") {
  for (auto name : tr::baseline_names) {
    CAPTURE(name);
    const auto a = tr::baseline(name);
    tr::visit_baseline_space(name, [&]<class S>() {
      CHECK(S::name == tr::baseline_space(name));
      CHECK_NOTHROW(sn::validate<S>(a));
      const auto plan = sn::make_plan<S>(a, sn::data_shape::criteo(), false);
      CHECK(plan.live_blocks().size() >= 4);
    });
  }
  CHECK(tr::baseline_space("dcnv2") == "nasrec-full-cross");
  CHECK(tr::baseline_space("dlrm-ref") == "dlrm-reference");
  CHECK_THROWS_AS(tr::baseline("resnet"), recnas::input_error);
}

TEST_CASE("baselines_in: the baselines a search can start from, per space") {
  using v = std::vector<std::string_view>;
  CHECK(tr::baselines_in<sn::nasrec_full>() == v{"dnn", "dlrm", "deepfm", "autoint"});
  CHECK(tr::baselines_in<sn::nasrec_full_cross>() ==
        v{"dnn", "dlrm", "deepfm", "autoint", "dcnv2"});
  CHECK(tr::baselines_in<sn::nasrec_small>().empty());
}

TEST_CASE("dlrm-ref is the classic DLRM: 13-512-256-64-16, 351 pairs + 16, 367-512-256-1") {
  const auto a = tr::baseline("dlrm-ref");
  const auto shape = sn::data_shape::criteo();
  const auto plan = sn::make_plan<sn::dlrm_reference>(a, shape, false);
  CHECK(plan.live_blocks().size() == 6);
  // Layer weights and biases, embeddings aside: bottom, interaction + top, head.
  const auto rep = sn::analyze<sn::dlrm_reference>(a, shape);
  const long long bottom = (13 * 512 + 512) + (512 * 256 + 256) + (256 * 64 + 64) + (64 * 16 + 16);
  const long long top = (367 * 512 + 512) + (512 * 256 + 256);
  const long long head = (256 + 16 * 16) + 1;  // the 16 zero tokens' weights stay zero-input
  CHECK(rep.head_width == 256 + 16 * 16);
  CHECK(rep.live_params == bottom + top + head);
  // The cross baseline: three cross layers on the DP stem, x0 = block 0.
  const auto c = tr::baseline("dcnv2");
  for (int i = 1; i <= 3; ++i) {
    CHECK(c.blocks[static_cast<std::size_t>(i)].dense_op ==
          sn::nasrec_full_cross::dense_op_index("cross"));
    CHECK(c.blocks[static_cast<std::size_t>(i)].right == 1);
  }
}

TEST_CASE("row-sparse training equals the dense Adagrad update over every parameter") {
  const auto data = small_synthetic(2048);
  const auto shape = tr::shape_of(data.features());
  const auto arch = tr::baseline("deepfm");
  sn::subnet<sn::nasrec_full> a(arch, shape, {}, 11), b(arch, shape, {}, 11);
  tr::adagrad opt;
  tr::trainer_options to;
  to.clip_norm = 0;  // the dense reference below does not clip
  to.schedule = tr::constant_lr{0.05};
  tr::trainer<sn::subnet<sn::nasrec_full>> t(a, opt, to);
  tr::optimizer_state<tr::adagrad> dense_state(opt, static_cast<recnas::index>(b.params().size()));
  dt::stream_options so;
  so.batch_size = 128;
  so.prefetch = 0;
  dt::batch_stream s(data, so);
  sn::workspace<float> ws;
  std::vector<float> logits(128), dl(128);
  for (int step = 0; step < 4; ++step) {
    auto batch = s.next();
    REQUIRE(batch);
    const auto cb = tr::as_ctr_batch(*batch);
    t.step(arch, cb, batch->labels);
    b.params().zero_grad();
    b.forward(cb, ws, logits);
    recnas::train::bce_with_logits<float>(logits, batch->labels, dl);
    b.backward(ws, dl);
    tr::apply_dense(opt, b.params().values(), b.params().grads(), dense_state, 0, 0.05, step);
  }
  const auto va = a.params().values(), vb = b.params().values();
  REQUIRE(va.size() == vb.size());
  std::size_t diff = 0;
  for (std::size_t i = 0; i < va.size(); ++i) diff += va[i] != vb[i] ? 1 : 0;
  CHECK(diff == 0);
}

TEST_CASE("path sampling follows the reference's rules") {
  using S = sn::nasrec_full;
  recnas::rng g(5);
  tr::path_sampler<S> def({.strategy = tr::path_strategy::single_op_any_connection});
  std::array<int, 5> counts{};
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const auto a = def.sample(g, 0);
    REQUIRE_FALSE(sn::check<S>(a).has_value());
    counts[static_cast<std::size_t>(recnas::connect::count(a.blocks[6].dense_in))]++;
  }
  // block 6: 1 + Binomial(3, 1/2) -> 1/8, 3/8, 3/8, 1/8 (the spec measured 12%, 39%, 38%, 11%)
  CHECK(counts[1] / double(n) == doctest::Approx(0.125).epsilon(0.1));
  CHECK(counts[2] / double(n) == doctest::Approx(0.375).epsilon(0.05));
  CHECK(counts[3] / double(n) == doctest::Approx(0.375).epsilon(0.05));
  CHECK(counts[4] / double(n) == doctest::Approx(0.125).epsilon(0.1));

  tr::path_sampler<S> single({.strategy = tr::path_strategy::single_path});
  for (int i = 0; i < 200; ++i) {
    const auto a = single.sample(g, 0);
    for (const auto& b : a.blocks) {
      CHECK(recnas::connect::count(b.dense_in) == 1);
      CHECK(recnas::connect::count(b.sparse_in) == 1);
    }
  }
  tr::path_sampler<S> warm({.warmup_steps = 100});
  for (int i = 0; i < 50; ++i) {  // step 0: probability 1 of the full path
    const auto a = warm.sample(g, 0);
    REQUIRE_FALSE(sn::check<S>(a).has_value());
    for (const auto& b : a.blocks) {
      CHECK(b.d == S::max_dense_dim);
      CHECK(b.s == S::max_sparse_dim);
      CHECK(b.mergers == 3U);
    }
  }
  int full_late = 0;
  for (int i = 0; i < 400; ++i) full_late += warm.sample(g, 99).blocks[0].d == 1024 ? 1 : 0;
  CHECK(full_late < 100);  // at t = 99 of 100 the full path is rare (1% + 1/8 by chance)
}

TEST_CASE("supernet training resumes from a checkpoint bit for bit" *
          doctest::test_suite("heavy")) {
  using S = sn::nasrec_small;
  const auto data = small_synthetic(3000);
  const auto shape = tr::shape_of(data.features());
  tr::path_sampler<S> sampler({.warmup_steps = 6});
  auto path = [&](std::int64_t step, recnas::rng& g) { return sampler.sample(g, step); };
  tr::fit_options o;
  o.batch_size = 128;
  o.max_steps = 12;
  o.seed = 9;
  o.lr = 0.1;
  o.shuffle = true;

  sn::supernet<S> straight(shape, {.layernorm = true}, 4);
  std::vector<double> losses_straight;
  auto o1 = o;
  o1.on_step = [&](std::int64_t, std::int64_t, const tr::step_result& r) {
    losses_straight.push_back(r.loss);
    return true;
  };
  tr::fit(straight, data, range_rows(0, 3000), path, o1);

  const auto ck = temp_path("resume.ck");
  sn::supernet<S> first(shape, {.layernorm = true}, 4);
  std::vector<double> losses;
  auto o2 = o;
  o2.checkpoint = ck;
  o2.on_step = [&](std::int64_t step, std::int64_t, const tr::step_result& r) {
    losses.push_back(r.loss);
    return step < 5;  // "Ctrl-C" after 5 steps
  };
  const auto r1 = tr::fit(first, data, range_rows(0, 3000), path, o2);
  CHECK(r1.interrupted);
  CHECK(r1.steps == 5);
  sn::supernet<S> second(shape, {.layernorm = true}, 999);  // different init: all state is loaded
  auto o3 = o2;
  o3.on_step = o1.on_step = [&](std::int64_t, std::int64_t, const tr::step_result& r) {
    losses.push_back(r.loss);
    return true;
  };
  const auto r2 = tr::fit(second, data, range_rows(0, 3000), path, o3);
  CHECK(r2.resumed);
  CHECK(r2.steps == 12);
  REQUIRE(losses.size() == losses_straight.size());
  CHECK(losses == losses_straight);
  const auto va = straight.params().values(), vb = second.params().values();
  CHECK(std::memcmp(va.data(), vb.data(), va.size_bytes()) == 0);

  // A corrupt checkpoint is rejected with the file named, not loaded.
  {
    std::fstream f(ck, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\x55');
  }
  sn::supernet<S> third(shape, {.layernorm = true}, 4);
  try {
    tr::fit(third, data, range_rows(0, 3000), path, o3);
    FAIL("a corrupt checkpoint was accepted");
  } catch (const recnas::input_error& e) {
    CHECK(std::string(e.what()).find("resume.ck") != std::string::npos);
  }
  std::filesystem::remove(ck);
}
