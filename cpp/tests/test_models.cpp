// The four covariance models (full, tied, diag, spherical) with sample weights:
// one worked example per model (fit_em from a start, against a textbook EM
// written out below), weights against repeated rows, statistics of two halves
// merged against the whole, 1/2/3 threads, CovProblem and m_step's errors.
//
// Each "<model>: ..." example case reads as the way to use that model from C++.
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include <gaussmix/gaussmix.hpp>

#include "check.hpp"
#include "reference.hpp"

namespace models_tests {

using gaussmix::CovarianceType;
using gaussmix::Index;
using reference::RowMatrix;

// ---------------------------------------------------------------- the textbook EM, per model
/** A mixture as plain numbers: every component's covariance dense. */
struct Params {
  CovarianceType type;
  Eigen::VectorXd weights;
  RowMatrix means;
  std::vector<Eigen::MatrixXd> covs;  // K dense D x D
};

/** One E-step + M-step from the formulas, with weights w (N entries) and reg added
 *  to every variance: r_ik = w_k N(x_i|k) / sum_j w_j N(x_i|j) by explicit inverse
 *  and determinant (reference::log_normal); N_k = sum_i w_i r_ik; mu_k = sum_i w_i
 *  r_ik x_i / N_k; S_k = sum_i w_i r_ik (x_i - mu_k)(x_i - mu_k)^T / N_k around the
 *  new mean; then full S_k, tied sum_k N_k S_k / sum_i w_i, diag diag(S_k),
 *  spherical trace(S_k) / D, each + reg on the diagonal.
 *  log_likelihood receives sum_i w_i log p(x_i) under p. */
Params textbook_step(const RowMatrix& x, const Eigen::VectorXd& w, const Params& p, double reg,
                     double& log_likelihood) {
  const Index n = x.rows(), d = x.cols(), k_count = p.weights.size();
  RowMatrix r(n, k_count);
  log_likelihood = 0.0;
  for (Index i = 0; i < n; ++i) {
    Eigen::VectorXd lp(k_count);
    for (Index k = 0; k < k_count; ++k)
      lp[k] = std::log(p.weights[k]) + reference::log_normal(x.row(i).transpose(), p.means.row(k).transpose(),
                                                             p.covs[static_cast<std::size_t>(k)]);
    const double top = lp.maxCoeff();
    const double lse = top + std::log((lp.array() - top).exp().sum());
    log_likelihood += w[i] * lse;
    for (Index k = 0; k < k_count; ++k) r(i, k) = w[i] * std::exp(lp[k] - lse);
  }
  Params q{p.type, Eigen::VectorXd(k_count), RowMatrix::Zero(k_count, d), {}};
  const double total = w.sum();
  Eigen::MatrixXd pooled = Eigen::MatrixXd::Zero(d, d);
  for (Index k = 0; k < k_count; ++k) {
    double nk = 0.0;
    for (Index i = 0; i < n; ++i) nk += r(i, k);
    q.weights[k] = nk / total;
    for (Index i = 0; i < n; ++i) q.means.row(k) += r(i, k) * x.row(i) / nk;
    Eigen::MatrixXd s = Eigen::MatrixXd::Zero(d, d);
    for (Index i = 0; i < n; ++i) {
      const Eigen::VectorXd dev = (x.row(i) - q.means.row(k)).transpose();
      s += r(i, k) * dev * dev.transpose();
    }
    pooled += s;
    s /= nk;
    switch (p.type) {
      case CovarianceType::full: break;
      case CovarianceType::tied: break;  // below
      case CovarianceType::diag: s = Eigen::MatrixXd(s.diagonal().asDiagonal()); break;
      case CovarianceType::spherical: s = s.trace() / static_cast<double>(d) * Eigen::MatrixXd::Identity(d, d); break;
    }
    q.covs.push_back(s + reg * Eigen::MatrixXd::Identity(d, d));
  }
  if (p.type == CovarianceType::tied)
    for (auto& c : q.covs) c = pooled / total + reg * Eigen::MatrixXd::Identity(d, d);
  return q;
}

/** |a - b| <= rel * max|b| entrywise. */
bool close(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b, double rel) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         ((a - b).cwiseAbs().array() <= rel * b.cwiseAbs().maxCoeff()).all();
}

