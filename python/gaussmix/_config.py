"""Process-wide settings of gaussmix: the number of threads the core uses."""
from __future__ import annotations

import operator

from . import _core

_n_threads = 0  # 0: all cores the OpenMP runtime offers


def set_num_threads(n: int | None) -> None:
    """Set how many threads gaussmix's compiled core uses.

    Parameters
    ----------
    n : int or None
        A positive thread count, or ``None`` / ``0`` for all cores (the
        default). Results do not depend on this number: they are
        bit-identical for any thread count.
    """
    global _n_threads
    if n is None:
        _n_threads = 0
        return
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"set_num_threads(): n must be an int or None, got {type(n).__name__}") from None
    if n < 0:
        raise ValueError(f"set_num_threads(): n must be >= 0 (0 or None = all cores), got {n}")
    _n_threads = n


def get_num_threads() -> int:
    """Number of threads the core uses for the next call."""
    return _n_threads if _n_threads > 0 else int(_core.max_threads())


def threads_for_core() -> int:
    """The n_threads argument to pass to _core functions (0 = all cores)."""
    return _n_threads
