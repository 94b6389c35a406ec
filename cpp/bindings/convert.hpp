#pragma once
// Array conversion between NumPy and the core. No numerics here.
#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <atomic>
#include <initializer_list>
#include <memory>
#include <optional>
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
 * Cancelled, which the translator in module.cpp turns back into that error
 * (KeyboardInterrupt when the stop came from a watched StopFlag).
 */
/** A stop request for core calls made from Python threads other than the
 *  main one, which signals never reach (CPython runs its handlers in the
 *  main thread only): select_model's fits side by side. A worker thread
 *  watches a flag (watch_stop in module.cpp); the main thread sets it on
 *  Ctrl-C and the worker's call stops as at a signal. */
struct StopFlag {
  std::atomic<bool> requested{false};
};

/** The flag the calling Python thread watches (none: signals only). */
inline thread_local std::shared_ptr<StopFlag> watched_stop;

inline Execution python_execution(int n_threads) {
  return Execution(n_threads, [flag = watched_stop] {
    if (flag && flag->requested.load(std::memory_order_relaxed)) return true;
    py::gil_scoped_acquire gil;
    return PyErr_CheckSignals() != 0;
  });
}

/** C-contiguous float64 array, converted if it is not one already (parameters are small). */
using DoubleArray = py::array_t<double, py::array::c_style | py::array::forcecast>;
using MeansRef = Eigen::Ref<const RowMatrix<double>>;

/** Builds a Mixture from weights (K,), means (K, D) and covariances in
 *  scikit-learn's shape for covariance_type: full (K, D, D), tied (D, D),
 *  diag (K, D), spherical (K,). */
template <typename Scalar>
Mixture<Scalar> make_mixture(const DoubleArray& weights, const MeansRef& means, const DoubleArray& covariances,
                             const std::string& covariance_type = "full") {
  const Index k = means.rows(), d = means.cols();
  const CovarianceType type = covariance_type_from_name(covariance_type);
  if (weights.ndim() != 1 || weights.shape(0) != k)
    throw std::invalid_argument("weights must have shape (K,) with K = number of means");
  Eigen::VectorXd w = Eigen::Map<const Eigen::VectorXd>(weights.data(), k);
  auto shape_is = [&](std::initializer_list<Index> shape) {
    if (covariances.ndim() != static_cast<py::ssize_t>(shape.size())) return false;
    py::ssize_t axis = 0;
    for (Index n : shape)
      if (covariances.shape(axis++) != n) return false;
    return true;
  };
  switch (type) {
    case CovarianceType::full: {
      if (!shape_is({k, d, d}))
        throw std::invalid_argument("covariances must have shape (K, D, D) matching means (K, D)");
      std::vector<Eigen::MatrixXd> covs;
      covs.reserve(static_cast<std::size_t>(k));
      for (Index c = 0; c < k; ++c)
        covs.emplace_back(Eigen::Map<const RowMatrix<double>>(covariances.data(c, 0, 0), d, d));
      return Mixture<Scalar>(std::move(w), RowMatrix<double>(means), std::move(covs));
    }
    case CovarianceType::tied:
      if (!shape_is({d, d})) throw std::invalid_argument("a tied covariance must have shape (D, D) matching means (K, D)");
      return Mixture<Scalar>::tied(std::move(w), RowMatrix<double>(means),
                                   Eigen::Map<const RowMatrix<double>>(covariances.data(), d, d));
    case CovarianceType::diag:
      if (!shape_is({k, d})) throw std::invalid_argument("diag variances must have shape (K, D) matching means (K, D)");
      return Mixture<Scalar>::diag(std::move(w), RowMatrix<double>(means),
                                   Eigen::Map<const RowMatrix<double>>(covariances.data(), k, d));
    case CovarianceType::spherical:
      break;
  }
  if (!shape_is({k})) throw std::invalid_argument("spherical variances must have shape (K,) matching means (K, D)");
  return Mixture<Scalar>::spherical(std::move(w), RowMatrix<double>(means),
                                    Eigen::Map<const Eigen::VectorXd>(covariances.data(), k));
}

/** A model's covariances in scikit-learn's shape (see make_mixture), or, for
 *  SufficientStats::second, its second moments in the same shape (full and
 *  tied made symmetric from their lower triangles). Needs the GIL. */
