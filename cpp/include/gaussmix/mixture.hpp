#pragma once
/** @file mixture.hpp
 *  The Gaussian mixture under one of four covariance models: parameters, the
 *  factorisation of its covariances, and what the row kernels cache per
 *  mixture (the common shift, whitened offsets, whitening matrices or inverse
 *  standard deviations). Scoring rows is in scoring.hpp.
 */
#include <algorithm>
#include <cmath>
#include <cstdint>
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

/**
 * How the components' covariances are tied, scikit-learn's covariance_type
 * (mclust's VVV, EEE, VVI, VII):
 *  - full:      each component its own D x D covariance;
 *  - tied:      one D x D covariance shared by all components;
 *  - diag:      each component its own diagonal covariance (D variances);
 *  - spherical: each component its own variance times the identity.
 * A run-time property of a Mixture (one type, one EM loop); the kernels are
 * chosen per model once per row block, where the branch costs nothing.
 */
enum class CovarianceType { full, tied, diag, spherical };

/** "full", "tied", "diag" or "spherical". */
inline const char* covariance_type_name(CovarianceType type) {
  switch (type) {
    case CovarianceType::full: return "full";
    case CovarianceType::tied: return "tied";
    case CovarianceType::diag: return "diag";
    case CovarianceType::spherical: return "spherical";
  }
  return "?";
}

/** The CovarianceType named name. @throws std::invalid_argument for another name. */
inline CovarianceType covariance_type_from_name(const std::string& name) {
  for (CovarianceType t : {CovarianceType::full, CovarianceType::tied, CovarianceType::diag, CovarianceType::spherical})
    if (name == covariance_type_name(t)) return t;
  detail::invalid_argument("covariance_type must be 'full', 'tied', 'diag' or 'spherical', got '" + name + "'");
}

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

/** The relative precision of a variance that statistics taken around a shift
 *  must keep: they lose about eps * |mean - shift|^2 / variance of it to
 *  cancellation (Mixture::needs_own_shift, recentred_shifts). */
template <typename Scalar>
constexpr double shift_tolerance() {
  return std::is_same_v<Scalar, double> ? 1e-11 : 1e-4;
}

}  // namespace detail

/**
 * A K-component Gaussian mixture over R^D: weights (K), means (K x D, one per
 * row) and covariances under one of the four models (CovarianceType), stored
 * in double, plus what the row kernels need, in the kernels' precision
 * Scalar:
 *  - full:      per component a lower-triangular whitening W_k with
 *               (x - mean_k)^T cov_k^{-1} (x - mean_k) = ||(x - mean_k)^T W_k||^2;
 *  - tied:      one such W, shared, so a row block is whitened once;
 *  - diag, spherical: per component the inverse standard deviations (K x D):
 *               W_k is diagonal and never formed as a matrix.
 *
 * A Mixture is immutable: EM produces a new one each iteration.
 */
template <typename Scalar>
class Mixture {
 public:
  /**
   * A full-covariance mixture: covariances are K matrices D x D.
   * @throws std::invalid_argument if K = 0, D = 0, shapes disagree, a weight
   *         is negative or not finite, the weights do not sum to 1 (within
   *         1e-6), or (float) the means or whitening exceed float's range.
   * @throws CovProblem if a covariance is not positive definite or a mean or
   *         covariance has a non-finite entry.
   */
  Mixture(Eigen::VectorXd weights, RowMatrix<double> means, std::vector<Eigen::MatrixXd> covariances)
      : Mixture(CovarianceType::full, std::move(weights), std::move(means), std::move(covariances), {}) {}

  /** A tied mixture: one D x D covariance shared by every component. Throws as the full constructor. */
  static Mixture tied(Eigen::VectorXd weights, RowMatrix<double> means, Eigen::MatrixXd covariance) {
    std::vector<Eigen::MatrixXd> shared;
    shared.push_back(std::move(covariance));
    return Mixture(CovarianceType::tied, std::move(weights), std::move(means), std::move(shared), {});
  }
  /** A diagonal mixture: variances is K x D, row k the variances of component k. */
  static Mixture diag(Eigen::VectorXd weights, RowMatrix<double> means, RowMatrix<double> variances) {
    return Mixture(CovarianceType::diag, std::move(weights), std::move(means), {}, std::move(variances));
  }
  /** A spherical mixture: variances has K entries, component k's covariance is variances[k] I. */
  static Mixture spherical(Eigen::VectorXd weights, RowMatrix<double> means, const Eigen::VectorXd& variances) {
    return Mixture(CovarianceType::spherical, std::move(weights), std::move(means), {}, RowMatrix<double>(variances));
  }

