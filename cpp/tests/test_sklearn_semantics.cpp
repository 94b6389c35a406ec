// What scikit-learn's GaussianMixture needs of the core, against loops written
// out here: statistics under given responsibilities and labels (its starts),
// m_step_means and m_step's resp_offset (its 10 eps), fit_em's per-iteration
// log-likelihoods and warm-start rule, and scores written in float.
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include <gaussmix/gaussmix.hpp>

#include "check.hpp"
#include "reference.hpp"

namespace sklearn_semantics_tests {

using gaussmix::CovarianceType;
using gaussmix::Index;
using reference::RowMatrix;
using Labels = Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>;

const RowMatrix kCentres = reference::rows({{0.0, 0.0, 0.0}, {6.0, 1.0, -2.0}, {1.0, 7.0, 3.0}});
const CovarianceType kModels[] = {CovarianceType::full, CovarianceType::tied, CovarianceType::diag,
                                  CovarianceType::spherical};

/** Weighted means and scatter of the rows under responsibilities r (N x K) and
 *  weights w, written out: N_k = sum_i w_i r_ik, mean_k = sum_i w_i r_ik x_i / N_k,
 *  S_k = sum_i w_i r_ik (x_i - mean_k)(x_i - mean_k)^T. */
struct Moments {
  Eigen::VectorXd n;
  RowMatrix means;
  std::vector<Eigen::MatrixXd> scatter;
};

Moments moments(const RowMatrix& x, const RowMatrix& r, const Eigen::VectorXd& w) {
  const Index k_count = r.cols(), d = x.cols();
  Moments m{Eigen::VectorXd::Zero(k_count), RowMatrix::Zero(k_count, d), {}};
  for (Index k = 0; k < k_count; ++k) {
    for (Index i = 0; i < x.rows(); ++i) {
      m.n[k] += w[i] * r(i, k);
      m.means.row(k) += w[i] * r(i, k) * x.row(i);
    }
    m.means.row(k) /= m.n[k];
    Eigen::MatrixXd s = Eigen::MatrixXd::Zero(d, d);
    for (Index i = 0; i < x.rows(); ++i) {
      const Eigen::VectorXd dev = (x.row(i) - m.means.row(k)).transpose();
      s += w[i] * r(i, k) * dev * dev.transpose();
    }
    m.scatter.push_back(s);
  }
  return m;
}

/** The covariance of component k that a model's M-step makes of the moments, + reg. */
Eigen::MatrixXd model_covariance(CovarianceType type, const Moments& m, Index k, double reg) {
  const Index d = m.means.cols();
  Eigen::MatrixXd c = m.scatter[static_cast<std::size_t>(k)] / m.n[k];
  if (type == CovarianceType::tied) {
    c.setZero(d, d);
    for (const auto& s : m.scatter) c += s;
    c /= m.n.sum();
  } else if (type == CovarianceType::diag) {
    c = Eigen::MatrixXd(c.diagonal().asDiagonal());
  } else if (type == CovarianceType::spherical) {
    c = c.trace() / static_cast<double>(d) * Eigen::MatrixXd::Identity(d, d);
  }
  return c + reg * Eigen::MatrixXd::Identity(d, d);
}

/** Statistics under r, around a common first shift, then again around their means: the start's mixture. */
gaussmix::Mixture<double> start_from(const RowMatrix& x, const RowMatrix& r, CovarianceType type,
                                     const Eigen::VectorXd& w, double reg) {
  const RowMatrix first = x.row(0).replicate(r.cols(), 1);
  const auto means = gaussmix::m_step_means(gaussmix::responsibility_stats<double>(x, r, CovarianceType::spherical,
                                                                                   first, {}, w));
  return gaussmix::m_step<double>(gaussmix::responsibility_stats<double>(x, r, type, means.means, {}, w),
                                  Eigen::VectorXd(), reg);
}

bool close(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b, double rel) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         ((a - b).cwiseAbs().array() <= rel * std::max(1.0, b.cwiseAbs().maxCoeff())).all();
}

TEST_CASE("responsibility_stats + m_step give the weighted moments of given responsibilities, every model") {
  const RowMatrix x = reference::clustered_data(500, kCentres * 1e3, 1.0, 5);  // far from the first row
  RowMatrix r = RowMatrix::Random(500, 3).cwiseAbs();
  for (Index i = 0; i < r.rows(); ++i) r.row(i) /= r.row(i).sum();
  Eigen::VectorXd w = (Eigen::VectorXd::Random(500).array() + 1.5).matrix();
  w[3] = 0.0;
  const Moments want = moments(x, r, w);
  for (CovarianceType type : kModels) {
    const auto mix = start_from(x, r, type, w, 1e-6);
    CHECK(close(mix.weights(), want.n / want.n.sum(), 1e-12));
    CHECK(close(mix.means(), want.means, 1e-12));
    for (Index k = 0; k < 3; ++k) CHECK(close(mix.covariance(k), model_covariance(type, want, k, 1e-6), 1e-9));
  }
}

