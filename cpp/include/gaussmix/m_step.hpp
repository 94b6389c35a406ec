#pragma once
/** @file m_step.hpp
 *  The maximum-likelihood M-step of every covariance model from
 *  SufficientStats (m_step, m_step_means), and the test of whether the
 *  statistics must be retaken around the new means before it
 *  (recentred_shifts): when a mean moves so far in one iteration that its
 *  variance would cancel (a start far from the data).
 */
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "detail/config.hpp"
#include "errors.hpp"
#include "mixture.hpp"
#include "sufficient_stats.hpp"

namespace gaussmix {

namespace detail {

/** What every M-step starts from: N_k + resp_offset, their total, and the
 *  offsets delta_k = first_k / (N_k + resp_offset) of the new means from the
 *  shifts. Checks the statistics' shapes and resp_offset. */
struct ComponentMoments {
  Eigen::VectorXd resp_sum;  ///< K: N_k + resp_offset
  double total = 0.0;        ///< sum_k of resp_sum
  RowMatrix<double> offsets;  ///< K x D: delta_k, row k
};

inline ComponentMoments component_moments(const char* func, const SufficientStats& stats, double resp_offset) {
  const Index k_count = stats.first.rows(), d = stats.first.cols();
  const CovarianceType type = stats.covariance_type;
  if (!std::isfinite(resp_offset) || resp_offset < 0.0)
    invalid_argument(std::string(func) + ": resp_offset must be finite and >= 0, got " + format_number(resp_offset));
  if (stats.n_rows <= 0) invalid_argument(std::string(func) + ": statistics of zero rows");
  bool shapes_agree = d >= 1 && k_count >= 1 && stats.resp_sum.size() == k_count && stats.shift.rows() == k_count &&
                      stats.shift.cols() == d;
  const SecondShape expected = second_shape(type, k_count, d);
  shapes_agree = shapes_agree && static_cast<Index>(stats.second.size()) == expected.count;
  for (const auto& m : stats.second) shapes_agree = shapes_agree && m.rows() == expected.rows && m.cols() == expected.cols;
  if (!shapes_agree)
    invalid_argument(std::string(func) + ": statistics of inconsistent shapes for the " + covariance_type_name(type) +
                     " model (K x D with D >= 1 expected)");
  ComponentMoments m;
  m.resp_sum = stats.resp_sum.array() + resp_offset;
  for (Index k = 0; k < k_count; ++k) {
    const double nk = m.resp_sum[k];
    if (!(nk > 0.0) || !std::isfinite(nk))
      throw CovProblem("component " + std::to_string(k) +
                       " has no responsibility left (it collapsed or moved away from the data)");
    m.total += nk;
  }
  m.offsets = stats.first;
  for (Index k = 0; k < k_count; ++k) m.offsets.row(k) /= m.resp_sum[k];
  return m;
}

}  // namespace detail

/** The M-step's mixing weights and means, without covariances (see m_step):
 *  what a start needs when its covariances come from elsewhere. */
struct WeightsAndMeans {
  Eigen::VectorXd weights;  ///< K, summing to 1
  RowMatrix<double> means;  ///< K x D
};

/**
 * w_k = (N_k + resp_offset) / sum_j (N_j + resp_offset) and
 * mean_k = shift_k + first_k / (N_k + resp_offset), as m_step computes them.
 * @throws CovProblem if a component has no responsibility (and resp_offset is 0).
 * @throws std::invalid_argument on statistics of inconsistent shapes or a bad resp_offset.
 */
inline WeightsAndMeans m_step_means(const SufficientStats& stats, double resp_offset = 0.0) {
  const detail::ComponentMoments m = detail::component_moments("m_step_means", stats, resp_offset);
  return {m.resp_sum / m.total, stats.shift + m.offsets};
}

namespace detail {

/** How much more than shift_tolerance a variance may lose before its
 *  statistics are retaken: the choice of shifts (Mixture::needs_own_shift)
 *  keeps every component within shift_tolerance of its current mean, and a
 *  mean that moves a little further in one iteration is not worth a pass. */
constexpr double kRecentringSlack = 10.0;

/** Statistics retaken at most this many times per E-step: the first retake
 *  leaves offsets of about eps x the distance moved, which a second retake
 *  removes even when that distance was beyond float's precision. */
constexpr int kMaxRecentring = 2;

}  // namespace detail

/**
 * Whether the M-step of stats would lose more than kRecentringSlack x
 * shift_tolerance<Scalar>() of a variance's relative precision to
 * cancellation, and if so the shifts to retake the statistics around (under
 * the same mixture, with accumulate_stats_around or its equivalent on other
 * data sources): each affected component's M-step mean, the others' shifts
 * unchanged. A variance taken around a shift s is the mean square around s
 * minus (mean - s)^2; when the mean moved many standard deviations away from
 * s in one iteration (a start far from the data), the two terms nearly cancel
 * and the rounding of the first, eps times it, swamps the variance (a
 * negative variance, or a covariance problem, where the data are fine).
 * Around the M-step's mean the retaken statistics are exact. Every model:
 * full and diag per variance, spherical per component, tied per pooled
 * variance (then every component is retaken: the pooled sums do not say
 * which component cancelled). Scalar: the precision of the kernels that
 * took the statistics.
 * @param shifts  set to the retake's K x D shifts when the result is true.
 * @throws CovProblem / std::invalid_argument as m_step_means.
 */
template <typename Scalar>
bool recentred_shifts(const SufficientStats& stats, double resp_offset, RowMatrix<double>& shifts) {
  const detail::ComponentMoments m = detail::component_moments("recentred_shifts", stats, resp_offset);
  const Index k_count = stats.first.rows(), d = stats.first.cols();
  const double eps = static_cast<double>(std::numeric_limits<Scalar>::epsilon());
  // term: the mean square around the shift (a sum of non-negative values, so
  // accurate to a few eps of itself); term - offset2: the variance it gives.
  const double ratio = detail::kRecentringSlack * detail::shift_tolerance<Scalar>() / eps;
  const auto cancels = [ratio](double term, double offset2) { return term > 0.0 && !((term - offset2) * ratio >= term); };
  std::vector<char> retake(static_cast<std::size_t>(k_count), 0);
  const auto& second = stats.second;
  switch (stats.covariance_type) {
    case CovarianceType::full:
    case CovarianceType::diag:
      for (Index k = 0; k < k_count; ++k)
        for (Index j = 0; j < d; ++j) {
          const double sum = stats.covariance_type == CovarianceType::full ? second[static_cast<std::size_t>(k)](j, j)
                                                                          : second.front()(k, j);
          if (cancels(sum / m.resp_sum[k], m.offsets(k, j) * m.offsets(k, j))) retake[static_cast<std::size_t>(k)] = 1;
        }
      break;
    case CovarianceType::spherical:
      for (Index k = 0; k < k_count; ++k)
        if (cancels(second.front()(k, 0) / m.resp_sum[k], m.offsets.row(k).squaredNorm()))
          retake[static_cast<std::size_t>(k)] = 1;
      break;
    case CovarianceType::tied: {
      const Eigen::VectorXd pooled_offset2 = m.offsets.cwiseAbs2().transpose() * m.resp_sum;
      bool any = false;
      for (Index j = 0; j < d; ++j) any = any || cancels(second.front()(j, j) / m.total, pooled_offset2[j] / m.total);
      if (any) std::fill(retake.begin(), retake.end(), 1);
      break;
    }
  }
  if (std::none_of(retake.begin(), retake.end(), [](char c) { return c != 0; })) return false;
  shifts = stats.shift;
  for (Index k = 0; k < k_count; ++k)
    if (retake[static_cast<std::size_t>(k)] != 0) shifts.row(k) += m.offsets.row(k);
  return true;
}

/** The M-step's parameters before they become a Mixture (nothing factorised):
 *  the variational rule takes its statistics N_k, xbar_k, S_k from them, and
 *  there a covariance need not be positive definite (the prior's scale is
 *  added to it). covariances: full K matrices, tied one (lower triangles
 *  mirrored); variances: diag K x D, spherical K x 1. */
struct MStepParameters {
  CovarianceType covariance_type = CovarianceType::full;
  Eigen::VectorXd weights;
  RowMatrix<double> means;
  std::vector<Eigen::MatrixXd> covariances;
  RowMatrix<double> variances;
};

/**
 * The M-step's parameters (see m_step), with n_k = N_k + resp_offset and
 * delta_k = first_k / n_k:
 *   w_k'    = n_k / sum_k n_k
 *   mean_k' = shift_k + delta_k
 *   full:      cov_k' = second_k / n_k - delta_k delta_k^T
 *   tied:      cov'   = (second - sum_k n_k delta_k delta_k^T) / sum_k n_k
 *   diag:      var_kj' = second_kj / n_k - delta_kj^2
 *   spherical: var_k'  = (second_k / n_k - ||delta_k||^2) / D
 * plus diag_add[j] + reg_covar on every covariance diagonal (spherical: the
 * mean of diag_add, + reg_covar).
 * @throws CovProblem if a component received no responsibility (and
 *         resp_offset is 0); std::invalid_argument on bad diag_add or reg_covar.
 */
inline MStepParameters m_step_parameters(const SufficientStats& stats, const Eigen::VectorXd& diag_add = Eigen::VectorXd(),
                                         double reg_covar = 0.0, double resp_offset = 0.0) {
  const Index k_count = stats.first.rows(), d = stats.first.cols();
  const CovarianceType type = stats.covariance_type;
  if (diag_add.size() != 0 && diag_add.size() != d)
    detail::invalid_argument("m_step: diag_add must have D entries");
  if (!std::isfinite(reg_covar) || reg_covar < 0.0)
    detail::invalid_argument("m_step: reg_covar must be finite and >= 0, got " + detail::format_number(reg_covar));
  const detail::ComponentMoments m = detail::component_moments("m_step", stats, resp_offset);
  Eigen::VectorXd added = diag_add.size() != 0 ? diag_add : Eigen::VectorXd::Zero(d);
  added.array() += reg_covar;
  MStepParameters p;
  p.covariance_type = type;
  p.weights = m.resp_sum / m.total;
  const RowMatrix<double>& offsets = m.offsets;
  p.means = stats.shift + offsets;
  auto symmetric = [](Eigen::MatrixXd s) {
    s.template triangularView<Eigen::StrictlyUpper>() = s.transpose();
    return s;
  };
  switch (type) {
    case CovarianceType::full:
      p.covariances.resize(static_cast<std::size_t>(k_count));
      for (Index k = 0; k < k_count; ++k) {
        Eigen::MatrixXd cov = symmetric(stats.second[static_cast<std::size_t>(k)] / m.resp_sum[k]);
        cov.noalias() -= offsets.row(k).transpose() * offsets.row(k);
        cov.diagonal() += added;
        p.covariances[static_cast<std::size_t>(k)] = std::move(cov);
      }
      return p;
    case CovarianceType::tied: {
      Eigen::MatrixXd cov = symmetric(stats.second.front());
      cov.noalias() -= offsets.transpose() * m.resp_sum.asDiagonal() * offsets;
      cov /= m.total;
      cov.diagonal() += added;
      // The pooled product rounds its two triangles differently; the mixture
      // keeps the lower one mirrored, as one made from the covariance's array does
      // (the same parameters, hence the same fingerprint, after a round trip).
      p.covariances.push_back(symmetric(std::move(cov)));
      return p;
    }
    case CovarianceType::diag:
      p.variances.resize(k_count, d);
      for (Index k = 0; k < k_count; ++k)
        p.variances.row(k) = stats.second.front().row(k) / m.resp_sum[k] - offsets.row(k).cwiseAbs2() +
                             added.transpose();
      return p;
    case CovarianceType::spherical: break;
  }
  p.variances.resize(k_count, 1);
  for (Index k = 0; k < k_count; ++k)
    p.variances(k, 0) = (stats.second.front()(k, 0) / m.resp_sum[k] - offsets.row(k).squaredNorm()) /
                            static_cast<double>(d) + added.mean();
  return p;
}

/**
 * The M-step: the mixture that maximises the expected log-likelihood given
 * stats (around stats.shift), made of m_step_parameters (see there).
 * @param diag_add     length D, or empty: an absolute amount per variable
 *                     (the PyPR face passes a fraction of each column's variance).
 * @param reg_covar    one absolute amount for every variable (scikit-learn's).
 * @param resp_offset  added to every N_k (scikit-learn adds 10 machine
 *                     epsilons, so that a component left without rows keeps
 *                     a tiny weight, its shift as mean and reg_covar as
 *                     covariance instead of failing); 0: such a component is
 *                     a CovProblem.
 * @throws CovProblem if a component received no responsibility or a new
 *         covariance is not positive definite.
 */
template <typename Scalar>
Mixture<Scalar> m_step(const SufficientStats& stats, const Eigen::VectorXd& diag_add = Eigen::VectorXd(),
                       double reg_covar = 0.0, double resp_offset = 0.0) {
  MStepParameters p = m_step_parameters(stats, diag_add, reg_covar, resp_offset);
  switch (p.covariance_type) {
    case CovarianceType::full: return Mixture<Scalar>(p.weights, std::move(p.means), std::move(p.covariances));
    case CovarianceType::tied:
      return Mixture<Scalar>::tied(p.weights, std::move(p.means), std::move(p.covariances.front()));
    case CovarianceType::diag: return Mixture<Scalar>::diag(p.weights, std::move(p.means), std::move(p.variances));
    case CovarianceType::spherical: break;
  }
  return Mixture<Scalar>::spherical(p.weights, std::move(p.means), Eigen::VectorXd(p.variances.col(0)));
}

}  // namespace gaussmix