  /** The covariance model. */
  CovarianceType covariance_type() const { return type_; }
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
  /** full: the K covariance matrices (D x D); tied: the one shared matrix;
   *  diag and spherical: empty (see variances()). */
  const std::vector<Eigen::MatrixXd>& covariances() const { return covariances_; }
  /** diag: K x D variances; spherical: K x 1; full and tied: empty. */
  const RowMatrix<double>& variances() const { return variances_; }
  /** Component k's covariance as a dense D x D matrix, whatever the model
   *  (formed on demand: for diag and spherical this is the only D x D work). */
  Eigen::MatrixXd covariance(Index k) const {
    switch (type_) {
      case CovarianceType::full: return covariances_[static_cast<std::size_t>(k)];
      case CovarianceType::tied: return covariances_.front();
      case CovarianceType::diag: return variances_.row(k).transpose().asDiagonal();
      case CovarianceType::spherical: break;
    }
    return Eigen::MatrixXd::Identity(dim(), dim()) * variances_(k, 0);
  }
  /** log det of component k's covariance. */
  double log_det(Index k) const { return log_det_[k]; }
  /** A 64-bit hash (FNV-1a) of the model, the kernels' precision and every
   *  parameter's bits: statistics taken under two mixtures that differ in any
   *  way carry different fingerprints, so they refuse to merge. */
  std::uint64_t fingerprint() const { return fingerprint_; }

  /** The means rounded to Scalar (K x D): what the kernels subtract when they
   *  work around each component's own mean. */
  const RowMatrix<Scalar>& kernel_means() const { return kernel_means_; }
  /** The common shift c = sum_k w_k mean_k (the mixture's mean). The row
   *  kernels may work with x - c for all components at once, since
   *  (x - mean_k)^T W_k = (x - c)^T W_k - (mean_k - c)^T W_k. */
  const Eigen::Matrix<Scalar, 1, Eigen::Dynamic>& shift() const { return shift_; }
  /** K x Dp (Dp = D rounded up to whole panels of detail::kWhiteningPanel):
   *  row k is (mean_k - c)^T W_k, mean_k's distance from the shift in
   *  component k's standard deviations, then zeros. */
  const RowMatrix<Scalar>& whitened_offsets() const { return whitened_offsets_; }
  /** K x Dp: row k is (mean_k - m_k)^T W_k with m_k = kernel_means().row(k),
   *  mean_k rounded to Scalar: what the kernels subtract when they work
   *  around each component's own (rounded) mean. Zero in double. */
  const RowMatrix<Scalar>& own_offsets() const { return own_offsets_; }
  /** full: component k's whitening W_k, tied: the shared W (any k), as a
   *  row-major D x Dp matrix, zeros beyond column D: what the E-step kernels
   *  read, a panel of a row contiguous. Not for diag or spherical. */
  const RowMatrix<Scalar>& padded_whitening(Index k) const {
    return padded_whitening_[type_ == CovarianceType::tied ? 0 : static_cast<std::size_t>(k)];
  }
  /** diag and spherical: K x D, entry (k, j) = 1 / sd of variable j in
   *  component k (the diagonal of W_k). Empty for full and tied. */
  const RowMatrix<Scalar>& inverse_sd() const { return inverse_sd_; }
  /** spherical: K x Dp, row k is mean_k - c unscaled (around_shift) or
   *  mean_k - m_k, the rounding's rest (otherwise), then zeros: the kernel
   *  subtracts these and scales the squared norm once by 1 / var_k
   *  (inverse_variances) instead of every variable by 1 / sd_k. Empty for
   *  the other models. */
  const RowMatrix<Scalar>& unscaled_offsets(bool around_shift) const {
    return around_shift ? unscaled_offsets_ : own_unscaled_offsets_;
  }
  /** spherical: K entries 1 / var_k. Empty for the other models. */
  const Eigen::Matrix<Scalar, Eigen::Dynamic, 1>& inverse_variances() const { return inverse_variances_; }
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
  Mixture(CovarianceType type, Eigen::VectorXd weights, RowMatrix<double> means,
          std::vector<Eigen::MatrixXd> covariances, RowMatrix<double> variances)
      : type_(type),
        weights_(std::move(weights)),
        means_(std::move(means)),
        covariances_(std::move(covariances)),
        variances_(std::move(variances)) {
    const Index k = weights_.size(), d = means_.cols();
    if (k < 1) detail::invalid_argument("a mixture needs at least one component");
    if (d < 1) detail::invalid_argument("mixture: the dimension D must be at least 1");
    if (means_.rows() != k)
      detail::invalid_argument("mixture: " + std::to_string(k) + " weights but " + std::to_string(means_.rows()) +
                               " means");
    check_covariance_shapes();
    if (!weights_.allFinite() || (weights_.array() < 0.0).any())
      detail::invalid_argument("mixture: weights must be finite and non-negative");
    if (std::abs(weights_.sum() - 1.0) > kWeightSumTolerance)
      detail::invalid_argument("mixture: weights must sum to 1, they sum to " +
                               std::to_string(weights_.sum()));
    log_weights_ = weights_.array().log();  // -inf for an empty component, as it should be
    cache_for_kernels(factorise());
    fingerprint_ = compute_fingerprint();
  }

