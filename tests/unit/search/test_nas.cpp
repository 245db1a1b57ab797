// Candidate evaluation from the supernet: the head view reproduces the network's logits,
// evaluation is a pure function (same result alone, concurrently, repeated), fine-tuning the
// head lowers the validation loss, and mutations keep candidates valid.
#include <cmath>
#include <numeric>

#include <doctest/doctest.h>

#include <recnas/search/nas.hpp>
#include <recnas/supernet/supernet.hpp>
#include <recnas/train/fit.hpp>
#include <recnas/train/sampling.hpp>

#include "synthetic_rows.hpp"

namespace sn = recnas::supernet;
namespace rs = recnas::search;
namespace tr = recnas::train;
namespace dt = recnas::data;

namespace {
using S = sn::nasrec_small;

dt::dataset data_of(std::int64_t rows) { return recnas_test::synthetic_rows(rows, 3); }
using recnas_test::range_rows;
}  // namespace

TEST_CASE("the head view reproduces the supernet's logits") {
  const auto data = data_of(256);
  sn::supernet<S> net(tr::shape_of(data.features()), {.layernorm = true}, 1);
  recnas::rng g(2);
  dt::stream_options so;
  so.batch_size = 64;
  so.prefetch = 0;
  dt::batch_stream s(data, so);
  auto b = s.next();
  REQUIRE(b);
  for (int t = 0; t < 20; ++t) {
    const auto a = sn::random_architecture<S>(g);
    sn::workspace<float> ws;
    std::vector<float> logits(64);
    net.forward(a, tr::as_ctr_batch(*b), ws, logits);
    rs::head_view<S> hv;
    rs::extract_head(net, ws, hv, true);
    REQUIRE(hv.batch == 64);
    const auto plan = sn::make_plan<S>(a, net.shape(), true);
    CHECK(hv.width == plan.head_width);
    double worst = 0;
    for (recnas::index r = 0; r < 64; ++r) {
      double z = hv.b;
      for (recnas::index k = 0; k < hv.width; ++k)
        z += static_cast<double>(hv.w[static_cast<std::size_t>(k)]) *
             hv.x[static_cast<std::size_t>(r * hv.width + k)];
      worst = std::max(worst, std::abs(z - logits[static_cast<std::size_t>(r)]));
    }
    CHECK(worst < 1e-4);
  }
}

TEST_CASE("candidate evaluation is pure, concurrent-safe, and fine-tuning helps" *
          doctest::test_suite("heavy")) {
  const auto data = data_of(6000);
  const auto shape = tr::shape_of(data.features());
  sn::supernet<S> net(shape, {.layernorm = true}, 5);
  tr::path_sampler<S> sampler;
  tr::fit_options fo;
  fo.batch_size = 256;
  fo.max_steps = 15;
  tr::fit(
      net, data, range_rows(0, 4800),
      [&](std::int64_t step, recnas::rng& g) { return sampler.sample(g, step); }, fo);

  rs::evaluator_options eo{.batch_size = 256,
                           .finetune_steps = 10,
                           .finetune_warmup = 1,
                           .val_batch_size = 600,
                           .val_batches = 2};
  rs::supernet_evaluator<S> ev(net, data, range_rows(0, 4800), range_rows(4800, 6000), eo);
  auto eo0 = eo;
  eo0.finetune_steps = 0;
  rs::supernet_evaluator<S> ev0(net, data, range_rows(0, 4800), range_rows(4800, 6000), eo0);
  rs::architecture_domain<S> dom;
  recnas::rng g(8);
  std::vector<sn::architecture> cands;
  for (int i = 0; i < 6; ++i) cands.push_back(dom.random(g));
  const auto seq = ev.evaluate_all(cands, 1);
  const auto par = ev.evaluate_all(cands, 2);
  int improved = 0;
  for (std::size_t i = 0; i < cands.size(); ++i) {
    CHECK(seq[i].logloss == par[i].logloss);  // bit for bit, whatever the spread
    CHECK(ev.evaluate(cands[i]).logloss == seq[i].logloss);
    CHECK(std::isfinite(seq[i].logloss));
    improved += seq[i].logloss < ev0.evaluate(cands[i]).logloss ? 1 : 0;
  }
  CHECK(improved >= 4);  // the head refit on the candidate's own features lowers its loss
}

TEST_CASE("mutations keep candidates valid and change exactly one block") {
  rs::architecture_domain<sn::nasrec_full> dom;
  recnas::rng g(4);
  int changed = 0;
  for (int t = 0; t < 2000; ++t) {
    const auto a = dom.random(g);
    const auto m = dom.mutate(a, g);
    REQUIRE_FALSE(sn::check<sn::nasrec_full>(m).has_value());
    int diff = 0;
    for (std::size_t i = 0; i < a.blocks.size(); ++i) diff += a.blocks[i] == m.blocks[i] ? 0 : 1;
    CHECK(diff <= 1);
    changed += diff;
  }
  CHECK(changed > 1200);  // most mutations change something (some re-draw the same value)
}
