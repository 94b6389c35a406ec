#pragma once
/** @file accumulate.hpp
 *  The E-step fused with the statistics the M-step needs: one pass over the
 *  data per EM iteration. Each row block is scored and, while it is in
 *  cache, folded into SufficientStats, so the N x K responsibility matrix is
 *  never stored. The statistics are taken around a shift, so that one pass
 *  is as accurate as the textbook two: the mixture's mean for every
 *  component whose mean is close enough to it (Mixture::needs_own_shift),
 *  which turns their statistics into a few large products shared by all of
 *  them, and its own mean for each component further away (or the shifts a
 *  retake asks for: accumulate_stats_around). Also the statistics under
 *  given responsibilities or labels (responsibility_stats, label_stats),
 *  which start EM from a partition.
 */
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "detail/config.hpp"
#include "detail/parallel.hpp"
#include "detail/row_products.hpp"
#include "detail/score_blocks.hpp"
#include "errors.hpp"
#include "execution.hpp"
#include "mixture.hpp"
#include "sample_weight.hpp"
#include "sufficient_stats.hpp"

namespace gaussmix {

namespace detail {

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
  std::vector<double> chunk_latent_entropy;
  std::vector<double> chunk_weight_sum;
  std::vector<Index> chunk_rows;
};

/** Applies the block's row weights (w, b entries; nullptr: unweighted) to its
 *  responsibilities, and adds sum_i w_i log p(x_i) and sum_i w_i to the
 *  chunk's totals. A row of weight 0 adds exactly nothing: its
 *  responsibilities become 0 and its x - c (ws.delta, read by the
 *  common-shift moments) 0, so that not even its values reach a sum. */
template <typename Scalar>
void weigh_block(Index b, const double* w, BlockWorkspace<Scalar>& ws, double& log_likelihood, double& weight_sum,
                 double& latent_entropy) {
  const Scalar* lse = ws.row_log_density.data();
  const Scalar* entropy = ws.row_entropy.data();
  double ll = 0.0, total = 0.0, h = 0.0;
  if (w == nullptr) {
    for (Index i = 0; i < b; ++i) ll += static_cast<double>(lse[i]);
    for (Index i = 0; i < b; ++i) h += static_cast<double>(entropy[i]);
    total = static_cast<double>(b);
  } else {
    for (Index i = 0; i < b; ++i) {
      if (w[i] == 0.0) {
        ws.log_prob.row(i).setZero();
        ws.delta.row(i).setZero();
        continue;
      }
      ll += w[i] * static_cast<double>(lse[i]);
      h += w[i] * static_cast<double>(entropy[i]);
      total += w[i];
    }
    for (Index k = 0; k < ws.log_prob.cols(); ++k)
      for (Index i = 0; i < b; ++i) ws.log_prob(i, k) *= static_cast<Scalar>(w[i]);
  }
  log_likelihood += ll;
  weight_sum += total;
  latent_entropy += h;
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
                                        const RowMatrix<Scalar>* around = nullptr,
                                        FiniteCheck check = FiniteCheck::none) {
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
  ws.chunk_latent_entropy.assign(n_chunks, 0.0);
  ws.chunk_weight_sum.assign(n_chunks, 0.0);
  ws.chunk_rows.assign(n_chunks, 0);
  for_each_scored_block(x, mix, threads, stop, true, check, ws.blocks,
                        [&](int thread, Index chunk, Index begin, const auto& xb, auto& bw) {
                          const auto t = static_cast<std::size_t>(thread), c = static_cast<std::size_t>(chunk);
                          const Index b = xb.rows();
                          const double* wb = w.size() != 0 ? w.data() + begin : nullptr;
                          weigh_block(b, wb, bw, ws.chunk_log_likelihood[c], ws.chunk_weight_sum[c],
                                      ws.chunk_latent_entropy[c]);
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
    ws.total.latent_entropy += ws.chunk_latent_entropy[c];
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
 * @param check_finite  check each block of rows as the pass reads it (for
 *        rows nobody checked before: a batch of a stream), at no extra pass.
 * @return statistics around mix's means (see SufficientStats).
 * @throws std::invalid_argument on a shape mismatch or bad weights.
 * @throws NonFiniteData with check_finite, when a row holds NaN or infinity.
 * @throws Cancelled when execution.should_stop asked to stop.
 */
template <typename Scalar>
SufficientStats accumulate_stats(const DataArg<Scalar>& x, const Mixture<Scalar>& mix,
                                 const Execution& execution = {},
                                 const SampleWeightRef& sample_weight = detail::no_sample_weight(),
                                 bool check_finite = false) {
  detail::check_sample_weight("accumulate_stats", sample_weight, x.rows());
  detail::EmWorkspace<Scalar> ws;
  detail::StopCheck stop(execution);
  return detail::accumulate_stats(x, sample_weight, mix, execution.n_threads, stop, ws,
                                  static_cast<const RowMatrix<Scalar>*>(nullptr),
                                  check_finite ? detail::FiniteCheck::each_block : detail::FiniteCheck::none);
}

/**
 * accumulate_stats with every component's statistics taken around the given
 * shift (its row of shifts, K x D, rounded to the data's precision; the
 * statistics' shift says which values were used): the retake of statistics
 * that recentred_shifts asks for. The E-step is mix's, as in accumulate_stats.
 * @throws std::invalid_argument on a shape mismatch, bad weights, or shifts
 *         that are not finite in the data's precision.
 * @throws NonFiniteData with check_finite, when a row holds NaN or infinity.
 * @throws Cancelled when execution.should_stop asked to stop.
 */
template <typename Scalar>
SufficientStats accumulate_stats_around(const DataArg<Scalar>& x, const Mixture<Scalar>& mix,
                                        const RowMatrix<double>& shifts, const Execution& execution = {},
                                        const SampleWeightRef& sample_weight = detail::no_sample_weight(),
                                        bool check_finite = false) {
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
  return detail::accumulate_stats(x, sample_weight, mix, execution.n_threads, stop, ws, &around,
                                  check_finite ? detail::FiniteCheck::each_block : detail::FiniteCheck::none);
}

namespace detail {

/**
 * The statistics of the rows of x around the given shifts (K x D), block by
 * block: add_block(ws, stats, kernel_shifts, begin, xb, wb) adds block xb, rows
 * [begin, begin + B) of x (weights wb, nullptr when unweighted), to its
 * chunk's stats, which hold the block's weight_sum and n_rows already. The one
 * loop of responsibility_stats and label_stats. Chunks in chunk order, as the
 * EM pass, so the result does not depend on the thread count.
 */
template <typename Scalar, typename AddBlock>
SufficientStats given_assignment_stats(const char* func, const DataRef<Scalar>& x, CovarianceType type,
                                       const RowMatrix<double>& shifts, const SampleWeightRef& w,
                                       const Execution& execution, double work_per_row, AddBlock&& add_block) {
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
  const int threads = threads_for(execution.n_threads, static_cast<double>(n) * work_per_row);
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
      const double* wb = w.size() != 0 ? w.data() + begin : nullptr;
      if (wb != nullptr) {
        for (Index i = 0; i < b; ++i) stats.weight_sum += wb[i];
      } else {
        stats.weight_sum += static_cast<double>(b);
      }
      stats.n_rows += b;
      add_block(ws, stats, kernel_shifts, begin, x.middleRows(begin, b), wb);
    }
  });
  SufficientStats total(type, used_shifts);
  for (const auto& c : chunk_stats) total.merge(c);
  return total;
}

/** Work per row of the statistics of K components of D columns, for threads_for. */
inline double assignment_work_per_row(CovarianceType type, Index k, Index d) {
  const double per_component = type == CovarianceType::full || type == CovarianceType::tied
                                   ? static_cast<double>(d * d)
                                   : static_cast<double>(2 * d);
  return static_cast<double>(k) * per_component;
}

/** A block's rows grouped by label for label_stats: each component's rows
 *  gathered (in row order) into a block of their own with their weights, so
 *  that a component's statistics read only its rows, not the B x K one-hot
 *  responsibilities of every row (K times the work: at 3e5 x 32, K = 16,
 *  diag, 37 ms a call against one pass of a few ms). */
template <typename Scalar>
struct LabelGroups {
  std::vector<Index> count, first, next, order;
  RowMatrix<Scalar> rows;
  std::vector<double> weights;

  /** Groups rows [begin, begin + b) of labels: order = the block's row
   *  offsets by label (-1 left out), component c's count[c] of them from
   *  first[c] on, in row order. */
  void group(const Eigen::Ref<const Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>>& labels, Index begin, Index b,
             Index k) {
    const auto at = [](Index i) { return static_cast<std::size_t>(i); };
    count.assign(at(k), 0);
    for (Index i = 0; i < b; ++i)
      if (labels[begin + i] >= 0) ++count[at(labels[begin + i])];
    first.assign(at(k) + 1, 0);
    for (Index c = 0; c < k; ++c) first[at(c) + 1] = first[at(c)] + count[at(c)];
    next.assign(first.begin(), first.end() - 1);
    order.resize(at(first[at(k)]));
    for (Index i = 0; i < b; ++i)
      if (labels[begin + i] >= 0) order[at(next[at(labels[begin + i])]++)] = i;
  }
};

}  // namespace detail

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
  return detail::given_assignment_stats<Scalar>(
      func, x, type, shifts, sample_weight, execution, detail::assignment_work_per_row(type, shifts.rows(), x.cols()),
      [&](detail::BlockWorkspace<Scalar>& ws, SufficientStats& stats, const RowMatrix<Scalar>& kernel_shifts,
          Index begin, const detail::BlockRef<Scalar>& xb, const double* wb) {
        const Index b = xb.rows();
        auto r = ws.log_prob.topRows(b);
        r = resp.middleRows(begin, b).template cast<Scalar>();
        if (wb != nullptr)
          for (Index c = 0; c < r.cols(); ++c)
            for (Index i = 0; i < b; ++i) r(i, c) = wb[i] == 0.0 ? Scalar(0) : r(i, c) * static_cast<Scalar>(wb[i]);
        detail::accumulate_block(xb, wb, type, kernel_shifts, [](Index) { return true; }, ws, stats);
      });
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
  const Index d = x.cols();
  // Per thread: its block's rows grouped by label (a row's weight is its one responsibility).
  std::vector<detail::LabelGroups<Scalar>> groups(static_cast<std::size_t>(std::max(1, max_threads())));
  return detail::given_assignment_stats<Scalar>(
      func, x, type, shifts, sample_weight, execution, detail::assignment_work_per_row(type, 1, d),
      [&](detail::BlockWorkspace<Scalar>& ws, SufficientStats& stats, const RowMatrix<Scalar>& kernel_shifts,
          Index begin, const detail::BlockRef<Scalar>& xb, const double* wb) {
        detail::LabelGroups<Scalar>& g = groups[static_cast<std::size_t>(detail::thread_id())];
        g.group(labels, begin, xb.rows(), k);
        if (g.rows.rows() < detail::kBlockRows || g.rows.cols() != d) g.rows.resize(detail::kBlockRows, d);
        g.weights.resize(static_cast<std::size_t>(detail::kBlockRows));
        for (Index c = 0; c < k; ++c) {
          const Index from = g.first[static_cast<std::size_t>(c)], m = g.count[static_cast<std::size_t>(c)];
          if (m == 0) continue;
          auto r = ws.log_prob.col(c).head(m);
          for (Index j = 0; j < m; ++j) {
            const Index i = g.order[static_cast<std::size_t>(from + j)];
            g.rows.row(j) = xb.row(i);
            const double weight = wb != nullptr ? wb[i] : 1.0;
            g.weights[static_cast<std::size_t>(j)] = weight;
            r[j] = weight == 0.0 ? Scalar(0) : static_cast<Scalar>(weight);
          }
          const DataRef<Scalar> gathered(g.rows.topRows(m));
          detail::accumulate_block(gathered.middleRows(0, m), wb != nullptr ? g.weights.data() : nullptr, type,
                                   kernel_shifts, [c](Index other) { return other == c; }, ws, stats);
        }
      });
}

}  // namespace gaussmix
