// EM with missing values (missing.hpp): the patterns, their statistics and scores.
#include <pybind11/stl.h>

#include "convert.hpp"
#include "register.hpp"

namespace gaussmix::bindings {
namespace {

template <typename Scalar>
void register_missing_for(py::module_& m) {
  m.def(
      "missing_patterns",
      [](const DataRef<Scalar>& x) {
        py::gil_scoped_release release;  // reads only the X buffer
        return missing_patterns<Scalar>(x);
      },
      py::arg("X").noconvert(), "The rows of X with a NaN, grouped by missing pattern (a MissingPatterns).");
  m.def(
      "missing_stats",
      [](const DataRef<Scalar>& x, const MissingPatterns& patterns, const DoubleArray& weights, const MeansRef& means,
         const DoubleArray& covariances, const std::string& covariance_type, const MeansRef& shifts,
         const py::object& sample_weight, int n_threads, double reg_covar) {
        const SampleWeights w(sample_weight, x.rows());
        const Mixture<Scalar> mix = make_mixture<Scalar>(weights, means, covariances, covariance_type);
        const RowMatrix<double> s(shifts);
        py::gil_scoped_release release;  // reads only C++ objects and the X and weight buffers
        return missing_stats<Scalar>(x, patterns, mix, s, python_execution(n_threads), w.ref(), reg_covar);
      },
      py::arg("X").noconvert(), py::arg("patterns"), py::arg("weights"), py::arg("means"), py::arg("covariances"),
      py::arg("covariance_type"), py::arg("shifts"), py::arg("sample_weight"), py::arg("n_threads"),
      py::arg("reg_covar"),
      "E-step statistics of the rows of X with a NaN (patterns), around shifts (K, D): the missing entries "
      "completed by their conditional means, their conditional covariances added; with reg_covar > 0 those of "
      "the penalised objective (missing.hpp).");
  m.def(
      "complete_row_stats",
      [](const DataRef<Scalar>& x, const DoubleArray& weights, const MeansRef& means, const DoubleArray& covariances,
         const std::string& covariance_type, double reg_covar, const py::object& sample_weight, int n_threads,
         const py::object& shifts) {
        const SampleWeights w(sample_weight, x.rows());
        const auto around = optional_shifts(shifts);
        const Mixture<Scalar> mix = make_mixture<Scalar>(weights, means, covariances, covariance_type);
        py::gil_scoped_release release;  // reads only C++ objects and the X and weight buffers
        return complete_row_stats<Scalar>(x, mix, reg_covar, python_execution(n_threads), w.ref(),
                                          around ? &*around : nullptr);
      },
      py::arg("X").noconvert(), py::arg("weights"), py::arg("means"), py::arg("covariances"),
      py::arg("covariance_type"), py::arg("reg_covar"), py::arg("sample_weight"), py::arg("n_threads"),
      py::arg("shifts") = py::none(),
      "E-step statistics of the complete rows of a fit with missing values, for the penalised objective of "
      "reg_covar (missing.hpp); they merge with missing_stats' of the other rows. shifts (K, D): every "
      "component's around its row (a retake recentred_shifts asked for), None: around the mixture's.");
  m.def(
      "missing_log_prob",
      [](const DataRef<Scalar>& x, const MissingPatterns& patterns, const DoubleArray& weights, const MeansRef& means,
         const DoubleArray& covariances, const std::string& covariance_type, int n_threads) {
        const Mixture<Scalar> mix = make_mixture<Scalar>(weights, means, covariances, covariance_type);
        RowMatrix<double> log_prob = [&] {
          py::gil_scoped_release release;  // reads only C++ objects and the X buffer
          return missing_log_prob<Scalar>(x, patterns, mix, python_execution(n_threads));
        }();
        DoubleArray out({log_prob.rows(), log_prob.cols()});
        view(out) = log_prob;
        return out;
      },
      py::arg("X").noconvert(), py::arg("patterns"), py::arg("weights"), py::arg("means"), py::arg("covariances"),
      py::arg("covariance_type"), py::arg("n_threads"),
      "log w_k + log N(x_O | k) of the rows of X with a NaN (patterns.rows order), scored on their observed values.");
}

}  // namespace

void register_missing(py::module_& m) {
  py::class_<MissingPatterns>(m, "MissingPatterns",
                              "The rows of a matrix that have a NaN, grouped by missing pattern.")
      .def_property_readonly("rows",
                             [](const MissingPatterns& p) {
                               py::array_t<std::int64_t> rows(static_cast<py::ssize_t>(p.rows.size()));
                               std::copy(p.rows.begin(), p.rows.end(), rows.mutable_data());
                               return rows;
                             },
                             "The rows with a NaN, pattern by pattern (int64).")
      .def_property_readonly("n_patterns", &MissingPatterns::n_patterns)
      .def_property_readonly("shape", [](const MissingPatterns& p) { return py::make_tuple(p.n_rows, p.dim); })
      .def("observed", [](const MissingPatterns& p, Index i) {
            if (i < 0 || i >= p.n_patterns()) throw std::invalid_argument("MissingPatterns.observed: no such pattern");
            return p.observed[static_cast<std::size_t>(i)];
          }, py::arg("pattern"), "Pattern i's observed columns.");
  register_missing_for<double>(m);
  register_missing_for<float>(m);
}

}  // namespace gaussmix::bindings
