#pragma once
/** @file gaussian.hpp
 *  A multivariate normal distribution, factorised once so that the
 *  log-density of many rows costs one small matrix product per row block.
 */
#include <cmath>
#include <limits>
#include <string>

#include "detail/config.hpp"
#include "errors.hpp"

#include <Eigen/Cholesky>
#include <Eigen/QR>

namespace gaussmix {

/** log(2 pi), the constant of the Gaussian normaliser. */
constexpr double kLog2Pi = 1.8378770664093454835606594728112;
/** log(2). */
constexpr double kLn2 = 0.69314718055994530941723212145818;

/**
 * A Gaussian N(mean, covariance) with the pivoted LDLT factorisation of its
 * equilibrated covariance (covariance = S P^T L D L^T P S, S a diagonal of
 * powers of two), kept in the form the row kernels need:
 *
 *  - whitening W (D x D, lower triangular) with
 *    (x - mean)^T covariance^{-1} (x - mean) = || (x - mean)^T W ||^2;
 *  - log_det = sum log D_ii and log_norm = -(D log 2 pi + log_det) / 2.
 *
 * The factorisation is done in double; mean and W are then stored in Scalar
 * (float or double), the precision of the row kernels.
 */
template <typename Scalar>
class FactorisedGaussian {
 public:
  using RowVector = Eigen::Matrix<Scalar, 1, Eigen::Dynamic>;
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

  FactorisedGaussian() = default;

  /**
   * Factorises covariance (D x D, only its lower triangle is read).
   * @param mean        length-D mean.
   * @param covariance  D x D covariance.
   * @param label       names the distribution in error messages ("component 3").
   * @throws std::invalid_argument on shape mismatch or D = 0.
   * @throws CovProblem if the covariance has a non-finite entry or is not
   *         positive definite (a variance <= 0, or a pivot of the
   *         equilibrated covariance <= D * eps * its largest pivot).
   */
  FactorisedGaussian(const Eigen::VectorXd& mean, const Eigen::MatrixXd& covariance,
                     const std::string& label = "covariance") {
    const Index d = mean.size();
    if (d < 1) detail::invalid_argument(label + ": a Gaussian needs at least one dimension");
    if (covariance.rows() != d || covariance.cols() != d)
      detail::invalid_argument(label + ": covariance must be " + std::to_string(d) + " x " +
                               std::to_string(d) + " to match the mean");
    if (!covariance.allFinite() || !mean.allFinite())
      throw CovProblem(label + ": mean or covariance has non-finite entries");

    // Equilibrate by powers of two: covariance = S C S with S = diag(s_i),
    // s_i^2 within a factor 2 of covariance_ii, so C's diagonal lies in
    // [0.5, 2) whatever the scale of each variable (exact: only exponents
    // change). Factorising C keeps the whitening and the log-determinant
    // finite and exact for variances from the subnormals up to 1e308, and
    // judges definiteness by correlations, not by how the units compare.
    Eigen::VectorXd scale(d);  // s_i
    double log_det_scale = 0.0;  // log det S^2
    for (Index i = 0; i < d; ++i) {
      const double v = covariance(i, i);
      if (!(v > 0.0))
        throw CovProblem(label + ": covariance is not positive definite (variance " + std::to_string(i) + " is " +
                         detail::format_number(v) + ")");
      int exponent = 0;
      std::frexp(v, &exponent);  // v = m 2^exponent, m in [0.5, 1)
      const int half = exponent >= 0 ? exponent / 2 : -((1 - exponent) / 2);  // floor(exponent / 2)
      scale[i] = std::ldexp(1.0, half);
      log_det_scale += 2.0 * static_cast<double>(half) * kLn2;
    }
    const Eigen::VectorXd inverse_scale = scale.cwiseInverse();
    Eigen::MatrixXd c = covariance.selfadjointView<Eigen::Lower>();
    c = inverse_scale.asDiagonal() * c * inverse_scale.asDiagonal();

    const Eigen::LDLT<Eigen::MatrixXd, Eigen::Lower> ldlt(c);
    const Eigen::VectorXd pivots = ldlt.vectorD();
    const double largest = pivots.maxCoeff();
    const double tiny = static_cast<double>(d) * std::numeric_limits<double>::epsilon() * largest;
    if (ldlt.info() != Eigen::Success || !pivots.allFinite() || !(largest > 0.0) ||
        (pivots.array() <= tiny).any())
      throw CovProblem(label + ": covariance is not positive definite");

    // M = D^{-1/2} L^{-1} P, so that z^T C^{-1} z = ||M z||^2.
    Eigen::MatrixXd m = Eigen::MatrixXd::Identity(d, d);
    m = ldlt.transpositionsP() * m;
    ldlt.matrixL().solveInPlace(m);
    m = pivots.cwiseSqrt().cwiseInverse().asDiagonal() * m;
    // M = Q R (Householder QR): ||M z|| = ||R z||, and R is upper triangular,
    // which lets the E-step skip the zero half. (The pivoted LDLT stays the
    // test of definiteness: its P breaks the triangle, and an unpivoted
    // factorisation is less robust.) With z = S^{-1} (x - mean):
    // (x - mean)^T covariance^{-1} (x - mean) = ||R S^{-1} (x - mean)||^2, so
    // W = (R S^{-1})^T = S^{-1} R^T, still lower triangular.
    const Eigen::HouseholderQR<Eigen::MatrixXd> qr(m);
    const Eigen::MatrixXd r = qr.matrixQR().triangularView<Eigen::Upper>();
    const Eigen::MatrixXd w = inverse_scale.asDiagonal() * r.transpose();

    mean_ = mean.transpose().cast<Scalar>();
    whitening_ = w.cast<Scalar>();
    log_det_ = pivots.array().log().sum() + log_det_scale;
    log_norm_ = -0.5 * (static_cast<double>(d) * kLog2Pi + log_det_);
  }

  Index dim() const { return mean_.size(); }
  /** The mean in kernel precision: the shift the row kernels subtract. */
  const RowVector& mean() const { return mean_; }
  /** W with (x - mean)^T covariance^{-1} (x - mean) = ||(x - mean)^T W||^2;
   *  lower triangular (W(i, j) = 0 for i < j). */
  const Matrix& whitening() const { return whitening_; }
  /** log det(covariance). */
  double log_det() const { return log_det_; }
  /** -(D log 2 pi + log det covariance) / 2: the log-density at the mean. */
  double log_norm() const { return log_norm_; }

 private:
  RowVector mean_;
  Matrix whitening_;
  double log_det_ = 0.0;
  double log_norm_ = 0.0;
};

}  // namespace gaussmix
