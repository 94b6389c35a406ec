#pragma once
/** @file sufficient_stats.hpp
 *  The additive statistics of an E-step (SufficientStats): their shape per
 *  covariance model and their merge. This is the seam every data source
 *  shares: threads, chunks of a file, Dask workers and the rows with missing
 *  values each produce statistics (accumulate.hpp, missing.hpp), merged in a
 *  fixed order, and the M-step (m_step.hpp) turns them into parameters.
 */
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "detail/config.hpp"
#include "errors.hpp"
#include "mixture.hpp"

namespace gaussmix {

namespace detail {

/** SufficientStats::second of a model: count matrices of rows x cols. */
struct SecondShape {
  Index count, rows, cols;
};
inline SecondShape second_shape(CovarianceType type, Index k, Index d) {
  switch (type) {
    case CovarianceType::full: return {k, d, d};
    case CovarianceType::tied: return {1, d, d};
    case CovarianceType::diag: return {1, k, d};
    case CovarianceType::spherical: break;
  }
  return {1, k, 1};
}

}  // namespace detail

/**
 * The additive statistics of one E-step over some rows, taken around a shift
 * per component (shift.row(k), D entries), with row weights w_i (1 when
 * unweighted) and responsibilities r_ik:
 *   resp_sum(k)  = sum_i w_i r_ik
 *   first.row(k) = sum_i w_i r_ik (x_i - shift_k)
 *   second       = the second moments, in the covariance model's shape:
 *     full:      K matrices D x D, second[k] = sum_i w_i r_ik (x_i - shift_k)(x_i - shift_k)^T
 *     tied:      one D x D, the pooled sum over k of full's second[k]
 *     diag:      one K x D, entry (k, j) = sum_i w_i r_ik (x_ij - shift_kj)^2
 *     spherical: one K x 1, entry k = sum_i w_i r_ik ||x_i - shift_k||^2
 *   (D x D matrices: lower triangle only);
 *   log_likelihood = sum_i w_i log p(x_i), weight_sum = sum_i w_i,
 *   latent_entropy = the entropy of each row's E-step posterior over its
 *   latent variables, weighted: -sum_i w_i sum_k r_ik log r_ik, plus, for a
 *   row with missing entries (missing.hpp), sum_k r_ik times the entropy of
 *   its missing entries' conditional given component k (a term of the
 *   variational lower bound, which, unlike the others, no sum of moments
 *   gives for such rows),
 *   n_rows = number of rows;
 *   mixture_fingerprint = Mixture::fingerprint() of the parameters used.
 * Statistics of disjoint row sets with the same model and shifts merge by
 * addition (merge), whatever produced them: threads, chunks of a file,
 * machines; m_step turns them into the next mixture.
 */
struct SufficientStats {
  CovarianceType covariance_type = CovarianceType::full;
  RowMatrix<double> shift;
  Eigen::VectorXd resp_sum;
  RowMatrix<double> first;
  std::vector<Eigen::MatrixXd> second;
  double log_likelihood = 0.0;
  double weight_sum = 0.0;
  double latent_entropy = 0.0;
  Index n_rows = 0;
  std::uint64_t mixture_fingerprint = 0;

  SufficientStats() = default;
  SufficientStats(CovarianceType type, const RowMatrix<double>& shifts) { reset(type, shifts); }

  /** Zeroes the sums, for the model's statistics around K x D shifts. */
  void reset(CovarianceType type, const RowMatrix<double>& shifts) {
    const Index k = shifts.rows(), d = shifts.cols();
    covariance_type = type;
    shift = shifts;
    resp_sum.setZero(k);
    first.setZero(k, d);
    const detail::SecondShape s = detail::second_shape(type, k, d);
    second.resize(static_cast<std::size_t>(s.count));
    for (auto& m : second) m.setZero(s.rows, s.cols);
    log_likelihood = 0.0;
    weight_sum = 0.0;
    latent_entropy = 0.0;
    n_rows = 0;
  }

  /** Adds other's statistics (same model, shapes and shifts) to these. */
  void merge(const SufficientStats& other) {
    if (other.covariance_type != covariance_type)
      detail::invalid_argument(std::string("SufficientStats::merge: statistics of the ") +
                               covariance_type_name(other.covariance_type) + " model cannot merge into " +
                               covariance_type_name(covariance_type) + " ones");
    bool same_shape = other.resp_sum.size() == resp_sum.size() && other.first.cols() == first.cols() &&
                      other.second.size() == second.size();
    for (std::size_t k = 0; same_shape && k < second.size(); ++k)
      same_shape = other.second[k].rows() == second[k].rows() && other.second[k].cols() == second[k].cols();
    if (!same_shape) detail::invalid_argument("SufficientStats::merge: statistics of different shapes");
    if (other.mixture_fingerprint != mixture_fingerprint || other.shift != shift)
      detail::invalid_argument("SufficientStats::merge: statistics taken under different parameters (or from data "
                               "of different precision: float and double blocks do not merge)");
    resp_sum += other.resp_sum;
    first += other.first;
    for (std::size_t k = 0; k < second.size(); ++k) second[k] += other.second[k];
    log_likelihood += other.log_likelihood;
    weight_sum += other.weight_sum;
    latent_entropy += other.latent_entropy;
    n_rows += other.n_rows;
  }
};

namespace detail {

/** Number of entries of a D x D lower triangle. */
inline Index triangle_size(Index d) { return d * (d + 1) / 2; }

/** Doubles of one SufficientStats' sums: K resp sums, K x D first moments and the second moments. */
inline double stats_size(CovarianceType type, Index k, Index d) {
  const SecondShape second = second_shape(type, k, d);
  return static_cast<double>(k + k * d + second.count * second.rows * second.cols);
}

}  // namespace detail

}  // namespace gaussmix
