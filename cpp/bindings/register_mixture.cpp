// Scoring functions of scoring.hpp.
#include "convert.hpp"
#include "register.hpp"

namespace gaussmix::bindings {
namespace {

/** A new float64 or float32 array, (rows, cols) or with cols = 0 a vector
 *  (rows,), filled by write(view) with the GIL released: write touches only
 *  C++ objects and NumPy buffers kept alive by the arguments and the result. */
template <typename Write>
py::array scores_into(bool float32_output, Index rows, Index cols, Write&& write) {
  auto fill = [&](auto tag) -> py::array {
    using Out = decltype(tag);
    if (cols == 0) {
      py::array_t<Out> out(rows);
      Eigen::Map<Eigen::Matrix<Out, Eigen::Dynamic, 1>> out_view(out.mutable_data(), rows);
      {
        py::gil_scoped_release release;
        write(Eigen::Ref<Eigen::Matrix<Out, Eigen::Dynamic, 1>>(out_view));
      }
      return out;
    }
    py::array_t<Out, py::array::c_style> out({rows, cols});
    Eigen::Map<RowMatrix<Out>> out_view(out.mutable_data(), rows, cols);
    {
      py::gil_scoped_release release;
      write(Eigen::Ref<RowMatrix<Out>>(out_view));
    }
    return out;
  };
  return float32_output ? fill(float{}) : fill(double{});
}

template <typename Scalar>
void register_for(py::module_& m) {
  using Data = DataRef<Scalar>;
  // Every function: build the mixture and the output with the GIL held, then
  // release it for the numerics, which touch only C++ objects and the NumPy
  // buffers kept alive by the arguments and the result.
  m.def(
      "log_prob_components",
      [](const Data& x, const DoubleArray& weights, const MeansRef& means, const DoubleArray& covariances,
         int n_threads, const std::string& covariance_type, bool float32_output) -> py::array {
        const Mixture<Scalar> mix = make_mixture<Scalar>(weights, means, covariances, covariance_type);
        return scores_into(float32_output, x.rows(), mix.n_components(), [&](auto out_view) {
          log_prob_components<Scalar>(x, mix, out_view, python_execution(n_threads));
        });
      },
      py::arg("X").noconvert(), py::arg("weights"), py::arg("means"), py::arg("covariances"),
      py::arg("n_threads") = 0, py::arg("covariance_type") = "full", py::arg("float32_output") = false, "(N, K) array of log w_k + log N(x_n | mean_k, cov_k).");
  m.def(
      "responsibilities",
      [](const Data& x, const DoubleArray& weights, const MeansRef& means, const DoubleArray& covariances,
         int n_threads, const std::string& covariance_type, bool float32_output) -> py::array {
        const Mixture<Scalar> mix = make_mixture<Scalar>(weights, means, covariances, covariance_type);
        return scores_into(float32_output, x.rows(), mix.n_components(), [&](auto out_view) {
          responsibilities<Scalar>(x, mix, out_view, python_execution(n_threads));
        });
      },
      py::arg("X").noconvert(), py::arg("weights"), py::arg("means"), py::arg("covariances"),
      py::arg("n_threads") = 0, py::arg("covariance_type") = "full", py::arg("float32_output") = false, "(N, K) array of p(k | x_n).");
  m.def(
      "log_density",
      [](const Data& x, const DoubleArray& weights, const MeansRef& means, const DoubleArray& covariances,
         int n_threads, const std::string& covariance_type, bool float32_output) -> py::array {
        const Mixture<Scalar> mix = make_mixture<Scalar>(weights, means, covariances, covariance_type);
        return scores_into(float32_output, x.rows(), 0, [&](auto out_view) {
          log_density<Scalar>(x, mix, out_view, python_execution(n_threads));
        });
      },
      py::arg("X").noconvert(), py::arg("weights"), py::arg("means"), py::arg("covariances"),
      py::arg("n_threads") = 0, py::arg("covariance_type") = "full", py::arg("float32_output") = false,
      "(N,) array of log p(x_n).");
  m.def(
      "log_likelihood",
      [](const Data& x, const DoubleArray& weights, const MeansRef& means, const DoubleArray& covariances,
         int n_threads, const std::string& covariance_type) {
        const Mixture<Scalar> mix = make_mixture<Scalar>(weights, means, covariances, covariance_type);
        py::gil_scoped_release release;
        return log_likelihood<Scalar>(x, mix, python_execution(n_threads));
      },
      py::arg("X").noconvert(), py::arg("weights"), py::arg("means"), py::arg("covariances"),
      py::arg("n_threads") = 0, py::arg("covariance_type") = "full", "sum_n log p(x_n).");
  m.def(
      "assign_to_component",
      [](const Data& x, const DoubleArray& weights, const MeansRef& means, const DoubleArray& covariances,
         int n_threads, const std::string& covariance_type) {
        const Mixture<Scalar> mix = make_mixture<Scalar>(weights, means, covariances, covariance_type);
        py::array_t<std::int64_t> out(x.rows());
        Eigen::Map<Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>> out_view(out.mutable_data(), x.rows());
        {
          py::gil_scoped_release release;
          assign_to_component<Scalar>(x, mix, out_view, python_execution(n_threads));
        }
        return out;
      },
      py::arg("X").noconvert(), py::arg("weights"), py::arg("means"), py::arg("covariances"),
      py::arg("n_threads") = 0, py::arg("covariance_type") = "full", "(N,) int64 array: the most responsible component of each row.");
}

}  // namespace

void register_mixture(py::module_& m) {
  m.def(
      "check_mixture",
      [](const DoubleArray& weights, const MeansRef& means, const DoubleArray& covariances,
         const std::string& covariance_type) { make_mixture<double>(weights, means, covariances, covariance_type); },
      py::arg("weights"), py::arg("means"), py::arg("covariances"), py::arg("covariance_type"),
      "Raises what constructing the mixture raises (ValueError, Cov_problem); returns None.");
  register_for<double>(m);
  register_for<float>(m);
}

}  // namespace gaussmix::bindings
