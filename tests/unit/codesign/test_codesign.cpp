// The co-design space and its evaluation: every drawn or mutated candidate is valid, the
// workload carries each block's precision, weight quantization follows the candidate, QAT's
// shadow weights receive the optimizer's exact step, the quantized evaluator is a pure function
// that degrades at low precision, and a small co-search beats the architecture-only winner on
// energy.
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include <doctest/doctest.h>

#include <recnas/codesign/evaluate.hpp>
#include <recnas/codesign/space.hpp>
#include <recnas/pim/pim.hpp>
#include <recnas/search/driver.hpp>
#include <recnas/search/strategies.hpp>
#include <recnas/train/fit.hpp>
#include <recnas/train/sampling.hpp>

#include "synthetic_rows.hpp"

namespace sn = recnas::supernet;
namespace rs = recnas::search;
namespace tr = recnas::train;
namespace dt = recnas::data;
namespace cd = recnas::codesign;
namespace pim = recnas::pim;

namespace {
using S = sn::nasrec_small;
using CS = cd::space<S>;

dt::dataset data_of(std::int64_t rows) { return recnas_test::synthetic_rows(rows, 3); }
using recnas_test::range_rows;
}  // namespace

TEST_CASE("co-design candidates stay valid under random draws and mutations") {
  static_assert(rs::SearchDomain<cd::domain<CS>>);
  cd::domain<CS> dom;
  recnas::rng g(11);
  std::set<std::uint64_t> hashes;
  std::map<int, int> adc_seen, xbar_seen;
  int maps[2] = {0, 0};
  for (int t = 0; t < 300; ++t) {
    auto c = dom.random(g);
    for (int m = 0; m < 20; ++m) {
      REQUIRE(cd::valid<CS>(c.hw));
      REQUIRE_NOTHROW(sn::validate<S>(c.arch));
      REQUIRE(c.hw.adc_bits >= cd::lossless_adc_bits(c.hw));
      REQUIRE_NOTHROW((void)cd::config_of(c.hw, pim::isaac_preset()));
      hashes.insert(dom.hash(c));
      ++adc_seen[c.hw.adc_bits];
      ++xbar_seen[c.hw.xbar];
      ++maps[static_cast<int>(c.hw.mapping)];
      const auto next = dom.mutate(c, g);
      c = next;
    }
  }
  CHECK(hashes.size() > 4000);  // of 6000: mutations change candidates, the hash sees it
  CHECK(adc_seen.size() >= 4);  // the vocabulary is explored
  CHECK(xbar_seen.size() == 3);
  CHECK(maps[0] > 0);
  CHECK(maps[1] > 0);
  // the hash tells hardware knobs apart
  auto c = dom.random(g);
  auto d = c;
  d.hw.weight_bits[0] = d.hw.weight_bits[0] == 2 ? 3 : 2;
  CHECK(dom.hash(c) != dom.hash(d));
  // a lossy ADC is invalid, and JSON round-trips
  d = c;
  d.hw.adc_bits = cd::lossless_adc_bits(d.hw) - 1;
  CHECK_FALSE(cd::valid<CS>(d.hw));
  const auto back = cd::candidate_from_json<CS>(cd::to_json<CS>(c), "x.json");
  CHECK(back == c);
  auto j = cd::to_json<CS>(c);
  j["hw"]["act_bits"] = 7;
  CHECK_THROWS_AS((void)cd::candidate_from_json<CS>(j, "x.json"), recnas::input_error);
}

TEST_CASE("the workload carries each block's precision; lower precision costs less energy") {
  cd::domain<CS> dom;
  recnas::rng g(5);
  const auto shape = sn::data_shape::criteo(1000);
  cd::pim_evaluator<CS> pe(pim::isaac_preset());
  for (int t = 0; t < 20; ++t) {
    auto c = dom.random(g);
    c.hw.mapping = cd::mapping_choice::naive;
    const auto w = cd::workload_of<CS>(c, shape);
    for (const auto& l : w.layers) {
      if (l.cls() == pim::op_class::memory) {
        CHECK(l.weight_bits == c.hw.act_bits);  // embedding rows: stored as activations
      } else if (l.name.rfind("b", 0) == 0 && l.name.size() > 1 && std::isdigit(l.name[1])) {
        CHECK(l.weight_bits ==
              c.hw.weight_bits[static_cast<std::size_t>(std::stoi(l.name.substr(1)))]);
      } else {
        CHECK(l.weight_bits == c.hw.weight_bits.back());
      }
      CHECK(l.act_bits == c.hw.act_bits);
    }
    auto hi = c, lo = c;
    for (auto& b : hi.hw.weight_bits) b = 8;
    for (auto& b : lo.hw.weight_bits) b = 2;
    hi.hw.act_bits = 8;
    lo.hw.act_bits = 4;
    const auto chi = pe.cost(hi, shape), clo = pe.cost(lo, shape);
    CHECK(clo.energy_pj < chi.energy_pj);
    CHECK(clo.mflops == doctest::Approx(chi.mflops));
  }
}

