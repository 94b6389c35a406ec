#pragma once
/** @file em.hpp
 *  Expectation-maximisation for full-covariance Gaussian mixtures.
 *
 *  One EM iteration is one pass over the data: each row block is scored
 *  (E-step) and, while it is in cache, folded into the M-step's sufficient
 *  statistics. The statistics are taken around the current means (a shift),
 *  so the single pass is as accurate as the textbook two passes, and the
 *  N x K responsibility matrix is never stored.
 */
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "detail/config.hpp"
#include "detail/parallel.hpp"
#include "errors.hpp"
#include "mixture.hpp"

namespace gaussmix {

/**
 * The additive statistics of one E-step over some rows, taken around the
 * means ("shift") of the mixture that scored them:
 *   resp_sum(k)  = sum_i r_ik
 *   first.row(k) = sum_i r_ik (x_i - shift_k)
 *   second[k]    = sum_i r_ik (x_i - shift_k)(x_i - shift_k)^T   (lower triangle)
 *   log_likelihood = sum_i log p(x_i),  n_rows = number of rows.
 * Statistics of disjoint row sets scored by the same mixture merge by
 * addition (merge), whatever produced them: threads, chunks of a file, machines.
 */
struct SufficientStats {
  Eigen::VectorXd resp_sum;
  RowMatrix<double> first;
  std::vector<Eigen::MatrixXd> second;
  double log_likelihood = 0.0;
  Index n_rows = 0;

  SufficientStats() = default;
  SufficientStats(Index n_components, Index dim) { reset(n_components, dim); }

  /** Zeroes everything, resizing for K components of dimension D. */
  void reset(Index n_components, Index dim) {
    resp_sum.setZero(n_components);
    first.setZero(n_components, dim);
    second.resize(static_cast<std::size_t>(n_components));
    for (auto& s : second) s.setZero(dim, dim);
    log_likelihood = 0.0;
    n_rows = 0;
  }

