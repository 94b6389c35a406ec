"""fit_em's scale checks and float32 decision (_validation.fit_data): the
cheap one-pass bounds must agree with the exact column statistics."""
import numpy as np
import pytest

import gaussmix


def _start(X, ctype="diag"):
    D = X.shape[1]
    var = np.var(X.astype(np.float64), axis=0)
    return gaussmix.Mixture([0.5, 0.5], X[[0, -1]].astype(np.float64), np.tile(var, (2, 1)), ctype)


def test_spread_beyond_the_band_is_refused_by_name():
    X = np.random.default_rng(0).normal(size=(500, 3)) * 1e200
    start = gaussmix.Mixture([0.5, 0.5], X[[0, -1]], np.full((2, 3), 1e300), "diag")
    with pytest.raises(ValueError, match=r"column 0 of X has spread"):
        gaussmix.fit_em(X, start, max_iter=2)


def test_float32_inside_the_band_runs_float32_kernels():
    X = np.random.default_rng(1).normal(size=(4000, 3)).astype(np.float32)
    a = gaussmix.fit_em(X, _start(X), max_iter=3, tol=0)
    b = gaussmix.fit_em(X.astype(np.float64), _start(X), max_iter=3, tol=0)
    assert not np.array_equal(a.mixture.means, b.mixture.means)  # float32 arithmetic differs in the last bits
    np.testing.assert_allclose(a.mixture.means, b.mixture.means, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("scale", [2.0**45, 2.0**-45])
def test_float32_outside_the_band_is_fitted_in_float64(scale):
    # A column whose range leaves FLOAT32_FIT_BAND: float32 kernels could
    # overflow or lose the spread, so the fit runs on a float64 copy and gives
    # exactly the float64 fit.
    rng = np.random.default_rng(2)
    X = rng.normal(size=(4000, 2))
    X[:, 1] *= scale
    X = X.astype(np.float32)
    a = gaussmix.fit_em(X, _start(X), max_iter=3, tol=0)
    b = gaussmix.fit_em(X.astype(np.float64), _start(X), max_iter=3, tol=0)
    np.testing.assert_array_equal(a.mixture.means, b.mixture.means)
    np.testing.assert_array_equal(a.mixture.covariances, b.mixture.covariances)


def test_cheap_bounds_accept_only_what_the_exact_statistics_accept():
    # One outlier: the range (1e-10) is inside the float32 band while the
    # spread (1e-13) is below it; the cheap pass must leave the decision to
    # the exact statistics (a bound taking the range for the spread would
    # keep float32 here).
    from gaussmix import _validation as v
    rng = np.random.default_rng(3)
    X = (rng.normal(size=(1_000_000, 1)) * 2.0**-45).astype(np.float32)
    X[0, 0] = 1e-10
    start = gaussmix.Mixture([0.5, 0.5], [[0.0], [1e-10]], [[1e-20], [1e-20]], "diag")
    exact = v.kernel_data(X, fit_stats=v.column_stats(X), means=start.means, variances=start.variances())
    assert exact.dtype == np.float64
    assert v.fit_data(X, "t", means=start.means, variances=start.variances()).dtype == np.float64
