"""GaussianMixture on data with missing values (NaN): exact EM on the
observed entries (Ghahramani & Jordan, 1994), missing at random.

The rows without NaN go through the core's complete-data statistics, as in
any fit; the rows with NaN through ``missing_stats`` (cpp/include/gaussmix/
missing.hpp): scored on their observed coordinates, their missing ones
completed per component by the conditional mean, the conditional covariance
added to the scatter. The two sets of statistics are taken around the same
shifts and merged in that order, and the core's M-step makes the next
mixture, so the loop is gaussmix/_em_loop.py's, as for Dask arrays.
lower_bound_ is the (weighted) mean observed-data log-likelihood.

Choices:

* A row with no observed value carries no information about the mixture
  (its observed-data likelihood is 1 under any parameters) and is refused
  with its index.
* The start (init_params, every one of n_init) is computed as in memory
  from X with each missing entry replaced by its column's observed mean
  (weighted): the initialisation only needs a rough placement, and
  scikit-learn's k-means and k-means++ need complete rows. Then EM uses the
  observed values only.
* The scale checks and the float32 decision are those of the in-memory fit,
  taken on that mean-filled X (its column extremes are the observed ones).
"""
from __future__ import annotations

import numpy as np

from . import _core
from ._config import threads_for_core
from ._mixture import Mixture


def _first_empty_row(x: np.ndarray) -> int | None:
    empty = np.flatnonzero(np.isnan(x).all(axis=1))
    return int(empty[0]) if empty.size else None


def column_means_filled(x: np.ndarray, w) -> np.ndarray:
    """x (a new array) with each NaN replaced by its column's observed (weighted) mean."""
    observed = ~np.isnan(x)
    weights = np.ones(len(x)) if w is None else w
    totals = weights @ observed
    if (totals == 0).any():
        j = int(np.flatnonzero(totals == 0)[0])
        raise ValueError(f"GaussianMixture.fit(): column {j} of X has no observed value (of positive weight); "
                         "drop the column")
    sums = weights @ np.where(observed, x, 0.0).astype(np.float64)
    return np.where(observed, x, (sums / totals).astype(x.dtype))


class MissingData:
    """X with NaN entries as one EM fit reads it: the complete rows (the
    complete-data kernels), the rows with a NaN grouped by missing pattern."""

    def __init__(self, x: np.ndarray, w, func: str):
        empty = _first_empty_row(x)
        if empty is not None:
            raise ValueError(f"{func}(): row {empty} of X has no observed value (every entry is NaN); it carries no "
                             "information about the mixture: drop it")
        self.x, self.w, self.dtype = x, w, x.dtype
        self.patterns = _core.missing_patterns(x)
        complete = np.ones(len(x), dtype=bool)
        complete[self.patterns.rows] = False
        self.complete_x = np.ascontiguousarray(x[complete])
        self.complete_w = None if w is None else np.ascontiguousarray(w[complete])

    @property
    def n_patterns(self) -> int:
        return self.patterns.n_patterns

    def stats(self, mixture: Mixture, shifts=None) -> tuple:
        """The E-step statistics of all rows under mixture: the complete rows'
        and the incomplete rows' around the same shifts (the mixture's, or
        those given), merged in that order."""
        weights, means, covariances, ctype = mixture.core_args()
        threads = threads_for_core()
        complete = _core.accumulate_stats(self.complete_x, weights, means, covariances, ctype, self.complete_w,
                                          threads, shifts)
        missing = _core.missing_stats(self.x, self.patterns, weights, means, covariances, ctype, complete[1], self.w,
                                      threads)
        return _core.merge_stats([complete, missing])


def incomplete_log_prob(x: np.ndarray, mixture: Mixture):
    """(complete, rows, log_prob) of x with NaN: the mask of its complete
    rows, its rows with a NaN, and theirs log w_k + log N(x_O | k) (rows, K),
    scored on the observed coordinates (a row with no observed value: log w_k)."""
    weights, means, covariances, ctype = mixture.core_args()
    patterns = _core.missing_patterns(x)
    rows = patterns.rows
    complete = np.ones(len(x), dtype=bool)
    complete[rows] = False
    return complete, rows, _core.missing_log_prob(x, patterns, weights, means, covariances, ctype, threads_for_core())
