// Marginals, conditionals against the block formulas, and GMM regression
// (predict_missing) against condition() applied row by row.
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include <gaussmix/gaussmix.hpp>

#include "check.hpp"
#include "reference.hpp"

namespace condition_tests {

using gaussmix::Index;
using reference::RowMatrix;

/** Two components in R^3 with full, correlated covariances. */
gaussmix::Mixture<double> three_d() {
  Eigen::MatrixXd s1(3, 3), s2(3, 3);
  s1 << 2.0, 0.6, -0.4,  //
      0.6, 1.5, 0.3,     //
      -0.4, 0.3, 1.0;
  s2 << 1.0, -0.2, 0.5,  //
      -0.2, 0.8, 0.1,    //
      0.5, 0.1, 2.5;
  return gaussmix::Mixture<double>(Eigen::Vector2d(0.35, 0.65),
                                   reference::rows({{0.0, 1.0, -1.0}, {2.0, -0.5, 1.5}}), {s1, s2});
}

TEST_CASE("condition matches the block formulas") {
  const auto mix = three_d();
  // Observe x_2 = 0.3 and x_0 = -0.4, given in that order; the unknown is x_1.
  const auto cond = gaussmix::condition(mix, {2, 0}, Eigen::Vector2d(0.3, -0.4));
  CHECK(cond.weights.size() == 2);
  CHECK(cond.means.rows() == 2 && cond.means.cols() == 1);

  // B = {0, 2} in increasing order, A = {1}.
  const Eigen::Vector2d x_b(-0.4, 0.3);
  Eigen::VectorXd log_w(2);
  for (Index k = 0; k < 2; ++k) {
    const Eigen::MatrixXd& s = mix.covariances()[static_cast<std::size_t>(k)];
    const Eigen::RowVectorXd mu = mix.means().row(k);
    Eigen::Matrix2d s_bb;
    s_bb << s(0, 0), s(0, 2), s(2, 0), s(2, 2);
    const Eigen::RowVector2d s_ab(s(1, 0), s(1, 2));
    const Eigen::Vector2d mu_b(mu[0], mu[2]);
    const Eigen::Matrix2d s_bb_inv = s_bb.inverse();
    const double mean = mu[1] + s_ab * s_bb_inv * (x_b - mu_b);
    const double var = s(1, 1) - s_ab * s_bb_inv * s_ab.transpose();
    CHECK_NEAR(cond.means(k, 0), mean, 1e-13);
    CHECK_NEAR(cond.covariances[static_cast<std::size_t>(k)](0, 0), var, 1e-13);
    log_w[k] = std::log(mix.weights()[k]) + reference::log_normal(x_b, mu_b, s_bb);
  }
  const Eigen::VectorXd w = (log_w.array() - log_w.maxCoeff()).exp().matrix();
  CHECK_ALL_NEAR(cond.weights, w / w.sum(), 1e-13);
}

TEST_CASE("condition on two unknowns keeps them in increasing order") {
  const auto mix = three_d();
  const auto cond = gaussmix::condition(mix, {1}, Eigen::VectorXd::Constant(1, 0.7));
  for (Index k = 0; k < 2; ++k) {
    const Eigen::MatrixXd& s = mix.covariances()[static_cast<std::size_t>(k)];
    const Eigen::RowVectorXd mu = mix.means().row(k);
    // A = {0, 2}: mean_A + S_A1 (0.7 - mu_1) / S_11, cov S_AA - S_A1 S_1A / S_11.
    const Eigen::Vector2d s_a1(s(0, 1), s(2, 1));
    Eigen::Matrix2d s_aa;
    s_aa << s(0, 0), s(0, 2), s(2, 0), s(2, 2);
    const Eigen::Vector2d mean = Eigen::Vector2d(mu[0], mu[2]) + s_a1 * (0.7 - mu[1]) / s(1, 1);
    const Eigen::Matrix2d cov = s_aa - s_a1 * s_a1.transpose() / s(1, 1);
    CHECK_ALL_NEAR(cond.means.row(k).transpose(), mean, 1e-13);
    CHECK_ALL_NEAR(cond.covariances[static_cast<std::size_t>(k)], cov, 1e-13);
  }
}

TEST_CASE("condition on nothing is the mixture itself; bad dimensions are invalid_argument") {
  const auto mix = three_d();
  const auto cond = gaussmix::condition(mix, {}, Eigen::VectorXd());
  CHECK_ALL_NEAR(cond.weights, mix.weights(), 1e-15);
  CHECK_ALL_NEAR(cond.means, mix.means(), 0.0);
  CHECK_ALL_NEAR(cond.covariances[1], mix.covariances()[1], 0.0);

  CHECK_THROWS(gaussmix::condition(mix, {0, 1, 2}, Eigen::Vector3d(0, 0, 0)), std::invalid_argument);  // all observed
  CHECK_THROWS(gaussmix::condition(mix, {0, 0}, Eigen::Vector2d(0, 0)), std::invalid_argument);        // repeated
  CHECK_THROWS(gaussmix::condition(mix, {3}, Eigen::VectorXd::Zero(1)), std::invalid_argument);        // out of range
  CHECK_THROWS(gaussmix::condition(mix, {0}, Eigen::Vector2d(0, 0)), std::invalid_argument);           // 2 values
}

TEST_CASE("marginal keeps the requested dimensions, in the requested order") {
  const auto mix = three_d();
  const auto marg = gaussmix::marginal(mix, {2, 0});
  CHECK_ALL_NEAR(marg.weights, mix.weights(), 0.0);
  for (Index k = 0; k < 2; ++k) {
    const Eigen::MatrixXd& s = mix.covariances()[static_cast<std::size_t>(k)];
    Eigen::Matrix2d expected;
    expected << s(2, 2), s(2, 0), s(0, 2), s(0, 0);
    CHECK_ALL_NEAR(marg.covariances[static_cast<std::size_t>(k)], expected, 0.0);
    CHECK_NEAR(marg.means(k, 0), mix.means()(k, 2), 0.0);
    CHECK_NEAR(marg.means(k, 1), mix.means()(k, 0), 0.0);
  }
  CHECK_THROWS(gaussmix::marginal(mix, {}), std::invalid_argument);
  CHECK_THROWS(gaussmix::marginal(mix, {1, 1}), std::invalid_argument);
}

TEST_CASE("predict_missing agrees with condition() row by row") {
  const auto mix = three_d();
  // Rows with every missing pattern, complete rows and all-missing rows among them;
  // more than one block of 64 rows for the common patterns.
  const Index n = 400, d = 3;
  RowMatrix x = reference::clustered_data(n, mix.means(), 1.0, 17);
  std::mt19937_64 engine(4);
  std::uniform_int_distribution<int> pattern(0, 7);
  for (Index i = 0; i < n; ++i) {
    const int bits = i < 8 ? static_cast<int>(i) : pattern(engine);
    for (Index j = 0; j < d; ++j)
      if (bits & (1 << j)) x(i, j) = std::numeric_limits<double>::quiet_NaN();
  }
  const RowMatrix original = x;
  Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1> offsets;
  std::vector<double> covariances;
  gaussmix::predict_missing<double>(x, mix, offsets, covariances, 2);
  CHECK(offsets.size() == n + 1);
  CHECK(static_cast<std::int64_t>(covariances.size()) == offsets[n]);

  int mismatches = 0;
  for (Index i = 0; i < n && mismatches < 3; ++i) {
    std::vector<Index> observed, unknown;
    std::vector<double> values;
    for (Index j = 0; j < d; ++j) {
      if (std::isnan(original(i, j))) {
        unknown.push_back(j);
      } else {
        observed.push_back(j);
        values.push_back(original(i, j));
        if (x(i, j) != original(i, j)) ++mismatches;  // observed entries are left alone
      }
    }
    const Index na = static_cast<Index>(unknown.size());
    if (offsets[i + 1] - offsets[i] != na * na) ++mismatches;
    if (na == 0) continue;
    // The mixture mean m = sum_k w_k mu_k and the law of total variance
    // sum_k w_k (S_k + mu_k mu_k^T) - m m^T of the conditional mixture.
    const auto cond = gaussmix::condition(mix, observed, Eigen::Map<const Eigen::VectorXd>(values.data(), static_cast<Index>(values.size())));
    Eigen::VectorXd mean = Eigen::VectorXd::Zero(na);
    Eigen::MatrixXd second = Eigen::MatrixXd::Zero(na, na);
    for (Index k = 0; k < mix.n_components(); ++k) {
      const Eigen::VectorXd mu = cond.means.row(k).transpose();
      mean += cond.weights[k] * mu;
      second += cond.weights[k] * (cond.covariances[static_cast<std::size_t>(k)] + mu * mu.transpose());
    }
    const Eigen::MatrixXd cov = second - mean * mean.transpose();
    Eigen::VectorXd predicted(na);
    for (Index t = 0; t < na; ++t) predicted[t] = x(i, unknown[static_cast<std::size_t>(t)]);
    const Eigen::Map<const gaussmix::RowMatrix<double>> got_cov(covariances.data() + offsets[i], na, na);
    if (!((predicted - mean).cwiseAbs().array() <= 1e-12).all() || !((got_cov - cov).cwiseAbs().array() <= 1e-12).all()) {
      ++mismatches;
      CHECK_ALL_NEAR(predicted, mean, 1e-12);
      CHECK_ALL_NEAR(got_cov, cov, 1e-12);
    }
  }
  CHECK(mismatches == 0);

  // The same numbers with one thread.
  RowMatrix x1 = original;
  Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1> offsets1;
  std::vector<double> covariances1;
  gaussmix::predict_missing<double>(x1, mix, offsets1, covariances1, 1);
  CHECK(x1 == x);
  CHECK(covariances1 == covariances);
}

}  // namespace condition_tests
