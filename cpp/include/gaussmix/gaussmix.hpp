#pragma once
/** @file gaussmix.hpp
 *  The whole gaussmix core: include this one header.
 *
 *  - Mixture<Scalar> (mixture.hpp): weights, means, covariances and their
 *    cached factorisations; Scalar (float or double) is the precision of the
 *    row kernels, parameters and accumulators are always double.
 *  - Scoring (scoring.hpp): log_prob_components, log_density,
 *    log_likelihood, responsibilities, assign_to_component.
 *  - EM (em.hpp): fit_em with EmOptions and an optional callback; one
 *    iteration is accumulate_stats (E-step and sufficient statistics in one
 *    pass; SufficientStats merge by addition) followed by m_step.
 *  - k-means (kmeans.hpp): kmeans_plus_plus (explicit seed), kmeans_lloyd,
 *    nearest_centres.
 *  - Conditioning (condition.hpp): marginal, condition, predict_missing.
 *  - Divergences (divergence.hpp): hellinger_affinity, kl_divergence, pairwise.
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
#include "gaussian.hpp"
#include "mixture.hpp"
#include "scoring.hpp"
#include "em.hpp"
#include "kmeans.hpp"
#include "condition.hpp"
#include "divergence.hpp"