TEST_CASE("weights are quantized per block at the candidate's precision") {
  const auto data = data_of(64);
  const auto shape = tr::shape_of(data.features());
  sn::supernet<S> super(shape, {.layernorm = true}, 1);
  cd::domain<CS> dom;
  recnas::rng g(8);
  const auto c = dom.random(g);
  sn::subnet<S> net(c.arch, super);
  const auto before =
      std::vector<float>(net.params().values().begin(), net.params().values().end());
  cd::quantize_weights<CS>(net, c.hw);
  const auto v = net.params().values();
  int checked = 0;
  for (const auto& e : net.params().entries()) {
    if (e.size() == 0) continue;
    int bits = 0;
    if (e.embedding)
      bits = c.hw.act_bits;
    else if (cd::is_crossbar_weight(e)) {
      const int blk = cd::block_of_param(e.name);
      bits = blk >= 0 ? c.hw.weight_bits[static_cast<std::size_t>(blk)] : c.hw.weight_bits.back();
    }
    double mx = 0;
    for (recnas::index i = 0; i < e.size(); ++i)
      mx = std::max(mx,
                    std::abs(static_cast<double>(before[e.offset + static_cast<std::size_t>(i)])));
    std::set<float> distinct;
    for (recnas::index i = 0; i < e.size(); ++i) {
      const double x = before[e.offset + static_cast<std::size_t>(i)];
      const float y = v[e.offset + static_cast<std::size_t>(i)];
      if (bits == 0) {
        CHECK(y == static_cast<float>(x));  // biases, LayerNorm: untouched
        continue;
      }
      const double step = mx / (std::ldexp(1.0, bits - 1) - 1);  // naive double reference
      CHECK(std::abs(y - std::nearbyint(x / step) * step) <= 1e-6 * std::max(1.0, mx));
      distinct.insert(y);
    }
    if (bits > 0) {
      CHECK(distinct.size() <= static_cast<std::size_t>(std::ldexp(1.0, bits) - 1));
      ++checked;
    }
  }
  CHECK(checked >= 3);
}

TEST_CASE("QAT shadow weights receive the optimizer's step exactly (straight-through)") {
  const auto data = data_of(2048);
  const auto shape = tr::shape_of(data.features());
  cd::domain<CS> dom;
  recnas::rng g(9);
  auto c = dom.random(g);
  for (auto& b : c.hw.weight_bits) b = 3;
  sn::subnet<S> net(c.arch, shape, {}, 2);
  cd::qat_shadow<CS, sn::subnet<S>> q(net, c.hw);
  q.begin();
  tr::fit_options fo;
  fo.max_steps = 8;
  fo.batch_size = 256;
  fo.lr = 0.02;
  int steps = 0;
  fo.on_step = [&](std::int64_t, std::int64_t, const tr::step_result&) {
    q.after_step();
    ++steps;
    return true;
  };
  const auto fr = tr::fit(
      net, data, range_rows(0, 2048), [&](std::int64_t, recnas::rng&) { return c.arch; }, fo);
  CHECK(fr.steps == 8);
  CHECK(steps == 8);
  // the network holds a quantized copy: re-quantizing changes nothing
  const auto v = std::vector<float>(net.params().values().begin(), net.params().values().end());
  cd::quantize_weights<CS>(net, c.hw);
  for (std::size_t i = 0; i < v.size(); ++i) REQUIRE(net.params().values()[i] == v[i]);
  const auto m = tr::evaluate_rows(net, c.arch, data, range_rows(0, 1024));
  CHECK(std::isfinite(m.logloss));
  CHECK(m.logloss < 0.65);  // trained (0.79 at the start, 0.556 in float)
}

