#pragma once
/** @file mixture.hpp
 *  The Gaussian mixture: parameters, the factorisation of every component,
 *  and what the row kernels cache per mixture (the common shift, whitened
 *  offsets, padded whitening matrices). Scoring rows is in scoring.hpp.
 */
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "detail/config.hpp"
#include "errors.hpp"
#include "gaussian.hpp"

namespace gaussmix {

/** Tolerance on |sum(weights) - 1| accepted by Mixture. */
constexpr double kWeightSumTolerance = 1e-6;

namespace detail {

/** Whitened columns the E-step computes together (one panel). The whitening
 *  matrices are lower triangular, so panel [j0, j0 + 8) needs only columns
 *  j0.. of x - c, which skips most of the zero triangle (25% of the
 *  multiply-adds at D = 16, 37% at D = 32, 44% at D = 64). Panels of 4 / 8 /
 *  16 / none, measured with GEMM-based panels, 1 thread, s/iter: 2e5 x 32,
 *  K = 16: 0.127 / 0.129 / 0.135 / 0.146; 5e4 x 64, K = 8: 0.055 / 0.054 /
 *  0.056 / 0.068. */
constexpr Index kWhiteningPanel = 8;

/** D rounded up to whole panels. */
constexpr Index padded_dim(Index d) { return (d + kWhiteningPanel - 1) / kWhiteningPanel * kWhiteningPanel; }

}  // namespace detail

/**
 * A K-component Gaussian mixture over R^D: weights (K), means (K x D, one per
 * row) and covariances (K matrices D x D), stored in double, plus the
 * factorisation of every component in the kernels' precision Scalar.
 *
 * A Mixture is immutable: EM produces a new one each iteration.
 */
template <typename Scalar>
class Mixture {
 public:
  /**
   * @throws std::invalid_argument if K = 0, D = 0, shapes disagree, a weight
   *         is negative or not finite, the weights do not sum to 1 (within
   *         1e-6), or (float) the means or whitening exceed float's range.
   * @throws CovProblem if a covariance is not positive definite.
   */
  Mixture(Eigen::VectorXd weights, RowMatrix<double> means, std::vector<Eigen::MatrixXd> covariances)
      : weights_(std::move(weights)), means_(std::move(means)), covariances_(std::move(covariances)) {
    const Index k = weights_.size();
    if (k < 1) detail::invalid_argument("a mixture needs at least one component");
    if (means_.cols() < 1) detail::invalid_argument("mixture: the dimension D must be at least 1");
    if (means_.rows() != k || static_cast<Index>(covariances_.size()) != k)
      detail::invalid_argument("mixture: " + std::to_string(k) + " weights but " +
                               std::to_string(means_.rows()) + " means and " +
                               std::to_string(covariances_.size()) + " covariances");
    if (!weights_.allFinite() || (weights_.array() < 0.0).any())
      detail::invalid_argument("mixture: weights must be finite and non-negative");
    if (std::abs(weights_.sum() - 1.0) > kWeightSumTolerance)
      detail::invalid_argument("mixture: weights must sum to 1, they sum to " +
                               std::to_string(weights_.sum()));
    components_.reserve(static_cast<std::size_t>(k));
    log_weights_.resize(k);
    for (Index c = 0; c < k; ++c) {
      components_.emplace_back(means_.row(c).transpose(), covariances_[static_cast<std::size_t>(c)],
                               "component " + std::to_string(c));
      log_weights_[c] = std::log(weights_[c]);  // -inf for an empty component, as it should be
    }
    cache_for_kernels();
  }

  /** K, the number of components. */
  Index n_components() const { return weights_.size(); }
  /** D, the dimension of the data. */
  Index dim() const { return means_.cols(); }
  /** K mixing weights, non-negative, summing to 1. */
  const Eigen::VectorXd& weights() const { return weights_; }
  /** log of the weights (-inf for a zero weight). */
  const Eigen::VectorXd& log_weights() const { return log_weights_; }
  /** K x D, row k the mean of component k. */
  const RowMatrix<double>& means() const { return means_; }
  /** K covariance matrices, D x D each. */
  const std::vector<Eigen::MatrixXd>& covariances() const { return covariances_; }
  /** Component k's factorisation (0 <= k < K, unchecked). */
  const FactorisedGaussian<Scalar>& component(Index k) const {
    return components_[static_cast<std::size_t>(k)];
  }

