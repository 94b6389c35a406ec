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
#include <string>
#include <vector>

#include "detail/config.hpp"
#include "detail/parallel.hpp"
#include "errors.hpp"
#include "missing_patterns.hpp"
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
  /// The entropy of N(schur), (|A| log(2 pi e) + log det schur) / 2: set by
  /// missing_stats (the variational lower bound's term for the missing entries).
  double conditional_entropy = 0.0;
};

/** singular_ratio: the observed block is refused as singular when its
 *  Cholesky factor's smallest diagonal entry is at most this times its
 *  largest (default sqrt(|B| eps)); 0 refuses only a block that is not
 *  positive definite in floating point (EM, whose covariances are
 *  regularised, and whose columns may differ in scale by far more). */
inline ComponentConditional condition_component(const Eigen::VectorXd& mean, const Eigen::MatrixXd& cov,
                                                double weight, const std::vector<Index>& a,
                                                const std::vector<Index>& b, Index component,
                                                double singular_ratio = -1.0) {
  ComponentConditional c;
  c.mean_a = take(mean, a);
  c.mean_b = take(mean, b);
  const Eigen::MatrixXd s_aa = take(cov, a, a), s_ab = take(cov, a, b), s_bb = take(cov, b, b);
  const Index nb = static_cast<Index>(b.size());
  double log_det_b = 0.0;
  if (nb > 0) {
    const Eigen::LLT<Eigen::MatrixXd> llt(s_bb);
    const Eigen::VectorXd diag = llt.matrixL().toDenseMatrix().diagonal();
    const double ratio = singular_ratio >= 0.0
                             ? singular_ratio
                             : std::sqrt(static_cast<double>(nb) * std::numeric_limits<double>::epsilon());
    if (llt.info() != Eigen::Success || !diag.allFinite() || diag.minCoeff() <= ratio * diag.maxCoeff())
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

/** Log of w_k N(x_B | mu_kB, S_kBB) for one row, given diff = x_B - mu_kB;
 *  scratch (at least |B| entries) avoids an allocation per row. */
inline double log_observed_weight(const ComponentConditional& c, const Eigen::Ref<const Eigen::VectorXd>& diff,
                                  Eigen::Ref<Eigen::VectorXd> scratch) {
  if (diff.size() == 0) return c.log_weight_norm;
  auto white = scratch.head(diff.size());
  white.noalias() = c.whiten_b.triangularView<Eigen::Lower>() * diff;
  return c.log_weight_norm - 0.5 * white.squaredNorm();
}

/** Turns log-weights into weights summing to one (log-sum-exp), in place. */
inline Eigen::VectorXd& normalise_log_weights_in_place(Eigen::VectorXd& log_w) {
  const double top = log_w.maxCoeff();
  if (!std::isfinite(top))
    invalid_argument("condition: the observed values have zero density under every component");
  log_w = (log_w.array() - top).exp();
  log_w /= log_w.sum();
  return log_w;
}

/** Each pattern's conditional of each component (factors[p][k]), the
 *  patterns factorised in parallel; singular_ratio as condition_component's. */
template <typename Scalar>
std::vector<std::vector<ComponentConditional>> pattern_conditionals(const MissingPatterns& patterns,
                                                                    const Mixture<Scalar>& mix, int n_threads,
                                                                    StopCheck& stop, double singular_ratio) {
  const Index k_count = mix.n_components(), d = mix.dim();
  std::vector<std::vector<ComponentConditional>> factors(static_cast<std::size_t>(patterns.n_patterns()));
  std::vector<Eigen::MatrixXd> covariances;
  for (Index k = 0; k < k_count; ++k) covariances.push_back(mix.covariance(k));
  const double work = static_cast<double>(patterns.n_patterns()) * static_cast<double>(k_count * d * d * d);
  parallel_for_chunks(patterns.n_patterns(), threads_for(n_threads, work), stop, [&](int, Index p) {
    auto& f = factors[static_cast<std::size_t>(p)];
    for (Index k = 0; k < k_count; ++k)
      f.push_back(condition_component(mix.means().row(k).transpose(), covariances[static_cast<std::size_t>(k)],
                                      mix.weights()[k], patterns.missing[static_cast<std::size_t>(p)],
                                      patterns.observed[static_cast<std::size_t>(p)], k, singular_ratio));
  });
  return factors;
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
    out.covariances.push_back(detail::take(mix.covariance(k), dims, dims));
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
                                               mix.covariance(k), mix.weights()[k],
                                               a, b, k);
    const Eigen::VectorXd diff = ordered_values - c.mean_b;
    Eigen::VectorXd scratch(diff.size());
    log_w[k] = detail::log_observed_weight(c, diff, scratch);
    out.means.row(k) = (c.mean_a + c.gain * diff).transpose();
    out.covariances.push_back(c.schur);
  }
  out.weights = detail::normalise_log_weights_in_place(log_w);
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
 * @throws Cancelled when execution.should_stop asked to stop (x unchanged).
 */
template <typename Scalar>
void predict_missing(Eigen::Ref<RowMatrix<double>> x, const Mixture<Scalar>& mix,
                     Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>& offsets, std::vector<double>& covariances,
                     const Execution& execution = {}) {
  const Index n = x.rows(), d = x.cols(), k_count = mix.n_components();
  if (d != mix.dim())
    detail::invalid_argument("predict: data has " + std::to_string(d) + " columns but the mixture has dimension " +
                             std::to_string(mix.dim()));
  detail::StopCheck stop(execution);
  const MissingPatterns patterns = missing_patterns<double>(x, &stop);
  const Index n_patterns = patterns.n_patterns();
  offsets.resize(n + 1);
  offsets[0] = 0;
  std::vector<Index> value_offsets(static_cast<std::size_t>(n) + 1, 0);
  for (Index i = 0; i < n; ++i) {
    const Index unknown = x.row(i).array().isNaN().count();
    offsets[i + 1] = offsets[i] + unknown * unknown;
    value_offsets[static_cast<std::size_t>(i) + 1] = value_offsets[static_cast<std::size_t>(i)] + unknown;
  }
  covariances.assign(static_cast<std::size_t>(offsets[n]), 0.0);
  // Predicted values go to a side buffer first, so that x is written only
  // once every row has succeeded (an exception leaves x as it was).
  std::vector<double> values(static_cast<std::size_t>(value_offsets.back()));

  // Every pattern factorised once per component; schurs[p] (K x |A|^2): row k
  // is component k's conditional covariance, flattened.
  const auto factors = detail::pattern_conditionals(patterns, mix, execution.n_threads, stop, -1.0);
  std::vector<RowMatrix<double>> schurs(static_cast<std::size_t>(n_patterns));
  for (Index p = 0; p < n_patterns; ++p) {
    const Index na = static_cast<Index>(patterns.missing[static_cast<std::size_t>(p)].size());
    auto& s = schurs[static_cast<std::size_t>(p)];
    s.resize(k_count, na * na);
    for (Index k = 0; k < k_count; ++k)
      s.row(k) = Eigen::Map<const Eigen::RowVectorXd>(
          factors[static_cast<std::size_t>(p)][static_cast<std::size_t>(k)].schur.data(), na * na);
  }

  // Work items: blocks of up to kRegressionBlock rows of one pattern, so that
  // each component's conditional is applied to a block as one matrix product.
  constexpr Index kRegressionBlock = 64;
  struct WorkItem {
    Index pattern, first, count;  ///< patterns.rows[first, first + count)
  };
  std::vector<WorkItem> items;
  for (Index p = 0; p < n_patterns; ++p) {
    const Index end = patterns.starts[static_cast<std::size_t>(p) + 1];
    for (Index first = patterns.starts[static_cast<std::size_t>(p)]; first < end; first += kRegressionBlock)
      items.push_back({p, first, std::min(kRegressionBlock, end - first)});
  }

  const double predict_work = static_cast<double>(n) * static_cast<double>(k_count * d * d);
  detail::parallel_for_chunks(static_cast<Index>(items.size()), detail::threads_for(execution.n_threads, predict_work),
                              stop, [&](int, Index item) {
    const WorkItem& work = items[static_cast<std::size_t>(item)];
    const auto& a = patterns.missing[static_cast<std::size_t>(work.pattern)];
    const auto& b = patterns.observed[static_cast<std::size_t>(work.pattern)];
    const auto& components = factors[static_cast<std::size_t>(work.pattern)];
    const Index m = work.count, na = static_cast<Index>(a.size()), nb = static_cast<Index>(b.size());
    Eigen::MatrixXd xb(m, nb), diff(m, nb), white(m, nb), log_w(m, k_count);
    Eigen::MatrixXd cond_means(m, k_count * na);  // columns [k na, (k+1) na): component k's conditional means
    for (Index r = 0; r < m; ++r) {
      const Index row = patterns.rows[static_cast<std::size_t>(work.first + r)];
      for (Index t = 0; t < nb; ++t) xb(r, t) = x(row, b[static_cast<std::size_t>(t)]);
    }
    for (Index k = 0; k < k_count; ++k) {
      const detail::ComponentConditional& c = components[static_cast<std::size_t>(k)];
      auto means_k = cond_means.middleCols(k * na, na);
      means_k.rowwise() = c.mean_a.transpose();
      if (nb == 0) {
        log_w.col(k).setConstant(c.log_weight_norm);
        continue;
      }
      diff = xb.rowwise() - c.mean_b.transpose();
      // Rows of diff times L^{-T}: the whitened observed values.
      white.noalias() = diff * c.whiten_b.transpose().triangularView<Eigen::Upper>();
      log_w.col(k) = (c.log_weight_norm - 0.5 * white.rowwise().squaredNorm().array()).matrix();
      means_k.noalias() += diff * c.gain.transpose();
    }
    // Component weights of every row, normalised in log space.
    const Eigen::VectorXd top = log_w.rowwise().maxCoeff();
    if (!top.allFinite())
      detail::invalid_argument("predict: a row's observed values have zero density under every component");
    log_w = (log_w.colwise() - top).array().exp().matrix();
    log_w.array().colwise() /= log_w.rowwise().sum().array();
    const Eigen::MatrixXd& weights = log_w;  // now normalised
    // Law of total variance, column-wise over the block's rows: sum_k w_k S_k
    // (one product), plus the spread of the component means taken around the
    // mixture mean (no cancellation when the means are large).
    Eigen::MatrixXd mean = Eigen::MatrixXd::Zero(m, na);
    for (Index k = 0; k < k_count; ++k)
      mean.array() += cond_means.middleCols(k * na, na).array().colwise() * weights.col(k).array();
    Eigen::MatrixXd cov = weights * schurs[static_cast<std::size_t>(work.pattern)];  // m x na^2, row-major rows
    Eigen::ArrayXXd spread(m, na), weighted(m, na);
    for (Index k = 0; k < k_count; ++k) {
      spread = cond_means.middleCols(k * na, na).array() - mean.array();
      weighted = spread.colwise() * weights.col(k).array();
      for (Index i = 0; i < na; ++i)
        for (Index j = 0; j < na; ++j) cov.col(i * na + j).array() += weighted.col(i) * spread.col(j);
    }
    for (Index r = 0; r < m; ++r) {
      const Index row = patterns.rows[static_cast<std::size_t>(work.first + r)];
      Eigen::Map<Eigen::RowVectorXd>(covariances.data() + offsets[row], na * na) = cov.row(r);
      Eigen::Map<Eigen::RowVectorXd>(values.data() + value_offsets[static_cast<std::size_t>(row)], na) = mean.row(r);
    }
  });
  for (Index p = 0; p < n_patterns; ++p) {
    const auto& a = patterns.missing[static_cast<std::size_t>(p)];
    for (Index r = patterns.starts[static_cast<std::size_t>(p)]; r < patterns.starts[static_cast<std::size_t>(p) + 1]; ++r) {
      const Index row = patterns.rows[static_cast<std::size_t>(r)];
      for (std::size_t t = 0; t < a.size(); ++t)
        x(row, a[t]) = values[static_cast<std::size_t>(value_offsets[static_cast<std::size_t>(row)]) + t];
    }
  }
}

}  // namespace gaussmix
