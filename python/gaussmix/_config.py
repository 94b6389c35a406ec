"""Process-wide settings of gaussmix: the number of threads the core uses."""
from __future__ import annotations

import operator
import threading
from contextlib import contextmanager

from . import _core

_n_threads = 0  # 0: all cores the OpenMP runtime offers
_this_thread = threading.local()  # n_threads: a count for the calls of one Python thread (side_by_side_threads)


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
    n = threads_for_core()
    return n if n > 0 else int(_core.default_threads())


def max_num_threads() -> int:
    """The largest thread count :func:`set_num_threads` accepts: four per
    processor, at least 16 (a build without OpenMP accepts them and runs one)."""
    return int(_core.max_threads())


def threads_for_core() -> int:
    """The n_threads argument to pass to _core functions (0 = all cores):
    this Python thread's own count inside side_by_side_threads, else the
    process-wide one."""
    return getattr(_this_thread, "n_threads", _n_threads)


@contextmanager
def side_by_side_threads(n: int):
    """The core calls of this Python thread use n threads while inside: for
    work that runs several calls side by side (select_model's small fits),
    each in its own Python thread on its share of the cores. Results do not
    depend on the count."""
    _this_thread.n_threads = n
    try:
        yield
    finally:
        del _this_thread.n_threads


# OpenMP's _OPENMP macro is the date of the specification the compiler implements.
_OPENMP_SPECIFICATIONS = {200505: "2.5", 200805: "3.0", 201107: "3.1", 201307: "4.0", 201511: "4.5",
                          201811: "5.0", 202011: "5.1", 202111: "5.2", 202411: "6.0"}


def config_info() -> dict:
    """How this gaussmix was built and what it runs on, as a dict (what
    :func:`show_config` prints).

    Keys: ``version``; ``cpu_level`` (the build of the core this process
    loaded), ``cpu_level_chosen_by`` (``"best this CPU supports"`` or the
    ``GAUSSMIX_CPU_LEVEL`` environment variable), ``cpu_levels_built`` and
    ``cpu_levels_runnable`` (best first), ``cpu_features`` (what CPUID and the
    OS report); ``compiler``, ``compile_flags`` (the level's),
    ``instruction_sets`` (those the compiler was allowed to use),
    ``eigen_version``, ``eigen_simd`` (the instruction sets Eigen's own
    kernels use); ``threads`` (:func:`get_num_threads`), ``max_threads``,
    ``openmp`` (the specification version, ``None`` without OpenMP),
    ``openmp_library`` (the runtime's file); ``python``, ``numpy``,
    ``platform``.
    """
    import platform
    import sys

    import numpy as np

    from . import __version__, _cpu_dispatch

    choice = _core.level_choice
    openmp = int(_core.openmp_version)
    return {
        "version": __version__,
        "cpu_level": choice.level,
        "cpu_level_chosen_by": (f"{_cpu_dispatch.ENVIRONMENT_VARIABLE} environment variable" if choice.forced
                                else "best this CPU supports"),
        "cpu_levels_built": list(choice.built),
        "cpu_levels_runnable": list(choice.runnable),
        "cpu_features": list(choice.cpu_features),
        "compiler": str(_core.compiler),
        "compile_flags": str(_core.cpu_level_flags),
        "instruction_sets": list(_core.instruction_sets),
        "eigen_version": str(_core.eigen_version),
        "eigen_simd": str(_core.eigen_simd),
        "threads": get_num_threads(),
        "max_threads": max_num_threads(),
        "openmp": (_OPENMP_SPECIFICATIONS.get(openmp, f"_OPENMP={openmp}") if _core.has_openmp else None),
        "openmp_library": str(_core.openmp_library()) or None,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": f"{platform.system()} {platform.machine()} ({sys.platform})",
    }


def show_config(file=None) -> None:
    """Print how this gaussmix was built and what it runs on: the CPU level
    loaded and why, the levels built and those this CPU can run, the compiler
    and its flags, Eigen's version and SIMD, the thread count and the OpenMP
    runtime (see :func:`config_info` for the fields). ``file``: a text stream
    (default ``sys.stdout``)."""
    import sys

    info = config_info()
    width = max(map(len, info))
    out = sys.stdout if file is None else file
    for key, value in info.items():
        if isinstance(value, list):
            value = ", ".join(value)
        if value is None or value == "":
            value = "-"  # no OpenMP, no level flags (a generic build): a visible placeholder
        print(f"{key:<{width}}  {value}", file=out)
