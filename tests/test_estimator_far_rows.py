"""Rows far from every component (1e3 to 1e300 standard deviations): the
posterior is well defined in log space, so predict_proba is a distribution
that sums to 1 (never a row of zeros, as it was beyond ~1e154, nor 0.5/0.5
where the tied model's linear term decides), predict its most probable
component, and score_samples the log-density, -inf only below double's range.

The reference is exact: each component's log-density
log w_k - (D log 2 pi + log det_k) / 2 - |(x - mean_k)^T U_k|^2 / 2 in
rational arithmetic (fractions.Fraction, from the model's own float
attributes, with U_k its precisions_cholesky_), so differences of 1e320-sized
numbers are exact; then the posterior's log-space softmax, and SciPy's
logpdf wherever SciPy's float64 can tell."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

pytest.importorskip("sklearn")

from scipy.special import logsumexp  # noqa: E402
from scipy.stats import multivariate_normal  # noqa: E402

from gaussmix import GaussianMixture, Mixture  # noqa: E402

MODELS = ("full", "tied", "diag", "spherical")
SCALES = (1e3, 1e150, 1e154, 1e160, 1e300)
DIRECTIONS = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.3], [0.2, -1.0]])


def _fitted(ctype: str) -> GaussianMixture:
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(150, 2)) * [1.0, 2.0], rng.normal(size=(100, 2)) * 0.5 + [4.0, -3.0],
                   rng.normal(size=(100, 2)) + [-5.0, 2.0]])
    return GaussianMixture(3, covariance_type=ctype, random_state=0).fit(X)


def _precision_factors(model) -> list[np.ndarray]:
    """Each component's U (D x D) with precision U U^T, from precisions_cholesky_."""
    K, D = model.means_.shape
    pc = np.asarray(model.precisions_cholesky_, dtype=np.float64)
    if model.covariance_type == "full":
        return list(pc)
    if model.covariance_type == "tied":
        return [pc] * K
    if model.covariance_type == "diag":
        return [np.diag(row) for row in pc]
    return [np.eye(D) * v for v in pc]


def _to_float(value: Fraction) -> float:
    try:
        return float(value)
    except OverflowError:
        return -math.inf if value < 0 else math.inf


def exact_reference(model, rows: np.ndarray):
    """(posterior (N, K), log-density (N,)) of rows under model, from exact log-densities."""
    factors = [[[Fraction(v) for v in r] for r in U] for U in _precision_factors(model)]
    means = [[Fraction(v) for v in m] for m in np.asarray(model.means_, dtype=np.float64)]
    D = len(means[0])
    log_dets = -2.0 * np.log(np.abs(np.stack([np.diag(U) for U in _precision_factors(model)]))).sum(axis=1)
    consts = [Fraction(float(np.log(w) - 0.5 * (D * np.log(2 * np.pi) + ld)))
              for w, ld in zip(np.asarray(model.weights_, dtype=np.float64), log_dets)]
    posterior, log_density = [], []
    for row in rows:
        x = [Fraction(v) for v in row]
        exact = []
        for U, mean, const in zip(factors, means, consts):
            diff = [xi - mi for xi, mi in zip(x, mean)]
            whitened = [sum(diff[i] * U[i][j] for i in range(D)) for j in range(D)]
            exact.append(const - sum(z * z for z in whitened) / 2)
        top = max(exact)
        relative = np.array([_to_float(e - top) for e in exact])
        posterior.append(np.exp(relative - logsumexp(relative)))
        log_density.append(_to_float(top) + logsumexp(relative))
    return np.array(posterior), np.array(log_density)


def scipy_log_density(model, rows: np.ndarray) -> np.ndarray:
    K, D = model.means_.shape
    covs = {"full": lambda k: model.covariances_[k], "tied": lambda k: model.covariances_,
            "diag": lambda k: np.diag(model.covariances_[k]),
            "spherical": lambda k: np.eye(D) * model.covariances_[k]}[model.covariance_type]
    with np.errstate(over="ignore", invalid="ignore"):  # SciPy's squares overflow where it cannot tell
        log_p = np.column_stack([np.log(model.weights_[k])
                                 + multivariate_normal(model.means_[k], covs(k)).logpdf(rows) for k in range(K)])
        return logsumexp(log_p, axis=1)


def far_rows(scale: float) -> np.ndarray:
    return DIRECTIONS * scale


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("ctype", MODELS)
def test_far_rows_get_the_exact_posterior_and_log_density(ctype, scale):
    model = _fitted(ctype)
    rows = far_rows(scale)
    want_posterior, want_log_density = exact_reference(model, rows)
    got = model.predict_proba(rows)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(got, want_posterior, atol=1e-9)
    np.testing.assert_array_equal(model.predict(rows), want_posterior.argmax(axis=1))
    got_log_density = model.score_samples(rows)
    finite = np.isfinite(want_log_density)
    np.testing.assert_array_equal(np.isfinite(got_log_density), finite)  # -inf only below double's range
    np.testing.assert_allclose(got_log_density[finite], want_log_density[finite], rtol=1e-12)
    scipy_knows = np.isfinite(scipy_log_density(model, rows))
    np.testing.assert_allclose(got_log_density[scipy_knows], scipy_log_density(model, rows)[scipy_knows], rtol=1e-9)


@pytest.mark.parametrize("scale", (1e150, 1e160, 1e300))
@pytest.mark.parametrize("ctype", ("tied", "spherical"))
def test_far_rows_between_components_of_one_shape_take_the_weights(ctype, scale):
    """Components of the same shape at (0, 1) and (0, -1), the row on the
    line between them: the quadratic and linear terms of their log-densities
    cancel exactly, and the posterior is the weights (0.3, 0.7)."""
    covariances = np.eye(2) if ctype == "tied" else np.ones(2)
    model = GaussianMixture.from_mixture(Mixture([0.3, 0.7], [[0.0, 1.0], [0.0, -1.0]], covariances, ctype))
    rows = np.array([[scale, 0.0], [-scale, 0.0]])
    want_posterior, _ = exact_reference(model, rows)
    np.testing.assert_allclose(want_posterior, [[0.3, 0.7]] * 2, rtol=1e-12)
    np.testing.assert_allclose(model.predict_proba(rows), want_posterior, rtol=1e-12)
    np.testing.assert_array_equal(model.predict(rows), [1, 1])


@pytest.mark.parametrize("ctype", MODELS)
def test_far_float32_rows_sum_to_one(ctype):
    model = _fitted(ctype)
    rows = far_rows(1e30).astype(np.float32)
    want_posterior, _ = exact_reference(model, rows.astype(np.float64))
    got = model.predict_proba(rows)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(got, want_posterior, atol=1e-6)
