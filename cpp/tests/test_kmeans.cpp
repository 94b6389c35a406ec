// Lloyd's k-means: nearest centres, convergence to the cluster means, and
// results that do not depend on the thread count.
#include <cstdint>
#include <stdexcept>

#include <gaussmix/gaussmix.hpp>

#include "check.hpp"
#include "reference.hpp"

namespace {

using gaussmix::Index;
using reference::RowMatrix;
using Labels = Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>;

}  // namespace

TEST_CASE("nearest_centres: Euclidean, ties to the lowest index") {
  const RowMatrix centres = reference::rows({{0.0, 0.0}, {2.0, 0.0}, {0.0, 3.0}});
  const RowMatrix x = reference::rows({{0.1, 0.1}, {1.9, -0.5}, {0.0, 2.0}, {1.0, 0.0}});
  Labels labels(4);
  gaussmix::nearest_centres<double>(x, centres, labels);
  CHECK(labels[0] == 0);
  CHECK(labels[1] == 1);
  CHECK(labels[2] == 2);
  CHECK(labels[3] == 0);  // equidistant from centres 0 and 1
}

TEST_CASE("kmeans_lloyd converges to the cluster means") {
  const RowMatrix truth = reference::rows({{0.0, 0.0}, {10.0, 0.0}, {0.0, 10.0}});
  const RowMatrix x = reference::clustered_data(3000, truth, 1.0, 8);  // row i belongs to cluster i % 3
  const auto result = gaussmix::kmeans_lloyd<double>(x, x.topRows(3), 100);
  CHECK(result.n_iter < 100);
  RowMatrix means = RowMatrix::Zero(3, 2);
  for (Index i = 0; i < x.rows(); ++i) means.row(i % 3) += x.row(i) / 1000.0;
  CHECK_ALL_NEAR(result.centres, means, 1e-10);
  bool labels_right = true;
  for (Index i = 0; i < x.rows(); ++i) labels_right = labels_right && result.labels[i] == i % 3;
  CHECK(labels_right);

  const auto two_threads = gaussmix::kmeans_lloyd<double>(x, x.topRows(3), 100, -1.0, 2);
  const auto one_thread = gaussmix::kmeans_lloyd<double>(x, x.topRows(3), 100, -1.0, 1);
  CHECK(two_threads.centres == one_thread.centres);
  CHECK(two_threads.labels == one_thread.labels);

  CHECK_THROWS(gaussmix::kmeans_lloyd<double>(x, x.topRows(3), 0), std::invalid_argument);
}

int main(int argc, char** argv) { return gaussmix_test::run_all(argc, argv); }
