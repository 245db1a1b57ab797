// Quantization-aware supernet training: the slices a path uses are mapped exactly (the
// subnet's layout), quantizing them in the supernet gives the same weights as quantizing the
// subnet built from the float supernet, restore() returns the float weights plus the update,
// precision draws are reproducible, and training with them runs, resumes and learns.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>
#include <set>

#include <doctest/doctest.h>

#include <recnas/codesign/supernet_qat.hpp>
#include <recnas/data/stream.hpp>
#include <recnas/search/nas.hpp>
#include <recnas/train/fit.hpp>
#include <recnas/train/sampling.hpp>

#include "synthetic_rows.hpp"

namespace sn = recnas::supernet;
namespace tr = recnas::train;
namespace dt = recnas::data;
namespace cd = recnas::codesign;
namespace rs = recnas::search;

namespace {
dt::dataset data_of(std::int64_t rows) { return recnas_test::synthetic_rows(rows, 5); }
using recnas_test::range_rows;
std::vector<float> copy_of(std::span<const float> v) { return {v.begin(), v.end()}; }

template <class S>
void check_quantized_supernet_equals_quantized_subnet(std::uint64_t seed, int draws) {
  using CS = cd::space<S>;
  const auto data = data_of(64);
  const auto shape = tr::shape_of(data.features());
  sn::supernet<S> super(shape, {.layernorm = true}, seed);
  cd::domain<CS> dom;
  cd::supernet_quantizer<CS> q(super);
  recnas::rng g(seed);
  for (int t = 0; t < draws; ++t) {
    const auto c = dom.random(g);
    // the slice map covers every layer entry of the subnet exactly once
    const auto m = super.active_slices(c.arch);
    std::map<std::size_t, recnas::index> covered;
    for (const auto& r : m.runs) {
      REQUIRE(r.rows == m.compact[r.compact_entry].rows);
      REQUIRE(r.col + r.width <= super.params().entries()[r.entry].cols);
      REQUIRE(r.compact_col + r.width <= m.compact[r.compact_entry].cols);
      covered[r.compact_entry] += r.rows * r.width;
    }
    for (std::size_t k = 0; k < m.compact.size(); ++k) {
      const auto& e = m.compact[k];
      if (e.embedding || e.size() == 0) continue;
      CHECK_MESSAGE(covered[k] == e.size(), e.name);
    }

    sn::subnet<S> expected(c.arch, super);
    cd::quantize_weights<CS>(expected, c.hw);
    const auto before = copy_of(super.params().values());
    const recnas::index n = q.quantize(c.arch, {c.hw.weight_bits});
    CHECK(n > 0);
    CHECK(q.active());
    sn::subnet<S> got(c.arch, super);
    int compared = 0;
    for (const auto& e : got.params().entries()) {
      if (e.embedding || e.size() == 0) continue;
      const auto* x = got.params().values().data() + e.offset;
      const auto* y = expected.params().values().data() + e.offset;
      CHECK_MESSAGE(std::equal(x, x + e.size(), y), e.name);
      ++compared;
    }
    CHECK(compared >= 3);
    // values outside the path are untouched; quantize-restore is the identity
    std::size_t changed = 0;
    for (std::size_t i = 0; i < before.size(); ++i)
      changed += super.params().values()[i] != before[i] ? 1 : 0;
    CHECK(changed > 0);
    CHECK(changed <= static_cast<std::size_t>(n));
    q.restore();
    CHECK_FALSE(q.active());
    CHECK(copy_of(super.params().values()) == before);
  }
}
}  // namespace

TEST_CASE("quantizing a path inside the supernet equals quantizing its subnet (small space)" *
          doctest::test_suite("heavy")) {
  check_quantized_supernet_equals_quantized_subnet<sn::nasrec_small>(21, 12);
}

TEST_CASE("quantizing a path inside the supernet equals quantizing its subnet (full space)") {
  check_quantized_supernet_equals_quantized_subnet<sn::nasrec_full>(22, 4);
}

