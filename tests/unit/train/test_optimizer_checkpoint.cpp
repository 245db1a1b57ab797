#include <cmath>
#include <filesystem>
#include <fstream>
#include <vector>

#include <doctest/doctest.h>

#include <recnas/core/checksum.hpp>
#include <recnas/core/rng.hpp>
#include <recnas/train/checkpoint.hpp>
#include <recnas/train/optimizer.hpp>

namespace rt = recnas::train;

TEST_CASE("optimizer updates equal hand-computed values") {
  SUBCASE("adagrad") {
    rt::adagrad opt{.eps = 1e-2};
    std::vector<float> w = {1.0f, -2.0f}, g = {0.5f, -1.0f};
    rt::optimizer_state<rt::adagrad> st(opt, 2);
    rt::apply_dense(opt, std::span<float>(w), std::span<const float>(g), st, 0, 0.1, 1);
    // s = g^2; w -= 0.1 g / (|g| + 0.01)
    CHECK(w[0] == doctest::Approx(1.0 - 0.1 * 0.5 / (0.5 + 0.01)));
    CHECK(w[1] == doctest::Approx(-2.0 + 0.1 * 1.0 / (1.0 + 0.01)));
    rt::apply_dense(opt, std::span<float>(w), std::span<const float>(g), st, 0, 0.1, 2);
    CHECK(w[0] == doctest::Approx(1.0 - 0.1 * 0.5 / 0.51 - 0.1 * 0.5 / (std::sqrt(0.5) + 0.01)));
  }
  SUBCASE("adam, two steps") {
    rt::adam opt{};
    std::vector<float> w = {0.3f}, g = {0.2f};
    rt::optimizer_state<rt::adam> st(opt, 1);
    double m = 0, v = 0, wd = 0.3;
    for (int t = 1; t <= 2; ++t) {
      rt::apply_dense(opt, std::span<float>(w), std::span<const float>(g), st, 0, 0.01, t);
      m = 0.9 * m + 0.1 * 0.2;
      v = 0.999 * v + 0.001 * 0.04;
      const double mh = m / (1 - std::pow(0.9, t)), vh = v / (1 - std::pow(0.999, t));
      wd -= 0.01 * mh / (std::sqrt(vh) + 1e-8);
      CHECK(w[0] == doctest::Approx(wd).epsilon(1e-6));
    }
  }
  SUBCASE("sgd with weight decay and momentum") {
    rt::sgd plain{.common = {.weight_decay = 0.1}};
    std::vector<float> w = {2.0f}, g = {1.0f};
    rt::optimizer_state<rt::sgd> st0(plain, 1);
    rt::apply_dense(plain, std::span<float>(w), std::span<const float>(g), st0, 0, 0.5, 1);
    CHECK(w[0] == doctest::Approx(2.0 - 0.5 * (1.0 + 0.2)));
    rt::sgd_momentum mom{.momentum = 0.5};
    std::vector<float> w2 = {0.0f};
    rt::optimizer_state<rt::sgd_momentum> st(mom, 1);
    rt::apply_dense(mom, std::span<float>(w2), std::span<const float>(g), st, 0, 1.0, 1);
    rt::apply_dense(mom, std::span<float>(w2), std::span<const float>(g), st, 0, 1.0, 2);
    CHECK(w2[0] == doctest::Approx(-(1.0 + 1.5)));
  }
}

TEST_CASE("row-sparse Adagrad equals dense Adagrad on every row") {
  const recnas::index rows = 50, width = 16;
  recnas::rng g(5);
  std::vector<float> dense_w(static_cast<std::size_t>(rows * width));
  for (auto& v : dense_w) v = static_cast<float>(g.normal());
  std::vector<float> sparse_w = dense_w;
  rt::adagrad opt{};
  rt::optimizer_state<rt::adagrad> sd(opt, rows * width), ss(opt, rows * width);
  for (int step = 1; step <= 5; ++step) {
    std::vector<std::int64_t> touched;
    for (std::int64_t r = 0; r < rows; ++r) {
      if (g.bernoulli(0.2)) touched.push_back(r);
    }
    std::vector<float> grad_rows(touched.size() * static_cast<std::size_t>(width));
    for (auto& v : grad_rows) v = static_cast<float>(g.normal());
    std::vector<float> dense_g(dense_w.size(), 0.0f);
    for (std::size_t i = 0; i < touched.size(); ++i) {
      for (recnas::index e = 0; e < width; ++e) {
        dense_g[static_cast<std::size_t>(touched[i] * width + e)] =
            grad_rows[i * static_cast<std::size_t>(width) + static_cast<std::size_t>(e)];
      }
    }
    rt::apply_dense(opt, std::span<float>(dense_w), std::span<const float>(dense_g), sd, 0, 0.05,
                    step);
    rt::apply_rows(opt, sparse_w.data(), width, touched.data(),
                   static_cast<recnas::index>(touched.size()), grad_rows.data(), width, ss, 0, 0.05,
                   step);
  }
  for (std::size_t i = 0; i < dense_w.size(); ++i) CHECK(sparse_w[i] == dense_w[i]);
  for (std::size_t i = 0; i < dense_w.size(); ++i) CHECK(ss.raw()[i] == sd.raw()[i]);
}

