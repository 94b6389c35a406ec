// detail::add_row_products, the M-step's hand-tiled kernel, against a plain
// triple loop: every tile shape at the edges (m, n not multiples of the tile,
// rows not a multiple of the vector width), strided columns, both precisions,
// and the lower-triangle mode.
#include <random>
#include <vector>

#include <gaussmix/gaussmix.hpp>

#include "check.hpp"

namespace row_products_tests {

using gaussmix::Index;
using gaussmix::detail::Output;

template <typename Scalar>
std::vector<Scalar> random_columns(Index ld, Index cols, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<Scalar> v(static_cast<std::size_t>(ld * cols));
  for (auto& x : v) x = static_cast<Scalar>(u(rng));
  return v;
}

/** The kernel and the plain loop on the same operands; out starts non-zero to
 *  check that the kernel adds. Returns the largest absolute difference over the
 *  entries it must write (and checks it left the others alone). */
template <typename Scalar>
double max_error(Index m, Index n, Index rows, bool lower_only) {
  const Index ldp = rows + 3, ldq = rows + 5;  // columns not contiguous with each other
  const auto p = random_columns<Scalar>(ldp, m, 1);
  const auto q = random_columns<Scalar>(ldq, n, 2);
  // out(a, c) at a * n + c (row-major), starting at 0.5.
  std::vector<double> out(static_cast<std::size_t>(m * n), 0.5);
  gaussmix::detail::add_row_products(p.data(), ldp, m, q.data(), ldq, n, rows, Output{out.data(), n, 1}, lower_only);
  double worst = 0.0;
  for (Index a = 0; a < m; ++a)
    for (Index c = 0; c < n; ++c) {
      const double got = out[static_cast<std::size_t>(a * n + c)];
      if (lower_only && c > a) continue;  // may be written (inside a diagonal tile) or not
      double expected = 0.5;
      for (Index r = 0; r < rows; ++r)
        expected += static_cast<double>(p[static_cast<std::size_t>(a * ldp + r)]) *
                    static_cast<double>(q[static_cast<std::size_t>(c * ldq + r)]);
      worst = std::max(worst, std::abs(got - expected));
    }
  return worst;
}

TEST_CASE("add_row_products matches the triple loop for every edge shape (double)") {
  for (Index m : {1, 2, 3, 4, 5, 7, 9, 16})
    for (Index n : {1, 2, 5, 6, 7, 13, 45})
      for (Index rows : {1, 7, 8, 17, 512}) CHECK(max_error<double>(m, n, rows, false) < 1e-12);
}

TEST_CASE("add_row_products matches the triple loop for every edge shape (float)") {
  // float sums of up to 512 products of numbers in [-1, 1]: ~512 * 6e-8 at worst.
  for (Index m : {1, 3, 4, 8, 11})
    for (Index n : {1, 4, 6, 7, 19})
      for (Index rows : {1, 15, 16, 33, 512}) CHECK(max_error<float>(m, n, rows, false) < 4e-5);
}

TEST_CASE("add_row_products lower_only computes the lower triangle") {
  for (Index d : {1, 2, 5, 6, 7, 12, 13, 64}) {
    CHECK(max_error<double>(d, d, 100, true) < 1e-12);
    CHECK(max_error<float>(d, d, 100, true) < 2e-5);
  }
}

TEST_CASE("add_row_products over zero rows adds nothing") {
  CHECK(max_error<double>(3, 4, 0, false) == 0.0);
}

}  // namespace row_products_tests
