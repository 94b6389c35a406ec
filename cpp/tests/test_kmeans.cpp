// Lloyd's k-means: nearest centres, convergence to the cluster means, and
// results that do not depend on the thread count; sample weights in Lloyd's
// iterations and in k-means++ against plain loops and repeated rows.
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <gaussmix/gaussmix.hpp>

#include "check.hpp"
#include "reference.hpp"

namespace kmeans_tests {

using gaussmix::Index;
using reference::RowMatrix;
using Labels = Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>;

/** Weighted Lloyd written out: label by the smallest sum of squared
 *  differences (ties to the lowest index), move each centre to
 *  sum w_i x_i / sum w_i over its rows of positive weight, keep a centre
 *  without weight; until no centre moves or max_iter updates. */
RowMatrix weighted_lloyd(const RowMatrix& x, const Eigen::VectorXd& w, RowMatrix centres, int max_iter,
                         int& n_iter) {
  const Index n = x.rows(), k = centres.rows(), d = x.cols();
  for (n_iter = 1; n_iter <= max_iter; ++n_iter) {
    RowMatrix sums = RowMatrix::Zero(k, d);
    Eigen::VectorXd totals = Eigen::VectorXd::Zero(k);
    for (Index i = 0; i < n; ++i) {
      if (w[i] == 0.0) continue;
      Index best = 0;
      double best_distance = std::numeric_limits<double>::infinity();
      for (Index c = 0; c < k; ++c) {
        double distance = 0.0;
        for (Index j = 0; j < d; ++j) distance += (x(i, j) - centres(c, j)) * (x(i, j) - centres(c, j));
        if (distance < best_distance) {
          best_distance = distance;
          best = c;
        }
      }
      for (Index j = 0; j < d; ++j) sums(best, j) += w[i] * x(i, j);
      totals[best] += w[i];
    }
    RowMatrix updated = centres;
    for (Index c = 0; c < k; ++c)
      if (totals[c] > 0.0) updated.row(c) = sums.row(c) / totals[c];
    const bool moved = updated != centres;
    centres = updated;
    if (!moved) break;
  }
  n_iter = std::min(n_iter, max_iter);
  return centres;
}

/** 600 rows around four centres (row i near centre i % 4) and weights in
 *  [0.1, 3.1), 0 on every row of the fourth (distant) cluster and on every
 *  7th row. */
RowMatrix weighted_data(Eigen::VectorXd& w) {
  const RowMatrix truth = reference::rows({{0.0, 0.0}, {6.0, 0.0}, {0.0, 6.0}, {30.0, 30.0}});
  const RowMatrix x = reference::clustered_data(600, truth, 1.5, 21);
  w.resize(x.rows());
  for (Index i = 0; i < x.rows(); ++i)
    w[i] = (i % 4 == 3 || i % 7 == 0) ? 0.0 : 0.1 + std::fmod(0.37 * static_cast<double>(i * i), 3.0);
  return x;
}

/** Starting centres near the four clusters, and a fifth far from every row. */
RowMatrix weighted_start() { return reference::rows({{1.0, 1.0}, {5.0, 1.0}, {1.0, 5.0}, {29.0, 29.0}, {90.0, -90.0}}); }

/** Whether row is, bit for bit, one of the rows of x whose weight is positive. */
bool is_positive_weight_row(const Eigen::RowVectorXd& row, const RowMatrix& x, const Eigen::VectorXd& w) {
  for (Index i = 0; i < x.rows(); ++i)
    if (w[i] > 0.0 && x.row(i) == row) return true;
  return false;
}

/** Whether f() throws std::invalid_argument whose message names func and sample_weight. */
template <typename F>
bool rejects_weights(F&& f, const std::string& func) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    return what.find(func) != std::string::npos && what.find("sample_weight") != std::string::npos;
  }
  return false;
}

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

TEST_CASE("weighted kmeans_lloyd: centres are the weighted means of a plain loop") {
  Eigen::VectorXd w;
  const RowMatrix x = weighted_data(w);
  int expected_iter = 0;
  const RowMatrix expected = weighted_lloyd(x, w, weighted_start(), 100, expected_iter);
  const auto result = gaussmix::kmeans_lloyd<double>(x, weighted_start(), 100, -1.0, {}, w);
  CHECK_ALL_NEAR(result.centres, expected, 1e-12);
  CHECK(result.n_iter == expected_iter);
  // The fourth cluster's rows weigh nothing and the fifth centre has no rows:
  // both stay where they started.
  CHECK(result.centres.row(3) == weighted_start().row(3));
  CHECK(result.centres.row(4) == weighted_start().row(4));

  int one_iter = 0;
  const auto one = gaussmix::kmeans_lloyd<double>(x, weighted_start(), 1, -1.0, {}, w);
  CHECK_ALL_NEAR(one.centres, weighted_lloyd(x, w, weighted_start(), 1, one_iter), 1e-12);

  // float data: float labels, double sums.
  const gaussmix::RowMatrix<float> xf = x.cast<float>();
  RowMatrix expected_f = weighted_lloyd(xf.cast<double>(), w, weighted_start(), 100, expected_iter);
  CHECK_ALL_NEAR(gaussmix::kmeans_lloyd<float>(xf, weighted_start(), 100, -1.0, {}, w).centres, expected_f, 1e-6);
}

