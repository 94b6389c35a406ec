// EM statistics and scores of rows with missing entries (missing.hpp) against
// a per-row transcription: each row's observed and missing index sets, its
// marginal density from reference::log_normal, the conditional mean and
// covariance of its missing block by explicit inverses; with reg_covar r, the
// penalised objective's: each component term times exp(-(r/2) sum over the
// observed j of (S_k^{-1})_jj), and each conditional covariance less r I
// (m_step adds r I back).
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include <gaussmix/gaussmix.hpp>

#include "check.hpp"
#include "reference.hpp"

namespace missing_tests {

using gaussmix::Index;
using reference::RowMatrix;

const double kNaN = std::numeric_limits<double>::quiet_NaN();

Eigen::MatrixXd spd(std::mt19937_64& rng, Index d) {
  std::normal_distribution<double> normal;
  Eigen::MatrixXd a(d, d);
  for (Index i = 0; i < d; ++i)
    for (Index j = 0; j < d; ++j) a(i, j) = normal(rng);
  return a * a.transpose() / static_cast<double>(d) + 0.5 * Eigen::MatrixXd::Identity(d, d);
}

/** 300 rows in R^4 from two clusters, about a quarter of the entries NaN (every row keeps one). */
RowMatrix data_with_holes() {
  const RowMatrix centres = reference::rows({{0.0, 0.0, 0.0, 0.0}, {3.0, -2.0, 1.0, 4.0}});
  RowMatrix x = reference::clustered_data(300, centres, 1.0, 7);
  std::mt19937_64 rng(8);
  std::uniform_real_distribution<double> u;
  for (Index i = 0; i < x.rows(); ++i) {
    for (Index j = 1; j < x.cols(); ++j)  // column 0 stays observed in every row
      if (u(rng) < 0.3) x(i, j) = kNaN;
    if (i % 7 == 3) x(i, 0) = kNaN, x(i, 1) = 0.5;  // some rows lose column 0 instead
  }
  return x;
}

gaussmix::Mixture<double> two_components(gaussmix::CovarianceType type) {
  std::mt19937_64 rng(3);
  const Eigen::Vector2d w(0.4, 0.6);
  const RowMatrix means = reference::rows({{0.2, 0.1, -0.3, 0.4}, {2.5, -1.5, 1.2, 3.5}});
  const Eigen::MatrixXd s0 = spd(rng, 4), s1 = spd(rng, 4);
  if (type == gaussmix::CovarianceType::diag) {
    RowMatrix v(2, 4);
    v.row(0) = s0.diagonal().transpose();
    v.row(1) = s1.diagonal().transpose();
    return gaussmix::Mixture<double>::diag(w, means, v);
  }
  return gaussmix::Mixture<double>(w, means, {s0, s1});
}

/** The statistics of rows with NaN (or, with complete_rows, of the rows
 *  without), by their definition, one row at a time. */
gaussmix::SufficientStats reference_stats(const RowMatrix& x, const gaussmix::Mixture<double>& mix,
                                          const RowMatrix& shifts, const Eigen::VectorXd& w, double reg_covar = 0.0,
                                          bool complete_rows = false) {
  const Index d = x.cols(), k_count = mix.n_components();
  gaussmix::SufficientStats s(mix.covariance_type(), shifts);
  std::vector<Eigen::MatrixXd> full(static_cast<std::size_t>(k_count), Eigen::MatrixXd::Zero(d, d));
  for (Index i = 0; i < x.rows(); ++i) {
    std::vector<Index> o, m;
    for (Index j = 0; j < d; ++j) (std::isnan(x(i, j)) ? m : o).push_back(j);
    if (m.empty() != complete_rows) continue;
    Eigen::VectorXd log_p(k_count);
    std::vector<Eigen::VectorXd> completed;
    std::vector<Eigen::MatrixXd> conditional;
    for (Index k = 0; k < k_count; ++k) {
      const Eigen::MatrixXd cov = mix.covariance(k);
      const Eigen::VectorXd mu = mix.means().row(k).transpose();
      Eigen::MatrixXd s_oo(o.size(), o.size()), s_mo(m.size(), o.size()), s_mm(m.size(), m.size());
      Eigen::VectorXd x_o(o.size()), mu_o(o.size());
      for (std::size_t a = 0; a < o.size(); ++a) {
        x_o[a] = x(i, o[a]);
        mu_o[a] = mu[o[a]];
        for (std::size_t b = 0; b < o.size(); ++b) s_oo(a, b) = cov(o[a], o[b]);
        for (std::size_t b = 0; b < m.size(); ++b) s_mo(b, a) = cov(m[b], o[a]);
      }
      for (std::size_t a = 0; a < m.size(); ++a)
        for (std::size_t b = 0; b < m.size(); ++b) s_mm(a, b) = cov(m[a], m[b]);
      const Eigen::MatrixXd precision = cov.inverse();
      double penalty = 0.0;
      for (Index j : o) penalty += 0.5 * reg_covar * precision(j, j);
      log_p[k] = std::log(mix.weights()[k]) + reference::log_normal(x_o, mu_o, s_oo) - penalty;
      const Eigen::MatrixXd inv = s_oo.inverse();
      Eigen::VectorXd row(d);
      for (std::size_t a = 0; a < o.size(); ++a) row[o[a]] = x_o[a];
      const Eigen::VectorXd cond_mean = s_mo * inv * (x_o - mu_o);
      Eigen::MatrixXd c = Eigen::MatrixXd::Zero(d, d);
      const Eigen::MatrixXd cond_cov = s_mm - s_mo * inv * s_mo.transpose() -
                                       reg_covar * Eigen::MatrixXd::Identity(m.size(), m.size());
      for (std::size_t a = 0; a < m.size(); ++a) {
        row[m[a]] = mu[m[a]] + cond_mean[a];
        for (std::size_t b = 0; b < m.size(); ++b) c(m[a], m[b]) = cond_cov(a, b);
      }
      completed.push_back(row);
      conditional.push_back(c);
    }
    const double top = log_p.maxCoeff();
    const double lse = top + std::log((log_p.array() - top).exp().sum());
    const double wi = w.size() ? w[i] : 1.0;
    s.log_likelihood += wi * lse;
    s.weight_sum += wi;
    s.n_rows += 1;
    for (Index k = 0; k < k_count; ++k) {
      const double r = wi * std::exp(log_p[k] - lse);
      const Eigen::VectorXd e = completed[static_cast<std::size_t>(k)] - shifts.row(k).transpose();
      s.resp_sum[k] += r;
      s.first.row(k) += r * e.transpose();
      full[static_cast<std::size_t>(k)] += r * (e * e.transpose() + conditional[static_cast<std::size_t>(k)]);
    }
  }
  for (Index k = 0; k < k_count; ++k) {
    const Eigen::MatrixXd& f = full[static_cast<std::size_t>(k)];
    switch (mix.covariance_type()) {
      case gaussmix::CovarianceType::full: s.second[static_cast<std::size_t>(k)] = f.triangularView<Eigen::Lower>(); break;
      case gaussmix::CovarianceType::tied: s.second.front() += Eigen::MatrixXd(f.triangularView<Eigen::Lower>()); break;
      case gaussmix::CovarianceType::diag: s.second.front().row(k) = f.diagonal().transpose(); break;
      case gaussmix::CovarianceType::spherical: s.second.front()(k, 0) = f.trace(); break;
    }
  }
  return s;
}

/** The rows of x without NaN. */
RowMatrix complete_rows_of(const RowMatrix& x) {
  std::vector<Index> keep;
  for (Index i = 0; i < x.rows(); ++i)
    if (!x.row(i).hasNaN()) keep.push_back(i);
  RowMatrix out(static_cast<Index>(keep.size()), x.cols());
  for (std::size_t r = 0; r < keep.size(); ++r) out.row(static_cast<Index>(r)) = x.row(keep[r]);
  return out;
}

/** mix under another covariance model: tied keeps component 0's covariance,
 *  diag the diagonals, spherical their means. */
gaussmix::Mixture<double> as_model(const gaussmix::Mixture<double>& mix, gaussmix::CovarianceType type) {
  const Index k_count = mix.n_components(), d = mix.dim();
  switch (type) {
    case gaussmix::CovarianceType::full: return mix;
    case gaussmix::CovarianceType::tied: return gaussmix::Mixture<double>::tied(mix.weights(), mix.means(), mix.covariance(0));
    case gaussmix::CovarianceType::diag: {
      RowMatrix v(k_count, d);
      for (Index k = 0; k < k_count; ++k) v.row(k) = mix.covariance(k).diagonal().transpose();
      return gaussmix::Mixture<double>::diag(mix.weights(), mix.means(), v);
    }
    case gaussmix::CovarianceType::spherical: break;
  }
  Eigen::VectorXd v(k_count);
  for (Index k = 0; k < k_count; ++k) v[k] = mix.covariance(k).diagonal().mean();
  return gaussmix::Mixture<double>::spherical(mix.weights(), mix.means(), v);
}

const gaussmix::CovarianceType kModels[] = {gaussmix::CovarianceType::full, gaussmix::CovarianceType::tied,
                                             gaussmix::CovarianceType::diag, gaussmix::CovarianceType::spherical};

void check_stats(const gaussmix::SufficientStats& got, const gaussmix::SufficientStats& want) {
  CHECK(got.n_rows == want.n_rows);
  CHECK_NEAR(got.weight_sum, want.weight_sum, 1e-10);
  CHECK_NEAR(got.log_likelihood, want.log_likelihood, 1e-9 * std::abs(want.log_likelihood));
  CHECK_ALL_NEAR(got.resp_sum, want.resp_sum, 1e-10);
  CHECK_ALL_NEAR(got.first, want.first, 1e-9);
  const bool triangles = want.covariance_type == gaussmix::CovarianceType::full ||
                         want.covariance_type == gaussmix::CovarianceType::tied;
  for (std::size_t k = 0; k < want.second.size(); ++k) {
    if (!triangles) {
      CHECK_ALL_NEAR(got.second[k], want.second[k], 1e-9);
      continue;
    }
    // D x D moments are defined by their lower triangle (some paths fill the upper one too).
    const Eigen::MatrixXd lower_got = got.second[k].triangularView<Eigen::Lower>();
    const Eigen::MatrixXd lower_want = want.second[k].triangularView<Eigen::Lower>();
    CHECK_ALL_NEAR(lower_got, lower_want, 1e-9);
  }
}

TEST_CASE("missing_patterns groups the rows with NaN by pattern, in order of first appearance") {
  const RowMatrix x = reference::rows({{1, kNaN, 3}, {1, 2, 3}, {kNaN, 2, 3}, {4, kNaN, 6}, {kNaN, kNaN, 1}});
  const gaussmix::MissingPatterns p = gaussmix::missing_patterns<double>(x);
  CHECK(p.n_rows == 5 && p.dim == 3 && p.n_patterns() == 3);
  CHECK((p.rows == std::vector<Index>{0, 3, 2, 4}));
  CHECK((p.starts == std::vector<Index>{0, 2, 3, 4}));
  CHECK((p.observed[0] == std::vector<Index>{0, 2}) && (p.missing[0] == std::vector<Index>{1}));
  CHECK((p.observed[2] == std::vector<Index>{2}) && (p.missing[2] == std::vector<Index>{0, 1}));
}

TEST_CASE("missing_stats are the expected complete-data statistics, full and diag, weighted or not") {
  const RowMatrix x = data_with_holes();
  const gaussmix::MissingPatterns patterns = gaussmix::missing_patterns<double>(x);
  Eigen::VectorXd w(x.rows());
  for (Index i = 0; i < x.rows(); ++i) w[i] = 0.5 + static_cast<double>(i % 5) * 0.3;
  w[10] = 0.0;
  for (auto type : {gaussmix::CovarianceType::full, gaussmix::CovarianceType::diag}) {
    const auto mix = two_components(type);
    const RowMatrix shifts = reference::rows({{0.5, 0.0, 0.0, 0.5}, {2.0, -1.0, 1.0, 3.0}});
    check_stats(gaussmix::missing_stats(x, patterns, mix, shifts), reference_stats(x, mix, shifts, Eigen::VectorXd()));
    check_stats(gaussmix::missing_stats(x, patterns, mix, shifts, {}, w), reference_stats(x, mix, shifts, w));
  }
}

TEST_CASE("with reg_covar, missing_stats and complete_row_stats are the penalised objective's, every model") {
  const RowMatrix x = data_with_holes();
  const RowMatrix complete = complete_rows_of(x);
  const gaussmix::MissingPatterns patterns = gaussmix::missing_patterns<double>(x);
  Eigen::VectorXd w(x.rows());
  for (Index i = 0; i < x.rows(); ++i) w[i] = 0.5 + static_cast<double>(i % 5) * 0.3;
  const double reg = 0.05;
  for (auto type : kModels) {
    const auto mix = as_model(two_components(gaussmix::CovarianceType::full), type);
    const RowMatrix shifts = reference::rows({{0.5, 0.0, 0.0, 0.5}, {2.0, -1.0, 1.0, 3.0}});
    check_stats(gaussmix::missing_stats(x, patterns, mix, shifts, {}, Eigen::VectorXd(), reg),
                reference_stats(x, mix, shifts, Eigen::VectorXd(), reg));
    check_stats(gaussmix::missing_stats(x, patterns, mix, shifts, {}, w, reg), reference_stats(x, mix, shifts, w, reg));
    const auto got = gaussmix::complete_row_stats(complete, mix, reg);
    check_stats(got, reference_stats(x, mix, got.shift, Eigen::VectorXd(), reg, true));
  }
}

TEST_CASE("penalised statistics merge only with statistics of the same reg_covar") {
  const RowMatrix x = data_with_holes();
  const auto patterns = gaussmix::missing_patterns<double>(x);
  const auto mix = two_components(gaussmix::CovarianceType::full);
  auto complete = gaussmix::complete_row_stats(complete_rows_of(x), mix, 0.01);
  CHECK_THROWS(complete.merge(gaussmix::missing_stats(x, patterns, mix, complete.shift)), std::invalid_argument);
  CHECK_THROWS(complete.merge(gaussmix::missing_stats(x, patterns, mix, complete.shift, {}, Eigen::VectorXd(), 0.02)),
               std::invalid_argument);
  complete.merge(gaussmix::missing_stats(x, patterns, mix, complete.shift, {}, Eigen::VectorXd(), 0.01));
  CHECK(complete.n_rows == x.rows());
  CHECK_THROWS(gaussmix::complete_row_stats(x, mix, -1.0), std::invalid_argument);
  CHECK_THROWS(gaussmix::missing_stats(x, patterns, mix, mix.means(), {}, Eigen::VectorXd(), kNaN), std::invalid_argument);
}

TEST_CASE("EM with missing values never lowers the penalised objective, where a column is observed in one row") {
  // scikit-learn's rule (reg_covar added to every variance, on top of the
  // conditional covariances) raised column 1's variance by reg_covar in every
  // iteration and lowered the log-likelihood in nearly every one.
  RowMatrix x = reference::clustered_data(500, reference::rows({{0, 0, 0}, {3, 3, 3}}), 1.0, 5);
  for (Index i = 1; i < x.rows(); ++i) x(i, 1) = kNaN;
  const RowMatrix complete = complete_rows_of(x);
  const auto patterns = gaussmix::missing_patterns<double>(x);
  const double reg = 0.01;
  for (auto type : kModels) {
    std::mt19937_64 rng(4);
    auto mix = as_model(gaussmix::Mixture<double>(Eigen::Vector2d(0.5, 0.5), reference::rows({{0.3, 0, 0}, {2.5, 3, 3}}),
                                                  {spd(rng, 3), spd(rng, 3)}),
                        type);
    double previous = -std::numeric_limits<double>::infinity();
    for (int iter = 0; iter < 200; ++iter) {
      gaussmix::SufficientStats stats = gaussmix::complete_row_stats(complete, mix, reg);
      stats.merge(gaussmix::missing_stats(x, patterns, mix, stats.shift, {}, Eigen::VectorXd(), reg));
      CHECK(stats.log_likelihood >= previous - 1e-12 * std::abs(stats.log_likelihood));
      previous = stats.log_likelihood;
      mix = gaussmix::m_step<double>(stats, Eigen::VectorXd(), reg);
    }
  }
}

TEST_CASE("missing_stats give the same bits on 1 and 2 threads") {
  RowMatrix x = reference::clustered_data(20000, reference::rows({{0, 0, 0}, {4, 4, 4}}), 1.0, 11);
  for (Index i = 0; i < x.rows(); i += 3) x(i, i % 3) = kNaN;
  const auto patterns = gaussmix::missing_patterns<double>(x);
  gaussmix::Mixture<double> mix(Eigen::Vector2d(0.5, 0.5), reference::rows({{0, 0, 0}, {4, 4, 4}}),
                                {Eigen::MatrixXd::Identity(3, 3), Eigen::MatrixXd::Identity(3, 3)});
  const RowMatrix shifts = mix.means();
  const auto one = gaussmix::missing_stats(x, patterns, mix, shifts, gaussmix::Execution(1));
  const auto two = gaussmix::missing_stats(x, patterns, mix, shifts, gaussmix::Execution(2));
  CHECK(one.log_likelihood == two.log_likelihood);
  CHECK(one.first == two.first && one.second[0] == two.second[0] && one.second[1] == two.second[1]);
}

TEST_CASE("missing_log_prob scores each row on its observed coordinates") {
  const RowMatrix x = data_with_holes();
  const auto patterns = gaussmix::missing_patterns<double>(x);
  const auto mix = two_components(gaussmix::CovarianceType::full);
  const RowMatrix got = gaussmix::missing_log_prob(x, patterns, mix);
  CHECK(got.rows() == static_cast<Index>(patterns.rows.size()));
  for (Index r = 0; r < got.rows(); ++r) {
    const Index i = patterns.rows[static_cast<std::size_t>(r)];
    std::vector<Index> o;
    for (Index j = 0; j < x.cols(); ++j)
      if (!std::isnan(x(i, j))) o.push_back(j);
    for (Index k = 0; k < 2; ++k) {
      const Eigen::MatrixXd cov = mix.covariance(k);
      Eigen::MatrixXd s(o.size(), o.size());
      Eigen::VectorXd xo(o.size()), mu(o.size());
      for (std::size_t a = 0; a < o.size(); ++a) {
        xo[a] = x(i, o[a]);
        mu[a] = mix.means()(k, o[a]);
        for (std::size_t b = 0; b < o.size(); ++b) s(a, b) = cov(o[a], o[b]);
      }
      CHECK_NEAR(got(r, k), std::log(mix.weights()[k]) + reference::log_normal(xo, mu, s), 1e-11);
    }
  }
}

TEST_CASE("missing_stats refuse a row with no observed value and patterns of another matrix") {
  const RowMatrix x = reference::rows({{1, 2}, {kNaN, kNaN}, {3, kNaN}});
  const auto patterns = gaussmix::missing_patterns<double>(x);
  const auto mix = gaussmix::Mixture<double>(Eigen::Vector2d(0.5, 0.5), reference::rows({{0, 0}, {1, 1}}),
                                             {Eigen::MatrixXd::Identity(2, 2), Eigen::MatrixXd::Identity(2, 2)});
  CHECK_THROWS(gaussmix::missing_stats(x, patterns, mix, mix.means()), std::invalid_argument);
  const RowMatrix other = reference::rows({{1, kNaN}});
  CHECK_THROWS(gaussmix::missing_log_prob(other, patterns, mix), std::invalid_argument);
}

}  // namespace missing_tests
