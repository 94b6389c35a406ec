"""The engine (gaussmix/_engine.py): the core's in-memory loop is the same
loop as the Python one over the statistics seam; the starts shared through
a StartCache; warnings at the user's line; the covariance-model table
against scikit-learn's own per-model functions."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGaussianMixture
from sklearn.mixture._gaussian_mixture import _compute_precision_cholesky

import gaussmix
from gaussmix import GaussianMixture, StartCache, _engine, _starts
from gaussmix._covariance import COVARIANCE_MODELS
from gaussmix._validation import column_stats

MODELS = tuple(COVARIANCE_MODELS)


def blobs(n=400, d=3, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4, size=(3, d))
    return (centres[rng.integers(0, 3, n)] + rng.normal(size=(n, d))).astype(dtype)


class _PythonLoop(_engine.MaximumLikelihood):
    """The same rule, which the in-memory source does not hand to the core's loop."""


@pytest.mark.parametrize("covariance_type", MODELS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_core_loop_and_the_python_loop_give_the_same_fit(covariance_type, weighted, dtype):
    X = blobs(dtype=dtype)
    w = np.random.default_rng(1).uniform(0.5, 2.0, len(X)) if weighted else None
    start = GaussianMixture(3, covariance_type=covariance_type, max_iter=0, random_state=0).fit(X).to_mixture()
    source = _engine.InMemory(X, w, "test", column_stats(X)).for_start(start)
    settings = _engine.Settings(1, 25, 1e-6)
    offset = _engine.resp_offset(X.dtype, source.weight_total, len(X))
    events = []
    core = _engine.iterate(source, _engine.MaximumLikelihood(1e-6, offset), start, np.nan, settings,
                           lambda i, lb: events.append(("core", i, lb)))
    python = _engine.iterate(source, _PythonLoop(1e-6, offset), start, np.nan, settings,
                             lambda i, lb: events.append(("python", i, lb)))
    assert core.n_iter == python.n_iter > 1 and core.converged == python.converged
    np.testing.assert_allclose(core.lower_bounds, python.lower_bounds, rtol=1e-11)
    rtol = 1e-4 if dtype == np.float32 else 1e-9  # float32 kernels: the blocks round differently
    np.testing.assert_allclose(core.parameters.means, python.parameters.means, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(core.parameters.covariances, python.parameters.covariances, rtol=rtol, atol=rtol)
    # One event per iteration from either loop, carrying the lower bounds the run returns.
    for loop, run in (("core", core), ("python", python)):
        mine = [(i, lb) for name, i, lb in events if name == loop]
        assert [i for i, _ in mine] == list(range(run.n_iter))
        np.testing.assert_allclose([lb for _, lb in mine], run.lower_bounds, rtol=1e-12)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_fits_sharing_a_start_cache_are_the_fits_without_it_and_draw_once(init_params, monkeypatch):
    X = blobs()
    draws = []
    original = _starts.StartProvider._draw
    monkeypatch.setattr(_starts.StartProvider, "_draw", lambda self, *a: draws.append(1) or original(self, *a))
    cache = StartCache()
    for covariance_type in MODELS:
        params = dict(covariance_type=covariance_type, n_init=2, init_params=init_params, random_state=7)
        shared = GaussianMixture(3, **params).fit(X, starts=cache)
        alone = GaussianMixture(3, **params).fit(X)
        np.testing.assert_array_equal(shared.means_, alone.means_)
        np.testing.assert_array_equal(shared.covariances_, alone.covariances_)
        assert shared.lower_bounds_ == alone.lower_bounds_
    # Each initialisation drawn once for the cache (then reused by 3 models), and once per fit without it.
    assert len(draws) == 2 + 2 * len(MODELS)


def test_a_start_cache_refuses_fits_it_cannot_serve():
    X = blobs()
    cache = StartCache()
    GaussianMixture(3, random_state=0).fit(X, starts=cache)
    with pytest.raises(ValueError, match="StartCache: this cache holds the starts of fits with"):
        GaussianMixture(2, random_state=0).fit(X, starts=cache)
    with pytest.raises(ValueError, match="StartCache: this cache holds"):
        GaussianMixture(3, random_state=1).fit(X, starts=cache)
    with pytest.raises(ValueError, match="needs an int random_state"):
        GaussianMixture(3, random_state=np.random.RandomState(0)).fit(X, starts=StartCache())
    with pytest.raises(TypeError, match="starts must be a gaussmix.StartCache"):
        GaussianMixture(3, random_state=0).fit(X, starts={})


def _warnings_of(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return caught


@pytest.mark.parametrize("with_nan", [False, True])
def test_warnings_point_at_the_users_line(with_nan):
    X = np.repeat([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], 10, axis=0)  # 4 distinct rows, K = 5
    if with_nan:
        X[0, 1] = np.nan
    caught = _warnings_of(lambda: GaussianMixture(5, max_iter=1, random_state=0).fit(X))
    assert {w.category for w in caught} >= {ConvergenceWarning}
    assert all(w.filename == __file__ for w in caught), [(w.filename, w.lineno) for w in caught]
    caught = _warnings_of(lambda: gaussmix.select_model(blobs(), [2], ["diag"], max_iter=1, random_state=0))
    assert caught and all(w.filename == __file__ for w in caught)


@pytest.mark.parametrize("covariance_type", MODELS)
def test_the_covariance_table_agrees_with_scikit_learn(covariance_type):
    X = blobs(d=4)
    theirs = SkGaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    model = COVARIANCE_MODELS[covariance_type]
    assert model.n_parameters(3, 4) == theirs._n_parameters()
    assert model.shape(3, 4) == theirs.covariances_.shape
    cholesky = model.precisions_cholesky(theirs.covariances_)
    np.testing.assert_allclose(cholesky, _compute_precision_cholesky(theirs.covariances_, covariance_type),
                               rtol=1e-10)
    np.testing.assert_allclose(model.precisions(cholesky), theirs.precisions_, rtol=1e-9)
    np.testing.assert_allclose(model.covariances_from_precisions_cholesky(cholesky), theirs.covariances_, rtol=1e-9)
    np.testing.assert_allclose(model.covariances_from_precisions(theirs.precisions_, "p"), theirs.covariances_,
                               rtol=1e-9)
    dense = model.dense(theirs.covariances_, 3, 4)
    for k in range(3):  # each component's matrix, written out from scikit-learn's shapes
        want = {"full": lambda: theirs.covariances_[k], "tied": lambda: theirs.covariances_,
                "diag": lambda: np.diag(theirs.covariances_[k]),
                "spherical": lambda: theirs.covariances_[k] * np.eye(4)}[covariance_type]()
        np.testing.assert_array_equal(dense[k], want)
        np.testing.assert_array_equal(model.variances(theirs.covariances_, 3, 4)[k], np.diag(want))
    np.testing.assert_array_equal(model.from_dense(dense), theirs.covariances_)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("with_nan", [False, True])
def test_infinity_is_refused_with_scikit_learns_message_from_the_core_pass(dtype, with_nan):
    X = blobs(dtype=dtype)
    X[17, 1] = -np.inf
    if with_nan:
        X[3, 0] = np.nan
    with pytest.raises(ValueError) as ours:
        GaussianMixture(3).fit(X)
    with pytest.raises(ValueError) as theirs:
        SkGaussianMixture(3).fit(np.where(np.isnan(X), 0, X))
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("row", [0, 2500, 3999])  # the first, a middle and the last of the core's 512-row blocks
@pytest.mark.parametrize("with_nan", [False, True])
def test_scoring_refuses_infinity_with_scikit_learns_message_from_the_core_pass(dtype, row, with_nan):
    """The scoring calls leave the values to the core's pass (no NumPy check
    before it): infinity anywhere, also beside NaN, is still scikit-learn's
    ValueError, and the caller's array is not modified."""
    X = blobs(n=4000, dtype=dtype)
    ours = GaussianMixture(3, random_state=0).fit(X)
    theirs = SkGaussianMixture(3, random_state=0).fit(X)
    bad = X.copy()
    bad[row, 1] = np.inf
    if with_nan:
        bad[(row + 7) % len(bad), 0] = np.nan
    before = bad.copy()
    for method in ("predict", "predict_proba", "score_samples", "score"):
        with pytest.raises(ValueError) as got:
            getattr(ours, method)(bad)
        with pytest.raises(ValueError) as want:
            getattr(theirs, method)(np.where(np.isnan(bad), 0, bad))
        assert str(got.value) == str(want.value), method
    np.testing.assert_array_equal(bad, before)
