// k-means under scikit-learn's rules: greedy k-means++ on given uniform
// variates, and Lloyd's iterations with its stopping rule and its relocation
// of empty clusters, each against the algorithm written out as plain loops.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <gaussmix/gaussmix.hpp>

#include "check.hpp"
#include "reference.hpp"

namespace kmeans_sklearn_tests {

using gaussmix::Index;
using reference::RowMatrix;
using Labels = Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>;

double squared_distance(const RowMatrix& a, Index i, const RowMatrix& b, Index j) {
  double sum = 0.0;
  for (Index c = 0; c < a.cols(); ++c) sum += (a(i, c) - b(j, c)) * (a(i, c) - b(j, c));
  return sum;
}

/** The first row whose running sum of score exceeds target. */
Index first_exceeding(const Eigen::VectorXd& score, double target) {
  double running = 0.0;
  for (Index i = 0; i < score.size(); ++i) {
    running += score[i];
    if (score[i] > 0.0 && running > target) return i;
  }
  Index last = 0;
  for (Index i = 0; i < score.size(); ++i)
    if (score[i] > 0.0) last = i;
  return last;
}

/** Greedy k-means++ written out: first row by weight, then per centre
 *  `trials` candidates by weight x squared distance, keep the one with the
 *  smallest total (first of equals). */
std::vector<Index> greedy_plus_plus(const RowMatrix& x, const Eigen::VectorXd& w, Index k,
                                    const Eigen::VectorXd& u, Index trials) {
  const Index n = x.rows();
  std::vector<Index> chosen{first_exceeding(w, u[0] * w.sum())};
  Eigen::VectorXd closest(n);
  for (Index i = 0; i < n; ++i) closest[i] = w[i] * squared_distance(x, i, x, chosen[0]);
  for (Index c = 1; c < k; ++c) {
    const double potential = closest.sum();
    double best_potential = std::numeric_limits<double>::infinity();
    Index best = -1;
    for (Index t = 0; t < trials; ++t) {
      const Index candidate = first_exceeding(closest, u[1 + (c - 1) * trials + t] * potential);
      double candidate_potential = 0.0;
      for (Index i = 0; i < n; ++i)
        candidate_potential += std::min(closest[i], w[i] * squared_distance(x, i, x, candidate));
      if (candidate_potential < best_potential) {
        best_potential = candidate_potential;
        best = candidate;
      }
    }
    chosen.push_back(best);
    for (Index i = 0; i < n; ++i) closest[i] = std::min(closest[i], w[i] * squared_distance(x, i, x, best));
  }
  return chosen;
}

struct LloydRun {
  RowMatrix centres;
  Labels labels;
  int n_iter = 0;
};

/** scikit-learn's Lloyd written out: label every row; weighted means of the
 *  rows of positive weight; an empty centre takes the farthest row of
 *  positive weight from its centre (next farthest for the next; ties to the
 *  lower index) unless every such row lies on its centre; one still empty
 *  goes to the heaviest cluster's mean; stop when the labels repeat or the
 *  squared shifts sum to at most tol; label the final centres. */
LloydRun sklearn_lloyd(const RowMatrix& x, const Eigen::VectorXd& w, RowMatrix centres, int max_iter, double tol) {
  const Index n = x.rows(), k = centres.rows(), d = x.cols();
  auto nearest = [&](const RowMatrix& c) {
    Labels labels(n);
    for (Index i = 0; i < n; ++i) {
      Index best = 0;
      for (Index j = 1; j < k; ++j)
        if (squared_distance(x, i, c, j) < squared_distance(x, i, c, best)) best = j;
      labels[i] = best;
    }
    return labels;
  };
  LloydRun run{centres, Labels::Constant(n, -1), 0};
  bool settled = false;
  for (run.n_iter = 1; run.n_iter <= max_iter; ++run.n_iter) {
    const Labels labels = nearest(run.centres);
    settled = labels == run.labels;
    RowMatrix sums = RowMatrix::Zero(k, d);
    Eigen::VectorXd weight = Eigen::VectorXd::Zero(k);
    for (Index i = 0; i < n; ++i) {
      if (w[i] == 0.0) continue;
      sums.row(labels[i]) += w[i] * x.row(i);
      weight[labels[i]] += w[i];
    }
    std::vector<Index> empty, order;
    for (Index c = 0; c < k; ++c)
      if (weight[c] == 0.0) empty.push_back(c);
    for (Index i = 0; i < n; ++i)
      if (w[i] > 0.0) order.push_back(i);
    auto distance = [&](Index i) { return squared_distance(x, i, run.centres, labels[i]); };
    std::stable_sort(order.begin(), order.end(), [&](Index a, Index b) { return distance(a) > distance(b); });
    if (!empty.empty() && distance(order.front()) > 0.0)
      for (std::size_t e = 0; e < std::min(empty.size(), order.size()); ++e) {
        const Index i = order[e];
        sums.row(labels[i]) -= w[i] * x.row(i);
        weight[labels[i]] -= w[i];
        sums.row(empty[e]) = w[i] * x.row(i);
        weight[empty[e]] = w[i];
      }
    Index heaviest = 0;
    weight.maxCoeff(&heaviest);
    RowMatrix updated(k, d);
    for (Index c = 0; c < k; ++c)
      if (weight[c] > 0.0) updated.row(c) = sums.row(c) / weight[c];
    for (Index c = 0; c < k; ++c)
      if (!(weight[c] > 0.0)) updated.row(c) = updated.row(heaviest);
    const double shift = (updated - run.centres).squaredNorm();
    run.labels = labels;
    run.centres = updated;
    if (shift == 0.0) {
      settled = true;
      break;
    }
    if (settled || shift <= tol) break;
  }
  run.n_iter = std::min(run.n_iter, max_iter);
  if (!settled) run.labels = nearest(run.centres);
  return run;
}

gaussmix::LloydOptions sklearn_options(double tol, int max_iter = 300) {
  gaussmix::LloydOptions options;
  options.max_iter = max_iter;
  options.shift_tol = tol;
  options.relocate_empty = true;
  options.label_returned_centres = true;
  return options;
}

Eigen::VectorXd uniforms(Index size, unsigned seed) {
  std::mt19937_64 engine(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Eigen::VectorXd values(size);
  for (Index i = 0; i < size; ++i) values[i] = u(engine);
  return values;
}

/** 1500 rows around five centres; weights in (0, 3) with every 9th row 0. */
RowMatrix five_clusters(Eigen::VectorXd& w) {
  const RowMatrix truth = reference::rows({{0.0, 0.0, 0.0}, {5.0, 0.0, 1.0}, {0.0, 5.0, -1.0}, {9.0, 9.0, 0.0},
                                           {-6.0, 4.0, 2.0}});
  const RowMatrix x = reference::clustered_data(1500, truth, 1.2, 3);
  w.resize(x.rows());
  for (Index i = 0; i < x.rows(); ++i) w[i] = i % 9 == 0 ? 0.0 : 0.05 + std::fmod(0.73 * static_cast<double>(i), 2.9);
  return x;
}

TEST_CASE("greedy kmeans_plus_plus picks the rows of the loop written out, with and without weights") {
  Eigen::VectorXd w;
  const RowMatrix x = five_clusters(w);
  const Eigen::VectorXd ones = Eigen::VectorXd::Ones(x.rows());
  int compared = 0;
  for (const Index trials : {1, 2, 4})
    for (unsigned seed = 0; seed < 6; ++seed) {
      const Index k = 7;
      const Eigen::VectorXd u = uniforms(1 + (k - 1) * trials, seed);
      for (const bool weighted : {false, true}) {
        const Eigen::VectorXd& weights = weighted ? w : ones;
        const auto seeds = weighted ? gaussmix::kmeans_plus_plus<double>(x, k, u, static_cast<int>(trials), 2, w)
                                    : gaussmix::kmeans_plus_plus<double>(x, k, u, static_cast<int>(trials), 2);
        const std::vector<Index> expected = greedy_plus_plus(x, weights, k, u, trials);
        for (Index c = 0; c < k; ++c) {
          CHECK(seeds.indices[c] == expected[static_cast<std::size_t>(c)]);
          CHECK(seeds.centres.row(c) == x.row(expected[static_cast<std::size_t>(c)]));
        }
        ++compared;
      }
    }
  CHECK(compared == 36);
}

TEST_CASE("greedy kmeans_plus_plus: more trials give a smaller potential on average") {
  Eigen::VectorXd w;
  const RowMatrix x = five_clusters(w);
  auto inertia = [&](const RowMatrix& centres) {
    double sum = 0.0;
    for (Index i = 0; i < x.rows(); ++i) {
      double nearest = std::numeric_limits<double>::infinity();
      for (Index c = 0; c < centres.rows(); ++c) nearest = std::min(nearest, squared_distance(x, i, centres, c));
      sum += nearest;
    }
    return sum;
  };
  double one = 0.0, four = 0.0;
  for (unsigned seed = 0; seed < 40; ++seed) {
    one += inertia(gaussmix::kmeans_plus_plus<double>(x, 5, uniforms(5, seed), 1).centres);
    four += inertia(gaussmix::kmeans_plus_plus<double>(x, 5, uniforms(17, seed), 4).centres);
  }
  CHECK(four < 0.8 * one);
}

TEST_CASE("kmeans_plus_plus rejects uniforms of the wrong size or outside [0, 1), and no trials") {
  Eigen::VectorXd w;
  const RowMatrix x = five_clusters(w);
  auto rejects = [&](const Eigen::VectorXd& u, int trials) {
    try {
      gaussmix::kmeans_plus_plus<double>(x, 3, u, trials);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what()).find("kmeans_plus_plus") != std::string::npos;
    }
    return false;
  };
  CHECK(rejects(uniforms(6, 1), 2));
  CHECK(rejects(uniforms(4, 1), 2));
  CHECK(rejects(Eigen::VectorXd::Constant(5, 1.0), 2));
  CHECK(rejects(Eigen::VectorXd::Constant(5, -0.5), 2));
  CHECK(rejects(Eigen::VectorXd::Constant(5, std::nan("")), 2));
  CHECK(rejects(uniforms(1, 1), 0));
  CHECK(gaussmix::kmeans_plus_plus<double>(x, 3, uniforms(5, 1), 2).indices.size() == 3);
}

TEST_CASE("kmeans_lloyd with scikit-learn's rule: the loop written out, with and without weights") {
  Eigen::VectorXd w;
  const RowMatrix x = five_clusters(w);
  const Eigen::VectorXd ones = Eigen::VectorXd::Ones(x.rows());
  const RowMatrix start = reference::rows({{1.0, 1.0, 0.0}, {4.0, 1.0, 0.0}, {1.0, 4.0, 0.0}, {8.0, 8.0, 0.0},
                                           {-5.0, 5.0, 0.0}});
  for (const double tol : {0.0, 1e-3, 10.0, 1e3})
    for (const bool weighted : {false, true}) {
      const auto result = weighted ? gaussmix::kmeans_lloyd<double>(x, start, sklearn_options(tol), 2, w)
                                   : gaussmix::kmeans_lloyd<double>(x, start, sklearn_options(tol), 2);
      const LloydRun expected = sklearn_lloyd(x, weighted ? w : ones, start, 300, tol);
      CHECK(result.n_iter == expected.n_iter);
      CHECK(result.labels == expected.labels);
      CHECK(result.centres.isApprox(expected.centres, 1e-12));
    }
  // A large tolerance stops after the first update; none stops when the labels repeat.
  CHECK(gaussmix::kmeans_lloyd<double>(x, start, sklearn_options(1e3), 2).n_iter == 1);
  CHECK(gaussmix::kmeans_lloyd<double>(x, start, sklearn_options(0.0), 2).n_iter > 2);
}

TEST_CASE("kmeans_lloyd relocates empty centres to the farthest rows, as the loop written out") {
  Eigen::VectorXd w;
  const RowMatrix x = five_clusters(w);
  const Eigen::VectorXd ones = Eigen::VectorXd::Ones(x.rows());
  // Two centres far from every row and one duplicate: three empty clusters at the first update.
  const RowMatrix start = reference::rows({{1.0, 1.0, 0.0}, {1.0, 1.0, 0.0}, {90.0, -90.0, 0.0},
                                           {-90.0, 90.0, 0.0}, {8.0, 8.0, 0.0}});
  for (const bool weighted : {false, true}) {
    const auto one_update = gaussmix::kmeans_lloyd<double>(x, start, sklearn_options(-1.0, 1), 2,
                                                           weighted ? w : ones);
    const LloydRun expected_one = sklearn_lloyd(x, weighted ? w : ones, start, 1, -1.0);
    CHECK(one_update.centres.isApprox(expected_one.centres, 1e-12));
    // The far centres took rows of positive weight: they lie on data rows now.
    for (const Index c : {1, 2, 3}) {
      bool on_a_row = false;
      for (Index i = 0; i < x.rows(); ++i)
        on_a_row = on_a_row || ((weighted ? w[i] : 1.0) > 0.0 && x.row(i) == one_update.centres.row(c));
      CHECK(on_a_row);
    }
    const auto result = gaussmix::kmeans_lloyd<double>(x, start, sklearn_options(1e-6), 2, weighted ? w : ones);
    const LloydRun expected = sklearn_lloyd(x, weighted ? w : ones, start, 300, 1e-6);
    CHECK(result.n_iter == expected.n_iter);
    CHECK(result.labels == expected.labels);
    CHECK(result.centres.isApprox(expected.centres, 1e-12));
  }
  // Without relocation the far centres stay where they were.
  gaussmix::LloydOptions keep = sklearn_options(-1.0, 1);
  keep.relocate_empty = false;
  const auto kept = gaussmix::kmeans_lloyd<double>(x, start, keep, 2);
  CHECK(kept.centres.row(2) == start.row(2));
  CHECK(kept.centres.row(3) == start.row(3));
}

TEST_CASE("kmeans_lloyd: no relocation when every row lies on its centre; the empty centre joins the heaviest") {
  const RowMatrix x = reference::rows({{0.0, 0.0}, {0.0, 0.0}, {0.0, 0.0}, {1.0, 1.0}});
  const RowMatrix start = reference::rows({{0.0, 0.0}, {1.0, 1.0}, {5.0, 5.0}});
  const auto result = gaussmix::kmeans_lloyd<double>(x, start, sklearn_options(1e-4), 1);
  CHECK(result.centres.row(0) == start.row(0));
  CHECK(result.centres.row(1) == start.row(1));
  CHECK(result.centres.row(2) == start.row(0));  // the heaviest cluster: 3 rows at the origin
  const LloydRun expected = sklearn_lloyd(x, Eigen::VectorXd::Ones(4), start, 300, 1e-4);
  CHECK(result.centres == expected.centres);
  CHECK(result.labels == expected.labels);
}

TEST_CASE("kmeans_lloyd labels the returned centres when asked, else those before the last update") {
  Eigen::VectorXd w;
  const RowMatrix x = five_clusters(w);
  const RowMatrix start = reference::rows({{1.0, 1.0, 0.0}, {4.0, 1.0, 0.0}, {1.0, 4.0, 0.0}, {8.0, 8.0, 0.0},
                                           {-5.0, 5.0, 0.0}});
  gaussmix::LloydOptions options = sklearn_options(-1.0, 1);
  const auto relabelled = gaussmix::kmeans_lloyd<double>(x, start, options, 2);
  Labels nearest(x.rows());
  gaussmix::nearest_centres<double>(x, relabelled.centres, nearest);
  CHECK(relabelled.labels == nearest);
  options.label_returned_centres = false;
  const auto before = gaussmix::kmeans_lloyd<double>(x, start, options, 2);
  gaussmix::nearest_centres<double>(x, start, nearest);
  CHECK(before.labels == nearest);
  CHECK(before.labels != relabelled.labels);
}

}  // namespace kmeans_sklearn_tests
