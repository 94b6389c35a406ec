// SufficientStats (sufficient_stats.hpp) as a Python class: named read-only fields, merge, pickling, ==.
#include <pybind11/operators.h>

#include <cstring>
#include <string>

#include "convert.hpp"
#include "register.hpp"

namespace gaussmix::bindings {
namespace {

constexpr const char* kStatsDoc = R"(The additive statistics of an E-step over some rows, as :func:`block_stats` returns them.

With row weights w_i (1 when unweighted) and responsibilities r_ik, all
taken around a shift per component (``shift[k]``):

Attributes
----------
covariance_type : str
    The model the statistics are for.
shift : ndarray of shape (K, D)
    The point each component's sums are taken around (the mixture's mean,
    or for a component far from it its own mean).
resp_sum : ndarray of shape (K,)
    sum_i w_i r_ik.
first : ndarray of shape (K, D)
    sum_i w_i r_ik (x_i - shift_k).
second : ndarray
    The second moments in the shape of the model's covariances: full
    (K, D, D) with sum_i w_i r_ik (x_i - shift_k)(x_i - shift_k)^T; tied
    (D, D), their sum over k; diag (K, D), the squares; spherical (K,),
    the squared norms.
log_likelihood : float
    sum_i w_i log p(x_i).
weight_sum : float
    sum_i w_i.
latent_entropy : float
    The entropy of the rows' E-step posterior over their latent variables:
    -sum_i w_i sum_k r_ik log r_ik, plus, for rows with missing entries,
    sum_i w_i sum_k r_ik times the entropy of their missing entries'
    conditional Gaussian under component k (a term of the variational
    lower bound).
n_rows : int
    Number of rows.
mixture_fingerprint : int
    A 64-bit hash of the parameters (and the data's precision) the
    statistics were taken under: statistics with different fingerprints
    refuse to merge.

``a + b`` merges two (see :func:`merge_stats`); ``a == b`` when every field
has the same bits. The arrays are read-only, also after unpickling; the
object pickles as plain arrays and numbers. Statistics can be built from
their fields by keyword (``SufficientStats(covariance_type=..., shift=...,
...)``), e.g. to combine statistics computed elsewhere.)";

/** The shape SufficientStats::second has in Python: the model's covariance shape. */
std::vector<py::ssize_t> second_shape_in_python(CovarianceType type, Index k, Index d) {
  switch (type) {
    case CovarianceType::full: return {k, d, d};
    case CovarianceType::tied: return {d, d};
    case CovarianceType::diag: return {k, d};
    case CovarianceType::spherical: break;
  }
  return {k};
}

std::string shape_text(const std::vector<py::ssize_t>& shape) {
  std::string text = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + (shape.size() == 1 ? ",)" : ")");
}

std::string shape_text(const DoubleArray& a) {
  return shape_text(std::vector<py::ssize_t>(a.shape(), a.shape() + a.ndim()));
}

/** Statistics from their fields as Python gives them (the keyword constructor, unpickling), shapes checked. */
SufficientStats stats_from_fields(const std::string& covariance_type, const DoubleArray& shift,
                                  const DoubleArray& resp_sum, const DoubleArray& first, const DoubleArray& second,
                                  double log_likelihood, double weight_sum, Index n_rows,
                                  std::uint64_t mixture_fingerprint, double latent_entropy) {
  const CovarianceType type = covariance_type_from_name(covariance_type);
  if (shift.ndim() != 2)
    throw std::invalid_argument("SufficientStats: shift must have shape (K, D), got " + shape_text(shift));
  const Index k = shift.shape(0), d = shift.shape(1);
  const std::vector<py::ssize_t> vector_shape{k}, matrix_shape{k, d};
  auto check = [](const char* name, const DoubleArray& a, const std::vector<py::ssize_t>& expected,
                  const std::string& why) {
    if (std::vector<py::ssize_t>(a.shape(), a.shape() + a.ndim()) != expected)
      throw std::invalid_argument(std::string("SufficientStats: ") + name + " must have shape " +
                                  shape_text(expected) + why + ", got " + shape_text(a));
  };
  check("resp_sum", resp_sum, vector_shape, " (K from shift)");
  check("first", first, matrix_shape, ", as shift");
  check("second", second, second_shape_in_python(type, k, d),
        std::string(" for the ") + covariance_type_name(type) + " model");
  SufficientStats s(type, Eigen::Map<const RowMatrix<double>>(shift.data(), k, d));
  s.resp_sum = Eigen::Map<const Eigen::VectorXd>(resp_sum.data(), k);
  s.first = Eigen::Map<const RowMatrix<double>>(first.data(), k, d);
  const detail::SecondShape shape = detail::second_shape(type, k, d);
  for (Index c = 0; c < shape.count; ++c)
    s.second[static_cast<std::size_t>(c)] =
        Eigen::Map<const RowMatrix<double>>(second.data() + c * shape.rows * shape.cols, shape.rows, shape.cols);
  s.log_likelihood = log_likelihood;
  s.weight_sum = weight_sum;
  s.latent_entropy = latent_entropy;
  s.n_rows = n_rows;
  s.mixture_fingerprint = mixture_fingerprint;
  return s;
}

/** second in the model's covariance shape (full and tied made symmetric from
 *  their lower triangles, the part the core keeps), a new array. Needs the GIL. */
DoubleArray second_array(const SufficientStats& s) {
  const Index k = s.first.rows(), d = s.first.cols();
  const bool matrices = s.covariance_type == CovarianceType::full || s.covariance_type == CovarianceType::tied;
  const RowMatrix<double> vectors = matrices ? RowMatrix<double>() : RowMatrix<double>(s.second.front());
  return covariance_array(s.covariance_type, s.second, vectors, k, d);
}

/** The pickled state: the fields as new arrays and numbers, in the keyword constructor's order. */
py::tuple stats_state(const SufficientStats& s) {
  const Index k = s.first.rows(), d = s.first.cols();
  DoubleArray shift = new_matrix(k, d), resp_sum(k), first = new_matrix(k, d);
  view(shift) = s.shift;
  view(resp_sum) = s.resp_sum;
  view(first) = s.first;
  return py::make_tuple(covariance_type_name(s.covariance_type), shift, resp_sum, first, second_array(s),
                        s.log_likelihood, s.weight_sum, s.n_rows, s.mixture_fingerprint, s.latent_entropy);
}

/** Same bits in every double, integer and string field. second compares on
 *  the part the core keeps (full and tied: the lower triangles). */
bool same_bits(const SufficientStats& a, const SufficientStats& b) {
  auto same = [](const auto& x, const auto& y) {
    return x.rows() == y.rows() && x.cols() == y.cols() &&
           std::memcmp(x.data(), y.data(), sizeof(double) * static_cast<std::size_t>(x.size())) == 0;
  };
  auto same_number = [](double x, double y) { return std::memcmp(&x, &y, sizeof(double)) == 0; };
  if (a.covariance_type != b.covariance_type || a.n_rows != b.n_rows ||
      a.mixture_fingerprint != b.mixture_fingerprint || !same_number(a.log_likelihood, b.log_likelihood) ||
      !same_number(a.weight_sum, b.weight_sum) || !same_number(a.latent_entropy, b.latent_entropy) ||
      !same(a.shift, b.shift) || !same(a.resp_sum, b.resp_sum) ||
      !same(a.first, b.first) || a.second.size() != b.second.size())
    return false;
  const bool lower = a.covariance_type == CovarianceType::full || a.covariance_type == CovarianceType::tied;
  for (std::size_t c = 0; c < a.second.size(); ++c) {
    const Eigen::MatrixXd& x = a.second[c];
    const Eigen::MatrixXd& y = b.second[c];
    if (x.rows() != y.rows() || x.cols() != y.cols()) return false;
    for (Index j = 0; j < x.cols(); ++j)
      for (Index i = lower ? j : 0; i < x.rows(); ++i)
        if (!same_number(x(i, j), y(i, j))) return false;
  }
  return true;
}

}  // namespace