  std::uint64_t compute_fingerprint() const {
    std::uint64_t h = 14695981039346656037ull;  // FNV-1a offset basis
    auto mix_bytes = [&h](const void* data, std::size_t n) {
      const unsigned char* bytes = static_cast<const unsigned char*>(data);
      for (std::size_t i = 0; i < n; ++i) h = (h ^ bytes[i]) * 1099511628211ull;  // FNV prime
    };
    const int header[3] = {static_cast<int>(type_), static_cast<int>(sizeof(Scalar)), static_cast<int>(dim())};
    mix_bytes(header, sizeof header);
    mix_bytes(weights_.data(), sizeof(double) * static_cast<std::size_t>(weights_.size()));
    mix_bytes(means_.data(), sizeof(double) * static_cast<std::size_t>(means_.size()));
    for (const auto& c : covariances_) mix_bytes(c.data(), sizeof(double) * static_cast<std::size_t>(c.size()));
    mix_bytes(variances_.data(), sizeof(double) * static_cast<std::size_t>(variances_.size()));
    return h;
  }

  void check_covariance_shapes() const {
    const Index k = weights_.size(), d = means_.cols();
    const std::string model = covariance_type_name(type_);
    auto fail = [&](const std::string& expected) {
      detail::invalid_argument("mixture (" + model + "): covariances must be " + expected);
    };
    switch (type_) {
      case CovarianceType::full:
        if (static_cast<Index>(covariances_.size()) != k)
          fail(std::to_string(k) + " matrices, one per component, got " + std::to_string(covariances_.size()));
        break;
      case CovarianceType::tied:
        if (covariances_.size() != 1) fail("one shared matrix");
        break;
      case CovarianceType::diag:
        if (variances_.rows() != k || variances_.cols() != d)
          fail("K x D = " + std::to_string(k) + " x " + std::to_string(d) + " variances");
        break;
      case CovarianceType::spherical:
        if (variances_.rows() != k || variances_.cols() != 1) fail(std::to_string(k) + " variances");
        break;
    }
    for (const auto& c : covariances_)
      if (c.rows() != d || c.cols() != d)
        fail("D x D = " + std::to_string(d) + " x " + std::to_string(d) + " to match the means");
  }

  /** The factorisations in double, needed only to build the kernels' caches:
   *  the whitening per component (full) or once (tied), or the inverse
   *  standard deviations (diag, spherical, K x D). */
  struct Factors {
    std::vector<Eigen::MatrixXd> whitening;
    RowMatrix<double> inverse_sd;
  };

