// k-means of kmeans.hpp.
#include <cstdint>

#include "convert.hpp"
#include "register.hpp"

namespace gaussmix::bindings {
namespace {

template <typename Scalar>
void register_for(py::module_& m) {
  m.def(
      "kmeans_lloyd",
      [](const DataRef<Scalar>& x, const MeansRef& centres, int max_iter, double delta_stop, int n_threads,
         const py::object& sample_weight) {
        if (centres.cols() != x.cols() || centres.rows() < 1)
          throw std::invalid_argument("centres must have shape (K, D) with D = columns of X");
        const SampleWeights w(sample_weight, x.rows());
        KMeansResult result = [&] {
          // Only C++ objects and the buffers of X and w (held above) are read.
          py::gil_scoped_release release;
          return kmeans_lloyd<Scalar>(x, RowMatrix<double>(centres), max_iter, delta_stop, python_execution(n_threads),
                                      w.ref());
        }();
        py::array_t<std::int64_t> labels(result.labels.size());
        std::copy(result.labels.data(), result.labels.data() + result.labels.size(), labels.mutable_data());
        DoubleArray out_centres({result.centres.rows(), result.centres.cols()});
        view(out_centres) = result.centres;
        return py::make_tuple(labels, out_centres, result.n_iter);
      },
      py::arg("X").noconvert(), py::arg("centres"), py::arg("max_iter"), py::arg("delta_stop"),
      py::arg("n_threads"), py::arg("sample_weight") = py::none(),
      "Lloyd iterations, weighted by sample_weight (None: unit weights); returns (labels, centres, n_iter).");
  m.def(
      "kmeans_plus_plus",
      [](const DataRef<Scalar>& x, Index k, std::uint64_t seed, int n_threads, const py::object& sample_weight) {
        const SampleWeights w(sample_weight, x.rows());
        RowMatrix<double> centres;
        {
          // Only C++ objects and the buffers of X and w (held above) are read.
          py::gil_scoped_release release;
          centres = kmeans_plus_plus<Scalar>(x, k, seed, python_execution(n_threads), w.ref());
        }
        DoubleArray out({centres.rows(), centres.cols()});
        view(out) = centres;
        return out;
      },
      py::arg("X").noconvert(), py::arg("k"), py::arg("seed"), py::arg("n_threads"),
      py::arg("sample_weight") = py::none(),
      "(k, D) float64 array: k-means++ seeds, rows of X drawn with probability proportional to "
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
  register_for<double>(m);
  register_for<float>(m);
}

}  // namespace gaussmix::bindings
