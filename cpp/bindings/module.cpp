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
  m.def("max_threads", [] {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
  }, "Threads the core uses when n_threads is 0 (1 without OpenMP).");
  m.attr("has_openmp") =
#ifdef _OPENMP
      true;
#else
      false;
#endif
}
