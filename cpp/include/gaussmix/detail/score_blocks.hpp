#pragma once
/** @file detail/score_blocks.hpp
 *  The E-step's row kernels, shared by scoring and EM: for a block of rows,
 *  every component's weighted log-density, then responsibilities and the
 *  rows' log-densities; and the chunk-parallel loop over blocks.
 */
#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../mixture.hpp"
#include "config.hpp"
#include "far_rows.hpp"
#include "parallel.hpp"
#include "simd.hpp"

namespace gaussmix {
namespace detail {

/** Per-thread scratch for one row block; sized once, reused for every block. */
template <typename Scalar>
struct BlockWorkspace {
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  Matrix x;         ///< B x D: the block's rows, column-major, where a kernel needs them so
  Matrix delta;     ///< B x D: block rows minus the common shift, or minus one component's mean
  Matrix scaled;    ///< B x D: the own-shift M-step's responsibility-weighted x - mean_k
  Matrix log_prob;  ///< B x K: weighted log-densities, then responsibilities
  Matrix whitened;  ///< tied: B x Dp, the block's x - c (or x - mean_k) times the shared W
  Eigen::Matrix<Scalar, Eigen::Dynamic, 1> row_log_density;  ///< B
  Eigen::Matrix<Scalar, Eigen::Dynamic, 1> row_entropy;      ///< B: -sum_k r_ik log r_ik (normalise_rows)

  /** Rows beyond a block's, so that a kernel may round any block up to whole
   *  register tiles (at most 4 packets of 16). */
  static constexpr Index kPadding = 64;

