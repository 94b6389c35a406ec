// Mixtures (mixture.hpp) and their scoring (scoring.hpp): the FactorisedMixture class that
// gaussmix.Mixture wraps, and the same scorings as free functions of the parameters (the PyPR face).
#include <type_traits>

#include "convert.hpp"
#include "factorised.hpp"
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

/** The scorings that write one value per row and component, or per row. */
enum class Scores { log_prob_components, responsibilities, log_density };

struct ScoresBinding {
  const char* name;
  Scores what;
  const char* doc;
};

constexpr ScoresBinding kScores[] = {
    {"log_prob_components", Scores::log_prob_components, "(N, K) array of log w_k + log N(x_n | mean_k, cov_k)."},
    {"responsibilities", Scores::responsibilities, "(N, K) array of p(k | x_n)."},
    {"log_density", Scores::log_density, "(N,) array of log p(x_n)."},
};

/** The one helper of the three scorings: mix's scores of the rows of x, float32 or float64. */
template <typename Scalar>
py::array scores(const Mixture<Scalar>& mix, const DataRef<Scalar>& x, Scores what, int n_threads,
                 bool float32_output) {
  const Index cols = what == Scores::log_density ? 0 : mix.n_components();
  return scores_into(float32_output, x.rows(), cols, [&](auto out) {
    const Execution execution = python_execution(n_threads);
    if constexpr (decltype(out)::ColsAtCompileTime == 1) {
      log_density<Scalar>(x, mix, out, execution);
    } else if (what == Scores::responsibilities) {
      responsibilities<Scalar>(x, mix, out, execution);
    } else {
      log_prob_components<Scalar>(x, mix, out, execution);
    }
  });
}

template <typename Scalar>
double total_log_likelihood(const Mixture<Scalar>& mix, const DataRef<Scalar>& x, int n_threads) {
  py::gil_scoped_release release;
  return log_likelihood<Scalar>(x, mix, python_execution(n_threads));
}

template <typename Scalar>
py::array_t<std::int64_t> assignments(const Mixture<Scalar>& mix, const DataRef<Scalar>& x, int n_threads) {
  py::array_t<std::int64_t> out(x.rows());
  Eigen::Map<Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>> out_view(out.mutable_data(), x.rows());
  {
    py::gil_scoped_release release;
    assign_to_component<Scalar>(x, mix, out_view, python_execution(n_threads));
  }
  return out;
}

/** Every scoring, as a method of FactorisedMixture (its cached factorisation)
 *  and as a free function of the parameters (a mixture made per call), for
 *  data of precision Scalar. The GIL is held while the mixture and the output
 *  are made and released for the numerics, which touch only C++ objects and
 *  the NumPy buffers kept alive by the arguments and the result. */
template <typename Scalar>
void register_mixture_for(py::module_& m, py::class_<FactorisedMixture>& cls) {
  using Data = DataRef<Scalar>;
  for (const ScoresBinding& b : kScores) {
    const Scores what = b.what;
    cls.def(
        b.name,
        [what](FactorisedMixture& self, const Data& x, int n_threads, bool float32_output) {
          return scores(self.kernels<Scalar>(), x, what, n_threads, float32_output);
        },
        py::arg("X").noconvert(), py::arg("n_threads") = 0, py::arg("float32_output") = false, b.doc);
    m.def(
        b.name,
        [what](const Data& x, const DoubleArray& weights, const MeansRef& means, const DoubleArray& covariances,
               int n_threads, const std::string& covariance_type, bool float32_output) {
          return scores(make_mixture<Scalar>(weights, means, covariances, covariance_type), x, what, n_threads,
                        float32_output);
        },
        py::arg("X").noconvert(), py::arg("weights"), py::arg("means"), py::arg("covariances"),
        py::arg("n_threads") = 0, py::arg("covariance_type") = "full", py::arg("float32_output") = false, b.doc);
  }
  cls.def(
      "log_likelihood",
      [](FactorisedMixture& self, const Data& x, int n_threads) {
        return total_log_likelihood(self.kernels<Scalar>(), x, n_threads);
      },
      py::arg("X").noconvert(), py::arg("n_threads") = 0, "sum_n log p(x_n).");
  m.def(
      "log_likelihood",
      [](const Data& x, const DoubleArray& weights, const MeansRef& means, const DoubleArray& covariances,
         int n_threads, const std::string& covariance_type) {
        return total_log_likelihood(make_mixture<Scalar>(weights, means, covariances, covariance_type), x, n_threads);
      },
      py::arg("X").noconvert(), py::arg("weights"), py::arg("means"), py::arg("covariances"),
      py::arg("n_threads") = 0, py::arg("covariance_type") = "full", "sum_n log p(x_n).");
  cls.def(
      "log_density_and_map",
      [](FactorisedMixture& self, const Data& x, int n_threads) {
        py::array_t<double> density(x.rows()), top(x.rows());
        Eigen::Map<Eigen::VectorXd> density_view(density.mutable_data(), x.rows()), top_view(top.mutable_data(), x.rows());
        {
          py::gil_scoped_release release;
          log_density_and_map<Scalar>(x, self.kernels<Scalar>(), density_view, top_view, python_execution(n_threads));
        }
        return py::make_tuple(density, top);
      },
      py::arg("X").noconvert(), py::arg("n_threads") = 0,
      "((N,) log p(x_n), (N,) log max_k p(k | x_n)) in float64, from one pass (ICL's two terms).");
  cls.def(
      "assign_to_component",
      [](FactorisedMixture& self, const Data& x, int n_threads) {
        return assignments(self.kernels<Scalar>(), x, n_threads);
      },
      py::arg("X").noconvert(), py::arg("n_threads") = 0,
      "(N,) int64 array: the most responsible component of each row.");
  m.def(
      "assign_to_component",
      [](const Data& x, const DoubleArray& weights, const MeansRef& means, const DoubleArray& covariances,
         int n_threads, const std::string& covariance_type) {
        return assignments(make_mixture<Scalar>(weights, means, covariances, covariance_type), x, n_threads);
      },
      py::arg("X").noconvert(), py::arg("weights"), py::arg("means"), py::arg("covariances"),
      py::arg("n_threads") = 0, py::arg("covariance_type") = "full",
      "(N,) int64 array: the most responsible component of each row.");
}

}  // namespace

void register_mixture(py::module_& m) {
  py::class_<FactorisedMixture> cls(
      m, "FactorisedMixture",
      "A mixture factorised once (float kernels' caches made on the first float data): what gaussmix.Mixture "
      "wraps, so that its scores and statistics do not factorise it again per call.");
  cls.def(py::init([](const DoubleArray& weights, const MeansRef& means, const DoubleArray& covariances,
                      const std::string& covariance_type) {
            return FactorisedMixture(make_mixture<double>(weights, means, covariances, covariance_type));
          }),
          py::arg("weights"), py::arg("means"), py::arg("covariances"), py::arg("covariance_type"),
          "Raises what constructing the core's mixture raises (ValueError, Cov_problem).")
      .def_property_readonly("covariance_type",
                             [](const FactorisedMixture& f) {
                               return std::string(covariance_type_name(f.mixture().covariance_type()));
                             })
      .def_property_readonly(
          "parameters", [](const FactorisedMixture& f) { return mixture_to_arrays(f.mixture()); },
          "(weights (K,), means (K, D), covariances in the model's shape) as new arrays.");
  register_mixture_for<double>(m, cls);
  register_mixture_for<float>(m, cls);
}

}  // namespace gaussmix::bindings
