// Seconds per EM iteration of the C++ core alone (no Python), for profiling
// the kernels with perf / callgrind and for the before/after numbers in
// bench/NOTES.md. The problem is bench_em.py's: K clusters with means
// ~ N(0, 4^2) per coordinate and per-coordinate scales in [0.5, 1.5]; the
// start is K data rows as means, the data covariance for every component and
// equal weights. (Same recipe, different random numbers than NumPy's.)
//
// Build and run (threads 0 = all cores):
//   cmake -S . -B build/bench -G Ninja -DGAUSSMIX_BUILD_BENCH=ON -DGAUSSMIX_BUILD_TESTS=OFF
//   cmake --build build/bench --target em_iteration
//   build/bench/em_iteration N D K [float|double] [iterations] [threads]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <gaussmix/gaussmix.hpp>

namespace {

using gaussmix::Index;
using gaussmix::RowMatrix;

struct Problem {
  RowMatrix<double> x;
  gaussmix::Mixture<double> start;
};

Problem make_problem(Index n, Index d, Index k, unsigned seed = 0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> uniform(0.5, 1.5);
  std::uniform_int_distribution<Index> label(0, k - 1);
  RowMatrix<double> centres(k, d), scales(k, d);
  for (Index i = 0; i < k * d; ++i) centres.data()[i] = 4.0 * normal(rng);
  for (Index i = 0; i < k * d; ++i) scales.data()[i] = uniform(rng);
  RowMatrix<double> x(n, d);
  for (Index i = 0; i < n; ++i) {
    const Index c = label(rng);
    for (Index j = 0; j < d; ++j) x(i, j) = centres(c, j) + scales(c, j) * normal(rng);
  }
  const Eigen::RowVectorXd mean = x.colwise().mean();
  const RowMatrix<double> centred = x.rowwise() - mean;
  const Eigen::MatrixXd cov = (centred.transpose() * centred) / static_cast<double>(n - 1);
  RowMatrix<double> means(k, d);
  std::uniform_int_distribution<Index> row(0, n - 1);
  for (Index c = 0; c < k; ++c) means.row(c) = x.row(row(rng));
  return {x, gaussmix::Mixture<double>(Eigen::VectorXd::Constant(k, 1.0 / static_cast<double>(k)), means,
                                       std::vector<Eigen::MatrixXd>(static_cast<std::size_t>(k), cov))};
}

template <typename Scalar>
void run(const Problem& p, int iterations, int threads) {
  const RowMatrix<Scalar> x = p.x.cast<Scalar>();
  const gaussmix::Mixture<Scalar> start(p.start.weights(), p.start.means(), p.start.covariances());
  gaussmix::EmOptions<Scalar> options;
  options.delta_stop = -1.0;
  options.execution.n_threads = threads;
  options.max_iter = 1;
  gaussmix::fit_em<Scalar>(x, start, options);  // warm-up: page in X, spin up the threads
  options.max_iter = iterations;
  const auto t0 = std::chrono::steady_clock::now();
  const auto result = gaussmix::fit_em<Scalar>(x, start, options);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%.6f s/iter  logL %.12g\n", seconds / iterations, result.log_likelihood);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s N D K [float|double] [iterations] [threads]\n", argv[0]);
    return 2;
  }
  const Index n = std::atol(argv[1]), d = std::atol(argv[2]), k = std::atol(argv[3]);
  const std::string precision = argc > 4 ? argv[4] : "double";
  const int iterations = argc > 5 ? std::atoi(argv[5]) : 5;
  const int threads = argc > 6 ? std::atoi(argv[6]) : 0;
  const Problem p = make_problem(n, d, k);
  if (precision == "float")
    run<float>(p, iterations, threads);
  else
    run<double>(p, iterations, threads);
  return 0;
}
