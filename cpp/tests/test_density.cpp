// Scoring with a fixed mixture: log-densities, responsibilities, hard
// assignment, the log-likelihood, and the errors a bad mixture raises.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include <gaussmix/gaussmix.hpp>

#include "check.hpp"
#include "reference.hpp"

namespace density_tests {

using gaussmix::Index;
using reference::RowMatrix;

/** w = (0.3, 0.7); N((0, 0), [[2, .5], [.5, 1]]) and N((1, -1), diag(1, 3)). */
gaussmix::Mixture<double> two_by_two() {
  Eigen::MatrixXd s1(2, 2), s2(2, 2);
  s1 << 2.0, 0.5, 0.5, 1.0;
  s2 << 1.0, 0.0, 0.0, 3.0;
  return gaussmix::Mixture<double>(Eigen::Vector2d(0.3, 0.7), reference::rows({{0.0, 0.0}, {1.0, -1.0}}), {s1, s2});
}

TEST_CASE("log_density at a point, computed by hand") {
  // x = (0.5, 0.25). Component 1: det S1 = 1.75, S1^{-1} = [[1, -.5], [-.5, 2]] / 1.75,
  // d = (0.5, 0.25): d^T [[1, -.5], [-.5, 2]] d = 0.25 - 0.125 + 0.125 = 0.25, Mahalanobis 1/7.
  // Component 2: d = (-0.5, 1.25), Mahalanobis 0.25 + 1.5625 / 3 = 37/48, det S2 = 3.
  const double log_2pi = std::log(2.0 * reference::kPi);
  const double l1 = std::log(0.3) - log_2pi - 0.5 * std::log(1.75) - 0.5 / 7.0;
  const double l2 = std::log(0.7) - log_2pi - 0.5 * std::log(3.0) - 37.0 / 96.0;
  const double expected = std::log(std::exp(l1) + std::exp(l2));
  CHECK_NEAR(expected, -2.559358944802576, 1e-14);  // scipy.stats.multivariate_normal, the same mixture

  const auto mix = two_by_two();
  const RowMatrix x = reference::rows({{0.5, 0.25}});
  Eigen::VectorXd out(1);
  gaussmix::log_density<double>(x, mix, out);
  CHECK_NEAR(out[0], expected, 1e-12);
  // One pass for both of ICL's terms: log p(x) and the log of the larger responsibility.
  Eigen::VectorXd density(1), top(1);
  gaussmix::log_density_and_map<double>(x, mix, density, top);
  CHECK_NEAR(density[0], expected, 1e-12);
  CHECK_NEAR(top[0], std::max(l1, l2) - expected, 1e-12);
  // The E-step statistics carry the responsibilities' entropy, -sum_k r_k log r_k (weight 2: twice it).
  const double r1 = std::exp(l1 - expected), r2 = std::exp(l2 - expected);
  const Eigen::VectorXd two = Eigen::VectorXd::Constant(1, 2.0);
  const gaussmix::SufficientStats stats = gaussmix::accumulate_stats<double>(x, mix, {}, two);
  CHECK_NEAR(stats.latent_entropy, -2.0 * (r1 * std::log(r1) + r2 * std::log(r2)), 1e-12);

  RowMatrix per_component(1, 2);
  gaussmix::log_prob_components<double>(x, mix, per_component);
  CHECK_NEAR(per_component(0, 0), l1, 1e-12);
  CHECK_NEAR(per_component(0, 1), l2, 1e-12);

  RowMatrix resp(1, 2);
  gaussmix::responsibilities<double>(x, mix, resp);
  CHECK_NEAR(resp(0, 0), std::exp(l1 - expected), 1e-12);
  CHECK_NEAR(resp(0, 1), std::exp(l2 - expected), 1e-12);
}

TEST_CASE("log_density far from every component stays finite (log-sum-exp)") {
  // At (60, -60) both densities underflow in double; the log-density must not.
  const auto mix = two_by_two();
  const RowMatrix x = reference::rows({{60.0, -60.0}});
  Eigen::VectorXd out(1);
  gaussmix::log_density<double>(x, mix, out);
  CHECK_NEAR(out[0], -2323.4105248213486, 1e-9);  // scipy: logsumexp of the weighted log-pdfs

  Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1> label(1);
  gaussmix::assign_to_component<double>(x, mix, label);
  CHECK(label[0] == 1);
}

TEST_CASE("rows whose Mahalanobis distances overflow get the limit posterior, not zeros") {
  // Tied unit covariance, means (0, 1) and (0, -1), weights 0.3 and 0.7: on
  // the line y = 0 the two log-densities are equal however far, so the
  // posterior is the weights; at (1, 1e200) the linear term puts it all on
  // the first component. Distances of 1e400 and 1e600 overflow double.
  const auto mix = gaussmix::Mixture<double>::tied(Eigen::Vector2d(0.3, 0.7), reference::rows({{0.0, 1.0}, {0.0, -1.0}}),
                                                   Eigen::MatrixXd::Identity(2, 2));
  const RowMatrix x = reference::rows({{1e200, 0.0}, {-1e300, 0.0}, {1.0, 1e200}, {1e100, 0.0}});
  RowMatrix resp(4, 2);
  gaussmix::responsibilities<double>(x, mix, resp);
  CHECK_ALL_NEAR(resp, reference::rows({{0.3, 0.7}, {0.3, 0.7}, {1.0, 0.0}, {0.3, 0.7}}), 1e-15);
  Eigen::VectorXd log_density(4);
  gaussmix::log_density<double>(x, mix, log_density);
  CHECK(std::isinf(log_density[0]) && log_density[0] < 0);  // -5e399: beyond double
  CHECK_NEAR(log_density[3], -0.5e200 - std::log(2.0 * reference::kPi) - 0.5, 1e186);  // finite, from the far path
  Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1> labels(4);
  gaussmix::assign_to_component<double>(x, mix, labels);
  CHECK(labels[0] == 1 && labels[1] == 1 && labels[2] == 0 && labels[3] == 1);
}

TEST_CASE("scoring many rows agrees with the textbook formulas") {
  const auto mix = two_by_two();
  // More rows than one block (512), so several blocks and chunks are involved.
  const RowMatrix x = reference::clustered_data(700, reference::rows({{0.0, 0.0}, {1.0, -1.0}}), 1.5, 7);
  Eigen::VectorXd expected_log_px;
  const RowMatrix expected_resp = reference::responsibilities(x, mix, expected_log_px);

  Eigen::VectorXd log_px(x.rows());
  gaussmix::log_density<double>(x, mix, log_px);
  CHECK_ALL_NEAR(log_px, expected_log_px, 1e-10);

  RowMatrix resp(x.rows(), 2);
  gaussmix::responsibilities<double>(x, mix, resp);
  CHECK_ALL_NEAR(resp, expected_resp, 1e-10);
  CHECK_ALL_NEAR(resp.rowwise().sum(), Eigen::VectorXd::Ones(x.rows()), 1e-14);

  CHECK_NEAR(gaussmix::log_likelihood<double>(x, mix), expected_log_px.sum(), 1e-9);

  Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1> labels(x.rows());
  gaussmix::assign_to_component<double>(x, mix, labels);
  for (Index i = 0; i < x.rows(); ++i) {
    const std::int64_t expected = expected_resp(i, 1) > expected_resp(i, 0) ? 1 : 0;
    if (labels[i] != expected) {
      CHECK(labels[i] == expected);
      break;
    }
  }
}

TEST_CASE("the whitening matrix is lower triangular and whitens") {
  // A covariance whose pivoted LDLT permutes (the largest variance last).
  const Index d = 5;
  Eigen::MatrixXd a = Eigen::MatrixXd::Random(d, d);
  Eigen::MatrixXd cov = a * a.transpose() + 0.1 * Eigen::MatrixXd::Identity(d, d);
  cov(d - 1, d - 1) += 50.0;
  const gaussmix::FactorisedGaussian<double> g(Eigen::VectorXd::Zero(d), cov);
  const Eigen::MatrixXd& w = g.whitening();
  CHECK(w.triangularView<Eigen::StrictlyUpper>().toDenseMatrix().isZero(0.0));
  // W W^T = cov^{-1}, i.e. x^T cov^{-1} x = ||x^T W||^2 for every x.
  CHECK_ALL_NEAR(w * w.transpose(), cov.inverse(), 1e-12);
  CHECK_NEAR(g.log_det(), std::log(cov.determinant()), 1e-12);
}

TEST_CASE("float kernels give the double log-densities to float precision") {
  const auto mix = two_by_two();
  const gaussmix::Mixture<float> mix_f(mix.weights(), mix.means(), mix.covariances());
  const RowMatrix x = reference::clustered_data(300, mix.means(), 1.0, 3);
  const gaussmix::RowMatrix<float> x_f = x.cast<float>();
  Eigen::VectorXd out(x.rows()), out_f(x.rows());
  gaussmix::log_density<double>(x, mix, out);
  gaussmix::log_density<float>(x_f, mix_f, out_f);
  CHECK_ALL_NEAR(out_f, out, 1e-4);
}

TEST_CASE("a singular covariance is a CovProblem") {
  Eigen::MatrixXd singular(2, 2), indefinite(2, 2), not_finite(2, 2);
  singular << 1.0, 1.0, 1.0, 1.0;
  indefinite << 1.0, 2.0, 2.0, 1.0;
  not_finite << 1.0, 0.0, 0.0, NAN;
  const RowMatrix means = reference::rows({{0.0, 0.0}, {1.0, 1.0}});
  const Eigen::MatrixXd eye = Eigen::MatrixXd::Identity(2, 2);
  const auto make = [&](const Eigen::MatrixXd& second) {
    return gaussmix::Mixture<double>(Eigen::Vector2d(0.5, 0.5), means, {eye, second});
  };
  CHECK_THROWS(make(singular), gaussmix::CovProblem);
  CHECK_THROWS(make(indefinite), gaussmix::CovProblem);
  CHECK_THROWS(make(not_finite), gaussmix::CovProblem);
  CHECK_THROWS(make(Eigen::MatrixXd::Zero(2, 2)), gaussmix::CovProblem);
  // The message names the component, so that a caller can report it.
  try {
    make(singular);
  } catch (const gaussmix::CovProblem& e) {
    CHECK(std::string(e.what()).find("component 1") != std::string::npos);
  }
}

TEST_CASE("NaN or infinity in any block of X is NonFiniteData from every scoring function") {
  // 3000 rows: six of the scoring pass's 512-row blocks; every fourth column
  // left out, so the rows are not one run in memory, then the contiguous rows.
  const auto mix = two_by_two();
  RowMatrix wide = RowMatrix::Random(3000, 3);
  const Eigen::Ref<const RowMatrix> strided = wide.leftCols(2);
  for (const bool contiguous : {false, true}) {
    for (const Index row : {Index(0), Index(1500), Index(2999)}) {
      for (const double bad : {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                               -std::numeric_limits<double>::infinity()}) {
        RowMatrix x = contiguous ? RowMatrix(wide.leftCols(2)) : RowMatrix();
        double& entry = contiguous ? x(row, 1) : wide(row, 1);
        const double kept = entry;
        entry = bad;
        const gaussmix::DataRef<double> data = contiguous ? gaussmix::DataRef<double>(x) : strided;
        Eigen::VectorXd per_row(3000);
        RowMatrix per_component(3000, 2);
        Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1> labels(3000);
        CHECK_THROWS(gaussmix::log_density<double>(data, mix, per_row), gaussmix::NonFiniteData);
        CHECK_THROWS(gaussmix::responsibilities<double>(data, mix, per_component), gaussmix::NonFiniteData);
        CHECK_THROWS(gaussmix::log_prob_components<double>(data, mix, per_component), gaussmix::NonFiniteData);
        CHECK_THROWS(gaussmix::log_likelihood<double>(data, mix), gaussmix::NonFiniteData);
        CHECK_THROWS(gaussmix::assign_to_component<double>(data, mix, labels), gaussmix::NonFiniteData);
        // EM's statistics check the rows only when asked (a stream's batch: rows nobody checked before).
        CHECK_THROWS(gaussmix::accumulate_stats<double>(data, mix, {}, gaussmix::detail::no_sample_weight(), true),
                     gaussmix::NonFiniteData);
        CHECK_THROWS(gaussmix::accumulate_stats_around<double>(data, mix, RowMatrix::Zero(2, 2), {},
                                                               gaussmix::detail::no_sample_weight(), true),
                     gaussmix::NonFiniteData);
        gaussmix::accumulate_stats<double>(data, mix);  // unchecked: no throw (the caller checked the rows)
        CHECK_THROWS(gaussmix::log_density<double>(data, mix, per_row), std::invalid_argument);  // a bad argument
        entry = kept;
        gaussmix::log_density<double>(contiguous ? gaussmix::DataRef<double>(x) : strided, mix, per_row);
        CHECK(per_row.allFinite());
      }
    }
  }
  // The largest finite values are data, not infinity.
  RowMatrix huge = RowMatrix::Constant(600, 2, std::numeric_limits<double>::max());
  Eigen::VectorXd out(600);
  gaussmix::log_density<double>(huge, mix, out);
  CHECK(!out.array().isNaN().any());
}

TEST_CASE("bad mixture parameters are invalid_argument") {
  const Eigen::MatrixXd eye = Eigen::MatrixXd::Identity(2, 2);
  const RowMatrix means = reference::rows({{0.0, 0.0}, {1.0, 1.0}});
  const auto make = [&](const Eigen::VectorXd& w) { return gaussmix::Mixture<double>(w, means, {eye, eye}); };
  CHECK_THROWS(make(Eigen::Vector2d(0.5, 0.6)), std::invalid_argument);   // does not sum to 1
  CHECK_THROWS(make(Eigen::Vector2d(1.5, -0.5)), std::invalid_argument);  // negative weight
  CHECK_THROWS(make(Eigen::Vector3d(0.2, 0.3, 0.5)), std::invalid_argument);  // 3 weights, 2 means
  CHECK_THROWS(make(Eigen::VectorXd()), std::invalid_argument);             // no component

  const auto mix = make(Eigen::Vector2d(0.5, 0.5));
  const RowMatrix three_columns = RowMatrix::Zero(4, 3);
  Eigen::VectorXd out(4);
  CHECK_THROWS(gaussmix::log_density<double>(three_columns, mix, out), std::invalid_argument);
}

}  // namespace density_tests