  /** The factors, and log_det_ per component. */
  Factors factorise() {
    const Index k = n_components(), d = dim();
    log_det_.resize(k);
    Factors f;
    if (!means_.allFinite()) throw CovProblem("mixture: a mean has non-finite entries");
    if (type_ == CovarianceType::full || type_ == CovarianceType::tied) {
      const Eigen::VectorXd origin = Eigen::VectorXd::Zero(d);
      for (std::size_t c = 0; c < covariances_.size(); ++c) {
        const FactorisedGaussian<double> g(origin, covariances_[c],
                                           type_ == CovarianceType::tied ? "tied covariance"
                                                                          : "component " + std::to_string(c));
        f.whitening.push_back(g.whitening());
        if (type_ == CovarianceType::full) log_det_[static_cast<Index>(c)] = g.log_det();
        else log_det_.setConstant(g.log_det());
      }
      return f;
    }
    // diag, spherical: W_k = diag(1 / sd_k), log det = sum of log variances.
    for (Index c = 0; c < k; ++c)
      for (Index j = 0; j < variances_.cols(); ++j) {
        const double v = variances_(c, j);
        if (!(v > 0.0) || !std::isfinite(v))
          throw CovProblem("component " + std::to_string(c) + ": covariance is not positive definite (variance " +
                           (type_ == CovarianceType::diag ? std::to_string(j) + " " : std::string()) + "is " +
                           detail::format_number(v) + ")");
      }
    f.inverse_sd = RowMatrix<double>(k, d);
    for (Index c = 0; c < k; ++c) {
      if (type_ == CovarianceType::diag) {
        f.inverse_sd.row(c) = variances_.row(c).array().sqrt().inverse();
        log_det_[c] = variances_.row(c).array().log().sum();
      } else {
        f.inverse_sd.row(c).setConstant(1.0 / std::sqrt(variances_(c, 0)));
        log_det_[c] = static_cast<double>(d) * std::log(variances_(c, 0));
      }
    }
    return f;
  }

  /** (mean_k - origin)^T W_k for every k, in double, into K x Dp. */
  RowMatrix<double> whitened(const Factors& f, const RowMatrix<double>& origins) const {
    const Index k = n_components(), d = dim();
    RowMatrix<double> out = RowMatrix<double>::Zero(k, detail::padded_dim(d));
    for (Index c = 0; c < k; ++c) {
      const Eigen::RowVectorXd diff = means_.row(c) - origins.row(c);
      if (f.whitening.empty()) out.row(c).head(d) = diff.cwiseProduct(f.inverse_sd.row(c));
      else out.row(c).head(d) = diff * f.whitening[type_ == CovarianceType::tied ? 0 : static_cast<std::size_t>(c)];
    }
    return out;
  }