TEST_CASE("restore gives the float weights plus the update (straight-through)") {
  using S = sn::nasrec_small;
  using CS = cd::space<S>;
  const auto data = data_of(64);
  sn::supernet<S> super(tr::shape_of(data.features()), {.layernorm = true}, 3);
  cd::domain<CS> dom;
  recnas::rng g(4);
  const auto c = dom.random(g);
  const auto before = copy_of(super.params().values());
  cd::supernet_quantizer<CS> q(super);
  q.quantize(c.arch, {std::vector<int>(CS::num_blocks + 1, 3)});
  const auto quantized = copy_of(super.params().values());
  // an "optimizer step": every weight moves by a known amount
  auto v = super.params().values();
  for (std::size_t i = 0; i < v.size(); ++i) v[i] += 1e-3f * static_cast<float>(i % 7) - 3e-3f;
  q.restore();
  std::size_t off_by_more = 0, was_quantized = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const double delta = 1e-3 * static_cast<double>(i % 7) - 3e-3;
    was_quantized += quantized[i] != before[i] ? 1 : 0;
    if (std::abs(v[i] - (before[i] + delta)) > 1e-6 * std::max(1.0f, std::abs(before[i])))
      ++off_by_more;
  }
  CHECK(was_quantized > 100);
  CHECK(off_by_more == 0);
  // restoring twice is a no-op, quantizing twice without restore is an error
  const auto after = copy_of(super.params().values());
  q.restore();
  CHECK(copy_of(super.params().values()) == after);
  q.quantize(c.arch, {c.hw.weight_bits});
  CHECK_THROWS_WITH_AS(q.quantize(c.arch, {c.hw.weight_bits}),
                       doctest::Contains("restore() the previous step's weights first"),
                       recnas::error);
  q.restore();
  CHECK_THROWS_WITH_AS(q.quantize(c.arch, {{8, 8}}), doctest::Contains("one weight precision"),
                       recnas::error);
}

TEST_CASE("precision draws: reproducible per (seed, step), in the vocabulary, float share") {
  using CS = cd::space<sn::nasrec_small>;
  const cd::precision_sampling p{.float_share = 0.25, .seed = 7};
  int floats = 0;
  std::set<int> seen, seen_act;
  for (std::int64_t s = 0; s < 2000; ++s) {
    const auto d = cd::sample_precisions<CS>(p, s);
    const auto again = cd::sample_precisions<CS>(p, s);
    CHECK(d.weight_bits == again.weight_bits);
    CHECK(d.act_bits == again.act_bits);
    if (d.is_float()) {
      CHECK(d.weight_bits.empty());
      CHECK(d.act_bits == 0);
      ++floats;
      continue;
    }
    REQUIRE(d.weight_bits.size() == static_cast<std::size_t>(CS::num_blocks + 1));
    for (int x : d.weight_bits) {
      REQUIRE(CS::weight_bits::contains(x));
      seen.insert(x);
    }
    REQUIRE(CS::act_bits::contains(d.act_bits));
    seen_act.insert(d.act_bits);
  }
  CHECK(floats > 400);  // 500 expected
  CHECK(floats < 600);
  CHECK(seen.size() == CS::weight_bits::values.size());
  CHECK(seen_act.size() == CS::act_bits::values.size());
  CHECK(cd::sample_precisions<CS>({.float_share = 1.0, .seed = 7}, 3).is_float());
  CHECK_FALSE(cd::sample_precisions<CS>({.float_share = 0.0, .seed = 7}, 3).is_float());
  // weights only: activations stay float in every step
  const auto w =
      cd::sample_precisions<CS>({.float_share = 0.0, .seed = 7, .activations = false}, 3);
  CHECK_FALSE(w.weight_bits.empty());
  CHECK(w.act_bits == 0);
  CHECK_THROWS_AS((void)cd::sample_precisions<CS>({.float_share = 1.5}, 0), recnas::error);
}