TEST_CASE("hardware-only neighbours keep the architecture and stay valid") {
  cd::domain<CS> dom;
  recnas::rng g(4);
  const cd::candidate base{dom.random(g).arch, cd::baseline_knobs<CS>(pim::isaac_preset(), 8, 8)};
  REQUIRE(cd::valid<CS>(base.hw));
  const auto n = cd::hardware_neighbours<CS>(base);
  CHECK(n.size() >= 5);
  for (const auto& c : n) {
    CHECK(c.arch == base.arch);
    CHECK(cd::valid<CS>(c.hw));
    CHECK(c != base);
  }
  // the seeds are drawn first, in order, then the draws are random again
  dom.seeds = n;
  for (const auto& c : n) CHECK(dom.random(g) == c);
  CHECK(cd::valid<CS>(dom.random(g).hw));
}

TEST_CASE("QAT at 8-bit weights retrains to the float model's logloss") {
  const auto data = data_of(6000);
  const auto shape = tr::shape_of(data.features());
  cd::domain<CS> dom;
  recnas::rng g(21);
  auto c = dom.random(g);
  for (auto& b : c.hw.weight_bits) b = 8;
  c.hw.act_bits = 8;
  auto train = [&](bool qat) {
    sn::subnet<S> net(c.arch, shape, {}, 2);
    cd::qat_shadow<CS, sn::subnet<S>> q(net, c.hw);
    if (qat) q.begin();
    tr::fit_options fo;
    fo.batch_size = 256;
    fo.epochs = 1;
    fo.lr = 0.02;
    fo.on_step = [&](std::int64_t, std::int64_t, const tr::step_result&) {
      if (qat) q.after_step();
      return true;
    };
    (void)tr::fit(
        net, data, range_rows(0, 4000), [&](std::int64_t, recnas::rng&) { return c.arch; }, fo);
    return tr::evaluate_rows(net, c.arch, data, range_rows(4000, 6000)).logloss;
  };
  const double f = train(false), q = train(true);
  MESSAGE("float " << f << ", 8-bit QAT " << q);
  CHECK(std::isfinite(q));
  CHECK(std::abs(q - f) < 0.005);
}

TEST_CASE("quantized evaluation: pure, and 2-bit weights lose accuracy that 8-bit keep" *
          doctest::test_suite("heavy")) {
  const auto data = data_of(6000);
  const auto shape = tr::shape_of(data.features());
  sn::supernet<S> super(shape, {.layernorm = true}, 1);
  tr::fit_options fo;
  fo.batch_size = 256;
  fo.epochs = 1;
  tr::path_sampler<S> sampler(tr::sampler_options{});
  (void)tr::fit(
      super, data, range_rows(0, 4000),
      [&](std::int64_t s, recnas::rng& gg) { return sampler.sample(gg, s); }, fo);
  cd::quantized_evaluator<CS> ev(super, data, range_rows(0, 4000), range_rows(4000, 6000),
                                 {.batch_size = 256,
                                  .finetune_steps = 10,
                                  .finetune_warmup = 1,
                                  .val_batch_size = 1000,
                                  .val_batches = 2});
  cd::domain<CS> dom;
  recnas::rng g(12);
  std::vector<cd::candidate> cands;
  for (int i = 0; i < 4; ++i) cands.push_back(dom.random(g));
  const auto par = ev.evaluate_all(cands, 2);
  for (std::size_t i = 0; i < cands.size(); ++i)
    CHECK(ev.evaluate(cands[i]).logloss == par[i].logloss);  // same alone and concurrently
  double worse = 0, d8 = 0;
  for (auto c : cands) {
    const double f = ev.evaluate(c, false).logloss;
    for (auto& b : c.hw.weight_bits) b = 8;
    c.hw.act_bits = 8;
    const double q8 = ev.evaluate(c).logloss;
    for (auto& b : c.hw.weight_bits) b = 2;
    c.hw.act_bits = 4;
    const double q2 = ev.evaluate(c).logloss;
    d8 += std::abs(q8 - f);
    worse += q2 - f;
  }
  CHECK(d8 / 4 < 0.005);      // 8 bits: close to float
  CHECK(worse / 4 > d8 / 4);  // 2/4 bits: visibly worse on average
}

