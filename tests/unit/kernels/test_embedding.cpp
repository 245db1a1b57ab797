#include <cstdint>
#include <vector>

#include <doctest/doctest.h>

#include <recnas/kernels/embedding.hpp>
#include <recnas/parallel/threads.hpp>

#include "kernel_test_util.hpp"

namespace {

namespace rk = recnas::kernels;
using recnas::index;

struct tables {
  std::vector<std::vector<float>> data;
  std::vector<const float*> ptrs;
  std::vector<index> rows;
  rk::embedding_tables view;
  tables(index f, index e, index ld, std::uint64_t seed) {
    for (index i = 0; i < f; ++i) {
      rows.push_back(5 + 7 * i);
      data.push_back(kt::random_vec(static_cast<std::size_t>(rows.back() * ld),
                                    seed + static_cast<std::uint64_t>(i)));
    }
    for (auto& d : data) ptrs.push_back(d.data());
    view = {ptrs.data(), rows.data(), f, e, ld};
  }
};

TEST_CASE("embedding gather and its row-sparse backward match dense references") {
  for (auto level : kt::isa_levels()) {
    recnas::simd::scoped_isa guard(level);
    for (index e : {1, 7, 16, 17, 63}) {
      for (index batch : {1, 7, 129}) {
        const index f = 3, ld = e + 3;
        CAPTURE(e);
        CAPTURE(batch);
        tables t(f, e, ld, 1);
        recnas::rng r(9);
        const index ids_ld = f + 1;
        std::vector<std::int64_t> ids(static_cast<std::size_t>(batch * ids_ld));
        for (index b = 0; b < batch; ++b)
          for (index k = 0; k < f; ++k)
            ids[static_cast<std::size_t>(b * ids_ld + k)] = static_cast<std::int64_t>(
                r.uniform() * static_cast<double>(t.rows[static_cast<std::size_t>(k)]));
        const index ots = e + 1, obs = f * ots + 2;
        std::vector<float> out(static_cast<std::size_t>(batch * obs), -1.0f);
        rk::embedding_gather(t.view, ids.data(), ids_ld, batch,
                             {out.data(), batch, f, e, obs, ots});
        bool same = true;
        for (index b = 0; b < batch; ++b)
          for (index k = 0; k < f; ++k)
            for (index c = 0; c < e; ++c)
              same = same && out[static_cast<std::size_t>(b * obs + k * ots + c)] ==
                                 t.data[static_cast<std::size_t>(k)][static_cast<std::size_t>(
                                     ids[static_cast<std::size_t>(b * ids_ld + k)] * ld + c)];
        CHECK(same);
        CHECK(out[static_cast<std::size_t>(e)] == -1.0f);  // padding untouched
        // backward
        auto dout = kt::random_vec(out.size(), 3);
        std::vector<std::vector<std::int64_t>> uid(
            static_cast<std::size_t>(f),
            std::vector<std::int64_t>(static_cast<std::size_t>(batch)));
        std::vector<std::vector<float>> ug(static_cast<std::size_t>(f),
                                           std::vector<float>(static_cast<std::size_t>(batch * e)));
        std::vector<rk::sparse_rows> sp;
        for (index k = 0; k < f; ++k)
          sp.push_back({uid[static_cast<std::size_t>(k)].data(),
                        ug[static_cast<std::size_t>(k)].data(), e, batch, 0});
        std::vector<std::int64_t> ws(
            static_cast<std::size_t>(rk::embedding_backward_workspace(batch, f)));
        rk::embedding_gather_backward(t.view, ids.data(), ids_ld, batch,
                                      {dout.data(), batch, f, e, obs, ots}, sp, ws);
        for (index k = 0; k < f; ++k) {
          const auto& s = sp[static_cast<std::size_t>(k)];
          std::vector<double> dense(
              static_cast<std::size_t>(t.rows[static_cast<std::size_t>(k)] * e), 0.0);
          for (index b = 0; b < batch; ++b)
            for (index c = 0; c < e; ++c)
              dense[static_cast<std::size_t>(ids[static_cast<std::size_t>(b * ids_ld + k)] * e +
                                             c)] +=
                  dout[static_cast<std::size_t>(b * obs + k * ots + c)];
          index nonzero_rows = 0;
          std::vector<bool> touched(static_cast<std::size_t>(t.rows[static_cast<std::size_t>(k)]),
                                    false);
          for (index b = 0; b < batch; ++b)
            touched[static_cast<std::size_t>(ids[static_cast<std::size_t>(b * ids_ld + k)])] = true;
          for (bool x : touched) nonzero_rows += x ? 1 : 0;
          CHECK(s.count == nonzero_rows);
          for (index j = 0; j < s.count; ++j) {
            if (j > 0) CHECK(s.ids[j] > s.ids[j - 1]);
            for (index c = 0; c < e; ++c)
              CHECK(
                  s.grads[j * s.ld + c] ==
                  doctest::Approx(dense[static_cast<std::size_t>(s.ids[j] * e + c)]).epsilon(1e-5));
          }
        }
      }
    }
  }
}

TEST_CASE("embedding gather's dense backward is the scalar scatter-add, bit for bit") {
  // The supernet's stem backward: rows += dOut in example order, so repeated ids within a
  // batch and non-zero starting gradients give exactly the scalar loop's sums.
  for (auto level : kt::isa_levels()) {
    recnas::simd::scoped_isa guard(level);
    for (int threads : {1, 2}) {
      // 4000 x 4 x 16 floats: two chunks of features at two threads.
      recnas::parallel::with_threads(threads, [&] {
        for (index e : {1, 16, 17}) {
          const index f = 4, batch = 4000, ld = e;
          CAPTURE(e);
          tables t(f, e, ld, 2);
          recnas::rng r(5);
          const index ids_ld = f;
          std::vector<std::int64_t> ids(static_cast<std::size_t>(batch * ids_ld));
          for (index b = 0; b < batch; ++b)
            for (index k = 0; k < f; ++k)  // few rows: every row repeats many times
              ids[static_cast<std::size_t>(b * ids_ld + k)] = static_cast<std::int64_t>(
                  r.uniform() * static_cast<double>(t.rows[static_cast<std::size_t>(k)]));
          const index ots = e, obs = f * ots + 3;
          const auto dout = kt::random_vec(static_cast<std::size_t>(batch * obs), 8);
          std::vector<std::vector<float>> got, want;
          for (index k = 0; k < f; ++k) {
            got.push_back(kt::random_vec(
                static_cast<std::size_t>(t.rows[static_cast<std::size_t>(k)] * ld), 20 + k));
            want.push_back(got.back());
          }
          std::vector<float*> dt;
          for (auto& g : got) dt.push_back(g.data());
          rk::embedding_gather_backward_dense(t.view, ids.data(), ids_ld, batch,
                                              {dout.data(), batch, f, e, obs, ots}, dt);
          for (index b = 0; b < batch; ++b)
            for (index k = 0; k < f; ++k)
              for (index c = 0; c < e; ++c)
                want[static_cast<std::size_t>(k)][static_cast<std::size_t>(
                    ids[static_cast<std::size_t>(b * ids_ld + k)] * ld + c)] +=
                    dout[static_cast<std::size_t>(b * obs + k * ots + c)];
          CHECK(got == want);
        }
      });
    }
  }
  tables t(2, 4, 4, 1);
  std::vector<std::int64_t> bad{0, 99};
  std::vector<float> dout(8), g0(static_cast<std::size_t>(t.rows[0] * 4)),
      g1(static_cast<std::size_t>(t.rows[1] * 4));
  std::vector<float*> dt{g0.data(), g1.data()};
  CHECK_THROWS_AS(
      rk::embedding_gather_backward_dense(t.view, bad.data(), 2, 1, {dout.data(), 1, 2, 4}, dt),
      recnas::contract_error);
}

TEST_CASE("embedding bag (sum, mean, empty bags) and its sparse backward") {
  for (auto level : kt::isa_levels()) {
    recnas::simd::scoped_isa guard(level);
    for (auto mode : {rk::bag_mode::sum, rk::bag_mode::mean}) {
      const index f = 2, e = 17, ld = 17, batch = 9;
      tables t(f, e, ld, 4);
      recnas::rng r(2);
      std::vector<index> offsets{0};
      std::vector<std::int64_t> ids;
      for (index b = 0; b < batch; ++b)
        for (index k = 0; k < f; ++k) {
          const index n = (b + k) % 4;  // includes empty bags
          for (index j = 0; j < n; ++j)
            ids.push_back(static_cast<std::int64_t>(
                r.uniform() * static_cast<double>(t.rows[static_cast<std::size_t>(k)])));
          offsets.push_back(static_cast<index>(ids.size()));
        }
      const rk::bag_ids bags{ids.data(), offsets.data()};
      std::vector<float> out(static_cast<std::size_t>(batch * f * e)), outr(out.size());
      rk::embedding_bag(t.view, bags, mode, batch, {out.data(), batch, f, e});
      rk::embedding_bag_ref(t.view, bags, mode, batch, {outr.data(), batch, f, e});
      CHECK(kt::close(out, outr, 1e-5, 1e-5));
      auto dout = kt::random_vec(out.size(), 5);
      std::vector<std::vector<float>> dense(static_cast<std::size_t>(f));
      std::vector<float*> dptr;
      for (index k = 0; k < f; ++k) {
        dense[static_cast<std::size_t>(k)].assign(
            static_cast<std::size_t>(t.rows[static_cast<std::size_t>(k)] * e), 0.0f);
        dptr.push_back(dense[static_cast<std::size_t>(k)].data());
      }
      rk::embedding_bag_backward_dense_ref(t.view, bags, mode, batch, {dout.data(), batch, f, e},
                                           dptr);
      const auto cap = static_cast<index>(ids.size());
      std::vector<std::vector<std::int64_t>> uid(static_cast<std::size_t>(f),
                                                 std::vector<std::int64_t>(ids.size()));
      std::vector<std::vector<float>> ug(
          static_cast<std::size_t>(f),
          std::vector<float>(ids.size() * static_cast<std::size_t>(e)));
      std::vector<rk::sparse_rows> sp;
      for (index k = 0; k < f; ++k)
        sp.push_back({uid[static_cast<std::size_t>(k)].data(),
                      ug[static_cast<std::size_t>(k)].data(), e, cap, 0});
      std::vector<std::int64_t> ws(
          static_cast<std::size_t>(rk::embedding_bag_backward_workspace(cap, batch, f)));
      rk::embedding_bag_backward(t.view, bags, mode, batch, {dout.data(), batch, f, e}, sp, ws);
      for (index k = 0; k < f; ++k) {
        std::vector<float> rebuilt(dense[static_cast<std::size_t>(k)].size(), 0.0f);
        const auto& s = sp[static_cast<std::size_t>(k)];
        for (index j = 0; j < s.count; ++j)
          for (index c = 0; c < e; ++c)
            rebuilt[static_cast<std::size_t>(s.ids[j] * e + c)] = s.grads[j * s.ld + c];
        CHECK(kt::close(rebuilt, dense[static_cast<std::size_t>(k)], 1e-5, 1e-5));
      }
    }
  }
}

TEST_CASE("embedding rejects out-of-range ids before doing any work") {
  tables t(1, 4, 4, 1);
  std::vector<std::int64_t> ids{0, 99};
  std::vector<float> out(8);
  CHECK_THROWS_AS(rk::embedding_gather(t.view, ids.data(), 1, 2, {out.data(), 2, 1, 4}),
                  recnas::contract_error);
}

}  // namespace