  void cache_for_kernels(const Factors& f) {
    const Index k = n_components(), d = dim();
    // The kernels subtract shift and means in Scalar; every offset is taken in
    // double from those rounded values, so that rounding a far-off shift or
    // mean to float costs no precision (it would cost eps * |mean| / sigma:
    // 1.7e-2 in a log-density at 1e5 + unit noise).
    const Eigen::RowVectorXd shift = (weights_.transpose() * means_).cast<Scalar>().template cast<double>();
    kernel_means_ = means_.cast<Scalar>();
    const RowMatrix<double> offsets = whitened(f, shift.replicate(k, 1));
    whitened_offsets_ = offsets.template cast<Scalar>();
    own_offsets_ = whitened(f, kernel_means_.template cast<double>()).template cast<Scalar>();
    shift_ = shift.cast<Scalar>();
    const Index padded = detail::padded_dim(d);
    if (type_ == CovarianceType::spherical) {
      RowMatrix<double> around_shift = RowMatrix<double>::Zero(k, padded), own = around_shift;
      around_shift.leftCols(d) = means_.rowwise() - shift;
      own.leftCols(d) = means_ - kernel_means_.template cast<double>();
      unscaled_offsets_ = around_shift.cast<Scalar>();
      own_unscaled_offsets_ = own.cast<Scalar>();
      inverse_variances_ = variances_.col(0).cwiseInverse().cast<Scalar>();
    }
    padded_whitening_.assign(f.whitening.size(), RowMatrix<Scalar>::Zero(d, padded));
    for (std::size_t c = 0; c < f.whitening.size(); ++c) padded_whitening_[c].leftCols(d) = f.whitening[c].template cast<Scalar>();
    inverse_sd_ = f.inverse_sd.template cast<Scalar>();
    // The kernels compute in Scalar: parameters beyond its range (in float
    // 3.4e38, e.g. the whitening of a variance below 1e-77) would score every
    // row as -inf or NaN. (whitened_offsets_ may overflow: then the common
    // shift is not used, see below.)
    bool representable = shift_.allFinite() && own_offsets_.allFinite() && kernel_means_.allFinite() &&
                         inverse_sd_.allFinite() && inverse_variances_.allFinite() &&
                         own_unscaled_offsets_.allFinite();
    for (const auto& w : padded_whitening_) representable = representable && w.allFinite();
    if (!representable)
      detail::invalid_argument("mixture: the parameters exceed the range of the kernels' precision (float: "
                               "3.4e38 for the means and the inverse standard deviations); use double");
    log_peaks_.resize(k);
    for (Index c = 0; c < k; ++c)
      log_peaks_[c] = static_cast<Scalar>(log_weights_[c] - 0.5 * (static_cast<double>(d) * kLog2Pi + log_det_[c]));
    const double eps = static_cast<double>(std::numeric_limits<Scalar>::epsilon());
    const Eigen::VectorXd offset2 = offsets.rowwise().squaredNorm();  // the zero padding adds nothing
    common_shift_ok_ = eps * std::sqrt(offset2.maxCoeff()) <= 1e-5;
    own_shift_.assign(static_cast<std::size_t>(k), 1);
    if (common_shift_ok_)
      for (Index c = 0; c < k; ++c)
        own_shift_[static_cast<std::size_t>(c)] = eps * offset2[c] > detail::shift_tolerance<Scalar>() ? 1 : 0;
  }

  CovarianceType type_;
  Eigen::VectorXd weights_;
  RowMatrix<double> means_;
  std::vector<Eigen::MatrixXd> covariances_;
  RowMatrix<double> variances_;
  Eigen::VectorXd log_weights_;
  Eigen::VectorXd log_det_;
  RowMatrix<Scalar> kernel_means_;
  Eigen::Matrix<Scalar, 1, Eigen::Dynamic> shift_;
  std::vector<RowMatrix<Scalar>> padded_whitening_;
  RowMatrix<Scalar> inverse_sd_;
  RowMatrix<Scalar> unscaled_offsets_;
  RowMatrix<Scalar> own_unscaled_offsets_;
  Eigen::Matrix<Scalar, Eigen::Dynamic, 1> inverse_variances_;
  RowMatrix<Scalar> whitened_offsets_;
  RowMatrix<Scalar> own_offsets_;
  Eigen::Matrix<Scalar, Eigen::Dynamic, 1> log_peaks_;
  bool common_shift_ok_ = false;
  std::vector<char> own_shift_;
  std::uint64_t fingerprint_ = 0;
};

namespace detail {

/** mix's model, means and covariances with the given weights (K, summing to
 *  1), its kernels' caches in precision To: factorised again, since the
 *  caches depend on the precision and the weights (log_peaks). */
template <typename To, typename From>
Mixture<To> remade(const Mixture<From>& mix, Eigen::VectorXd weights) {
  RowMatrix<double> means = mix.means();
  switch (mix.covariance_type()) {
    case CovarianceType::full: return Mixture<To>(std::move(weights), std::move(means), mix.covariances());
    case CovarianceType::tied: return Mixture<To>::tied(std::move(weights), std::move(means), mix.covariances().front());
    case CovarianceType::diag: return Mixture<To>::diag(std::move(weights), std::move(means), mix.variances());
    case CovarianceType::spherical: break;
  }
  return Mixture<To>::spherical(std::move(weights), std::move(means), mix.variances().col(0));
}

}  // namespace detail

}  // namespace gaussmix
