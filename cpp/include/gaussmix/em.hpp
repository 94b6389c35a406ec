#pragma once
/** @file em.hpp
 *  Expectation-maximisation for Gaussian mixtures of every covariance model,
 *  from weighted or unweighted rows: the loop (fit_em) over one fused E-step
 *  and statistics pass per iteration (accumulate.hpp), the retake of
 *  statistics whose M-step would cancel and the M-step itself (m_step.hpp).
 */
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <utility>
#include <vector>

#include "accumulate.hpp"
#include "detail/config.hpp"
#include "detail/parallel.hpp"
#include "errors.hpp"
#include "execution.hpp"
#include "m_step.hpp"
#include "mixture.hpp"
#include "sample_weight.hpp"
#include "sufficient_stats.hpp"

namespace gaussmix {

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
  double reg_covar = 0.0;           ///< also added to every variance (scikit-learn's absolute regulariser)
  /** delta_stop compares log_likelihood / weight_sum (the mean per unit of
   *  weight: scikit-learn's lower bound, unchanged when all weights are
   *  scaled) instead of the total (PyPR's rule). */
  bool average_log_likelihood = false;
  /** The compared value (total, or mean with average_log_likelihood) of the
   *  fit this one continues, for the first iteration's change (scikit-learn's
   *  warm start: a fit that resumes where a converged one stopped may stop
   *  after one iteration). NaN: none, the first iteration never counts as still. */
  double previous_log_likelihood = std::numeric_limits<double>::quiet_NaN();
  double resp_offset = 0.0;         ///< added to every N_k in each M-step (see m_step)
  Execution execution;              ///< threads (0 = all cores) and cancellation
  EmCallback<Scalar> callback;      ///< optional, called after every iteration
};

/** What fit_em returns. */
template <typename Scalar>
struct EmResult {
  Mixture<Scalar> mixture;   ///< parameters after the last iteration
  double log_likelihood;     ///< (weighted) log-likelihood of the parameters the last iteration started from
  double weight_sum;         ///< sum of the sample weights (N when unweighted): log_likelihood / weight_sum is the mean
  int n_iter;                ///< iterations run
  bool converged;            ///< stopped by the delta_stop rule rather than max_iter
  /** n_iter entries: the log-likelihood each iteration started from (the last is log_likelihood). */
  std::vector<double> log_likelihoods;
};

/**
 * EM from the starting mixture init (of any covariance model, kept) until
 * PyPR's stopping rule holds: the total log-likelihood (or, with
 * options.average_log_likelihood, its mean per unit of weight) changed by
 * less than delta_stop in delta_stop_count_end consecutive iterations, or
 * max_iter iterations ran. Every row counts with its sample_weight (N
 * entries, finite, >= 0, positive sum; empty: 1 each).
 * @throws CovProblem when a covariance stops being positive definite or the
 *         log-likelihood becomes non-finite.
 * @throws Cancelled when options.execution.should_stop asked to stop.
 * @throws std::invalid_argument on bad options or a shape mismatch.
 */
template <typename Scalar>
EmResult<Scalar> fit_em(const DataArg<Scalar>& x, Mixture<Scalar> init, const EmOptions<Scalar>& options,
                        const SampleWeightRef& sample_weight = detail::no_sample_weight()) {
  if (options.max_iter < 1) detail::invalid_argument("fit_em: max_iter must be at least 1");
  if (x.rows() < 1) detail::invalid_argument("fit_em: no data rows");
  detail::check_sample_weight("fit_em", sample_weight, x.rows());
  detail::EmWorkspace<Scalar> ws;
  detail::StopCheck stop(options.execution);
  Mixture<Scalar> current = std::move(init);
  double previous = options.previous_log_likelihood;
  double loglik = std::numeric_limits<double>::quiet_NaN();
  double weight_sum = 0.0;
  std::vector<double> history;
  history.reserve(static_cast<std::size_t>(std::min(options.max_iter, 10000)));
  int still_count = 0;
  int iter = 0;
  bool converged = false;
  RowMatrix<double> around;  // shifts of a retake (recentred_shifts)
  RowMatrix<Scalar> around_kernel;
  while (iter < options.max_iter) {
    stop.throw_if_requested();
    const SufficientStats* taken =
        &detail::accumulate_stats(x, sample_weight, current, options.execution.n_threads, stop, ws);
    for (int retake = 0; retake < detail::kMaxRecentring && recentred_shifts<Scalar>(*taken, options.resp_offset, around);
         ++retake) {
      around_kernel = around.cast<Scalar>();
      taken = &detail::accumulate_stats(x, sample_weight, current, options.execution.n_threads, stop, ws, &around_kernel);
    }
    const SufficientStats& stats = *taken;
    loglik = stats.log_likelihood;
    if (!std::isfinite(loglik))
      throw CovProblem("the log-likelihood is not finite: some covariance is too small for the data");
    history.push_back(loglik);
    current = m_step<Scalar>(stats, options.diag_add, options.reg_covar, options.resp_offset);
    if (options.callback) options.callback(iter, loglik, current);
    ++iter;
    weight_sum = stats.weight_sum;  // summed in chunk order: the same bits wherever the weights lie
    const double compared = options.average_log_likelihood ? loglik / weight_sum : loglik;
    still_count = std::abs(compared - previous) < options.delta_stop ? still_count + 1 : 0;
    previous = compared;
    if (still_count >= options.delta_stop_count_end) {
      converged = true;
      break;
    }
  }
  return EmResult<Scalar>{std::move(current), loglik, weight_sum, iter, converged, std::move(history)};
}

}  // namespace gaussmix
