// k-means of kmeans.hpp.
#include <cstdint>

#include "convert.hpp"
#include "register.hpp"

namespace gaussmix::bindings {
namespace {

template <typename Scalar>
void register_kmeans_for(py::module_& m) {
  m.def(
      "kmeans_lloyd",
      [](const DataRef<Scalar>& x, const MeansRef& centres, int max_iter, double delta_stop, int n_threads,
         const py::object& sample_weight, double shift_tol, bool relocate_empty) {
        if (centres.cols() != x.cols() || centres.rows() < 1)
          throw std::invalid_argument("centres must have shape (K, D) with D = columns of X");
        const SampleWeights w(sample_weight, x.rows());
        LloydOptions options;
        options.max_iter = max_iter;
        options.delta_stop = delta_stop;
        options.shift_tol = shift_tol;
        options.relocate_empty = relocate_empty;
        options.label_returned_centres = shift_tol >= 0.0;  // scikit-learn's labels with its rule
        KMeansResult result = [&] {
          // Only C++ objects and the buffers of X and w (held above) are read.
          py::gil_scoped_release release;
          return kmeans_lloyd<Scalar>(x, RowMatrix<double>(centres), options, python_execution(n_threads), w.ref());
        }();
        py::array_t<std::int64_t> labels(result.labels.size());
        std::copy(result.labels.data(), result.labels.data() + result.labels.size(), labels.mutable_data());
        DoubleArray out_centres({result.centres.rows(), result.centres.cols()});
        view(out_centres) = result.centres;
        return py::make_tuple(labels, out_centres, result.n_iter);
      },
      py::arg("X").noconvert(), py::arg("centres"), py::arg("max_iter"), py::arg("delta_stop"),
      py::arg("n_threads"), py::arg("sample_weight") = py::none(), py::kw_only(), py::arg("shift_tol") = -1.0,
      py::arg("relocate_empty") = false,
      "Lloyd iterations, weighted by sample_weight (None: unit weights); returns (labels, centres, n_iter). "
      "delta_stop >= 0: PyPR's rule, labels of the centres before the last update. shift_tol >= 0: "
      "scikit-learn's rule, labels of the returned centres. relocate_empty: scikit-learn's empty clusters.");
  m.def(
      "kmeans_plus_plus",
      [](const DataRef<Scalar>& x, Index k, const Eigen::Ref<const Eigen::VectorXd>& uniforms, int n_local_trials,
         int n_threads, const py::object& sample_weight) {
        const SampleWeights w(sample_weight, x.rows());
        const Eigen::VectorXd u = uniforms;  // owned: the GIL is released below
        KMeansSeeds seeds = [&] {
          // Only C++ objects and the buffers of X and w (held above) are read.
          py::gil_scoped_release release;
          return kmeans_plus_plus<Scalar>(x, k, u, n_local_trials, python_execution(n_threads), w.ref());
        }();
        DoubleArray centres({seeds.centres.rows(), seeds.centres.cols()});
        view(centres) = seeds.centres;
        py::array_t<std::int64_t> indices(seeds.indices.size());
        std::copy(seeds.indices.data(), seeds.indices.data() + seeds.indices.size(), indices.mutable_data());
        return py::make_tuple(centres, indices);
      },
      py::arg("X").noconvert(), py::arg("k"), py::arg("uniforms"), py::arg("n_local_trials"), py::arg("n_threads"),
      py::arg("sample_weight") = py::none(),
      "((k, D) float64 centres, (k,) int64 row indices): greedy k-means++ seeds on the given uniform variates "
      "(1 + (k - 1) n_local_trials values in [0, 1)), rows of X drawn with probability proportional to "
      "sample_weight (None: unit weights) times squared distance.");
  m.def(
      "nearest_centres",
      [](const DataRef<Scalar>& x, const MeansRef& centres, int n_threads) {
        if (centres.cols() != x.cols() || centres.rows() < 1)
          throw std::invalid_argument("centres must have shape (K, D) with D = columns of X");
        const RowMatrix<double> c(centres);
        py::array_t<std::int64_t> labels(x.rows());
        Eigen::Map<Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>> out(labels.mutable_data(), x.rows());
        {
          py::gil_scoped_release release;
          nearest_centres<Scalar>(x, c, out, python_execution(n_threads));
        }
        return labels;
      },
      py::arg("X").noconvert(), py::arg("centres"), py::arg("n_threads"),
      "(N,) int64 array: index of each row's nearest centre.");
}

}  // namespace

void register_kmeans(py::module_& m) {
  register_kmeans_for<double>(m);
  register_kmeans_for<float>(m);
}

}  // namespace gaussmix::bindings
