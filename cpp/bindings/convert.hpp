#pragma once
// Array conversion between NumPy and the core. No numerics here.
#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include <gaussmix/gaussmix.hpp>

namespace gaussmix::bindings {

namespace py = pybind11;

/**
 * An Execution for a call made from Python: n_threads threads, and a stop
 * check that lets Ctrl-C through. The core polls it on the calling thread
 * (the one that holds the GIL when not in the core), so PyErr_CheckSignals
 * runs Python's signal handlers there, with the GIL taken for the check only.
 * A handler's exception (KeyboardInterrupt for Ctrl-C) stays set as this
 * thread's error; the core then stops, joins its threads and throws
 * Cancelled, which the translator in module.cpp turns back into that error.
 */
inline Execution python_execution(int n_threads) {
  return Execution(n_threads, [] {
    py::gil_scoped_acquire gil;
    return PyErr_CheckSignals() != 0;
  });
}

/** C-contiguous float64 array, converted if it is not one already (parameters are small). */
using DoubleArray = py::array_t<double, py::array::c_style | py::array::forcecast>;
using MeansRef = Eigen::Ref<const RowMatrix<double>>;

/** Builds a Mixture from weights (K,), means (K, D) and covariances (K, D, D). */
template <typename Scalar>
Mixture<Scalar> make_mixture(const DoubleArray& weights, const MeansRef& means, const DoubleArray& covariances) {
  const Index k = means.rows(), d = means.cols();
  if (weights.ndim() != 1 || weights.shape(0) != k)
    throw std::invalid_argument("weights must have shape (K,) with K = number of means");
  if (covariances.ndim() != 3 || covariances.shape(0) != k || covariances.shape(1) != d ||
      covariances.shape(2) != d)
    throw std::invalid_argument("covariances must have shape (K, D, D) matching means (K, D)");
  Eigen::VectorXd w = Eigen::Map<const Eigen::VectorXd>(weights.data(), k);
  std::vector<Eigen::MatrixXd> covs;
  covs.reserve(static_cast<std::size_t>(k));
  for (Index c = 0; c < k; ++c)
    covs.emplace_back(Eigen::Map<const RowMatrix<double>>(covariances.data(c, 0, 0), d, d));
  return Mixture<Scalar>(std::move(w), RowMatrix<double>(means), std::move(covs));
}

/** (weights (K,), means (K, d), covariances (K, d, d)) as new NumPy arrays. Needs the GIL. */
inline py::tuple params_to_arrays(const Eigen::VectorXd& w, const RowMatrix<double>& m,
                                  const std::vector<Eigen::MatrixXd>& c) {
  const Index k = m.rows(), d = m.cols();
  DoubleArray weights(k), means({k, d}), covs({k, d, d});
  Eigen::Map<Eigen::VectorXd>(weights.mutable_data(), k) = w;
  Eigen::Map<RowMatrix<double>>(means.mutable_data(), k, d) = m;
  for (Index j = 0; j < k; ++j)
    Eigen::Map<RowMatrix<double>>(covs.mutable_data(j, 0, 0), d, d) = c[static_cast<std::size_t>(j)];
  return py::make_tuple(weights, means, covs);
}

template <typename Scalar>
py::tuple mixture_to_arrays(const Mixture<Scalar>& mix) {
  return params_to_arrays(mix.weights(), mix.means(), mix.covariances());
}

/** A new (rows, cols) float64 array and an Eigen view of its buffer. */
inline DoubleArray new_matrix(Index rows, Index cols) { return DoubleArray({rows, cols}); }
inline Eigen::Map<RowMatrix<double>> view(DoubleArray& a) {
  return Eigen::Map<RowMatrix<double>>(a.mutable_data(), a.shape(0), a.ndim() > 1 ? a.shape(1) : 1);
}

}  // namespace gaussmix::bindings
