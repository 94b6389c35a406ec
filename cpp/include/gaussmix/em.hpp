#pragma once
/** @file em.hpp
 *  Expectation-maximisation for full-covariance Gaussian mixtures.
 *
 *  One EM iteration is one pass over the data: each row block is scored
 *  (E-step) and, while it is in cache, folded into the M-step's sufficient
 *  statistics, so the N x K responsibility matrix is never stored. The
 *  statistics are taken around a shift, so that one pass is as accurate as
 *  the textbook two: the mixture's mean for every component whose mean is
 *  close enough to it (Mixture::needs_own_shift), which turns their M-step
 *  into a few large products shared by all of them, and its own mean for
 *  each component further away.
 */
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "detail/config.hpp"
#include "detail/parallel.hpp"
#include "detail/row_products.hpp"
#include "detail/score_blocks.hpp"
#include "errors.hpp"
#include "mixture.hpp"

namespace gaussmix {

/**
 * The additive statistics of one E-step over some rows, taken around a shift
 * per component (shift.row(k), D entries):
 *   resp_sum(k)  = sum_i r_ik
 *   first.row(k) = sum_i r_ik (x_i - shift_k)
 *   second[k]    = sum_i r_ik (x_i - shift_k)(x_i - shift_k)^T   (lower triangle)
 *   log_likelihood = sum_i log p(x_i),  n_rows = number of rows.
 * Statistics of disjoint row sets with the same shifts merge by addition
 * (merge), whatever produced them: threads, chunks of a file, machines.
 */
struct SufficientStats {
  RowMatrix<double> shift;
  Eigen::VectorXd resp_sum;
  RowMatrix<double> first;
  std::vector<Eigen::MatrixXd> second;
  double log_likelihood = 0.0;
  Index n_rows = 0;

  SufficientStats() = default;
  SufficientStats(const RowMatrix<double>& shifts) { reset(shifts); }

  /** Zeroes the sums, for K x D shifts. */
  void reset(const RowMatrix<double>& shifts) {
    const Index k = shifts.rows(), d = shifts.cols();
    shift = shifts;
    resp_sum.setZero(k);
    first.setZero(k, d);
    second.resize(static_cast<std::size_t>(k));
    for (auto& s : second) s.setZero(d, d);
    log_likelihood = 0.0;
    n_rows = 0;
  }

