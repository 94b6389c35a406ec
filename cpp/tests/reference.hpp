#pragma once
/** @file reference.hpp
 *  Test data and textbook formulas, written out independently of the core:
 *  densities through an explicit inverse and determinant (the core uses a
 *  pivoted LDLT and a whitening matrix), two-pass moments, per-row loops.
 */
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <gaussmix/gaussmix.hpp>

#include <Eigen/LU>  // inverse() and determinant(), which the core does not use

namespace reference {

using RowMatrix = gaussmix::RowMatrix<double>;

constexpr double kPi = 3.14159265358979323846;

/** log N(x | mean, cov) = -(D log 2 pi + log det cov + (x-mean)^T cov^{-1} (x-mean)) / 2. */
inline double log_normal(const Eigen::VectorXd& x, const Eigen::VectorXd& mean, const Eigen::MatrixXd& cov) {
  const Eigen::VectorXd d = x - mean;
  const double maha = d.dot(cov.inverse() * d);
  return -0.5 * (static_cast<double>(x.size()) * std::log(2.0 * kPi) + std::log(cov.determinant()) + maha);
}

/** p(i, k) = w_k N(x_i | mu_k, S_k) / sum_j w_j N(x_i | mu_j, S_j), and log p(x_i) in log_px. */
inline RowMatrix responsibilities(const RowMatrix& x, const gaussmix::Mixture<double>& mix,
                                  Eigen::VectorXd& log_px) {
  const gaussmix::Index n = x.rows(), k_count = mix.n_components();
  RowMatrix r(n, k_count);
  log_px.resize(n);
  for (gaussmix::Index i = 0; i < n; ++i) {
    Eigen::VectorXd lp(k_count);
    for (gaussmix::Index k = 0; k < k_count; ++k)
      lp[k] = std::log(mix.weights()[k]) + log_normal(x.row(i).transpose(), mix.means().row(k).transpose(),
                                                     mix.covariances()[static_cast<std::size_t>(k)]);
    const double top = lp.maxCoeff();
    log_px[i] = top + std::log((lp.array() - top).exp().sum());
    r.row(i) = (lp.array() - log_px[i]).exp().matrix().transpose();
  }
  return r;
}

/** n rows around the given centres (K x D), round robin, with N(0, spread^2 I) noise;
 *  the same rows for the same seed on a given standard library. */
inline RowMatrix clustered_data(gaussmix::Index n, const RowMatrix& centres, double spread, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::normal_distribution<double> noise(0.0, spread);
  RowMatrix x(n, centres.cols());
  for (gaussmix::Index i = 0; i < n; ++i)
    for (gaussmix::Index j = 0; j < centres.cols(); ++j) x(i, j) = centres(i % centres.rows(), j) + noise(engine);
  return x;
}

/** A K-component mixture with the given means, equal weights and covariance scale^2 I. */
inline gaussmix::Mixture<double> isotropic_mixture(const RowMatrix& means, double scale) {
  const gaussmix::Index k = means.rows(), d = means.cols();
  return gaussmix::Mixture<double>(Eigen::VectorXd::Constant(k, 1.0 / static_cast<double>(k)), means,
                                   std::vector<Eigen::MatrixXd>(static_cast<std::size_t>(k),
                                                                scale * scale * Eigen::MatrixXd::Identity(d, d)));
}

inline RowMatrix rows(std::initializer_list<std::initializer_list<double>> values) {
  RowMatrix m(static_cast<gaussmix::Index>(values.size()), static_cast<gaussmix::Index>(values.begin()->size()));
  gaussmix::Index i = 0;
  for (const auto& row : values) {
    gaussmix::Index j = 0;
    for (double v : row) m(i, j++) = v;
    ++i;
  }
  return m;
}

}  // namespace reference
