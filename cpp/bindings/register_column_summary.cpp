// The data checks' one pass (column_summary.hpp).
#include "convert.hpp"
#include "register.hpp"

namespace gaussmix::bindings {
namespace {

template <typename Scalar>
void register_column_summary_for(py::module_& m) {
  m.def(
      "column_summary",
      [](const DataRef<Scalar>& x, int n_threads) {
        py::gil_scoped_release release;  // reads only the X buffer, which the argument keeps alive
        return column_summary<Scalar>(x, python_execution(n_threads));
      },
      py::arg("X").noconvert(), py::arg("n_threads"),
      "Per column of X in one pass: NaN count, any infinity, min and max of the non-NaN entries, mean and "
      "variance (ddof=0) of the finite ones.");
}

}  // namespace

void register_column_summary(py::module_& m) {
  // def_readonly on an Eigen member gives a read-only NumPy view that keeps the summary alive.
  py::class_<ColumnSummary>(m, "ColumnSummary",
                            "Per-column counts, extremes and moments of a data matrix (column_summary).")
      .def_readonly("n_rows", &ColumnSummary::n_rows, "Rows of X.")
      .def_readonly("nan_count", &ColumnSummary::nan_count, "(D,) int64: NaN entries per column.")
      .def_readonly("finite_count", &ColumnSummary::finite_count, "(D,) int64: finite entries per column.")
      .def_readonly("has_inf", &ColumnSummary::has_inf, "(D,) bool: whether the column holds +-inf.")
      .def_readonly("min", &ColumnSummary::min, "(D,) the smallest non-NaN entry (NaN if none).")
      .def_readonly("max", &ColumnSummary::max, "(D,) the largest non-NaN entry (NaN if none).")
      .def_readonly("mean", &ColumnSummary::mean, "(D,) mean of the finite entries (NaN if none).")
      .def_readonly("variance", &ColumnSummary::variance,
                    "(D,) variance (ddof=0) of the finite entries (NaN if none); plain double arithmetic, exact "
                    "to rounding while max|x| <= 2**460 and the variance is far above 2**-1022.");
  register_column_summary_for<double>(m);
  register_column_summary_for<float>(m);
}

}  // namespace gaussmix::bindings