TEST_CASE("weighted kmeans_lloyd: integer weights give the fit of repeated rows") {
  Eigen::VectorXd w;
  const RowMatrix x = weighted_data(w);
  Eigen::VectorXd counts(x.rows());
  std::vector<Index> repeated;
  for (Index i = 0; i < x.rows(); ++i) {
    counts[i] = static_cast<double>(i % 4);  // 0 to 3 copies
    for (Index copy = 0; copy < i % 4; ++copy) repeated.push_back(i);
  }
  RowMatrix x_repeated(static_cast<Index>(repeated.size()), x.cols());
  for (std::size_t r = 0; r < repeated.size(); ++r) x_repeated.row(static_cast<Index>(r)) = x.row(repeated[r]);
  const RowMatrix start = reference::rows({{1.0, 1.0}, {5.0, 1.0}, {1.0, 5.0}, {5.0, 5.0}});
  const auto weighted = gaussmix::kmeans_lloyd<double>(x, start, 100, -1.0, {}, counts);
  const auto repeated_fit = gaussmix::kmeans_lloyd<double>(x_repeated, start, 100);
  CHECK_ALL_NEAR(weighted.centres, repeated_fit.centres, 1e-12);
  CHECK(weighted.n_iter == repeated_fit.n_iter);
}

TEST_CASE("weighted kmeans_lloyd and kmeans_plus_plus: rows of weight 0 change nothing, bit for bit") {
  Eigen::VectorXd w;
  const RowMatrix x = weighted_data(w);
  // Any content, and at 1e-20 finite content whose scale would make the data
  // subnormal if the sums' frame were scaled to it.
  for (const double magnitude : {1.0, 1e-20}) {
    const RowMatrix xm = x * magnitude;
    RowMatrix garbage = xm;
    const double values[] = {1e300, -1e300, std::numeric_limits<double>::infinity(), std::nan("")};
    const int n_values = magnitude == 1.0 ? 4 : 2;
    for (Index i = 0, g = 0; i < x.rows(); ++i)
      if (w[i] == 0.0) garbage(i, i % 2) = values[g++ % n_values];
    const RowMatrix start = weighted_start() * magnitude;
    const auto clean = gaussmix::kmeans_lloyd<double>(xm, start, 100, -1.0, 2, w);
    const auto dirty = gaussmix::kmeans_lloyd<double>(garbage, start, 100, -1.0, 2, w);
    CHECK(dirty.centres == clean.centres);
    CHECK(dirty.n_iter == clean.n_iter);
    CHECK(dirty.centres.allFinite());
    for (std::uint64_t seed = 0; seed < 20; ++seed)
      CHECK(gaussmix::kmeans_plus_plus<double>(garbage, 6, seed, 2, w) ==
            gaussmix::kmeans_plus_plus<double>(xm, 6, seed, 2, w));
  }

  // Without those rows at all: the same centres (to rounding: other chunks).
  std::vector<Index> kept;
  for (Index i = 0; i < x.rows(); ++i)
    if (w[i] > 0.0) kept.push_back(i);
  RowMatrix x_kept(static_cast<Index>(kept.size()), x.cols());
  Eigen::VectorXd w_kept(x_kept.rows());
  for (std::size_t r = 0; r < kept.size(); ++r) {
    x_kept.row(static_cast<Index>(r)) = x.row(kept[r]);
    w_kept[static_cast<Index>(r)] = w[kept[r]];
  }
  CHECK_ALL_NEAR(gaussmix::kmeans_lloyd<double>(x_kept, weighted_start(), 100, -1.0, {}, w_kept).centres,
                 gaussmix::kmeans_lloyd<double>(x, weighted_start(), 100, -1.0, {}, w).centres, 1e-12);
}

