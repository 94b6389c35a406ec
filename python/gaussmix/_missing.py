"""GaussianMixture on data with missing values (NaN): exact EM on the
observed entries (Ghahramani & Jordan, 1994), missing at random.

The rows without NaN go through the core's fused complete-data kernels
(``complete_row_stats``), the rows with NaN through ``missing_stats``
(cpp/include/gaussmix/missing.hpp): scored on their observed coordinates,
their missing ones completed per component by the conditional mean, the
conditional covariance added to the scatter. The two sets of statistics are
taken around the same shifts and merged in that order, and the core's M-step
makes the next mixture, so the loop is the engine's (gaussmix/_engine.py), as for Dask
arrays.

reg_covar (r) is a penalty on the observed entries, and EM is exact for the
penalised observed-data log-likelihood

    F(theta) = sum_i w_i log sum_k w_k N(x_iO | mu_kO, S_kOO) exp(-(r/2) sum_{j in O_i} (S_k^{-1})_jj)

(O_i the observed columns of row i; a complete row's penalty is
(r/2) tr S_k^{-1}). Its M-step is S_k = (scatter_k + C_k + r D_k) / N_k, C_k
the summed conditional covariances of the missing entries, D_k the diagonal
of the responsibility with which each column is observed: scikit-learn's
M-step (scatter / N_k + r I) on complete rows, and on a missing entry no r
on top of a conditional covariance that already carries last iteration's r.
(scikit-learn's rule counted r once per iteration for every row, so a column
missing in all rows of a component gained r per iteration without end, one
observed in m of n rows settled r n / m too high, and the plain observed-data
log-likelihood often decreased.) Each iteration is an EM step of F, so F never
decreases (missing.hpp gives the argument), and lower_bound_ / lower_bounds_
of a fit with NaN are F / sum_i w_i. The E-step's responsibilities include
the penalty factor; the fitted mixture, and every score of it, do not.
Data without NaN are fit by the in-memory EM, scikit-learn's rule unchanged,
and keep its lower bound, the mean log-likelihood.

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
* The rows' mean and covariance (``MissingData.moments``: the default priors
  of BayesianGaussianMixture) are their maximum-likelihood estimates under
  one Gaussian, missing at random: EM of one component on the observed
  entries, from the mean-filled rows' moments. Mean-filling would shrink
  every variance and covariance by the share of values missing; pairwise
  complete covariances need not be positive semi-definite.
"""
from __future__ import annotations

import math

import numpy as np

from . import _core
from ._config import threads_for_core
from ._engine import DataSource, InMemory, MaximumLikelihood, Moments, Settings, iterate
from ._mixture import Mixture
from ._validation import column_stats, fit_data, infinity_error


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