  /** Adds other's statistics (same K, D and scoring mixture) to these. */
  void merge(const SufficientStats& other) {
    if (other.resp_sum.size() != resp_sum.size() || other.first.cols() != first.cols())
      detail::invalid_argument("SufficientStats::merge: statistics of different shapes");
    resp_sum += other.resp_sum;
    first += other.first;
    for (std::size_t k = 0; k < second.size(); ++k) second[k] += other.second[k];
    log_likelihood += other.log_likelihood;
    n_rows += other.n_rows;
  }
};

namespace detail {

/** Scratch for the one-pass iteration: per-thread block workspaces and
 *  per-chunk statistics, allocated once per fit and reused every iteration. */
template <typename Scalar>
struct EmWorkspace {
  std::vector<BlockWorkspace<Scalar>> blocks;
  std::vector<SufficientStats> chunk_stats;
  /** float kernels form each block's second moments in float, then add them
   *  to the double accumulators; one D x D scratch per thread. */
  std::vector<Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>> block_second;
};

/** Folds one scored block (responsibilities in ws.log_prob) into stats. */
template <typename Scalar>
void accumulate_block(const BlockRef<Scalar>& xb, const Mixture<Scalar>& mix, BlockWorkspace<Scalar>& ws,
                      Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>& block_second,
                      SufficientStats& stats) {
  const Index b = xb.rows();
  stats.n_rows += b;
  stats.log_likelihood += ws.row_log_density.head(b).template cast<double>().sum();
  for (Index k = 0; k < mix.n_components(); ++k) {
    const auto r = ws.log_prob.col(k).head(b);
    const double r_sum = r.template cast<double>().sum();
    if (r_sum == 0.0) continue;  // nothing to add; skips the D^2 work for far-away components
    stats.resp_sum[k] += r_sum;
    auto delta = ws.delta.topRows(b);
    delta = xb.rowwise() - mix.component(k).mean();
    stats.first.row(k) += (r.transpose() * delta).template cast<double>();
    // sqrt(r) .* delta, so that the weighted scatter is one symmetric rank-b update.
    auto scaled = ws.white.topRows(b);
    scaled = delta.array().colwise() * r.array().sqrt();
    if constexpr (std::is_same_v<Scalar, double>) {
      stats.second[static_cast<std::size_t>(k)].template selfadjointView<Eigen::Lower>().rankUpdate(
          scaled.transpose());
    } else {
      block_second.setZero();
      block_second.template selfadjointView<Eigen::Lower>().rankUpdate(scaled.transpose());
      stats.second[static_cast<std::size_t>(k)] += block_second.template cast<double>();
    }
  }
}

/** The one-pass E-step + statistics over all rows, into ws.chunk_stats[0]. */
template <typename Scalar>
const SufficientStats& accumulate_stats(const DataRef<Scalar>& x, const Mixture<Scalar>& mix, int n_threads,
                                        EmWorkspace<Scalar>& ws) {
  const Index k = mix.n_components(), d = mix.dim();
  const RowPartition part(x.rows());
  const int threads = resolve_threads(n_threads);
  ws.chunk_stats.resize(static_cast<std::size_t>(std::max<Index>(part.n_chunks, 1)));
  for (auto& s : ws.chunk_stats) s.reset(k, d);
  ws.block_second.resize(static_cast<std::size_t>(threads));
  for (auto& m : ws.block_second) m.resize(d, d);
  for_each_scored_block(x, mix, threads, true, ws.blocks,
                        [&](int thread, Index chunk, Index, const auto& xb, auto& bw) {
                          accumulate_block(xb, mix, bw, ws.block_second[static_cast<std::size_t>(thread)],
                                           ws.chunk_stats[static_cast<std::size_t>(chunk)]);
                        });
  // Fixed-order reduction: the result does not depend on which thread ran which chunk.
  for (std::size_t c = 1; c < ws.chunk_stats.size(); ++c) ws.chunk_stats[0].merge(ws.chunk_stats[c]);
  return ws.chunk_stats[0];
}

}  // namespace detail

/**
 * One E-step over x with the statistics the M-step needs, in one pass.
 * @return statistics around mix's means (see SufficientStats).
 */
template <typename Scalar>
SufficientStats accumulate_stats(const DataRef<Scalar>& x, const Mixture<Scalar>& mix, int n_threads = 0) {
  detail::EmWorkspace<Scalar> ws;
  return detail::accumulate_stats(x, mix, n_threads, ws);
}

/**
 * The M-step: the mixture that maximises the expected log-likelihood given
 * stats, which were accumulated around the means of shifted_by.
 *   mean_k' = shift_k + first_k / N_k
 *   cov_k'  = second_k / N_k - (first_k / N_k)(first_k / N_k)^T + diag(diag_add)
 *   w_k'    = N_k / n_rows
 * @param diag_add  length D (added to every covariance's diagonal) or empty.
 * @throws CovProblem if a component received no responsibility or a new
 *         covariance is not positive definite.
 */
template <typename Scalar>
Mixture<Scalar> m_step(const SufficientStats& stats, const Mixture<Scalar>& shifted_by,
                       const Eigen::VectorXd& diag_add = Eigen::VectorXd()) {
  const Index k_count = shifted_by.n_components(), d = shifted_by.dim();
  if (diag_add.size() != 0 && diag_add.size() != d)
    detail::invalid_argument("m_step: diag_add must have D entries");
  if (stats.n_rows <= 0) detail::invalid_argument("m_step: statistics of zero rows");
  Eigen::VectorXd weights(k_count);
  RowMatrix<double> means(k_count, d);
  std::vector<Eigen::MatrixXd> covs(static_cast<std::size_t>(k_count));
  for (Index k = 0; k < k_count; ++k) {
    const double nk = stats.resp_sum[k];
    if (!(nk > 0.0) || !std::isfinite(nk))
      throw CovProblem("component " + std::to_string(k) +
                       " has no responsibility left (it collapsed or moved away from the data)");
    const Eigen::VectorXd offset = stats.first.row(k).transpose() / nk;
    means.row(k) = shifted_by.component(k).mean().template cast<double>() + offset.transpose();
    Eigen::MatrixXd cov = stats.second[static_cast<std::size_t>(k)] / nk;
    cov.template triangularView<Eigen::StrictlyUpper>() = cov.transpose();
    cov.noalias() -= offset * offset.transpose();
    if (diag_add.size() != 0) cov.diagonal() += diag_add;
    covs[static_cast<std::size_t>(k)] = std::move(cov);
    weights[k] = nk / static_cast<double>(stats.n_rows);
  }
  // Responsibilities sum to 1 per row up to rounding; renormalise that rounding away.
  weights /= weights.sum();
  return Mixture<Scalar>(std::move(weights), std::move(means), std::move(covs));
}

/** Called after every EM iteration with the iteration number (from 0), the
 *  log-likelihood of the parameters the iteration started from, and the
 *  parameters it produced. */
template <typename Scalar>
using EmCallback = std::function<void(int iteration, double log_likelihood, const Mixture<Scalar>& updated)>;

/** Options of fit_em; the defaults are PyPR's. */
template <typename Scalar>
struct EmOptions {
  int max_iter = 50;                ///< at most this many iterations (>= 1)
  double delta_stop = 1e-6;         ///< a change of total log-likelihood below this counts as "still"
  int delta_stop_count_end = 10;    ///< stop after this many consecutive "still" iterations
  Eigen::VectorXd diag_add;         ///< length D added to every covariance diagonal, or empty
  int n_threads = 0;                ///< 0 = all available cores
  EmCallback<Scalar> callback;      ///< optional, called after every iteration
};

/** What fit_em returns. */
template <typename Scalar>
struct EmResult {
  Mixture<Scalar> mixture;   ///< parameters after the last iteration
  double log_likelihood;     ///< log-likelihood of the parameters the last iteration started from
  int n_iter;                ///< iterations run
  bool converged;            ///< stopped by the delta_stop rule rather than max_iter
};

/**
 * EM from the starting mixture init until PyPR's stopping rule holds: the
 * total log-likelihood changed by less than delta_stop in delta_stop_count_end
 * consecutive iterations, or max_iter iterations ran.
 * @throws CovProblem when a covariance stops being positive definite or the
 *         log-likelihood becomes non-finite.
 * @throws std::invalid_argument on bad options or a shape mismatch.
 */
template <typename Scalar>
EmResult<Scalar> fit_em(const DataRef<Scalar>& x, Mixture<Scalar> init, const EmOptions<Scalar>& options) {
  if (options.max_iter < 1) detail::invalid_argument("fit_em: max_iter must be at least 1");
  if (x.rows() < 1) detail::invalid_argument("fit_em: no data rows");
  detail::EmWorkspace<Scalar> ws;
  Mixture<Scalar> current = std::move(init);
  double previous = std::numeric_limits<double>::quiet_NaN();
  double loglik = previous;
  int still_count = 0;
  int iter = 0;
  bool converged = false;
  while (iter < options.max_iter) {
    const SufficientStats& stats = detail::accumulate_stats(x, current, options.n_threads, ws);
    loglik = stats.log_likelihood;
    if (!std::isfinite(loglik))
      throw CovProblem("the log-likelihood is not finite: some covariance is too small for the data");
    current = m_step(stats, current, options.diag_add);
    if (options.callback) options.callback(iter, loglik, current);
    ++iter;
    still_count = std::abs(loglik - previous) < options.delta_stop ? still_count + 1 : 0;
    previous = loglik;
    if (still_count >= options.delta_stop_count_end) {
      converged = true;
      break;
    }
  }
  return EmResult<Scalar>{std::move(current), loglik, iter, converged};
}

}  // namespace gaussmix
