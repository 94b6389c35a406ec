#pragma once
/** @file detail/row_products.hpp
 *  The M-step's products: sums over a block's rows of products of columns,
 *
 *      out(a, c) += sum_r P(r, a) Q(r, c),
 *
 *  with P and Q column-major (every column contiguous along the rows) and out
 *  in double.
 *
 *  Why not Eigen's GEMM: the M-step multiplies a few columns (K responsibility
 *  columns, or one component's D scaled columns) by many (every moment column,
 *  or D columns) that are each used only a few times. GEMM packs its operands
 *  into panels first, and for this shape the packing of Q costs about as much
 *  as the multiply-adds, and the few rows of P leave its register tiles
 *  half empty. Here each MT x NT tile of out is a set of dot products along
 *  the rows: its partial sums stay in MT x NT vector registers while P's and
 *  Q's columns are read where they lie, one packet at a time, and are summed
 *  across the packet only once per tile. The work is one multiply-add per
 *  row and output entry, as in GEMM, with no copies.
 */
#include <algorithm>
#include <array>
#include <utility>

#include "config.hpp"
#include "simd.hpp"

namespace gaussmix {
namespace detail {

/** Tile shape: MT x NT accumulators, plus MT packets of P and one of Q, must
 *  fit the vector registers (32 with AVX-512 / NEON, 16 with AVX2 / SSE). */
constexpr int kTileRows = 4;  // 24 + 4 + 1 registers, or 12 + 4 (Q read by the FMAs)
constexpr int kTileCols = kManyRegisters ? 6 : 3;  // 4 x 3 measured best of 3x3, 2x4, 4x3 with AVX2

/** Where the products go: out(a, c) is at data[a * row_stride + c * col_stride]. */
struct Output {
  double* data;
  Index row_stride;
  Index col_stride;
  double& operator()(Index a, Index c) const { return data[a * row_stride + c * col_stride]; }
  Output shifted(Index a, Index c) const { return {&(*this)(a, c), row_stride, col_stride}; }
};

/** One MT x NT tile: out(a, c) += sum_{r < rows} p[a * ldp + r] * q[c * ldq + r]. */
template <typename Scalar, int MT, int NT>
void product_tile(const Scalar* p, Index ldp, const Scalar* q, Index ldq, Index rows, Output out) {
  using P = Packet<Scalar>;
  constexpr Index width = kPacketSize<Scalar>;
  P acc[MT][NT];
  for (int a = 0; a < MT; ++a)
    for (int c = 0; c < NT; ++c) acc[a][c] = Eigen::internal::pset1<P>(Scalar(0));
  const Index full = rows - rows % width;
  for (Index r = 0; r < full; r += width) {
    P pa[MT];
    for (int a = 0; a < MT; ++a) pa[a] = Eigen::internal::ploadu<P>(p + a * ldp + r);
    for (int c = 0; c < NT; ++c) {
      P qc = Eigen::internal::ploadu<P>(q + c * ldq + r);
      in_register(qc);
      for (int a = 0; a < MT; ++a) acc[a][c] = Eigen::internal::pmadd(pa[a], qc, acc[a][c]);
    }
  }
  for (int a = 0; a < MT; ++a)
    for (int c = 0; c < NT; ++c) {
      Scalar sum = Eigen::internal::predux(acc[a][c]);
      for (Index r = full; r < rows; ++r) sum += p[a * ldp + r] * q[c * ldq + r];
      out(a, c) += static_cast<double>(sum);
    }
}

/** product_tile for run-time tile sizes 1..kTileRows x 1..kTileCols (the edges). */
template <typename Scalar>
class TileTable {
 public:
  using Fn = void (*)(const Scalar*, Index, const Scalar*, Index, Index, Output);
  static Fn get(Index mt, Index nt) { return table()[static_cast<std::size_t>((mt - 1) * kTileCols + nt - 1)]; }

 private:
  template <std::size_t... I>
  static constexpr std::array<Fn, sizeof...(I)> make(std::index_sequence<I...>) {
    return {{&product_tile<Scalar, static_cast<int>(I / kTileCols) + 1, static_cast<int>(I % kTileCols) + 1>...}};
  }
  static const std::array<Fn, kTileRows * kTileCols>& table() {
    static constexpr auto fns = make(std::make_index_sequence<kTileRows * kTileCols>{});
    return fns;
  }
};

/**
 * out(a, c) += sum_{r < rows} P(r, a) Q(r, c) for a < m, c < n, where column a
 * of P starts at p + a * ldp and column c of Q at q + c * ldq. With
 * lower_only, only the tiles that touch c <= a are computed (P and Q the same
 * D columns, out a symmetric matrix whose lower triangle is wanted); entries
 * above the diagonal inside those tiles are written too.
 */
template <typename Scalar>
void add_row_products(const Scalar* p, Index ldp, Index m, const Scalar* q, Index ldq, Index n, Index rows,
                      Output out, bool lower_only = false) {
  for (Index a0 = 0; a0 < m; a0 += kTileRows) {
    const Index mt = std::min<Index>(kTileRows, m - a0);
    const Index n_end = lower_only ? std::min(n, a0 + mt) : n;
    for (Index c0 = 0; c0 < n_end; c0 += kTileCols) {
      const Index nt = std::min<Index>(kTileCols, n_end - c0);
      TileTable<Scalar>::get(mt, nt)(p + a0 * ldp, ldp, q + c0 * ldq, ldq, rows, out.shifted(a0, c0));
    }
  }
}

}  // namespace detail
}  // namespace gaussmix
