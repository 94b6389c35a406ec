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

}  // namespace gaussmix
