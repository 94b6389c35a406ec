"""A start far from the data: the first M-step moves every mean by 1e6 or 1e9
standard deviations, and statistics taken around the old means would cancel
(a variance of -334 where the data are fine). The core retakes such
statistics around the new means (m_step.hpp, recentred_shifts) on every path:
in-memory EM, weighted rows, float32 data, Dask arrays, rows with NaN, every
covariance model. The references are scikit-learn's fit from the same start
(which computes means and covariances in two passes) and, for missing values,
the plain NumPy transcription in tests/reference_missing.py."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")

import reference_missing  # noqa: E402
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture  # noqa: E402

from gaussmix import GaussianMixture  # noqa: E402

MODELS = ("full", "tied", "diag", "spherical")
SHIFTS = (1e6, 1e9)

# Two clusters around (0, 0, 0) and (12, 12, 12).
_rng = np.random.default_rng(0)
X = np.vstack([_rng.normal(size=(150, 3)) * [1.0, 2.0, 0.5], _rng.normal(size=(100, 3)) + 12.0])
_MIDPOINT = np.full(3, 6.0)
_ACROSS = np.ones(3) / np.sqrt(3)                 # from the first cluster to the second
_ALONG = np.array([1.0, -2.0, 1.0]) / np.sqrt(6)  # perpendicular to _ACROSS


def far_start(covariance_type: str, shift: float) -> dict:
    """Initial parameters with both means `shift` away from the data, at equal
    distance from the midpoint of the clusters and on either side of the plane
    between them, with unit precisions: the first E-step splits the rows
    cleanly at that plane (log-odds of order shift, far above the rounding of
    the Mahalanobis distances, of order 1e-16 shift^2), so the fits compared
    below take the same responsibilities and the M-step is all that differs."""
    means = np.stack([_MIDPOINT + shift * (_ALONG - _ACROSS), _MIDPOINT + shift * (_ALONG + _ACROSS)])
    precisions = {"full": np.stack([np.eye(3)] * 2), "tied": np.eye(3), "diag": np.ones((2, 3)),
                  "spherical": np.ones(2)}[covariance_type]
    return dict(weights_init=[0.5, 0.5], means_init=means, precisions_init=precisions)


def sklearn_fit(X, covariance_type, shift, **params):
    return SklearnGaussianMixture(2, covariance_type=covariance_type, **far_start(covariance_type, shift),
                                  **params).fit(X)


def assert_same_fit(model, want, rtol=1e-9, atol=1e-9):
    np.testing.assert_allclose(model.weights_, want.weights_, rtol=rtol, atol=atol)
    np.testing.assert_allclose(model.means_, want.means_, rtol=rtol, atol=atol)
    np.testing.assert_allclose(model.covariances_, want.covariances_, rtol=rtol, atol=atol)
    assert model.n_iter_ == want.n_iter_


@pytest.mark.parametrize("shift", SHIFTS)
@pytest.mark.parametrize("ctype", MODELS)
def test_in_memory_fit_from_a_far_start_is_scikit_learns(ctype, shift):
    model = GaussianMixture(2, covariance_type=ctype, **far_start(ctype, shift)).fit(X)
    assert_same_fit(model, sklearn_fit(X, ctype, shift))


@pytest.mark.parametrize("shift", SHIFTS)
@pytest.mark.parametrize("ctype", MODELS)
def test_weighted_fit_from_a_far_start_is_scikit_learns_on_repeated_rows(ctype, shift):
    rows = X[::2]
    weights = np.random.default_rng(1).integers(1, 4, len(rows)).astype(np.float64)
    model = GaussianMixture(2, covariance_type=ctype, **far_start(ctype, shift)).fit(rows, sample_weight=weights)
    assert_same_fit(model, sklearn_fit(np.repeat(rows, weights.astype(int), axis=0), ctype, shift))


@pytest.mark.parametrize("ctype", MODELS)
def test_float32_fit_from_a_far_start_is_scikit_learns(ctype):
    # float32 kernels, float64 statistics: the retake runs until the offsets
    # fit float's precision; 1e6 (not 1e9: float32 cannot place the start
    # within 64 of where it was meant).
    model = GaussianMixture(2, covariance_type=ctype, **far_start(ctype, 1e6)).fit(X.astype(np.float32))
    assert model.means_.dtype == np.float32
    assert_same_fit(model, sklearn_fit(X, ctype, 1e6), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("shift", SHIFTS)
@pytest.mark.parametrize("ctype", MODELS)
def test_dask_fit_from_a_far_start_is_scikit_learns(ctype, shift):
    da = pytest.importorskip("dask.array")
    import dask

    with dask.config.set(scheduler="sync"):
        model = GaussianMixture(2, covariance_type=ctype, **far_start(ctype, shift)).fit(da.from_array(X, chunks=60))
    assert_same_fit(model, sklearn_fit(X, ctype, shift))


@pytest.mark.parametrize("shift", SHIFTS)
@pytest.mark.parametrize("ctype", MODELS)
def test_fit_with_missing_values_from_a_far_start_is_the_textbook_algorithm(ctype, shift):
    holes = np.random.default_rng(2).random(X.shape) < 0.15
    holes[holes.all(axis=1), 0] = False
    x = np.where(holes, np.nan, X)
    start = far_start(ctype, shift)
    model = GaussianMixture(2, covariance_type=ctype, tol=0, max_iter=4, reg_covar=1e-6, **start)
    with pytest.warns(Warning, match="did not converge"):
        model.fit(x)
    precisions = np.asarray(start["precisions_init"], dtype=np.float64)
    covariances = np.linalg.inv(precisions) if ctype in ("full", "tied") else 1.0 / precisions
    weights, means, covs, _ = reference_missing.fit(x, np.array(start["weights_init"]), start["means_init"],
                                                    covariances, ctype, 4, reg_covar=1e-6)
    np.testing.assert_allclose(model.weights_, weights, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(model.means_, means, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(model.covariances_, covs, rtol=1e-7, atol=1e-8)
