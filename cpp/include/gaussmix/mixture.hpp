#pragma once
/** @file mixture.hpp
 *  The Gaussian mixture, its factorised components, and scoring of rows:
 *  per-component weighted log-densities, the mixture log-density,
 *  responsibilities, hard assignment and the total log-likelihood.
 */
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "detail/config.hpp"
#include "detail/parallel.hpp"
#include "errors.hpp"
#include "gaussian.hpp"

namespace gaussmix {

/** Tolerance on |sum(weights) - 1| accepted by Mixture. */
constexpr double kWeightSumTolerance = 1e-6;

namespace detail {

/** Columns of whitened output one product produces: components are whitened
 *  in groups so that the B x 128 output stays in cache. */
constexpr Index kWhiteningColumns = 128;
/** Whitened columns per panel when D is larger. The whitening matrices are
 *  lower triangular, so whitened columns [j0, j0 + w) need only columns
 *  j0.. of x - c: panels of 8 skip most of the zero triangle (25% of the
 *  multiply-adds at D = 16, 37% at D = 32, 44% at D = 64). Measured, 1
 *  thread, s/iter with panels of 4 / 8 / 16 / none: 2e5 x 32, K = 16: 0.127 /
 *  0.129 / 0.135 / 0.146; 5e4 x 64, K = 8: 0.055 / 0.054 / 0.056 / 0.068. */
constexpr Index kWhiteningPanel = 8;

/** Whitened columns per panel for dimension dim (all of them below 32). */
inline Index whitening_panel_width(Index dim) { return dim >= 2 * kWhiteningPanel ? kWhiteningPanel : dim; }
/** Components whitened together, one panel at a time, for dimension dim. */
inline Index whitening_group(Index dim) { return std::max<Index>(1, kWhiteningColumns / whitening_panel_width(dim)); }

}  // namespace detail

/**
 * One product of the E-step around the common shift c: the whitened columns
 * [first_col, first_col + width) of components first_component ..
 * first_component + count - 1 are (x - c)[first_col:] * stacked.
 */
template <typename Scalar>
struct WhiteningPanel {
  Index first_component = 0;
  Index count = 0;
  Index first_col = 0;
  Index width = 0;
  Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> stacked;  ///< (D - first_col) x (count width)
};

/**
 * A K-component Gaussian mixture over R^D: weights (K), means (K x D, one per
 * row) and covariances (K matrices D x D), stored in double, plus the
 * factorisation of every component in the kernels' precision Scalar.
 *
 * A Mixture is immutable: EM produces a new one each iteration.
 */
template <typename Scalar>
class Mixture {
 public:
  /**
   * @throws std::invalid_argument if K = 0, shapes disagree, a weight is
   *         negative or not finite, or the weights do not sum to 1 (within 1e-6).
   * @throws CovProblem if a covariance is not positive definite.
   */
  Mixture(Eigen::VectorXd weights, RowMatrix<double> means, std::vector<Eigen::MatrixXd> covariances)
      : weights_(std::move(weights)), means_(std::move(means)), covariances_(std::move(covariances)) {
    const Index k = weights_.size();
    if (k < 1) detail::invalid_argument("a mixture needs at least one component");
    if (means_.rows() != k || static_cast<Index>(covariances_.size()) != k)
      detail::invalid_argument("mixture: " + std::to_string(k) + " weights but " +
                               std::to_string(means_.rows()) + " means and " +
                               std::to_string(covariances_.size()) + " covariances");
    if (!weights_.allFinite() || (weights_.array() < 0.0).any())
      detail::invalid_argument("mixture: weights must be finite and non-negative");
    if (std::abs(weights_.sum() - 1.0) > kWeightSumTolerance)
      detail::invalid_argument("mixture: weights must sum to 1, they sum to " +
                               std::to_string(weights_.sum()));
    components_.reserve(static_cast<std::size_t>(k));
    log_weights_.resize(k);
    for (Index c = 0; c < k; ++c) {
      components_.emplace_back(means_.row(c).transpose(), covariances_[static_cast<std::size_t>(c)],
                               "component " + std::to_string(c));
      log_weights_[c] = std::log(weights_[c]);  // -inf for an empty component, as it should be
    }
    cache_common_shift();
  }