/** Checks a fitted mixture against the textbook parameters (rel: relative to each array's scale). */
void check_against(const gaussmix::Mixture<double>& got, const Params& want, double rel) {
  CHECK(got.covariance_type() == want.type);
  CHECK(close(got.weights(), want.weights, rel));
  CHECK(close(got.means(), want.means, rel));
  for (Index k = 0; k < got.n_components(); ++k) {
    const bool ok = close(got.covariance(k), want.covs[static_cast<std::size_t>(k)], rel);
    if (!ok)
      gaussmix_test::fail(__FILE__, __LINE__,
                          "component " + std::to_string(k) + " covariance\n" + gaussmix_test::to_string(got.covariance(k)) +
                              "\nexpected\n" + gaussmix_test::to_string(want.covs[static_cast<std::size_t>(k)]));
  }
}

// ---------------------------------------------------------------- the data and starts
/** Three clusters in R^3 with correlated noise (so that the models differ). */
const RowMatrix kCentres = reference::rows({{0.0, 0.0, 0.0}, {5.0, 1.0, -2.0}, {1.0, 6.0, 3.0}});

RowMatrix example_data(Index n, std::uint64_t seed) {
  RowMatrix x = reference::clustered_data(n, kCentres, 1.0, seed);
  for (Index i = 0; i < n; ++i) x(i, 1) += 0.5 * (x(i, 0) - kCentres(i % 3, 0));  // tilt the noise
  return x;
}

const RowMatrix kStartMeans = reference::rows({{0.5, -0.4, 0.3}, {4.2, 1.5, -1.4}, {1.6, 5.1, 2.2}});
const Eigen::Vector3d kStartWeights(0.5, 0.3, 0.2);

/** The start as Params (dense covariances), for the textbook. */
Params start_params(CovarianceType type) {
  Params p{type, kStartWeights, kStartMeans, {}};
  for (Index k = 0; k < 3; ++k) {
    Eigen::MatrixXd c = Eigen::MatrixXd::Identity(3, 3) * (0.8 + 0.4 * static_cast<double>(k));
    switch (type) {
      case CovarianceType::full: c(0, 1) = c(1, 0) = 0.3; break;
      case CovarianceType::tied: c = Eigen::Matrix3d{{1.2, 0.3, 0.0}, {0.3, 1.2, 0.0}, {0.0, 0.0, 1.2}}; break;
      case CovarianceType::diag: c(2, 2) = 2.0; break;
      case CovarianceType::spherical: break;
    }
    p.covs.push_back(c);
  }
  return p;
}

/** The same start as a gaussmix::Mixture, built the way each model is built. */
template <typename Scalar = double>
gaussmix::Mixture<Scalar> start_mixture(CovarianceType type) {
  const Params p = start_params(type);
  switch (type) {
    case CovarianceType::full: return gaussmix::Mixture<Scalar>(p.weights, p.means, p.covs);
    case CovarianceType::tied: return gaussmix::Mixture<Scalar>::tied(p.weights, p.means, p.covs[0]);
    case CovarianceType::diag: {
      RowMatrix variances(3, 3);
      for (Index k = 0; k < 3; ++k) variances.row(k) = p.covs[static_cast<std::size_t>(k)].diagonal().transpose();
      return gaussmix::Mixture<Scalar>::diag(p.weights, p.means, variances);
    }
    case CovarianceType::spherical: break;
  }
  return gaussmix::Mixture<Scalar>::spherical(p.weights, p.means, Eigen::Vector3d(0.8, 1.2, 1.6));
}

