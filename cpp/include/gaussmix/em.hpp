#pragma once
/** @file em.hpp
 *  Expectation-maximisation for Gaussian mixtures of every covariance model,
 *  from weighted or unweighted rows.
 *
 *  One EM iteration is one pass over the data: each row block is scored
 *  (E-step) and, while it is in cache, folded into the M-step's sufficient
 *  statistics, so the N x K responsibility matrix is never stored. The
 *  statistics are taken around a shift, so that one pass is as accurate as
 *  the textbook two: the mixture's mean for every component whose mean is
 *  close enough to it (Mixture::needs_own_shift), which turns their M-step
 *  into a few large products shared by all of them, and its own mean for
 *  each component further away. When a mean moves so far in one iteration
 *  that its variance would cancel (a start far from the data), the
 *  statistics are retaken around the new means (recentred_shifts).
 */
#include <algorithm>
#include <cmath>
#include <cstdint>
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
#include "sample_weight.hpp"

namespace gaussmix {

namespace detail {

/** SufficientStats::second of a model: count matrices of rows x cols. */
struct SecondShape {
  Index count, rows, cols;
};
inline SecondShape second_shape(CovarianceType type, Index k, Index d) {
  switch (type) {
    case CovarianceType::full: return {k, d, d};
    case CovarianceType::tied: return {1, d, d};
    case CovarianceType::diag: return {1, k, d};
    case CovarianceType::spherical: break;
  }
  return {1, k, 1};
}

}  // namespace detail

/**
 * The additive statistics of one E-step over some rows, taken around a shift
 * per component (shift.row(k), D entries), with row weights w_i (1 when
 * unweighted) and responsibilities r_ik:
 *   resp_sum(k)  = sum_i w_i r_ik
 *   first.row(k) = sum_i w_i r_ik (x_i - shift_k)
 *   second       = the second moments, in the covariance model's shape:
 *     full:      K matrices D x D, second[k] = sum_i w_i r_ik (x_i - shift_k)(x_i - shift_k)^T
 *     tied:      one D x D, the pooled sum over k of full's second[k]
 *     diag:      one K x D, entry (k, j) = sum_i w_i r_ik (x_ij - shift_kj)^2
 *     spherical: one K x 1, entry k = sum_i w_i r_ik ||x_i - shift_k||^2
 *   (D x D matrices: lower triangle only);
 *   log_likelihood = sum_i w_i log p(x_i), weight_sum = sum_i w_i,
 *   n_rows = number of rows;
 *   mixture_fingerprint = Mixture::fingerprint() of the parameters used.
 * Statistics of disjoint row sets with the same model and shifts merge by
 * addition (merge), whatever produced them: threads, chunks of a file,
 * machines; m_step turns them into the next mixture.
 */
struct SufficientStats {
  CovarianceType covariance_type = CovarianceType::full;
  RowMatrix<double> shift;
  Eigen::VectorXd resp_sum;
  RowMatrix<double> first;
  std::vector<Eigen::MatrixXd> second;
  double log_likelihood = 0.0;
  double weight_sum = 0.0;
  Index n_rows = 0;
  std::uint64_t mixture_fingerprint = 0;

  SufficientStats() = default;
  SufficientStats(CovarianceType type, const RowMatrix<double>& shifts) { reset(type, shifts); }

  /** Zeroes the sums, for the model's statistics around K x D shifts. */
  void reset(CovarianceType type, const RowMatrix<double>& shifts) {
    const Index k = shifts.rows(), d = shifts.cols();
    covariance_type = type;
    shift = shifts;
    resp_sum.setZero(k);
    first.setZero(k, d);
    const detail::SecondShape s = detail::second_shape(type, k, d);
    second.resize(static_cast<std::size_t>(s.count));
    for (auto& m : second) m.setZero(s.rows, s.cols);
    log_likelihood = 0.0;
    weight_sum = 0.0;
    n_rows = 0;
  }

