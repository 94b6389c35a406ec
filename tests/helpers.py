"""Small test helpers (no numerics): argument snapshots for the
"the caller's arrays are unchanged" checks."""

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
