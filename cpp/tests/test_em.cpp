// EM: one iteration against the update formulas, mergeable statistics,
// a log-likelihood that never decreases, and results that do not depend on
// the thread count.
#include <cmath>
#include <stdexcept>
#include <vector>

#include <gaussmix/gaussmix.hpp>

#include "check.hpp"
#include "reference.hpp"

namespace em_tests {

using gaussmix::Index;
using reference::RowMatrix;

/** Three clusters in the plane and a deliberately poor starting mixture. */
const RowMatrix kCentres = reference::rows({{0.0, 0.0}, {4.0, 1.0}, {1.0, 5.0}});

gaussmix::Mixture<double> poor_start() {
  Eigen::MatrixXd tilted(2, 2);
  tilted << 2.0, 0.3, 0.3, 1.0;
  return gaussmix::Mixture<double>(Eigen::Vector3d(0.5, 0.3, 0.2),
                                   reference::rows({{1.0, 1.0}, {2.0, 0.0}, {0.0, 3.0}}),
                                   {tilted, Eigen::MatrixXd::Identity(2, 2), 3.0 * Eigen::MatrixXd::Identity(2, 2)});
}

/** The textbook M-step from responsibilities: w_k = N_k / N, mu_k = sum_i r_ik x_i / N_k,
 *  S_k = sum_i r_ik (x_i - mu_k)(x_i - mu_k)^T / N_k (second pass around the new mean). */
struct TextbookUpdate {
  Eigen::VectorXd weights;
  RowMatrix means;
  std::vector<Eigen::MatrixXd> covs;
  double log_likelihood;
};

TextbookUpdate textbook_em_step(const RowMatrix& x, const gaussmix::Mixture<double>& mix) {
  Eigen::VectorXd log_px;
  const RowMatrix r = reference::responsibilities(x, mix, log_px);
  const Index n = x.rows(), d = x.cols(), k_count = mix.n_components();
  TextbookUpdate u{Eigen::VectorXd(k_count), RowMatrix::Zero(k_count, d), {}, log_px.sum()};
  for (Index k = 0; k < k_count; ++k) {
    double nk = 0.0;
    for (Index i = 0; i < n; ++i) nk += r(i, k);
    for (Index i = 0; i < n; ++i) u.means.row(k) += r(i, k) * x.row(i) / nk;
    Eigen::MatrixXd cov = Eigen::MatrixXd::Zero(d, d);
    for (Index i = 0; i < n; ++i) {
      const Eigen::VectorXd dev = (x.row(i) - u.means.row(k)).transpose();
      cov += r(i, k) * dev * dev.transpose() / nk;
    }
    u.covs.push_back(cov);
    u.weights[k] = nk / static_cast<double>(n);
  }
  return u;
}

template <typename Scalar>
bool bit_identical(const gaussmix::Mixture<Scalar>& a, const gaussmix::Mixture<Scalar>& b) {
  bool same = a.weights() == b.weights() && a.means() == b.means();
  for (Index k = 0; k < a.n_components(); ++k)
    same = same && a.covariances()[static_cast<std::size_t>(k)] == b.covariances()[static_cast<std::size_t>(k)];
  return same;
}

TEST_CASE("one EM iteration (accumulate_stats + m_step) matches the update formulas") {
  const RowMatrix x = reference::clustered_data(600, kCentres, 0.8, 11);
  const auto start = poor_start();
  const TextbookUpdate expected = textbook_em_step(x, start);

  const gaussmix::SufficientStats stats = gaussmix::accumulate_stats<double>(x, start);
  CHECK(stats.n_rows == x.rows());
  CHECK_NEAR(stats.log_likelihood, expected.log_likelihood, 1e-9);
  CHECK_NEAR(stats.resp_sum.sum(), static_cast<double>(x.rows()), 1e-9);

  const gaussmix::Mixture<double> updated = gaussmix::m_step<double>(stats);
  CHECK_ALL_NEAR(updated.weights(), expected.weights, 1e-11);
  CHECK_ALL_NEAR(updated.means(), expected.means, 1e-10);
  for (std::size_t k = 0; k < expected.covs.size(); ++k)
    CHECK_ALL_NEAR(updated.covariances()[k], expected.covs[k], 1e-10);

  // diag_add goes onto every covariance's diagonal, nothing else changes.
  const Eigen::VectorXd diag_add = Eigen::Vector2d(0.01, 0.02);
  const gaussmix::Mixture<double> regularised = gaussmix::m_step<double>(stats, diag_add);
  CHECK_ALL_NEAR(regularised.means(), updated.means(), 0.0);
  for (std::size_t k = 0; k < expected.covs.size(); ++k)
    CHECK_ALL_NEAR(regularised.covariances()[k],
                   Eigen::MatrixXd(updated.covariances()[k] + Eigen::MatrixXd(diag_add.asDiagonal())), 1e-15);

  // fit_em with max_iter = 1 is the same iteration, and reports the log-likelihood of its start.
  gaussmix::EmOptions<double> options;
  options.max_iter = 1;
  const auto fit = gaussmix::fit_em<double>(x, start, options);
  CHECK(fit.n_iter == 1);
  CHECK(!fit.converged);
  CHECK_NEAR(fit.log_likelihood, expected.log_likelihood, 1e-9);
  CHECK(bit_identical(fit.mixture, updated));
}

TEST_CASE("an iteration from a start 1e9 away is the textbook update (the statistics are retaken)") {
  // Two unit-variance components 1e9 away from the data, on either side of
  // the line x = 2: the responsibilities are a clean split, and the means
  // move 1e9 standard deviations, where statistics taken around the old
  // means cancel to a negative variance.
  const RowMatrix x = reference::clustered_data(600, kCentres, 0.8, 13);
  const double far = 1e9;
  const RowMatrix means = reference::rows({{2.0 - far, 2.5 + far}, {2.0 + far, 2.5 + far}});
  const gaussmix::Mixture<double> full_start(Eigen::Vector2d(0.5, 0.5), means,
                                             {Eigen::MatrixXd::Identity(2, 2), Eigen::MatrixXd::Identity(2, 2)});
  const TextbookUpdate expected = textbook_em_step(x, full_start);
  for (const auto type : {gaussmix::CovarianceType::full, gaussmix::CovarianceType::diag}) {
    const gaussmix::Mixture<double> start =
        type == gaussmix::CovarianceType::full
            ? full_start
            : gaussmix::Mixture<double>::diag(Eigen::Vector2d(0.5, 0.5), means, RowMatrix::Ones(2, 2));
    RowMatrix shifts;
    CHECK(gaussmix::recentred_shifts<double>(gaussmix::accumulate_stats<double>(x, start), 0.0, shifts));
    gaussmix::EmOptions<double> options;
    options.max_iter = 1;
    const auto fit = gaussmix::fit_em<double>(x, start, options);
    CHECK_ALL_NEAR(fit.mixture.weights(), expected.weights, 1e-12);
    CHECK_ALL_NEAR(fit.mixture.means(), expected.means, 1e-6);
    for (Index k = 0; k < 2; ++k)
      CHECK_ALL_NEAR(fit.mixture.covariance(k),
                     type == gaussmix::CovarianceType::full
                         ? expected.covs[static_cast<std::size_t>(k)]
                         : Eigen::MatrixXd(expected.covs[static_cast<std::size_t>(k)].diagonal().asDiagonal()),
                     1e-8);
  }
}

TEST_CASE("statistics around the mixture's own shifts are not retaken") {
  const RowMatrix x = reference::clustered_data(600, kCentres, 0.8, 17);
  RowMatrix shifts;
  CHECK(!gaussmix::recentred_shifts<double>(gaussmix::accumulate_stats<double>(x, poor_start()), 0.0, shifts));
  CHECK(!gaussmix::recentred_shifts<float>(gaussmix::accumulate_stats<double>(x, poor_start()), 0.0, shifts));
}

TEST_CASE("statistics of disjoint row sets merge by addition") {
  const RowMatrix x = reference::clustered_data(900, kCentres, 0.8, 5);
  const auto mix = poor_start();
  const RowMatrix top = x.topRows(333), bottom = x.bottomRows(x.rows() - 333);
  gaussmix::SufficientStats merged = gaussmix::accumulate_stats<double>(top, mix);
  merged.merge(gaussmix::accumulate_stats<double>(bottom, mix));
  const gaussmix::SufficientStats whole = gaussmix::accumulate_stats<double>(x, mix);
  CHECK(merged.n_rows == whole.n_rows);
  CHECK_NEAR(merged.log_likelihood, whole.log_likelihood, 1e-9);
  CHECK_ALL_NEAR(merged.resp_sum, whole.resp_sum, 1e-9);
  CHECK_ALL_NEAR(merged.first, whole.first, 1e-9);
  for (std::size_t k = 0; k < whole.second.size(); ++k) CHECK_ALL_NEAR(merged.second[k], whole.second[k], 1e-8);

  const gaussmix::SufficientStats other_shape(gaussmix::CovarianceType::full, RowMatrix::Zero(2, 2));
  CHECK_THROWS(merged.merge(other_shape), std::invalid_argument);
}

TEST_CASE("the precision is deduced from the mixture: no <double> needed") {
  const RowMatrix x = reference::clustered_data(300, kCentres, 0.8, 21);
  const auto start = poor_start();
  // Compiles only because DataArg<Scalar> is a non-deduced context.
  const double direct = gaussmix::log_likelihood(x, start);
  CHECK_NEAR(direct, gaussmix::log_likelihood<double>(x, start), 0.0);
  gaussmix::EmOptions<double> options;
  options.max_iter = 3;
  const auto fit = gaussmix::fit_em(x, start, options);
  CHECK(fit.n_iter == 3);
  CHECK_NEAR(gaussmix::accumulate_stats(x, start).log_likelihood, direct, 1e-9 * std::abs(direct));
}

TEST_CASE("the EM log-likelihood never decreases") {
  const RowMatrix x = reference::clustered_data(900, kCentres, 1.0, 23);
  std::vector<double> history;
  gaussmix::EmOptions<double> options;  // diag_add empty: plain EM, which is monotone
  options.max_iter = 60;
  options.callback = [&](int iteration, double log_likelihood, const gaussmix::Mixture<double>&) {
    CHECK(iteration == static_cast<int>(history.size()));
    history.push_back(log_likelihood);
  };
  const auto fit = gaussmix::fit_em<double>(x, poor_start(), options);
  CHECK(static_cast<int>(history.size()) == fit.n_iter);
  CHECK(fit.n_iter > 5);
  CHECK(history.back() > history.front() + 1.0);
  for (std::size_t i = 1; i < history.size(); ++i)
    if (history[i] < history[i - 1] - 1e-9 * std::abs(history[i - 1])) {
      CHECK_NEAR(history[i], history[i - 1], 0.0);  // reports the decrease
      break;
    }
  // The fit finds the three clusters (component order follows the starting means).
  const RowMatrix found = fit.mixture.means();
  for (Index c = 0; c < kCentres.rows(); ++c) {
    Index nearest = 0;
    const double distance = (found.rowwise() - kCentres.row(c)).rowwise().norm().minCoeff(&nearest);
    CHECK(distance < 0.2);
  }
}

TEST_CASE("fit_em is bit-identical with 1 and 2 threads") {
  // Large enough that the core really uses two threads (it gives small problems
  // fewer threads than asked, ~1 ms of work each) and cuts the rows into 64 chunks.
  const RowMatrix centres = reference::rows({{0, 0, 0, 0, 0, 0},
                                             {3, 1, -1, 0, 2, 1},
                                             {-1, 4, 2, 1, 0, -2},
                                             {2, -2, 3, -1, 1, 0}});
  const RowMatrix x = reference::clustered_data(50000, centres, 1.2, 99);
  const double work = 50000.0 * 4.0 * (6.0 * 6.0 + 1.0);  // N K (D^2 + 1), as the scoring driver counts it
  if (gaussmix::detail::threads_for(2) == 2)  // with OpenMP
    CHECK(gaussmix::detail::threads_for(2, work) == 2);
  RowMatrix start_means = centres;
  start_means.array() += 0.7;
  const auto start = reference::isotropic_mixture(start_means, 2.0);
  gaussmix::EmOptions<double> options;
  options.max_iter = 8;
  options.execution.n_threads = 1;
  const auto one = gaussmix::fit_em<double>(x, start, options);
  options.execution.n_threads = 2;
  const auto two = gaussmix::fit_em<double>(x, start, options);
  CHECK(one.n_iter == two.n_iter);
  CHECK(one.log_likelihood == two.log_likelihood);
  CHECK(bit_identical(one.mixture, two.mixture));
  CHECK(gaussmix::log_likelihood<double>(x, one.mixture, 1) == gaussmix::log_likelihood<double>(x, one.mixture, 2));

  // float kernels too (their accumulators are double).
  const gaussmix::RowMatrix<float> x_f = x.cast<float>();
  const gaussmix::Mixture<float> start_f(start.weights(), start.means(), start.covariances());
  gaussmix::EmOptions<float> options_f;
  options_f.max_iter = 8;
  options_f.execution.n_threads = 1;
  const auto one_f = gaussmix::fit_em<float>(x_f, start_f, options_f);
  options_f.execution.n_threads = 2;
  const auto two_f = gaussmix::fit_em<float>(x_f, start_f, options_f);
  CHECK(one_f.log_likelihood == two_f.log_likelihood);
  CHECK(bit_identical(one_f.mixture, two_f.mixture));
}

TEST_CASE("per-chunk accumulators of the EM pass stay within their budget") {
  using gaussmix::detail::chunks_for_stats;
  using gaussmix::detail::kChunkStatsBudget;
  CHECK(chunks_for_stats(8.0 * 16 * 45) == gaussmix::detail::kMaxChunks);  // 1e6 x 8, K = 16: small
  // D = 64, K = 16, both paths: 16 x (2145 + 4161) doubles a chunk, 0.8 MB.
  const double big = 8.0 * 16 * (2145 + 4161);
  const gaussmix::Index chunks = chunks_for_stats(big);
  CHECK(chunks >= gaussmix::detail::kMinChunks && chunks < gaussmix::detail::kMaxChunks);
  CHECK(static_cast<double>(chunks) * big <= kChunkStatsBudget);
  CHECK(chunks_for_stats(1e12) == gaussmix::detail::kMinChunks);  // never fewer
}

TEST_CASE("a component with no responsibility is a CovProblem") {
  const RowMatrix x = reference::clustered_data(100, reference::rows({{0.0, 0.0}}), 1.0, 2);
  // The second component sits far away with a tiny covariance: its responsibilities underflow to 0.
  const gaussmix::Mixture<double> start(Eigen::Vector2d(0.5, 0.5), reference::rows({{0.0, 0.0}, {1e3, 1e3}}),
                                        {Eigen::MatrixXd::Identity(2, 2), 1e-4 * Eigen::MatrixXd::Identity(2, 2)});
  const gaussmix::SufficientStats stats = gaussmix::accumulate_stats<double>(x, start);
  CHECK(stats.resp_sum[1] == 0.0);
  CHECK_THROWS(gaussmix::m_step<double>(stats), gaussmix::CovProblem);
  gaussmix::EmOptions<double> options;
  CHECK_THROWS(gaussmix::fit_em<double>(x, start, options), gaussmix::CovProblem);
}

TEST_CASE("bad EM options are invalid_argument") {
  const RowMatrix x = reference::clustered_data(50, kCentres, 1.0, 1);
  gaussmix::EmOptions<double> options;
  options.max_iter = 0;
  CHECK_THROWS(gaussmix::fit_em<double>(x, poor_start(), options), std::invalid_argument);
  options.max_iter = 5;
  options.diag_add = Eigen::VectorXd::Ones(3);  // D = 2
  CHECK_THROWS(gaussmix::fit_em<double>(x, poor_start(), options), std::invalid_argument);
}

}  // namespace em_tests
