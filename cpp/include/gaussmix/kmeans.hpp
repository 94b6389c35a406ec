#pragma once
/** @file kmeans.hpp
 *  k-means: k-means++ seeding (greedy, with caller-supplied uniform variates
 *  or an explicit seed), and Lloyd's iterations from given centres under
 *  PyPR's stopping rule or scikit-learn's (LloydOptions). The Python layer
 *  draws the random numbers from NumPy's generators, so that the same
 *  random_state gives the same start as PyPR or scikit-learn. Both take
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
#include <type_traits>
#include <utility>
#include <vector>

#include "detail/config.hpp"
#include "detail/parallel.hpp"
#include "detail/simd.hpp"
#include "errors.hpp"
#include "sample_weight.hpp"

namespace gaussmix {

/** Result of kmeans_lloyd. */
struct KMeansResult {
  /** N, nearest centre of the centres before the last update (of the
   *  returned centres with LloydOptions::label_returned_centres). */
  Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1> labels;
  RowMatrix<double> centres;  ///< K x D
  int n_iter = 0;             ///< updates performed
};

/** How kmeans_lloyd stops and what it does with a centre that has no rows. */
struct LloydOptions {
  int max_iter = 300;  ///< at most this many updates, >= 1
  /** PyPR's rule, if >= 0: stop when no coordinate of a centre moved by more. */
  double delta_stop = -1.0;
  /** scikit-learn's rule, if >= 0: stop after an update whose labels equal the
   *  previous update's, or whose squared centre shifts sum to at most shift_tol. */
  double shift_tol = -1.0;
  /** scikit-learn's treatment of a centre whose rows have no weight: it takes
   *  the row of positive weight farthest from its centre (the next farthest for
   *  the next such centre; equal distances to the lowest row index), which
   *  leaves its own centre; if every row lies on its centre, or rows run out,
   *  the centre moves to the heaviest cluster's mean. Without it the centre
   *  stays where it was. */
  bool relocate_empty = false;
  /** Assign the rows once more to the returned centres if the last update
   *  moved them (as scikit-learn's KMeans does). */
  bool label_returned_centres = false;
};

