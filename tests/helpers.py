"""Small test helpers (no numerics): argument snapshots for the
"the caller's arrays are unchanged" checks, and the three-cluster data and
shared start of the tests that fit a source in pieces (Dask arrays, chunk
sources) against the in-memory fit."""

import copy

import numpy as np


def snapshot(*args):
    """Deep copy of the arguments of a call, taken before the call."""
    return copy.deepcopy(args)


def _equal(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a = np.asarray(a)
        b = np.asarray(b)
        return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(
            a, b, equal_nan=a.dtype.kind == "f")
    if isinstance(a, (list, tuple)):
        return (type(a) is type(b) and len(a) == len(b)
                and all(_equal(x, y) for x, y in zip(a, b)))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    return a == b


def assert_unchanged(before, *after):
    """Assert that the objects passed to a call are exactly as they were
    (values, shapes, dtypes, list lengths) before it."""
    assert len(before) == len(after)
    for i, (b, a) in enumerate(zip(before, after)):
        assert _equal(b, a), f"argument {i} was modified by the call"


def three_clusters(n, weight_low, seed=0):
    """(X (n, 3), weights uniform in [weight_low, weight_low + 1)): three clusters of different spreads."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0, 0.0], [4.0, 1.0, -2.0], [-3.0, 5.0, 2.0]])
    X = centres[rng.integers(3, size=n)] + rng.normal(size=(n, 3)) * rng.uniform(0.6, 1.6, 3)
    return X, rng.uniform(weight_low, weight_low + 1.0, n)


def spread_start(X, ctype):
    """A start every fit of X shares: its first, middle and last rows (shifted), equal weights, unit covariances."""
    n, d = X.shape
    precisions = {"full": np.stack([np.eye(d)] * 3), "tied": np.eye(d), "diag": np.ones((3, d)),
                  "spherical": np.ones(3)}[ctype]
    return dict(weights_init=np.full(3, 1.0 / 3), means_init=X[[0, n // 2, n - 1]] + 0.1, precisions_init=precisions)