/** fit_em for `iterations` from the model's start, and the textbook run as long. */
void worked_example(CovarianceType type) {
  const RowMatrix x = example_data(600, 3);
  const Eigen::VectorXd unit = Eigen::VectorXd::Ones(x.rows());
  const double reg = 1e-6;
  const int iterations = 8;

  gaussmix::EmOptions<double> options;
  options.max_iter = iterations;
  options.delta_stop = 0.0;  // never "still": run all iterations
  options.reg_covar = reg;
  const auto fit = gaussmix::fit_em(x, start_mixture(type), options);
  CHECK(fit.n_iter == iterations);
  CHECK(!fit.converged);
  CHECK(fit.weight_sum == 600.0);

  Params p = start_params(type);
  double log_likelihood = 0.0;
  for (int it = 0; it < iterations; ++it) p = textbook_step(x, unit, p, reg, log_likelihood);
  check_against(fit.mixture, p, 1e-10);
  CHECK_NEAR(fit.log_likelihood, log_likelihood, 1e-10 * std::abs(log_likelihood));
}

template <typename Scalar>
bool bit_identical(const gaussmix::Mixture<Scalar>& a, const gaussmix::Mixture<Scalar>& b) {
  bool same = a.weights() == b.weights() && a.means() == b.means() && a.variances() == b.variances() &&
              a.covariances().size() == b.covariances().size();
  for (std::size_t k = 0; same && k < a.covariances().size(); ++k) same = a.covariances()[k] == b.covariances()[k];
  return same;
}

bool bit_identical(const gaussmix::SufficientStats& a, const gaussmix::SufficientStats& b) {
  bool same = a.covariance_type == b.covariance_type && a.shift == b.shift && a.resp_sum == b.resp_sum &&
              a.first == b.first && a.second.size() == b.second.size() && a.log_likelihood == b.log_likelihood &&
              a.weight_sum == b.weight_sum && a.n_rows == b.n_rows;
  for (std::size_t k = 0; same && k < a.second.size(); ++k) same = a.second[k] == b.second[k];
  return same;
}

const CovarianceType kModels[] = {CovarianceType::full, CovarianceType::tied, CovarianceType::diag,
                                  CovarianceType::spherical};

// ---------------------------------------------------------------- one worked example per model
TEST_CASE("full: fit_em from a start follows the textbook EM") {
  // Each component its own D x D covariance: Mixture(weights, means, {cov_0, cov_1, cov_2}).
  worked_example(CovarianceType::full);
  const auto mix = start_mixture(CovarianceType::full);
  CHECK(mix.covariances().size() == 3 && mix.variances().size() == 0);
}

TEST_CASE("tied: fit_em from a start follows the textbook EM") {
  // One covariance shared by all components: Mixture::tied(weights, means, cov).
  worked_example(CovarianceType::tied);
  const auto mix = start_mixture(CovarianceType::tied);
  CHECK(mix.covariances().size() == 1);
  CHECK(mix.covariance(0) == mix.covariance(2));
  CHECK(mix.log_det(0) == mix.log_det(2));
}

TEST_CASE("diag: fit_em from a start follows the textbook EM") {
  // Each component its own variances: Mixture::diag(weights, means, K x D variances).
  worked_example(CovarianceType::diag);
  const auto mix = start_mixture(CovarianceType::diag);
  CHECK(mix.covariances().empty() && mix.variances().rows() == 3 && mix.variances().cols() == 3);
  CHECK_NEAR(mix.log_det(2), std::log(1.6 * 1.6 * 2.0), 1e-14);
}

TEST_CASE("spherical: fit_em from a start follows the textbook EM") {
  // Each component one variance: Mixture::spherical(weights, means, K variances).
  worked_example(CovarianceType::spherical);
  const auto mix = start_mixture(CovarianceType::spherical);
  CHECK(mix.variances().rows() == 3 && mix.variances().cols() == 1);
  CHECK_NEAR(mix.log_det(1), 3.0 * std::log(1.2), 1e-14);
}

TEST_CASE("covariance type names round-trip; another name is invalid_argument") {
  for (CovarianceType t : kModels)
    CHECK(gaussmix::covariance_type_from_name(gaussmix::covariance_type_name(t)) == t);
  CHECK_THROWS(gaussmix::covariance_type_from_name("diagonal"), std::invalid_argument);
}

