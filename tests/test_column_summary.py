"""The data checks' one pass: the core's column_summary and the ColumnStats
that _validation.column_stats builds from it.

References: NumPy on the finite entries (nanmin/nanmax, mean and variance in
float64), and exact rational arithmetic (fractions.Fraction) for the scales
where squares leave double's range."""
from fractions import Fraction

import numpy as np
import pytest

from gaussmix import _core
from gaussmix import _validation as v


def _data_with_holes(dtype, seed=0):
    """Columns: normal, normal far from 0, constant, NaN and +-inf sprinkled, all NaN."""
    rng = np.random.default_rng(seed)
    n = 70_000  # more than 64 chunks of 512-row blocks: every chunk holds several blocks
    X = np.empty((n, 6))
    X[:, 0] = rng.normal(size=n)
    X[:, 1] = 1e6 + rng.normal(size=n) * 1e-3
    X[:, 2] = 3.25
    X[:, 3] = rng.normal(size=n) * 5
    X[rng.choice(n, 40, replace=False), 3] = np.nan
    X[rng.choice(n, 3, replace=False), 4] = np.inf
    X[:, 4] = np.where(np.isinf(X[:, 4]), X[:, 4], rng.uniform(-2, 7, size=n))
    X[17, 4] = -np.inf
    X[:, 5] = np.nan
    return np.ascontiguousarray(X.astype(dtype))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_summary_matches_numpy_on_nan_inf_and_constant_columns(dtype):
    X = _data_with_holes(dtype)
    s = _core.column_summary(X, 2)
    x64 = X.astype(np.float64)
    nan = np.isnan(x64)
    finite = np.isfinite(x64)
    assert s.n_rows == len(X)
    np.testing.assert_array_equal(s.nan_count, nan.sum(axis=0))
    np.testing.assert_array_equal(s.finite_count, finite.sum(axis=0))
    np.testing.assert_array_equal(s.has_inf, np.isinf(x64).any(axis=0))
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning, match="All-NaN"):
        lo, hi = np.nanmin(x64, axis=0), np.nanmax(x64, axis=0)
    np.testing.assert_array_equal(s.min, lo)  # NaN for the all-NaN column, -inf where one is
    np.testing.assert_array_equal(s.max, hi)
    for j in range(X.shape[1]):
        values = x64[finite[:, j], j]
        if values.size == 0:
            assert np.isnan(s.mean[j]) and np.isnan(s.variance[j])
            continue
        np.testing.assert_allclose(s.mean[j], values.mean(), rtol=1e-13, atol=1e-13 * np.abs(values).max())
        np.testing.assert_allclose(s.variance[j], values.var(), rtol=1e-12)
    assert s.variance[2] == 0.0  # one repeated value


def test_summary_arrays_are_read_only():
    s = _core.column_summary(np.random.default_rng(1).normal(size=(100, 3)), 1)
    for name in ("nan_count", "finite_count", "has_inf", "min", "max", "mean", "variance"):
        assert not getattr(s, name).flags.writeable, name


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_summary_does_not_depend_on_the_thread_count(dtype):
    X = _data_with_holes(dtype, seed=3)
    X[:, 5] = np.random.default_rng(4).normal(size=len(X)) * 1e-3 + 5.0  # an ill-conditioned sum
    one = _core.column_summary(X, 1)
    for threads in (2, 3, 7, 16):
        other = _core.column_summary(X, threads)
        for name in ("nan_count", "finite_count", "has_inf", "min", "max", "mean", "variance"):
            np.testing.assert_array_equal(getattr(other, name), getattr(one, name), err_msg=name)


def _exact_moments(column):
    """(mean, variance) of a float column in exact rational arithmetic."""
    values = [Fraction(float(c)) for c in column]
    mean = sum(values) / len(values)
    return mean, sum((c - mean) ** 2 for c in values) / len(values)


def _check_against_exact(X, stats):
    for j in range(X.shape[1]):
        mean, var = _exact_moments(X[:, j])
        np.testing.assert_allclose(stats.mean[j], float(mean), rtol=1e-13)
        # The spread from the exact variance: sqrt(var) = sqrt(var * 4**-e) * 2**e keeps it in range.
        e = (var.numerator.bit_length() - var.denominator.bit_length()) // 2
        spread = np.ldexp(np.sqrt(float(var / Fraction(2) ** (2 * e))), e)
        np.testing.assert_allclose(stats.spread[j], spread, rtol=1e-12)
        # max |x - mean| is taken around the mean as a double: its rounding is part of it.
        max_dev = max(abs(Fraction(float(c)) - mean) for c in X[:, j])
        mean_rounding = np.spacing(abs(float(mean)))
        np.testing.assert_allclose(stats.max_dev[j], float(max_dev), rtol=1e-12, atol=mean_rounding)
    np.testing.assert_array_equal(stats.lo, X.min(axis=0))
    np.testing.assert_array_equal(stats.hi, X.max(axis=0))


@pytest.mark.parametrize("scale", [1.0, 1e100, 1e-100, 1e200, 1e300, 1e-170, 1e-300])
def test_column_stats_are_exact_at_any_scale(scale):
    # Beyond 2**460 the plain squares overflow, below spreads of 2**-460 they are
    # subnormal: column_stats takes the scaled exact path there, the one pass elsewhere.
    rng = np.random.default_rng(6)
    X = np.column_stack([rng.normal(size=300), 3.0 + rng.uniform(size=300)]) * scale
    stats = v.column_stats(X)
    _check_against_exact(X, stats)
    assert stats.finite and not stats.constant.any()


def test_column_stats_of_a_tiny_spread_far_from_zero():
    # Spread 1e-150 around 1e-140: squares of the deviations are below 2**-920.
    rng = np.random.default_rng(7)
    X = (1e-140 + rng.normal(size=(200, 1)) * 1e-150)
    _check_against_exact(X, v.column_stats(X))


def test_column_stats_report_nan_and_infinity():
    X = np.random.default_rng(8).normal(size=(1000, 3))
    assert v.column_stats(X).finite
    X[9, 2] = -np.inf
    assert not v.column_stats(X).finite
    X[5, 1] = np.nan
    stats = v.column_stats(X)
    assert not stats.finite
    np.testing.assert_array_equal(stats.nan_count, [0, 1, 0])
    np.testing.assert_array_equal(stats.has_inf, [False, False, True])
    assert stats.lo[2] == -np.inf
    with pytest.raises(ValueError, match=r"t\(\): X contains NaN or infinite values"):
        v.fit_data(X, "t")


def test_constant_columns_have_zero_spread_and_deviation():
    X = np.full((5000, 2), 0.1)
    X[:, 1] = np.random.default_rng(9).normal(size=5000)
    stats = v.column_stats(X)
    np.testing.assert_array_equal(stats.constant, [True, False])
    assert stats.spread[0] == 0.0 and stats.max_dev[0] == 0.0 and stats.var[0] == 0.0
