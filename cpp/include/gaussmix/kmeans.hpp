#pragma once
/** @file kmeans.hpp
 *  k-means: k-means++ seeding with an explicit seed, and Lloyd's iterations
 *  from given centres (the Python layer draws its starting centres from
 *  NumPy's generator, as PyPR did, and calls only the iterations). Both take
 *  optional sample weights (sample_weight.hpp): a centre is the weighted mean
 *  of its rows, and k-means++ draws rows in proportion to weight times
 *  squared distance.
 */
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "detail/config.hpp"
#include "detail/parallel.hpp"
#include "errors.hpp"
#include "sample_weight.hpp"

namespace gaussmix {

/** Result of kmeans_lloyd. */
struct KMeansResult {
  Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1> labels;  ///< N, nearest centre of the centres before the last update
  RowMatrix<double> centres;                              ///< K x D
  int n_iter = 0;                                         ///< updates performed
};

namespace detail {

/** Per-chunk sums for the centroid update. */
struct CentroidSums {
  RowMatrix<double> sums;
  Eigen::VectorXd counts;
};

/** 2^-e with 2^e the power of two nearest above |value| (1 for 0): multiplying
 *  by it is exact and brings value into [0.5, 1] (a subnormal value only up
 *  to 2^-52: 2^1022 is the largest finite power of two). */
inline double unit_scale(double value) {
  if (!(value > 0.0) || !std::isfinite(value)) return 1.0;
  int exponent = 0;
  std::frexp(value, &exponent);
  return std::ldexp(1.0, -std::max(exponent, -1022));
}

/**
 * Index of the nearest centre (squared Euclidean distance, ties to the lowest
 * index). Squared distances overflow beyond about 1e154 (1e19 in float) and
 * lose precision to underflow below about 1e-146 (1e-15 in float). When the
 * nearest one falls outside that safe range, the row is measured again in a
 * frame scaled by a power of two (exact) to the smallest difference from a
 * centre: there the candidates for nearest are of unit size, and any centre
 * that overflows is farther than them.
 */
template <typename Scalar>
std::int64_t nearest_centre(const Eigen::Ref<const Eigen::Matrix<Scalar, 1, Eigen::Dynamic>>& row,
                            const RowMatrix<Scalar>& centres) {
  constexpr Scalar kSafeMin = std::numeric_limits<Scalar>::min() / std::numeric_limits<Scalar>::epsilon();
  Index best = 0;
  const Scalar nearest = (centres.rowwise() - row).rowwise().squaredNorm().minCoeff(&best);
  if (nearest >= kSafeMin && nearest <= std::numeric_limits<Scalar>::max()) return static_cast<std::int64_t>(best);
  // In double (exact for float data, whose scale factor may exceed float's range).
  const RowMatrix<double> difference = (centres.rowwise() - row).template cast<double>();  // inf: a far centre
  const double smallest = difference.cwiseAbs().rowwise().maxCoeff().minCoeff(&best);
  if (!(smallest > 0.0)) return static_cast<std::int64_t>(best);  // the row is a centre: distance 0
  (difference * unit_scale(smallest)).rowwise().squaredNorm().minCoeff(&best);
  return static_cast<std::int64_t>(best);
}

/**
 * Sample weights as k-means reads them: 1 for every row when none are given
 * or all are equal (the same means, and then the same bits as no weights),
 * else w_i times the power of two that brings the largest weight into
 * [0.5, 1]. That exact rescaling changes no result, but keeps a weight times
 * a squared distance in the scaled frame (up to 4 D) finite for weights near
 * 1e308, and a weight times a scaled coordinate from turning subnormal for
 * weights near 1e-308. A row whose weight is 0 here is skipped by every sum.
 */
class KMeansWeights {
 public:
  /** @throws std::invalid_argument (naming func) unless w is empty or valid for n rows. */
  KMeansWeights(const char* func, const SampleWeightRef& w, Index n) : w_(w) {
    check_sample_weight(func, w, n);
    weighted_ = w.size() > 0 && w.maxCoeff() != w.minCoeff();
    if (weighted_) scale_ = unit_scale(w.maxCoeff());
  }
  bool weighted() const { return weighted_; }
  double operator()(Index i) const { return weighted_ ? w_[i] * scale_ : 1.0; }