void register_stats(py::module_& m) {
  py::class_<SufficientStats> cls(m, "SufficientStats", kStatsDoc);
  // Public as gaussmix.SufficientStats, and pickled under that name: the module
  // it is defined in (_core_<CPU level>) need not exist where it is unpickled.
  cls.attr("__module__") = "gaussmix";
  cls.def(py::init(&stats_from_fields), py::kw_only(), py::arg("covariance_type"), py::arg("shift"),
          py::arg("resp_sum"), py::arg("first"), py::arg("second"), py::arg("log_likelihood"), py::arg("weight_sum"),
          py::arg("n_rows"), py::arg("mixture_fingerprint"), py::arg("latent_entropy") = 0.0,
          "Statistics from their fields (shapes as the attributes'); the arrays are copied.")
      .def_property_readonly(
          "covariance_type", [](const SufficientStats& s) { return std::string(covariance_type_name(s.covariance_type)); })
      // def_readonly on an Eigen member: a read-only NumPy view that keeps the statistics alive.
      .def_readonly("shift", &SufficientStats::shift)
      .def_readonly("resp_sum", &SufficientStats::resp_sum)
      .def_readonly("first", &SufficientStats::first)
      .def_property_readonly("second",
                             [](const SufficientStats& s) {
                               DoubleArray second = second_array(s);
                               second.attr("flags").attr("writeable") = false;
                               return second;
                             })
      .def_readonly("log_likelihood", &SufficientStats::log_likelihood)
      .def_readonly("weight_sum", &SufficientStats::weight_sum)
      .def_readonly("latent_entropy", &SufficientStats::latent_entropy)
      .def_readonly("n_rows", &SufficientStats::n_rows)
      .def_readonly("mixture_fingerprint", &SufficientStats::mixture_fingerprint)
      .def(
          "__add__",
          [](const SufficientStats& a, const SufficientStats& b) {
            SufficientStats total = a;
            total.merge(b);
            return total;
          },
          py::is_operator(), "The merged statistics (see merge_stats).")
      .def("__eq__", &same_bits, py::is_operator())
      .def("__repr__",
           [](const SufficientStats& s) {
             return "SufficientStats(covariance_type='" + std::string(covariance_type_name(s.covariance_type)) +
                    "', K=" + std::to_string(s.first.rows()) + ", D=" + std::to_string(s.first.cols()) +
                    ", n_rows=" + std::to_string(s.n_rows) + ", weight_sum=" + detail::format_number(s.weight_sum) +
                    ", log_likelihood=" + detail::format_number(s.log_likelihood) + ")";
           })
      .def(py::pickle(&stats_state, [](const py::tuple& t) {
        if (t.size() != 10) throw std::invalid_argument("SufficientStats: a pickled state has 10 fields");
        return stats_from_fields(t[0].cast<std::string>(), t[1].cast<DoubleArray>(), t[2].cast<DoubleArray>(),
                                 t[3].cast<DoubleArray>(), t[4].cast<DoubleArray>(), t[5].cast<double>(),
                                 t[6].cast<double>(), t[7].cast<Index>(), t[8].cast<std::uint64_t>(),
                                 t[9].cast<double>());
      }));
  m.def(
      "merge_stats",
      [](const py::list& stats) {
        if (stats.empty()) throw std::invalid_argument("merge_stats needs at least one set of statistics");
        SufficientStats total = stats[0].cast<const SufficientStats&>();
        for (std::size_t i = 1; i < stats.size(); ++i) total.merge(stats[i].cast<const SufficientStats&>());
        return total;
      },
      py::arg("stats"), "Statistics merged by addition, in list order.");
}

}  // namespace gaussmix::bindings
