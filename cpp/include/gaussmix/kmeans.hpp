#pragma once
/** @file kmeans.hpp
 *  k-means: k-means++ seeding with an explicit seed, and Lloyd's iterations
 *  from given centres (the Python layer draws its starting centres from
 *  NumPy's generator, as PyPR did, and calls only the iterations).
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

/** max_i |x_ij| for every column j, in double (one parallel pass). */
template <typename Scalar>
Eigen::RowVectorXd column_max_abs(const DataRef<Scalar>& x, int threads, StopCheck& stop) {
  const RowPartition part(x.rows());
  std::vector<Eigen::RowVectorXd> chunk_max(static_cast<std::size_t>(part.n_chunks));
  parallel_for_chunks(part.n_chunks, threads, stop, [&](int, Index chunk) {
    const auto [begin, end] = part.chunk_rows(chunk);
    chunk_max[static_cast<std::size_t>(chunk)] =
        x.middleRows(begin, end - begin).cwiseAbs().colwise().maxCoeff().template cast<double>();
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
 * k-means++ seeding: the first centre is a uniformly drawn row, every further
 * centre a row drawn with probability proportional to its squared distance
 * from the nearest centre chosen so far. The same seed gives the same centres
 * on every platform and thread count (std::mt19937_64 with the uniform
 * variate formed here, not by the implementation-defined
 * std::uniform_real_distribution). Distances are taken in a frame scaled by
 * a power of two to the data's magnitude, so they neither overflow nor
 * underflow from 1e-300 to 1e300.
 * @param x     N x D data, D >= 1.
 * @param k     number of centres, 1 <= k <= N.
 * @param seed  seed of the random engine.
 * @return k x D centres, rows of x.
 * @throws std::invalid_argument if k is outside 1..N or D = 0.
 * @throws Cancelled when execution.should_stop asked to stop.
 */
template <typename Scalar>
RowMatrix<double> kmeans_plus_plus(const DataRef<Scalar>& x, Index k, std::uint64_t seed,
                                   const Execution& execution = {}) {
  const Index n = x.rows(), d = x.cols();
  if (d < 1) detail::invalid_argument("kmeans_plus_plus: data must have at least one column");
  if (k < 1 || k > n) detail::invalid_argument("kmeans_plus_plus: k must lie in 1..N");
  detail::StopCheck stop(execution);
  const detail::RowPartition part(n);
  const int threads = detail::threads_for(execution.n_threads, static_cast<double>(n) * static_cast<double>(d));
  const double scale = detail::unit_scale(detail::column_max_abs(x, threads, stop).maxCoeff());

  std::mt19937_64 engine(seed);
  auto uniform = [&engine] { return static_cast<double>(engine() >> 11) * 0x1.0p-53; };  // [0, 1)
  RowMatrix<double> centres(k, d);
  Eigen::VectorXd nearest = Eigen::VectorXd::Constant(n, std::numeric_limits<double>::infinity());
  Index chosen = std::min<Index>(static_cast<Index>(uniform() * static_cast<double>(n)), n - 1);
  for (Index c = 0; c < k; ++c) {
    centres.row(c) = x.row(chosen).template cast<double>();
    const Eigen::RowVectorXd scaled_centre = centres.row(c) * scale;
    detail::parallel_for_chunks(part.n_chunks, threads, stop, [&](int, Index chunk) {
      const auto [begin, end] = part.chunk_rows(chunk);
      for (Index i = begin; i < end; ++i)
        nearest[i] = std::min(nearest[i], (x.row(i).template cast<double>() * scale - scaled_centre).squaredNorm());
    });
    if (c + 1 == k) break;
    const double total = nearest.sum();
    if (!(total > 0.0)) {  // fewer distinct rows than k: repeat a row
      chosen = std::min<Index>(static_cast<Index>(uniform() * static_cast<double>(n)), n - 1);
      continue;
    }
    double target = uniform() * total;
    chosen = n - 1;
    for (Index i = 0; i < n; ++i) {
      target -= nearest[i];
      if (target < 0.0 && nearest[i] > 0.0) {
        chosen = i;
        break;
      }
    }
  }
  return centres;
}

/**
 * Lloyd iterations from the given centres: assign every row to its nearest
 * centre, move every centre to the mean of its rows; stop when no centre moves,
 * when every coordinate moves by at most delta_stop (if delta_stop >= 0), or
 * after max_iter updates. A centre that loses all its rows stays where it was.
 * Sums are taken per column in a frame scaled by a power of two, so the means
 * of rows near 1e300 do not overflow.
 * @throws std::invalid_argument if max_iter < 1, D = 0 or shapes disagree.
 * @throws Cancelled when execution.should_stop asked to stop.
 */
template <typename Scalar>
KMeansResult kmeans_lloyd(const DataRef<Scalar>& x, RowMatrix<double> centres, int max_iter,
                          double delta_stop = -1.0, const Execution& execution = {}) {
  if (max_iter < 1) detail::invalid_argument("kmeans_lloyd: max_iter must be at least 1");
  detail::check_kmeans_shapes("kmeans_lloyd", x, centres);
  const Index k = centres.rows(), d = x.cols();
  KMeansResult result;
  result.labels.resize(x.rows());
  const detail::RowPartition part(x.rows());
  std::vector<detail::CentroidSums> chunk_sums(static_cast<std::size_t>(part.n_chunks));
  detail::StopCheck stop(execution);
  const int threads = detail::threads_for(execution.n_threads, static_cast<double>(x.rows()) * static_cast<double>(k * d));
  // Column scales: 2^-e_j with 2^e_j just above the column's largest |x|.
  Eigen::RowVectorXd column_scale = detail::column_max_abs(x, threads, stop);
  for (Index j = 0; j < d; ++j) column_scale[j] = detail::unit_scale(column_scale[j]);
  for (int iter = 0; iter < max_iter; ++iter) {
    detail::nearest_centres<Scalar>(x, centres.cast<Scalar>(), result.labels, threads, stop);
    detail::parallel_for_chunks(part.n_chunks, threads, stop, [&](int, Index chunk) {
      detail::CentroidSums& s = chunk_sums[static_cast<std::size_t>(chunk)];
      s.sums.setZero(k, d);
      s.counts.setZero(k);
      const auto [begin, end] = part.chunk_rows(chunk);
      for (Index i = begin; i < end; ++i) {
        const Index label = static_cast<Index>(result.labels[i]);
        s.sums.row(label) += x.row(i).template cast<double>().cwiseProduct(column_scale);
        s.counts[label] += 1.0;
      }
    });
    RowMatrix<double> sums = RowMatrix<double>::Zero(k, d);
    Eigen::VectorXd counts = Eigen::VectorXd::Zero(k);
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