TEST_CASE("weighted k-means: scaling every weight changes nothing") {
  Eigen::VectorXd w;
  const RowMatrix x = weighted_data(w);
  const auto base = gaussmix::kmeans_lloyd<double>(x, weighted_start(), 100, -1.0, {}, w);
  // Powers of two are exact, from weights near 1e-300 to weights near 1e300.
  for (const int exponent : {-1000, -900, 1, 900, 1000}) {
    CHECK(gaussmix::kmeans_lloyd<double>(x, weighted_start(), 100, -1.0, {}, w * std::ldexp(1.0, exponent)).centres ==
          base.centres);
    CHECK(gaussmix::kmeans_plus_plus<double>(x, 4, 5, {}, w * std::ldexp(1.0, exponent)) ==
          gaussmix::kmeans_plus_plus<double>(x, 4, 5, {}, w));
  }
  // Subnormal weights too, when they keep every bit (small integers).
  Eigen::VectorXd counts(x.rows());
  for (Index i = 0; i < x.rows(); ++i) counts[i] = static_cast<double>(i % 4);
  CHECK(gaussmix::kmeans_lloyd<double>(x, weighted_start(), 100, -1.0, {}, counts * std::ldexp(1.0, -1070)).centres ==
        gaussmix::kmeans_lloyd<double>(x, weighted_start(), 100, -1.0, {}, counts).centres);
  for (const double factor : {3.7, 1e-300, 1e300}) {
    const auto scaled = gaussmix::kmeans_lloyd<double>(x, weighted_start(), 100, -1.0, {}, w * factor);
    CHECK_ALL_NEAR(scaled.centres, base.centres, 1e-12);
    CHECK(scaled.labels == base.labels);
  }
}

TEST_CASE("k-means without weights and with equal weights give the same bits") {
  Eigen::VectorXd w;
  const RowMatrix x = weighted_data(w);
  const auto plain = gaussmix::kmeans_lloyd<double>(x, weighted_start(), 100);
  const RowMatrix seeds = gaussmix::kmeans_plus_plus<double>(x, 5, 3);
  for (const double value : {1.0, 2.5, 1e-200}) {
    const Eigen::VectorXd equal = Eigen::VectorXd::Constant(x.rows(), value);
    const auto weighted = gaussmix::kmeans_lloyd<double>(x, weighted_start(), 100, -1.0, {}, equal);
    CHECK(weighted.centres == plain.centres);
    CHECK(weighted.labels == plain.labels);
    CHECK(gaussmix::kmeans_plus_plus<double>(x, 5, 3, {}, equal) == seeds);
  }
}

TEST_CASE("k-means rejects bad sample weights, naming the function and sample_weight") {
  Eigen::VectorXd w;
  const RowMatrix x = weighted_data(w);
  const Index n = x.rows();
  std::vector<Eigen::VectorXd> bad(5, w);
  bad[0][3] = -1.0;
  bad[1][5] = std::nan("");
  bad[2][7] = std::numeric_limits<double>::infinity();
  bad[3] = Eigen::VectorXd::Zero(n);
  bad[4] = Eigen::VectorXd::Ones(n - 1);
  bad.push_back(Eigen::VectorXd::Constant(n, 1e308));  // finite weights, infinite sum
  for (const Eigen::VectorXd& b : bad) {
    CHECK(rejects_weights([&] { gaussmix::kmeans_lloyd<double>(x, weighted_start(), 10, -1.0, {}, b); },
                          "kmeans_lloyd"));
    CHECK(rejects_weights([&] { gaussmix::kmeans_plus_plus<double>(x, 3, 1, {}, b); }, "kmeans_plus_plus"));
  }
}

TEST_CASE("weighted k-means: 1, 2 and 3 threads give the same bits") {
  // Large enough that 3 threads are used (work per thread above 2e6): n k d
  // in Lloyd's iterations, n d trials in k-means++; small enough for the
  // sanitizer build.
  const RowMatrix truth = RowMatrix::Random(8, 16) * 10.0;
  const RowMatrix x = reference::clustered_data(100000, truth, 2.0, 5);
  Eigen::VectorXd w(x.rows());
  for (Index i = 0; i < x.rows(); ++i) w[i] = i % 5 == 0 ? 0.0 : 0.5 + std::fmod(0.61 * static_cast<double>(i), 2.0);
  Eigen::VectorXd uniforms(1 + 7 * 4);
  for (Index i = 0; i < uniforms.size(); ++i) uniforms[i] = std::fmod(0.137 * static_cast<double>(i * i + 1), 1.0);
  const auto seeds = gaussmix::kmeans_plus_plus<double>(x, 8, uniforms, 4, 1, w);
  const auto one = gaussmix::kmeans_lloyd<double>(x, seeds.centres, 4, -1.0, 1, w);
  for (const int threads : {2, 3}) {
    CHECK(gaussmix::kmeans_plus_plus<double>(x, 8, uniforms, 4, threads, w).indices == seeds.indices);
    const auto many = gaussmix::kmeans_lloyd<double>(x, seeds.centres, 4, -1.0, threads, w);
    CHECK(many.centres == one.centres);
    CHECK(many.labels == one.labels);
  }
}