  /** Adds other's statistics (same model, shapes and shifts) to these. */
  void merge(const SufficientStats& other) {
    if (other.covariance_type != covariance_type)
      detail::invalid_argument(std::string("SufficientStats::merge: statistics of the ") +
                               covariance_type_name(other.covariance_type) + " model cannot merge into " +
                               covariance_type_name(covariance_type) + " ones");
    bool same_shape = other.resp_sum.size() == resp_sum.size() && other.first.cols() == first.cols() &&
                      other.second.size() == second.size();
    for (std::size_t k = 0; same_shape && k < second.size(); ++k)
      same_shape = other.second[k].rows() == second[k].rows() && other.second[k].cols() == second[k].cols();
    if (!same_shape) detail::invalid_argument("SufficientStats::merge: statistics of different shapes");
    if (other.mixture_fingerprint != mixture_fingerprint || other.shift != shift)
      detail::invalid_argument("SufficientStats::merge: statistics taken under different parameters (or from data "
                               "of different precision: float and double blocks do not merge)");
    resp_sum += other.resp_sum;
    first += other.first;
    for (std::size_t k = 0; k < second.size(); ++k) second[k] += other.second[k];
    log_likelihood += other.log_likelihood;
    weight_sum += other.weight_sum;
    n_rows += other.n_rows;
  }
};

namespace detail {

/** Number of entries of a D x D lower triangle. */
inline Index triangle_size(Index d) { return d * (d + 1) / 2; }

/** Columns of the common-shift moments (see accumulate_block_common_shift):
 *  resp sums, first moments, then the model's second moments (full: the
 *  packed lower triangle; diag: D squares; spherical: the squared norm; tied:
 *  none, its pooled scatter does not depend on the component). */
inline Index moment_width(CovarianceType type, Index d) {
  switch (type) {
    case CovarianceType::full: return 1 + d + triangle_size(d);
    case CovarianceType::tied: return 1 + d;
    case CovarianceType::diag: return 1 + 2 * d;
    case CovarianceType::spherical: break;
  }
  return 2 + d;
}

/** Doubles of one SufficientStats' sums: K resp sums, K x D first moments and the second moments. */
inline double stats_size(CovarianceType type, Index k, Index d) {
  const SecondShape second = second_shape(type, k, d);
  return static_cast<double>(k + k * d + second.count * second.rows * second.cols);
}

/** Scratch for the one-pass iteration, allocated once per fit and reused:
 *  per-thread block workspaces and per-chunk statistics. A pass with a
 *  workspace sized by an earlier pass of the same shape allocates nothing
 *  (test_no_allocation). */
template <typename Scalar>
struct EmWorkspace {
  std::vector<BlockWorkspace<Scalar>> blocks;
  RowMatrix<double> shifts;  ///< K x D: each component's shift for this pass
  SufficientStats total;  ///< the pass's result
  /** Per chunk: the own-shift components' statistics, and tied's pooled scatter. */
  std::vector<SufficientStats> chunk_stats;
  /** Common-shift path: per thread scratch for moment columns or scaled
   *  responsibilities, per chunk the weighted moments (K x moment_width). */
  std::vector<Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>> common_scratch;
  std::vector<Eigen::MatrixXd> chunk_moments;
  /** Per chunk: sum of w_i log p(x_i), sum of w_i, rows. */
  std::vector<double> chunk_log_likelihood;
  std::vector<double> chunk_weight_sum;
  std::vector<Index> chunk_rows;
};

/** Applies the block's row weights (w, b entries; nullptr: unweighted) to its
 *  responsibilities, and adds sum_i w_i log p(x_i) and sum_i w_i to the
 *  chunk's totals. A row of weight 0 adds exactly nothing: its
 *  responsibilities become 0 and its x - c (ws.delta, read by the
 *  common-shift moments) 0, so that not even its values reach a sum. */
template <typename Scalar>
void weigh_block(Index b, const double* w, BlockWorkspace<Scalar>& ws, double& log_likelihood, double& weight_sum) {
  const Scalar* lse = ws.row_log_density.data();
  double ll = 0.0, total = 0.0;
  if (w == nullptr) {
    for (Index i = 0; i < b; ++i) ll += static_cast<double>(lse[i]);
    total = static_cast<double>(b);
  } else {
    for (Index i = 0; i < b; ++i) {
      if (w[i] == 0.0) {
        ws.log_prob.row(i).setZero();
        ws.delta.row(i).setZero();
        continue;
      }
      ll += w[i] * static_cast<double>(lse[i]);
      total += w[i];
    }
    for (Index k = 0; k < ws.log_prob.cols(); ++k)
      for (Index i = 0; i < b; ++i) ws.log_prob(i, k) *= static_cast<Scalar>(w[i]);
  }
  log_likelihood += ll;
  weight_sum += total;
}

/** Per-component path: folds one block's weighted responsibilities (in
 *  ws.log_prob, B x K) into stats around each component's own shift
 *  (shifts.row(k), in the kernels' precision), for the components k with
 *  included(k): in EM the own-shift ones (the others are taken by the
 *  common-shift moments), for given responsibilities all of them. */
template <typename Scalar, typename Included>
void accumulate_block(const BlockRef<Scalar>& xb, const double* w, CovarianceType type, const RowMatrix<Scalar>& shifts,
                      Included&& included, BlockWorkspace<Scalar>& ws, SufficientStats& stats) {
  const Index b = xb.rows(), d = xb.cols();
  bool have_columns = false;
  for (Index k = 0; k < shifts.rows(); ++k) {
    if (!included(k)) continue;
    const auto r = ws.log_prob.col(k).head(b);
    const double r_sum = r.template cast<double>().sum();
    if (r_sum == 0.0) continue;  // nothing to add; skips the work for far-away components
    stats.resp_sum[k] += r_sum;
    if (!have_columns) {  // once per block, for every component here
      load_block_columns(xb, ws);
      if (w != nullptr)
        for (Index i = 0; i < b; ++i)
          if (w[i] == 0.0) ws.x.row(i).setZero();  // as weigh_block: its values reach no sum
    }
    have_columns = true;
    auto delta = ws.delta.topRows(b);
    delta = ws.x.topRows(b).rowwise() - shifts.row(k);
    // first_k += r^T delta (row k of a row-major K x D).
    add_row_products(r.data(), ws.log_prob.outerStride(), 1, delta.data(), ws.delta.outerStride(), d, b,
                     Output{&stats.first(k, 0), 0, 1});
    auto scaled = ws.scaled.topRows(b);
    switch (type) {
      case CovarianceType::full:
      case CovarianceType::tied: {  // second_k (tied: the pooled one) += (r delta)^T delta, lower triangle
        auto& second = stats.second[type == CovarianceType::full ? static_cast<std::size_t>(k) : 0];
        scaled = delta.array().colwise() * r.array();
        add_row_products(scaled.data(), ws.scaled.outerStride(), d, delta.data(), ws.delta.outerStride(), d, b,
                         Output{second.data(), 1, second.outerStride()}, true);
        break;
      }
      case CovarianceType::diag: {  // row k of the K x D squares += r^T delta^2
        auto& second = stats.second.front();
        scaled = delta.array().square();
        add_row_products(r.data(), ws.log_prob.outerStride(), 1, scaled.data(), ws.scaled.outerStride(), d, b,
                         Output{&second(k, 0), 0, second.outerStride()});
        break;
      }
      case CovarianceType::spherical: {  // entry k += r^T ||delta||^2
        auto norms = scaled.col(0);
        norms = delta.rowwise().squaredNorm();
        add_row_products(r.data(), ws.log_prob.outerStride(), 1, norms.data(), ws.scaled.outerStride(), 1, b,
                         Output{&stats.second.front()(k, 0), 0, 1});
        break;
      }
    }
  }
}

/** Moment columns formed per product in the moment-column order of
 *  accumulate_block_common_shift (a B x 48 panel stays in L1/L2). */
constexpr Index kMomentPanel = 48;

/** full: whether the common-shift statistics are formed as moment columns
 *  (true) or as scaled responsibilities (false): whichever forms fewer values
 *  per row, D(D+1)/2 or D K. */
inline bool forms_moment_columns(Index d, Index k) { return triangle_size(d) <= d * k; }

/** Columns of the per-thread scratch of accumulate_block_common_shift. */
inline Index common_scratch_cols(CovarianceType type, Index d, Index k) {
  switch (type) {
    case CovarianceType::full: return forms_moment_columns(d, k) ? std::min(triangle_size(d), kMomentPanel) : k;
    case CovarianceType::diag: return std::min(d, kMomentPanel);
    case CovarianceType::tied:
    case CovarianceType::spherical: break;
  }
  return 1;
}

/** scratch's first cols columns, all for one product: out(:, first_col..) += R^T scratch. */
template <typename Scalar, typename Fill>
void add_moment_columns(Index b, Index count, const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>& resp_block,
                        Index ld_resp, Index k, Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>& scratch,
                        Index first_col, Eigen::MatrixXd& chunk_moments, Fill&& fill) {
  const Index width = scratch.cols();
  for (Index c0 = 0; c0 < count; c0 += width) {
    const Index n = std::min(width, count - c0);
    for (Index c = 0; c < n; ++c) fill(c0 + c, scratch.col(c).head(b));
    add_row_products(resp_block.data(), ld_resp, k, scratch.data(), scratch.outerStride(), n, b,
                     Output{&chunk_moments(0, first_col + c0), 1, chunk_moments.outerStride()});
  }
}

/**
 * Common-shift path: adds the block's statistics for every component around
 * the mixture's shift c to chunk_moments (column-major K x moment_width):
 *   [sum_r R, sum_r R (x - c)_j, then the model's second moments]
 * R the block's weighted responsibilities (ws.log_prob), x - c in ws.delta
 * (from the E-step). Each is a product R^T [columns formed from x - c]:
 *  - full: the D(D+1)/2 products (x - c)_i (x - c)_j, packed lower triangle
 *    (or, when D is large against K, the scaled responsibilities R (x - c)_i
 *    times the columns j <= i: whichever forms fewer values per row; 1e6 x 8,
 *    K = 16: 0.083 against 0.091 s/iter; 5e4 x 64, K = 8: 0.066 against 0.072);
 *  - diag: the D squares (x - c)_j^2; spherical: the squared norm ||x - c||^2;
 *  - tied: nothing per component; the pooled scatter sum_r u (x - c)(x - c)^T,
 *    u the row's total responsibility over the common-shift components, goes
 *    to pooled (D x D lower): D(D+1)/2 multiply-adds per row, not K times that.
 * Scratch is B x common_scratch_cols.
 */
template <typename Scalar>
void accumulate_block_common_shift(Index b, const Mixture<Scalar>& mix, BlockWorkspace<Scalar>& ws,
                                   Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>& scratch,
                                   Eigen::MatrixXd& chunk_moments, Eigen::MatrixXd* pooled) {
  const Index d = ws.delta.cols(), k = ws.log_prob.cols();
  const auto resp = ws.log_prob.topRows(b);
  const auto centred = ws.delta.topRows(b);
  const Index ld_resp = ws.log_prob.outerStride(), ld_centred = ws.delta.outerStride();
  auto out = [&](Index col) { return Output{&chunk_moments(0, col), 1, chunk_moments.outerStride()}; };
  chunk_moments.col(0) += resp.colwise().sum().transpose().template cast<double>();
  add_row_products(resp.data(), ld_resp, k, centred.data(), ld_centred, d, b, out(1));
  switch (mix.covariance_type()) {
    case CovarianceType::full:
      if (forms_moment_columns(d, k)) {
        Index i = 0, j = 0;  // the next moment column, (x - c)_i (x - c)_j with j <= i
        add_moment_columns(b, triangle_size(d), ws.log_prob, ld_resp, k, scratch, 1 + d, chunk_moments,
                           [&](Index, auto col) {
                             col = centred.col(i).cwiseProduct(centred.col(j));
                             if (++j > i) ++i, j = 0;
                           });
      } else {
        for (Index i = 0; i < d; ++i) {
          scratch.topLeftCorner(b, k) = resp.array().colwise() * centred.col(i).array();
          add_row_products(scratch.data(), scratch.outerStride(), k, centred.data(), ld_centred, i + 1, b,
                           out(1 + d + triangle_size(i)));
        }
      }
      break;
    case CovarianceType::diag:
      add_moment_columns(b, d, ws.log_prob, ld_resp, k, scratch, 1 + d, chunk_moments,
                         [&](Index j, auto col) { col = centred.col(j).array().square(); });
      break;
    case CovarianceType::spherical:
      add_moment_columns(b, 1, ws.log_prob, ld_resp, k, scratch, 1 + d, chunk_moments,
                         [&](Index, auto col) { col = centred.rowwise().squaredNorm(); });
      break;
    case CovarianceType::tied: {
      auto u = scratch.col(0).head(b);
      u.setZero();
      for (Index c = 0; c < k; ++c)
        if (!mix.needs_own_shift(c)) u += resp.col(c);
      auto scaled = ws.scaled.topRows(b);
      scaled = centred.array().colwise() * u.array();
      add_row_products(scaled.data(), ws.scaled.outerStride(), d, centred.data(), ld_centred, d, b,
                       Output{pooled->data(), 1, pooled->outerStride()}, true);
      break;
    }
  }
}

/** Unpacks common-shift moments (K x moment_width) into stats. */
template <typename Scalar>
void add_moments(const Eigen::MatrixXd& moments, const Mixture<Scalar>& mix, SufficientStats& stats) {
  const Index d = stats.first.cols();
  for (Index k = 0; k < moments.rows(); ++k) {
    if (mix.needs_own_shift(k)) continue;  // its statistics come from the per-component path
    stats.resp_sum[k] += moments(k, 0);
    stats.first.row(k) += moments.row(k).segment(1, d);
    switch (mix.covariance_type()) {
      case CovarianceType::full: {
        Index col = 1 + d;
        auto& second = stats.second[static_cast<std::size_t>(k)];
        for (Index i = 0; i < d; ++i)
          for (Index j = 0; j <= i; ++j) second(i, j) += moments(k, col++);
        break;
      }
      case CovarianceType::diag: stats.second.front().row(k) += moments.row(k).segment(1 + d, d); break;
      case CovarianceType::spherical: stats.second.front()(k, 0) += moments(k, 1 + d); break;
      case CovarianceType::tied: break;  // pooled separately
    }
  }
}

/** The one-pass E-step + statistics over all rows (weights w: N entries or
 *  empty), into ws.total. Chunks are reduced in chunk order, so the result
 *  does not depend on which thread ran which chunk. around: nullptr, the
 *  shifts the mixture chooses (the common shift, or a component's own mean);
 *  else every component's statistics around its row of *around (K x D, in
 *  the kernels' precision), on the per-component path. */
template <typename Scalar>
const SufficientStats& accumulate_stats(const DataRef<Scalar>& x, const SampleWeightRef& w, const Mixture<Scalar>& mix,
                                        int n_threads, StopCheck& stop, EmWorkspace<Scalar>& ws,
                                        const RowMatrix<Scalar>* around = nullptr) {
  const Index k = mix.n_components(), d = mix.dim();
  const CovarianceType type = mix.covariance_type();
  const bool given = around != nullptr;
  const bool common = !given && mix.common_shift_ok();
  const bool tied = type == CovarianceType::tied;
  const bool own = given || mix.any_own_shift();
  const auto own_shift = [&mix, given](Index j) { return given || mix.needs_own_shift(j); };
  const RowMatrix<Scalar>& own_shifts = given ? *around : mix.kernel_means();
  const bool per_chunk_stats = own || (tied && common);
  const Index width = moment_width(type, d);
  // Each chunk's accumulators: K moment rows (common path) and a SufficientStats
  // (own-shift components, tied's pooled scatter); large K and D get fewer chunks.
  const double bytes_per_chunk = 8.0 * ((common ? static_cast<double>(k * width) : 0.0) +
                                        (per_chunk_stats ? stats_size(type, k, d) : 0.0));
  const Index max_chunks = chunks_for_stats(bytes_per_chunk);
  const RowPartition part(x.rows(), max_chunks);
  const int threads = threads_for(n_threads);  // at least the pass's own count: scratch per thread id
  const std::size_t n_chunks = static_cast<std::size_t>(std::max<Index>(part.n_chunks, 1));
  RowMatrix<double>& shifts = ws.shifts;
  shifts.resize(k, d);
  for (Index c = 0; c < k; ++c)
    if (own_shift(c)) shifts.row(c) = own_shifts.row(c).template cast<double>();
    else shifts.row(c) = mix.shift().template cast<double>();
  ws.total.reset(type, shifts);
  ws.total.mixture_fingerprint = mix.fingerprint();
  if (common) {
    ws.common_scratch.resize(static_cast<std::size_t>(threads));
    for (auto& m : ws.common_scratch) m.resize(kBlockRows, common_scratch_cols(type, d, k));
    ws.chunk_moments.resize(n_chunks);
    for (auto& m : ws.chunk_moments) m.setZero(k, width);
  }
  if (per_chunk_stats) {
    ws.chunk_stats.resize(n_chunks);
    for (auto& s : ws.chunk_stats) {
      s.reset(type, shifts);
      s.mixture_fingerprint = mix.fingerprint();
    }
  }
  ws.chunk_log_likelihood.assign(n_chunks, 0.0);
  ws.chunk_weight_sum.assign(n_chunks, 0.0);
  ws.chunk_rows.assign(n_chunks, 0);
  for_each_scored_block(x, mix, threads, stop, true, ws.blocks,
                        [&](int thread, Index chunk, Index begin, const auto& xb, auto& bw) {
                          const auto t = static_cast<std::size_t>(thread), c = static_cast<std::size_t>(chunk);
                          const Index b = xb.rows();
                          const double* wb = w.size() != 0 ? w.data() + begin : nullptr;
                          weigh_block(b, wb, bw, ws.chunk_log_likelihood[c], ws.chunk_weight_sum[c]);
                          ws.chunk_rows[c] += b;
                          // The moments first: they read x - c from bw.delta, which the
                          // per-component path then overwrites.
                          if (common)
                            accumulate_block_common_shift(b, mix, bw, ws.common_scratch[t], ws.chunk_moments[c],
                                                          per_chunk_stats ? &ws.chunk_stats[c].second.front() : nullptr);
                          if (own) accumulate_block(xb, wb, type, own_shifts, own_shift, bw, ws.chunk_stats[c]);
                        },
                        max_chunks);
  // Chunks reduce in chunk order.
  if (per_chunk_stats)
    for (const auto& s : ws.chunk_stats) ws.total.merge(s);
  if (common) {
    for (std::size_t c = 1; c < n_chunks; ++c) ws.chunk_moments[0] += ws.chunk_moments[c];
    add_moments(ws.chunk_moments[0], mix, ws.total);
  }
  for (std::size_t c = 0; c < n_chunks; ++c) {
    ws.total.log_likelihood += ws.chunk_log_likelihood[c];
    ws.total.weight_sum += ws.chunk_weight_sum[c];
    ws.total.n_rows += ws.chunk_rows[c];
  }
  return ws.total;
}

}  // namespace detail

/**
 * One E-step over x with the statistics the M-step needs, in one pass: the
 * statistics of these rows (with these weights) under these parameters.
 * @param sample_weight  N weights (finite, >= 0, positive sum) or empty.
 * @return statistics around mix's means (see SufficientStats).
 * @throws std::invalid_argument on a shape mismatch or bad weights.
 * @throws Cancelled when execution.should_stop asked to stop.
 */
template <typename Scalar>
SufficientStats accumulate_stats(const DataArg<Scalar>& x, const Mixture<Scalar>& mix,
                                 const Execution& execution = {},
                                 const SampleWeightRef& sample_weight = detail::no_sample_weight()) {
  detail::check_sample_weight("accumulate_stats", sample_weight, x.rows());
  detail::EmWorkspace<Scalar> ws;
  detail::StopCheck stop(execution);
  return detail::accumulate_stats(x, sample_weight, mix, execution.n_threads, stop, ws);
}

/**
 * accumulate_stats with every component's statistics taken around the given
 * shift (its row of shifts, K x D, rounded to the data's precision; the
 * statistics' shift says which values were used): the retake of statistics
 * that recentred_shifts asks for. The E-step is mix's, as in accumulate_stats.
 * @throws std::invalid_argument on a shape mismatch, bad weights, or shifts
 *         that are not finite in the data's precision.
 * @throws Cancelled when execution.should_stop asked to stop.
 */
template <typename Scalar>
SufficientStats accumulate_stats_around(const DataArg<Scalar>& x, const Mixture<Scalar>& mix,
                                        const RowMatrix<double>& shifts, const Execution& execution = {},
                                        const SampleWeightRef& sample_weight = detail::no_sample_weight()) {
  detail::check_sample_weight("accumulate_stats_around", sample_weight, x.rows());
  if (shifts.rows() != mix.n_components() || shifts.cols() != mix.dim())
    detail::invalid_argument("accumulate_stats_around: shifts must be K x D (" + std::to_string(mix.n_components()) +
                             " x " + std::to_string(mix.dim()) + "), got " + std::to_string(shifts.rows()) + " x " +
                             std::to_string(shifts.cols()));
  const RowMatrix<Scalar> around = shifts.cast<Scalar>();
  if (!around.allFinite())
    detail::invalid_argument("accumulate_stats_around: shifts must be finite in the data's precision");
  detail::EmWorkspace<Scalar> ws;
  detail::StopCheck stop(execution);
  return detail::accumulate_stats(x, sample_weight, mix, execution.n_threads, stop, ws, &around);
}

namespace detail {

/**
 * The statistics of the rows of x under responsibilities that fill(begin, b,
 * resp) writes for rows [begin, begin + b) into resp (B x K, zeroed first),
 * around the given shifts (K x D): the one loop of responsibility_stats and
 * label_stats. Chunks in chunk order, as the EM pass, so the result does not
 * depend on the thread count.
 */
template <typename Scalar, typename Fill>
SufficientStats given_responsibility_stats(const char* func, const DataRef<Scalar>& x, CovarianceType type,
                                           const RowMatrix<double>& shifts, Fill&& fill, const SampleWeightRef& w,
                                           const Execution& execution) {
  const Index n = x.rows(), d = x.cols(), k = shifts.rows();
  if (d < 1 || k < 1 || shifts.cols() != d)
    invalid_argument(std::string(func) + ": shifts must be K x D with K >= 1 and D = " + std::to_string(d) +
                     " data columns (D >= 1), got " + std::to_string(k) + " x " + std::to_string(shifts.cols()));
  if (!shifts.allFinite()) invalid_argument(std::string(func) + ": shifts must be finite");
  check_sample_weight(func, w, n);
  // The sums are taken around the shifts as the kernels hold them (rounded to
  // Scalar), and say so in stats.shift: the M-step adds the offsets to those.
  const RowMatrix<Scalar> kernel_shifts = shifts.cast<Scalar>();
  if (!kernel_shifts.allFinite())
    invalid_argument(std::string(func) + ": shifts exceed the range of the data's precision (float); use double data");
  const RowMatrix<double> used_shifts = kernel_shifts.template cast<double>();
  const RowPartition part(n, chunks_for_stats(8.0 * stats_size(type, k, d)));
  const double per_row = static_cast<double>(k) * (type == CovarianceType::full || type == CovarianceType::tied
                                                       ? static_cast<double>(d * d)
                                                       : static_cast<double>(2 * d));
  const int threads = threads_for(execution.n_threads, static_cast<double>(n) * per_row);
  std::vector<BlockWorkspace<Scalar>> blocks(static_cast<std::size_t>(threads));
  for (auto& ws : blocks) ws.resize(d, k, false);
  std::vector<SufficientStats> chunk_stats(static_cast<std::size_t>(std::max<Index>(part.n_chunks, 1)));
  for (auto& c : chunk_stats) c.reset(type, used_shifts);
  StopCheck stop(execution);
  parallel_for_chunks(part.n_chunks, threads, stop, [&](int thread, Index chunk) {
    BlockWorkspace<Scalar>& ws = blocks[static_cast<std::size_t>(thread)];
    SufficientStats& stats = chunk_stats[static_cast<std::size_t>(chunk)];
    for (Index blk = part.first_block(chunk); blk < part.first_block(chunk + 1) && !stop.requested(); ++blk) {
      const Index begin = part.block_begin(blk), b = part.block_size(blk);
      const BlockRef<Scalar> xb = x.middleRows(begin, b);
      auto resp = ws.log_prob.topRows(b);
      resp.setZero();
      fill(begin, b, resp);
      const double* wb = w.size() != 0 ? w.data() + begin : nullptr;
      if (wb != nullptr) {
        for (Index c = 0; c < k; ++c)
          for (Index i = 0; i < b; ++i) resp(i, c) = wb[i] == 0.0 ? Scalar(0) : resp(i, c) * static_cast<Scalar>(wb[i]);
        for (Index i = 0; i < b; ++i) stats.weight_sum += wb[i];
      } else {
        stats.weight_sum += static_cast<double>(b);
      }
      stats.n_rows += b;
      accumulate_block(xb, wb, type, kernel_shifts, [](Index) { return true; }, ws, stats);
    }
  });
  SufficientStats total(type, used_shifts);
  for (const auto& c : chunk_stats) total.merge(c);
  return total;
}

/** What every M-step starts from: N_k + resp_offset, their total, and the
 *  offsets delta_k = first_k / (N_k + resp_offset) of the new means from the
 *  shifts. Checks the statistics' shapes and resp_offset. */
struct ComponentMoments {
  Eigen::VectorXd resp_sum;  ///< K: N_k + resp_offset
  double total = 0.0;        ///< sum_k of resp_sum
  RowMatrix<double> offsets;  ///< K x D: delta_k, row k
};

inline ComponentMoments component_moments(const char* func, const SufficientStats& stats, double resp_offset) {
  const Index k_count = stats.first.rows(), d = stats.first.cols();
  const CovarianceType type = stats.covariance_type;
  if (!std::isfinite(resp_offset) || resp_offset < 0.0)
    invalid_argument(std::string(func) + ": resp_offset must be finite and >= 0, got " + format_number(resp_offset));
  if (stats.n_rows <= 0) invalid_argument(std::string(func) + ": statistics of zero rows");
  bool shapes_agree = d >= 1 && k_count >= 1 && stats.resp_sum.size() == k_count && stats.shift.rows() == k_count &&
                      stats.shift.cols() == d;
  const SecondShape expected = second_shape(type, k_count, d);
  shapes_agree = shapes_agree && static_cast<Index>(stats.second.size()) == expected.count;
  for (const auto& m : stats.second) shapes_agree = shapes_agree && m.rows() == expected.rows && m.cols() == expected.cols;
  if (!shapes_agree)
    invalid_argument(std::string(func) + ": statistics of inconsistent shapes for the " + covariance_type_name(type) +
                     " model (K x D with D >= 1 expected)");
  ComponentMoments m;
  m.resp_sum = stats.resp_sum.array() + resp_offset;
  for (Index k = 0; k < k_count; ++k) {
    const double nk = m.resp_sum[k];
    if (!(nk > 0.0) || !std::isfinite(nk))
      throw CovProblem("component " + std::to_string(k) +
                       " has no responsibility left (it collapsed or moved away from the data)");
    m.total += nk;
  }
  m.offsets = stats.first;
  for (Index k = 0; k < k_count; ++k) m.offsets.row(k) /= m.resp_sum[k];
  return m;
}

}  // namespace detail

/** The M-step's mixing weights and means, without covariances (see m_step):
 *  what a start needs when its covariances come from elsewhere. */
struct WeightsAndMeans {
  Eigen::VectorXd weights;  ///< K, summing to 1
  RowMatrix<double> means;  ///< K x D
};

/**
 * w_k = (N_k + resp_offset) / sum_j (N_j + resp_offset) and
 * mean_k = shift_k + first_k / (N_k + resp_offset), as m_step computes them.
 * @throws CovProblem if a component has no responsibility (and resp_offset is 0).
 * @throws std::invalid_argument on statistics of inconsistent shapes or a bad resp_offset.
 */
inline WeightsAndMeans m_step_means(const SufficientStats& stats, double resp_offset = 0.0) {
  const detail::ComponentMoments m = detail::component_moments("m_step_means", stats, resp_offset);
  return {m.resp_sum / m.total, stats.shift + m.offsets};
}

namespace detail {

/** How much more than shift_tolerance a variance may lose before its
 *  statistics are retaken: the choice of shifts (Mixture::needs_own_shift)
 *  keeps every component within shift_tolerance of its current mean, and a
 *  mean that moves a little further in one iteration is not worth a pass. */
constexpr double kRecentringSlack = 10.0;

/** Statistics retaken at most this many times per E-step: the first retake
 *  leaves offsets of about eps x the distance moved, which a second retake
 *  removes even when that distance was beyond float's precision. */
constexpr int kMaxRecentring = 2;

}  // namespace detail

/**
 * Whether the M-step of stats would lose more than kRecentringSlack x
 * shift_tolerance<Scalar>() of a variance's relative precision to
 * cancellation, and if so the shifts to retake the statistics around (under
 * the same mixture, with accumulate_stats_around or its equivalent on other
 * data sources): each affected component's M-step mean, the others' shifts
 * unchanged. A variance taken around a shift s is the mean square around s
 * minus (mean - s)^2; when the mean moved many standard deviations away from
 * s in one iteration (a start far from the data), the two terms nearly cancel
 * and the rounding of the first, eps times it, swamps the variance (a
 * negative variance, or a covariance problem, where the data are fine).
 * Around the M-step's mean the retaken statistics are exact. Every model:
 * full and diag per variance, spherical per component, tied per pooled
 * variance (then every component is retaken: the pooled sums do not say
 * which component cancelled). Scalar: the precision of the kernels that
 * took the statistics.
 * @param shifts  set to the retake's K x D shifts when the result is true.
 * @throws CovProblem / std::invalid_argument as m_step_means.
 */
template <typename Scalar>
bool recentred_shifts(const SufficientStats& stats, double resp_offset, RowMatrix<double>& shifts) {
  const detail::ComponentMoments m = detail::component_moments("recentred_shifts", stats, resp_offset);
  const Index k_count = stats.first.rows(), d = stats.first.cols();
  const double eps = static_cast<double>(std::numeric_limits<Scalar>::epsilon());
  // term: the mean square around the shift (a sum of non-negative values, so
  // accurate to a few eps of itself); term - offset2: the variance it gives.
  const double ratio = detail::kRecentringSlack * detail::shift_tolerance<Scalar>() / eps;
  const auto cancels = [ratio](double term, double offset2) { return term > 0.0 && !((term - offset2) * ratio >= term); };
  std::vector<char> retake(static_cast<std::size_t>(k_count), 0);
  const auto& second = stats.second;
  switch (stats.covariance_type) {
    case CovarianceType::full:
    case CovarianceType::diag:
      for (Index k = 0; k < k_count; ++k)
        for (Index j = 0; j < d; ++j) {
          const double sum = stats.covariance_type == CovarianceType::full ? second[static_cast<std::size_t>(k)](j, j)
                                                                          : second.front()(k, j);
          if (cancels(sum / m.resp_sum[k], m.offsets(k, j) * m.offsets(k, j))) retake[static_cast<std::size_t>(k)] = 1;
        }
      break;
    case CovarianceType::spherical:
      for (Index k = 0; k < k_count; ++k)
        if (cancels(second.front()(k, 0) / m.resp_sum[k], m.offsets.row(k).squaredNorm()))
          retake[static_cast<std::size_t>(k)] = 1;
      break;
    case CovarianceType::tied: {
      const Eigen::VectorXd pooled_offset2 = m.offsets.cwiseAbs2().transpose() * m.resp_sum;
      bool any = false;
      for (Index j = 0; j < d; ++j) any = any || cancels(second.front()(j, j) / m.total, pooled_offset2[j] / m.total);
      if (any) std::fill(retake.begin(), retake.end(), 1);
      break;
    }
  }
  if (std::none_of(retake.begin(), retake.end(), [](char c) { return c != 0; })) return false;
  shifts = stats.shift;
  for (Index k = 0; k < k_count; ++k)
    if (retake[static_cast<std::size_t>(k)] != 0) shifts.row(k) += m.offsets.row(k);
  return true;
}

/**
 * The statistics of the rows of x under given responsibilities, around the
 * given shifts: SufficientStats with r_ik = resp(i, k), as accumulate_stats
 * takes them under a mixture's responsibilities. This starts EM from a
 * partition or soft assignment (scikit-learn's initialisations), through the
 * same m_step. log_likelihood is 0 and mixture_fingerprint 0 (no mixture);
 * statistics of disjoint rows under the same shifts merge.
 *
 * Accuracy: the M-step's covariances lose about eps * |mean_k - shift_k|^2 /
 * var_k relative; with a common first shift, take the means from m_step_means
 * of a first call (type spherical costs least) and call again around them.
 * @param resp    N x K, finite and >= 0 (rows need not sum to 1).
 * @param shifts  K x D, finite.
 * @param sample_weight  N weights (finite, >= 0, positive sum) or empty.
 * @throws std::invalid_argument on shape mismatches or bad values.
 * @throws Cancelled when execution.should_stop asked to stop.
 */
template <typename Scalar>
SufficientStats responsibility_stats(const DataArg<Scalar>& x, const Eigen::Ref<const RowMatrix<double>>& resp,
                                     CovarianceType type, const RowMatrix<double>& shifts,
                                     const Execution& execution = {},
                                     const SampleWeightRef& sample_weight = detail::no_sample_weight()) {
  const char* func = "responsibility_stats";
  if (resp.rows() != x.rows() || resp.cols() != shifts.rows())
    detail::invalid_argument(std::string(func) + ": resp must be N x K (" + std::to_string(x.rows()) + " x " +
                             std::to_string(shifts.rows()) + "), got " + std::to_string(resp.rows()) + " x " +
                             std::to_string(resp.cols()));
  if (!resp.allFinite() || (resp.size() != 0 && resp.minCoeff() < 0.0))
    detail::invalid_argument(std::string(func) + ": responsibilities must be finite and >= 0");
  return detail::given_responsibility_stats<Scalar>(
      func, x, type, shifts,
      [&resp](Index begin, Index b, auto& block) { block = resp.middleRows(begin, b).template cast<Scalar>(); },
      sample_weight, execution);
}

/**
 * responsibility_stats for a hard assignment: row i belongs to component
 * labels[i] (responsibility 1 there, 0 elsewhere), or to none when labels[i]
 * is -1 (it then adds to weight_sum and n_rows only).
 * @param labels  N entries in -1..K-1, K = shifts.rows().
 * @throws std::invalid_argument on shape mismatches or labels outside -1..K-1.
 */
template <typename Scalar>
SufficientStats label_stats(const DataArg<Scalar>& x, const Eigen::Ref<const Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>>& labels,
                            CovarianceType type, const RowMatrix<double>& shifts, const Execution& execution = {},
                            const SampleWeightRef& sample_weight = detail::no_sample_weight()) {
  const char* func = "label_stats";
  const Index k = shifts.rows();
  if (labels.size() != x.rows())
    detail::invalid_argument(std::string(func) + ": labels must have N = " + std::to_string(x.rows()) + " entries, got " +
                             std::to_string(labels.size()));
  if (labels.size() != 0 && (labels.minCoeff() < -1 || labels.maxCoeff() >= k))
    detail::invalid_argument(std::string(func) + ": labels must lie in -1.." + std::to_string(k - 1) +
                             " (-1: no component)");
  return detail::given_responsibility_stats<Scalar>(
      func, x, type, shifts,
      [&labels](Index begin, Index b, auto& block) {
        for (Index i = 0; i < b; ++i)
          if (labels[begin + i] >= 0) block(i, static_cast<Index>(labels[begin + i])) = Scalar(1);
      },
      sample_weight, execution);
}

/**
 * The M-step: the mixture that maximises the expected log-likelihood given
 * stats (around stats.shift), with n_k = N_k + resp_offset and
 * delta_k = first_k / n_k:
 *   w_k'    = n_k / sum_k n_k
 *   mean_k' = shift_k + delta_k
 *   full:      cov_k' = second_k / n_k - delta_k delta_k^T
 *   tied:      cov'   = (second - sum_k n_k delta_k delta_k^T) / sum_k n_k
 *   diag:      var_kj' = second_kj / n_k - delta_kj^2
 *   spherical: var_k'  = (second_k / n_k - ||delta_k||^2) / D
 * plus diag_add[j] + reg_covar on every covariance diagonal (spherical: the
 * mean of diag_add, + reg_covar).
 * @param diag_add     length D, or empty: an absolute amount per variable
 *                     (the PyPR face passes a fraction of each column's variance).
 * @param reg_covar    one absolute amount for every variable (scikit-learn's).
 * @param resp_offset  added to every N_k (scikit-learn adds 10 machine
 *                     epsilons, so that a component left without rows keeps
 *                     a tiny weight, its shift as mean and reg_covar as
 *                     covariance instead of failing); 0: such a component is
 *                     a CovProblem.
 * @throws CovProblem if a component received no responsibility or a new
 *         covariance is not positive definite.
 */
template <typename Scalar>
Mixture<Scalar> m_step(const SufficientStats& stats, const Eigen::VectorXd& diag_add = Eigen::VectorXd(),
                       double reg_covar = 0.0, double resp_offset = 0.0) {
  const Index k_count = stats.first.rows(), d = stats.first.cols();
  const CovarianceType type = stats.covariance_type;
  if (diag_add.size() != 0 && diag_add.size() != d)
    detail::invalid_argument("m_step: diag_add must have D entries");
  if (!std::isfinite(reg_covar) || reg_covar < 0.0)
    detail::invalid_argument("m_step: reg_covar must be finite and >= 0, got " + detail::format_number(reg_covar));
  const detail::ComponentMoments m = detail::component_moments("m_step", stats, resp_offset);
  Eigen::VectorXd added = diag_add.size() != 0 ? diag_add : Eigen::VectorXd::Zero(d);
  added.array() += reg_covar;
  const Eigen::VectorXd weights = m.resp_sum / m.total;
  const RowMatrix<double>& offsets = m.offsets;
  RowMatrix<double> means = stats.shift + offsets;
  auto symmetric = [](Eigen::MatrixXd s) {
    s.template triangularView<Eigen::StrictlyUpper>() = s.transpose();
    return s;
  };
  switch (type) {
    case CovarianceType::full: {
      std::vector<Eigen::MatrixXd> covs(static_cast<std::size_t>(k_count));
      for (Index k = 0; k < k_count; ++k) {
        Eigen::MatrixXd cov = symmetric(stats.second[static_cast<std::size_t>(k)] / m.resp_sum[k]);
        cov.noalias() -= offsets.row(k).transpose() * offsets.row(k);
        cov.diagonal() += added;
        covs[static_cast<std::size_t>(k)] = std::move(cov);
      }
      return Mixture<Scalar>(weights, std::move(means), std::move(covs));
    }
    case CovarianceType::tied: {
      Eigen::MatrixXd cov = symmetric(stats.second.front());
      cov.noalias() -= offsets.transpose() * m.resp_sum.asDiagonal() * offsets;
      cov /= m.total;
      cov.diagonal() += added;
      return Mixture<Scalar>::tied(weights, std::move(means), std::move(cov));
    }
    case CovarianceType::diag: {
      RowMatrix<double> variances(k_count, d);
      for (Index k = 0; k < k_count; ++k)
        variances.row(k) = stats.second.front().row(k) / m.resp_sum[k] - offsets.row(k).cwiseAbs2() +
                           added.transpose();
      return Mixture<Scalar>::diag(weights, std::move(means), std::move(variances));
    }
    case CovarianceType::spherical: break;
  }
  Eigen::VectorXd variances(k_count);
  for (Index k = 0; k < k_count; ++k)
    variances[k] = (stats.second.front()(k, 0) / m.resp_sum[k] - offsets.row(k).squaredNorm()) /
                       static_cast<double>(d) + added.mean();
  return Mixture<Scalar>::spherical(weights, std::move(means), variances);
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