namespace {
// Logits as co-design's evaluation computes a candidate at its precisions: the subnet with its
// weights and embedding tables quantized (quantize_weights), the dense features quantized per
// batch (quantized_dense), the head's input quantized as one tensor, the head's quantized
// weights; accumulated in double.
template <class CS>
std::vector<double> evaluation_logits(const sn::supernet<typename CS::arch_space>& super,
                                      const cd::candidate& c, const recnas::data::batch_view& b) {
  using S = typename CS::arch_space;
  sn::subnet<S> net(c.arch, super);
  cd::quantize_weights<CS>(net, c.hw);
  cd::quantized_dense qd;
  qd.make(b, c.hw.act_bits);
  sn::workspace<float> ws;
  std::vector<float> logits(static_cast<std::size_t>(b.size()));
  net.forward(c.arch, qd.batch, ws, logits);
  rs::head_view<S> hv;
  rs::extract_head(net, ws, hv, true);
  cd::quantize_in_place(hv.x.data(), hv.batch * hv.width, c.hw.act_bits);
  std::vector<double> z(static_cast<std::size_t>(hv.batch), hv.b);
  for (recnas::index r = 0; r < hv.batch; ++r)
    for (recnas::index k = 0; k < hv.width; ++k)
      z[static_cast<std::size_t>(r)] += static_cast<double>(hv.w[static_cast<std::size_t>(k)]) *
                                        hv.x[static_cast<std::size_t>(r * hv.width + k)];
  return z;
}
dt::stream_options one_batch_of(recnas::index rows) {
  dt::stream_options so;
  so.batch_size = rows;
  so.prefetch = 0;
  return so;
}
// `rows` synthetic rows as one batch (the stream owns the batch's memory).
struct first_batch {
  dt::dataset data;
  dt::batch_stream stream;
  dt::batch_view view;
  explicit first_batch(recnas::index rows)
      : data(data_of(rows)), stream(data, one_batch_of(rows)), view(stream.next().value()) {}
};
}  // namespace

TEST_CASE("activation quantization in the supernet's forward equals the evaluation's") {
  using S = sn::nasrec_small;
  using CS = cd::space<S>;
  const first_batch fb(128);
  const auto* b = &fb.view;
  sn::supernet<S> super(tr::shape_of(fb.data.features()), {.layernorm = true}, 31);
  const auto batch = tr::as_ctr_batch(*b);
  cd::domain<CS> dom;
  cd::supernet_quantizer<CS> q(super);
  recnas::rng g(32);
  for (int t = 0; t < 8; ++t) {
    auto c = dom.random(g);
    c.hw.act_bits = CS::act_bits::values[static_cast<std::size_t>(t) % CS::act_bits::values.size()];
    const auto expected = evaluation_logits<CS>(super, c, *b);

    sn::workspace<float> ws;
    std::vector<float> plain(static_cast<std::size_t>(batch.size)), got(plain.size());
    super.forward(c.arch, batch, ws, plain);
    q.quantize(c.arch, {c.hw.weight_bits, c.hw.act_bits});
    CHECK(super.activation_quantizer().bits == c.hw.act_bits);
    // evaluation quantizes whole tables: give the forward their ranges
    super.quantize_activations({c.hw.act_bits, super.embedding_ranges()});
    super.forward(c.arch, batch, ws, got);
    double worst = 0, moved = 0;
    for (std::size_t r = 0; r < got.size(); ++r) {
      worst = std::max(worst, std::abs(got[r] - expected[r]));
      moved = std::max(moved, std::abs(static_cast<double>(got[r]) - plain[r]));
    }
    CHECK_MESSAGE(worst < 1e-4, "act bits ", c.hw.act_bits);
    CHECK(moved > 100 * worst);  // the precisions changed the logits: the check has teeth

    // backward runs through the quantized forward (straight-through) and stays finite
    std::vector<float> dl(got.size(), 1.0f / static_cast<float>(got.size()));
    super.params().zero_grad();
    super.backward(c.arch, ws, dl);
    const auto gr = super.params().grads();
    CHECK(std::all_of(gr.begin(), gr.end(), [](float x) { return std::isfinite(x); }));
    q.restore();
    CHECK(super.activation_quantizer().bits == 0);
    super.forward(c.arch, batch, ws, got);
    CHECK(got == plain);
  }
}

