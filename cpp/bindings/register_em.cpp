// EM of em.hpp.
#include <pybind11/functional.h>

#include "convert.hpp"
#include "register.hpp"

namespace gaussmix::bindings {
namespace {

template <typename Scalar>
void register_for(py::module_& m) {
  m.def(
      "fit_em",
      [](const DataRef<Scalar>& x, const DoubleArray& weights, const MeansRef& means,
         const DoubleArray& covariances, int max_iter, double delta_stop, int delta_stop_count_end,
         const DoubleArray& diag_add, int n_threads, const py::object& callback) {
        EmOptions<Scalar> options;
        options.max_iter = max_iter;
        options.delta_stop = delta_stop;
        options.delta_stop_count_end = delta_stop_count_end;
        options.execution = python_execution(n_threads);
        if (diag_add.size() != 0) {
          if (diag_add.ndim() != 1 || diag_add.shape(0) != means.cols())
            throw std::invalid_argument("diag_add must have shape (D,) or be empty");
          options.diag_add = Eigen::Map<const Eigen::VectorXd>(diag_add.data(), diag_add.shape(0));
        }
        if (!callback.is_none()) {
          // Runs on the calling thread between iterations, outside any parallel
          // region; the GIL is taken back for the Python call only. callback is
          // captured by reference, so no reference count changes without the GIL.
          options.callback = [&callback](int iteration, double loglik, const Mixture<Scalar>& updated) {
            py::gil_scoped_acquire gil;
            py::tuple params = mixture_to_arrays(updated);
            callback(params[0], params[1], params[2], iteration, loglik);
          };
        }
        Mixture<Scalar> init = make_mixture<Scalar>(weights, means, covariances);
        EmResult<Scalar> result = [&] {
          // The loop reads only C++ objects and X's buffer, which the argument keeps alive.
          py::gil_scoped_release release;
          return fit_em<Scalar>(x, std::move(init), options);
        }();
        py::tuple params = mixture_to_arrays(result.mixture);
        return py::make_tuple(params[0], params[1], params[2], result.log_likelihood, result.n_iter,
                              result.converged);
      },
      py::arg("X").noconvert(), py::arg("weights"), py::arg("means"), py::arg("covariances"),
      py::arg("max_iter"), py::arg("delta_stop"), py::arg("delta_stop_count_end"), py::arg("diag_add"),
      py::arg("n_threads"), py::arg("callback"),
      "EM from the given parameters; returns (weights, means, covariances, log_likelihood, n_iter, "
      "converged). callback(weights, means, covariances, iteration, log_likelihood) or None.");
}

}  // namespace

void register_em(py::module_& m) {
  register_for<double>(m);
  register_for<float>(m);
}

}  // namespace gaussmix::bindings
