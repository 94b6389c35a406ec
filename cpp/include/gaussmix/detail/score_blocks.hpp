#pragma once
/** @file detail/score_blocks.hpp
 *  The E-step's row kernels, shared by scoring and EM: for a block of rows,
 *  every component's weighted log-density, then responsibilities and the
 *  rows' log-densities; and the chunk-parallel loop over blocks.
 */
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "../mixture.hpp"
#include "config.hpp"
#include "parallel.hpp"

namespace gaussmix {
namespace detail {

/** Per-thread scratch for one row block; sized once, reused for every block. */
template <typename Scalar>
struct BlockWorkspace {
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  Matrix x;         ///< B x D: the block's rows, column-major, where a kernel needs them so
  Matrix delta;     ///< B x D: block rows minus the common shift, or minus one component's mean
  Matrix white;     ///< delta whitened by one panel (or one component); also scratch
  Matrix log_prob;  ///< B x K: weighted log-densities, then responsibilities
  Eigen::Matrix<Scalar, Eigen::Dynamic, 1> row_log_density;  ///< B

  void resize(Index dim, Index n_components) {
    if (delta.cols() == dim && log_prob.cols() == n_components) return;
    x.resize(kBlockRows, dim);
    delta.resize(kBlockRows, dim);
    white.resize(kBlockRows, std::max(dim, std::min(n_components, whitening_group(dim)) * whitening_panel_width(dim)));
    log_prob.resize(kBlockRows, n_components);
    row_log_density.resize(kBlockRows);
  }
};

template <typename Scalar>
using BlockRef = Eigen::Block<const DataRef<Scalar>, Eigen::Dynamic, Eigen::Dynamic, true>;

/** ws.x = xb in column-major order. A plain assignment walks each column
 *  down all B rows, touching a cache line per row and column; 16 rows at a
 *  time keep the lines read in L1 (256 x 64 doubles: 2.9 instead of 13 us).
 *  For the kernels that need x - mean for several means: one copy, then
 *  contiguous subtracts. (The E-step's single x - c is fastest straight from
 *  the row-major block: the copy made 1e6 x 8, K = 16 10% slower.) */
template <typename Scalar>
void load_block_columns(const BlockRef<Scalar>& xb, BlockWorkspace<Scalar>& ws) {
  constexpr Index kRowsAtATime = 16;
  const Index b = xb.rows();
  for (Index r = 0; r < b; r += kRowsAtATime) {
    const Index rows = std::min(kRowsAtATime, b - r);
    ws.x.middleRows(r, rows) = xb.middleRows(r, rows);
  }
}

/** Largest D with a fused fixed-size E-step kernel (weighted_log_prob_small).
 *  Measured against the panel path, 1 thread, s/iter (K = 16): D = 8: 0.052
 *  against 0.081; D = 12: 0.022 / 0.030; D = 16: 0.033 / 0.040; D = 20: 0.029
 *  / 0.027 (AVX-512; with AVX2 the two are even at D = 16). */
constexpr Index kSmallDimMax = 16;

/**
 * The E-step around the common shift for small D (a compile-time constant):
 * for every packet of rows the D columns of x - c stay in registers, and each
 * component's whitening, offset and squared norm are fused, reading the lower
 * triangle of W_k as broadcast operands: D(D+1)/2 + D multiply-adds per row
 * and component. The panel path would run D^2 of them in products too small
 * to be efficient, then the squared norms in separate passes over memory.
 * Rows b.. of the last packet are computed from zeroed x - c and not used.
 */
template <int D, typename Scalar>
void weighted_log_prob_small(Index b, const Mixture<Scalar>& mix, BlockWorkspace<Scalar>& ws) {
  using P = Packet<Scalar>;
  constexpr Index width = kPacketSize<Scalar>;
  const Index padded = (b + width - 1) / width * width;  // <= kBlockRows, a multiple of width
  ws.delta.middleRows(b, padded - b).setZero();
  const Scalar* delta = ws.delta.data();
  const Index ld = ws.delta.outerStride();
  const RowMatrix<Scalar>& offsets = mix.whitened_offsets();
  for (Index r = 0; r < padded; r += width) {
    P x[D];
    for (int i = 0; i < D; ++i) x[i] = Eigen::internal::ploadu<P>(delta + i * ld + r);
    for (Index k = 0; k < mix.n_components(); ++k) {
      const Scalar* w = mix.component(k).whitening().data();  // column-major D x D, lower triangular
      const Scalar* offset = offsets.data() + k * D;
      P maha = Eigen::internal::pset1<P>(Scalar(0));
      for (int j = 0; j < D; ++j) {
        P y = Eigen::internal::pset1<P>(-offset[j]);
        for (int i = j; i < D; ++i) y = Eigen::internal::pmadd(x[i], Eigen::internal::pset1<P>(w[i + j * D]), y);
        maha = Eigen::internal::pmadd(y, y, maha);
      }
      const Scalar constant = static_cast<Scalar>(mix.log_weights()[k] + mix.component(k).log_norm());
      Eigen::internal::pstoreu(&ws.log_prob(r, k), Eigen::internal::pmadd(Eigen::internal::pset1<P>(Scalar(-0.5)), maha,
                                                                       Eigen::internal::pset1<P>(constant)));
    }
  }
}

/** weighted_log_prob_small for a run-time d in 1..kSmallDimMax. */
template <typename Scalar, std::size_t... I>
void weighted_log_prob_small(Index d, Index b, const Mixture<Scalar>& mix, BlockWorkspace<Scalar>& ws,
                             std::index_sequence<I...>) {
  using Kernel = void (*)(Index, const Mixture<Scalar>&, BlockWorkspace<Scalar>&);
  static constexpr Kernel kernels[] = {&weighted_log_prob_small<static_cast<int>(I) + 1, Scalar>...};
  kernels[d - 1](b, mix, ws);
}

/**
 * ws.log_prob(i, k) = log w_k + log N(x_i | mean_k, cov_k) for the rows of xb.
 * Around the common shift, one product whitens the block for a whole group
 * of components, a panel of columns at a time (see WhiteningPanel), and
 * ws.delta keeps x - c for the M-step; otherwise each component whitens
 * x - mean_k on its own.
 */
template <typename Scalar>
void weighted_log_prob(const BlockRef<Scalar>& xb, const Mixture<Scalar>& mix, BlockWorkspace<Scalar>& ws) {
  const Index b = xb.rows(), d = mix.dim();
  auto delta = ws.delta.topRows(b);
  if (!mix.common_shift_ok()) {
    auto maha = ws.row_log_density.head(b).array();  // scratch until normalise_rows
    for (Index k = 0; k < mix.n_components(); ++k) {
      const FactorisedGaussian<Scalar>& g = mix.component(k);
      auto white = ws.white.topLeftCorner(b, d);
      delta = xb.rowwise() - g.mean();
      white.noalias() = delta * g.whitening();
      maha = white.rowwise().squaredNorm().array();
      const Scalar constant = static_cast<Scalar>(mix.log_weights()[k] + g.log_norm());
      ws.log_prob.col(k).head(b).array() = constant - Scalar(0.5) * maha;
    }
    return;
  }
  delta = xb.rowwise() - mix.shift();
  if (d <= kSmallDimMax) {
    weighted_log_prob_small(d, b, mix, ws, std::make_index_sequence<kSmallDimMax>{});
    return;
  }
  const auto& offsets = mix.whitened_offsets();
  for (const WhiteningPanel<Scalar>& panel : mix.whitening_panels()) {
    const Index w = panel.width, j0 = panel.first_col;
    auto white = ws.white.topLeftCorner(b, panel.count * w);
    white.noalias() = delta.rightCols(d - j0) * panel.stacked;
    for (Index g = 0; g < panel.count; ++g) {
      // log_prob.col(k) collects component k's squared norm over its panels.
      const Index k = panel.first_component + g;
      auto maha_k = ws.log_prob.col(k).head(b).array();
      if (j0 == 0) maha_k.setZero();
      const auto cols = white.middleCols(g * w, w).array();
      Index j = 0;
      for (; j + 4 <= w; j += 4)  // four columns a pass: fewer loads and stores of maha_k
        maha_k += (cols.col(j) - offsets(k, j0 + j)).square() + (cols.col(j + 1) - offsets(k, j0 + j + 1)).square() +
                  (cols.col(j + 2) - offsets(k, j0 + j + 2)).square() + (cols.col(j + 3) - offsets(k, j0 + j + 3)).square();
      for (; j < w; ++j) maha_k += (cols.col(j) - offsets(k, j0 + j)).square();
      if (j0 + w == d) {
        const Scalar constant = static_cast<Scalar>(mix.log_weights()[k] + mix.component(k).log_norm());
        maha_k = constant - Scalar(0.5) * maha_k;
      }
    }
  }
}

/** Replaces the first b rows of ws.log_prob by responsibilities (rows sum to 1)
 *  and stores each row's log-density (log-sum-exp) in ws.row_log_density.
 *  A row whose every weighted density underflows to zero gets log-density
 *  -inf and zero responsibilities instead of NaN.
 *
 *  One packet of rows at a time, all K columns in L1: the row maximum, then
 *  exp of each entry minus it and the row sum, then one reciprocal per row
 *  (not K divisions) and the log of the sum. Eigen's vector exp clamps its
 *  argument at about -709 (-87 in float) instead of underflowing, which would
 *  hand a far-away component a responsibility of 1e-308 where 0 is right:
 *  such arguments give exactly 0 (a compare and a blend, no branch). */
template <typename Scalar>
void normalise_rows(Index b, BlockWorkspace<Scalar>& ws) {
  namespace ei = Eigen::internal;
  using P = Packet<Scalar>;
  constexpr Index width = kPacketSize<Scalar>;
  const Index k_count = ws.log_prob.cols(), ld = ws.log_prob.outerStride();
  const Index padded = (b + width - 1) / width * width;  // <= kBlockRows
  ws.log_prob.middleRows(b, padded - b).setZero();      // computed, not used
  Scalar* lp = ws.log_prob.data();
  Scalar* lse = ws.row_log_density.data();
  const P underflow = ei::pset1<P>(std::log(std::numeric_limits<Scalar>::min()));
  const P zero = ei::pset1<P>(Scalar(0)), one = ei::pset1<P>(Scalar(1));
  for (Index r = 0; r < padded; r += width) {
    P top = ei::ploadu<P>(lp + r);
    for (Index k = 1; k < k_count; ++k) top = ei::pmax(top, ei::ploadu<P>(lp + k * ld + r));
    P sum = zero;
    for (Index k = 0; k < k_count; ++k) {
      const P arg = ei::psub(ei::ploadu<P>(lp + k * ld + r), top);  // NaN on dead rows: fixed below
      const P e = ei::pselect(ei::pcmp_lt(arg, underflow), zero, ei::pexp(arg));
      ei::pstoreu(lp + k * ld + r, e);
      sum = ei::padd(sum, e);
    }
    const P inverse = ei::pdiv(one, sum);
    for (Index k = 0; k < k_count; ++k) ei::pstoreu(lp + k * ld + r, ei::pmul(ei::ploadu<P>(lp + k * ld + r), inverse));
    ei::pstoreu(lse + r, ei::padd(top, ei::plog(sum)));
  }
  for (Index i = 0; i < b; ++i)
    if (!std::isfinite(lse[i])) {
      lse[i] = -std::numeric_limits<Scalar>::infinity();
      ws.log_prob.row(i).setZero();
    }
}

/**
 * The block driver shared by scoring and EM: for every row block of X, in
 * parallel over chunks, computes the weighted log-densities (and with
 * normalise, the responsibilities and row log-densities) into the calling
 * thread's workspace, then calls visit(thread, chunk, first_row, xb, ws).
 * workspaces is grown to the thread count and reused as it is.
 */
template <typename Scalar, typename Visit>
void for_each_scored_block(const DataRef<Scalar>& x, const Mixture<Scalar>& mix, int n_threads,
                           bool normalise, std::vector<BlockWorkspace<Scalar>>& workspaces,
                           Visit&& visit) {
  if (x.cols() != mix.dim())
    invalid_argument("data has " + std::to_string(x.cols()) + " columns but the mixture has dimension " +
                     std::to_string(mix.dim()));
  const double work = static_cast<double>(x.rows()) * static_cast<double>(mix.n_components()) *
                      static_cast<double>(mix.dim() * mix.dim() + 1);
  const int threads = threads_for_work(resolve_threads(n_threads), work);
  if (static_cast<int>(workspaces.size()) < threads) workspaces.resize(static_cast<std::size_t>(threads));
  for (auto& ws : workspaces) ws.resize(mix.dim(), mix.n_components());
  const RowPartition part(x.rows());
  parallel_for_chunks(part.n_chunks, threads, [&](int thread, Index chunk) {
    BlockWorkspace<Scalar>& ws = workspaces[static_cast<std::size_t>(thread)];
    for (Index blk = part.first_block(chunk); blk < part.first_block(chunk + 1); ++blk) {
      const Index begin = part.block_begin(blk);
      const BlockRef<Scalar> xb = x.middleRows(begin, part.block_size(blk));
      weighted_log_prob(xb, mix, ws);
      if (normalise) normalise_rows(xb.rows(), ws);
      visit(thread, chunk, begin, xb, ws);
    }
  });
}

}  // namespace detail

}  // namespace gaussmix
