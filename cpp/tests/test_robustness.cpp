// The core at its edges: cancellation of every long call, the thread cap,
// shapes checked at the API boundary (D = 0 included), and arithmetic that
// stays exact at any magnitude of the data (whitening, log-determinants,
// k-means distances, float kernels far from the origin).
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gaussmix/gaussmix.hpp>

#include "check.hpp"
#include "reference.hpp"

namespace robustness_tests {

using gaussmix::Index;
using reference::RowMatrix;
using Labels = Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>;

const RowMatrix kCentres = reference::rows({{0, 0, 0}, {4, 1, -1}, {-2, 3, 2}});

RowMatrix data() { return reference::clustered_data(20000, kCentres, 1.0, 5); }

gaussmix::Mixture<double> start() { return reference::isotropic_mixture(kCentres, 1.5); }

/** An Execution that asks to stop at its first poll, and records which
 *  threads polled it. */
struct StopAtOnce {
  std::vector<std::thread::id> pollers;
  gaussmix::Execution execution() {
    return gaussmix::Execution(2, [this] {
      pollers.push_back(std::this_thread::get_id());
      return true;
    });
  }
  bool polled_only_by_caller() const {
    for (const auto& id : pollers)
      if (id != std::this_thread::get_id()) return false;
    return !pollers.empty();
  }
};

/** 2^k, exactly. */
double two_to(int k) { return std::ldexp(1.0, k); }

TEST_CASE("every long call throws Cancelled when should_stop says so, polled on the calling thread") {
  const RowMatrix x = data();
  const auto mix = start();
  {
    StopAtOnce stop;
    gaussmix::EmOptions<double> options;
    options.max_iter = 1000;
    options.execution = stop.execution();
    CHECK_THROWS(gaussmix::fit_em<double>(x, mix, options), gaussmix::Cancelled);
    CHECK(stop.polled_only_by_caller());
  }
  {
    StopAtOnce stop;
    CHECK_THROWS(gaussmix::accumulate_stats<double>(x, mix, stop.execution()), gaussmix::Cancelled);
    CHECK(stop.polled_only_by_caller());
  }
  {
    StopAtOnce stop;
    CHECK_THROWS(gaussmix::log_likelihood<double>(x, mix, stop.execution()), gaussmix::Cancelled);
    CHECK(stop.polled_only_by_caller());
  }
  {
    StopAtOnce stop;
    Eigen::VectorXd out(x.rows());
    CHECK_THROWS(gaussmix::log_density<double>(x, mix, out, stop.execution()), gaussmix::Cancelled);
    RowMatrix scores(x.rows(), 3);
    CHECK_THROWS(gaussmix::log_prob_components<double>(x, mix, scores, stop.execution()), gaussmix::Cancelled);
    CHECK_THROWS(gaussmix::responsibilities<double>(x, mix, scores, stop.execution()), gaussmix::Cancelled);
    Labels labels(x.rows());
    CHECK_THROWS(gaussmix::assign_to_component<double>(x, mix, labels, stop.execution()), gaussmix::Cancelled);
    CHECK_THROWS(gaussmix::nearest_centres<double>(x, kCentres, labels, stop.execution()), gaussmix::Cancelled);
    CHECK_THROWS(gaussmix::kmeans_lloyd<double>(x, kCentres, 100, -1.0, stop.execution()), gaussmix::Cancelled);
    CHECK_THROWS(gaussmix::kmeans_plus_plus<double>(x, 3, 7, stop.execution()), gaussmix::Cancelled);
    CHECK(stop.polled_only_by_caller());
  }
  {
    // predict_missing leaves x as it was.
    RowMatrix holes = x;
    for (Index i = 0; i < holes.rows(); i += 2) holes(i, i % 3) = std::nan("");
    const RowMatrix before = holes;
    Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1> offsets;
    std::vector<double> covs;
    StopAtOnce stop;
    CHECK_THROWS(gaussmix::predict_missing<double>(holes, mix, offsets, covs, stop.execution()), gaussmix::Cancelled);
    CHECK(holes.array().isNaN().count() == before.array().isNaN().count());
    CHECK(((holes.array() == before.array()) || holes.array().isNaN()).all());
  }
}

TEST_CASE("an exception from should_stop stops the call and comes out of it") {
  const RowMatrix x = data();
  const gaussmix::Execution throwing(2, []() -> bool { throw std::runtime_error("from should_stop"); });
  CHECK_THROWS(gaussmix::log_likelihood<double>(x, start(), throwing), std::runtime_error);
  Labels labels(x.rows());
  CHECK_THROWS(gaussmix::nearest_centres<double>(x, kCentres, labels, throwing), std::runtime_error);
  bool right_message = false;
  try {
    gaussmix::log_likelihood<double>(x, start(), throwing);
  } catch (const std::runtime_error& e) {
    right_message = std::string(e.what()) == "from should_stop";
  }
  CHECK(right_message);
}

TEST_CASE("a should_stop that never stops changes nothing") {
  const RowMatrix x = data();
  gaussmix::EmOptions<double> options;
  options.max_iter = 5;
  const auto plain = gaussmix::fit_em<double>(x, start(), options);
  int polls = 0;
  options.execution = gaussmix::Execution(2, [&polls] {
    ++polls;
    return false;
  });
  const auto polled = gaussmix::fit_em<double>(x, start(), options);
  CHECK(polls >= 1);
  CHECK(plain.log_likelihood == polled.log_likelihood);
  CHECK(plain.mixture.means() == polled.mixture.means());
}

TEST_CASE("thread counts are capped by max_threads and by the work") {
  using gaussmix::detail::threads_for;
  CHECK(threads_for(40000) <= gaussmix::max_threads());
  CHECK(threads_for(2147483647, 1e30) <= gaussmix::max_threads());
  CHECK(threads_for(-5) >= 1);
  CHECK(threads_for(8, 10.0) == 1);  // a tiny problem runs on one thread
  CHECK(gaussmix::max_threads() >= 16);
  // An absurd request runs, with the results of one thread.
  const RowMatrix x = data();
  Labels one(x.rows()), many(x.rows());
  gaussmix::nearest_centres<double>(x, kCentres, one, 1);
  gaussmix::nearest_centres<double>(x, kCentres, many, 40000);
  CHECK(one == many);
  CHECK(gaussmix::log_likelihood<double>(x, start(), 40000) == gaussmix::log_likelihood<double>(x, start(), 1));
}

TEST_CASE("shapes are checked at the API boundary, D = 0 included") {
  const RowMatrix empty_cols(5, 0);
  CHECK_THROWS(gaussmix::Mixture<double>(Eigen::VectorXd::Ones(1), RowMatrix(1, 0), {Eigen::MatrixXd(0, 0)}),
               std::invalid_argument);
  CHECK_THROWS(gaussmix::FactorisedGaussian<double>(Eigen::VectorXd(0), Eigen::MatrixXd(0, 0)), std::invalid_argument);
  CHECK_THROWS(gaussmix::kmeans_lloyd<double>(empty_cols, RowMatrix(2, 0), 10), std::invalid_argument);
  CHECK_THROWS(gaussmix::kmeans_plus_plus<double>(empty_cols, 2, 1), std::invalid_argument);
  Labels labels(5);
  CHECK_THROWS(gaussmix::nearest_centres<double>(empty_cols, RowMatrix(2, 0), labels), std::invalid_argument);
  const RowMatrix x = data();
  Labels wrong(3);
  CHECK_THROWS(gaussmix::nearest_centres<double>(x, kCentres, wrong), std::invalid_argument);
  CHECK_THROWS(gaussmix::nearest_centres<double>(x, RowMatrix::Zero(2, 2), labels), std::invalid_argument);
  CHECK_THROWS(gaussmix::kmeans_lloyd<double>(x, RowMatrix::Zero(2, 4), 10), std::invalid_argument);
  RowMatrix not_finite = kCentres;
  not_finite(1, 1) = std::nan("");
  CHECK_THROWS(gaussmix::kmeans_lloyd<double>(x, not_finite, 10), std::invalid_argument);
  // float data: centres beyond float's range cannot be compared with it
  const gaussmix::RowMatrix<float> xf = x.cast<float>();
  CHECK_THROWS(gaussmix::kmeans_lloyd<float>(xf, kCentres * 1e300, 10), std::invalid_argument);
  // a float mixture whose whitening (1 / 1e-45) or means (1e40) exceed float's range
  const Eigen::MatrixXd tiny = 1e-90 * Eigen::MatrixXd::Identity(3, 3);
  CHECK_THROWS(gaussmix::Mixture<float>(Eigen::VectorXd::Ones(1), RowMatrix::Zero(1, 3), {tiny}), std::invalid_argument);
  CHECK_THROWS(gaussmix::Mixture<float>(Eigen::VectorXd::Ones(1), RowMatrix::Constant(1, 3, 1e40),
                                        {Eigen::MatrixXd::Identity(3, 3)}),
               std::invalid_argument);
  const gaussmix::Mixture<double> tiny_double(Eigen::VectorXd::Ones(1), RowMatrix::Zero(1, 3), {tiny});  // fine
  CHECK(std::isfinite(tiny_double.log_det(0)));
  // divergences
  const Eigen::VectorXd mu2 = Eigen::VectorXd::Zero(2);
  const Eigen::MatrixXd s2 = Eigen::MatrixXd::Identity(2, 2), s3 = Eigen::MatrixXd::Identity(3, 3);
  CHECK_THROWS(gaussmix::hellinger_affinity(mu2, s3, mu2, s2), std::invalid_argument);
  CHECK_THROWS(gaussmix::kl_divergence(mu2, s2, Eigen::VectorXd::Zero(3), s2), std::invalid_argument);
  CHECK_THROWS(gaussmix::pairwise(RowMatrix::Zero(2, 2), {s2, s3}, gaussmix::PairwiseMeasure::kl),
               std::invalid_argument);
  // statistics of another shape
  gaussmix::SufficientStats stats = gaussmix::accumulate_stats<double>(x, start());
  stats.second.pop_back();
  CHECK_THROWS(gaussmix::m_step<double>(stats), std::invalid_argument);
}

TEST_CASE("log-densities are exact for covariances from the subnormals to 1e300") {
  // Entries with few mantissa bits stay exact when scaled into the subnormals.
  const Eigen::VectorXd mean = (Eigen::VectorXd(2) << 0.5, -1.0).finished();
  const Eigen::MatrixXd cov = (Eigen::MatrixXd(2, 2) << 2.0, 0.5, 0.5, 1.0).finished();
  const RowMatrix x = reference::rows({{0.0, 0.0}, {1.5, -2.0}, {-3.0, 4.0}});
  for (int k : {-530, -500, -300, -40, 0, 40, 300, 500}) {
    const double s = two_to(k);
    const gaussmix::Mixture<double> mix(Eigen::VectorXd::Ones(1), RowMatrix(mean.transpose() * s),
                                        {Eigen::MatrixXd(cov * s * s)});
    Eigen::VectorXd out(x.rows());
    gaussmix::log_density<double>(RowMatrix(x * s), mix, out);
    for (Index i = 0; i < x.rows(); ++i) {
      // log N(s x | s m, s^2 S) = log N(x | m, S) - D log s
      const double expected = reference::log_normal(x.row(i).transpose(), mean, cov) - 2.0 * k * std::log(2.0);
      CHECK_NEAR(out[i], expected, 1e-12 * std::abs(expected) + 1e-12);
    }
  }
}

TEST_CASE("a covariance whose variables have very different scales factorises exactly") {
  // Variances 1e200 and 1e-200, correlation 0.5: positive definite whatever the units.
  const double a = 1e100, b = 1e-100;
  const Eigen::MatrixXd cov = (Eigen::MatrixXd(2, 2) << a * a, 0.5 * a * b, 0.5 * a * b, b * b).finished();
  const gaussmix::FactorisedGaussian<double> g(Eigen::VectorXd::Zero(2), cov);
  // log det = log(a^2 b^2 (1 - 0.25))
  CHECK_NEAR(g.log_det(), std::log(0.75), 1e-12);
  const Eigen::RowVector2d x(a, -b);  // z = (1, -1): z^T C^{-1} z with C = [[1, .5], [.5, 1]] is 4
  CHECK_NEAR((x * g.whitening()).squaredNorm(), 4.0, 1e-12);
  // A singular correlation is still refused.
  const Eigen::MatrixXd singular = (Eigen::MatrixXd(2, 2) << a * a, a * b, a * b, b * b).finished();
  CHECK_THROWS(gaussmix::FactorisedGaussian<double>(Eigen::VectorXd::Zero(2), singular), gaussmix::CovProblem);
}

TEST_CASE("k-means labels, centres and seeds do not depend on the data's magnitude") {
  const RowMatrix x = data();
  Labels reference_labels(x.rows());
  gaussmix::nearest_centres<double>(x, kCentres, reference_labels);
  const auto lloyd = gaussmix::kmeans_lloyd<double>(x, kCentres, 20);
  const RowMatrix seeds = gaussmix::kmeans_plus_plus<double>(x, 3, 11);
  for (int k : {-600, -560, -300, 0, 300, 530, 1000}) {  // 1e-180 .. 1e301
    const double s = two_to(k);
    const RowMatrix xs = x * s;
    Labels labels(x.rows());
    gaussmix::nearest_centres<double>(xs, kCentres * s, labels);
    CHECK(labels == reference_labels);
    const auto scaled = gaussmix::kmeans_lloyd<double>(xs, kCentres * s, 20);
    CHECK(scaled.labels == lloyd.labels);
    CHECK(scaled.n_iter == lloyd.n_iter);
    CHECK_ALL_NEAR(RowMatrix(scaled.centres / s), lloyd.centres, 1e-12);
    CHECK(gaussmix::kmeans_plus_plus<double>(xs, 3, 11) == seeds * s);
  }
  // Centres of very different magnitudes: squared distances from a row at 1e-150
  // underflow, one overflows. Row 0 is 3.3e-150 from centre 2 and 5.6e-150 from
  // centre 1; row 1 0.9e-150 from centre 2; row 2 is 1e299 from centres 1 and 2
  // (equal in double: the tie goes to 1), 9e299 from centre 0.
  {
    const RowMatrix mixed = reference::rows({{1e300}, {-2.30213286e-150}, {-4.59026476e-150}});
    const RowMatrix rows = reference::rows({{-7.89350534e-150}, {-3.68102712e-150}, {1e299}});
    Labels labels(3);
    gaussmix::nearest_centres<double>(rows, mixed, labels);
    CHECK(labels[0] == 2);
    CHECK(labels[1] == 2);
    CHECK(labels[2] == 1);
  }
  // float data at 1e20 (squared distances beyond float's range) and 1e-20.
  for (int k : {-66, 66}) {
    const float s = static_cast<float>(two_to(k));
    const gaussmix::RowMatrix<float> xs = x.cast<float>() * s;
    Labels labels(x.rows());
    gaussmix::nearest_centres<float>(xs, RowMatrix(kCentres * static_cast<double>(s)), labels);
    Labels unscaled(x.rows());
    gaussmix::nearest_centres<float>(gaussmix::RowMatrix<float>(x.cast<float>()), kCentres, unscaled);
    CHECK(labels == unscaled);
  }
}

TEST_CASE("float kernels far from the origin lose no precision to the rounded shift") {
  // 1e5 + unit noise: float holds x to ~4e-3, but the log-densities of those
  // float values must be as exact as float arithmetic on unit numbers allows.
  for (double offset : {1e5, 3e6}) {
    RowMatrix centres = reference::rows({{0.123456789, -0.3}, {1.7, 0.4}, {900.0, 0.0}});  // the last: far, own shift
    centres.array() += offset;
    const gaussmix::Mixture<double> mix64 = reference::isotropic_mixture(centres, 0.8);
    const gaussmix::Mixture<float> mix32(mix64.weights(), mix64.means(), mix64.covariances());
    CHECK(mix32.common_shift_ok() == false);  // 900 sd away: every component is scored around its own mean
    const gaussmix::Mixture<float> near32(Eigen::VectorXd::Constant(2, 0.5), centres.topRows(2),
                                          {mix64.covariances()[0], mix64.covariances()[1]});
    CHECK(near32.common_shift_ok());
    const gaussmix::Mixture<double> near64(near32.weights(), near32.means(), near32.covariances());
    const gaussmix::RowMatrix<float> xf = reference::clustered_data(2000, centres, 0.8, 3).cast<float>();
    const RowMatrix xd = xf.cast<double>();  // the same values, exactly
    // Float arithmetic on whitened values: a few eps of the log-density
    // itself (rows far from every component have large ones), and 2e-4 absolute.
    auto float_exact = [](const Eigen::VectorXd& f, const Eigen::VectorXd& d) {
      return ((f - d).array().abs() <= 2e-4 + 1e-6 * d.array().abs()).all();
    };
    Eigen::VectorXd f(xf.rows()), d(xf.rows());
    gaussmix::log_density<float>(xf, mix32, f);
    gaussmix::log_density<double>(xd, mix64, d);
    CHECK(float_exact(f, d));
    gaussmix::log_density<float>(xf, near32, f);
    gaussmix::log_density<double>(xd, near64, d);
    CHECK(float_exact(f, d));
  }
}

}  // namespace robustness_tests