// ---------------------------------------------------------------- weights
TEST_CASE("every model: weighted EM matches the textbook and integer weights repeat rows") {
  const RowMatrix x = example_data(500, 7);
  Eigen::VectorXd counts(x.rows());
  for (Index i = 0; i < x.rows(); ++i) counts[i] = static_cast<double>((i * 7 + 3) % 4);  // 0..3, zeros included
  RowMatrix repeated(static_cast<Index>(counts.sum()), x.cols());
  for (Index i = 0, row = 0; i < x.rows(); ++i)
    for (int c = 0; c < static_cast<int>(counts[i]); ++c) repeated.row(row++) = x.row(i);

  for (CovarianceType type : kModels) {
    gaussmix::EmOptions<double> options;
    options.max_iter = 5;
    options.delta_stop = 0.0;
    options.reg_covar = 1e-6;
    const auto weighted = gaussmix::fit_em(x, start_mixture(type), options, counts);
    const auto rows = gaussmix::fit_em(repeated, start_mixture(type), options);
    CHECK(weighted.weight_sum == counts.sum());
    CHECK(close(weighted.mixture.weights(), rows.mixture.weights(), 1e-10));
    CHECK(close(weighted.mixture.means(), rows.mixture.means(), 1e-10));
    for (Index k = 0; k < 3; ++k) CHECK(close(weighted.mixture.covariance(k), rows.mixture.covariance(k), 1e-10));
    CHECK_NEAR(weighted.log_likelihood, rows.log_likelihood, 1e-10 * std::abs(rows.log_likelihood));

    Params p = start_params(type);
    double log_likelihood = 0.0;
    for (int it = 0; it < 5; ++it) p = textbook_step(x, counts, p, 1e-6, log_likelihood);
    check_against(weighted.mixture, p, 1e-10);
  }
}

// ---------------------------------------------------------------- mergeable statistics
TEST_CASE("every model: statistics of two halves merged equal the whole") {
  const RowMatrix x = example_data(1500, 9);
  Eigen::VectorXd w(x.rows());
  for (Index i = 0; i < x.rows(); ++i) w[i] = 0.25 + static_cast<double>(i % 5) * 0.5;
  const Index cut = 777;  // not a multiple of the 512-row block
  for (CovarianceType type : kModels) {
    const auto mix = start_mixture(type);
    const gaussmix::SufficientStats whole = gaussmix::accumulate_stats(x, mix, {}, w);
    gaussmix::SufficientStats merged = gaussmix::accumulate_stats(x.topRows(cut), mix, {}, w.head(cut));
    merged.merge(gaussmix::accumulate_stats(x.bottomRows(x.rows() - cut), mix, {}, w.tail(x.rows() - cut)));
    CHECK(merged.covariance_type == type);
    CHECK(merged.n_rows == whole.n_rows);
    CHECK(merged.shift == whole.shift);
    CHECK_NEAR(merged.weight_sum, whole.weight_sum, 1e-12 * whole.weight_sum);
    CHECK_NEAR(merged.log_likelihood, whole.log_likelihood, 1e-12 * std::abs(whole.log_likelihood));
    CHECK(close(merged.resp_sum, whole.resp_sum, 1e-12));
    CHECK(close(merged.first, whole.first, 1e-12));
    CHECK(merged.second.size() == whole.second.size());
    for (std::size_t k = 0; k < whole.second.size(); ++k) CHECK(close(merged.second[k], whole.second[k], 1e-12));
    const auto a = gaussmix::m_step<double>(merged), b = gaussmix::m_step<double>(whole);
    for (Index k = 0; k < 3; ++k) CHECK(close(a.covariance(k), b.covariance(k), 1e-12));
  }
  // Statistics of another model, or under other parameters (other shifts), refuse to merge.
  gaussmix::SufficientStats full = gaussmix::accumulate_stats(x, start_mixture(CovarianceType::full));
  CHECK_THROWS(full.merge(gaussmix::accumulate_stats(x, start_mixture(CovarianceType::diag))), std::invalid_argument);
  const auto p = start_params(CovarianceType::full);
  RowMatrix moved = p.means;
  moved.array() += 0.5;
  CHECK_THROWS(full.merge(gaussmix::accumulate_stats(x, gaussmix::Mixture<double>(p.weights, moved, p.covs))),
               std::invalid_argument);
}

