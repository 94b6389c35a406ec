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

/**
 * A Gaussian N(mean, covariance) with its pivoted LDLT factorisation
 * covariance = P^T L D L^T P, kept in the form the row kernels need:
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
   * @throws std::invalid_argument on shape mismatch.
   * @throws CovProblem if the covariance has a non-finite entry or is not
   *         positive definite (a pivot <= D * eps * largest pivot).
   */
  FactorisedGaussian(const Eigen::VectorXd& mean, const Eigen::MatrixXd& covariance,
                     const std::string& label = "covariance") {
    const Index d = mean.size();
    if (covariance.rows() != d || covariance.cols() != d)
      detail::invalid_argument(label + ": covariance must be " + std::to_string(d) + " x " +
                               std::to_string(d) + " to match the mean");
    if (!covariance.allFinite() || !mean.allFinite())
      throw CovProblem(label + ": mean or covariance has non-finite entries");

    const Eigen::LDLT<Eigen::MatrixXd, Eigen::Lower> ldlt(covariance);
    const Eigen::VectorXd pivots = ldlt.vectorD();
    const double largest = d > 0 ? pivots.maxCoeff() : 1.0;
    const double tiny = static_cast<double>(d) * std::numeric_limits<double>::epsilon() * largest;
    if (ldlt.info() != Eigen::Success || !pivots.allFinite() || !(largest > 0.0) ||
        (pivots.array() <= tiny).any())
      throw CovProblem(label + ": covariance is not positive definite");

    // M = D^{-1/2} L^{-1} P, so that x^T covariance^{-1} x = ||M x||^2.
    Eigen::MatrixXd m = Eigen::MatrixXd::Identity(d, d);
    m = ldlt.transpositionsP() * m;
    ldlt.matrixL().solveInPlace(m);
    m = pivots.cwiseSqrt().cwiseInverse().asDiagonal() * m;
    // M = Q R (Householder QR): ||M x|| = ||R x||, so W = R^T whitens as M^T
    // does and is lower triangular, which lets the E-step skip its zero half.
    // (The pivoted LDLT stays the test of definiteness: its P breaks the
    // triangle, and an unpivoted factorisation is less robust.)
    const Eigen::HouseholderQR<Eigen::MatrixXd> qr(m);
    const Eigen::MatrixXd w = qr.matrixQR().triangularView<Eigen::Upper>().transpose();

    mean_ = mean.transpose().cast<Scalar>();
    whitening_ = w.cast<Scalar>();
    log_det_ = pivots.array().log().sum();
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