TEST_CASE("weighted kmeans_plus_plus: never a row of weight 0; only the rows that carry the weight") {
  Eigen::VectorXd w;
  const RowMatrix x = weighted_data(w);  // every row distinct
  bool all_positive = true;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    const RowMatrix seeds = gaussmix::kmeans_plus_plus<double>(x, 5, seed, {}, w);
    for (Index c = 0; c < seeds.rows(); ++c) all_positive = all_positive && is_positive_weight_row(seeds.row(c), x, w);
  }
  CHECK(all_positive);

  // Weight on five rows only: k = 5 picks exactly those five; k = 8 repeats them.
  Eigen::VectorXd few = Eigen::VectorXd::Zero(x.rows());
  for (const Index i : {3, 100, 101, 377, 599}) few[i] = 0.25 + static_cast<double>(i);
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    const RowMatrix five = gaussmix::kmeans_plus_plus<double>(x, 5, seed, {}, few);
    bool distinct = true, only_those = true;
    for (Index c = 0; c < 5; ++c) {
      only_those = only_those && is_positive_weight_row(five.row(c), x, few);
      for (Index other = 0; other < c; ++other) distinct = distinct && five.row(c) != five.row(other);
    }
    CHECK(only_those);
    CHECK(distinct);
    const RowMatrix eight = gaussmix::kmeans_plus_plus<double>(x, 8, seed, {}, few);
    for (Index c = 0; c < 8; ++c) only_those = only_those && is_positive_weight_row(eight.row(c), x, few);
    CHECK(only_those);
  }
}

TEST_CASE("weighted kmeans_plus_plus: draws follow weight, then weight times squared distance") {
  // First draw: rows of weights 1, 2, 7 (k = 1), drawn 20000 times.
  const RowMatrix three = reference::rows({{0.0}, {1.0}, {-1.0}});
  const Eigen::VectorXd first_weights = (Eigen::VectorXd(3) << 1.0, 2.0, 7.0).finished();
  Eigen::VectorXd drawn = Eigen::VectorXd::Zero(3);
  const int draws = 20000;
  for (int seed = 0; seed < draws; ++seed) {
    const double value = gaussmix::kmeans_plus_plus<double>(three, 1, static_cast<std::uint64_t>(seed), {},
                                                            first_weights)(0, 0);
    drawn[value == 0.0 ? 0 : value == 1.0 ? 1 : 2] += 1.0;
  }
  for (Index i = 0; i < 3; ++i) {
    const double p = first_weights[i] / 10.0;  // within 5 standard deviations
    CHECK_NEAR(drawn[i] / draws, p, 5.0 * std::sqrt(p * (1.0 - p) / draws));
  }
  // Second draw after row 0 (which carries nearly all the weight): rows 1
  // and 2 are at squared distance 1, so weights 1 and 9 give 0.1 and 0.9
  // (0.5 and 0.5 if the weights were left out of the second draw).
  const Eigen::VectorXd second_weights = (Eigen::VectorXd(3) << 1e9, 1.0, 9.0).finished();
  double after_row_0 = 0.0, then_row_2 = 0.0;
  for (int seed = 0; seed < draws; ++seed) {
    const RowMatrix seeds =
        gaussmix::kmeans_plus_plus<double>(three, 2, static_cast<std::uint64_t>(seed), {}, second_weights);
    if (seeds(0, 0) != 0.0) continue;
    after_row_0 += 1.0;
    then_row_2 += seeds(1, 0) == -1.0 ? 1.0 : 0.0;
  }
  CHECK(after_row_0 > 0.99 * draws);
  CHECK_NEAR(then_row_2 / after_row_0, 0.9, 5.0 * std::sqrt(0.09 / after_row_0));
}

TEST_CASE("weighted k-means stops when asked") {
  Eigen::VectorXd w;
  const RowMatrix x = weighted_data(w);
  const gaussmix::Execution stop(2, [] { return true; });
  CHECK_THROWS(gaussmix::kmeans_lloyd<double>(x, weighted_start(), 100, -1.0, stop, w), gaussmix::Cancelled);
  CHECK_THROWS(gaussmix::kmeans_plus_plus<double>(x, 3, 1, stop, w), gaussmix::Cancelled);
}

}  // namespace kmeans_tests