 private:
  const SampleWeightRef& w_;  ///< the caller's argument, which outlives this view
  bool weighted_ = false;
  double scale_ = 1.0;
};

/** max_i |x_ij| over the rows of positive weight, for every column j, in
 *  double (one parallel pass). Rows of weight 0 are left out so that their
 *  content cannot change the scale of the frame the sums are taken in. */
template <typename Scalar>
Eigen::RowVectorXd column_max_abs(const DataRef<Scalar>& x, const KMeansWeights& weight, int threads,
                                  StopCheck& stop) {
  const RowPartition part(x.rows());
  std::vector<Eigen::RowVectorXd> chunk_max(static_cast<std::size_t>(part.n_chunks));
  parallel_for_chunks(part.n_chunks, threads, stop, [&](int, Index chunk) {
    const auto [begin, end] = part.chunk_rows(chunk);
    Eigen::RowVectorXd& m = chunk_max[static_cast<std::size_t>(chunk)];
    if (!weight.weighted()) {
      m = x.middleRows(begin, end - begin).cwiseAbs().colwise().maxCoeff().template cast<double>();
      return;
    }
    m.setZero(x.cols());
    for (Index i = begin; i < end; ++i)
      if (weight(i) > 0.0) m = m.cwiseMax(x.row(i).cwiseAbs().template cast<double>());
  });
  Eigen::RowVectorXd largest = Eigen::RowVectorXd::Zero(x.cols());
  for (const auto& m : chunk_max) largest = largest.cwiseMax(m);
  return largest;
}

/** Checks what every k-means function needs of x and centres. */
template <typename Scalar>
void check_kmeans_shapes(const char* func, const DataRef<Scalar>& x, const RowMatrix<double>& centres) {
  if (x.cols() < 1) invalid_argument(std::string(func) + ": data must have at least one column");
  if (centres.rows() < 1 || centres.cols() != x.cols())
    invalid_argument(std::string(func) + ": centres must be K x D with K >= 1 and D = " + std::to_string(x.cols()) +
                     " data columns, got " + std::to_string(centres.rows()) + " x " + std::to_string(centres.cols()));
  if (!centres.allFinite()) invalid_argument(std::string(func) + ": centres must be finite");
  if (!centres.template cast<Scalar>().allFinite())
    invalid_argument(std::string(func) + ": centres exceed the range of the data's precision (float); "
                     "use double data");
}

template <typename Scalar>
void nearest_centres(const DataRef<Scalar>& x, const RowMatrix<Scalar>& centres,
                     Eigen::Ref<Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>> labels, int n_threads,
                     StopCheck& stop) {
  const RowPartition part(x.rows());
  const double work = static_cast<double>(x.rows()) * static_cast<double>(centres.rows() * x.cols());
  parallel_for_chunks(part.n_chunks, threads_for(n_threads, work), stop, [&](int, Index chunk) {
    const auto [begin, end] = part.chunk_rows(chunk);
    for (Index block = begin; block < end && !stop.requested(); block += kBlockRows)
      for (Index i = block; i < std::min(end, block + kBlockRows); ++i) labels[i] = nearest_centre<Scalar>(x.row(i), centres);
  });
}

/**
 * The row a draw of target in [0, sum of score) picks: the first i whose
 * running sum of score exceeds target, so row i is picked with probability
 * score[i] / sum. A row of score 0 is never picked: if rounding leaves target
 * unspent, the last row of positive score is (score must have one).
 */
inline Index draw_row(const Eigen::VectorXd& score, double target) {
  Index last_positive = 0;
  for (Index i = 0; i < score.size(); ++i) {
    if (!(score[i] > 0.0)) continue;
    target -= score[i];
    if (target < 0.0) return i;
    last_positive = i;
  }
  return last_positive;
}

}  // namespace detail

/**
 * labels(i) = index of the centre nearest to row i of x (Euclidean), exact at
 * any magnitude of the data.
 * @param centres K x D, finite.
 * @throws std::invalid_argument on shape mismatch, D = 0 or non-finite centres.
 * @throws Cancelled when execution.should_stop asked to stop.
 */
template <typename Scalar>
void nearest_centres(const DataRef<Scalar>& x, const RowMatrix<double>& centres,
                     Eigen::Ref<Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>> labels,
                     const Execution& execution = {}) {
  detail::check_kmeans_shapes("nearest_centres", x, centres);
  if (labels.size() != x.rows()) detail::invalid_argument("nearest_centres: labels must have N entries");
  detail::StopCheck stop(execution);
  detail::nearest_centres<Scalar>(x, centres.cast<Scalar>(), labels, execution.n_threads, stop);
}

/**
 * k-means++ seeding: the first centre is a row drawn with probability
 * proportional to its weight (uniformly without weights), every further
 * centre a row drawn with probability proportional to its weight times its
 * squared distance from the nearest centre chosen so far. A row of weight 0
 * is never chosen. When fewer than k rows have positive weight and a positive
 * distance (fewer distinct rows than k), the remaining centres repeat rows
 * drawn by weight, as without weights, rather than failing: k may exceed the
 * number of rows of positive weight.
 *
 * The same seed gives the same centres on every platform and thread count
 * (std::mt19937_64 with the uniform variate formed here, not by the
 * implementation-defined std::uniform_real_distribution); no weights and
 * equal weights give the same centres. Distances are taken in a frame scaled
 * by a power of two to the magnitude of the rows of positive weight, so they
 * neither overflow nor underflow from 1e-300 to 1e300.
 * @param x      N x D data, D >= 1.
 * @param k      number of centres, 1 <= k <= N.
 * @param seed   seed of the random engine.
 * @param sample_weight  N weights (finite, >= 0, positive sum) or empty for unit weights.
 * @return k x D centres, rows of x.
 * @throws std::invalid_argument if k is outside 1..N, D = 0 or sample_weight is invalid.
 * @throws Cancelled when execution.should_stop asked to stop.
 */
template <typename Scalar>
RowMatrix<double> kmeans_plus_plus(const DataRef<Scalar>& x, Index k, std::uint64_t seed,
                                   const Execution& execution = {},
                                   const SampleWeightRef& sample_weight = detail::no_sample_weight()) {
  const Index n = x.rows(), d = x.cols();
  if (d < 1) detail::invalid_argument("kmeans_plus_plus: data must have at least one column");
  if (k < 1 || k > n) detail::invalid_argument("kmeans_plus_plus: k must lie in 1..N");
  const detail::KMeansWeights weight("kmeans_plus_plus", sample_weight, n);
  detail::StopCheck stop(execution);
  const detail::RowPartition part(n);
  const int threads = detail::threads_for(execution.n_threads, static_cast<double>(n) * static_cast<double>(d));
  const double scale = detail::unit_scale(detail::column_max_abs(x, weight, threads, stop).maxCoeff());

  std::mt19937_64 engine(seed);
  auto uniform = [&engine] { return static_cast<double>(engine() >> 11) * 0x1.0p-53; };  // [0, 1)
  // score[i] = w_i * (squared distance to the nearest chosen centre); a
  // weight is a positive constant per row, so taking the minimum of weighted
  // distances is the weighted minimum, rounding included. Rows of weight 0
  // score 0 and their distances are never computed (their content might
  // overflow in the scaled frame, and 0 * inf is NaN).
  Eigen::VectorXd score(n);
  Eigen::VectorXd row_weight(n);  // the first draw's scores
  for (Index i = 0; i < n; ++i) {
    row_weight[i] = weight(i);
    score[i] = row_weight[i] > 0.0 ? std::numeric_limits<double>::infinity() : 0.0;
  }
  const double weight_total = row_weight.sum();
  RowMatrix<double> centres(k, d);
  Index chosen = detail::draw_row(row_weight, uniform() * weight_total);
  for (Index c = 0; c < k; ++c) {
    centres.row(c) = x.row(chosen).template cast<double>();
    const Eigen::RowVectorXd scaled_centre = centres.row(c) * scale;
    detail::parallel_for_chunks(part.n_chunks, threads, stop, [&](int, Index chunk) {
      const auto [begin, end] = part.chunk_rows(chunk);
      for (Index i = begin; i < end; ++i)
        if (row_weight[i] > 0.0)
          score[i] = std::min(score[i],
                              row_weight[i] * (x.row(i).template cast<double>() * scale - scaled_centre).squaredNorm());
    });
    if (c + 1 == k) break;
    const double total = score.sum();
    // Fewer distinct rows of positive weight than k: repeat one.
    chosen = total > 0.0 ? detail::draw_row(score, uniform() * total)
                         : detail::draw_row(row_weight, uniform() * weight_total);
  }
  return centres;
}

/**
 * Lloyd iterations from the given centres: assign every row to its nearest
 * centre, move every centre to the weighted mean of its rows (sum of w_i x_i
 * over sum of w_i; the plain mean without weights); stop when no centre
 * moves, when every coordinate moves by at most delta_stop (if
 * delta_stop >= 0), or after max_iter updates. A centre whose rows have no
 * weight (it lost them all, or all of them weigh 0) stays where it was. Rows
 * of weight 0 are labelled but never read into a sum, so their values cannot
 * change the centres. Sums are taken per column in a frame scaled by a power
 * of two, so the means of rows near 1e300 do not overflow.
 * @param sample_weight  N weights (finite, >= 0, positive sum) or empty for unit weights.
 * @throws std::invalid_argument if max_iter < 1, D = 0, shapes disagree or sample_weight is invalid.
 * @throws Cancelled when execution.should_stop asked to stop.
 */
template <typename Scalar>
KMeansResult kmeans_lloyd(const DataRef<Scalar>& x, RowMatrix<double> centres, int max_iter,
                          double delta_stop = -1.0, const Execution& execution = {},
                          const SampleWeightRef& sample_weight = detail::no_sample_weight()) {
  if (max_iter < 1) detail::invalid_argument("kmeans_lloyd: max_iter must be at least 1");
  detail::check_kmeans_shapes("kmeans_lloyd", x, centres);
  const detail::KMeansWeights weight("kmeans_lloyd", sample_weight, x.rows());
  const Index k = centres.rows(), d = x.cols();
  KMeansResult result;
  result.labels.resize(x.rows());
  const detail::RowPartition part(x.rows());
  std::vector<detail::CentroidSums> chunk_sums(static_cast<std::size_t>(part.n_chunks));
  detail::StopCheck stop(execution);
  const int threads = detail::threads_for(execution.n_threads, static_cast<double>(x.rows()) * static_cast<double>(k * d));
  // Column scales: 2^-e_j with 2^e_j just above the column's largest |x|.
  Eigen::RowVectorXd column_scale = detail::column_max_abs(x, weight, threads, stop);
  for (Index j = 0; j < d; ++j) column_scale[j] = detail::unit_scale(column_scale[j]);
  for (int iter = 0; iter < max_iter; ++iter) {
    detail::nearest_centres<Scalar>(x, centres.cast<Scalar>(), result.labels, threads, stop);
    detail::parallel_for_chunks(part.n_chunks, threads, stop, [&](int, Index chunk) {
      detail::CentroidSums& s = chunk_sums[static_cast<std::size_t>(chunk)];
      s.sums.setZero(k, d);
      s.counts.setZero(k);
      const auto [begin, end] = part.chunk_rows(chunk);
      for (Index i = begin; i < end; ++i) {
        const double w = weight(i);  // 1 without weights
        if (w == 0.0) continue;      // skipped, not multiplied: 0 * inf would be NaN
        const Index label = static_cast<Index>(result.labels[i]);
        // Without weights no product by 1: a compiler that fuses the
        // multiply-add (-march=native, FMA) would round the sums differently.
        if (weight.weighted())
          s.sums.row(label) += w * x.row(i).template cast<double>().cwiseProduct(column_scale);
        else
          s.sums.row(label) += x.row(i).template cast<double>().cwiseProduct(column_scale);
        s.counts[label] += w;
      }
    });
    RowMatrix<double> sums = RowMatrix<double>::Zero(k, d);
    Eigen::VectorXd counts = Eigen::VectorXd::Zero(k);  // weight of each centre's rows
    for (const auto& s : chunk_sums) {
      sums += s.sums;
      counts += s.counts;
    }
    RowMatrix<double> updated = centres;
    for (Index c = 0; c < k; ++c)
      if (counts[c] > 0) updated.row(c) = (sums.row(c) / counts[c]).cwiseQuotient(column_scale);
    result.n_iter = iter + 1;
    const double largest_move = (updated - centres).cwiseAbs().maxCoeff();
    centres = std::move(updated);
    if (largest_move == 0.0 || (delta_stop >= 0.0 && largest_move <= delta_stop)) break;
  }
  result.centres = std::move(centres);
  return result;
}

}  // namespace gaussmix
