#pragma once
/** @file detail/simd.hpp
 *  What the hand-written kernels (score_blocks.hpp, row_products.hpp) need
 *  besides Eigen's packet functions: the packet type, its width, how many
 *  vector registers there are, and a way to keep a packet in one.
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

}  // namespace detail
}  // namespace gaussmix
