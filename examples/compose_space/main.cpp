// The README's example: compose a search space from policy types, sample a subnet, run it in
// the supernet (only its active slices), and count its FLOPs. Kept in sync with README.md.
#include <cstdio>
#include <vector>

#include <recnas/recnas.hpp>

namespace sn = recnas::supernet;
namespace op = recnas::ops;

// Compile time owns the vocabulary; run time owns the choice.
using my_space =
    sn::space<sn::blocks<5>, sn::dense_ops<op::fc, op::dot_product, op::sum>,
              sn::sparse_ops<op::efc, op::attention>,
              sn::mergers<op::dense_to_sparse, op::sparse_to_dense>,
              sn::dense_dims<16, 32, 64, 128, 256, 512>, sn::sparse_dims<16, 32, 48, 64>,
              recnas::connect::dense<4>>;  // any <= 4 earlier outputs

int main() {
  const auto shape = sn::data_shape::criteo(/*rows per table=*/1000);
  recnas::rng gen(42);
  const auto arch = sn::random_architecture<my_space>(gen);            // per-block runtime indices
  sn::supernet<my_space> net(shape, {.layernorm = true}, /*seed=*/1);  // largest widths, once

  const recnas::index B = 32;  // a random batch: 13 dense features, 26 categorical ids
  std::vector<float> dense(B * 13), logits(B);
  std::vector<std::int32_t> ids(B * 26);
  for (auto& x : dense) x = static_cast<float>(gen.uniform());
  for (auto& i : ids) i = static_cast<std::int32_t>(gen.below(1000));
  sn::ctr_batch batch{B, {dense.data(), B, 13}, ids.data(), nullptr, 26};
  sn::workspace<float> ws;
  net.forward(arch, batch, ws, logits);  // computes only the active slices

  const auto rep = sn::analyze<my_space>(arch, shape, /*layernorm=*/true);
  std::printf("10^%.1f architectures; this one: %.3f MFLOPs, logit[0] = %.4f\n",
              sn::log10_space_size<my_space>(), rep.mflops(), static_cast<double>(logits[0]));
  return 0;
}