/** Result of kmeans_plus_plus. */
struct KMeansSeeds {
  RowMatrix<double> centres;                               ///< k x D, rows of x
  Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1> indices;  ///< the rows' indices in x
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

/** Rows of padding below a k-means block: its columns (512 rows of double:
 *  4 KiB apart) would otherwise all fall in the same cache set, and at
 *  D = 32 the kernels that read a row across the columns thrashed L1
 *  (k-means++ at 1e6 x 32 x 16, 2 threads: 0.74 s, padded 0.49 s; Lloyd 0.24 -> 0.14 s). */
constexpr Index kColumnPadding = 16;

/** block's top rows = rows [first, first + rows) of x, column-major with
 *  kColumnPadding more rows (transpose_subtract of a zero centre: x - 0 is
 *  x, bit for bit). The kernel that reads the block asks the next one into
 *  cache (NextRows). */
template <typename Scalar>
void load_columns(const DataRef<Scalar>& x, Index first, Index rows, const Eigen::Matrix<Scalar, 1, Eigen::Dynamic>& zero,
                  Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>& block) {
  block.resize(rows + kColumnPadding, x.cols());
  transpose_subtract(x.data() + first * x.outerStride(), rows, x.cols(), x.outerStride(), zero.data(), block.data(),
                     block.rows());
}

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"  // Packet types as template arguments (harmless)
#endif
/** tile_squared_distances' sum (below) for one centre and the one row r
 *  (the rows that do not fill a packet). */
template <typename Scalar>
Scalar row_squared_distance(const Scalar* block, Index ld, Index d, Index r, const Scalar* centre) {
  Scalar sum = Scalar(0);
  for (Index j = 0; j < d; ++j) {
    const Scalar diff = block[j * ld + r] - centre[j];
    sum += diff * diff;
  }
  return sum;
}

/** Centres measured together against one packet of rows in nearest_in_block. */
constexpr Index kCentreTile = 8;  // packet_squared_distances' switch goes up to it

/** The squared distances of the packet of rows r.. of a column-major block
 *  (d columns, column stride ld) from the T centres from first on
 *  (row-major, stride cs): for each, (x_j - c_j)^2 summed over j in order,
 *  in a register, each column of the packet loaded once for the whole tile
 *  instead of once per centre, so that the kernel is not bound by its loads
 *  (Lloyd at 3e5 x 32, K = 16, 2 threads: bench/NOTES.md section 26). */
template <int T, typename Scalar>
void tile_squared_distances(const Scalar* block, Index ld, Index d, Index r, const Scalar* first, Index cs,
                            Packet<Scalar>* sum) {
  namespace ei = Eigen::internal;
  using P = Packet<Scalar>;
  P tile[T];
  for (int t = 0; t < T; ++t) tile[t] = ei::pset1<P>(Scalar(0));
  for (Index j = 0; j < d; ++j) {
    const P column = ei::ploadu<P>(block + j * ld + r);
    for (int t = 0; t < T; ++t) {
      const P diff = ei::psub(column, ei::pset1<P>(first[t * cs + j]));
      tile[t] = ei::pmadd(diff, diff, tile[t]);
    }
  }
  for (int t = 0; t < T; ++t) sum[t] = tile[t];
}

/** tile_squared_distances for any number m of centres (tiles of
 *  kCentreTile, then one tile of the m % kCentreTile left), the packet of
 *  centre t's distances stored at out + t W. */
template <typename Scalar>
void packet_squared_distances(const Scalar* block, Index ld, Index d, Index r, const Scalar* first, Index cs, Index m,
                              Scalar* out) {
  constexpr Index W = kPacketSize<Scalar>;
  Packet<Scalar> sum[kCentreTile];
  for (Index t = 0; t < m; t += kCentreTile) {
    const Scalar* tile = first + t * cs;
    const Index count = std::min(kCentreTile, m - t);
    switch (count) {
      case 8: tile_squared_distances<8>(block, ld, d, r, tile, cs, sum); break;
      case 7: tile_squared_distances<7>(block, ld, d, r, tile, cs, sum); break;
      case 6: tile_squared_distances<6>(block, ld, d, r, tile, cs, sum); break;
      case 5: tile_squared_distances<5>(block, ld, d, r, tile, cs, sum); break;
      case 4: tile_squared_distances<4>(block, ld, d, r, tile, cs, sum); break;
      case 3: tile_squared_distances<3>(block, ld, d, r, tile, cs, sum); break;
      case 2: tile_squared_distances<2>(block, ld, d, r, tile, cs, sum); break;
      default: tile_squared_distances<1>(block, ld, d, r, tile, cs, sum); break;
    }
    for (Index u = 0; u < count; ++u) Eigen::internal::pstoreu(out + (t + u) * W, sum[u]);
  }
}

/**
 * For each row b of a column-major block (rows x D, column stride ld):
 * nearest[b] = the smallest sum over j, in order, of (block(b, j) - c_j)^2
 * over the centres, best[b] = that centre's index (the first of equals), in
 * the data's scalar type. One packet of rows at a time, the centres a tile at
 * a time, every centre's sum kept in a register and compared there: no pass
 * over memory per column or per centre. Rows that do not fill a packet go
 * scalar. Each packet asks the same rows of the next block into cache.
 */
template <typename Scalar>
void nearest_in_block(const Scalar* block, Index rows, Index ld, Index d, const RowMatrix<Scalar>& centres,
                      Scalar* nearest, Scalar* best, const NextRows<Scalar>& next) {
  namespace ei = Eigen::internal;
  using P = Packet<Scalar>;
  constexpr Index W = kPacketSize<Scalar>;
  const Index k = centres.rows(), cs = centres.outerStride();
  Index done = 0;
  if constexpr (W > 1) {
    done = rows - rows % W;
    const Index tiled = k - k % kCentreTile;
    for (Index r = 0; r < done; r += W) {
      next.prefetch(r, W);
      P near = ei::pset1<P>(std::numeric_limits<Scalar>::infinity()), index = ei::pzero(near);
      // Centres compared in index order with a strict <: ties stay with the lower index.
      const auto compare = [&](const P& sum, Index c) {
        const P closer = ei::pcmp_lt(sum, near);
        near = ei::pselect(closer, sum, near);
        index = ei::pselect(closer, ei::pset1<P>(static_cast<Scalar>(c)), index);
      };
      P sum[kCentreTile];
      for (Index c0 = 0; c0 < tiled; c0 += kCentreTile) {
        tile_squared_distances<kCentreTile>(block, ld, d, r, centres.data() + c0 * cs, cs, sum);
        for (Index t = 0; t < kCentreTile; ++t) compare(sum[t], c0 + t);
      }
      for (Index c = tiled; c < k; ++c) {
        tile_squared_distances<1>(block, ld, d, r, centres.data() + c * cs, cs, sum);
        compare(sum[0], c);
      }
      ei::pstoreu(nearest + r, near);
      ei::pstoreu(best + r, index);
    }
  }
  next.prefetch(done, rows - done);
  for (Index r = done; r < rows; ++r) {
    nearest[r] = std::numeric_limits<Scalar>::infinity();
    best[r] = Scalar(0);
    for (Index c = 0; c < k; ++c) {
      const Scalar sum = row_squared_distance(block, ld, d, r, centres.data() + c * centres.outerStride());
      if (sum < nearest[r]) {
        nearest[r] = sum;
        best[r] = static_cast<Scalar>(c);
      }
    }
  }
}
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

/** labels[i] = the nearest centre of row i (nearest_centre's answer:
 *  nearest_in_block's squared distances in the data's precision, and
 *  nearest_centre itself for the rows whose nearest distance leaves the safe
 *  range); returns how many labels changed. labelled(chunk, first, rows)
 *  runs after each block's labels are written, on the chunk's thread, the
 *  blocks of a chunk in row order: what reads the block's rows again (the
 *  centroid sums) then finds them in cache. */
template <typename Scalar, typename Labelled = void (*)(Index, Index, Index)>
Index nearest_centres(const DataRef<Scalar>& x, const RowMatrix<Scalar>& centres,
                      Eigen::Ref<Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>> labels, int n_threads,
                      StopCheck& stop, Labelled&& labelled = [](Index, Index, Index) {}) {
  constexpr Scalar kSafeMin = std::numeric_limits<Scalar>::min() / std::numeric_limits<Scalar>::epsilon();
  const RowPartition part(x.rows());
  std::vector<Index> changed(static_cast<std::size_t>(part.n_chunks), 0);
  const double work = static_cast<double>(x.rows()) * static_cast<double>(centres.rows() * x.cols());
  parallel_for_chunks(part.n_chunks, threads_for(n_threads, work), stop, [&](int, Index chunk) {
    const auto [begin, end] = part.chunk_rows(chunk);
    Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> block;
    Eigen::Array<Scalar, Eigen::Dynamic, 1> nearest(kBlockRows), best(kBlockRows);
    const Eigen::Matrix<Scalar, 1, Eigen::Dynamic> zero = Eigen::Matrix<Scalar, 1, Eigen::Dynamic>::Zero(x.cols());
    Index chunk_changed = 0;
    for (Index first = begin; first < end && !stop.requested(); first += kBlockRows) {
      const Index rows = std::min(end - first, kBlockRows);
      load_columns(x, first, rows, zero, block);
      nearest_in_block(block.data(), rows, block.rows(), x.cols(), centres, nearest.data(), best.data(),
                       NextRows<Scalar>::after(x, first, rows));
      for (Index b = 0; b < rows; ++b) {
        const Index i = first + b;
        const bool safe = nearest[b] >= kSafeMin && nearest[b] <= std::numeric_limits<Scalar>::max();
        const std::int64_t label = safe ? static_cast<std::int64_t>(best[b]) : nearest_centre<Scalar>(x.row(i), centres);
        chunk_changed += label != labels[i];
        labels[i] = label;
      }
      labelled(chunk, first, rows);
    }
    changed[static_cast<std::size_t>(chunk)] = chunk_changed;
  });
  Index total = 0;
  for (const Index c : changed) total += c;
  return total;
}

/** dest[j] += x(i, j) column_scale[j] (times the row's weight when weighted),
 *  j < D: a term of the centroid sums, as a plain loop (an Eigen expression
 *  per row costs more than the arithmetic at small D). The product by a
 *  power of two is exact, so the sums do not depend on whether the compiler
 *  fuses the multiply-add; without weights there is no product by 1, so
 *  equal weights give the bits of none. */
template <typename Scalar>
void add_scaled_row(double* dest, const DataRef<Scalar>& x, Index i, const KMeansWeights& weight,
                    const Eigen::RowVectorXd& column_scale) {
  const Scalar* row = x.data() + i * x.outerStride();
  const double* scale = column_scale.data();
  if (weight.weighted()) {
    const double w = weight(i);
    for (Index j = 0; j < x.cols(); ++j) dest[j] += w * (static_cast<double>(row[j]) * scale[j]);
  } else {
    for (Index j = 0; j < x.cols(); ++j) dest[j] += static_cast<double>(row[j]) * scale[j];
  }
}

/** A row and its squared distance from its centre. */
struct FarRow {
  double distance;
  Index row;
};

/** Order of farthest_rows: larger distance first, then lower row index. */
inline bool farther(const FarRow& a, const FarRow& b) {
  return a.distance > b.distance || (a.distance == b.distance && a.row < b.row);
}

/**
 * The m rows of positive weight farthest from their labelled centres
 * (squared Euclidean distance, in one frame scaled by a power of two so
 * that it cannot overflow), farthest first, equal distances to the lower
 * row index; none if every such row lies on its centre. Each chunk keeps
 * its own m farthest; the merge sorts those.
 */
template <typename Scalar>
std::vector<Index> farthest_rows(const DataRef<Scalar>& x, const RowMatrix<double>& centres,
                                 const Eigen::Ref<const Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>>& labels,
                                 const KMeansWeights& weight, double scale, std::size_t m, int threads,
                                 StopCheck& stop) {
  const RowPartition part(x.rows());
  std::vector<std::vector<FarRow>> chunk_far(static_cast<std::size_t>(part.n_chunks));
  const RowMatrix<double> scaled_centres = centres * scale;
  parallel_for_chunks(part.n_chunks, threads, stop, [&](int, Index chunk) {
    std::vector<FarRow>& far = chunk_far[static_cast<std::size_t>(chunk)];
    const auto [begin, end] = part.chunk_rows(chunk);
    for (Index i = begin; i < end; ++i) {
      if (!(weight(i) > 0.0)) continue;
      const FarRow candidate{
          (x.row(i).template cast<double>() * scale - scaled_centres.row(static_cast<Index>(labels[i]))).squaredNorm(),
          i};
      if (far.size() == m && !farther(candidate, far.back())) continue;
      if (far.size() == m) far.pop_back();
      far.insert(std::upper_bound(far.begin(), far.end(), candidate, farther), candidate);
    }
  });
  std::vector<FarRow> all;
  for (const auto& far : chunk_far) all.insert(all.end(), far.begin(), far.end());
  std::sort(all.begin(), all.end(), farther);
  if (all.size() > m) all.resize(m);
  std::vector<Index> rows;
  if (all.empty() || !(all.front().distance > 0.0)) return rows;
  for (const FarRow& r : all) rows.push_back(r.row);
  return rows;
}

/**
 * scikit-learn's relocation of empty centres, on the centroid sums of one
 * update: the e-th centre without weight takes the e-th farthest row
 * (farthest_rows), which leaves the sums of the centre it was assigned to.
 * A centre still without weight afterwards is for the caller to place.
 */
template <typename Scalar>
void relocate_empty_centres(const DataRef<Scalar>& x, const RowMatrix<double>& centres,
                            const Eigen::Ref<const Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>>& labels,
                            const KMeansWeights& weight, const Eigen::RowVectorXd& column_scale,
                            CentroidSums& total, int threads, StopCheck& stop) {
  std::vector<Index> empty;
  for (Index c = 0; c < total.counts.size(); ++c)
    if (!(total.counts[c] > 0.0)) empty.push_back(c);
  // The frame of the largest column: the smallest of the column scales.
  const std::vector<Index> far =
      farthest_rows(x, centres, labels, weight, column_scale.minCoeff(), empty.size(), threads, stop);
  for (std::size_t e = 0; e < far.size(); ++e) {
    const Index i = far[e], from = static_cast<Index>(labels[i]), to = empty[e];
    Eigen::RowVectorXd term = Eigen::RowVectorXd::Zero(x.cols());
    add_scaled_row(term.data(), x, i, weight, column_scale);
    total.sums.row(from) -= term;
    total.sums.row(to) = term;
    total.counts[from] -= weight(i);
    total.counts[to] = weight(i);
  }
}

/**
 * k-means++'s scores for one block of rows at a time: the rows scaled by a
 * power of two and held column-major (load_columns), and their weights.
 * score() scores min(nearest, w_i |x_i - c|^2) for the rows of
 * positive weight and nearest (0) for the others, whose distances may
 * overflow in the scaled frame (0 * inf is NaN) and are discarded. A weight
 * is a positive constant per row, so the minimum of weighted distances is
 * the weighted minimum.
 */
struct ScaledBlocks {
  Eigen::MatrixXd block;
  const double* weight = nullptr;  ///< the block's rows' weights
  Index rows = 0;
  NextRows<double> next;  ///< the rows after the block's, when x is double (score asks them into cache)
  Eigen::RowVectorXd zero;    ///< load_columns' centre
  std::vector<double> sums;  ///< score's per-candidate packet sums
  RowMatrix<double> measured;  ///< score's centres: pending, then the candidates
  std::vector<double> distances;  ///< their squared distances from a packet of rows, a packet each