TEST_CASE("a small co-search beats the architecture-only winner on energy" *
          doctest::test_suite("heavy")) {
  const auto data = data_of(6000);
  const auto shape = tr::shape_of(data.features());
  sn::supernet<S> super(shape, {.layernorm = true}, 1);
  tr::fit_options fo;
  fo.batch_size = 256;
  tr::path_sampler<S> sampler(tr::sampler_options{});
  (void)tr::fit(
      super, data, range_rows(0, 4000),
      [&](std::int64_t s, recnas::rng& gg) { return sampler.sample(gg, s); }, fo);
  const rs::evaluator_options eo{.batch_size = 256,
                                 .finetune_steps = 5,
                                 .finetune_warmup = 1,
                                 .val_batch_size = 1000,
                                 .val_batches = 2};
  // 1. architecture only: logloss, as `recnas search` does
  rs::architecture_domain<S> adom;
  rs::supernet_evaluator<S> aev(super, data, range_rows(0, 4000), range_rows(4000, 6000), eo);
  rs::regularized_evolution<rs::architecture_domain<S>> astrat(
      adom, {.population = 8, .tournament = 4, .children = 4, .generations = 3}, 1);
  rs::driver_hooks<sn::architecture> ah;
  ah.evaluate = [&](const std::vector<sn::architecture>& cs) {
    const auto ms = aev.evaluate_all(cs, 2);
    std::vector<rs::evaluation> out;
    for (const auto& m : ms) out.push_back({{m.logloss}, true});
    return out;
  };
  const auto aout = rs::run_search(astrat, adom, ah);
  const auto* best = &aout.history.front();
  for (const auto& r : aout.history)
    if (r.eval.primary() < best->eval.primary()) best = &r;
  cd::pim_evaluator<CS> pe(pim::isaac_preset());
  const cd::candidate base{best->candidate, cd::baseline_knobs<CS>(pim::isaac_preset(), 8, 8)};
  const auto base_cost = pe.cost(base, shape, /*keep_chip=*/true);  // as `recnas codesign`
  // 2. co-search: the criterion, seeds and tolerance of `recnas codesign`
  cd::domain<CS> dom;
  dom.anchor = best->candidate;
  dom.seeds = {base};
  const auto hwn = cd::hardware_neighbours<CS>(base);
  CHECK(hwn.size() >= 4);
  dom.seeds.insert(dom.seeds.end(), hwn.begin(), hwn.begin() + 4);
  cd::quantized_evaluator<CS> qev(super, data, range_rows(0, 4000), range_rows(4000, 6000), eo);
  const double base_loss = qev.evaluate(base).logloss;
  cd::objective_settings obj{.ref_logloss = base_loss,
                             .ref_energy_pj = base_cost.energy_pj,
                             .ref_latency_ns = base_cost.latency_ns,
                             .ref_mflops = base_cost.mflops,
                             .tolerance = 0.002};
  CHECK(obj.feasible(base_loss, base_cost));
  rs::regularized_evolution<cd::domain<CS>> strat(
      dom, {.population = 8, .tournament = 4, .children = 4, .generations = 3}, 1);
  rs::driver_hooks<cd::candidate> h;
  std::vector<double> energies;
  double best_loss = INFINITY;
  h.evaluate = [&](const std::vector<cd::candidate>& cs) {
    const auto ms = qev.evaluate_all(cs, 2);
    std::vector<rs::evaluation> out;
    for (std::size_t i = 0; i < cs.size(); ++i) {
      const auto pc = pe.cost(cs[i], shape);
      energies.push_back(pc.energy_pj);
      best_loss = std::min(best_loss, ms[i].logloss);
      out.push_back(
          {{obj.score(ms[i].logloss, pc), pc.energy_pj}, obj.feasible(ms[i].logloss, pc)});
    }
    return out;
  };
  const auto out = rs::run_search(strat, dom, h);
  double best_energy = INFINITY;
  REQUIRE(out.history.size() >= 5);
  CHECK(out.history.front().candidate == base);  // the seeds come first, in order
  for (const auto& r : out.history)
    if (r.eval.feasible) best_energy = std::min(best_energy, r.eval.objectives[1]);
  MESSAGE("arch-only logloss " << base_loss << ", best co-searched " << best_loss);
  MESSAGE("arch-only winner " << base_cost.energy_pj << " pJ, co-searched " << best_energy
                              << " pJ");
  CHECK(best_energy < base_cost.energy_pj);
}
