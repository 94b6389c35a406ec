#pragma once
/** @file column_summary.hpp
 *  Everything the data checks of a fit need from X, in one parallel pass.
 *
 *  Before a fit the data are checked (finite entries, each column's spread
 *  inside the range EM's squares can hold, float data inside the float
 *  kernels' range). Done as separate reductions (min, max, mean, deviations)
 *  each is a pass over the data costing as much as an E-step; here one read
 *  of each row block gives all of them. The variance is taken robustly: per
 *  row block (in cache) the block's mean first, then its squared deviations,
 *  both around a shift near the data (its first row), and the blocks merged
 *  with Chan et al.'s pairwise update, in a fixed order, so the result does
 *  not depend on the thread count.
 */
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "detail/config.hpp"
#include "detail/parallel.hpp"
#include "execution.hpp"

namespace gaussmix {

/**
 * Per column of an N x D data matrix. min and max cover every entry that is
 * not NaN (infinities included); mean and variance (population, ddof = 0)
 * cover the finite entries, with double accumulation whatever the data's
 * precision. They are plain double arithmetic: exact to rounding while
 * max |x| <= 2^460 (no square of a deviation, nor a sum of them over 2^60
 * rows, can overflow) and while the variance is a normal number well above
 * 2^-1022 (squares of deviations are not subnormal); outside that range a
 * caller that needs them exactly rescales the column by a power of two.
 * A column without a non-NaN entry has NaN min and max; one without a
 * finite entry NaN mean and variance.
 */
struct ColumnSummary {
  Index n_rows = 0;
  Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1> nan_count;     ///< D: NaN entries
  Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1> finite_count;  ///< D: finite entries
  Eigen::Array<bool, Eigen::Dynamic, 1> has_inf;                ///< D: whether any entry is +-inf
  Eigen::VectorXd min, max;                                     ///< D: over the non-NaN entries
  Eigen::VectorXd mean, variance;                               ///< D: of the finite entries
};

namespace detail {

/** One chunk's running column statistics: counts, extremes and, of the
 *  finite entries, their mean and sum of squared deviations (m2). */
struct ColumnAccumulator {
  std::vector<std::int64_t> nan_count, finite_count;
  std::vector<char> has_inf;
  std::vector<double> min, max, mean, m2;

  explicit ColumnAccumulator(Index d = 0)
      : nan_count(static_cast<std::size_t>(d), 0),
        finite_count(static_cast<std::size_t>(d), 0),
        has_inf(static_cast<std::size_t>(d), 0),
        min(static_cast<std::size_t>(d), std::numeric_limits<double>::infinity()),
        max(static_cast<std::size_t>(d), -std::numeric_limits<double>::infinity()),
        mean(static_cast<std::size_t>(d), 0.0),
        m2(static_cast<std::size_t>(d), 0.0) {}

  /** Adds column j's finite entries summarised as (n, mean, m2): Chan et
   *  al.'s update, exact in exact arithmetic and as stable as the two-pass
   *  variance of each part. */
  void add_moments(std::size_t j, std::int64_t n, double part_mean, double part_m2) {
    if (n == 0) return;
    const std::int64_t before = finite_count[j];
    if (before == 0) {
      finite_count[j] = n;
      mean[j] = part_mean;
      m2[j] = part_m2;
      return;
    }
    const double total = static_cast<double>(before + n);
    const double delta = part_mean - mean[j];
    const double share = static_cast<double>(n) / total;
    mean[j] += delta * share;
    m2[j] += part_m2 + delta * delta * static_cast<double>(before) * share;
    finite_count[j] = before + n;
  }

  /** Adds another accumulator's columns (the rows after these). */
  void merge(const ColumnAccumulator& other) {
    for (std::size_t j = 0; j < min.size(); ++j) {
      nan_count[j] += other.nan_count[j];
      has_inf[j] = static_cast<char>(has_inf[j] | other.has_inf[j]);
      min[j] = std::min(min[j], other.min[j]);
      max[j] = std::max(max[j], other.max[j]);
      add_moments(j, other.finite_count[j], other.mean[j], other.m2[j]);
    }
  }
};

/** Entries per row of the clean loops of summarise_block: narrow data are
 *  read several rows at a time as one wide row (2 columns: 8 rows), so the
 *  loops run on full vector registers (1e5 x 2: 0.9 ms -> 0.2 ms). */
constexpr Index kSummaryWidth = 16;

/** Per-block scratch of summarise_block: per column, and per entry of a
 *  wide row (group rows side by side). shift: the point every column's sums
 *  are taken around (see column_summary). */
struct ColumnBlockScratch {
  using Row = Eigen::Array<double, 1, Eigen::Dynamic>;
  Row shift, sum, min, max, m2, count, nans, centre;
  Row wide_shift, wide_sum, wide_min, wide_max, wide_centre;
  Eigen::Array<bool, 1, Eigen::Dynamic> inf;

