// The _core extension module: thin bindings over the header-only core.
#include "convert.hpp"
#include "register.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace gaussmix::bindings {

void register_errors(py::module_& m) {
  // CovProblem is PyPR's Cov_problem; gaussmix.gmm re-exports it under that name.
  auto& cov_problem = py::register_exception<CovProblem>(m, "Cov_problem", PyExc_Exception);
  cov_problem.attr("__module__") = "gaussmix.gmm";
  // A call stopped by python_execution's check: the check left the signal
  // handler's exception (KeyboardInterrupt) set, so it propagates as it is.
  py::register_exception_translator([](std::exception_ptr thrown) {
    try {
      if (thrown) std::rethrow_exception(thrown);
    } catch (const Cancelled&) {
      if (!PyErr_Occurred()) PyErr_SetNone(PyExc_KeyboardInterrupt);
    }
  });
}

}  // namespace gaussmix::bindings

PYBIND11_MODULE(_core, m) {
  namespace gb = gaussmix::bindings;
  m.doc() = "gaussmix's compiled core. Use the gaussmix package, not this module.";
  gb::register_errors(m);
  gb::register_mixture(m);
  gb::register_em(m);
  gb::register_kmeans(m);
  gb::register_condition(m);
  m.def("default_threads", [] { return gaussmix::detail::threads_for(0); },
        "Threads the core uses when n_threads is 0 (1 without OpenMP).");
  m.def("max_threads", &gaussmix::max_threads,
        "The most threads any call runs: 4 per processor, at least 16 (1 without OpenMP).");
  m.attr("has_openmp") =
#ifdef _OPENMP
      true;
#else
      false;
#endif
}
