// Armadillo's gmm_diag / gmm_full as a timed peer for bench/bench_em.py: EM
// from given parameters on given data, seconds per iteration.
//
// bench_em.py writes the problem to a directory and compiles this file on
// demand when Armadillo's headers are installed (Debian: libarmadillo-dev):
//
//   g++ -std=c++17 -O3 -march=native -fopenmp bench/cpp/armadillo_gmm.cpp -o armadillo_gmm -larmadillo
//   armadillo_gmm DIR diag|full float|double N D K ITERS REPEATS
//
// DIR holds raw little-endian files written by NumPy's tofile():
//   x.bin        N x D, row-major, float32 or float64 as the third argument
//                (= Armadillo's column-major D x N: one column per row of X, no transpose)
//   weights.bin  K float64
//   means.bin    K x D float64, row-major
//   covs.bin     diag: K x D variances; full: K x D x D covariances (float64)
//
// Seconds per iteration are a difference, as bench_em.py does for
// scikit-learn: learn(em_iter = ITERS) minus learn(em_iter = 1), divided by
// ITERS - 1, each the best of REPEATS calls after one warm-up. That leaves
// out learn()'s fixed cost (a copy of the model, an is_finite() pass over X,
// the final init_constants()). learn() runs with keep_existing seeds, no
// k-means (km_iter = 0), eucl_dist (maha_dist would add a variance pass over
// X that EM does not use) and var_floor = 0, which Armadillo replaces by the
// smallest normal number: no flooring on this data.
//
// Output, one line: "seconds_per_iter S total_over_iters T avg_log_p L threads P"
// with T = the ITERS-iteration call / ITERS (fixed cost included) and L =
// avg_log_p(X) under the parameters after ITERS iterations, for the
// log-likelihood check against gaussmix.
#include <armadillo>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

template <typename T>
arma::Mat<T> read_matrix(const std::string& path, arma::uword rows, arma::uword cols) {
  arma::Mat<T> m(rows, cols);
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error("cannot open " + path);
  const std::size_t n = std::fread(m.memptr(), sizeof(T), m.n_elem, f);
  std::fclose(f);
  if (n != m.n_elem) throw std::runtime_error("short read from " + path);
  return m;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/** The start parameters into gmm_diag<eT> / gmm_full<eT>; covs as read from covs.bin. */
template <typename eT>
void set_start(arma::gmm_priv::gmm_diag<eT>& model, const arma::Mat<eT>& means, const arma::Mat<double>& covs,
               const arma::Row<eT>& hefts, arma::uword, arma::uword) {
  model.set_params(means, arma::conv_to<arma::Mat<eT>>::from(covs), hefts);  // covs: D x K
}

template <typename eT>
void set_start(arma::gmm_priv::gmm_full<eT>& model, const arma::Mat<eT>& means, const arma::Mat<double>& covs,
               const arma::Row<eT>& hefts, arma::uword d, arma::uword k) {
  arma::Cube<eT> fcovs(d, d, k);
  for (arma::uword c = 0; c < k; ++c)
    fcovs.slice(c) = arma::conv_to<arma::Mat<eT>>::from(covs.cols(c * d, (c + 1) * d - 1));  // symmetric
  model.set_params(means, fcovs, hefts);
}

template <typename Model, typename eT>
int run(const std::string& dir, arma::uword n, arma::uword d, arma::uword k, arma::uword iters, int repeats,
        bool full) {
  const arma::Mat<eT> x = read_matrix<eT>(dir + "/x.bin", d, n);
  const arma::Row<eT> hefts = arma::conv_to<arma::Row<eT>>::from(read_matrix<double>(dir + "/weights.bin", 1, k));
  const arma::Mat<eT> means = arma::conv_to<arma::Mat<eT>>::from(read_matrix<double>(dir + "/means.bin", d, k));
  // diag: K x D row-major = D x K column-major; full: K x D x D row-major = D x (K D), slice c in columns c D..
  const arma::Mat<double> covs = read_matrix<double>(dir + "/covs.bin", d, full ? k * d : k);

  Model model;
  auto fit = [&](arma::uword em_iter) {
    set_start(model, means, covs, hefts, d, k);
    const auto t0 = std::chrono::steady_clock::now();
    const bool ok = model.learn(x, k, arma::eucl_dist, arma::keep_existing, 0, em_iter, eT(0), false);
    const double seconds = seconds_since(t0);
    if (!ok) throw std::runtime_error("learn() failed");
    return seconds;
  };
  auto best = [&](arma::uword em_iter) {
    double b = fit(em_iter);
    for (int r = 1; r < repeats; ++r) b = std::min(b, fit(em_iter));
    return b;
  };
  fit(1);  // warm-up: page in X, start OpenMP's threads
  const double one = best(1);
  const double total = best(iters);  // leaves the model after ITERS iterations
  const double avg_log_p = double(model.avg_log_p(x));
  int threads = 1;
#ifdef _OPENMP
  threads = omp_get_max_threads();
#endif
  std::printf("seconds_per_iter %.9g total_over_iters %.9g avg_log_p %.17g threads %d\n",
              (total - one) / double(iters - 1), total / double(iters), avg_log_p, threads);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 9) {
    std::fprintf(stderr, "usage: %s DIR diag|full float|double N D K ITERS REPEATS\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1], model = argv[2], dtype = argv[3];
  const arma::uword n = std::strtoull(argv[4], nullptr, 10), d = std::strtoull(argv[5], nullptr, 10),
                    k = std::strtoull(argv[6], nullptr, 10), iters = std::strtoull(argv[7], nullptr, 10);
  const int repeats = std::atoi(argv[8]);
  if (iters < 2 || repeats < 1 || (model != "diag" && model != "full") || (dtype != "float" && dtype != "double")) {
    std::fprintf(stderr, "bad arguments (ITERS >= 2, REPEATS >= 1, diag|full, float|double)\n");
    return 2;
  }
  try {
    if (model == "diag")
      return dtype == "double" ? run<arma::gmm_diag, double>(dir, n, d, k, iters, repeats, false)
                               : run<arma::fgmm_diag, float>(dir, n, d, k, iters, repeats, false);
    return dtype == "double" ? run<arma::gmm_full, double>(dir, n, d, k, iters, repeats, true)
                             : run<arma::fgmm_full, float>(dir, n, d, k, iters, repeats, true);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "armadillo_gmm: %s\n", e.what());
    return 1;
  }
}
