#pragma once
/** @file sample_weight.hpp
 *  Per-row sample weights, shared by EM and k-means.
 *
 *  A weight multiplies a row's contribution to every sum over rows (the EM
 *  statistics and log-likelihood, the k-means centroids, the k-means++
 *  draw): integer weights fit as if each row were repeated that many times,
 *  a row of weight 0 contributes exactly nothing (its values are never read
 *  into a sum, so even its content cannot change a result), and scaling all
 *  weights by a constant changes no parameter. An empty vector means every
 *  row has weight 1 (the unweighted fit is this path, not another one).
 */
#include <cmath>
#include <string>

#include "detail/config.hpp"
#include "errors.hpp"

namespace gaussmix {

/** N weights, finite and >= 0 with a positive finite sum, or empty for unit
 *  weights. Read-only view: a NumPy float64 vector crosses without a copy. */
using SampleWeightRef = Eigen::Ref<const Eigen::VectorXd>;

namespace detail {

/** An empty weight vector, for defaults. */
inline const Eigen::VectorXd& no_sample_weight() {
  static const Eigen::VectorXd empty;
  return empty;
}

/** Checks sample_weight against n rows; returns the weight sum (n when empty).
 *  @throws std::invalid_argument naming func and the remedy. */
inline double check_sample_weight(const char* func, const SampleWeightRef& w, Index n) {
  if (w.size() == 0) return static_cast<double>(n);
  if (w.size() != n)
    invalid_argument(std::string(func) + ": sample_weight has " + std::to_string(w.size()) +
                     " entries but the data has " + std::to_string(n) + " rows");
  double sum = 0.0;
  for (Index i = 0; i < n; ++i) {
    const double v = w[i];
    if (!std::isfinite(v) || v < 0.0)
      invalid_argument(std::string(func) + ": sample_weight[" + std::to_string(i) + "] is " + format_number(v) +
                       "; weights must be finite and >= 0");
    sum += v;
  }
  if (!(sum > 0.0) || !std::isfinite(sum))
    invalid_argument(std::string(func) + ": sample_weight must have a positive, finite sum (it is " +
                     format_number(sum) + "); give some row a positive weight");
  return sum;
}

}  // namespace detail
}  // namespace gaussmix
