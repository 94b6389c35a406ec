#pragma once
/** @file kmeans.hpp
 *  k-means: k-means++ seeding with an explicit seed, and Lloyd's iterations
 *  from given centres (the Python layer draws its starting centres from
 *  NumPy's generator, as PyPR did, and calls only the iterations).
 */
#include <cstdint>
#include <limits>
#include <random>
#include <string>
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

/** Index of the nearest centre (squared Euclidean distance, ties to the lowest index). */
template <typename Scalar>
std::int64_t nearest_centre(const Eigen::Ref<const Eigen::Matrix<Scalar, 1, Eigen::Dynamic>>& row,
                            const RowMatrix<Scalar>& centres) {
  Index best = 0;
  (centres.rowwise() - row).rowwise().squaredNorm().minCoeff(&best);
  return static_cast<std::int64_t>(best);
}

}  // namespace detail

/**
 * labels(i) = index of the centre nearest to row i of x (Euclidean).
 * @param centres K x D.
 */
template <typename Scalar>
void nearest_centres(const DataRef<Scalar>& x, const RowMatrix<double>& centres,
                     Eigen::Ref<Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>> labels, int n_threads = 0) {
  if (centres.cols() != x.cols() || centres.rows() < 1)
    detail::invalid_argument("nearest_centres: centres must be K x D with K >= 1 and D = data columns");
  if (labels.size() != x.rows()) detail::invalid_argument("nearest_centres: labels must have N entries");
  const RowMatrix<Scalar> c = centres.cast<Scalar>();
  const detail::RowPartition part(x.rows());
  detail::parallel_for_chunks(part.n_chunks, detail::resolve_threads(n_threads), [&](int, Index chunk) {
    const Index begin = part.block_begin(part.first_block(chunk));
    const Index end = std::min(part.block_begin(part.first_block(chunk + 1)), x.rows());
    for (Index i = begin; i < end; ++i) labels[i] = detail::nearest_centre<Scalar>(x.row(i), c);
  });
}

/**
 * k-means++ seeding: the first centre is a uniformly drawn row, every further
 * centre a row drawn with probability proportional to its squared distance
 * from the nearest centre chosen so far. The same seed gives the same centres
 * on every platform (std::mt19937_64 with the uniform variate formed here, not
 * by the implementation-defined std::uniform_real_distribution).
 * @param x     N x D data.
 * @param k     number of centres, 1 <= k <= N.
 * @param seed  seed of the random engine.
 * @return k x D centres, rows of x.
 * @throws std::invalid_argument if k is outside 1..N.
 */
template <typename Scalar>
RowMatrix<double> kmeans_plus_plus(const DataRef<Scalar>& x, Index k, std::uint64_t seed) {
  const Index n = x.rows();
  if (k < 1 || k > n) detail::invalid_argument("kmeans_plus_plus: k must lie in 1..N");
  std::mt19937_64 engine(seed);
  auto uniform = [&engine] { return static_cast<double>(engine() >> 11) * 0x1.0p-53; };  // [0, 1)
  RowMatrix<double> centres(k, x.cols());
  Eigen::VectorXd nearest = Eigen::VectorXd::Constant(n, std::numeric_limits<double>::infinity());
  Index chosen = std::min<Index>(static_cast<Index>(uniform() * static_cast<double>(n)), n - 1);
  for (Index c = 0; c < k; ++c) {
    centres.row(c) = x.row(chosen).template cast<double>();
    for (Index i = 0; i < n; ++i)
      nearest[i] = std::min(nearest[i], (x.row(i).template cast<double>() - centres.row(c)).squaredNorm());
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
 * @throws std::invalid_argument if max_iter < 1 or shapes disagree.
 */
template <typename Scalar>
KMeansResult kmeans_lloyd(const DataRef<Scalar>& x, RowMatrix<double> centres, int max_iter,
                          double delta_stop = -1.0, int n_threads = 0) {
  if (max_iter < 1) detail::invalid_argument("kmeans_lloyd: max_iter must be at least 1");
  const Index k = centres.rows(), d = x.cols();
  KMeansResult result;
  result.labels.resize(x.rows());
  const detail::RowPartition part(x.rows());
  std::vector<detail::CentroidSums> chunk_sums(static_cast<std::size_t>(part.n_chunks));
  const int threads = detail::resolve_threads(n_threads);
  for (int iter = 0; iter < max_iter; ++iter) {
    nearest_centres(x, centres, result.labels, threads);
    detail::parallel_for_chunks(part.n_chunks, threads, [&](int, Index chunk) {
      detail::CentroidSums& s = chunk_sums[static_cast<std::size_t>(chunk)];
      s.sums.setZero(k, d);
      s.counts.setZero(k);
      const Index begin = part.block_begin(part.first_block(chunk));
      const Index end = std::min(part.block_begin(part.first_block(chunk + 1)), x.rows());
      for (Index i = begin; i < end; ++i) {
        const Index label = static_cast<Index>(result.labels[i]);
        s.sums.row(label) += x.row(i).template cast<double>();
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
      if (counts[c] > 0) updated.row(c) = sums.row(c) / counts[c];
    result.n_iter = iter + 1;
    const double largest_move = (updated - centres).cwiseAbs().maxCoeff();
    centres = std::move(updated);
    if (largest_move == 0.0 || (delta_stop >= 0.0 && largest_move <= delta_stop)) break;
  }
  result.centres = std::move(centres);
  return result;
}

}  // namespace gaussmix