  template <typename Scalar>
  void load(const DataRef<Scalar>& x, Index first, Index n_rows, double scale, const Eigen::VectorXd& row_weight) {
    if constexpr (std::is_same_v<Scalar, double>) {
      if (zero.size() != x.cols()) zero.setZero(x.cols());
      block.resize(n_rows + kColumnPadding, x.cols());
      // (x - 0) * scale, scale a power of two: exactly x * scale
      transpose_subtract<double, true>(x.data() + first * x.outerStride(), n_rows, x.cols(), x.outerStride(),
                                       zero.data(), block.data(), block.rows(), scale);
      next = NextRows<double>::after(x, first, n_rows);
    } else {
      block.resize(n_rows + kColumnPadding, x.cols());
      block.topRows(n_rows) = x.middleRows(first, n_rows).template cast<double>() * scale;
    }
    weight = row_weight.data() + first;
    rows = n_rows;
  }

  /** Folds pending (unless null) into the block's nearest scores, then
   *  adds to partial[t] the sum of the block's scores against each of the
   *  first n_scored rows of candidates: min(nearest, w_i |x_i - c|^2) (see
   *  above). One packet of rows at a time through every centre, so the rows
   *  are read from memory once and each squared distance is summed over the
   *  columns, in order, in a register. */
  void score(const double* pending, const RowMatrix<double>& candidates, Index n_scored, double* nearest,
             double* partial) {
    namespace ei = Eigen::internal;
    using P = Packet<double>;
    constexpr Index W = kPacketSize<double>;
    const Index d = block.cols(), ld = block.rows();
    const double* data = block.data();
    // pending (when folding), then the candidates: measured together, a tile at a time.
    const Index fold = pending != nullptr ? 1 : 0, m = fold + n_scored;
    measured.resize(m, d);
    if (fold) measured.row(0) = Eigen::Map<const Eigen::RowVectorXd>(pending, d);
    measured.bottomRows(n_scored) = candidates.topRows(n_scored);
    Index done = 0;
    if constexpr (W > 1) {
      done = rows - rows % W;
      sums.assign(static_cast<std::size_t>(n_scored * W), 0.0);
      distances.resize(static_cast<std::size_t>(m * W));
      for (Index r = 0; r < done; r += W) {
        next.prefetch(r, W);
        const P w = ei::ploadu<P>(weight + r);
        const P positive = ei::pcmp_lt(ei::pset1<P>(0.0), w);
        P near = ei::ploadu<P>(nearest + r);
        packet_squared_distances(data, ld, d, r, measured.data(), d, m, distances.data());
        if (fold) {
          near = ei::pselect(positive, ei::pmin(near, ei::pmul(w, ei::ploadu<P>(distances.data()))), near);
          ei::pstoreu(nearest + r, near);
        }
        for (Index t = 0; t < n_scored; ++t) {
          const P candidate = ei::pmul(w, ei::ploadu<P>(distances.data() + (fold + t) * W));
          double* sum = sums.data() + t * W;
          ei::pstoreu(sum, ei::padd(ei::ploadu<P>(sum), ei::pselect(positive, ei::pmin(near, candidate), near)));
        }
      }
      for (Index t = 0; t < n_scored; ++t) partial[t] += ei::predux(ei::ploadu<P>(sums.data() + t * W));
    }
    for (Index r = done; r < rows; ++r) {
      auto distance = [&](const double* centre) { return row_squared_distance(data, ld, d, r, centre); };
      if (weight[r] > 0.0 && pending != nullptr) nearest[r] = std::min(nearest[r], weight[r] * distance(pending));
      for (Index t = 0; t < n_scored; ++t)
        partial[t] += weight[r] > 0.0 ? std::min(nearest[r], weight[r] * distance(candidates.row(t).data())) : nearest[r];
    }
  }
};

/**
 * Scores that rows are drawn by (k-means++: weights, then weight times
 * squared distance), with their sums per chunk of a RowPartition. The
 * partition does not depend on the thread count, so neither do the totals
 * nor the rows drawn.
 */
struct ChunkedScores {
  Eigen::VectorXd score;            ///< N, >= 0
  std::vector<double> chunk_total;  ///< sum of score over each chunk's rows, in row order