  /** The common shift c = sum_k w_k mean_k (the mixture's mean). The row
   *  kernels may work with x - c for all components at once, since
   *  (x - mean_k)^T W_k = (x - c)^T W_k - (mean_k - c)^T W_k. */
  const Eigen::Matrix<Scalar, 1, Eigen::Dynamic>& shift() const { return shift_; }
  /** K x Dp (Dp = D rounded up to whole panels of detail::kWhiteningPanel):
   *  row k is (mean_k - c)^T W_k, mean_k's distance from the shift in
   *  component k's standard deviations, then zeros. */
  const RowMatrix<Scalar>& whitened_offsets() const { return whitened_offsets_; }
  /** K x Dp: row k is (mean_k - m_k)^T W_k with m_k = component(k).mean(),
   *  mean_k rounded to Scalar: what the kernels subtract when they work
   *  around each component's own (rounded) mean. Zero in double. */
  const RowMatrix<Scalar>& own_offsets() const { return own_offsets_; }
  /** Component k's whitening W_k as a row-major D x Dp matrix, zeros beyond
   *  column D: what the E-step kernels read, a panel of a row contiguous. */
  const RowMatrix<Scalar>& padded_whitening(Index k) const { return padded_whitening_[static_cast<std::size_t>(k)]; }
  /** K: log w_k + log N(mean_k | mean_k, cov_k), in kernel precision: the
   *  weighted log-density of component k is this minus half the squared
   *  whitened distance. */
  const Eigen::Matrix<Scalar, Eigen::Dynamic, 1>& log_peaks() const { return log_peaks_; }
  /**
   * Whether the E-step works around the common shift: whitening x - c
   * instead of x - mean_k costs about eps * |offset_k| of absolute precision
   * in the whitened values, kept below 1e-5 (always true in double; in float
   * while every mean is within ~84 standard deviations of c).
   */
  bool common_shift_ok() const { return common_shift_ok_; }
  /**
   * Whether component k's M-step statistics must be taken around its own
   * mean: statistics around c lose about eps * |offset_k|^2 of a covariance's
   * relative precision to cancellation, allowed up to 1e-11 (double) or 1e-4
   * (float). Always true when the E-step does not use the common shift.
   */
  bool needs_own_shift(Index k) const { return own_shift_[static_cast<std::size_t>(k)] != 0; }
  /** Whether any component needs its own shift. */
  bool any_own_shift() const { return std::any_of(own_shift_.begin(), own_shift_.end(), [](char c) { return c != 0; }); }

 private:
  void cache_for_kernels() {
    const Index k = n_components(), d = dim();
    // The kernels subtract shift and means in Scalar; every offset is taken in
    // double from those rounded values, so that rounding a far-off shift or
    // mean to float costs no precision (it would cost eps * |mean| / sigma:
    // 1.7e-2 in a log-density at 1e5 + unit noise).
    const Eigen::RowVectorXd shift = (weights_.transpose() * means_).cast<Scalar>().template cast<double>();
    const Index padded = detail::padded_dim(d);
    RowMatrix<double> offsets = RowMatrix<double>::Zero(k, padded);
    RowMatrix<double> own_offsets = RowMatrix<double>::Zero(k, padded);
    padded_whitening_.assign(static_cast<std::size_t>(k), RowMatrix<Scalar>::Zero(d, padded));
    for (Index c = 0; c < k; ++c) {
      const auto& component = components_[static_cast<std::size_t>(c)];
      const Eigen::MatrixXd w = component.whitening().template cast<double>();
      offsets.row(c).head(d) = (means_.row(c) - shift) * w;
      own_offsets.row(c).head(d) = (means_.row(c) - component.mean().template cast<double>()) * w;
      padded_whitening_[static_cast<std::size_t>(c)].leftCols(d) = component.whitening();
    }
    shift_ = shift.cast<Scalar>();
    whitened_offsets_ = offsets.cast<Scalar>();
    own_offsets_ = own_offsets.cast<Scalar>();
    // The kernels compute in Scalar: parameters beyond its range (in float
    // 3.4e38, e.g. the whitening of a variance below 1e-77) would score every
    // row as -inf or NaN. (whitened_offsets_ may overflow: then the common
    // shift is not used, see below.)
    bool representable = shift_.allFinite() && own_offsets_.allFinite();
    for (Index c = 0; c < k; ++c)
      representable = representable && padded_whitening_[static_cast<std::size_t>(c)].allFinite() &&
                      components_[static_cast<std::size_t>(c)].mean().allFinite();
    if (!representable)
      detail::invalid_argument("mixture: the parameters exceed the range of the kernels' precision (float: "
                               "3.4e38 for the means and the inverse standard deviations); use double");
    log_peaks_.resize(k);
    for (Index c = 0; c < k; ++c)
      log_peaks_[c] = static_cast<Scalar>(log_weights_[c] + components_[static_cast<std::size_t>(c)].log_norm());
    const double eps = static_cast<double>(std::numeric_limits<Scalar>::epsilon());
    const double tolerance = std::is_same_v<Scalar, double> ? 1e-11 : 1e-4;
    const Eigen::VectorXd offset2 = offsets.rowwise().squaredNorm();  // the zero padding adds nothing
    common_shift_ok_ = eps * std::sqrt(offset2.maxCoeff()) <= 1e-5;
    own_shift_.assign(static_cast<std::size_t>(k), 1);
    if (common_shift_ok_)
      for (Index c = 0; c < k; ++c) own_shift_[static_cast<std::size_t>(c)] = eps * offset2[c] > tolerance ? 1 : 0;
  }

  Eigen::VectorXd weights_;
  RowMatrix<double> means_;
  std::vector<Eigen::MatrixXd> covariances_;
  Eigen::VectorXd log_weights_;
  std::vector<FactorisedGaussian<Scalar>> components_;
  Eigen::Matrix<Scalar, 1, Eigen::Dynamic> shift_;
  std::vector<RowMatrix<Scalar>> padded_whitening_;
  RowMatrix<Scalar> whitened_offsets_;
  RowMatrix<Scalar> own_offsets_;
  Eigen::Matrix<Scalar, Eigen::Dynamic, 1> log_peaks_;
  bool common_shift_ok_ = false;
  std::vector<char> own_shift_;
};

}  // namespace gaussmix