  /** K, the number of components. */
  Index n_components() const { return weights_.size(); }
  /** D, the dimension of the data. */
  Index dim() const { return means_.cols(); }
  /** K mixing weights, non-negative, summing to 1. */
  const Eigen::VectorXd& weights() const { return weights_; }
  /** log of the weights (-inf for a zero weight). */
  const Eigen::VectorXd& log_weights() const { return log_weights_; }
  /** K x D, row k the mean of component k. */
  const RowMatrix<double>& means() const { return means_; }
  /** K covariance matrices, D x D each. */
  const std::vector<Eigen::MatrixXd>& covariances() const { return covariances_; }
  /** Component k's factorisation (0 <= k < K, unchecked). */
  const FactorisedGaussian<Scalar>& component(Index k) const {
    return components_[static_cast<std::size_t>(k)];
  }

  /** The common shift c = sum_k w_k mean_k (the mixture's mean). The row
   *  kernels may work with x - c for all components at once, since
   *  (x - mean_k)^T W_k = (x - c)^T W_k - (mean_k - c)^T W_k. */
  const Eigen::Matrix<Scalar, 1, Eigen::Dynamic>& shift() const { return shift_; }
  /** The E-step's whitening products around the common shift, in order:
   *  for each group of components, its column panels from left to right. */
  const std::vector<WhiteningPanel<Scalar>>& whitening_panels() const { return whitening_panels_; }
  /** K x D: row k is (mean_k - c)^T W_k, mean_k's distance from the shift in
   *  component k's standard deviations. */
  const RowMatrix<Scalar>& whitened_offsets() const { return whitened_offsets_; }
  /**
   * Whether the E-step works around the common shift: whitening x - c
   * instead of x - mean_k costs about eps * |offset_k| of absolute precision
   * in the whitened values, kept below 1e-5 (always true in double; in float
   * while every mean is within ~84 standard deviations of c).
   */
  bool common_shift_ok() const { return common_shift_ok_; }
  /**
   * Whether component k's M-step statistics must be taken around its own
   * mean: statistics around c lose about eps * |offset_k|^2 of a covariance's
   * relative precision to cancellation, allowed up to 1e-11 (double) or 1e-4
   * (float). Always true when the E-step does not use the common shift.
   */
  bool needs_own_shift(Index k) const { return own_shift_[static_cast<std::size_t>(k)] != 0; }
  /** Whether any component needs its own shift. */
  bool any_own_shift() const { return std::any_of(own_shift_.begin(), own_shift_.end(), [](char c) { return c != 0; }); }

 private:
  void cache_common_shift() {
    const Index k = n_components(), d = dim();
    const Eigen::RowVectorXd shift = weights_.transpose() * means_;
    RowMatrix<double> offsets(k, d);
    for (Index c = 0; c < k; ++c)
      offsets.row(c) = (means_.row(c) - shift) * components_[static_cast<std::size_t>(c)].whitening().template cast<double>();
    shift_ = shift.cast<Scalar>();
    whitened_offsets_ = offsets.cast<Scalar>();
    cache_whitening_panels();
    const double eps = static_cast<double>(std::numeric_limits<Scalar>::epsilon());
    const double tolerance = std::is_same_v<Scalar, double> ? 1e-11 : 1e-4;
    const Eigen::VectorXd offset2 = offsets.rowwise().squaredNorm();
    common_shift_ok_ = eps * std::sqrt(offset2.maxCoeff()) <= 1e-5;
    own_shift_.assign(static_cast<std::size_t>(k), 1);
    if (common_shift_ok_)
      for (Index c = 0; c < k; ++c) own_shift_[static_cast<std::size_t>(c)] = eps * offset2[c] > tolerance ? 1 : 0;
  }

  void cache_whitening_panels() {
    const Index k = n_components(), d = dim();
    const Index width = detail::whitening_panel_width(d), group = detail::whitening_group(d);
    whitening_panels_.clear();
    for (Index first = 0; first < k; first += group)
      for (Index col = 0; col < d; col += width) {
        WhiteningPanel<Scalar> panel;
        panel.first_component = first;
        panel.count = std::min(group, k - first);
        panel.first_col = col;
        panel.width = std::min(width, d - col);
        panel.stacked.resize(d - col, panel.count * panel.width);
        for (Index g = 0; g < panel.count; ++g)
          panel.stacked.middleCols(g * panel.width, panel.width) =
              components_[static_cast<std::size_t>(first + g)].whitening().block(col, col, d - col, panel.width);
        whitening_panels_.push_back(std::move(panel));
      }
  }