TEST_CASE("label_stats is responsibility_stats of one-hot rows; label -1 counts in no component") {
  const RowMatrix x = reference::clustered_data(400, kCentres, 1.0, 6);
  Labels labels(400);
  RowMatrix r = RowMatrix::Zero(400, 3);
  for (Index i = 0; i < 400; ++i) {
    labels[i] = i % 7 == 0 ? -1 : (i * 5) % 3;
    if (labels[i] >= 0) r(i, labels[i]) = 1.0;
  }
  const RowMatrix shifts = kCentres;
  for (CovarianceType type : kModels) {
    const auto a = gaussmix::label_stats<double>(x, labels, type, shifts);
    const auto b = gaussmix::responsibility_stats<double>(x, r, type, shifts);
    CHECK(close(a.resp_sum, b.resp_sum, 1e-14) && close(a.first, b.first, 1e-13));
    for (std::size_t c = 0; c < a.second.size(); ++c) CHECK(close(a.second[c], b.second[c], 1e-13));
    CHECK(a.weight_sum == 400.0 && a.n_rows == 400 && a.log_likelihood == 0.0);
  }
  // Weighted (zero weights among them), over several blocks, any thread count: the same
  // statistics as the one-hot responsibilities times the weights, the same bits for 1 and 3 threads.
  const RowMatrix many = reference::clustered_data(3000, kCentres, 1.0, 16);
  Labels many_labels(3000);
  Eigen::VectorXd w(3000);
  RowMatrix one_hot = RowMatrix::Zero(3000, 3);
  for (Index i = 0; i < 3000; ++i) {
    many_labels[i] = i % 7 == 0 ? -1 : (i * 5) % 3;
    w[i] = i % 11 == 0 ? 0.0 : 0.5 + (i % 13) * 0.25;
    if (many_labels[i] >= 0) one_hot(i, many_labels[i]) = 1.0;
  }
  for (CovarianceType type : kModels) {
    const auto a = gaussmix::label_stats<double>(many, many_labels, type, shifts, 1, w);
    const auto b = gaussmix::responsibility_stats<double>(many, one_hot, type, shifts, 1, w);
    CHECK(close(a.resp_sum, b.resp_sum, 1e-14) && close(a.first, b.first, 1e-13));
    for (std::size_t c = 0; c < a.second.size(); ++c) CHECK(close(a.second[c], b.second[c], 1e-13));
    CHECK(a.weight_sum == b.weight_sum && a.n_rows == 3000);
    const auto three = gaussmix::label_stats<double>(many, many_labels, type, shifts, 3, w);
    CHECK(three.resp_sum == a.resp_sum && three.first == a.first && three.second == a.second);
  }
  Labels bad = labels;
  bad[0] = 3;
  CHECK_THROWS(gaussmix::label_stats<double>(x, bad, CovarianceType::full, shifts), std::invalid_argument);
  bad[0] = -2;
  CHECK_THROWS(gaussmix::label_stats<double>(x, bad, CovarianceType::full, shifts), std::invalid_argument);
  RowMatrix negative = r;
  negative(5, 1) = -0.5;
  CHECK_THROWS(gaussmix::responsibility_stats<double>(x, negative, CovarianceType::full, shifts), std::invalid_argument);
  CHECK_THROWS(gaussmix::responsibility_stats<double>(x, r.leftCols(2), CovarianceType::full, shifts),
               std::invalid_argument);
}

TEST_CASE("given-responsibility statistics are the same for 1, 2 and 3 threads, and float data rounds like float") {
  const RowMatrix x = reference::clustered_data(20000, kCentres, 1.0, 7);
  RowMatrix r = RowMatrix::Random(20000, 3).cwiseAbs();
  const RowMatrix shifts = kCentres;
  for (CovarianceType type : kModels) {
    const auto one = gaussmix::responsibility_stats<double>(x, r, type, shifts, 1);
    for (int threads : {2, 3}) {
      const auto many = gaussmix::responsibility_stats<double>(x, r, type, shifts, threads);
      CHECK(one.resp_sum == many.resp_sum && one.first == many.first && one.second == many.second);
    }
    const gaussmix::RowMatrix<float> xf = x.cast<float>();
    const auto f = gaussmix::responsibility_stats<float>(xf, r, type, shifts);
    CHECK(close(f.resp_sum, one.resp_sum, 1e-6) && close(f.first, one.first, 1e-4));
  }
}