TEST_CASE("activation quantization: the head's weight gradient sees the quantized input") {
  using S = sn::nasrec_small;
  const first_batch fb(64);
  sn::supernet<S> super(tr::shape_of(fb.data.features()), {.layernorm = true}, 41);
  const auto batch = tr::as_ctr_batch(fb.view);
  recnas::rng g(42);
  const auto a = sn::random_architecture<S>(g);
  super.quantize_activations({.bits = 3});
  sn::workspace<float> ws;
  std::vector<float> logits(64);
  super.forward(a, batch, ws, logits);
  // d(sum of logits)/d(head.W[k]) is the column sum of the input the head multiplied; on a
  // 3-bit grid every value is an integer code times one step, and so is each sum
  std::vector<float> ones(64, 1.0f);
  super.params().zero_grad();
  super.backward(a, ws, ones);
  const auto* hw = super.params().find("head.W");
  REQUIRE(hw != nullptr);
  std::vector<double> sums;
  for (recnas::index k = 0; k < hw->cols; ++k) {
    const double v = super.params().grads()[static_cast<std::size_t>(hw->offset + k)];
    if (v != 0.0) sums.push_back(std::abs(v));
  }
  REQUIRE(sums.size() > 10);
  // the step, from the range of the float head input (which the workspace's sources keep)
  rs::head_view<S> hv;
  rs::extract_head(super, ws, hv, false);
  double range = 0;
  for (float x : hv.x) range = std::max(range, std::abs(static_cast<double>(x)));
  const double step = range / 3.0;  // 3 bits signed: codes -3..3
  int off_grid = 0, on_grid_float = 0;
  for (recnas::index k = 0; k < hv.width; ++k) {  // the float input itself is not on the grid
    double col = 0;
    for (recnas::index r = 0; r < hv.batch; ++r)
      col += std::abs(hv.x[static_cast<std::size_t>(r * hv.width + k)]);
    const double m = col / step;
    on_grid_float += std::abs(m - std::nearbyint(m)) <= 1e-3 * std::max(1.0, m) ? 1 : 0;
  }
  CHECK(on_grid_float < hv.width / 2);
  for (double v : sums) {
    const double k = v / step;
    if (std::abs(k - std::nearbyint(k)) > 1e-3 * std::max(1.0, k)) ++off_grid;
  }
  CHECK(off_grid == 0);
  super.quantize_activations({});
}

TEST_CASE("quantization-aware supernet training runs and resumes bit for bit" *
          doctest::test_suite("heavy")) {
  using S = sn::nasrec_small;
  using CS = cd::space<S>;
  const auto data = data_of(3072);
  const auto shape = tr::shape_of(data.features());
  const auto ck = std::filesystem::temp_directory_path() / "recnas_test_supernet_qat.ck";
  std::filesystem::remove(ck);
  auto run = [&](std::int64_t stop_after, bool resume) {
    sn::supernet<S> super(shape, {.layernorm = true}, 5);
    cd::supernet_quantizer<CS> q(super);
    const cd::precision_sampling ps{.float_share = 0.25, .seed = 9};
    const tr::path_sampler<S> sampler;
    tr::fit_options fo;
    fo.epochs = 2;
    fo.batch_size = 256;
    fo.lr = 0.05;
    fo.checkpoint = ck;
    fo.resume = resume;
    int quantized = 0;
    fo.before_step = [&](std::int64_t step, const sn::architecture& a) {
      const auto p = cd::sample_precisions<CS>(ps, step);
      if (p.is_float()) return;
      CHECK(p.act_bits > 0);
      q.quantize(a, p);
      ++quantized;
    };
    fo.after_step = [&] { q.restore(); };
    fo.on_step = [&](std::int64_t step, std::int64_t, const tr::step_result& r) {
      CHECK(std::isfinite(r.loss));
      return step < stop_after;
    };
    const auto fr = tr::fit(
        super, data, range_rows(0, 2560),
        [&](std::int64_t step, recnas::rng& gen) { return sampler.sample(gen, step); }, fo);
    CHECK_FALSE(q.active());
    return std::make_tuple(copy_of(super.params().values()), fr, quantized);
  };
  const auto [full, fr_full, nq] = run(1 << 30, false);
  CHECK(fr_full.steps == 20);
  CHECK(nq >= 8);  // 15 expected of 20
  CHECK(std::isfinite(fr_full.mean_loss));
  CHECK(std::all_of(full.begin(), full.end(), [](float x) { return std::isfinite(x); }));
  std::filesystem::remove(ck);
  (void)run(7, false);  // interrupted after 7 steps: checkpointed
  const auto [resumed, fr_res, nq2] = run(1 << 30, true);
  CHECK(fr_res.resumed);
  CHECK(fr_res.steps_this_run == 13);
  REQUIRE(resumed.size() == full.size());
  CHECK(resumed == full);
  std::filesystem::remove(ck);
}