  Eigen::VectorXd weights_;
  RowMatrix<double> means_;
  std::vector<Eigen::MatrixXd> covariances_;
  Eigen::VectorXd log_weights_;
  std::vector<FactorisedGaussian<Scalar>> components_;
  Eigen::Matrix<Scalar, 1, Eigen::Dynamic> shift_;
  std::vector<WhiteningPanel<Scalar>> whitening_panels_;
  RowMatrix<Scalar> whitened_offsets_;
  bool common_shift_ok_ = false;
  std::vector<char> own_shift_;
};

namespace detail {

/** Per-thread scratch for one row block; sized once, reused for every block. */
template <typename Scalar>
struct BlockWorkspace {
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  Matrix delta;     ///< B x D: block rows minus the common shift, or minus one component's mean
  Matrix white;     ///< delta whitened by one panel (or one component); also scratch
  Matrix log_prob;  ///< B x K: weighted log-densities, then responsibilities
  Eigen::Matrix<Scalar, Eigen::Dynamic, 1> row_log_density;  ///< B

  void resize(Index dim, Index n_components) {
    if (delta.cols() == dim && log_prob.cols() == n_components) return;
    delta.resize(kBlockRows, dim);
    white.resize(kBlockRows, std::max(dim, std::min(n_components, whitening_group(dim)) * whitening_panel_width(dim)));
    log_prob.resize(kBlockRows, n_components);
    row_log_density.resize(kBlockRows);
  }
};

template <typename Scalar>
using BlockRef = Eigen::Block<const DataRef<Scalar>, Eigen::Dynamic, Eigen::Dynamic, true>;

/**
 * ws.log_prob(i, k) = log w_k + log N(x_i | mean_k, cov_k) for the rows of xb.
 * Around the common shift, one product whitens the block for a whole group
 * of components, a panel of columns at a time (see WhiteningPanel), and
 * ws.delta keeps x - c for the M-step; otherwise each component whitens
 * x - mean_k on its own.
 */
template <typename Scalar>
void weighted_log_prob(const BlockRef<Scalar>& xb, const Mixture<Scalar>& mix, BlockWorkspace<Scalar>& ws) {
  const Index b = xb.rows(), d = mix.dim();
  auto delta = ws.delta.topRows(b);
  if (!mix.common_shift_ok()) {
    auto maha = ws.row_log_density.head(b).array();  // scratch until normalise_rows
    for (Index k = 0; k < mix.n_components(); ++k) {
      const FactorisedGaussian<Scalar>& g = mix.component(k);
      auto white = ws.white.topLeftCorner(b, d);
      delta = xb.rowwise() - g.mean();
      white.noalias() = delta * g.whitening();
      maha = white.rowwise().squaredNorm().array();
      const Scalar constant = static_cast<Scalar>(mix.log_weights()[k] + g.log_norm());
      ws.log_prob.col(k).head(b).array() = constant - Scalar(0.5) * maha;
    }
    return;
  }
  delta = xb.rowwise() - mix.shift();
  const auto& offsets = mix.whitened_offsets();
  for (const WhiteningPanel<Scalar>& panel : mix.whitening_panels()) {
    const Index w = panel.width, j0 = panel.first_col;
    auto white = ws.white.topLeftCorner(b, panel.count * w);
    white.noalias() = delta.rightCols(d - j0) * panel.stacked;
    for (Index g = 0; g < panel.count; ++g) {
      // log_prob.col(k) collects component k's squared norm over its panels.
      const Index k = panel.first_component + g;
      auto maha_k = ws.log_prob.col(k).head(b).array();
      if (j0 == 0) maha_k.setZero();
      const auto cols = white.middleCols(g * w, w).array();
      Index j = 0;
      for (; j + 4 <= w; j += 4)  // four columns a pass: fewer loads and stores of maha_k
        maha_k += (cols.col(j) - offsets(k, j0 + j)).square() + (cols.col(j + 1) - offsets(k, j0 + j + 1)).square() +
                  (cols.col(j + 2) - offsets(k, j0 + j + 2)).square() + (cols.col(j + 3) - offsets(k, j0 + j + 3)).square();
      for (; j < w; ++j) maha_k += (cols.col(j) - offsets(k, j0 + j)).square();
      if (j0 + w == d) {
        const Scalar constant = static_cast<Scalar>(mix.log_weights()[k] + mix.component(k).log_norm());
        maha_k = constant - Scalar(0.5) * maha_k;
      }
    }
  }
}

/** Replaces the first b rows of ws.log_prob by responsibilities (rows sum to 1)
 *  and stores each row's log-density (log-sum-exp) in ws.row_log_density.
 *  A row whose every weighted density underflows to zero gets log-density
 *  -inf and zero responsibilities instead of NaN. */
template <typename Scalar>
void normalise_rows(Index b, BlockWorkspace<Scalar>& ws) {
  auto lp = ws.log_prob.topRows(b).array();
  auto lse = ws.row_log_density.head(b).array();
  lse = lp.rowwise().maxCoeff();
  for (Index i = 0; i < b; ++i)
    if (!std::isfinite(lse[i])) lse[i] = -std::numeric_limits<Scalar>::infinity();
  // Column by column, so that exp runs on plain vectors (Eigen vectorises
  // those). Eigen's vector exp clamps its argument at about -709 instead of
  // underflowing to 0, which would hand a far-away component a responsibility
  // of 1e-308 where 0 is right: such arguments are mapped to exactly 0.
  const Scalar underflow = std::log(std::numeric_limits<Scalar>::min());
  for (Index k = 0; k < lp.cols(); ++k) {
    auto shifted = ws.white.col(0).head(b).array();  // scratch
    shifted = lp.col(k) - lse;
    lp.col(k) = shifted.exp();  // NaN on dead rows: fixed below
    // A separate, branch-free pass that the compiler vectorises (a compare
    // and a blend): exp inside select() would run scalar, and a test per
    // element ran scalar too, which cost 30% of a float iteration, where
    // exp(-87) already underflows and most blocks have such entries.
    Scalar* column = &lp.coeffRef(0, k);
    const Scalar* arg = shifted.data();
    for (Index i = 0; i < b; ++i) column[i] = arg[i] < underflow ? Scalar(0) : column[i];
  }
  auto sums = ws.white.col(0).head(b).array();  // scratch, free again
  sums = lp.col(0);
  for (Index k = 1; k < lp.cols(); ++k) sums += lp.col(k);
  for (Index k = 0; k < lp.cols(); ++k) lp.col(k) /= sums;
  lse += sums.log();
  for (Index i = 0; i < b; ++i)
    if (!std::isfinite(lse[i])) {
      lse[i] = -std::numeric_limits<Scalar>::infinity();
      lp.row(i).setZero();
    }
}

/**
 * The block driver shared by scoring and EM: for every row block of X, in
 * parallel over chunks, computes the weighted log-densities (and with
 * normalise, the responsibilities and row log-densities) into the calling
 * thread's workspace, then calls visit(thread, chunk, first_row, xb, ws).
 * workspaces is grown to the thread count and reused as it is.
 */
template <typename Scalar, typename Visit>
void for_each_scored_block(const DataRef<Scalar>& x, const Mixture<Scalar>& mix, int n_threads,
                           bool normalise, std::vector<BlockWorkspace<Scalar>>& workspaces,
                           Visit&& visit) {
  if (x.cols() != mix.dim())
    invalid_argument("data has " + std::to_string(x.cols()) + " columns but the mixture has dimension " +
                     std::to_string(mix.dim()));
  const double work = static_cast<double>(x.rows()) * static_cast<double>(mix.n_components()) *
                      static_cast<double>(mix.dim() * mix.dim() + 1);
  const int threads = threads_for_work(resolve_threads(n_threads), work);
  if (static_cast<int>(workspaces.size()) < threads) workspaces.resize(static_cast<std::size_t>(threads));
  for (auto& ws : workspaces) ws.resize(mix.dim(), mix.n_components());
  const RowPartition part(x.rows());
  parallel_for_chunks(part.n_chunks, threads, [&](int thread, Index chunk) {
    BlockWorkspace<Scalar>& ws = workspaces[static_cast<std::size_t>(thread)];
    for (Index blk = part.first_block(chunk); blk < part.first_block(chunk + 1); ++blk) {
      const Index begin = part.block_begin(blk);
      const BlockRef<Scalar> xb = x.middleRows(begin, part.block_size(blk));
      weighted_log_prob(xb, mix, ws);
      if (normalise) normalise_rows(xb.rows(), ws);
      visit(thread, chunk, begin, xb, ws);
    }
  });
}

}  // namespace detail

/**
 * out(i, k) = log w_k + log N(x_i | mean_k, cov_k).
 * @param x    N x D data.
 * @param out  N x K, written.
 */
template <typename Scalar>
void log_prob_components(const DataArg<Scalar>& x, const Mixture<Scalar>& mix,
                         Eigen::Ref<RowMatrix<double>> out, int n_threads = 0) {
  if (out.rows() != x.rows() || out.cols() != mix.n_components())
    detail::invalid_argument("log_prob_components: output must be N x K");
  std::vector<detail::BlockWorkspace<Scalar>> ws;
  detail::for_each_scored_block(x, mix, n_threads, false, ws, [&](int, Index, Index begin, const auto& xb, auto& w) {
    out.middleRows(begin, xb.rows()) = w.log_prob.topRows(xb.rows()).template cast<double>();
  });
}

/**
 * Responsibilities p(k | x_i); every row sums to 1.
 * @param out  N x K, written.
 */
template <typename Scalar>
void responsibilities(const DataArg<Scalar>& x, const Mixture<Scalar>& mix,
                      Eigen::Ref<RowMatrix<double>> out, int n_threads = 0) {
  if (out.rows() != x.rows() || out.cols() != mix.n_components())
    detail::invalid_argument("responsibilities: output must be N x K");
  std::vector<detail::BlockWorkspace<Scalar>> ws;
  detail::for_each_scored_block(x, mix, n_threads, true, ws, [&](int, Index, Index begin, const auto& xb, auto& w) {
    out.middleRows(begin, xb.rows()) = w.log_prob.topRows(xb.rows()).template cast<double>();
  });
}

/** out(i) = log p(x_i) = log sum_k w_k N(x_i | mean_k, cov_k), computed stably. */
template <typename Scalar>
void log_density(const DataArg<Scalar>& x, const Mixture<Scalar>& mix, Eigen::Ref<Eigen::VectorXd> out,
                 int n_threads = 0) {
  if (out.size() != x.rows()) detail::invalid_argument("log_density: output must have N entries");
  std::vector<detail::BlockWorkspace<Scalar>> ws;
  detail::for_each_scored_block(x, mix, n_threads, true, ws, [&](int, Index, Index begin, const auto& xb, auto& w) {
    out.segment(begin, xb.rows()) = w.row_log_density.head(xb.rows()).template cast<double>();
  });
}

/** sum_i log p(x_i), accumulated in double per chunk and reduced in chunk order
 *  (the same value for any thread count). */
template <typename Scalar>
double log_likelihood(const DataArg<Scalar>& x, const Mixture<Scalar>& mix, int n_threads = 0) {
  const detail::RowPartition part(x.rows());
  std::vector<double> chunk_sums(static_cast<std::size_t>(part.n_chunks), 0.0);
  std::vector<detail::BlockWorkspace<Scalar>> ws;
  detail::for_each_scored_block(x, mix, n_threads, true, ws, [&](int, Index chunk, Index, const auto& xb, auto& w) {
    chunk_sums[static_cast<std::size_t>(chunk)] +=
        w.row_log_density.head(xb.rows()).template cast<double>().sum();
  });
  double total = 0.0;
  for (double s : chunk_sums) total += s;
  return total;
}

/** out(i) = argmax_k of w_k N(x_i | k): the most responsible component, 0-based;
 *  ties go to the lowest index. */
template <typename Scalar>
void assign_to_component(const DataArg<Scalar>& x, const Mixture<Scalar>& mix,
                         Eigen::Ref<Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>> out, int n_threads = 0) {
  if (out.size() != x.rows()) detail::invalid_argument("assign_to_component: output must have N entries");
  std::vector<detail::BlockWorkspace<Scalar>> ws;
  detail::for_each_scored_block(x, mix, n_threads, false, ws, [&](int, Index, Index begin, const auto& xb, auto& w) {
    for (Index i = 0; i < xb.rows(); ++i) {
      Index best = 0;
      w.log_prob.row(i).maxCoeff(&best);
      out[begin + i] = static_cast<std::int64_t>(best);
    }
  });
}

}  // namespace gaussmix
