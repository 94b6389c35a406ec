"""scikit-learn's EM loop over the statistics seam, for fits whose E-step is
not the core's in-memory one: a Dask array's chunks (gaussmix/_dask.py) and
data with missing values (gaussmix/_missing.py). Each gives
``data.stats(mixture, shifts=None)``, the merged E-step statistics of all its
rows (around the mixture's shifts, or around the given ones), and
``data.dtype``; the M-step is the core's, as in memory, and so is the retake
of statistics whose M-step would cancel (a mean that moved far in one
iteration: ``_core.recentred_shifts``)."""
from __future__ import annotations

import math

import numpy as np

from . import _core
from ._mixture import Mixture

_NO_DIAG_ADD = np.empty(0)


def run_em(data, start: Mixture, *, max_iter: int, tol: float, reg_covar: float, resp_offset: float,
           previous: float, covariances_guard, on_iteration=None) -> tuple[Mixture, int, bool, list[float]]:
    """(mixture, n_iter, converged, lower_bounds): each iteration one E-step
    (statistics and the lower bound of the current parameters) and one
    M-step; converged once the lower bound changed by less than tol.
    on_iteration(index, lower_bound) after each iteration, if given."""
    mixture, lower_bounds, converged = start, [], False
    ctype = start.covariance_type
    for index in range(max_iter):
        stats = recentred_stats(data, mixture, resp_offset)
        lower_bound = stats[5] / stats[6]
        with covariances_guard(data.dtype):
            weights, means, covs = _core.m_step(stats, _NO_DIAG_ADD, reg_covar, resp_offset)
            mixture = Mixture(weights, means, covs, ctype)
        lower_bounds.append(float(lower_bound))
        if on_iteration is not None:
            on_iteration(index, float(lower_bound))
        if math.isfinite(previous) and abs(lower_bound - previous) < tol:
            converged = True
            break
        previous = lower_bound
    return mixture, len(lower_bounds), converged, lower_bounds



def recentred_stats(data, mixture: Mixture, resp_offset: float) -> tuple:
    """data.stats(mixture), retaken around the M-step's means of the
    components whose variances would cancel around the shifts they were
    taken around (as the core's in-memory EM does)."""
    stats = data.stats(mixture)
    float_kernels = bool(data.dtype == np.float32)
    for _ in range(_core.MAX_RECENTRING):
        shifts = _core.recentred_shifts(stats, resp_offset, float_kernels)
        if shifts is None:
            break
        stats = data.stats(mixture, shifts)
    return stats