// ---------------------------------------------------------------- threads
template <typename Scalar>
void check_thread_counts(CovarianceType type) {
  const RowMatrix x64 = example_data(30000, 13);  // 59 row blocks: many chunks
  const gaussmix::RowMatrix<Scalar> x = x64.cast<Scalar>();
  Eigen::VectorXd w(x.rows());
  for (Index i = 0; i < x.rows(); ++i) w[i] = static_cast<double>(i % 3);
  const auto start = start_mixture<Scalar>(type);
  gaussmix::EmOptions<Scalar> options;
  options.max_iter = 4;
  options.delta_stop = 0.0;
  options.reg_covar = 1e-6;
  std::vector<gaussmix::EmResult<Scalar>> fits;
  std::vector<gaussmix::SufficientStats> stats;
  for (int threads : {1, 2, 3}) {
    options.execution.n_threads = threads;
    fits.push_back(gaussmix::fit_em(x, start, options, w));
    stats.push_back(gaussmix::accumulate_stats(x, start, gaussmix::Execution(threads, {}), w));
  }
  for (std::size_t i = 1; i < fits.size(); ++i) {
    CHECK(bit_identical(fits[i].mixture, fits[0].mixture));
    CHECK(fits[i].log_likelihood == fits[0].log_likelihood);
    CHECK(bit_identical(stats[i], stats[0]));
  }
}

TEST_CASE("every model, double and float: 1, 2 and 3 threads give the same bits") {
  for (CovarianceType type : kModels) {
    check_thread_counts<double>(type);
    check_thread_counts<float>(type);
  }
}

// ---------------------------------------------------------------- CovProblem
TEST_CASE("a negative, zero or non-finite variance is a CovProblem at construction") {
  const Eigen::Vector2d w(0.5, 0.5);
  const RowMatrix means = reference::rows({{0.0, 0.0}, {3.0, 3.0}});
  using M = gaussmix::Mixture<double>;
  CHECK_THROWS(M::diag(w, means, reference::rows({{1.0, 1.0}, {1.0, -0.5}})), gaussmix::CovProblem);
  CHECK_THROWS(M::diag(w, means, reference::rows({{1.0, 0.0}, {1.0, 1.0}})), gaussmix::CovProblem);
  CHECK_THROWS(M::diag(w, means, reference::rows({{1.0, NAN}, {1.0, 1.0}})), gaussmix::CovProblem);
  CHECK_THROWS(M::spherical(w, means, Eigen::Vector2d(1.0, -1.0)), gaussmix::CovProblem);
  CHECK_THROWS(M::spherical(w, means, Eigen::Vector2d(0.0, 1.0)), gaussmix::CovProblem);
  CHECK_THROWS(M::tied(w, means, Eigen::Matrix2d{{1.0, 2.0}, {2.0, 1.0}}), gaussmix::CovProblem);
  CHECK_THROWS(M(w, means, {Eigen::Matrix2d::Identity(), Eigen::Matrix2d{{1.0, 0.0}, {0.0, -1.0}}}),
               gaussmix::CovProblem);
}

TEST_CASE("a component that collapses onto one point is a CovProblem in fit_em") {
  // 20 copies of one point and a cloud far away: the first component's
  // covariance becomes 0 (no reg_covar), for every model but tied (whose
  // pooled covariance keeps the cloud's spread).
  RowMatrix x = reference::clustered_data(60, reference::rows({{50.0, 50.0}}), 1.0, 17);
  x.topRows(20).setZero();
  const Eigen::Vector2d w(0.5, 0.5);
  const RowMatrix means = reference::rows({{0.0, 0.0}, {50.0, 50.0}});
  using M = gaussmix::Mixture<double>;
  gaussmix::EmOptions<double> options;
  options.max_iter = 5;
  CHECK_THROWS(gaussmix::fit_em(x, M(w, means, {Eigen::Matrix2d::Identity(), Eigen::Matrix2d::Identity()}), options),
               gaussmix::CovProblem);
  CHECK_THROWS(gaussmix::fit_em(x, M::diag(w, means, RowMatrix::Ones(2, 2)), options), gaussmix::CovProblem);
  CHECK_THROWS(gaussmix::fit_em(x, M::spherical(w, means, Eigen::Vector2d::Ones()), options), gaussmix::CovProblem);
  const auto tied = gaussmix::fit_em(x, M::tied(w, means, Eigen::Matrix2d::Identity()), options);
  CHECK(tied.mixture.covariance(0).determinant() > 0.0);
  // reg_covar keeps the collapsed component a Gaussian of variance reg_covar
  options.reg_covar = 1e-3;
  const auto held = gaussmix::fit_em(x, M::diag(w, means, RowMatrix::Ones(2, 2)), options);
  CHECK_NEAR(held.mixture.variances()(0, 0), 1e-3, 1e-15);
  CHECK_NEAR(held.mixture.variances()(0, 1), 1e-3, 1e-15);
}

