#pragma once
/** @file detail/simd.hpp
 *  What the hand-written kernels (score_blocks.hpp, row_products.hpp) need
 *  besides Eigen's packet functions: the packet type, its width, how many
 *  vector registers there are, a way to keep a packet in one, and the
 *  transpose of row-major rows into column-major blocks (score_blocks.hpp,
 *  kmeans.hpp).
 */
#include "config.hpp"

namespace gaussmix {
namespace detail {

/** Eigen's SIMD register type for Scalar (a scalar when not vectorising),
 *  for the few kernels written with Eigen's packet functions. */
template <typename Scalar>
using Packet = typename Eigen::internal::packet_traits<Scalar>::type;
/** Scalars per Packet. */
template <typename Scalar>
constexpr Index kPacketSize = Eigen::internal::packet_traits<Scalar>::size;

/** Whether there are 32 vector registers (AVX-512, NEON) rather than 16
 *  (AVX2, SSE): the hand kernels' register tiles are sized by it. */
#ifdef EIGEN_ARCH_DEFAULT_NUMBER_OF_REGISTERS  // SSE defines it as an expression: not for #if
constexpr bool kManyRegisters = EIGEN_ARCH_DEFAULT_NUMBER_OF_REGISTERS >= 32;
#else
constexpr bool kManyRegisters = false;
#endif

/** Keeps value in a register: without this GCC folds the load of a packet
 *  into each multiply-add that uses it (several loads instead of one), which
 *  made the hand kernels load-bound. */
template <typename T>
inline void in_register(T& value) {
#if defined(__GNUC__) && !defined(EIGEN_DONT_VECTORIZE) && defined(__AVX512F__)
  __asm__("" : "+v"(value));  // any of the 32 vector registers
#elif defined(__GNUC__) && !defined(EIGEN_DONT_VECTORIZE) && (defined(__AVX__) || defined(__SSE2__))
  __asm__("" : "+x"(value));
#else
  (void)value;
#endif
}

/** Asks for the rows of the next block (rows x d from first, row stride ld)
 *  to be brought into cache while this block is scored: one pass over X per
 *  iteration is a stream from memory, and without the hint each block's
 *  first reader (subtract_row) waited for it (17% of a diag iteration at
 *  D = 32). Prefetching never faults, also past the end of the data. */
template <typename Scalar>
EIGEN_ALWAYS_INLINE void prefetch_rows(const Scalar* first, Index rows, Index d, Index ld) {
#if defined(__GNUC__)
  constexpr Index kLine = 64 / static_cast<Index>(sizeof(Scalar));
  for (Index r = 0; r < rows; ++r)
    for (Index j = 0; j < d; j += kLine) __builtin_prefetch(first + r * ld + j, 0, 2);
#else
  (void)first, (void)rows, (void)d, (void)ld;
#endif
}

/**
 * The rows of the block after the one a kernel is scoring, asked into cache
 * a packet of rows at a time from inside the kernel's loop (prefetch(r, W)
 * with the packet's own r): the requests then spread over the block's
 * arithmetic. Asked all at once before the block (prefetch_rows of 512
 * rows: 2,048 lines at D = 32), they filled the core's miss buffers and
 * stalled it until memory answered, the arithmetic waiting behind them:
 * Lloyd's assignment at 3e5 x 32, K = 16, 2 threads 9.0-9.4 -> 6.4-6.5 ms,
 * at D = 64 17.4-17.5 -> 13.6 ms; k-means++ 122-135 -> 92-93 ms at D = 32
 * (bench/NOTES.md section 27). The E-step's kernels, whose arithmetic is
 * the longer part, gained nothing from it and keep subtract_row's burst.
 * prefetch must be inlined: as a call, the kernels spilled their vector
 * registers around it and ran slower than with the burst.
 */
template <typename Scalar>
struct NextRows {
  const Scalar* first = nullptr;  ///< the next block's first row
  Index rows = 0;                 ///< its rows (0: none)
  Index d = 0;                    ///< columns
  Index ld = 0;                   ///< row stride

  /** The block after rows [begin, begin + count) of x: as many rows, fewer at the end of x. */
  template <typename Data>
  static NextRows after(const Data& x, Index begin, Index count) {
    const Index next = begin + count;
    return {x.data() + next * x.outerStride(), std::max<Index>(0, std::min(count, x.rows() - next)), x.cols(),
            x.outerStride()};
  }
  /** Asks rows [r, r + count) of the next block into cache (those that exist). */
  EIGEN_ALWAYS_INLINE void prefetch(Index r, Index count) const {
    if (r < rows) prefetch_rows(first + r * ld, std::min(count, rows - r), d, ld);
  }
};

#if defined(__GNUC__)
#pragma GCC diagnostic push
// PacketBlock<__m512d, 8>: GCC notes that the vector type's alignment attribute
// is not part of the template argument, which is harmless here (a local).
#pragma GCC diagnostic ignored "-Wignored-attributes"
#endif
/** out[j * ld + r] = x[r * ldx + j] - c[j] for r < b, j < d: rows of a
 *  row-major x, minus c, into a column-major block, one square tile of
 *  packets at a time (W rows of W columns loaded, c subtracted, transposed
 *  in registers, stored as W column packets). Eigen's assignment of a
 *  row-major block to a column-major one gathers every packet from W scalar
 *  loads: 20% of a diag E-step at D = 32, half of a k-means assignment at
 *  D = 8. The rows and columns that do not fill a tile go scalar. With
 *  Scaled, out is (x - c) * scale, in the same pass (k-means++'s frame: a
 *  power of two, so exact; as a second pass over the block it took 8% of
 *  k-means++ at 3e5 x 32). */
template <typename Scalar, bool Scaled = false>
void transpose_subtract(const Scalar* x, Index b, Index d, Index ldx, const Scalar* c, Scalar* out, Index ld,
                        Scalar scale = Scalar(1)) {
  namespace ei = Eigen::internal;
  using P = Packet<Scalar>;
  constexpr Index W = kPacketSize<Scalar>;
  Index rows_done = 0, cols_done = 0;
  if constexpr (W > 1) {
    rows_done = b - b % W;
    cols_done = d - d % W;
    for (Index r = 0; r < rows_done; r += W)
      for (Index j = 0; j < cols_done; j += W) {
        ei::PacketBlock<P, static_cast<int>(W)> tile;
        const P cj = ei::ploadu<P>(c + j);
        for (Index i = 0; i < W; ++i) tile.packet[i] = ei::psub(ei::ploadu<P>(x + (r + i) * ldx + j), cj);
        if constexpr (Scaled)
          for (Index i = 0; i < W; ++i) tile.packet[i] = ei::pmul(tile.packet[i], ei::pset1<P>(scale));
        ei::ptranspose(tile);
        for (Index i = 0; i < W; ++i) ei::pstoreu(out + (j + i) * ld + r, tile.packet[i]);
      }
  }
  for (Index r = 0; r < b; ++r)
    for (Index j = r < rows_done ? cols_done : 0; j < d; ++j)
      out[j * ld + r] = Scaled ? (x[r * ldx + j] - c[j]) * scale : x[r * ldx + j] - c[j];
}
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

}  // namespace detail
}  // namespace gaussmix