  ColumnBlockScratch(const Row& shifts, Index group)
      : shift(shifts), sum(shifts.size()), min(shifts.size()), max(shifts.size()), m2(shifts.size()),
        count(shifts.size()), nans(shifts.size()), centre(shifts.size()), wide_shift(shifts.replicate(1, group)),
        wide_sum(wide_shift.size()), wide_min(wide_shift.size()), wide_max(wide_shift.size()),
        wide_centre(wide_shift.size()), inf(shifts.size()) {}

  /** Adds the wide sums to the columns' (wide entry q * D + j is column j's). */
  void fold(const Row& wide, Row& columns, double (*combine)(double, double)) const {
    const Index d = columns.size();
    for (Index q = 0; q < wide.size() / std::max<Index>(d, 1); ++q)
      for (Index j = 0; j < d; ++j) columns[j] = combine(columns[j], wide[q * d + j]);
  }
};

inline double plus(double a, double b) { return a + b; }
inline double smaller(double a, double b) { return std::min(a, b); }
inline double larger(double a, double b) { return std::max(a, b); }

/** Rows [begin, begin + b) of x into acc: the block's mean, then its squared
 *  deviations while it is in cache, both around s.shift. Data without NaN or
 *  infinity (every block of a fit) take the branch-free loops, whose sums
 *  say whether it was so: a sum stays finite only if every entry is;
 *  otherwise the block is read again entry by entry. */
template <typename Scalar>
void summarise_block(const DataRef<Scalar>& x, Index begin, Index b, ColumnBlockScratch& s, ColumnAccumulator& acc) {
  const Index d = x.cols(), width = s.wide_shift.size(), group = width / std::max<Index>(d, 1);
  const Index wide_rows = group > 0 ? b / group : 0, tail = wide_rows * group;
  const double inf = std::numeric_limits<double>::infinity();
  const auto rows = x.middleRows(begin, b);
  using Wide = Eigen::Map<const Eigen::Array<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, 0,
                          Eigen::OuterStride<>>;
  const Wide wide(rows.data(), wide_rows, width, Eigen::OuterStride<>(width));
  // The wide rows, folded into columns, then the rows left over.
  s.wide_sum.setZero();
  s.wide_min.setConstant(inf);
  s.wide_max.setConstant(-inf);
  for (Index i = 0; i < wide_rows; ++i) {
    const auto v = wide.row(i).template cast<double>();
    s.wide_sum += v - s.wide_shift;
    s.wide_min = s.wide_min.min(v);
    s.wide_max = s.wide_max.max(v);
  }
  s.sum.setZero();
  s.min.setConstant(inf);
  s.max.setConstant(-inf);
  s.fold(s.wide_sum, s.sum, plus);
  s.fold(s.wide_min, s.min, smaller);
  s.fold(s.wide_max, s.max, larger);
  for (Index i = tail; i < b; ++i) {
    const auto v = rows.row(i).array().template cast<double>();
    s.sum += v - s.shift;
    s.min = s.min.min(v);
    s.max = s.max.max(v);
  }
  const bool clean = s.sum.allFinite();
  s.m2.setZero();
  s.nans.setZero();
  s.inf.setConstant(false);
  if (clean) {
    s.count.setConstant(static_cast<double>(b));
    s.sum /= s.count;  // the block's mean, around the shift
    s.centre = s.shift + s.sum;
    for (Index q = 0; q < group; ++q) s.wide_centre.segment(q * d, d) = s.centre;
    s.wide_sum.setZero();
    for (Index i = 0; i < wide_rows; ++i) s.wide_sum += (wide.row(i).template cast<double>() - s.wide_centre).square();
    s.fold(s.wide_sum, s.m2, plus);
    for (Index i = tail; i < b; ++i) s.m2 += (rows.row(i).array().template cast<double>() - s.centre).square();
  } else {
    s.sum.setZero();
    s.min.setConstant(inf);
    s.max.setConstant(-inf);
    s.count.setZero();
    for (Index i = 0; i < b; ++i)
      for (Index j = 0; j < d; ++j) {
        const double v = static_cast<double>(rows(i, j));
        if (std::isnan(v)) {
          s.nans[j] += 1;
          continue;
        }
        s.min[j] = std::min(s.min[j], v);
        s.max[j] = std::max(s.max[j], v);
        if (std::isinf(v)) {
          s.inf[j] = true;
          continue;
        }
        s.count[j] += 1;
        s.sum[j] += v - s.shift[j];
      }
    for (Index j = 0; j < d; ++j) s.sum[j] = s.count[j] > 0 ? s.sum[j] / s.count[j] : 0.0;
    s.centre = s.shift + s.sum;
    for (Index i = 0; i < b; ++i)
      for (Index j = 0; j < d; ++j) {
        const double v = static_cast<double>(rows(i, j));
        if (std::isfinite(v)) s.m2[j] += (v - s.centre[j]) * (v - s.centre[j]);
      }
  }
  for (Index j = 0; j < d; ++j) {
    const auto u = static_cast<std::size_t>(j);
    acc.nan_count[u] += static_cast<std::int64_t>(s.nans[j]);
    acc.has_inf[u] = static_cast<char>(acc.has_inf[u] | static_cast<char>(s.inf[j]));
    acc.min[u] = std::min(acc.min[u], s.min[j]);
    acc.max[u] = std::max(acc.max[u], s.max[j]);
    acc.add_moments(u, static_cast<std::int64_t>(s.count[j]), s.sum[j], s.m2[j]);
  }
}

/** The point column_summary takes each column's sums around: its entry in
 *  the first row, or 0 where that is not finite. Within a few spreads of
 *  the mean (as a row of the data usually is), the block means are then
 *  accurate to rounding of the spread rather than of the mean, which is
 *  what merging them (ColumnAccumulator::add_moments) needs: at 1e6 + a
 *  spread of 1e-3 the variance kept 1e-13 instead of 1e-10. */
template <typename Scalar>
Eigen::Array<double, 1, Eigen::Dynamic> summary_shift(const DataRef<Scalar>& x) {
  Eigen::Array<double, 1, Eigen::Dynamic> shift = Eigen::Array<double, 1, Eigen::Dynamic>::Zero(x.cols());
  if (x.rows() == 0) return shift;
  for (Index j = 0; j < x.cols(); ++j) {
    const double v = static_cast<double>(x(0, j));
    if (std::isfinite(v)) shift[j] = v;
  }
  return shift;
}

}  // namespace detail

/**
 * The ColumnSummary of x, in one pass over its rows, in parallel over row
 * chunks that do not depend on the thread count (merged in chunk order):
 * bit-identical results for any thread count.
 * @throws Cancelled when execution.should_stop asked to stop.
 */
template <typename Scalar>
ColumnSummary column_summary(const DataRef<Scalar>& x, const Execution& execution = {}) {
  const Index n = x.rows(), d = x.cols();
  const detail::RowPartition part(n);
  const int threads = detail::threads_for(execution.n_threads, 4.0 * static_cast<double>(n) * static_cast<double>(d));
  const std::size_t n_chunks = static_cast<std::size_t>(std::max<Index>(part.n_chunks, 1));
  std::vector<detail::ColumnAccumulator> chunks(n_chunks, detail::ColumnAccumulator(d));
  detail::StopCheck stop(execution);
  // Contiguous rows are read several at a time as one wide row (kSummaryWidth).
  const Index group = x.outerStride() == d ? std::max<Index>(1, detail::kSummaryWidth / std::max<Index>(d, 1)) : 1;
  const Eigen::Array<double, 1, Eigen::Dynamic> shift = detail::summary_shift(x);
  detail::parallel_for_chunks(part.n_chunks, threads, stop, [&](int, Index chunk) {
    detail::ColumnBlockScratch scratch(shift, group);
    detail::ColumnAccumulator& acc = chunks[static_cast<std::size_t>(chunk)];
    for (Index blk = part.first_block(chunk); blk < part.first_block(chunk + 1) && !stop.requested(); ++blk)
      detail::summarise_block(x, part.block_begin(blk), part.block_size(blk), scratch, acc);
  });
  for (std::size_t c = 1; c < n_chunks; ++c) chunks.front().merge(chunks[c]);
  const detail::ColumnAccumulator& total = chunks.front();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  ColumnSummary out;
  out.n_rows = n;
  out.nan_count.resize(d);
  out.finite_count.resize(d);
  out.has_inf.resize(d);
  out.min.resize(d);
  out.max.resize(d);
  out.mean.resize(d);
  out.variance.resize(d);
  for (Index j = 0; j < d; ++j) {
    const auto u = static_cast<std::size_t>(j);
    out.nan_count[j] = total.nan_count[u];
    out.finite_count[j] = total.finite_count[u];
    out.has_inf[j] = total.has_inf[u] != 0;
    const bool any_value = total.nan_count[u] < static_cast<std::int64_t>(n);
    out.min[j] = any_value ? total.min[u] : nan;
    out.max[j] = any_value ? total.max[u] : nan;
    const std::int64_t count = total.finite_count[u];
    out.mean[j] = count > 0 ? shift[j] + total.mean[u] : nan;
    out.variance[j] = count > 0 ? total.m2[u] / static_cast<double>(count) : nan;
  }
  return out;
}

}  // namespace gaussmix