  /** Adds other's statistics (same shape and shifts) to these. */
  void merge(const SufficientStats& other) {
    if (other.resp_sum.size() != resp_sum.size() || other.first.cols() != first.cols())
      detail::invalid_argument("SufficientStats::merge: statistics of different shapes");
    if (other.shift != shift) detail::invalid_argument("SufficientStats::merge: statistics around different shifts");
    resp_sum += other.resp_sum;
    first += other.first;
    for (std::size_t k = 0; k < second.size(); ++k) second[k] += other.second[k];
    log_likelihood += other.log_likelihood;
    n_rows += other.n_rows;
  }
};

namespace detail {

/** Number of entries of a D x D lower triangle. */
inline Index triangle_size(Index d) { return d * (d + 1) / 2; }

/** Scratch for the one-pass iteration, allocated once per fit and reused:
 *  per-thread block workspaces and per-chunk statistics. A pass with a
 *  workspace sized by an earlier pass of the same shape allocates nothing
 *  (test_no_allocation). */
template <typename Scalar>
struct EmWorkspace {
  std::vector<BlockWorkspace<Scalar>> blocks;
  RowMatrix<double> shifts;  ///< K x D: each component's shift for this pass
  SufficientStats total;  ///< the pass's result
  /** Per-component path: per-chunk statistics. */
  std::vector<SufficientStats> chunk_stats;
  /** Common-shift path: per thread scratch for moment columns or scaled
   *  responsibilities, per chunk the weighted moments (K x (1 + D + D(D+1)/2)). */
  std::vector<Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>> common_scratch;
  std::vector<Eigen::MatrixXd> chunk_moments;
  std::vector<double> chunk_log_likelihood;
};

/** Per-component path: folds one scored block (responsibilities in
 *  ws.log_prob) into stats around each component's own mean. */
template <typename Scalar>
void accumulate_block(const BlockRef<Scalar>& xb, const Mixture<Scalar>& mix, BlockWorkspace<Scalar>& ws,
                      SufficientStats& stats) {
  const Index b = xb.rows(), d = xb.cols();
  stats.n_rows += b;
  stats.log_likelihood += ws.row_log_density.head(b).template cast<double>().sum();
  bool have_columns = false;
  for (Index k = 0; k < mix.n_components(); ++k) {
    if (!mix.needs_own_shift(k)) continue;  // taken by the common-shift moments
    const auto r = ws.log_prob.col(k).head(b);
    const double r_sum = r.template cast<double>().sum();
    if (r_sum == 0.0) continue;  // nothing to add; skips the D^2 work for far-away components
    stats.resp_sum[k] += r_sum;
    if (!have_columns) load_block_columns(xb, ws);  // once per block, for every component here
    have_columns = true;
    auto delta = ws.delta.topRows(b);
    delta = ws.x.topRows(b).rowwise() - mix.component(k).mean();
    auto scaled = ws.scaled.topRows(b);
    scaled = delta.array().colwise() * r.array();
    // first_k += r^T delta (row k of a row-major K x D); second_k += scaled^T delta,
    // lower triangle (column-major D x D).
    add_row_products(r.data(), ws.log_prob.outerStride(), 1, delta.data(), ws.delta.outerStride(), d, b,
                     Output{&stats.first(k, 0), 0, 1});
    auto& second = stats.second[static_cast<std::size_t>(k)];
    add_row_products(scaled.data(), ws.scaled.outerStride(), d, delta.data(), ws.delta.outerStride(), d, b,
                     Output{second.data(), 1, second.outerStride()}, true);
  }
}

/** Moment columns formed per product in the moment-column order of
 *  accumulate_block_common_shift (a B x 48 panel stays in L1/L2). */
constexpr Index kMomentPanel = 48;

/** Whether the common-shift statistics are formed as moment columns (true)
 *  or as scaled responsibilities (false): whichever forms fewer values per
 *  row, D(D+1)/2 or D K. */
inline bool forms_moment_columns(Index d, Index k) { return triangle_size(d) <= d * k; }

/**
 * Common-shift path: adds the block's statistics for every component around
 * the mixture's shift c to chunk_moments (column-major K x (1 + D + D(D+1)/2)),
 * in the packed layout of add_moments:
 *   [sum_r R, sum_r R (x - c)_j, then for i = 0..D-1 and j <= i: sum_r R (x - c)_i (x - c)_j],
 * R the block's responsibilities (ws.log_prob), x - c in ws.delta (from the E-step).
 *
 * The second moments take K D(D+1)/2 multiply-adds per row either way; what
 * differs is what is formed first:
 *  - moment columns (x - c)_i (x - c)_j, D(D+1)/2 per row, each weighted by
 *    all K responsibilities (R^T [moments], a panel of columns at a time);
 *  - scaled responsibilities R (x - c)_i, K per row and i, each weighted by
 *    the i + 1 columns (x - c)_j, j <= i.
 * The first forms fewer values when D is small against K (1e6 x 8, K = 16:
 * 0.083 against 0.091 s/iter), the second when D is large (5e4 x 64, K = 8:
 * 0.066 against 0.072 s/iter); scratch is B x max(panel, K).
 */
template <typename Scalar>
void accumulate_block_common_shift(Index b, BlockWorkspace<Scalar>& ws,
                                   Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>& scratch,
                                   Eigen::MatrixXd& chunk_moments, double& chunk_log_likelihood) {
  const Index d = ws.delta.cols(), k = ws.log_prob.cols();
  chunk_log_likelihood += ws.row_log_density.head(b).template cast<double>().sum();
  const auto resp = ws.log_prob.topRows(b);
  const auto centred = ws.delta.topRows(b);
  const Index ld_resp = ws.log_prob.outerStride(), ld_centred = ws.delta.outerStride();
  auto out = [&](Index col) { return Output{&chunk_moments(0, col), 1, chunk_moments.outerStride()}; };
  chunk_moments.col(0) += resp.colwise().sum().transpose().template cast<double>();
  add_row_products(resp.data(), ld_resp, k, centred.data(), ld_centred, d, b, out(1));
  if (forms_moment_columns(d, k)) {
    const Index width = scratch.cols();
    Index first_col = 1 + d, filled = 0;
    for (Index i = 0; i < d; ++i)
      for (Index j = 0; j <= i; ++j) {
        scratch.col(filled).head(b) = centred.col(i).cwiseProduct(centred.col(j));
        if (++filled == width || (i == d - 1 && j == i)) {
          add_row_products(resp.data(), ld_resp, k, scratch.data(), scratch.outerStride(), filled, b, out(first_col));
          first_col += filled;
          filled = 0;
        }
      }
  } else {
    for (Index i = 0; i < d; ++i) {
      scratch.topLeftCorner(b, k) = resp.array().colwise() * centred.col(i).array();
      add_row_products(scratch.data(), scratch.outerStride(), k, centred.data(), ld_centred, i + 1, b,
                       out(1 + d + triangle_size(i)));
    }
  }
}

/** Unpacks common-shift moments (K x (1 + D + D(D+1)/2)) into stats. */
template <typename Scalar>
void add_moments(const Eigen::MatrixXd& moments, const Mixture<Scalar>& mix, SufficientStats& stats) {
  const Index d = stats.first.cols();
  for (Index k = 0; k < moments.rows(); ++k) {
    if (mix.needs_own_shift(k)) continue;  // its statistics come from the per-component path
    stats.resp_sum[k] += moments(k, 0);
    stats.first.row(k) += moments.row(k).segment(1, d);
    Index col = 1 + d;
    auto& second = stats.second[static_cast<std::size_t>(k)];
    for (Index i = 0; i < d; ++i)
      for (Index j = 0; j <= i; ++j) second(i, j) += moments(k, col++);
  }
}

/** The one-pass E-step + statistics over all rows, into ws.total. Chunks
 *  are reduced in chunk order, so the result does not depend on which
 *  thread ran which chunk. */
template <typename Scalar>
const SufficientStats& accumulate_stats(const DataRef<Scalar>& x, const Mixture<Scalar>& mix, int n_threads,
                                        StopCheck& stop, EmWorkspace<Scalar>& ws) {
  const Index k = mix.n_components(), d = mix.dim();
  const bool common = mix.common_shift_ok();
  const bool own = mix.any_own_shift();
  const Index width = 1 + d + triangle_size(d);
  // Each chunk's accumulators: K moment rows (common path) and K SufficientStats
  // entries (own-shift path); large K and D get fewer chunks (chunks_for_stats).
  const double bytes_per_chunk = 8.0 * static_cast<double>(k) *
                                 ((common ? static_cast<double>(width) : 0.0) +
                                  (own ? static_cast<double>(d * d + d + 1) : 0.0));
  const Index max_chunks = chunks_for_stats(bytes_per_chunk);
  const RowPartition part(x.rows(), max_chunks);
  const int threads = threads_for(n_threads);  // at least the pass's own count: scratch per thread id
  const std::size_t n_chunks = static_cast<std::size_t>(std::max<Index>(part.n_chunks, 1));
  RowMatrix<double>& shifts = ws.shifts;
  shifts.resize(k, d);
  for (Index c = 0; c < k; ++c)
    shifts.row(c) = mix.needs_own_shift(c) ? mix.component(c).mean().template cast<double>()
                                           : mix.shift().template cast<double>();
  ws.total.reset(shifts);
  if (common) {
    const Index scratch_cols = forms_moment_columns(d, k) ? std::min(triangle_size(d), kMomentPanel) : k;
    ws.common_scratch.resize(static_cast<std::size_t>(threads));
    for (auto& m : ws.common_scratch) m.resize(kBlockRows, scratch_cols);
    ws.chunk_moments.resize(n_chunks);
    for (auto& m : ws.chunk_moments) m.setZero(k, width);
    ws.chunk_log_likelihood.assign(n_chunks, 0.0);
  }
  if (own) {
    ws.chunk_stats.resize(n_chunks);
    for (auto& s : ws.chunk_stats) s.reset(shifts);
  }
  for_each_scored_block(x, mix, threads, stop, true, ws.blocks,
                        [&](int thread, Index chunk, Index, const auto& xb, auto& bw) {
                          const auto t = static_cast<std::size_t>(thread), c = static_cast<std::size_t>(chunk);
                          // The moments first: they read x - c from bw.delta, which the
                          // per-component path then overwrites.
                          if (common)
                            accumulate_block_common_shift(xb.rows(), bw, ws.common_scratch[t], ws.chunk_moments[c],
                                                          ws.chunk_log_likelihood[c]);
                          if (own) accumulate_block(xb, mix, bw, ws.chunk_stats[c]);
                        },
                        max_chunks);
  // Chunks reduce in chunk order.
  if (own) {
    for (const auto& s : ws.chunk_stats) ws.total.merge(s);
  }
  if (common) {
    for (std::size_t c = 1; c < n_chunks; ++c) ws.chunk_moments[0] += ws.chunk_moments[c];
    add_moments(ws.chunk_moments[0], mix, ws.total);
    if (!own) {  // otherwise the per-component statistics already counted them
      for (double ll : ws.chunk_log_likelihood) ws.total.log_likelihood += ll;
      ws.total.n_rows = x.rows();
    }
  }
  return ws.total;
}

}  // namespace detail

/**
 * One E-step over x with the statistics the M-step needs, in one pass.
 * @return statistics around mix's means (see SufficientStats).
 */
template <typename Scalar>
SufficientStats accumulate_stats(const DataArg<Scalar>& x, const Mixture<Scalar>& mix,
                                 const Execution& execution = {}) {
  detail::EmWorkspace<Scalar> ws;
  detail::StopCheck stop(execution);
  return detail::accumulate_stats(x, mix, execution.n_threads, stop, ws);
}

/**
 * The M-step: the mixture that maximises the expected log-likelihood given
 * stats (around stats.shift):
 *   mean_k' = shift_k + first_k / N_k
 *   cov_k'  = second_k / N_k - (first_k / N_k)(first_k / N_k)^T + diag(diag_add)
 *   w_k'    = N_k / n_rows
 * @param diag_add  length D (added to every covariance's diagonal) or empty.
 * @throws CovProblem if a component received no responsibility or a new
 *         covariance is not positive definite.
 */
template <typename Scalar>
Mixture<Scalar> m_step(const SufficientStats& stats, const Eigen::VectorXd& diag_add = Eigen::VectorXd()) {
  const Index k_count = stats.first.rows(), d = stats.first.cols();
  if (diag_add.size() != 0 && diag_add.size() != d)
    detail::invalid_argument("m_step: diag_add must have D entries");
  if (stats.n_rows <= 0) detail::invalid_argument("m_step: statistics of zero rows");
  bool shapes_agree = d >= 1 && stats.resp_sum.size() == k_count && stats.shift.rows() == k_count &&
                      stats.shift.cols() == d && static_cast<Index>(stats.second.size()) == k_count;
  for (const auto& s : stats.second) shapes_agree = shapes_agree && s.rows() == d && s.cols() == d;
  if (!shapes_agree) detail::invalid_argument("m_step: statistics of inconsistent shapes (K x D with D >= 1 expected)");
  Eigen::VectorXd weights(k_count);
  RowMatrix<double> means(k_count, d);
  std::vector<Eigen::MatrixXd> covs(static_cast<std::size_t>(k_count));
  for (Index k = 0; k < k_count; ++k) {
    const double nk = stats.resp_sum[k];
    if (!(nk > 0.0) || !std::isfinite(nk))
      throw CovProblem("component " + std::to_string(k) +
                       " has no responsibility left (it collapsed or moved away from the data)");
    const Eigen::VectorXd offset = stats.first.row(k).transpose() / nk;
    means.row(k) = stats.shift.row(k) + offset.transpose();
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
  Execution execution;              ///< threads (0 = all cores) and cancellation
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
 * @throws Cancelled when options.execution.should_stop asked to stop.
 * @throws std::invalid_argument on bad options or a shape mismatch.
 */
template <typename Scalar>
EmResult<Scalar> fit_em(const DataArg<Scalar>& x, Mixture<Scalar> init, const EmOptions<Scalar>& options) {
  if (options.max_iter < 1) detail::invalid_argument("fit_em: max_iter must be at least 1");
  if (x.rows() < 1) detail::invalid_argument("fit_em: no data rows");
  detail::EmWorkspace<Scalar> ws;
  detail::StopCheck stop(options.execution);
  Mixture<Scalar> current = std::move(init);
  double previous = std::numeric_limits<double>::quiet_NaN();
  double loglik = previous;
  int still_count = 0;
  int iter = 0;
  bool converged = false;
  while (iter < options.max_iter) {
    stop.throw_if_requested();
    const SufficientStats& stats = detail::accumulate_stats(x, current, options.execution.n_threads, stop, ws);
    loglik = stats.log_likelihood;
    if (!std::isfinite(loglik))
      throw CovProblem("the log-likelihood is not finite: some covariance is too small for the data");
    current = m_step<Scalar>(stats, options.diag_add);
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
