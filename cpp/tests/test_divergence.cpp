// Hellinger affinity and KL divergence between components: the pairwise
// matrix's diagonal and layout, and one-dimensional closed forms.
#include <cmath>

#include <gaussmix/gaussmix.hpp>

#include "check.hpp"
#include "reference.hpp"

namespace divergence_tests {

using gaussmix::Index;
using reference::RowMatrix;

Eigen::VectorXd scalar(double v) { return Eigen::VectorXd::Constant(1, v); }
Eigen::MatrixXd variance(double v) { return Eigen::MatrixXd::Constant(1, 1, v); }

/** Three components in R^2 with different covariances. */
void three_components(RowMatrix& means, std::vector<Eigen::MatrixXd>& covs) {
  means = reference::rows({{0.0, 0.0}, {1.0, 2.0}, {-3.0, 0.5}});
  Eigen::MatrixXd a(2, 2), b(2, 2);
  a << 2.0, 0.4, 0.4, 1.0;
  b << 0.5, -0.1, -0.1, 0.3;
  covs = {Eigen::MatrixXd::Identity(2, 2), a, b};
}

TEST_CASE("pairwise: Hellinger affinity 1 and KL 0 on the diagonal, 0 below it") {
  RowMatrix means;
  std::vector<Eigen::MatrixXd> covs;
  three_components(means, covs);
  const Eigen::MatrixXd h = gaussmix::pairwise(means, covs, gaussmix::PairwiseMeasure::hellinger);
  const Eigen::MatrixXd kl = gaussmix::pairwise(means, covs, gaussmix::PairwiseMeasure::kl);
  for (Index i = 0; i < 3; ++i) {
    CHECK_NEAR(h(i, i), 1.0, 1e-14);
    CHECK_NEAR(kl(i, i), 0.0, 1e-14);
    for (Index j = 0; j < i; ++j) {
      CHECK(h(i, j) == 0.0);
      CHECK(kl(i, j) == 0.0);
    }
    for (Index j = i + 1; j < 3; ++j) {
      const Eigen::VectorXd mi = means.row(i).transpose(), mj = means.row(j).transpose();
      const auto& si = covs[static_cast<std::size_t>(i)];
      const auto& sj = covs[static_cast<std::size_t>(j)];
      CHECK_NEAR(h(i, j), gaussmix::hellinger_affinity(mi, si, mj, sj), 0.0);
      CHECK_NEAR(kl(i, j), gaussmix::kl_divergence(mi, si, mj, sj), 0.0);
      CHECK(h(i, j) > 0.0 && h(i, j) < 1.0);
      CHECK(kl(i, j) > 0.0);
    }
  }
}

TEST_CASE("one-dimensional closed forms, and KL's argument order") {
  const double m1 = 0.5, v1 = 2.0, m2 = -1.0, v2 = 0.5;
  // Bhattacharyya coefficient: sqrt(2 s1 s2 / (v1 + v2)) exp(-(m1 - m2)^2 / (4 (v1 + v2))).
  const double bc = std::sqrt(2.0 * std::sqrt(v1 * v2) / (v1 + v2)) * std::exp(-(m1 - m2) * (m1 - m2) / (4.0 * (v1 + v2)));
  CHECK_NEAR(gaussmix::hellinger_affinity(scalar(m1), variance(v1), scalar(m2), variance(v2)), bc, 1e-14);
  CHECK_NEAR(gaussmix::hellinger_affinity(scalar(m2), variance(v2), scalar(m1), variance(v1)), bc, 1e-14);
  // kl_divergence(mu1, S1, mu2, S2) = KL(N(mu2, S2) || N(mu1, S1))
  //   = log(s1 / s2) + (v2 + (m1 - m2)^2) / (2 v1) - 1/2.
  const double kl = 0.5 * std::log(v1 / v2) + (v2 + (m1 - m2) * (m1 - m2)) / (2.0 * v1) - 0.5;
  CHECK_NEAR(gaussmix::kl_divergence(scalar(m1), variance(v1), scalar(m2), variance(v2)), kl, 1e-14);
}

TEST_CASE("a singular covariance is a CovProblem for the divergences too") {
  Eigen::MatrixXd singular(2, 2);
  singular << 1.0, 1.0, 1.0, 1.0;
  const Eigen::VectorXd mu = Eigen::Vector2d(0.0, 0.0);
  const Eigen::MatrixXd eye = Eigen::MatrixXd::Identity(2, 2);
  CHECK_THROWS(gaussmix::kl_divergence(mu, singular, mu, eye), gaussmix::CovProblem);
  CHECK_THROWS(gaussmix::hellinger_affinity(mu, eye, mu, -eye), gaussmix::CovProblem);
}

}  // namespace divergence_tests
