#pragma once
/** @file condition.hpp
 *  Marginals and conditionals of a Gaussian mixture, and GMM regression:
 *  filling the unknown entries of many rows with their conditional
 *  expectation, grouped by missing pattern so that each pattern is
 *  factorised once per component.
 */
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "detail/config.hpp"
#include "detail/parallel.hpp"
#include "errors.hpp"
#include "mixture.hpp"

#include <Eigen/Cholesky>

namespace gaussmix {

/** A mixture's parameters without factorisations: what marginal() and
 *  condition() return (a conditional covariance may be 1 x 1 or D x D). */
struct MixtureParams {
  Eigen::VectorXd weights;                ///< K
  RowMatrix<double> means;                ///< K x d
  std::vector<Eigen::MatrixXd> covariances;  ///< K matrices d x d
};

namespace detail {

/** Rows/columns idx of a square matrix, or entries idx of a vector. */
inline Eigen::MatrixXd take(const Eigen::MatrixXd& m, const std::vector<Index>& rows, const std::vector<Index>& cols) {
  Eigen::MatrixXd out(static_cast<Index>(rows.size()), static_cast<Index>(cols.size()));
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (std::size_t j = 0; j < cols.size(); ++j) out(static_cast<Index>(i), static_cast<Index>(j)) = m(rows[i], cols[j]);
  return out;
}

inline Eigen::VectorXd take(const Eigen::VectorXd& v, const std::vector<Index>& idx) {
  Eigen::VectorXd out(static_cast<Index>(idx.size()));
  for (std::size_t i = 0; i < idx.size(); ++i) out[static_cast<Index>(i)] = v[idx[i]];
  return out;
}

inline void check_dims(const std::vector<Index>& dims, Index d, const char* what) {
  std::vector<bool> seen(static_cast<std::size_t>(d), false);
  for (Index i : dims) {
    if (i < 0 || i >= d)
      invalid_argument(std::string(what) + ": dimension index " + std::to_string(i) + " is outside [0, " +
                       std::to_string(d - 1) + "]");
    if (seen[static_cast<std::size_t>(i)])
      invalid_argument(std::string(what) + ": dimension index " + std::to_string(i) + " is repeated");
    seen[static_cast<std::size_t>(i)] = true;
  }
}

/**
 * One component's conditional given the observed dimensions B:
 *   gain      G = S_AB S_BB^{-1}                (|A| x |B|)
 *   schur     S_AA - G S_BA                      (conditional covariance)
 *   log_norm  log of w_k's marginal normaliser on B, and whitening of S_BB,
 * so that a row's conditional mean is mu_A + G (x_B - mu_B) and its
 * component weight is log w_k + log N(x_B | mu_B, S_BB).
 */
struct ComponentConditional {
  Eigen::MatrixXd gain;
  Eigen::MatrixXd schur;
  Eigen::VectorXd mean_a, mean_b;
  Eigen::MatrixXd whiten_b;  ///< L^{-1} of S_BB = L L^T: ||L^{-1}(x_B - mu_B)||^2 is the Mahalanobis term
  double log_weight_norm = 0.0;  ///< log w_k - (|B| log 2 pi + log det S_BB) / 2
};

inline ComponentConditional condition_component(const Eigen::VectorXd& mean, const Eigen::MatrixXd& cov,
                                                double weight, const std::vector<Index>& a,
                                                const std::vector<Index>& b, Index component) {
  ComponentConditional c;
  c.mean_a = take(mean, a);
  c.mean_b = take(mean, b);
  const Eigen::MatrixXd s_aa = take(cov, a, a), s_ab = take(cov, a, b), s_bb = take(cov, b, b);
  const Index nb = static_cast<Index>(b.size());
  double log_det_b = 0.0;
  if (nb > 0) {
    const Eigen::LLT<Eigen::MatrixXd> llt(s_bb);
    const Eigen::VectorXd diag = llt.matrixL().toDenseMatrix().diagonal();
    if (llt.info() != Eigen::Success || !diag.allFinite() ||
        diag.minCoeff() <= std::sqrt(static_cast<double>(nb) * std::numeric_limits<double>::epsilon()) * diag.maxCoeff())
      invalid_argument("component " + std::to_string(component) +
                       ": the covariance block of the observed dimensions is singular");
    // G = S_AB S_BB^{-1}  <=>  S_BB G^T = S_BA.
    c.gain = llt.solve(s_ab.transpose()).transpose();
    c.schur = s_aa - c.gain * s_ab.transpose();
    c.schur = 0.5 * (c.schur + c.schur.transpose());  // exact symmetry despite rounding
    c.whiten_b = llt.matrixL().solve(Eigen::MatrixXd::Identity(nb, nb));
    log_det_b = 2.0 * diag.array().log().sum();
  } else {
    c.gain.resize(static_cast<Index>(a.size()), 0);
    c.schur = s_aa;
    c.whiten_b.resize(0, 0);
  }
  c.log_weight_norm = std::log(weight) - 0.5 * (static_cast<double>(nb) * kLog2Pi + log_det_b);
  return c;
}

/** Log of w_k N(x_B | mu_kB, S_kBB) for one row's observed values. */
inline double log_observed_weight(const ComponentConditional& c, const Eigen::Ref<const Eigen::VectorXd>& x_b) {
  if (x_b.size() == 0) return c.log_weight_norm;
  return c.log_weight_norm - 0.5 * (c.whiten_b * (x_b - c.mean_b)).squaredNorm();
}

/** Normalises log-weights into weights (log-sum-exp). */
inline Eigen::VectorXd normalise_log_weights(const Eigen::VectorXd& log_w) {
  const double top = log_w.maxCoeff();
  if (!std::isfinite(top))
    invalid_argument("condition: the observed values have zero density under every component");
  Eigen::VectorXd w = (log_w.array() - top).exp();
  return w / w.sum();
}

}  // namespace detail

/**
 * The marginal mixture over dims (in that order); weights are unchanged.
 * @throws std::invalid_argument if dims is empty, out of range or repeats an index.
 */
template <typename Scalar>
MixtureParams marginal(const Mixture<Scalar>& mix, const std::vector<Index>& dims) {
  if (dims.empty()) detail::invalid_argument("marginal: keep at least one dimension");
  detail::check_dims(dims, mix.dim(), "marginal");
  MixtureParams out{mix.weights(), RowMatrix<double>(mix.n_components(), static_cast<Index>(dims.size())), {}};
  for (Index k = 0; k < mix.n_components(); ++k) {
    out.means.row(k) = detail::take(Eigen::VectorXd(mix.means().row(k).transpose()), dims).transpose();
    out.covariances.push_back(detail::take(mix.covariances()[static_cast<std::size_t>(k)], dims, dims));
  }
  return out;
}

/**
 * The conditional mixture p(x_A | x_B = values) where B are the observed
 * dimensions and A the others, in increasing order:
 *   mean_k    = mu_kA + S_kAB S_kBB^{-1} (x_B - mu_kB)
 *   cov_k     = S_kAA - S_kAB S_kBB^{-1} S_kBA
 *   weight_k  proportional to w_k N(x_B | mu_kB, S_kBB), normalised in log space.
 * @param observed  indices of the observed dimensions (may be empty).
 * @param values    their values, same length.
 * @throws std::invalid_argument if nothing is left unobserved, indices are bad,
 *         or an observed block is singular (the message names the component).
 */
template <typename Scalar>
MixtureParams condition(const Mixture<Scalar>& mix, const std::vector<Index>& observed,
                        const Eigen::VectorXd& values) {
  const Index d = mix.dim();
  detail::check_dims(observed, d, "condition");
  if (static_cast<Index>(observed.size()) != values.size())
    detail::invalid_argument("condition: one value per observed dimension is needed");
  if (static_cast<Index>(observed.size()) == d)
    detail::invalid_argument("condition: every dimension is observed; leave at least one unknown");
  std::vector<bool> is_observed(static_cast<std::size_t>(d), false);
  for (Index i : observed) is_observed[static_cast<std::size_t>(i)] = true;
  std::vector<Index> a, b;
  Eigen::VectorXd ordered_values(values.size());
  for (Index i = 0; i < d; ++i) (is_observed[static_cast<std::size_t>(i)] ? b : a).push_back(i);
  for (std::size_t j = 0; j < observed.size(); ++j)
    for (std::size_t t = 0; t < b.size(); ++t)
      if (b[t] == observed[j]) ordered_values[static_cast<Index>(t)] = values[static_cast<Index>(j)];

  const Index k_count = mix.n_components();
  MixtureParams out{Eigen::VectorXd(k_count), RowMatrix<double>(k_count, static_cast<Index>(a.size())), {}};
  Eigen::VectorXd log_w(k_count);
  for (Index k = 0; k < k_count; ++k) {
    const auto c = detail::condition_component(mix.means().row(k).transpose(),
                                               mix.covariances()[static_cast<std::size_t>(k)], mix.weights()[k],
                                               a, b, k);
    log_w[k] = detail::log_observed_weight(c, ordered_values);
    out.means.row(k) = (c.mean_a + c.gain * (ordered_values - c.mean_b)).transpose();
    out.covariances.push_back(c.schur);
  }
  out.weights = detail::normalise_log_weights(log_w);
  return out;
}

/**
 * GMM regression of many rows at once. x (N x D) marks unknown entries with
 * NaN; each row's unknowns are replaced by their conditional expectation
 * m = sum_k w'_k mu_{k,A|B}, and the row's conditional covariance (law of total
 * variance) sum_k w'_k (S_{k,A|B} + mu_{k,A|B} mu_{k,A|B}^T) - m m^T is written to
 * covariances, at offsets(i) (|A_i|^2 doubles, row-major). A row without NaN is
 * left alone (|A_i| = 0); a row of NaN gets the mixture's mean and covariance.
 * Rows are grouped by missing pattern; each pattern is factorised once per
 * component, and rows are processed in parallel.
 * @param offsets      N + 1 entries, written: row i's covariance is at
 *                     [offsets(i), offsets(i+1)).
 * @param covariances  resized to offsets(N).
 * @throws std::invalid_argument if an observed block is singular or a row's
 *         observed values have zero density under every component.
 */
template <typename Scalar>
void predict_missing(Eigen::Ref<RowMatrix<double>> x, const Mixture<Scalar>& mix,
                     Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>& offsets, std::vector<double>& covariances,
                     int n_threads = 0) {
  const Index n = x.rows(), d = x.cols(), k_count = mix.n_components();
  if (d != mix.dim())
    detail::invalid_argument("predict: data has " + std::to_string(d) + " columns but the mixture has dimension " +
                             std::to_string(mix.dim()));
  // Group rows by missing pattern (a byte string of D flags).
  std::map<std::string, Index> pattern_ids;
  std::vector<std::string> patterns;
  std::vector<Index> row_pattern(static_cast<std::size_t>(n));
  offsets.resize(n + 1);
  offsets[0] = 0;
  for (Index i = 0; i < n; ++i) {
    std::string key(static_cast<std::size_t>(d), '\0');
    Index unknown = 0;
    for (Index j = 0; j < d; ++j)
      if (std::isnan(x(i, j))) {
        key[static_cast<std::size_t>(j)] = 1;
        ++unknown;
      }
    auto it = pattern_ids.emplace(key, static_cast<Index>(patterns.size())).first;
    if (it->second == static_cast<Index>(patterns.size())) patterns.push_back(key);
    row_pattern[static_cast<std::size_t>(i)] = it->second;
    offsets[i + 1] = offsets[i] + unknown * unknown;
  }
  covariances.assign(static_cast<std::size_t>(offsets[n]), 0.0);

  // Factorise every pattern with unknowns, once per component.
  struct Pattern {
    std::vector<Index> a, b;
    std::vector<detail::ComponentConditional> components;
  };
  std::vector<Pattern> plans(patterns.size());
  const int threads = detail::resolve_threads(n_threads);
  detail::parallel_for_chunks(static_cast<Index>(patterns.size()), threads, [&](int, Index p) {
    Pattern& plan = plans[static_cast<std::size_t>(p)];
    for (Index j = 0; j < d; ++j) (patterns[static_cast<std::size_t>(p)][static_cast<std::size_t>(j)] ? plan.a : plan.b).push_back(j);
    if (plan.a.empty()) return;  // nothing to predict
    for (Index k = 0; k < k_count; ++k)
      plan.components.push_back(detail::condition_component(mix.means().row(k).transpose(),
                                                            mix.covariances()[static_cast<std::size_t>(k)],
                                                            mix.weights()[k], plan.a, plan.b, k));
  });

  // Predicted values go to a side buffer first, so that x is written only
  // once every row has succeeded (an exception leaves x as it was).
  std::vector<Index> value_offsets(static_cast<std::size_t>(n) + 1, 0);
  for (Index i = 0; i < n; ++i)
    value_offsets[static_cast<std::size_t>(i) + 1] =
        value_offsets[static_cast<std::size_t>(i)] +
        static_cast<Index>(plans[static_cast<std::size_t>(row_pattern[static_cast<std::size_t>(i)])].a.size());
  std::vector<double> values(static_cast<std::size_t>(value_offsets.back()));

  const detail::RowPartition part(n);
  detail::parallel_for_chunks(part.n_chunks, threads, [&](int, Index chunk) {
    Eigen::VectorXd log_w(k_count), x_b(d);
    Eigen::MatrixXd cond_means(d, k_count);  // column k: component k's conditional mean
    const Index begin = part.block_begin(part.first_block(chunk));
    const Index end = std::min(part.block_begin(part.first_block(chunk + 1)), n);
    for (Index i = begin; i < end; ++i) {
      const Pattern& plan = plans[static_cast<std::size_t>(row_pattern[static_cast<std::size_t>(i)])];
      if (plan.a.empty()) continue;
      const Index na = static_cast<Index>(plan.a.size()), nb = static_cast<Index>(plan.b.size());
      auto xb = x_b.head(nb);
      for (Index t = 0; t < nb; ++t) xb[t] = x(i, plan.b[static_cast<std::size_t>(t)]);
      auto means = cond_means.topRows(na);
      for (Index k = 0; k < k_count; ++k) {
        const auto& c = plan.components[static_cast<std::size_t>(k)];
        log_w[k] = detail::log_observed_weight(c, xb);
        means.col(k) = c.mean_a;
        if (nb > 0) means.col(k).noalias() += c.gain * (xb - c.mean_b);
      }
      const Eigen::VectorXd w = detail::normalise_log_weights(log_w);
      Eigen::Map<Eigen::VectorXd> mean(values.data() + value_offsets[static_cast<std::size_t>(i)], na);
      mean.noalias() = means * w;
      // Law of total variance, with the spread of the component means taken
      // around the mixture mean (no cancellation when the means are large).
      Eigen::Map<RowMatrix<double>> cov(covariances.data() + offsets[i], na, na);
      for (Index k = 0; k < k_count; ++k) {
        const auto spread = means.col(k) - mean;
        cov.noalias() += w[k] * (plan.components[static_cast<std::size_t>(k)].schur + spread * spread.transpose());
      }
    }
  });
  for (Index i = 0; i < n; ++i) {
    const Pattern& plan = plans[static_cast<std::size_t>(row_pattern[static_cast<std::size_t>(i)])];
    for (std::size_t t = 0; t < plan.a.size(); ++t)
      x(i, plan.a[t]) = values[static_cast<std::size_t>(value_offsets[static_cast<std::size_t>(i)]) + t];
  }
}

}  // namespace gaussmix
