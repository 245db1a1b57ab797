#include <cstdio>

#include <recnas/recnas.hpp>

int main() {
  // Touch every layer a consumer links against: Eigen views, the RNG, TBB, dispatched kernels.
  recnas::matrix<float> m(3, 5);
  m(2, 4) = 1.5f;
  recnas::rng g(7);
  const auto& peak = recnas::kernels::peak();
  const float s = peak.fma_chains(10, 1.0f);
  const double total = recnas::parallel::with_threads(1, [&] { return m.view().eigen().sum(); });
  std::printf("recnas %s isa=%s lanes=%d sum=%.1f check=%d\n", recnas::version_string.data(),
              recnas::simd::to_string(recnas::simd::dispatcher<recnas::kernels::peak_table>::selected()).data(),
              peak.lanes, total, s > 0.0f ? 1 : 0);
  return (total == 1.5 && g.below(10) < 10) ? 0 : 1;
}
