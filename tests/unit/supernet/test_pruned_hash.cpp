// pruned_hash: encodings that prune to one network hash alike (dead blocks and what no running
// operator reads do not count); a change to the live network changes it.
#include <doctest/doctest.h>

#include <recnas/search/nas.hpp>
#include <recnas/supernet/plan.hpp>
#include <recnas/supernet/supernet.hpp>

namespace sn = recnas::supernet;

TEST_CASE("pruned_hash ignores dead blocks and follows the live network") {
  using S = sn::nasrec_full;
  const auto ds = sn::data_shape::criteo();
  recnas::search::architecture_domain<S> dom;
  recnas::rng g = recnas::rng::stream(7, 0x9A11);
  int dead_checked = 0, live_checked = 0;
  for (int t = 0; t < 400 && (dead_checked < 20 || live_checked < 20); ++t) {
    const auto a = dom.random(g);
    const auto plan = sn::make_plan<S>(a, ds);
    const auto h = sn::pruned_hash<S>(a, ds);
    CHECK(h == sn::pruned_hash<S>(a, ds));
    for (std::size_t i = 0; i < a.blocks.size(); ++i) {
      auto b = a;
      if (!plan.blocks[i].live()) {
        // any other operators for a block that nobody reads: the same network
        b.blocks[i].dense_op = (a.blocks[i].dense_op + 1) % S::num_dense_ops;
        b.blocks[i].sparse_op = (a.blocks[i].sparse_op + 1) % S::num_sparse_ops;
        sn::validate<S>(b);
        CHECK(b.hash() != a.hash());
        CHECK(sn::pruned_hash<S>(b, ds) == h);
        ++dead_checked;
      } else if (plan.blocks[i].run_dense && i + 1 == a.blocks.size()) {
        // the head's block with another dense operator: another network
        b.blocks[i].dense_op = (a.blocks[i].dense_op + 1) % S::num_dense_ops;
        sn::validate<S>(b);
        CHECK(sn::pruned_hash<S>(b, ds) != h);
        ++live_checked;
      }
    }
  }
  CHECK(dead_checked >= 20);
  CHECK(live_checked >= 20);
}