TEST_CASE("global-norm clipping scales like torch.nn.utils.clip_grad_norm_") {
  std::vector<float> a = {3.0f, 0.0f}, b = {4.0f};
  std::vector<std::span<float>> gs = {std::span<float>(a), std::span<float>(b)};
  const double n = rt::clip_global_norm(gs, 1.0);
  CHECK(n == doctest::Approx(5.0));
  CHECK(a[0] == doctest::Approx(3.0 / (5.0 + 1e-6)));
  CHECK(b[0] == doctest::Approx(4.0 / (5.0 + 1e-6)));
  std::vector<float> c = {0.1f};
  std::vector<std::span<float>> small = {std::span<float>(c)};
  rt::clip_global_norm(small, 1.0);
  CHECK(c[0] == 0.1f);
}

TEST_CASE("checkpoints round-trip, are atomic, and reject corruption with a clear message") {
  const auto dir =
      std::filesystem::temp_directory_path() / ("recnas_ck_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = dir / "model.ckpt";
  std::vector<float> params(1000);
  recnas::rng g(1);
  for (auto& p : params) p = g.uniformf();
  rt::checkpoint ck;
  ck.put("params", std::span<const float>(params));
  ck.put_value("step", std::int64_t{1234});
  ck.put("rng", std::span<const std::uint64_t>(g.state()));
  ck.put_string("arch", "{\"blocks\":7}");
  ck.save(path);
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    CHECK(e.path().filename() == "model.ckpt");  // no temporary left behind
  }
  const auto back = rt::checkpoint::load(path);
  std::vector<float> p2(1000);
  back.get("params", std::span<float>(p2));
  CHECK(p2 == params);
  CHECK(back.get_value<std::int64_t>("step") == 1234);
  CHECK(back.get_string("arch") == "{\"blocks\":7}");
  std::vector<float> wrong(999);
  CHECK_THROWS_WITH_AS(back.get("params", std::span<float>(wrong)),
                       doctest::Contains("expected 3996"), recnas::input_error);
  CHECK_THROWS_AS((void)back.bytes("missing"), recnas::input_error);

  // Flip one byte in the middle: checksum mismatch.
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(500);
    f.put('\x7f');
  }
  CHECK_THROWS_WITH_AS(rt::checkpoint::load(path), doctest::Contains("checksum"),
                       recnas::input_error);
  // Truncated file.
  ck.save(path);
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 20);
  CHECK_THROWS_AS(rt::checkpoint::load(path), recnas::input_error);
  // Not a checkpoint at all.
  { std::ofstream(path) << "hello"; }
  CHECK_THROWS_WITH_AS(rt::checkpoint::load(path), doctest::Contains("not a recnas checkpoint"),
                       recnas::input_error);
  CHECK_THROWS_AS(rt::checkpoint::load(dir / "absent"), recnas::input_error);
  std::filesystem::remove_all(dir);
}

TEST_CASE("xxh64 matches the published test vectors, streamed or not") {
  CHECK(recnas::xxh64::of("", 0) == 0xEF46DB3751D8E999ULL);
  CHECK(recnas::xxh64::of("a", 1) == 0xD24EC4F1A98C6E5BULL);
  CHECK(recnas::xxh64::of("abc", 3) == 0x44BC2CF5AD770999ULL);
  const std::string s = "Nobody inspects the spammish repetition";
  CHECK(recnas::xxh64::of(s.data(), s.size()) == 0xFBCEA83C8A378BF1ULL);
  std::vector<unsigned char> big(1000);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<unsigned char>(i * 7);
  recnas::xxh64 h;
  for (std::size_t i = 0; i < big.size(); i += 13)
    h.update(big.data() + i, std::min<std::size_t>(13, big.size() - i));
  CHECK(h.digest() == recnas::xxh64::of(big.data(), big.size()));
}
