// Marginals, conditionals, regression (condition.hpp) and divergences (divergence.hpp).
#include <pybind11/stl.h>

#include "convert.hpp"
#include "register.hpp"

namespace gaussmix::bindings {
namespace {

py::tuple to_arrays(const MixtureParams& p) {
  return params_to_arrays(p.weights, p.means, p.covariances);
}

}  // namespace

void register_condition(py::module_& m) {
  m.def(
      "marginal",
      [](const DoubleArray& weights, const MeansRef& means, const DoubleArray& covariances,
         const std::vector<Index>& dims) {
        return to_arrays(marginal(make_mixture<double>(weights, means, covariances), dims));
      },
      py::arg("weights"), py::arg("means"), py::arg("covariances"), py::arg("dims"),
      "Marginal over dims; returns (weights, means, covariances).");
  m.def(
      "condition",
      [](const DoubleArray& weights, const MeansRef& means, const DoubleArray& covariances,
         const std::vector<Index>& observed, const Eigen::VectorXd& values) {
        return to_arrays(condition(make_mixture<double>(weights, means, covariances), observed, values));
      },
      py::arg("weights"), py::arg("means"), py::arg("covariances"), py::arg("observed"), py::arg("values"),
      "Conditional given values at the observed dimensions; returns (weights, means, covariances).");
  m.def(
      "predict_missing",
      [](py::array_t<double, py::array::c_style> x, const DoubleArray& weights, const MeansRef& means,
         const DoubleArray& covariances, int n_threads) {
        if (x.ndim() != 2) throw std::invalid_argument("X must be 2-D");
        if (!x.writeable()) throw std::invalid_argument("X must be writeable: predict fills its NaNs in place");
        const Mixture<double> mix = make_mixture<double>(weights, means, covariances);
        Eigen::Map<RowMatrix<double>> xv(x.mutable_data(), x.shape(0), x.shape(1));
        Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1> offsets;
        std::vector<double> covs;
        {
          // Touches only X's buffer (kept alive by the argument) and C++ objects.
          py::gil_scoped_release release;
          predict_missing<double>(xv, mix, offsets, covs, python_execution(n_threads));
        }
        py::array_t<std::int64_t> off(offsets.size());
        std::copy(offsets.data(), offsets.data() + offsets.size(), off.mutable_data());
        DoubleArray flat(static_cast<py::ssize_t>(covs.size()));
        std::copy(covs.begin(), covs.end(), flat.mutable_data());
        return py::make_tuple(off, flat);
      },
      py::arg("X").noconvert(), py::arg("weights"), py::arg("means"), py::arg("covariances"),
      py::arg("n_threads") = 0,
      "Fills NaNs of X in place; returns (offsets (N+1,), flat covariances): row i's conditional "
      "covariance is flat[offsets[i]:offsets[i+1]] reshaped to (m, m).");
  m.def(
      "pairwise",
      [](const MeansRef& means, const DoubleArray& covariances, const std::string& measure) {
        const Index k = means.rows(), d = means.cols();
        if (covariances.ndim() != 3 || covariances.shape(0) != k || covariances.shape(1) != d ||
            covariances.shape(2) != d)
          throw std::invalid_argument("covariances must have shape (K, D, D) matching means (K, D)");
        std::vector<Eigen::MatrixXd> covs;
        for (Index c = 0; c < k; ++c)
          covs.emplace_back(Eigen::Map<const RowMatrix<double>>(covariances.data(c, 0, 0), d, d));
        PairwiseMeasure which;
        if (measure == "hellinger") which = PairwiseMeasure::hellinger;
        else if (measure == "KL") which = PairwiseMeasure::kl;
        else throw std::invalid_argument("measure must be 'hellinger' or 'KL'");
        const Eigen::MatrixXd out = pairwise(RowMatrix<double>(means), covs, which);
        DoubleArray result({k, k});
        view(result) = out;
        return result;
      },
      py::arg("means"), py::arg("covariances"), py::arg("measure"),
      "K x K upper-triangular matrix of pairwise Hellinger affinities or KL divergences.");
}

}  // namespace gaussmix::bindings
