"""Zero-copy input: a C-contiguous float64 (or float32) X reaches the core
without being copied; other layouts are still accepted and correct."""

import tracemalloc

import numpy as np
import pytest

import gaussmix.gmm as gmm
from reference import log_likelihood


def _params(D):
    rng = np.random.default_rng(1)
    centers = [rng.standard_normal(D), rng.standard_normal(D) + 2.0]
    covs = [np.eye(D), np.eye(D) * 2.0]
    return centers, covs, np.array([0.3, 0.7])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_c_contiguous_input_is_not_copied(dtype):
    """gm_log_likelihood on an ~80 MB X (float64; 40 MB float32) allocates
    far less than X through NumPy/Python (tracemalloc sees NumPy's buffers):
    no copy of X, no full-size temporary (not even a boolean mask)."""
    N, D = 500_000, 20
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D)).astype(dtype)
    assert X.flags.c_contiguous
    centers, covs, p_k = _params(D)
    gmm.gm_log_likelihood(X[:10], centers, covs, p_k)  # warm up (imports, caches)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        L = gmm.gm_log_likelihood(X, centers, covs, p_k)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert np.isfinite(L)
    assert peak < 0.10 * X.nbytes, f"peak {peak} bytes for X of {X.nbytes} bytes"


def test_non_contiguous_input_gives_correct_result():
    """Strided, transposed-view and Fortran-ordered X are accepted and give
    the reference log-likelihood."""
    rng = np.random.default_rng(2)
    D = 3
    X = rng.standard_normal((400, D))
    centers, covs, p_k = _params(D)
    want = log_likelihood(X, centers, covs, p_k)
    strided = np.zeros((800, 2 * D))
    strided[::2, ::2] = X
    views = [strided[::2, ::2], np.asfortranarray(X), np.ascontiguousarray(X.T).T,
             X[::-1]]
    for V in views:
        assert not V.flags.c_contiguous
        before = V.copy()
        got = gmm.gm_log_likelihood(V, centers, covs, p_k)
        np.testing.assert_allclose(got, want, rtol=1e-12)
        assert np.array_equal(V, before)


def test_other_dtypes_are_accepted():
    """Integer X is converted and gives the reference result."""
    centers = [np.zeros(2), np.array([2.0, 1.0])]
    covs = [np.eye(2), np.array([[1.0, 0.2], [0.2, 0.8]])]
    p_k = np.array([0.5, 0.5])
    Xi = np.array([[0, 1], [2, 2], [-1, 3], [4, 0]])
    np.testing.assert_allclose(gmm.gm_log_likelihood(Xi, centers, covs, p_k),
                               log_likelihood(Xi.astype(float), centers, covs, p_k),
                               rtol=1e-12)
