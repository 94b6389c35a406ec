#pragma once
/** @file far_rows.hpp
 *  Rows far from every component, in units of its standard deviations: the
 *  kernels' squared Mahalanobis distances lose the information that decides
 *  the posterior (each is exact to eps times itself, and their differences
 *  are what counts) or overflow (beyond ~1.8e308: a row at 1e160 for unit
 *  variances has every weighted log-density -inf), yet the posterior is well
 *  defined, and the log-density may still be a double.
 *
 *  With x = s u (s a power of two, |u| <= 1: exact) and z_k = (u - mean_k /
 *  s)^T W_k (W_k component k's whitening), the weighted log-density is
 *  L_k = g_k - (s^2 / 2) |z_k|^2, g_k = log w_k - (D log 2 pi + log det_k) / 2,
 *  and
 *      L_k - L_j = g_k - g_j - (s^2 / 2) (z_k - z_j) . (z_k + z_j),
 *  where for two components of the same shape (tied, equal variances)
 *  z_k - z_j = ((mean_j - mean_k) / s)^T W exactly: the linear term that
 *  decides between them, which x - mean_k rounded in the data's scale loses.
 *  Products of s are taken one factor at a time: a difference beyond
 *  double's range is -inf (a posterior of exactly 0), not NaN.
 *  Only the rows the kernels cannot score well come here: O(K D^2) each.
 */
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "../gaussian.hpp"
#include "../mixture.hpp"
#include "config.hpp"

namespace gaussmix::detail {

/** A row whose largest weighted log-density lies below -far_row_log_density<Scalar>()
 *  (or is -inf) is scored by far_row_posterior: the kernels' log-densities
 *  are exact to about eps times themselves, so beyond this their
 *  differences, which make the posterior, would be off by more than 1e-3. */
template <typename Scalar>
constexpr double far_row_log_density() {
  return 1e-3 / static_cast<double>(std::numeric_limits<Scalar>::epsilon());
}

/** -sum_k p_k log p_k of the posterior p = softmax(log_weights): with
 *  a = log_weights - max and e = exp(a), log(sum e) - sum_k e_k a_k / sum e;
 *  a term with e_k = 0 (a_k = -inf or below exp's range) adds nothing. The
 *  scalar form of normalise_rows' vectorised one, for the rows scored one
 *  at a time (far rows, rows with missing values). */
template <typename LogWeights>  // a vector expression of doubles: no copy of a row
double posterior_entropy(const LogWeights& log_weights) {
  const double top = log_weights.maxCoeff();
  double sum = 0.0, weighted = 0.0;
  for (Index k = 0; k < log_weights.size(); ++k) {
    const double a = log_weights[k] - top, e = std::exp(a);
    sum += e;
    if (e > 0.0) weighted += e * a;
  }
  return std::log(sum) - weighted / sum;
}

/**
 * Row x's log-posteriors relative to its most probable component, into
 * delta (K entries: 0 there, <= 0 elsewhere, -inf where the difference is
 * beyond double's range), and its log-density (-inf only when it is below
 * double's range). Returns the most probable component (ties: the lowest
 * index). x must be finite.
 */
template <typename Scalar, typename Row>
Index far_row_posterior(const Row& x, const Mixture<Scalar>& mix, Eigen::VectorXd& delta, double& log_density) {
  constexpr double kMinusInf = -std::numeric_limits<double>::infinity();
  const Index k_count = mix.n_components(), d = mix.dim();
  const CovarianceType type = mix.covariance_type();
  const bool whitening = type == CovarianceType::full || type == CovarianceType::tied;
  const Eigen::RowVectorXd xd = x.template cast<double>();
  int exponent = 0;
  std::frexp(xd.cwiseAbs().maxCoeff(), &exponent);
  const double s = std::ldexp(1.0, exponent);
  const double inverse_s = std::ldexp(1.0, -exponent);
  const Eigen::RowVectorXd u = xd * inverse_s;
  const auto whiten = [&](const Eigen::RowVectorXd& v, Index k) -> Eigen::RowVectorXd {
    if (whitening) return v * mix.padded_whitening(k).leftCols(d).template cast<double>();
    return v.cwiseProduct(mix.inverse_sd().row(k).template cast<double>());
  };
  const auto same_shape = [&](Index k, Index j) {
    if (type == CovarianceType::tied) return true;
    if (whitening) return mix.padded_whitening(k) == mix.padded_whitening(j);
    return mix.inverse_sd().row(k) == mix.inverse_sd().row(j);
  };
  std::vector<Eigen::RowVectorXd> z(static_cast<std::size_t>(k_count));
  Eigen::VectorXd g(k_count);
  for (Index k = 0; k < k_count; ++k) {
    z[static_cast<std::size_t>(k)] = whiten(u - mix.means().row(k) * inverse_s, k);
    g[k] = mix.log_weights()[k] - 0.5 * (static_cast<double>(d) * kLog2Pi + mix.log_det(k));
  }
  // -(s^2 / 2) p without forming s^2.
  const auto scaled = [s](double p) { return p == 0.0 ? 0.0 : -((s * p) * (s * 0.5)); };
  const auto difference = [&](Index k, Index j) {  // L_k - L_j
    if (g[k] == kMinusInf) return kMinusInf;  // a zero weight
    const auto& zk = z[static_cast<std::size_t>(k)];
    const auto& zj = z[static_cast<std::size_t>(j)];
    const Eigen::RowVectorXd apart =
        same_shape(k, j) ? whiten((mix.means().row(j) - mix.means().row(k)) * inverse_s, k) : Eigen::RowVectorXd(zk - zj);
    return scaled(apart.dot(zk + zj)) + (g[k] - g[j]);
  };
  Index ref = 0;
  while (g[ref] == kMinusInf) ++ref;  // the weights sum to 1
  for (Index k = ref + 1; k < k_count; ++k)
    if (difference(k, ref) > 0.0) ref = k;
  // Pairwise differences are exact only to rounding: take the largest
  // difference from ref as the most probable component.
  delta.resize(k_count);
  for (Index k = 0; k < k_count; ++k) delta[k] = k == ref ? 0.0 : difference(k, ref);
  Index best = 0;
  for (Index k = 1; k < k_count; ++k)
    if (delta[k] > delta[best]) best = k;
  const double top = delta[best];
  double sum = 0.0;
  for (Index k = 0; k < k_count; ++k) {
    delta[k] = k == best ? 0.0 : delta[k] - top;
    sum += std::exp(delta[k]);
  }
  log_density = g[ref] + scaled(z[static_cast<std::size_t>(ref)].squaredNorm()) + top + std::log(sum);
  if (!std::isfinite(log_density)) log_density = kMinusInf;
  return best;
}

}  // namespace gaussmix::detail
