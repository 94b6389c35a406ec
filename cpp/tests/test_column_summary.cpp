// column_summary, the data checks' one pass, against plain loops in long
// double over the finite entries: NaN and infinity counted apart, constant
// and empty columns, both precisions, rows with an outer stride (one wide
// read per several rows only where they are contiguous), results that do
// not depend on the thread count, and cancellation.
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include <gaussmix/gaussmix.hpp>

#include "check.hpp"

namespace column_summary_tests {

using gaussmix::Index;
using RowMatrix = gaussmix::RowMatrix<double>;

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

/** Columns: normal; 1e6 + 1e-3 normal (a mean far from its spread); constant;
 *  normal with NaN; uniform with +-inf; NaN only; normal with every entry
 *  past the first infinite. */
RowMatrix awkward_data(Index n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> uniform(-2.0, 7.0);
  RowMatrix x(n, 7);
  for (Index i = 0; i < n; ++i) {
    x(i, 0) = normal(rng);
    x(i, 1) = 1e6 + 1e-3 * normal(rng);
    x(i, 2) = 3.25;
    x(i, 3) = i % 97 == 5 ? kNaN : 5.0 * normal(rng);
    x(i, 4) = i % 1001 == 17 ? (i % 2 == 0 ? kInf : -kInf) : uniform(rng);
    x(i, 5) = kNaN;
    x(i, 6) = i == 0 ? kInf : normal(rng);
  }
  return x;
}

/** What column_summary must give for column j, from plain loops. */
struct Expected {
  std::int64_t nans = 0, finite = 0;
  bool inf = false;
  double min = kInf, max = -kInf;
  long double mean = 0, variance = 0;
};

template <typename Matrix>
Expected expected_column(const Matrix& x, Index j) {
  Expected e;
  long double sum = 0;
  for (Index i = 0; i < x.rows(); ++i) {
    const double v = static_cast<double>(x(i, j));
    if (std::isnan(v)) {
      ++e.nans;
      continue;
    }
    e.min = std::min(e.min, v);
    e.max = std::max(e.max, v);
    if (std::isinf(v)) {
      e.inf = true;
      continue;
    }
    ++e.finite;
    sum += v;
  }
  if (e.finite == 0) return e;
  e.mean = sum / e.finite;
  for (Index i = 0; i < x.rows(); ++i) {
    const double v = static_cast<double>(x(i, j));
    if (std::isfinite(v)) e.variance += (v - e.mean) * (v - e.mean);
  }
  e.variance /= e.finite;
  return e;
}

template <typename Matrix>
void check_against_plain_loops(const Matrix& x, const gaussmix::ColumnSummary& s) {
  CHECK(s.n_rows == x.rows());
  for (Index j = 0; j < x.cols(); ++j) {
    const Expected e = expected_column(x, j);
    CHECK(s.nan_count[j] == e.nans);
    CHECK(s.finite_count[j] == e.finite);
    CHECK(s.has_inf[j] == e.inf);
    if (e.nans == x.rows()) {
      CHECK(std::isnan(s.min[j]) && std::isnan(s.max[j]));
    } else {
      CHECK(s.min[j] == e.min);
      CHECK(s.max[j] == e.max);
    }
    if (e.finite == 0) {
      CHECK(std::isnan(s.mean[j]) && std::isnan(s.variance[j]));
      continue;
    }
    const double mean = static_cast<double>(e.mean), variance = static_cast<double>(e.variance);
    CHECK(gaussmix_test::near(s.mean[j], mean, 1e-13 * std::abs(mean) + 1e-15));
    CHECK(gaussmix_test::near(s.variance[j], variance, 1e-300, 1e-12));
  }
}

TEST_CASE("column_summary matches plain loops on NaN, infinity, constant and empty columns") {
  for (Index n : {1, 7, 513, 40000}) {
    const RowMatrix x = awkward_data(n, 3);
    check_against_plain_loops(x, gaussmix::column_summary<double>(x, 2));
  }
  const RowMatrix x = awkward_data(40000, 4);
  const gaussmix::ColumnSummary s = gaussmix::column_summary<double>(x, 2);
  CHECK(s.variance[2] == 0.0);  // one repeated value
  CHECK(s.max[6] == kInf && std::isfinite(s.min[6]));  // its first row, the shift's, is infinite
}

TEST_CASE("column_summary of float data sums in double") {
  const gaussmix::RowMatrix<float> x = awkward_data(30000, 5).cast<float>();
  check_against_plain_loops(x, gaussmix::column_summary<float>(x, 2));
}

TEST_CASE("column_summary reads rows with an outer stride, and narrow contiguous rows several at a time") {
  const RowMatrix wide = awkward_data(20000, 6);
  // Columns 0-2 of the 7: rows 7 entries apart.
  const Eigen::Map<const RowMatrix, 0, Eigen::OuterStride<>> strided(wide.data(), wide.rows(), 3,
                                                                     Eigen::OuterStride<>(wide.cols()));
  check_against_plain_loops(strided, gaussmix::column_summary<double>(strided, 2));
  for (Index d : {1, 2, 3, 5}) {  // 16, 8, 5 and 3 rows per wide read, with rows left over
    const RowMatrix narrow = wide.leftCols(d);
    check_against_plain_loops(narrow, gaussmix::column_summary<double>(narrow, 2));
  }
}

TEST_CASE("column_summary gives the same bits on any number of threads") {
  RowMatrix x = awkward_data(100000, 7);
  const gaussmix::ColumnSummary one = gaussmix::column_summary<double>(x, 1);
  for (int threads : {2, 3, 8}) {
    const gaussmix::ColumnSummary other = gaussmix::column_summary<double>(x, threads);
    CHECK(other.nan_count == one.nan_count);
    CHECK((other.has_inf == one.has_inf).all());
    for (Index j = 0; j < x.cols(); ++j) {
      for (auto member : {&gaussmix::ColumnSummary::min, &gaussmix::ColumnSummary::max,
                          &gaussmix::ColumnSummary::mean, &gaussmix::ColumnSummary::variance}) {
        const double a = (one.*member)[j], b = (other.*member)[j];
        CHECK((std::isnan(a) && std::isnan(b)) || a == b);
      }
    }
  }
}

TEST_CASE("column_summary stops when asked") {
  const RowMatrix x = awkward_data(100000, 8);
  const gaussmix::Execution stop_now(2, [] { return true; });
  CHECK_THROWS(gaussmix::column_summary<double>(x, stop_now), gaussmix::Cancelled);
}

}  // namespace column_summary_tests