  double total() const {
    double sum = 0.0;
    for (const double t : chunk_total) sum += t;
    return sum;
  }
};

/**
 * The row a draw of target in [0, total) picks: the first i whose running sum
 * of score exceeds target (chunk totals first, then the rows of one chunk),
 * so row i is picked with probability score[i] / total. A row of score 0 is
 * never picked: if rounding leaves target unspent, the last row of positive
 * score is (some score must be positive). before_rows(chunk) runs before the
 * chunk's rows are read (k-means++ brings them up to date there).
 */
template <typename BeforeRows = void (*)(Index)>
Index draw_row(const ChunkedScores& s, const RowPartition& part, double target,
               BeforeRows&& before_rows = [](Index) {}) {
  Index chunk = -1;
  for (Index c = 0; c < part.n_chunks; ++c) {
    const double t = s.chunk_total[static_cast<std::size_t>(c)];
    if (!(t > 0.0)) continue;
    chunk = c;
    if (target < t) break;
    target -= t;
  }
  before_rows(chunk);
  const auto [begin, end] = part.chunk_rows(chunk);
  Index last_positive = begin;
  for (Index i = begin; i < end; ++i) {
    if (!(s.score[i] > 0.0)) continue;
    target -= s.score[i];
    if (target < 0.0) return i;
    last_positive = i;
  }
  return last_positive;
}

/** max(k, 1) uniform variates in [0, 1) from std::mt19937_64 (the variate
 *  formed here, not by the implementation-defined std::uniform_real_distribution,
 *  so the same seed gives the same numbers on every platform). */
inline Eigen::VectorXd seeded_uniforms(Index k, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  Eigen::VectorXd u(std::max<Index>(k, 1));
  for (Index i = 0; i < u.size(); ++i) u[i] = static_cast<double>(engine() >> 11) * 0x1.0p-53;
  return u;
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
 * Greedy k-means++ seeding (Arthur and Vassilvitskii; scikit-learn's
 * kmeans_plusplus): the first centre is a row drawn with probability
 * proportional to its weight (uniformly without weights); for every further
 * centre, n_local_trials candidate rows are drawn with probability
 * proportional to weight times squared distance from the nearest centre
 * chosen so far, and the candidate that leaves the smallest weighted sum of
 * squared distances is kept (the first of equals). One trial is plain
 * k-means++. A row of weight 0 is never chosen. When the rows of positive
 * weight all coincide with chosen centres (fewer distinct rows than k), the
 * candidates are drawn by weight alone, as the first centre, rather than
 * failing: k may exceed the number of distinct rows.
 *
 * The caller supplies the randomness: uniforms holds 1 + (k - 1) *
 * n_local_trials variates in [0, 1), the first for the first centre, then
 * n_local_trials per centre, each scaled by the current total score. With
 * NumPy's uniforms in the order scikit-learn draws them, the same rows come
 * out as there, up to rounding of the distances (scikit-learn expands
 * |x - c|^2 into norms and a product). Rows, totals and draws do not depend on
 * the thread count. Distances are taken in a frame scaled by a power of two
 * to the magnitude of the rows of positive weight, so they neither overflow
 * nor underflow from 1e-300 to 1e300.
 * @param x      N x D data, D >= 1.
 * @param k      number of centres, 1 <= k <= N.
 * @param sample_weight  N weights (finite, >= 0, positive sum) or empty for unit weights.
 * @return the k x D centres and their row indices in x.
 * @throws std::invalid_argument if k is outside 1..N, D = 0, n_local_trials < 1,
 *         uniforms has the wrong size or a value outside [0, 1), or sample_weight is invalid.
 * @throws Cancelled when execution.should_stop asked to stop.
 */
template <typename Scalar>
KMeansSeeds kmeans_plus_plus(const DataRef<Scalar>& x, Index k, const Eigen::Ref<const Eigen::VectorXd>& uniforms,
                             int n_local_trials, const Execution& execution = {},
                             const SampleWeightRef& sample_weight = detail::no_sample_weight()) {
  const Index n = x.rows(), d = x.cols();
  if (d < 1) detail::invalid_argument("kmeans_plus_plus: data must have at least one column");
  if (k < 1 || k > n) detail::invalid_argument("kmeans_plus_plus: k must lie in 1..N");
  if (n_local_trials < 1) detail::invalid_argument("kmeans_plus_plus: n_local_trials must be at least 1");
  const Index trials = n_local_trials, n_uniforms = 1 + (k - 1) * trials;
  if (uniforms.size() != n_uniforms || !(uniforms.array() >= 0.0).all() || !(uniforms.array() < 1.0).all())
    detail::invalid_argument("kmeans_plus_plus: uniforms must hold 1 + (k - 1) * n_local_trials = " +
                             std::to_string(n_uniforms) + " values in [0, 1), got " +
                             std::to_string(uniforms.size()) + " values" +
                             (uniforms.size() == n_uniforms ? " not all in [0, 1)" : ""));
  const detail::KMeansWeights weight("kmeans_plus_plus", sample_weight, n);
  detail::StopCheck stop(execution);
  const detail::RowPartition part(n);
  const int threads = detail::threads_for(execution.n_threads,
                                          static_cast<double>(n) * static_cast<double>(d * trials));
  const double scale = detail::unit_scale(detail::column_max_abs(x, weight, threads, stop).maxCoeff());
  const auto chunks = static_cast<std::size_t>(part.n_chunks);

  detail::ChunkedScores by_weight{Eigen::VectorXd(n), std::vector<double>(chunks)};
  for (Index c = 0; c < part.n_chunks; ++c) {
    const auto [begin, end] = part.chunk_rows(c);
    double total = 0.0;
    for (Index i = begin; i < end; ++i) total += by_weight.score[i] = weight(i);
    by_weight.chunk_total[static_cast<std::size_t>(c)] = total;
  }
  detail::ChunkedScores nearest{Eigen::VectorXd(n), std::vector<double>(chunks)};
  for (Index i = 0; i < n; ++i)
    nearest.score[i] = by_weight.score[i] > 0.0 ? std::numeric_limits<double>::infinity() : 0.0;

  KMeansSeeds seeds{RowMatrix<double>(k, d), Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>(k)};
  std::vector<Index> candidates{detail::draw_row(by_weight, part, uniforms[0] * by_weight.total())};
  RowMatrix<double> scaled_candidates(trials, d);
  scaled_candidates.row(0) = x.row(candidates[0]).template cast<double>() * scale;
  std::vector<double> candidate_partial(chunks * static_cast<std::size_t>(trials));  // chunk-major
  // The centre kept last is folded into nearest.score by the same pass over
  // x that scores the next candidates (one pass per centre); a chunk that a
  // draw lands in is folded first. min is idempotent: folding twice changes
  // nothing, so the scores do not depend on which chunks the draws visited.
  Eigen::RowVectorXd pending;  // empty: nothing to fold
  std::vector<char> folded(chunks, 1);
  // One chunk: fold pending in (unless done), and add each of the first
  // n_scored candidates' sum of min(nearest, weighted distance) to its partial.
  auto pass_chunk = [&](Index chunk, Index n_scored) {
    const auto [begin, end] = part.chunk_rows(chunk);
    const bool fold = pending.size() > 0 && !folded[static_cast<std::size_t>(chunk)];
    double* partial = &candidate_partial[static_cast<std::size_t>(chunk * trials)];
    std::fill(partial, partial + n_scored, 0.0);
    detail::ScaledBlocks blocks;
    for (Index first = begin; first < end; first += detail::kBlockRows) {
      blocks.load(x, first, std::min(end - first, detail::kBlockRows), scale, by_weight.score);
      blocks.score(fold ? pending.data() : nullptr, scaled_candidates, n_scored, nearest.score.data() + first, partial);
    }
    folded[static_cast<std::size_t>(chunk)] = 1;
  };
  for (Index c = 0;; ++c) {
    // Score the candidates for centre c and keep the one of least potential
    // (the first of equals); with one candidate only its chunk totals are needed.
    const auto n_candidates = static_cast<Index>(candidates.size());
    Index best = 0;
    if (n_candidates > 1 || c + 1 < k) {
      detail::parallel_for_chunks(part.n_chunks, threads, stop, [&](int, Index chunk) { pass_chunk(chunk, n_candidates); });
      double best_potential = std::numeric_limits<double>::infinity();
      for (Index t = 0; t < n_candidates; ++t) {
        double potential = 0.0;
        for (std::size_t chunk = 0; chunk < chunks; ++chunk)
          potential += candidate_partial[chunk * static_cast<std::size_t>(trials) + static_cast<std::size_t>(t)];
        if (potential < best_potential) {
          best_potential = potential;
          best = t;
        }
      }
    }
    const Index chosen = candidates[static_cast<std::size_t>(best)];
    seeds.indices[c] = static_cast<std::int64_t>(chosen);
    seeds.centres.row(c) = x.row(chosen).template cast<double>();
    if (c + 1 == k) break;

    pending = scaled_candidates.row(best);
    for (std::size_t chunk = 0; chunk < chunks; ++chunk) {
      nearest.chunk_total[chunk] = candidate_partial[chunk * static_cast<std::size_t>(trials) + static_cast<std::size_t>(best)];
      folded[chunk] = 0;
    }
    const double potential = nearest.total();
    candidates.assign(static_cast<std::size_t>(trials), 0);
    for (Index t = 0; t < trials; ++t) {
      const double u = uniforms[1 + c * trials + t];
      candidates[static_cast<std::size_t>(t)] =
          potential > 0.0 ? detail::draw_row(nearest, part, u * potential, [&](Index chunk) { pass_chunk(chunk, 0); })
                          : detail::draw_row(by_weight, part, u * by_weight.total());
      scaled_candidates.row(t) = x.row(candidates[static_cast<std::size_t>(t)]).template cast<double>() * scale;
    }
  }
  return seeds;
}

/**
 * Plain k-means++ (one candidate per centre) on uniforms from std::mt19937_64
 * seeded with seed: the same seed gives the same centres on every platform
 * and thread count. See the overload above.
 * @return k x D centres, rows of x.
 */
template <typename Scalar>
RowMatrix<double> kmeans_plus_plus(const DataRef<Scalar>& x, Index k, std::uint64_t seed,
                                   const Execution& execution = {},
                                   const SampleWeightRef& sample_weight = detail::no_sample_weight()) {
  return kmeans_plus_plus<Scalar>(x, k, detail::seeded_uniforms(k, seed), 1, execution, sample_weight).centres;
}

/**
 * Lloyd iterations from the given centres: assign every row to its nearest
 * centre, move every centre to the weighted mean of its rows (sum of w_i x_i
 * over sum of w_i; the plain mean without weights); stop when no centre
 * moves, by options' rules, or after options.max_iter updates. A centre whose
 * rows have no weight (it lost them all, or all of them weigh 0) stays where
 * it was unless options.relocate_empty. Rows of weight 0 are labelled but
 * never read into a sum, so their values cannot change the centres. Sums are
 * taken per column in a frame scaled by a power of two, so the means of rows
 * near 1e300 do not overflow. Results do not depend on the thread count.
 * @param sample_weight  N weights (finite, >= 0, positive sum) or empty for unit weights.
 * @throws std::invalid_argument if max_iter < 1, D = 0, shapes disagree or sample_weight is invalid.
 * @throws Cancelled when execution.should_stop asked to stop.
 */
template <typename Scalar>
KMeansResult kmeans_lloyd(const DataRef<Scalar>& x, RowMatrix<double> centres, const LloydOptions& options,
                          const Execution& execution = {},
                          const SampleWeightRef& sample_weight = detail::no_sample_weight()) {
  if (options.max_iter < 1) detail::invalid_argument("kmeans_lloyd: max_iter must be at least 1");
  detail::check_kmeans_shapes("kmeans_lloyd", x, centres);
  const detail::KMeansWeights weight("kmeans_lloyd", sample_weight, x.rows());
  const Index k = centres.rows(), d = x.cols();
  KMeansResult result;
  result.labels.setConstant(x.rows(), -1);  // no row's label at the start
  const detail::RowPartition part(x.rows());
  std::vector<detail::CentroidSums> chunk_sums(static_cast<std::size_t>(part.n_chunks));
  detail::StopCheck stop(execution);
  const int threads = detail::threads_for(execution.n_threads, static_cast<double>(x.rows()) * static_cast<double>(k * d));
  // Column scales: 2^-e_j with 2^e_j just above the column's largest |x|.
  Eigen::RowVectorXd column_scale = detail::column_max_abs(x, weight, threads, stop);
  for (Index j = 0; j < d; ++j) column_scale[j] = detail::unit_scale(column_scale[j]);
  bool labels_settled = false;  // the last assignment changed no label
  // Each chunk's centroid sums, its rows in order, taken block by block as
  // the assignment labels them (the same sums, bit for bit, as a second pass).
  const auto add_to_sums = [&](Index chunk, Index first, Index rows) {
    detail::CentroidSums& s = chunk_sums[static_cast<std::size_t>(chunk)];
    for (Index i = first; i < first + rows; ++i) {
      const double w = weight(i);  // 1 without weights
      if (w == 0.0) continue;      // skipped, not multiplied: 0 * inf would be NaN
      const Index label = static_cast<Index>(result.labels[i]);
      detail::add_scaled_row(s.sums.row(label).data(), x, i, weight, column_scale);
      s.counts[label] += w;
    }
  };
  for (int iter = 0; iter < options.max_iter; ++iter) {
    for (auto& s : chunk_sums) {
      s.sums.setZero(k, d);
      s.counts.setZero(k);
    }
    labels_settled =
        detail::nearest_centres<Scalar>(x, centres.cast<Scalar>(), result.labels, threads, stop, add_to_sums) == 0;
    detail::CentroidSums total{RowMatrix<double>::Zero(k, d), Eigen::VectorXd::Zero(k)};  // weight of each centre's rows
    for (const auto& s : chunk_sums) {
      total.sums += s.sums;
      total.counts += s.counts;
    }
    if (options.relocate_empty && (total.counts.array() == 0.0).any())
      detail::relocate_empty_centres(x, centres, result.labels, weight, column_scale, total, threads, stop);
    Index heaviest = 0;
    total.counts.maxCoeff(&heaviest);
    RowMatrix<double> updated = centres;
    for (Index c = 0; c < k; ++c)
      if (total.counts[c] > 0) updated.row(c) = (total.sums.row(c) / total.counts[c]).cwiseQuotient(column_scale);
    if (options.relocate_empty)
      for (Index c = 0; c < k; ++c)
        if (!(total.counts[c] > 0)) updated.row(c) = updated.row(heaviest);
    result.n_iter = iter + 1;
    const double largest_move = (updated - centres).cwiseAbs().maxCoeff();
    const double squared_shift = (updated - centres).squaredNorm();
    centres = std::move(updated);
    if (largest_move == 0.0) {
      labels_settled = true;  // the labels already belong to these centres
      break;
    }
    if (options.delta_stop >= 0.0 && largest_move <= options.delta_stop) break;
    if (options.shift_tol >= 0.0 && (labels_settled || squared_shift <= options.shift_tol)) break;
  }
  if (options.label_returned_centres && !labels_settled)
    detail::nearest_centres<Scalar>(x, centres.cast<Scalar>(), result.labels, threads, stop);
  result.centres = std::move(centres);
  return result;
}

/** kmeans_lloyd with PyPR's stopping rule: at most max_iter updates, stop when
 *  every coordinate moves by at most delta_stop (if delta_stop >= 0). */
template <typename Scalar>
KMeansResult kmeans_lloyd(const DataRef<Scalar>& x, RowMatrix<double> centres, int max_iter,
                          double delta_stop = -1.0, const Execution& execution = {},
                          const SampleWeightRef& sample_weight = detail::no_sample_weight()) {
  LloydOptions options;
  options.max_iter = max_iter;
  options.delta_stop = delta_stop;
  return kmeans_lloyd<Scalar>(x, std::move(centres), options, execution, sample_weight);
}

}  // namespace gaussmix
