#pragma once
/** @file missing.hpp
 *  EM with missing values (Ghahramani & Jordan, 1994): the E-step statistics
 *  and the scores of rows with missing entries (NaN), missing at random.
 *
 *  A row with observed coordinates O and missing ones M is scored on O
 *  alone, by each component's marginal N(x_O | mu_kO, S_kOO). Its missing
 *  coordinates are completed per component by their conditional mean
 *  mu_kM + S_kMO S_kOO^{-1} (x_O - mu_kO), and the M-step's second moments
 *  add the conditional covariance S_kMM - S_kMO S_kOO^{-1} S_kOM of the
 *  missing block: the expected complete-data statistics. The statistics are
 *  an ordinary SufficientStats around the shifts given, so they merge with
 *  those of the complete rows (complete_row_stats) and go through the same
 *  m_step.
 *
 *  The regulariser reg_covar = r, as a penalised objective. m_step adds r to
 *  every variance; added to second moments that already hold a conditional
 *  covariance computed from last iteration's regularised covariance, r
 *  compounds (a column missing in every row of a component gains r per
 *  iteration without end; one observed in m of n rows settles r n / m too
 *  high), and the observed-data log-likelihood fell in most iterations.
 *  Instead, each observed entry carries the penalty, and EM is exact for
 *
 *    F(theta) = sum_i w_i log sum_k w_k N(x_iO | mu_kO, S_kOO)
 *                                   exp(-(r/2) sum_{j in O_i} (S_k^{-1})_jj),
 *
 *  the penalised observed-data log-likelihood (a complete row's penalty is
 *  (r/2) tr S_k^{-1}). Its EM: the E-step's responsibilities are proportional
 *  to the terms of the inner sum (the penalty is part of each row's
 *  component weight), and the M-step maximises
 *    sum_ik w_i r_ik [log w_k + E log N(x_i | mu_k, S_k) - (r/2) sum_{j in O_i} (S_k^{-1})_jj],
 *  linear in S_k^{-1} apart from log det: S_k = (Scatter_k + C_k + r D_k) / N_k
 *  with C_k the summed conditional covariances and D_k the diagonal of the
 *  responsibility each column is observed with (diag and spherical: the
 *  same maximiser within their constraint; tied: the sums over k divided by
 *  sum_k N_k). That is m_step's (it adds r I) when each missing block's
 *  conditional covariance enters the second moments less r I. On complete
 *  rows D_k = N_k I: scikit-learn's M-step. F never decreases (EM's
 *  argument: with q the responsibilities and conditionals of the current
 *  theta_t, F(theta) = G(theta) + H(theta), G the expected penalised
 *  complete-data log-likelihood the M-step maximises, H(theta) >= H(theta_t)
 *  by Gibbs' inequality, so F(theta_t+1) >= F(theta_t)). A column observed
 *  in m of n rows (independent of the others) now settles at its observed
 *  variance + r; one a component never observes keeps its variance.
 *
 *  Rows are grouped by missing pattern (missing_patterns.hpp, and
 *  pattern_conditionals of condition.hpp, which predict_missing uses too):
 *  each pattern's observed block is factorised once per component per call, and the rows of a pattern are scored in blocks as
 *  matrix products. Blocks are cut and reduced in a fixed order, so results
 *  do not depend on the thread count. The arithmetic is double whatever the
 *  data's precision (the statistics are double anyway).
 */
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "accumulate.hpp"
#include "condition.hpp"
#include "detail/config.hpp"
#include "detail/parallel.hpp"
#include "errors.hpp"
#include "missing_patterns.hpp"
#include "mixture.hpp"
#include "sample_weight.hpp"
#include "sufficient_stats.hpp"

