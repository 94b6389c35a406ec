#pragma once
/** @file gaussmix.hpp
 *  The whole gaussmix core: include this one header.
 *
 *  - Mixture<Scalar> (mixture.hpp): weights, means, covariances and their
 *    cached factorisations; Scalar (float or double) is the precision of the
 *    row kernels, parameters and accumulators are always double. Four
 *    covariance models (CovarianceType), one type:
 *      Mixture<double>(w, means, covs)              full: K matrices D x D
 *      Mixture<double>::tied(w, means, cov)         tied: one D x D shared
 *      Mixture<double>::diag(w, means, variances)   diag: K x D variances
 *      Mixture<double>::spherical(w, means, v)      spherical: K variances
 *    Every function below takes any of them; fit_em and m_step keep the
 *    model of their input.
 *  - Scoring (scoring.hpp): log_prob_components, log_density,
 *    log_likelihood, responsibilities, assign_to_component,
 *    log_density_and_map.
 *  - EM (em.hpp): fit_em with EmOptions (delta_stop on the total or the
 *    mean log-likelihood, diag_add and reg_covar, an optional callback) and
 *    optional sample weights (sample_weight.hpp); one iteration is
 *    accumulate_stats (accumulate.hpp: E-step and SufficientStats,
 *    sufficient_stats.hpp, in one pass) followed by m_step (m_step.hpp).
 *    The statistics are the public seam for data held in pieces:
 *
 *      SufficientStats total = accumulate_stats(block0, mix, threads, w0);
 *      total.merge(accumulate_stats(block1, mix, threads, w1));  // fixed order
 *      mix = m_step<double>(total, Eigen::VectorXd(), 1e-6);      // reg_covar
 *
 *    (cpp/tests/test_models.cpp has a worked example per model.)
 *  - k-means (kmeans.hpp): kmeans_plus_plus (explicit seed), kmeans_lloyd,
 *    nearest_centres.
 *  - Conditioning (condition.hpp): marginal, condition, predict_missing.
 *  - Rows with NaN grouped by missing pattern (missing_patterns.hpp).
 *  - Missing values (missing.hpp): missing_stats and complete_row_stats (EM's
 *    statistics, reg_covar as a penalty on the observed entries), missing_log_prob.
 *  - Divergences (divergence.hpp): hellinger_affinity, kl_divergence, pairwise.
 *  - Data checks (column_summary.hpp): column_summary, every per-column count,
 *    extreme and moment the checks of a fit need, in one pass over the data.
 *
 *  Bad arguments throw std::invalid_argument; a covariance that is not
 *  positive definite throws CovProblem (errors.hpp). Data are N x D,
 *  row-major (DataRef), one observation per row, D >= 1.
 *  - Execution (execution.hpp): the last argument of every function that
 *    loops over rows (an int is a thread count, 0 = all cores): threads, at
 *    most max_threads(), and an optional should_stop check polled between
 *    row blocks; a stopped call throws Cancelled. Results are bit-identical
 *    for any thread count.
 */
#include "errors.hpp"
#include "execution.hpp"
#include "sample_weight.hpp"
#include "gaussian.hpp"
#include "mixture.hpp"
#include "scoring.hpp"
#include "sufficient_stats.hpp"
#include "accumulate.hpp"
#include "m_step.hpp"
#include "em.hpp"
#include "kmeans.hpp"
#include "missing_patterns.hpp"
#include "condition.hpp"
#include "missing.hpp"
#include "divergence.hpp"
#include "column_summary.hpp"
