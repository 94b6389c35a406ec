#pragma once
/** @file detail/config.hpp
 *  Included before Eigen by every gaussmix header.
 *
 *  gaussmix parallelises over row chunks itself and promises results that do
 *  not depend on the thread count. Eigen's own OpenMP GEMM threading would nest
 *  inside those regions (or run beside them) and split products differently
 *  for different thread counts, so it is switched off. The CMake target
 *  defines the macro too, for translation units that include Eigen first.
 */
#ifndef EIGEN_DONT_PARALLELIZE
#define EIGEN_DONT_PARALLELIZE
#endif

#include <Eigen/Core>

namespace gaussmix {

/** Row-major dense matrix: the layout of NumPy's C-contiguous arrays and of
 *  the data the core reads (one observation per row). */
template <typename Scalar>
using RowMatrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/** Read-only view of an (N, D) data matrix, one observation per row. */
template <typename Scalar>
using DataRef = Eigen::Ref<const RowMatrix<Scalar>>;

namespace detail {
template <typename T>
struct NonDeduced {
  using type = T;
};
}  // namespace detail

/** DataRef as the parameter of a function that also takes a Mixture<Scalar>:
 *  Scalar is deduced from the mixture, so `log_likelihood(x, mix)` accepts a
 *  RowMatrix (or any row-major expression) of the same precision without
 *  spelling out `<double>`. */
template <typename Scalar>
using DataArg = Eigen::Ref<const RowMatrix<typename detail::NonDeduced<Scalar>::type>>;

using Index = Eigen::Index;

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
}  // namespace detail

}  // namespace gaussmix
