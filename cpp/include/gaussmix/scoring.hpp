#pragma once
/** @file scoring.hpp
 *  Scoring rows with a fixed mixture: per-component weighted log-densities,
 *  the mixture log-density, responsibilities, hard assignment and the total
 *  log-likelihood. Each runs the E-step's block kernels in parallel over row
 *  chunks and writes straight into its output: no N x D temporaries. Each
 *  takes an Execution (threads, cancellation; an int is a thread count).
 *  Each scores finite rows: X holding NaN or infinity throws NonFiniteData
 *  (a std::invalid_argument), found as the pass reads each block.
 */
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "detail/config.hpp"
#include "detail/far_rows.hpp"
#include "detail/parallel.hpp"
#include "detail/score_blocks.hpp"
#include "errors.hpp"
#include "mixture.hpp"

namespace gaussmix {

namespace detail {

/** out = the N x K block scores: weighted log-densities, or with normalise the
 *  responsibilities, in out's precision (Out: double or float). func names
 *  the caller in the error message. */
template <typename Scalar, typename Out>
void write_component_scores(const char* func, const DataRef<Scalar>& x, const Mixture<Scalar>& mix, bool normalise,
                            Eigen::Ref<RowMatrix<Out>> out, const Execution& execution) {
  if (out.rows() != x.rows() || out.cols() != mix.n_components())
    invalid_argument(std::string(func) + ": output must be N x K");
  std::vector<BlockWorkspace<Scalar>> ws;
  StopCheck stop(execution);
  for_each_scored_block(x, mix, execution.n_threads, stop, normalise, FiniteCheck::each_block, ws, [&](int, Index, Index begin, const auto& xb, auto& w) {
    out.middleRows(begin, xb.rows()) = w.log_prob.topRows(xb.rows()).template cast<Out>();
  });
}

/** out(i) = log p(x_i) in out's precision (Out: double or float). */
template <typename Scalar, typename Out>
void write_log_density(const DataRef<Scalar>& x, const Mixture<Scalar>& mix, Eigen::Ref<Eigen::Matrix<Out, Eigen::Dynamic, 1>> out,
                       const Execution& execution) {
  if (out.size() != x.rows()) invalid_argument("log_density: output must have N entries");
  std::vector<BlockWorkspace<Scalar>> ws;
  StopCheck stop(execution);
  for_each_scored_block(x, mix, execution.n_threads, stop, true, detail::FiniteCheck::each_block, ws, [&](int, Index, Index begin, const auto& xb, auto& w) {
    out.segment(begin, xb.rows()) = w.row_log_density.head(xb.rows()).template cast<Out>();
  });
}

}  // namespace detail

/**
 * out(i, k) = log w_k + log N(x_i | mean_k, cov_k).
 * @param x    N x D data.
 * @param out  N x K, written: double, or float (the scores rounded once at
 *             the end, e.g. for float data scored by a float model).
 */
template <typename Scalar>
void log_prob_components(const DataArg<Scalar>& x, const Mixture<Scalar>& mix,
                         Eigen::Ref<RowMatrix<double>> out, const Execution& execution = {}) {
  detail::write_component_scores<Scalar, double>("log_prob_components", x, mix, false, out, execution);
}
template <typename Scalar>
void log_prob_components(const DataArg<Scalar>& x, const Mixture<Scalar>& mix,
                         Eigen::Ref<RowMatrix<float>> out, const Execution& execution = {}) {
  detail::write_component_scores<Scalar, float>("log_prob_components", x, mix, false, out, execution);
}

/**
 * Responsibilities p(k | x_i); every row sums to 1.
 * @param out  N x K, written (double or float).
 */
template <typename Scalar>
void responsibilities(const DataArg<Scalar>& x, const Mixture<Scalar>& mix,
                      Eigen::Ref<RowMatrix<double>> out, const Execution& execution = {}) {
  detail::write_component_scores<Scalar, double>("responsibilities", x, mix, true, out, execution);
}
template <typename Scalar>
void responsibilities(const DataArg<Scalar>& x, const Mixture<Scalar>& mix,
                      Eigen::Ref<RowMatrix<float>> out, const Execution& execution = {}) {
  detail::write_component_scores<Scalar, float>("responsibilities", x, mix, true, out, execution);
}

/** out(i) = log p(x_i) = log sum_k w_k N(x_i | mean_k, cov_k), computed stably
 *  (out double or float). */
template <typename Scalar>
void log_density(const DataArg<Scalar>& x, const Mixture<Scalar>& mix, Eigen::Ref<Eigen::VectorXd> out,
                 const Execution& execution = {}) {
  detail::write_log_density<Scalar, double>(x, mix, out, execution);
}
template <typename Scalar>
void log_density(const DataArg<Scalar>& x, const Mixture<Scalar>& mix, Eigen::Ref<Eigen::VectorXf> out,
                 const Execution& execution = {}) {
  detail::write_log_density<Scalar, float>(x, mix, out, execution);
}

/** log_density(i) = log p(x_i) and log_map(i) = log max_k p(k | x_i), the
 *  log-responsibility of the row's most responsible component (the
 *  classification term of ICL), in one pass: no N x K result to write and
 *  reduce again. */
template <typename Scalar>
void log_density_and_map(const DataArg<Scalar>& x, const Mixture<Scalar>& mix, Eigen::Ref<Eigen::VectorXd> log_density,
                         Eigen::Ref<Eigen::VectorXd> log_map, const Execution& execution = {}) {
  if (log_density.size() != x.rows() || log_map.size() != x.rows())
    detail::invalid_argument("log_density_and_map: outputs must have N entries");
  std::vector<detail::BlockWorkspace<Scalar>> ws;
  detail::StopCheck stop(execution);
  detail::for_each_scored_block(x, mix, execution.n_threads, stop, true, detail::FiniteCheck::each_block, ws,
                                [&](int, Index, Index begin, const auto& xb, auto& w) {
                                  const Index b = xb.rows();
                                  log_density.segment(begin, b) = w.row_log_density.head(b).template cast<double>();
                                  for (Index i = 0; i < b; ++i)
                                    log_map[begin + i] = std::log(static_cast<double>(w.log_prob.row(i).maxCoeff()));
                                });
}

/** sum_i log p(x_i), accumulated in double per chunk and reduced in chunk order
 *  (the same value for any thread count). */
template <typename Scalar>
double log_likelihood(const DataArg<Scalar>& x, const Mixture<Scalar>& mix, const Execution& execution = {}) {
  const detail::RowPartition part(x.rows());
  std::vector<double> chunk_sums(static_cast<std::size_t>(part.n_chunks), 0.0);
  std::vector<detail::BlockWorkspace<Scalar>> ws;
  detail::StopCheck stop(execution);
  detail::for_each_scored_block(x, mix, execution.n_threads, stop, true, detail::FiniteCheck::each_block, ws, [&](int, Index chunk, Index, const auto& xb, auto& w) {
    chunk_sums[static_cast<std::size_t>(chunk)] +=
        w.row_log_density.head(xb.rows()).template cast<double>().sum();
  });
  double total = 0.0;
  for (double s : chunk_sums) total += s;
  return total;
}

/** out(i) = argmax_k of w_k N(x_i | k): the most responsible component, 0-based;
 *  ties go to the lowest index. A row far from every component gets
 *  far_row_posterior's most probable component (see normalise_rows). */
template <typename Scalar>
void assign_to_component(const DataArg<Scalar>& x, const Mixture<Scalar>& mix,
                         Eigen::Ref<Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>> out, const Execution& execution = {}) {
  if (out.size() != x.rows()) detail::invalid_argument("assign_to_component: output must have N entries");
  std::vector<detail::BlockWorkspace<Scalar>> ws;
  detail::StopCheck stop(execution);
  detail::for_each_scored_block(x, mix, execution.n_threads, stop, false, detail::FiniteCheck::each_block, ws, [&](int, Index, Index begin, const auto& xb, auto& w) {
    Eigen::VectorXd delta;
    double log_density = 0.0;
    for (Index i = 0; i < xb.rows(); ++i) {
      Index best = 0;
      if (!(w.log_prob.row(i).maxCoeff(&best) >= -detail::far_row_log_density<Scalar>()))
        best = detail::far_row_posterior(xb.row(i), mix, delta, log_density);
      out[begin + i] = static_cast<std::int64_t>(best);
    }
  });
}

}  // namespace gaussmix
