"""scikit-learn's EM loop over the statistics seam, for fits whose E-step is
not the core's in-memory one: a Dask array's chunks (gaussmix/_dask.py) and
data with missing values (gaussmix/_missing.py). Each gives
``data.stats(mixture)``, the merged E-step statistics of all its rows, and
``data.dtype``; the M-step is the core's, as in memory."""
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
        stats = data.stats(mixture)
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