class MissingData(DataSource):
    """X with NaN entries as one EM fit reads it (a data source of
    gaussmix/_engine.py): the complete rows (the complete-data kernels), the
    rows with a NaN grouped by missing pattern; the start from the
    mean-filled rows."""

    def __init__(self, x: np.ndarray, w, func: str, reg_covar: float, filled: np.ndarray | None = None):
        empty = _first_empty_row(x)
        if empty is not None:
            raise ValueError(f"{func}(): row {empty} of X has no observed value (every entry is NaN); it carries no "
                             "information about the mixture: drop it")
        self.x = self.data = x
        self.w, self.func, self.dtype, self.reg_covar = w, func, x.dtype, reg_covar
        self.n_samples, self.n_features = x.shape
        self.weight_total = float(self.n_samples if w is None else w.sum())
        self.filled = column_means_filled(x, w) if filled is None else filled
        self.column_stats = column_stats(self.filled)  # every start's checks, from one pass
        self.patterns = _core.missing_patterns(x)
        complete = np.ones(len(x), dtype=bool)
        complete[self.patterns.rows] = False
        self.complete_x = np.ascontiguousarray(x[complete])
        self.complete_w = None if w is None else np.ascontiguousarray(w[complete])

    #: EM of the rows' moments stops when the mean log-likelihood changed by less than this, or after
    #: MOMENTS_MAX_ITER iterations (they are a prior's scale: 1e-10 leaves them accurate to about 1e-5)
    MOMENTS_TOL, MOMENTS_MAX_ITER = 1e-10, 100

    @property
    def rough_centre(self):
        return self.column_stats.mean

    def moments(self, full: bool, reg_covar: float) -> Moments:
        """The maximum-likelihood mean and covariance of the rows under one
        Gaussian (the module's choices), by EM on the observed entries
        from the mean-filled rows' moments. While EM runs, the variances
        carry reg_covar (at least 1e-10 of the largest variance, so that
        a constant column stays factorisable), taken off the result. The
        Gaussian has a full covariance whatever is asked for: the observed
        entries of correlated columns inform each other's missing ones, so
        that the mean and variances do not depend on the covariance model
        asked for (as without NaN)."""
        start = InMemory(self.filled, self.w, self.func, self.column_stats).moments(True, reg_covar)
        guard = max(reg_covar, 1e-10 * float(np.max(np.diagonal(start.covariance))), np.finfo(np.float64).tiny)
        added = guard * np.eye(self.n_features)
        one = Mixture(np.ones(1), start.mean[None, :], (start.covariance + added)[None], "full")
        run = iterate(self.for_start(one), MaximumLikelihood(guard, 0.0), one, math.nan,
                      Settings(1, self.MOMENTS_MAX_ITER, self.MOMENTS_TOL), None)
        fitted: Mixture = run.parameters
        covariance = fitted.covariances[0] - added
        return Moments(self.weight_total, np.array(fitted.means[0]), covariance if full else np.diagonal(covariance).copy())

    @property
    def n_patterns(self) -> int:
        return self.patterns.n_patterns

    def start_rows(self, n_components: int, random_state):
        return self.filled, self.w, self.column_stats

    def for_start(self, start: Mixture) -> "MissingData":
        """The float32 kernels' range is decided as in memory, on the mean-filled rows."""
        checked = fit_data(self.filled, self.func, means=start.means, variances=start.variances(),
                           stats=self.column_stats)
        if checked.dtype == self.x.dtype:
            return self
        return MissingData(self.x.astype(np.float64), self.w, self.func, self.reg_covar, checked)

    def stats(self, mixture: Mixture, shifts=None) -> tuple:
        """The E-step statistics of all rows under mixture, for the penalised
        objective of reg_covar: the complete rows' and the incomplete rows'
        around the same shifts (the mixture's, or those given), merged in
        that order."""
        weights, means, covariances, ctype = mixture.core_args()
        threads = threads_for_core()
        complete = _core.complete_row_stats(self.complete_x, weights, means, covariances, ctype, self.reg_covar,
                                            self.complete_w, threads, shifts)
        missing = _core.missing_stats(self.x, self.patterns, weights, means, covariances, ctype, complete.shift, self.w,
                                      threads, self.reg_covar)
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


def by_rows(x: np.ndarray, mixture: Mixture, complete, of_log_prob) -> np.ndarray:
    """complete(x) for x without NaN; else complete() of its complete rows
    and of_log_prob() of the component log-weights of its rows with NaN,
    scored on their observed coordinates, put together in x's row order.
    x's values are not checked before: complete (a core scoring function)
    checks each block as it scores it and raises NonFiniteData on NaN or
    infinity, so finite data is read once. Infinity is scikit-learn's
    ValueError."""
    try:
        return complete(x)
    except _core.NonFiniteData:
        if np.isinf(x).any():
            raise infinity_error(x.dtype) from None
    is_complete, rows, log_prob = incomplete_log_prob(x, mixture)
    done = complete(np.ascontiguousarray(x[is_complete]))
    out = np.empty((len(x),) + done.shape[1:], dtype=done.dtype)
    out[is_complete] = done
    out[rows] = of_log_prob(log_prob)
    return out
