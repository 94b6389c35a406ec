// The EM pass allocates nothing per block: with a workspace sized by an
// earlier pass of the same shape, a whole pass (both threads) runs with
// Eigen's heap allocations forbidden. Eigen checks every allocation it makes
// when EIGEN_RUNTIME_NO_MALLOC is defined; eigen_assert is made to throw so
// that the check also works in Release builds (NDEBUG).
#include <stdexcept>
#include <type_traits>

#define EIGEN_RUNTIME_NO_MALLOC
#define eigen_assert(x)                                                        \
  do {                                                                         \
    if (!(x)) throw std::runtime_error("Eigen assertion failed: " #x);         \
  } while (false)

#include <gaussmix/gaussmix.hpp>

#include "check.hpp"
#include "reference.hpp"

namespace no_allocation_tests {

using gaussmix::Index;
using reference::RowMatrix;

/** Centres on a line, 3 apart in every coordinate, and one 1000 away: with
 *  unit covariances that one is handled around its own mean (its offset from
 *  the mixture's mean is far beyond the common shift's tolerance). */
RowMatrix centres(Index k, Index d) {
  RowMatrix c(k, d);
  for (Index i = 0; i < k; ++i) c.row(i).setConstant(3.0 * static_cast<double>(i));
  c.row(k - 1).setConstant(1000.0);
  return c;
}

/** Runs pass() with Eigen's heap allocations forbidden: true if it ran through. */
template <typename Pass>
bool runs_without_allocation(Pass&& pass) {
  bool ok = true;
  Eigen::internal::set_is_malloc_allowed(false);
  try {
    pass();
  } catch (const std::exception&) {
    ok = false;
  }
  Eigen::internal::set_is_malloc_allowed(true);
  return ok;
}

/** start under another covariance model: its first covariance shared (tied),
 *  or the covariances' diagonals (diag) or their means (spherical). */
template <typename Scalar>
gaussmix::Mixture<Scalar> as_model(const gaussmix::Mixture<double>& start, gaussmix::CovarianceType type) {
  const Index k = start.n_components(), d = start.dim();
  gaussmix::RowMatrix<double> variances(k, d);
  for (Index c = 0; c < k; ++c) variances.row(c) = start.covariance(c).diagonal().transpose();
  switch (type) {
    case gaussmix::CovarianceType::full: break;
    case gaussmix::CovarianceType::tied:
      return gaussmix::Mixture<Scalar>::tied(start.weights(), start.means(), start.covariance(0));
    case gaussmix::CovarianceType::diag: return gaussmix::Mixture<Scalar>::diag(start.weights(), start.means(), variances);
    case gaussmix::CovarianceType::spherical:
      return gaussmix::Mixture<Scalar>::spherical(start.weights(), start.means(), variances.rowwise().mean());
  }
  return gaussmix::Mixture<Scalar>(start.weights(), start.means(), start.covariances());
}

/** A second pass with no Eigen allocation allowed: true if it ran through. */
template <typename Scalar>
bool pass_without_allocation(Index d, Index k, gaussmix::CovarianceType type, bool weighted) {
  const RowMatrix c = centres(k, d);
  const gaussmix::RowMatrix<Scalar> x = reference::clustered_data(3000, c, 1.0, 5).cast<Scalar>();
  const gaussmix::Mixture<Scalar> mix = as_model<Scalar>(reference::isotropic_mixture(c, 1.0), type);
  CHECK(mix.any_own_shift());  // both M-step paths run
  // In double the E-step runs around the mixture's mean; in float the far
  // component is beyond that path's precision and every component is scored
  // around its own mean: both E-step paths run too.
  CHECK((mix.common_shift_ok() == std::is_same<Scalar, double>::value));
  Eigen::VectorXd weights;
  if (weighted) weights = Eigen::VectorXd::LinSpaced(x.rows(), 0.0, 2.0);  // one row of weight 0
  gaussmix::detail::EmWorkspace<Scalar> ws;
  gaussmix::detail::StopCheck stop(gaussmix::Execution(2, [] { return false; }));  // the polled path
  gaussmix::detail::accumulate_stats<Scalar>(x, weights, mix, 2, stop, ws);  // sizes the workspace
  return runs_without_allocation([&] { gaussmix::detail::accumulate_stats<Scalar>(x, weights, mix, 2, stop, ws); });
}

TEST_CASE("an EM pass with a warm workspace makes no heap allocation through Eigen") {
  // D = 2 and 8: fused small-D E-step and moment columns; D = 20: whitening
  // panels and scaled responsibilities; D = 40: both, larger.
  // Every covariance model, unweighted and weighted.
  using gaussmix::CovarianceType;
  for (CovarianceType type : {CovarianceType::full, CovarianceType::tied, CovarianceType::diag, CovarianceType::spherical})
    for (Index d : {2, 8, 20, 40})
      for (bool weighted : {false, true}) {
        CHECK(pass_without_allocation<double>(d, 4, type, weighted));
        CHECK(pass_without_allocation<float>(d, 4, type, weighted));
      }
}

TEST_CASE("the check fails when the pass allocates") {
  // Guards the guard: a pass with a fresh workspace must allocate and be caught.
  const RowMatrix c = centres(3, 2);
  const RowMatrix x = reference::clustered_data(100, c, 1.0, 5);
  const auto mix = reference::isotropic_mixture(c, 1.0);
  gaussmix::detail::EmWorkspace<double> ws;
  gaussmix::detail::StopCheck stop(gaussmix::Execution(1));
  const Eigen::VectorXd unweighted;
  CHECK(!runs_without_allocation([&] { gaussmix::detail::accumulate_stats<double>(x, unweighted, mix, 1, stop, ws); }));
}

}  // namespace no_allocation_tests