  void resize(Index dim, Index n_components, bool tied) {
    const Index whitened_cols = tied ? padded_dim(dim) : 0;
    if (delta.cols() == dim && log_prob.cols() == n_components && whitened.cols() == whitened_cols) return;
    whitened.resize(kBlockRows + kPadding, whitened_cols);
    x.resize(kBlockRows, dim);
    delta.resize(kBlockRows + kPadding, dim);
    scaled.resize(kBlockRows, dim);
    log_prob.resize(kBlockRows + kPadding, n_components);
    row_log_density.resize(kBlockRows + kPadding);
    row_entropy.resize(kBlockRows + kPadding);
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

/** ws.delta = xb - centre (every row), column-major: transpose_subtract,
 *  with the next block's rows asked into cache first. */
template <typename Scalar, typename Centre>
void subtract_row(const BlockRef<Scalar>& xb, const Centre& centre, BlockWorkspace<Scalar>& ws) {
  const Index b = xb.rows(), d = xb.cols(), ldx = xb.outerStride();
  prefetch_rows(xb.data() + b * ldx, b, d, ldx);
  if (d < kPacketSize<Scalar>) {  // narrower than a packet (float, D < 16 with AVX-512): Eigen's assignment is the faster
    ws.delta.topRows(b) = xb.rowwise() - centre;
    return;
  }
  transpose_subtract(xb.data(), b, d, ldx, centre.data(), ws.delta.data(), ws.delta.outerStride());
}

/** Which components an E-step kernel scores: [begin, end). The kernels'
 *  AroundShift parameter says what ws.delta holds, and so which whitened
 *  offsets the kernel subtracts: x - c (Mixture::whitened_offsets), or x
 *  minus the one component's own mean rounded to Scalar
 *  (Mixture::own_offsets, the rounding's rest). (A template parameter, not a
 *  run-time flag: tested inside the unrolled loops, the flag made
 *  1e6 x 8 x 16 18% slower.) */
struct ComponentRange {
  Index begin;
  Index end;
};

/** Largest D with a fused fixed-size E-step kernel (weighted_log_prob_small);
 *  above it the panel kernel is faster. 1 thread, s/iter, fixed-size against
 *  panels (AVX-512, K = 16): D = 6 (K = 8): 0.0066 / 0.0080; D = 8: 0.052 /
 *  0.060; D = 9: 0.0147 / 0.0143; D = 12: 0.022 / 0.020; D = 16: 0.035 /
 *  0.031. With AVX2 the two are even from D = 6 to 9. */
constexpr Index kSmallDimMax = 8;

/**
 * The E-step for small D (a compile-time constant), for the components in
 * range: for every packet of rows the D columns of x - c stay in registers, and each
 * component's whitening, offset and squared norm are fused, reading the lower
 * triangle of W_k as broadcast operands: D(D+1)/2 + D multiply-adds per row
 * and component. The panel path would run D^2 of them in products too small
 * to be efficient, then the squared norms in separate passes over memory.
 * Rows b.. of the last packet are computed from zeroed x - c and not used.
 */
template <int D, bool AroundShift, typename Scalar>
void weighted_log_prob_small(Index b, const Mixture<Scalar>& mix, ComponentRange range, BlockWorkspace<Scalar>& ws) {
  using P = Packet<Scalar>;
  constexpr Index width = kPacketSize<Scalar>;
  const Index padded = (b + width - 1) / width * width;  // within the workspace's padding
  ws.delta.middleRows(b, padded - b).setZero();
  const Scalar* delta = ws.delta.data();
  const Index ld = ws.delta.outerStride();
  constexpr Index dp = padded_dim(D);
  // K x dp: around the shift, the whitened offsets of the means from it; around
  // each component's rounded mean, the (float: tiny; double: zero) rest.
  const Scalar* offsets = (AroundShift ? mix.whitened_offsets() : mix.own_offsets()).data();
  for (Index r = 0; r < padded; r += width) {
    P x[D];
    for (int i = 0; i < D; ++i) x[i] = Eigen::internal::ploadu<P>(delta + i * ld + r);
    for (Index k = range.begin; k < range.end; ++k) {
      const Scalar* w = mix.padded_whitening(k).data();  // row-major D x dp, lower triangular
      const Scalar* offset = offsets + k * dp;
      P maha = Eigen::internal::pset1<P>(Scalar(0));
      for (int j = 0; j < D; ++j) {
        P y = Eigen::internal::pset1<P>(-offset[j]);
        for (int i = j; i < D; ++i) y = Eigen::internal::pmadd(x[i], Eigen::internal::pset1<P>(w[i * dp + j]), y);
        maha = Eigen::internal::pmadd(y, y, maha);
      }
      Eigen::internal::pstoreu(&ws.log_prob(r, k), Eigen::internal::pmadd(Eigen::internal::pset1<P>(Scalar(-0.5)), maha,
                                                                       Eigen::internal::pset1<P>(mix.log_peaks()[k])));
    }
  }
}

/** weighted_log_prob_small for a run-time d in 1..kSmallDimMax. */
template <bool AroundShift, typename Scalar, std::size_t... I>
void weighted_log_prob_small(Index d, Index b, const Mixture<Scalar>& mix, ComponentRange range,
                             BlockWorkspace<Scalar>& ws, std::index_sequence<I...>) {
  using Kernel = void (*)(Index, const Mixture<Scalar>&, ComponentRange, BlockWorkspace<Scalar>&);
  static constexpr Kernel kernels[] = {&weighted_log_prob_small<static_cast<int>(I) + 1, AroundShift, Scalar>...};
  kernels[d - 1](b, mix, range, ws);
}

/** The register tile of weighted_log_prob_panels: row packets x whitened
 *  columns. Its accumulators, one packet of x - c per row packet and one
 *  broadcast W entry must fit the registers. Measured, 1 thread, s/iter at
 *  5e4 x 64 x 8 / 2e5 x 32 x 16 double: AVX-512 2 x 8: 0.041 / 0.094, 3 x 8:
 *  0.041 / 0.110, 4 x 4: 0.044 / 0.096; AVX2 (16 registers) 3 x 4: 0.072 /
 *  0.162, 2 x 4: 0.073 / 0.162, 1 x 8: 0.081 / 0.177, Eigen's GEMM before:
 *  0.080 / 0.186. */
constexpr int kPanelRowPackets = kManyRegisters ? 2 : 3;
constexpr Index kPanelColumns = kManyRegisters ? 8 : 4;
static_assert(kWhiteningPanel % kPanelColumns == 0, "the padded whitening holds whole kernel panels");

/** One panel of a whitening product for a tile of rows: acc[m][j] +=
 *  sum_{i >= j0} (x - c)(row m's packet, i) W(i, j0 + j), x - c column-major
 *  in delta (leading dimension ld) from row r, W row-major D x dp and lower
 *  triangular (rows above j0 contribute nothing). Shared by the full E-step
 *  kernel, which starts acc at -offset and squares it, and tied's whitening,
 *  which stores it. */
template <int MT, typename Scalar, typename P>
EIGEN_ALWAYS_INLINE void whiten_panel(const Scalar* delta, Index ld, Index r, const Scalar* w, Index dp, Index j0,
                                      Index d, P (&acc)[MT][kPanelColumns]) {
  namespace ei = Eigen::internal;
  constexpr Index width = kPacketSize<Scalar>;
  for (Index i = j0; i < d; ++i) {
    P x[MT];
    for (int m = 0; m < MT; ++m) x[m] = ei::ploadu<P>(delta + i * ld + r + m * width);
    const Scalar* w_row = w + i * dp + j0;
    for (Index j = 0; j < kPanelColumns; ++j) {
      P w_ij = ei::pset1<P>(w_row[j]);
      in_register(w_ij);  // one broadcast for the MT multiply-adds
      for (int m = 0; m < MT; ++m) acc[m][j] = ei::pmadd(x[m], w_ij, acc[m][j]);
    }
  }
}

/**
 * The E-step for D > kSmallDimMax, for the components in range. For a tile
 * of rows (kPanelRowPackets packets) and each component, the whitened values
 * are computed one panel of 8 columns at a time, y[j0:j0+8] = offset-free
 * (x - c)[j0:] W_k[j0:, j0:j0+8] (W_k lower triangular, so rows above j0
 * contribute nothing), in 8 x MT accumulators that start at -offset; their
 * squares go straight into the squared norm. Nothing is packed or written
 * but the log-densities: no whitened block in memory, no separate passes for
 * the norms, no allocation (Eigen's GEMM, used here before, allocates its
 * packing buffers when they outgrow its stack limit). The last panel of a
 * D that is not a multiple of 8 reads zero-padded W columns and offsets.
 */
template <bool AroundShift, typename Scalar>
// Inlined into its caller: compiled on its own, GCC 12 spilled a packet of
// x - c to the stack in the inner loop (20% slower at 5e4 x 64 x 8).
EIGEN_ALWAYS_INLINE void weighted_log_prob_panels(Index b, const Mixture<Scalar>& mix, ComponentRange range,
                                                  BlockWorkspace<Scalar>& ws) {
  namespace ei = Eigen::internal;
  using P = Packet<Scalar>;
  constexpr int MT = kPanelRowPackets;
  constexpr Index width = kPacketSize<Scalar>, tile = MT * width, panel = kPanelColumns;
  static_assert(tile <= BlockWorkspace<Scalar>::kPadding, "the workspace can round a block up to whole tiles");
  const Index d = mix.dim(), dp = padded_dim(d);
  const Index padded = (b + tile - 1) / tile * tile;
  ws.delta.middleRows(b, padded - b).setZero();  // computed, not used
  const Scalar* delta = ws.delta.data();
  const Index ld = ws.delta.outerStride();
  // K x dp: around the shift, the whitened offsets of the means from it; around
  // each component's rounded mean, the (float: tiny; double: zero) rest.
  const Scalar* offsets = (AroundShift ? mix.whitened_offsets() : mix.own_offsets()).data();
  for (Index r = 0; r < padded; r += tile) {
    for (Index k = range.begin; k < range.end; ++k) {
      const Scalar* w = mix.padded_whitening(k).data();  // row-major D x dp
      P maha[MT];
      for (int m = 0; m < MT; ++m) maha[m] = ei::pset1<P>(Scalar(0));
      for (Index j0 = 0; j0 < d; j0 += panel) {
        P acc[MT][panel];
        for (Index j = 0; j < panel; ++j)
          for (int m = 0; m < MT; ++m)
            acc[m][j] = ei::pset1<P>(-offsets[k * dp + j0 + j]);
        whiten_panel<MT>(delta, ld, r, w, dp, j0, d, acc);
        for (Index j = 0; j < panel; ++j)
          for (int m = 0; m < MT; ++m) maha[m] = ei::pmadd(acc[m][j], acc[m][j], maha[m]);
      }
      const P constant = ei::pset1<P>(mix.log_peaks()[k]);
      const P minus_half = ei::pset1<P>(Scalar(-0.5));
      for (int m = 0; m < MT; ++m) ei::pstoreu(&ws.log_prob(r + m * width, k), ei::pmadd(minus_half, maha[m], constant));
    }
  }
}

/** Register tile of the diagonal kernel: row packets x components. Its
 *  accumulators, one packet of x per row packet, the differences and two
 *  broadcasts must fit the registers (32 with AVX-512, 16 with AVX2). */
constexpr int kDiagRowPackets = kManyRegisters ? 4 : 2;
constexpr int kDiagComponents = kManyRegisters ? 4 : 3;

/** How the diagonal kernel scales the differences: not at all (tied: the
 *  values are whitened already), per variable and component (diag: 1 / sd_kj
 *  inside the square), or per component (spherical: 1 / var_k once on the
 *  squared norm, so each element costs an add and one multiply-add; an add
 *  issues beside the multiply-adds on CPUs with separate adder pipes, such
 *  as Zen). */
enum class Scaling { none, per_variable, per_component };

/**
 * The E-step of the diagonal models, for components [k0, k0 + NK) and a tile
 * of rows: maha_k = sum_j (v_j s_kj - t_kj)^2, v the block's columns in
 * values (column-major, leading dimension ld), s_kj and t_kj as Scaling
 * says (t the whitened offsets, or for spherical the unscaled mean_k - c).
 * Two operations per row, component and variable, each packet of v loaded
 * once for NK components; no D x D work. The difference is formed before it
 * is squared (not expanded into v^2 s^2 - 2 v s t + t^2), so a row near its
 * component keeps full relative precision however far the component lies
 * from the shift.
 */
template <int NK, Scaling S, bool AroundShift, typename Scalar>
void diagonal_tile(const Scalar* values, Index ld, Index r, Index k0, const Mixture<Scalar>& mix,
                   BlockWorkspace<Scalar>& ws) {
  namespace ei = Eigen::internal;
  using P = Packet<Scalar>;
  constexpr int MT = kDiagRowPackets;
  constexpr Index width = kPacketSize<Scalar>;
  const Index d = mix.dim(), dp = padded_dim(d);
  const Scalar* offsets = (S == Scaling::per_component ? mix.unscaled_offsets(AroundShift)
                           : AroundShift              ? mix.whitened_offsets()
                                                      : mix.own_offsets())
                              .data();
  const Scalar* scales = S == Scaling::per_variable ? mix.inverse_sd().data() : nullptr;
  P acc[MT][NK];
  for (int m = 0; m < MT; ++m)
    for (int c = 0; c < NK; ++c) acc[m][c] = ei::pset1<P>(Scalar(0));
  for (Index j = 0; j < d; ++j) {
    P v[MT];
    for (int m = 0; m < MT; ++m) v[m] = ei::ploadu<P>(values + j * ld + r + m * width);
    for (int c = 0; c < NK; ++c) {
      const Index k = k0 + c;
      P minus_t = ei::pset1<P>(-offsets[k * dp + j]);
      in_register(minus_t);
      if constexpr (S == Scaling::per_variable) {
        P s = ei::pset1<P>(scales[k * d + j]);
        in_register(s);
        for (int m = 0; m < MT; ++m) {
          const P y = ei::pmadd(v[m], s, minus_t);  // one rounding, one instruction
          acc[m][c] = ei::pmadd(y, y, acc[m][c]);
        }
      } else {
        for (int m = 0; m < MT; ++m) {
          const P y = ei::padd(v[m], minus_t);
          acc[m][c] = ei::pmadd(y, y, acc[m][c]);
        }
      }
    }
  }
  for (int c = 0; c < NK; ++c) {
    const Scalar half = S == Scaling::per_component ? Scalar(-0.5) * mix.inverse_variances()[k0 + c] : Scalar(-0.5);
    const P minus_half = ei::pset1<P>(half);
    const P peak = ei::pset1<P>(mix.log_peaks()[k0 + c]);
    for (int m = 0; m < MT; ++m) ei::pstoreu(&ws.log_prob(r + m * width, k0 + c), ei::pmadd(minus_half, acc[m][c], peak));
  }
}

/** diagonal_tile over every row tile of the block and every component in
 *  range, kDiagComponents at a time, the last group narrower. */
template <Scaling S, bool AroundShift, typename Scalar>
void weighted_log_prob_diagonal(Index b, const Scalar* values, Index ld, const Mixture<Scalar>& mix,
                                ComponentRange range, BlockWorkspace<Scalar>& ws) {
  constexpr Index tile = kDiagRowPackets * kPacketSize<Scalar>;
  static_assert(tile <= BlockWorkspace<Scalar>::kPadding, "the workspace can round a block up to whole tiles");
  const Index padded = (b + tile - 1) / tile * tile;
  using Tile = void (*)(const Scalar*, Index, Index, Index, const Mixture<Scalar>&, BlockWorkspace<Scalar>&);
  static constexpr Tile narrower[] = {
      &diagonal_tile<1, S, AroundShift, Scalar>, &diagonal_tile<2, S, AroundShift, Scalar>,
      &diagonal_tile<3, S, AroundShift, Scalar>, &diagonal_tile<4, S, AroundShift, Scalar>};
  static_assert(kDiagComponents <= 4, "a narrower tile for every remainder");
  for (Index r = 0; r < padded; r += tile) {
    Index k = range.begin;
    for (; k + kDiagComponents <= range.end; k += kDiagComponents)
      diagonal_tile<kDiagComponents, S, AroundShift>(values, ld, r, k, mix, ws);
    if (k < range.end) narrower[range.end - k - 1](values, ld, r, k, mix, ws);
  }
}

/**
 * tied: ws.whitened = ws.delta W for the block (W the shared lower-triangular
 * whitening, D x Dp), one panel of kPanelColumns columns at a time in
 * registers, as weighted_log_prob_panels does, but stored: every component
 * then reads the same whitened rows (one whitening per block, not K).
 */
template <typename Scalar>
void whiten_block(Index b, const Mixture<Scalar>& mix, BlockWorkspace<Scalar>& ws) {
  namespace ei = Eigen::internal;
  using P = Packet<Scalar>;
  constexpr int MT = kPanelRowPackets;
  constexpr Index width = kPacketSize<Scalar>, tile = MT * width, panel = kPanelColumns;
  const Index d = mix.dim(), dp = padded_dim(d);
  // Rows up to the larger of this tile and the diagonal kernel's, which reads them.
  const Index round = std::max<Index>(tile, kDiagRowPackets * width);
  const Index padded = (b + round - 1) / round * round;
  ws.delta.middleRows(b, padded - b).setZero();  // computed, not used
  const Scalar* delta = ws.delta.data();
  const Index ld = ws.delta.outerStride(), ldw = ws.whitened.outerStride();
  const Scalar* w = mix.padded_whitening(0).data();
  for (Index r = 0; r < padded; r += tile)
    for (Index j0 = 0; j0 < d; j0 += panel) {
      P acc[MT][panel];
      for (Index j = 0; j < panel; ++j)
        for (int m = 0; m < MT; ++m) acc[m][j] = ei::pset1<P>(Scalar(0));
      whiten_panel<MT>(delta, ld, r, w, dp, j0, d, acc);
      for (Index j = 0; j < panel; ++j)
        for (int m = 0; m < MT; ++m) ei::pstoreu(ws.whitened.data() + (j0 + j) * ldw + r + m * width, acc[m][j]);
    }
}

/**
 * ws.log_prob(i, k) = log w_k + log N(x_i | mean_k, cov_k) for the rows of xb.
 * Around the common shift (the usual case) the kernels run once on x - c,
 * which ws.delta keeps for the M-step; otherwise once per component on
 * x - mean_k. Per model: full, the fused triangular kernels per component;
 * tied, one whitening of the block, then the diagonal kernel with unit
 * scales; diag and spherical, the diagonal kernel on x - c itself.
 */
template <typename Scalar>
void weighted_log_prob(const BlockRef<Scalar>& xb, const Mixture<Scalar>& mix, BlockWorkspace<Scalar>& ws) {
  const Index b = xb.rows(), d = mix.dim();
  auto score = [&](ComponentRange range, auto around_shift) {
    constexpr bool shift = decltype(around_shift)::value;
    switch (mix.covariance_type()) {
      case CovarianceType::full:
        if (d <= kSmallDimMax)
          weighted_log_prob_small<shift>(d, b, mix, range, ws, std::make_index_sequence<kSmallDimMax>{});
        else
          weighted_log_prob_panels<shift>(b, mix, range, ws);
        break;
      case CovarianceType::tied:
        whiten_block(b, mix, ws);
        weighted_log_prob_diagonal<Scaling::none, shift>(b, ws.whitened.data(), ws.whitened.outerStride(), mix,
                                                         range, ws);
        break;
      case CovarianceType::diag:
      case CovarianceType::spherical: {
        constexpr Index tile = kDiagRowPackets * kPacketSize<Scalar>;
        ws.delta.middleRows(b, (b + tile - 1) / tile * tile - b).setZero();  // computed, not used
        if (mix.covariance_type() == CovarianceType::diag)
          weighted_log_prob_diagonal<Scaling::per_variable, shift>(b, ws.delta.data(), ws.delta.outerStride(), mix,
                                                                   range, ws);
        else
          weighted_log_prob_diagonal<Scaling::per_component, shift>(b, ws.delta.data(), ws.delta.outerStride(), mix,
                                                                    range, ws);
        break;
      }
    }
  };
  if (mix.common_shift_ok()) {
    subtract_row(xb, mix.shift(), ws);
    score({0, mix.n_components()}, std::true_type{});
  } else {
    for (Index k = 0; k < mix.n_components(); ++k) {
      subtract_row(xb, mix.kernel_means().row(k), ws);
      score({k, k + 1}, std::false_type{});
    }
  }
}

/** Replaces the rows of ws.log_prob of the block xb by responsibilities (rows
 *  sum to 1) and stores each row's log-density (log-sum-exp) in
 *  ws.row_log_density and the responsibilities' entropy in ws.row_entropy
 *  (log sum - sum_k e_k a_k / sum, a_k the entry minus the row maximum and
 *  e_k its exp: one multiply-add per entry on values in registers; a term
 *  whose exp is 0 adds nothing). A row far from every component (log-density below
 *  -far_row_log_density, or -inf where its Mahalanobis distances overflow)
 *  gets its posterior and log-density from far_row_posterior instead (the
 *  log-density -inf only below double's range).
 *
 *  One packet of rows at a time, all K columns in L1: the row maximum, then
 *  exp of each entry minus it and the row sum, then one reciprocal per row
 *  (not K divisions) and the log of the sum. Eigen's vector exp clamps its
 *  argument at about -709 (-87 in float) instead of underflowing, which would
 *  hand a far-away component a responsibility of 1e-308 where 0 is right:
 *  such arguments give exactly 0 (a compare and a blend, no branch). */
template <typename Scalar>
void normalise_rows(const BlockRef<Scalar>& xb, const Mixture<Scalar>& mix, BlockWorkspace<Scalar>& ws) {
  namespace ei = Eigen::internal;
  const Index b = xb.rows();
  using P = Packet<Scalar>;
  constexpr Index width = kPacketSize<Scalar>;
  const Index k_count = ws.log_prob.cols(), ld = ws.log_prob.outerStride();
  const Index padded = (b + width - 1) / width * width;  // within the workspace's padding
  ws.log_prob.middleRows(b, padded - b).setZero();      // computed, not used
  Scalar* lp = ws.log_prob.data();
  Scalar* lse = ws.row_log_density.data();
  Scalar* entropy = ws.row_entropy.data();
  const P underflow = ei::pset1<P>(std::log(std::numeric_limits<Scalar>::min()));
  const P zero = ei::pset1<P>(Scalar(0)), one = ei::pset1<P>(Scalar(1));
  for (Index r = 0; r < padded; r += width) {
    P top = ei::ploadu<P>(lp + r);
    for (Index k = 1; k < k_count; ++k) top = ei::pmax(top, ei::ploadu<P>(lp + k * ld + r));
    P sum = zero, weighted = zero;
    for (Index k = 0; k < k_count; ++k) {
      const P arg = ei::psub(ei::ploadu<P>(lp + k * ld + r), top);  // NaN on dead rows: fixed below
      const P below = ei::pcmp_lt(arg, underflow);
      const P e = ei::pselect(below, zero, ei::pexp(arg));
      ei::pstoreu(lp + k * ld + r, e);
      sum = ei::padd(sum, e);
      weighted = ei::pmadd(e, ei::pselect(below, zero, arg), weighted);  // arg may be -inf where e is 0
    }
    const P inverse = ei::pdiv(one, sum);
    for (Index k = 0; k < k_count; ++k) ei::pstoreu(lp + k * ld + r, ei::pmul(ei::ploadu<P>(lp + k * ld + r), inverse));
    const P log_sum = ei::plog(sum);
    ei::pstoreu(lse + r, ei::padd(top, log_sum));
    ei::pstoreu(entropy + r, ei::psub(log_sum, ei::pmul(weighted, inverse)));
  }
  Eigen::VectorXd delta;
  for (Index i = 0; i < b; ++i)
    if (!(lse[i] >= -far_row_log_density<Scalar>())) {
      double log_density = 0.0;
      far_row_posterior(xb.row(i), mix, delta, log_density);
      lse[i] = static_cast<Scalar>(log_density);
      ws.log_prob.row(i) = (delta.array().exp() / delta.array().exp().sum()).template cast<Scalar>().transpose();
      entropy[i] = static_cast<Scalar>(posterior_entropy(delta));
    }
}

/** Whether every entry of the block is finite. x * 0 is 0 for a finite x
 *  and NaN for NaN and +-inf, and NaN survives the sum: a multiply-add per
 *  packet and no branch, on rows the kernels read next (the scan brings the
 *  block into cache for them, so finite data is still read from memory
 *  once). */
template <typename Scalar>
bool block_is_finite(const BlockRef<Scalar>& xb) {
  namespace ei = Eigen::internal;
  using P = Packet<Scalar>;
  constexpr Index width = kPacketSize<Scalar>;
  const Index b = xb.rows(), d = xb.cols(), ld = xb.outerStride();
  // Rows that follow each other in memory (ld == d) are one run of b * d values.
  const Index runs = ld == d ? 1 : b, run = ld == d ? b * d : d;
  const P zero = ei::pset1<P>(Scalar(0));
  P acc = zero;
  Scalar rest = Scalar(0);
  for (Index r = 0; r < runs; ++r) {
    const Scalar* v = xb.data() + r * ld;
    Index j = 0;
    for (; j + width <= run; j += width) acc = ei::pmadd(ei::ploadu<P>(v + j), zero, acc);
    for (; j < run; ++j) rest += v[j] * Scalar(0);
  }
  return ei::predux(acc) + rest == Scalar(0);
}

/** Whether for_each_scored_block checks that the rows are finite: the
 *  scoring functions do (as they read each block, throwing NonFiniteData);
 *  EM's passes run on data checked once before the first. */
enum class FiniteCheck { each_block, none };

/**
 * The block driver shared by scoring and EM: for every row block of X, in
 * parallel over chunks, computes the weighted log-densities (and with
 * normalise, the responsibilities and row log-densities) into the calling
 * thread's workspace, then calls visit(thread, chunk, first_row, xb, ws).
 * workspaces is grown to the thread count and reused as it is. Between
 * blocks it asks stop; a requested stop ends the pass with Cancelled. With
 * FiniteCheck::each_block, a block holding NaN or infinity ends the pass
 * with NonFiniteData (the other blocks of the pass are then skipped).
 */
template <typename Scalar, typename Visit>
void for_each_scored_block(const DataRef<Scalar>& x, const Mixture<Scalar>& mix, int n_threads, StopCheck& stop,
                           bool normalise, FiniteCheck check, std::vector<BlockWorkspace<Scalar>>& workspaces,
                           Visit&& visit, Index max_chunks = kMaxChunks) {
  if (x.cols() != mix.dim())
    invalid_argument("data has " + std::to_string(x.cols()) + " columns but the mixture has dimension " +
                     std::to_string(mix.dim()));
  const double d = static_cast<double>(mix.dim());
  const double per_component = mix.covariance_type() == CovarianceType::full ? d * d + 1 : 2 * d + 1;
  const double work = static_cast<double>(x.rows()) * static_cast<double>(mix.n_components()) * per_component;
  const int threads = threads_for(n_threads, work);
  if (static_cast<int>(workspaces.size()) < threads) workspaces.resize(static_cast<std::size_t>(threads));
  for (auto& ws : workspaces) ws.resize(mix.dim(), mix.n_components(), mix.covariance_type() == CovarianceType::tied);
  const RowPartition part(x.rows(), max_chunks);
  std::atomic<bool> non_finite{false};
  parallel_for_chunks(part.n_chunks, threads, stop, [&](int thread, Index chunk) {
    BlockWorkspace<Scalar>& ws = workspaces[static_cast<std::size_t>(thread)];
    for (Index blk = part.first_block(chunk); blk < part.first_block(chunk + 1) && !stop.requested(); ++blk) {
      const Index begin = part.block_begin(blk);
      const BlockRef<Scalar> xb = x.middleRows(begin, part.block_size(blk));
      if (check == FiniteCheck::each_block) {
        if (non_finite.load(std::memory_order_relaxed)) return;
        if (!block_is_finite(xb)) {
          non_finite.store(true, std::memory_order_relaxed);
          throw NonFiniteData("X contains NaN or infinity, which the scoring functions do not score; remove or "
                              "impute those rows first");
        }
      }
      weighted_log_prob(xb, mix, ws);
      if (normalise) normalise_rows(xb, mix, ws);
      visit(thread, chunk, begin, xb, ws);
    }
  });
}

}  // namespace detail

}  // namespace gaussmix