namespace gaussmix {

namespace detail {

/** Rows of one pattern scored together: a slice rows[first, first + count)
 *  of MissingPatterns::rows, all of pattern `pattern`. */
struct PatternBlock {
  Index pattern, first, count;
};

/** Rows per PatternBlock: its K conditional-mean blocks (K |M| doubles a row)
 *  and the completed rows stay in L2. */
constexpr Index kPatternBlockRows = 256;

/** The blocks of every pattern, in pattern order. */
inline std::vector<PatternBlock> pattern_blocks(const MissingPatterns& patterns) {
  std::vector<PatternBlock> blocks;
  for (Index p = 0; p < patterns.n_patterns(); ++p) {
    const Index begin = patterns.starts[static_cast<std::size_t>(p)];
    const Index end = patterns.starts[static_cast<std::size_t>(p) + 1];
    for (Index first = begin; first < end; first += kPatternBlockRows)
      blocks.push_back({p, first, std::min(kPatternBlockRows, end - first)});
  }
  return blocks;
}

/** Scratch of one thread's PatternBlocks. */
struct PatternWorkspace {
  Eigen::MatrixXd observed;    ///< B x |O|: the block's observed values
  Eigen::MatrixXd diff;        ///< B x |O|: x_O - mu_kO
  Eigen::MatrixXd white;       ///< B x |O|: diff whitened by S_kOO
  Eigen::MatrixXd log_w;       ///< B x K: log w_k + log N(x_O | k); then weighted responsibilities
  Eigen::MatrixXd cond_means;  ///< B x K |M|: columns [k |M|, (k + 1) |M|) component k's conditional means
  Eigen::MatrixXd completed;   ///< B x D: a component's completed rows minus its shift
  Eigen::MatrixXd scaled;      ///< B x D: completed, rows times their responsibility
};

/** Fills ws.log_w (b x K) with log w_k + log N(x_O | mu_kO, S_kOO) for the
 *  block's rows and, with cond_means, ws.cond_means with their conditional
 *  means. */
template <typename Scalar>
void score_pattern_block(const DataRef<Scalar>& x, const MissingPatterns& patterns, const PatternBlock& block,
                         const std::vector<ComponentConditional>& factors, bool cond_means, PatternWorkspace& ws) {
  const auto& observed = patterns.observed[static_cast<std::size_t>(block.pattern)];
  const Index b = block.count, no = static_cast<Index>(observed.size());
  const Index nm = static_cast<Index>(patterns.missing[static_cast<std::size_t>(block.pattern)].size());
  const Index k_count = static_cast<Index>(factors.size());
  ws.observed.resize(b, no);
  ws.log_w.resize(b, k_count);
  if (cond_means) ws.cond_means.resize(b, k_count * nm);
  for (Index r = 0; r < b; ++r) {
    const Index row = patterns.rows[static_cast<std::size_t>(block.first + r)];
    for (Index t = 0; t < no; ++t) ws.observed(r, t) = static_cast<double>(x(row, observed[static_cast<std::size_t>(t)]));
  }
  for (Index k = 0; k < k_count; ++k) {
    const ComponentConditional& c = factors[static_cast<std::size_t>(k)];
    if (no == 0) {
      ws.log_w.col(k).setConstant(c.log_weight_norm);
      if (cond_means) ws.cond_means.middleCols(k * nm, nm).rowwise() = c.mean_a.transpose();
      continue;
    }
    ws.diff = ws.observed.rowwise() - c.mean_b.transpose();
    // Rows of diff times L^{-T}: the whitened observed values.
    ws.white.noalias() = ws.diff * c.whiten_b.transpose().triangularView<Eigen::Upper>();
    ws.log_w.col(k) = (c.log_weight_norm - 0.5 * ws.white.rowwise().squaredNorm().array()).matrix();
    if (cond_means) {
      auto means_k = ws.cond_means.middleCols(k * nm, nm);
      means_k.rowwise() = c.mean_a.transpose();
      means_k.noalias() += ws.diff * c.gain.transpose();
    }
  }
}

/** Adds one PatternBlock's statistics to stats: ws.log_w holds the block's
 *  log-weights (score_pattern_block), turned here into responsibilities.
 *  Each missing block's conditional covariance enters less reg_covar I, which
 *  m_step adds back: r counts only where a column is observed (file comment). */
inline void accumulate_pattern_block(const MissingPatterns& patterns, const PatternBlock& block,
                                     const std::vector<ComponentConditional>& factors, const double* w,
                                     CovarianceType type, double reg_covar, PatternWorkspace& ws,
                                     SufficientStats& stats) {
  const auto& observed = patterns.observed[static_cast<std::size_t>(block.pattern)];
  const auto& missing = patterns.missing[static_cast<std::size_t>(block.pattern)];
  const Index b = block.count, d = stats.first.cols(), k_count = ws.log_w.cols();
  const Index no = static_cast<Index>(observed.size()), nm = static_cast<Index>(missing.size());
  // Responsibilities in log space, times the row weights; the log-likelihood.
  for (Index r = 0; r < b; ++r) {
    const Index row = patterns.rows[static_cast<std::size_t>(block.first + r)];
    const double weight = w == nullptr ? 1.0 : w[row];
    auto lw = ws.log_w.row(r);
    const double top = lw.maxCoeff();
    if (weight == 0.0) {  // adds exactly nothing, as accumulate.hpp's weigh_block
      lw.setZero();
      continue;
    }
    stats.latent_entropy += weight * detail::posterior_entropy(lw);
    lw = (lw.array() - top).exp().matrix();
    const double sum = lw.sum();
    stats.log_likelihood += weight * (top + std::log(sum));
    stats.weight_sum += weight;
    lw *= weight / sum;
  }
  stats.n_rows += b;
  ws.completed.resize(b, d);
  for (Index k = 0; k < k_count; ++k) {
    const auto r = ws.log_w.col(k);
    const double r_sum = r.sum();
    if (r_sum == 0.0) continue;
    const auto shift = stats.shift.row(k);
    for (Index t = 0; t < no; ++t) {
      const Index j = observed[static_cast<std::size_t>(t)];
      ws.completed.col(j) = ws.observed.col(t).array() - shift[j];
    }
    for (Index t = 0; t < nm; ++t) {
      const Index j = missing[static_cast<std::size_t>(t)];
      ws.completed.col(j) = ws.cond_means.col(k * nm + t).array() - shift[j];
    }
    // A row of weight 0 has r = 0, and finite completed values: it adds 0.
    stats.resp_sum[k] += r_sum;
    stats.latent_entropy += r_sum * factors[static_cast<std::size_t>(k)].conditional_entropy;
    stats.first.row(k).noalias() += r.transpose() * ws.completed;
    const Eigen::MatrixXd& schur = factors[static_cast<std::size_t>(k)].schur;  // conditional covariance of M
    switch (type) {
      case CovarianceType::full:
      case CovarianceType::tied: {  // lower triangle of sum r (c c^T) plus r_sum times the conditional covariance
        auto& second = stats.second[type == CovarianceType::full ? static_cast<std::size_t>(k) : 0];
        ws.scaled = ws.completed.array().colwise() * r.array();
        second.triangularView<Eigen::Lower>() += ws.scaled.transpose() * ws.completed;
        for (Index s = 0; s < nm; ++s) {  // missing is increasing: (s, t) with t <= s is in the lower triangle
          for (Index t = 0; t <= s; ++t)
            second(missing[static_cast<std::size_t>(s)], missing[static_cast<std::size_t>(t)]) += r_sum * schur(s, t);
          second(missing[static_cast<std::size_t>(s)], missing[static_cast<std::size_t>(s)]) -= r_sum * reg_covar;
        }
        break;
      }
      case CovarianceType::diag: {
        auto second = stats.second.front().row(k);
        second.noalias() += r.transpose() * ws.completed.cwiseAbs2();
        for (Index s = 0; s < nm; ++s)
          second[missing[static_cast<std::size_t>(s)]] += r_sum * (schur(s, s) - reg_covar);
        break;
      }
      case CovarianceType::spherical:
        stats.second.front()(k, 0) += r.dot(ws.completed.rowwise().squaredNorm()) +
                                      r_sum * (schur.trace() - static_cast<double>(nm) * reg_covar);
        break;
    }
  }
}

/** K x D: entry (k, j) = (S_k^{-1})_jj, the diagonal of each component's
 *  precision, in double (full and tied: the squared rows of the whitening,
 *  S^{-1} = W W^T, from the same equilibrated factorisation as Mixture's). */
template <typename Scalar>
RowMatrix<double> precision_diagonals(const Mixture<Scalar>& mix) {
  const Index k_count = mix.n_components(), d = mix.dim();
  RowMatrix<double> out(k_count, d);
  switch (mix.covariance_type()) {
    case CovarianceType::full:
    case CovarianceType::tied: {
      const Eigen::VectorXd origin = Eigen::VectorXd::Zero(d);
      const auto& covs = mix.covariances();
      for (std::size_t c = 0; c < covs.size(); ++c) {
        const FactorisedGaussian<double> g(origin, covs[c]);
        out.row(static_cast<Index>(c)) = g.whitening().rowwise().squaredNorm().transpose();
      }
      if (mix.covariance_type() == CovarianceType::tied) out.rowwise() = Eigen::RowVectorXd(out.row(0));
      break;
    }
    case CovarianceType::diag: out = mix.variances().cwiseInverse(); break;
    case CovarianceType::spherical: out = mix.variances().cwiseInverse().replicate(1, d); break;
  }
  return out;
}

/** Statistics of the penalised objective carry the mixture's fingerprint with
 *  reg_covar's bits folded in (FNV-1a, as Mixture::fingerprint), so that they
 *  refuse to merge with statistics under another penalty or none. */
inline std::uint64_t penalised_fingerprint(std::uint64_t fingerprint, double reg_covar) {
  if (reg_covar == 0.0) return fingerprint;
  unsigned char bytes[sizeof(double)];
  std::memcpy(bytes, &reg_covar, sizeof bytes);
  for (unsigned char b : bytes) fingerprint = (fingerprint ^ b) * 1099511628211ull;
  return fingerprint;
}

/** The entropy of a Gaussian of covariance cov, (m log(2 pi e) + log det
 *  cov) / 2 (0 for m = 0); -inf when cov is singular in floating point (all
 *  its mass on a lower-dimensional set). */
inline double gaussian_entropy(const Eigen::MatrixXd& cov) {
  const Index m = cov.rows();
  if (m == 0) return 0.0;
  const Eigen::LLT<Eigen::MatrixXd> llt(cov);
  if (llt.info() != Eigen::Success) return -std::numeric_limits<double>::infinity();
  const double log_2_pi_e = std::log(2.0 * 3.14159265358979323846) + 1.0;
  return 0.5 * static_cast<double>(m) * log_2_pi_e + llt.matrixL().toDenseMatrix().diagonal().array().log().sum();
}

inline void check_reg_covar(const char* func, double reg_covar) {
  if (!std::isfinite(reg_covar) || reg_covar < 0.0)
    invalid_argument(std::string(func) + ": reg_covar must be finite and >= 0, got " + format_number(reg_covar));
}

inline void check_patterns(const char* func, const MissingPatterns& patterns, Index n, Index d, Index mix_dim) {
  if (patterns.n_rows != n || patterns.dim != d)
    invalid_argument(std::string(func) + ": the missing patterns were taken from a " +
                     std::to_string(patterns.n_rows) + " x " + std::to_string(patterns.dim) +
                     " matrix, not this " + std::to_string(n) + " x " + std::to_string(d) + " one");
  if (d != mix_dim)
    invalid_argument(std::string(func) + ": data has " + std::to_string(d) +
                     " columns but the mixture has dimension " + std::to_string(mix_dim));
}

}  // namespace detail

/**
 * The E-step statistics of the rows of x that have missing entries (the
 * rows patterns lists), under mix, around shifts (K x D; the complete rows'
 * statistics' shift, so that the two merge): responsibilities from the
 * observed coordinates, the missing ones completed by their conditional mean
 * per component, and the conditional covariance added to the second moments.
 * log_likelihood is the weighted sum of the rows' observed-data log
 * densities; latent_entropy the weighted sum of each row's E-step posterior
 * entropy over its label and its missing entries: -sum_k r_k log r_k plus
 * sum_k r_k times the entropy of component k's conditional N(x_M | x_O).
 * With reg_covar r > 0, the statistics of the penalised objective F (file
 * comment), for m_step with the same reg_covar: each row's component weight
 * carries exp(-(r/2) sum_{j in O} (S_k^{-1})_jj) (responsibilities and
 * log_likelihood, F's terms), each missing block's conditional covariance
 * enters less r I. They merge with complete_row_stats' of the same r only.
 * @param sample_weight  x.rows() weights (finite, >= 0) or empty.
 * @throws std::invalid_argument on a shape mismatch, a row with no observed
 *         value, an observed block that is not positive definite, or a
 *         reg_covar that is negative or not finite.
 * @throws Cancelled when execution.should_stop asked to stop.
 */
template <typename Scalar>
SufficientStats missing_stats(const DataArg<Scalar>& x, const MissingPatterns& patterns, const Mixture<Scalar>& mix,
                              const RowMatrix<double>& shifts, const Execution& execution = {},
                              const SampleWeightRef& sample_weight = detail::no_sample_weight(),
                              double reg_covar = 0.0) {
  const Index k_count = mix.n_components(), d = mix.dim();
  detail::check_patterns("missing_stats", patterns, x.rows(), x.cols(), d);
  detail::check_reg_covar("missing_stats", reg_covar);
  if (shifts.rows() != k_count || shifts.cols() != d || !shifts.allFinite())
    detail::invalid_argument("missing_stats: shifts must be finite, K x D");
  if (sample_weight.size() != 0) detail::check_sample_weight("missing_stats", sample_weight, x.rows());
  for (Index p = 0; p < patterns.n_patterns(); ++p)
    if (patterns.observed[static_cast<std::size_t>(p)].empty())
      detail::invalid_argument("missing_stats: row " +
                               std::to_string(patterns.rows[static_cast<std::size_t>(patterns.starts[static_cast<std::size_t>(p)])]) +
                               " has no observed value");
  detail::StopCheck stop(execution);
  auto factors = detail::pattern_conditionals(patterns, mix, execution.n_threads, stop, 0.0);
  for (auto& pattern : factors)
    for (auto& c : pattern) c.conditional_entropy = detail::gaussian_entropy(c.schur);
  if (reg_covar > 0.0) {  // the penalty of a pattern's observed entries joins its component weights
    const RowMatrix<double> precision = detail::precision_diagonals(mix);
    for (Index p = 0; p < patterns.n_patterns(); ++p)
      for (Index k = 0; k < k_count; ++k) {
        double penalty = 0.0;
        for (Index j : patterns.observed[static_cast<std::size_t>(p)]) penalty += precision(k, j);
        factors[static_cast<std::size_t>(p)][static_cast<std::size_t>(k)].log_weight_norm -= 0.5 * reg_covar * penalty;
      }
  }
  const auto blocks = detail::pattern_blocks(patterns);
  const CovarianceType type = mix.covariance_type();
  // Chunks of consecutive blocks, reduced in chunk order: as many as the
  // complete-data pass would make of these rows, whatever the thread count.
  const Index n_blocks = static_cast<Index>(blocks.size());
  const Index n_chunks =
      std::min(n_blocks, detail::chunks_for_stats(8.0 * detail::stats_size(type, k_count, d)));
  SufficientStats total(type, shifts);
  total.mixture_fingerprint = detail::penalised_fingerprint(mix.fingerprint(), reg_covar);
  if (n_blocks == 0) return total;
  std::vector<SufficientStats> chunk_stats(static_cast<std::size_t>(n_chunks), total);
  const double work = static_cast<double>(patterns.rows.size()) * static_cast<double>(k_count * d * d);
  const int threads = detail::threads_for(execution.n_threads, work);
  std::vector<detail::PatternWorkspace> workspaces(static_cast<std::size_t>(threads));
  const double* w = sample_weight.size() != 0 ? sample_weight.data() : nullptr;
  detail::parallel_for_chunks(n_chunks, threads, stop, [&](int thread, Index chunk) {
    detail::PatternWorkspace& ws = workspaces[static_cast<std::size_t>(thread)];
    for (Index i = chunk * n_blocks / n_chunks; i < (chunk + 1) * n_blocks / n_chunks && !stop.requested(); ++i) {
      const detail::PatternBlock& block = blocks[static_cast<std::size_t>(i)];
      const auto& f = factors[static_cast<std::size_t>(block.pattern)];
      detail::score_pattern_block(x, patterns, block, f, true, ws);
      detail::accumulate_pattern_block(patterns, block, f, w, type, reg_covar, ws,
                                       chunk_stats[static_cast<std::size_t>(chunk)]);
    }
  });
  for (const auto& s : chunk_stats) total.merge(s);
  return total;
}

/**
 * The statistics of the complete rows x (no NaN) of a fit with missing
 * values, under mix, to merge with missing_stats' of its other rows (around
 * the shifts these carry): accumulate_stats' for the same penalised
 * objective, each component's weight times exp(-(r/2) tr S_k^{-1}), r =
 * reg_covar (the complete rows' penalty in F, see the file comment; r = 0:
 * accumulate_stats' own). The fused kernels run under the mixture with those
 * weights, renormalised (log Z), and log_likelihood adds back weight_sum *
 * log Z. (Data without NaN fit by fit_em, scikit-learn's rule, untouched.)
 * @param sample_weight  x.rows() weights (finite, >= 0) or empty.
 * @param shifts  nullptr: around the shifts the mixture chooses; else every
 *        component's statistics around its row (a retake recentred_shifts
 *        asked for, as accumulate_stats_around).
 * @throws std::invalid_argument on bad weights or a bad reg_covar.
 * @throws Cancelled when execution.should_stop asked to stop.
 */
template <typename Scalar>
SufficientStats complete_row_stats(const DataArg<Scalar>& x, const Mixture<Scalar>& mix, double reg_covar,
                                   const Execution& execution = {},
                                   const SampleWeightRef& sample_weight = detail::no_sample_weight(),
                                   const RowMatrix<double>* shifts = nullptr) {
  detail::check_reg_covar("complete_row_stats", reg_covar);
  const auto stats_under = [&](const Mixture<Scalar>& m) {
    return shifts != nullptr ? accumulate_stats_around(x, m, *shifts, execution, sample_weight)
                             : accumulate_stats(x, m, execution, sample_weight);
  };
  if (reg_covar == 0.0) return stats_under(mix);
  // log w_k - (r/2) tr S_k^{-1}, normalised in log space (an empty component stays empty).
  Eigen::VectorXd log_w = mix.log_weights() - 0.5 * reg_covar * detail::precision_diagonals(mix).rowwise().sum();
  const double top = log_w.maxCoeff();
  const double log_z = top + std::log((log_w.array() - top).exp().sum());
  SufficientStats stats = stats_under(detail::remade<Scalar>(mix, (log_w.array() - log_z).exp().matrix()));
  stats.log_likelihood += stats.weight_sum * log_z;
  stats.mixture_fingerprint = detail::penalised_fingerprint(mix.fingerprint(), reg_covar);
  return stats;
}

/**
 * log w_k + log N(x_O | mu_kO, S_kOO) of every row patterns lists (in its
 * order, K columns): the component log-weights of rows scored on their
 * observed coordinates. A row with no observed value gets log w_k.
 * @throws std::invalid_argument on a shape mismatch or an observed block
 *         that is not positive definite.
 * @throws Cancelled when execution.should_stop asked to stop.
 */
template <typename Scalar>
RowMatrix<double> missing_log_prob(const DataArg<Scalar>& x, const MissingPatterns& patterns,
                                   const Mixture<Scalar>& mix, const Execution& execution = {}) {
  const Index k_count = mix.n_components();
  detail::check_patterns("missing_log_prob", patterns, x.rows(), x.cols(), mix.dim());
  detail::StopCheck stop(execution);
  const auto factors = detail::pattern_conditionals(patterns, mix, execution.n_threads, stop, 0.0);
  const auto blocks = detail::pattern_blocks(patterns);
  RowMatrix<double> out(static_cast<Index>(patterns.rows.size()), k_count);
  const double work = static_cast<double>(patterns.rows.size()) * static_cast<double>(k_count * mix.dim() * mix.dim());
  const int threads = detail::threads_for(execution.n_threads, work);
  std::vector<detail::PatternWorkspace> workspaces(static_cast<std::size_t>(threads));
  detail::parallel_for_chunks(static_cast<Index>(blocks.size()), threads, stop, [&](int thread, Index i) {
    detail::PatternWorkspace& ws = workspaces[static_cast<std::size_t>(thread)];
    const detail::PatternBlock& block = blocks[static_cast<std::size_t>(i)];
    detail::score_pattern_block(x, patterns, block, factors[static_cast<std::size_t>(block.pattern)], false, ws);
    out.middleRows(block.first, block.count) = ws.log_w;
  });
  return out;
}

}  // namespace gaussmix