TEST_CASE("m_step's resp_offset: a component without rows keeps a tiny weight, its shift and reg_covar") {
  const RowMatrix x = reference::clustered_data(300, kCentres, 1.0, 8);
  Labels labels(300);
  for (Index i = 0; i < 300; ++i) labels[i] = i % 2;  // component 2 gets no row
  const RowMatrix shifts = kCentres;
  const double offset = 10 * std::numeric_limits<double>::epsilon();
  for (CovarianceType type : {CovarianceType::full, CovarianceType::diag, CovarianceType::spherical}) {
    const auto stats = gaussmix::label_stats<double>(x, labels, type, shifts);
    CHECK_THROWS(gaussmix::m_step<double>(stats, Eigen::VectorXd(), 1e-6), gaussmix::CovProblem);
    const auto mix = gaussmix::m_step<double>(stats, Eigen::VectorXd(), 1e-6, offset);
    CHECK_NEAR(mix.weights()[2], offset / (300.0 + 3 * offset), 1e-30);
    CHECK(mix.means().row(2) == shifts.row(2));
    CHECK(close(mix.covariance(2), 1e-6 * Eigen::MatrixXd::Identity(3, 3), 1e-12));
    const auto wm = gaussmix::m_step_means(stats, offset);
    CHECK(wm.weights == mix.weights() && wm.means == mix.means());
    CHECK_THROWS(gaussmix::m_step<double>(stats, Eigen::VectorXd(), 0.0, offset), gaussmix::CovProblem);
  }
  const auto stats = gaussmix::label_stats<double>(x, labels, CovarianceType::full, shifts);
  CHECK_THROWS(gaussmix::m_step_means(stats, -1.0), std::invalid_argument);
  CHECK_THROWS(gaussmix::m_step_means(stats, NAN), std::invalid_argument);
}

TEST_CASE("fit_em returns every iteration's log-likelihood; previous_log_likelihood is the warm start's") {
  const RowMatrix x = reference::clustered_data(900, kCentres, 1.0, 9);
  const auto start = reference::isotropic_mixture(kCentres + RowMatrix::Constant(3, 3, 0.5), 1.5);
  gaussmix::EmOptions<double> options;
  options.max_iter = 200;
  options.delta_stop = 1e-4;
  options.delta_stop_count_end = 1;
  options.average_log_likelihood = true;
  std::vector<double> seen;
  options.callback = [&seen](int, double loglik, const gaussmix::Mixture<double>&) { seen.push_back(loglik); };
  const auto fit = gaussmix::fit_em(x, start, options);
  CHECK(fit.converged && fit.n_iter > 2);
  CHECK(fit.log_likelihoods == seen && fit.log_likelihoods.back() == fit.log_likelihood);
  // Continuing from the converged fit with its lower bound stops at once.
  options.callback = nullptr;
  options.previous_log_likelihood = fit.log_likelihood / fit.weight_sum;
  const auto resumed = gaussmix::fit_em(x, fit.mixture, options);
  CHECK(resumed.converged && resumed.n_iter == 1);
  // Without it, the first change is never small.
  options.previous_log_likelihood = std::numeric_limits<double>::quiet_NaN();
  const auto fresh = gaussmix::fit_em(x, fit.mixture, options);
  CHECK(fresh.n_iter == 2);
}

TEST_CASE("scores written in float are the double scores rounded once") {
  const RowMatrix x = reference::clustered_data(3000, kCentres, 1.0, 10);
  const auto mix = reference::isotropic_mixture(kCentres, 1.2);
  RowMatrix d(3000, 3);
  gaussmix::RowMatrix<float> f(3000, 3);
  gaussmix::responsibilities<double>(x, mix, d);
  gaussmix::responsibilities<double>(x, mix, f);
  CHECK(f == d.cast<float>());
  gaussmix::log_prob_components<double>(x, mix, d);
  gaussmix::log_prob_components<double>(x, mix, f);
  CHECK(f == d.cast<float>());
  Eigen::VectorXd dv(3000);
  Eigen::VectorXf fv(3000);
  gaussmix::log_density<double>(x, mix, dv);
  gaussmix::log_density<double>(x, mix, fv);
  CHECK(fv == dv.cast<float>());
}

}  // namespace sklearn_semantics_tests
