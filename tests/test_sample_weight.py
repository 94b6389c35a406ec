"""Sample weights in block_stats and fit_em, for every covariance model:
integer weights fit as repeated rows, a row of weight 0 contributes exactly
nothing, scaling every weight changes nothing, unit weights are no weights,
and bad weights are refused with a message that names sample_weight."""

import numpy as np
import pytest

import gaussmix
import model_reference as ref
from model_reference import assert_close, problem, start

MODELS = ref.MODELS


def start_mixture(covariance_type, X, means):
    return gaussmix.Mixture(*start(covariance_type, X, means), covariance_type=covariance_type)


def _same_bits(a, b):
    for name in ("weights", "means", "covariances"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def _same_stats(a, b):
    for name in ("shift", "resp_sum", "first", "second"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert (a.log_likelihood, a.weight_sum, a.n_rows) == (b.log_likelihood, b.weight_sum, b.n_rows)


def _mixture_close(a, b, rtol):
    for name in ("weights", "means", "covariances"):
        assert_close(getattr(a, name), getattr(b, name), rtol, name)


# ---------------------------------------------------------------- integer weights = repeated rows
@pytest.mark.parametrize("covariance_type", MODELS)
@pytest.mark.parametrize("far", [False, True], ids=["near", "far"])
def test_integer_weights_fit_as_repeated_rows(covariance_type, far):
    X, means = problem(20, far, n=700)
    counts = np.random.default_rng(21).integers(0, 5, len(X))  # zeros included: rows left out
    init = start_mixture(covariance_type, X, means)
    weighted = gaussmix.fit_em(X, init, sample_weight=counts, max_iter=6, tol=0, reg_covar=1e-6)
    repeated = gaussmix.fit_em(np.repeat(X, counts, axis=0), init, max_iter=6, tol=0, reg_covar=1e-6)
    _mixture_close(weighted.mixture, repeated.mixture, 1e-10)
    assert weighted.log_likelihood == pytest.approx(repeated.log_likelihood, rel=1e-10)
    assert weighted.lower_bound == pytest.approx(repeated.lower_bound, rel=1e-10)
    stats_w = gaussmix.block_stats(X, init, sample_weight=counts)
    stats_r = gaussmix.block_stats(np.repeat(X, counts, axis=0), init)
    assert stats_w.weight_sum == stats_r.weight_sum == counts.sum()
    assert stats_w.n_rows == len(X)  # rows seen, not the weight
    for name in ("resp_sum", "first", "second"):
        assert_close(getattr(stats_w, name), getattr(stats_r, name), 1e-12, name)


# ---------------------------------------------------------------- zero weights
def _zero_weight_problem(seed, far):
    X, means = problem(seed, far, n=1500)
    rng = np.random.default_rng(seed + 1)
    w = rng.uniform(0.5, 2.0, len(X))
    zero = np.zeros(len(X), dtype=bool)
    zero[rng.choice(len(X), 300, replace=False)] = True
    zero[:3] = True  # the first rows of the first block too
    w[zero] = 0.0
    return X, means, w, zero


@pytest.mark.parametrize("covariance_type", MODELS)
@pytest.mark.parametrize("far", [False, True], ids=["near", "far"])
def test_zero_weight_rows_are_as_if_dropped(covariance_type, far):
    X, means, w, zero = _zero_weight_problem(22, far)
    init = start_mixture(covariance_type, X, means)
    with_zeros = gaussmix.fit_em(X, init, sample_weight=w, max_iter=5, tol=0, reg_covar=1e-6)
    dropped = gaussmix.fit_em(X[~zero], init, sample_weight=w[~zero], max_iter=5, tol=0, reg_covar=1e-6)
    # Equal to rounding only: the rows fall into other blocks and chunks, so
    # the sums round differently, and a covariance summed around the
    # mixture's mean 100+ sds away keeps ~1e-11 of relative precision (the
    # core's documented allowance for that path; measured 6e-12 for 'far').
    _mixture_close(with_zeros.mixture, dropped.mixture, 1e-10)
    assert with_zeros.log_likelihood == pytest.approx(dropped.log_likelihood, rel=1e-13)


@pytest.mark.parametrize("covariance_type", MODELS)
@pytest.mark.parametrize("far", [False, True], ids=["near", "far"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_zero_weight_rows_values_do_not_reach_any_sum(covariance_type, far, dtype):
    """Changing the values of the zero-weight rows (to 1e6, which scores as
    a very unlikely row, or to copies of other rows) changes no bit of the
    statistics or of the fit."""
    X, means, w, zero = _zero_weight_problem(23, far)
    X = X.astype(dtype)
    init = start_mixture(covariance_type, X, means)
    base_stats = gaussmix.block_stats(X, init, sample_weight=w)
    base_fit = gaussmix.fit_em(X, init, sample_weight=w, max_iter=4, tol=0, reg_covar=1e-6)
    far_rows = X.copy()
    far_rows[zero] = 1e6
    copies = X.copy()
    copies[zero] = X[np.flatnonzero(~zero)[: zero.sum()]]
    near_other = X.copy()  # every zero-weight row moved next to the far cluster (or to the other side)
    near_other[zero] = means[2] + 0.5
    for changed in (far_rows, copies, near_other):
        _same_stats(gaussmix.block_stats(changed, init, sample_weight=w), base_stats)
        fit = gaussmix.fit_em(changed, init, sample_weight=w, max_iter=4, tol=0, reg_covar=1e-6)
        _same_bits(fit.mixture, base_fit.mixture)
        assert fit.log_likelihood == base_fit.log_likelihood


# ---------------------------------------------------------------- scale invariance
@pytest.mark.parametrize("covariance_type", MODELS)
@pytest.mark.parametrize("far", [False, True], ids=["near", "far"])
def test_scaling_every_weight_changes_nothing(covariance_type, far):
    """fit_em's default tol compares the lower bound (per unit of weight), so
    the stopping iteration is the same too; the total log-likelihood scales."""
    X, means = problem(24, far, n=900)
    w = np.random.default_rng(25).uniform(0.0, 3.0, len(X))
    init = start_mixture(covariance_type, X, means)
    base = gaussmix.fit_em(X, init, sample_weight=w, reg_covar=1e-6)
    assert 2 <= base.n_iter < 100 and base.converged  # the convergence rule was exercised
    # A power of two scales every sum exactly: the same bits.
    for c in (2.0 ** -30, 2.0 ** 20):
        scaled = gaussmix.fit_em(X, init, sample_weight=w * c, reg_covar=1e-6)
        assert (scaled.n_iter, scaled.converged) == (base.n_iter, base.converged)
        _same_bits(scaled.mixture, base.mixture)
        assert scaled.log_likelihood == c * base.log_likelihood
        # (lower_bound's last bits: see test_lower_bound_does_not_depend_on_the_weights_address)
        assert scaled.lower_bound == pytest.approx(base.lower_bound, rel=1e-15)
    # Other constants round each weight (1 ulp); covariances summed around the
    # mixture's mean 100+ sds away ('far') turn that into ~1e-11 relative (the
    # core's allowance for that path, see test_zero_weight_rows_are_as_if_dropped).
    rtol = 1e-10 if far else 1e-12
    for c in (1e-3, 7.5, 1e6):
        scaled = gaussmix.fit_em(X, init, sample_weight=w * c, reg_covar=1e-6)
        assert (scaled.n_iter, scaled.converged) == (base.n_iter, base.converged)
        _mixture_close(scaled.mixture, base.mixture, rtol)
        assert scaled.lower_bound == pytest.approx(base.lower_bound, rel=1e-12)
        assert scaled.log_likelihood == pytest.approx(c * base.log_likelihood, rel=1e-12)


# ---------------------------------------------------------------- unit weights
@pytest.mark.parametrize("covariance_type", MODELS)
@pytest.mark.parametrize("far", [False, True], ids=["near", "far"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_unit_weights_are_no_weights_to_the_bit(covariance_type, far, dtype):
    """Multiplying by 1.0 and adding 1.0 per row are exact, and the weighted
    pass sums in the same order as the unweighted one, so sample_weight=ones
    gives the bits of sample_weight=None (DESIGN: no separate path)."""
    X, means = problem(26, far, n=1500)
    X = X.astype(dtype)
    init = start_mixture(covariance_type, X, means)
    ones = np.ones(len(X))
    _same_stats(gaussmix.block_stats(X, init, sample_weight=ones), gaussmix.block_stats(X, init))
    a = gaussmix.fit_em(X, init, sample_weight=ones, max_iter=5, tol=0, reg_covar=1e-6)
    b = gaussmix.fit_em(X, init, max_iter=5, tol=0, reg_covar=1e-6)
    _same_bits(a.mixture, b.mixture)
    assert (a.log_likelihood, a.lower_bound) == (b.log_likelihood, b.lower_bound)


def test_lower_bound_does_not_depend_on_the_weights_address():
    """The same weights at another address (an offset view into a larger
    buffer, as a slice or a column of a record array gives) are the same
    weights: every result, the lower bound included, has the same bits."""
    X, means = problem(30, n=900)
    w = np.random.default_rng(31).uniform(0.0, 3.0, len(X))
    init = start_mixture("diag", X, means)
    results = set()
    for offset in range(8):
        buffer = np.empty(len(w) + 8)
        view = buffer[offset:offset + len(w)]
        view[:] = w
        fit = gaussmix.fit_em(X, init, sample_weight=view, max_iter=3, tol=0)
        stats = gaussmix.block_stats(X, init, sample_weight=view)
        results.add((fit.log_likelihood, fit.lower_bound, stats.log_likelihood, stats.weight_sum))
    assert len(results) == 1, sorted(results)


def test_weights_of_other_dtypes_are_the_same_weights():
    X, means = problem(27, n=300)
    init = start_mixture("diag", X, means)
    counts = np.random.default_rng(28).integers(0, 4, len(X))
    want = gaussmix.block_stats(X, init, sample_weight=counts.astype(np.float64))
    for w in (counts, counts.astype(np.int32), counts.astype(np.float32), list(counts.tolist()),
              np.asfortranarray(np.stack([counts, counts]))[0]):
        _same_stats(gaussmix.block_stats(X, init, sample_weight=w), want)


# ---------------------------------------------------------------- bad weights
N_BAD = 60


def _with(index, value, n=N_BAD):
    w = np.ones(n)
    w[index] = value
    return w


BAD_WEIGHTS = {
    "negative": (_with(5, -1e-300), ValueError, r"sample_weight must be finite and >= 0"),
    "all negative": (-np.ones(N_BAD), ValueError, r"sample_weight must be finite and >= 0"),
    "nan": (_with(3, np.nan), ValueError, r"sample_weight must be finite and >= 0"),
    "inf": (_with(4, np.inf), ValueError, r"sample_weight must be finite and >= 0"),
    "short": (np.ones(N_BAD - 1), ValueError, r"sample_weight must have shape \(60,\)"),
    "long": (np.ones(N_BAD + 1), ValueError, r"sample_weight must have shape \(60,\)"),
    "column": (np.ones((N_BAD, 1)), ValueError, r"sample_weight must have shape \(60,\)"),
    "2-D": (np.ones((2, N_BAD)), ValueError, r"sample_weight must have shape \(60,\)"),
    "scalar": (1.0, ValueError, r"sample_weight must have shape \(60,\)"),
    "all zero": (np.zeros(N_BAD), ValueError, r"sample_weight must have a positive, finite sum"),
    "sum overflows": (np.full(N_BAD, 1e308), ValueError, r"sample_weight must have a positive, finite sum"),
    "strings": (np.full(N_BAD, "1"), TypeError, r"sample_weight must be numeric"),
    "list of str": (["a"] * N_BAD, TypeError, r"sample_weight must be numeric"),
    "complex": (np.ones(N_BAD, dtype=complex), TypeError, r"sample_weight must be real"),
}


@pytest.mark.parametrize("covariance_type", MODELS)
@pytest.mark.parametrize("case", list(BAD_WEIGHTS))
def test_bad_weights_are_refused_by_name(case, covariance_type):
    X, means = problem(29, n=N_BAD)
    init = start_mixture(covariance_type, X, means)
    weights, error, message = BAD_WEIGHTS[case]
    before = np.array(weights, copy=True)
    with pytest.raises(error, match=r"block_stats\(\): " + message):
        gaussmix.block_stats(X, init, sample_weight=weights)
    with pytest.raises(error, match=r"fit_em\(\): " + message):
        gaussmix.fit_em(X, init, sample_weight=weights)
    np.testing.assert_array_equal(np.asarray(weights), before)