TEST_CASE("a component with no responsibility is a CovProblem in m_step") {
  const RowMatrix x = example_data(300, 19);
  for (CovarianceType type : kModels) {
    gaussmix::SufficientStats stats = gaussmix::accumulate_stats(x, start_mixture(type));
    stats.resp_sum[1] = 0.0;
    CHECK_THROWS(gaussmix::m_step<double>(stats), gaussmix::CovProblem);
  }
}

// ---------------------------------------------------------------- m_step's argument errors
TEST_CASE("m_step refuses statistics of inconsistent shapes and bad regularisers") {
  const RowMatrix x = example_data(300, 21);
  for (CovarianceType type : kModels) {
    const gaussmix::SufficientStats good = gaussmix::accumulate_stats(x, start_mixture(type));
    CHECK(gaussmix::m_step<double>(good).covariance_type() == type);

    gaussmix::SufficientStats bad = good;  // another model's second moments
    bad.covariance_type = type == CovarianceType::full ? CovarianceType::diag : CovarianceType::full;
    CHECK_THROWS(gaussmix::m_step<double>(bad), std::invalid_argument);
    bad = good;
    bad.second.push_back(bad.second.front());  // one matrix too many
    CHECK_THROWS(gaussmix::m_step<double>(bad), std::invalid_argument);
    bad = good;
    bad.second.front().conservativeResize(bad.second.front().rows() + 1, Eigen::NoChange);
    CHECK_THROWS(gaussmix::m_step<double>(bad), std::invalid_argument);
    bad = good;
    bad.resp_sum.conservativeResize(2);
    CHECK_THROWS(gaussmix::m_step<double>(bad), std::invalid_argument);
    bad = good;
    bad.shift.conservativeResize(Eigen::NoChange, 2);
    CHECK_THROWS(gaussmix::m_step<double>(bad), std::invalid_argument);
    bad = good;
    bad.n_rows = 0;
    CHECK_THROWS(gaussmix::m_step<double>(bad), std::invalid_argument);

    CHECK_THROWS(gaussmix::m_step<double>(good, Eigen::VectorXd(), -1.0), std::invalid_argument);
    CHECK_THROWS(gaussmix::m_step<double>(good, Eigen::VectorXd(), NAN), std::invalid_argument);
    CHECK_THROWS(gaussmix::m_step<double>(good, Eigen::VectorXd::Ones(2)), std::invalid_argument);
  }
  // fit_em refuses weights that are not N finite non-negative values with a positive sum
  gaussmix::EmOptions<double> options;
  const auto start = start_mixture(CovarianceType::diag);
  CHECK_THROWS(gaussmix::fit_em(x, start, options, Eigen::VectorXd::Ones(299)), std::invalid_argument);
  CHECK_THROWS(gaussmix::fit_em(x, start, options, Eigen::VectorXd::Zero(300)), std::invalid_argument);
  Eigen::VectorXd negative = Eigen::VectorXd::Ones(300);
  negative[7] = -1.0;
  CHECK_THROWS(gaussmix::fit_em(x, start, options, negative), std::invalid_argument);
  CHECK_THROWS(gaussmix::accumulate_stats(x, start, {}, negative), std::invalid_argument);
}

}  // namespace models_tests