inline DoubleArray covariance_array(CovarianceType type, const std::vector<Eigen::MatrixXd>& matrices,
                                    const RowMatrix<double>& variances, Index k, Index d) {
  switch (type) {
    case CovarianceType::full: {
      DoubleArray out({k, d, d});
      for (Index j = 0; j < k; ++j)
        Eigen::Map<RowMatrix<double>>(out.mutable_data(j, 0, 0), d, d) =
            matrices[static_cast<std::size_t>(j)].selfadjointView<Eigen::Lower>();
      return out;
    }
    case CovarianceType::tied: {
      DoubleArray out({d, d});
      Eigen::Map<RowMatrix<double>>(out.mutable_data(), d, d) = matrices.front().selfadjointView<Eigen::Lower>();
      return out;
    }
    case CovarianceType::diag: {
      DoubleArray out({k, d});
      Eigen::Map<RowMatrix<double>>(out.mutable_data(), k, d) = variances;
      return out;
    }
    case CovarianceType::spherical: break;
  }
  DoubleArray out(k);
  Eigen::Map<Eigen::VectorXd>(out.mutable_data(), k) = variances.col(0);
  return out;
}

/** (weights (K,), means (K, D), covariances in the model's shape) as new NumPy arrays. Needs the GIL. */
template <typename Scalar>
py::tuple mixture_to_arrays(const Mixture<Scalar>& mix) {
  const Index k = mix.n_components(), d = mix.dim();
  DoubleArray weights(k), means({k, d});
  Eigen::Map<Eigen::VectorXd>(weights.mutable_data(), k) = mix.weights();
  Eigen::Map<RowMatrix<double>>(means.mutable_data(), k, d) = mix.means();
  return py::make_tuple(weights, means,
                        covariance_array(mix.covariance_type(), mix.covariances(), mix.variances(), k, d));
}

/** Row weights from Python: None (unweighted), or a float64 vector of N
 *  entries, viewed without a copy when it is one already. The view stays
 *  valid while this object lives. */
class SampleWeights {
 public:
  SampleWeights(const py::object& sample_weight, Index n) : n_(n) {
    if (sample_weight.is_none()) return;
    array_ = DoubleArray::ensure(sample_weight);
    given_ = true;
    if (!array_) PyErr_Clear();  // ensure() left its conversion error set; the message below replaces it
    if (!array_ || array_.ndim() != 1 || array_.shape(0) != n)
      throw std::invalid_argument("sample_weight must have shape (N,) with N = " + std::to_string(n) + " rows of X");
  }
  /** The weights, or an empty vector when there are none. */
  SampleWeightRef ref() const {
    if (!given_) return SampleWeightRef(detail::no_sample_weight());
    return SampleWeightRef(Eigen::Map<const Eigen::VectorXd>(array_.data(), n_));
  }

 private:
  DoubleArray array_;
  Index n_;
  bool given_ = false;
};

/** (weights (K,), means (K, d), covariances (K, d, d)) of full-covariance parameters. Needs the GIL. */
inline py::tuple params_to_arrays(const Eigen::VectorXd& w, const RowMatrix<double>& m,
                                  const std::vector<Eigen::MatrixXd>& c) {
  const Index k = m.rows(), d = m.cols();
  DoubleArray weights(k), means({k, d});
  Eigen::Map<Eigen::VectorXd>(weights.mutable_data(), k) = w;
  Eigen::Map<RowMatrix<double>>(means.mutable_data(), k, d) = m;
  return py::make_tuple(weights, means, covariance_array(CovarianceType::full, c, RowMatrix<double>(), k, d));
}

/** The statistics calls' optional shifts (K, D): None, the mixture's own
 *  choice; else every component's statistics around its row (a retake that
 *  recentred_shifts asked for). Converted with the GIL held. */
inline std::optional<RowMatrix<double>> optional_shifts(const py::object& shifts) {
  if (shifts.is_none()) return std::nullopt;
  return shifts.cast<RowMatrix<double>>();
}

/** A new (rows, cols) float64 array and an Eigen view of its buffer (a vector: rows x 1). */
inline DoubleArray new_matrix(Index rows, Index cols) { return DoubleArray({rows, cols}); }
inline Eigen::Map<RowMatrix<double>> view(DoubleArray& a) {
  return Eigen::Map<RowMatrix<double>>(a.mutable_data(), a.shape(0), a.ndim() > 1 ? a.shape(1) : 1);
}

}  // namespace gaussmix::bindings
