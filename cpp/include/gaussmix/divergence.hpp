#pragma once
/** @file divergence.hpp
 *  Closed-form similarity and divergence between Gaussian components, for all
 *  K x K pairs of a mixture.
 */
#include <cmath>
#include <string>
#include <vector>

#include "detail/config.hpp"
#include "errors.hpp"

#include <Eigen/Cholesky>

namespace gaussmix {

namespace detail {

/** log det of an SPD matrix from its Cholesky factor. */
inline double log_det_spd(const Eigen::LLT<Eigen::MatrixXd>& llt) {
  return 2.0 * llt.matrixLLT().diagonal().array().log().sum();
}

inline Eigen::LLT<Eigen::MatrixXd> factor_spd(const Eigen::MatrixXd& s, const std::string& what) {
  Eigen::LLT<Eigen::MatrixXd> llt(s);
  if (llt.info() != Eigen::Success || !llt.matrixLLT().diagonal().allFinite())
    throw CovProblem(what + ": covariance is not positive definite");
  return llt;
}

/** Both Gaussians must be of one dimension D >= 1 with D x D covariances. */
inline void check_pair(const char* func, const Eigen::VectorXd& mu1, const Eigen::MatrixXd& s1,
                       const Eigen::VectorXd& mu2, const Eigen::MatrixXd& s2) {
  const Index d = mu1.size();
  if (d < 1 || mu2.size() != d || s1.rows() != d || s1.cols() != d || s2.rows() != d || s2.cols() != d)
    invalid_argument(std::string(func) + ": both Gaussians need means of one length D >= 1 and D x D covariances");
}

}  // namespace detail

/**
 * Bhattacharyya coefficient (Hellinger affinity) of two Gaussians,
 * integral sqrt(p q) dx = exp(-D_B) with
 * D_B = (mu1-mu2)^T S^{-1} (mu1-mu2) / 8 + log(det S / sqrt(det S1 det S2)) / 2,
 * S = (S1 + S2) / 2. 1 for identical distributions, towards 0 for disjoint ones.
 * @throws CovProblem if a covariance is not positive definite.
 */
inline double hellinger_affinity(const Eigen::VectorXd& mu1, const Eigen::MatrixXd& s1,
                                 const Eigen::VectorXd& mu2, const Eigen::MatrixXd& s2) {
  detail::check_pair("hellinger_affinity", mu1, s1, mu2, s2);
  const auto l1 = detail::factor_spd(s1, "first"), l2 = detail::factor_spd(s2, "second");
  const auto l = detail::factor_spd(0.5 * (s1 + s2), "average");
  const Eigen::VectorXd diff = mu1 - mu2;
  const double maha = diff.dot(l.solve(diff));
  const double db = maha / 8.0 + 0.5 * (detail::log_det_spd(l) - 0.5 * (detail::log_det_spd(l1) + detail::log_det_spd(l2)));
  return std::exp(-db);
}

/**
 * KL(N(mu2, S2) || N(mu1, S1)) in PyPR's argument order:
 * (tr(S1^{-1} S2) + (mu1-mu2)^T S1^{-1} (mu1-mu2) - D + log(det S1 / det S2)) / 2.
 * @throws CovProblem if a covariance is not positive definite.
 */
inline double kl_divergence(const Eigen::VectorXd& mu1, const Eigen::MatrixXd& s1, const Eigen::VectorXd& mu2,
                            const Eigen::MatrixXd& s2) {
  detail::check_pair("kl_divergence", mu1, s1, mu2, s2);
  const auto l1 = detail::factor_spd(s1, "first"), l2 = detail::factor_spd(s2, "second");
  const Eigen::VectorXd diff = mu1 - mu2;
  const double trace = l1.solve(s2).trace();
  const double maha = diff.dot(l1.solve(diff));
  const double d = static_cast<double>(mu1.size());
  return 0.5 * (trace + maha - d + detail::log_det_spd(l1) - detail::log_det_spd(l2));
}

/** The pairwise measures find_density_diff offers. */
enum class PairwiseMeasure { hellinger, kl };

/**
 * K x K matrix with out(i, j) = measure(mu_i, S_i, mu_j, S_j) for i <= j (upper
 * triangle, diagonal included) and 0 below the diagonal, as PyPR's
 * find_density_diff.
 * @throws CovProblem if a covariance is not positive definite.
 * @throws std::invalid_argument if shapes disagree or D = 0.
 */
inline Eigen::MatrixXd pairwise(const RowMatrix<double>& means, const std::vector<Eigen::MatrixXd>& covs,
                                PairwiseMeasure measure) {
  const Index k = means.rows();
  if (static_cast<Index>(covs.size()) != k) detail::invalid_argument("pairwise: one covariance per mean is needed");
  const Index d = means.cols();
  if (d < 1) detail::invalid_argument("pairwise: the dimension D must be at least 1");
  for (const auto& s : covs)
    if (s.rows() != d || s.cols() != d)
      detail::invalid_argument("pairwise: every covariance must be " + std::to_string(d) + " x " + std::to_string(d));
  Eigen::MatrixXd out = Eigen::MatrixXd::Zero(k, k);
  for (Index i = 0; i < k; ++i)
    for (Index j = i; j < k; ++j) {
      const Eigen::VectorXd mi = means.row(i).transpose(), mj = means.row(j).transpose();
      const auto& si = covs[static_cast<std::size_t>(i)];
      const auto& sj = covs[static_cast<std::size_t>(j)];
      out(i, j) = measure == PairwiseMeasure::hellinger ? hellinger_affinity(mi, si, mj, sj)
                                                        : kl_divergence(mi, si, mj, sj);
    }
  return out;
}

}  // namespace gaussmix
