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
        A thread count from 1 to :func:`max_num_threads` (four per processor,
        at least 16), or ``None`` / ``0`` for OpenMP's default (the default:
        all cores, or what ``OMP_NUM_THREADS`` or threadpoolctl's
        ``threadpool_limits`` allow at the time of each call; a count set
        here overrides those). Each
        call still runs no more threads than its work can use (about 1 ms of
        work per thread). Results do not depend on this number: they are
        bit-identical for any thread count.

    Raises
    ------
    TypeError
        If n is not an integer or None.
    ValueError
        If n is negative or above :func:`max_num_threads`.
    """
    global _n_threads
    if n is None:
        _n_threads = 0
        return
    if isinstance(n, bool):
        raise TypeError("set_num_threads(): n must be an int or None, got a bool")
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"set_num_threads(): n must be an int or None, got {type(n).__name__}") from None
    limit = max_num_threads()
    if n < 0 or n > limit:
        raise ValueError(
            f"set_num_threads(): n must be in [0, {limit}] (0 or None = all cores; at most 4 threads per "
            f"processor, at least 16), got {n}"
        )
    _n_threads = n


def get_num_threads() -> int:
    """Number of threads the core uses for the next call (at most; small
    problems run on fewer)."""
    return _n_threads if _n_threads > 0 else int(_core.default_threads())


def max_num_threads() -> int:
    """The largest thread count :func:`set_num_threads` accepts: four per
    processor, at least 16 (a build without OpenMP accepts them and runs one)."""
    return int(_core.max_threads())


def threads_for_core() -> int:
    """The n_threads argument to pass to _core functions (0 = all cores)."""
    return _n_threads
