"""EM as three calls: the statistics of a block of rows, merge, M-step.

One EM iteration is a sum over rows followed by a small M-step, so any engine
that holds the data in pieces (threads, the chunks of a file, Dask, Spark or
Ray workers) can run it: each piece computes :func:`block_stats` under the
current :class:`~gaussmix.Mixture`, the pieces' statistics are merged in a
fixed order (:func:`merge_stats`), and :func:`m_step` gives the next mixture.
:func:`fit_em` is the same loop in memory, in the core.

Example, with the data in a list of blocks (on a cluster, map block_stats
over the partitions and collect the results in partition order)::

    mix = gaussmix.Mixture(weights, means, covariances, covariance_type="diag")
    for _ in range(100):
        stats = gaussmix.merge_stats(gaussmix.block_stats(b, mix) for b in blocks)
        mix = gaussmix.m_step(stats, reg_covar=1e-6)
"""
from __future__ import annotations

from typing import Iterable, NamedTuple

import numpy as np

from . import _core
from ._config import threads_for_core
from ._mixture import Mixture, mixture_from_core
from ._validation import (
    INT_MAX,
    data_matrix,
    fit_data,
    float32_is_safe,
    positive_int,
    real_number,
    sample_weight_vector,
)


#: The additive statistics of an E-step (the core's bound class; its docstring documents the fields).
SufficientStats = _core.SufficientStats


class EmResult(NamedTuple):
    """What :func:`fit_em` returns."""

    mixture: Mixture          #: parameters after the last iteration
    log_likelihood: float     #: (weighted) log-likelihood of the parameters the last iteration started from
    lower_bound: float        #: log_likelihood per unit of weight (scikit-learn's ``lower_bound_``)
    n_iter: int               #: iterations run (E-step + M-step each)
    converged: bool           #: stopped because the lower bound changed by less than tol


def _check_mixture(mixture, func: str) -> Mixture:
    if not isinstance(mixture, Mixture):
        raise TypeError(f"{func}(): expected a gaussmix.Mixture, got {type(mixture).__name__}")
    return mixture


def _data(X, mixture: Mixture, func: str, check_finite: bool = True) -> np.ndarray:
    x = data_matrix(X, func, check_finite=check_finite)
    if x.shape[1] != mixture.n_features:
        raise ValueError(f"{func}(): X has {x.shape[1]} columns but the mixture has dimension {mixture.n_features}")
    return x


def block_stats(X, mixture: Mixture, sample_weight=None) -> SufficientStats:
    """The E-step statistics of the rows of X under mixture, in one pass.

    Parameters
    ----------
    X : array-like of shape (N, D)
        float64, or float32 (float32 kernels; statistics are float64 either
        way). The blocks of one iteration must share a dtype: a float32
        block's statistics are taken around the shift rounded to float32 and
        do not merge with a float64 block's.
    mixture : Mixture
        The current parameters.
    sample_weight : array-like of shape (N,), optional
        Finite, >= 0, with a positive sum; a row of weight 0 adds nothing.

    Returns
    -------
    SufficientStats
    """
    func = "block_stats"
    mixture = _check_mixture(mixture, func)
    x = _data(X, mixture, func)
    w = sample_weight_vector(sample_weight, x.shape[0], func)
    if x.dtype == np.float32 and not float32_is_safe(x, means=mixture.means, variances=mixture.variances()):
        raise ValueError(f"{func}(): this float32 block lies outside the range the float32 kernels handle "
                         "exactly (|x| up to 2**40 and variances in [2**-80, 2**80]); pass every block as float64")
    return mixture.factorised.accumulate_stats(x, w, threads_for_core())


def merge_stats(stats: Iterable[SufficientStats]) -> SufficientStats:
    """Statistics merged by addition, in the order given.

    Merging the statistics of disjoint blocks gives those of their union (to
    rounding: addition in another order rounds differently; the same blocks
    merged in the same order give the same bits). All must come from the
    same mixture and data dtype: statistics taken under parameters that
    differ in any bit, or from float32 and float64 blocks, raise ValueError.
    """
    items = list(stats)
    if not items:
        raise ValueError("merge_stats(): no statistics to merge")
    for s in items:
        if not isinstance(s, SufficientStats):
            raise TypeError(f"merge_stats(): expected SufficientStats, got {type(s).__name__}")
    if len(items) == 1:
        return items[0]
    return _core.merge_stats(items)


def m_step(stats: SufficientStats, reg_covar: float = 0.0) -> Mixture:
    """The mixture that maximises the expected log-likelihood given stats.

    w_k = N_k / sum N, mean_k = shift_k + first_k / N_k, and each model's
    covariance from the second moments around the new means, plus
    ``reg_covar`` on every variance (scikit-learn's absolute regulariser).

    Raises
    ------
    gaussmix.gmm.Cov_problem
        A component received no responsibility, or a covariance is not
        positive definite (increase reg_covar).
    """
    func = "m_step"
    if not isinstance(stats, SufficientStats):
        raise TypeError(f"{func}(): expected SufficientStats, got {type(stats).__name__}")
    reg_covar = real_number(reg_covar, func, "reg_covar", minimum=0.0)
    return mixture_from_core(_core.m_step(stats, np.empty(0), reg_covar))


def fit_em(X, init: Mixture, *, sample_weight=None, max_iter: int = 100, tol: float = 1e-3,
           reg_covar: float = 0.0) -> EmResult:
    """EM from init, in memory, under init's covariance model.

    Every iteration is one E-step and one M-step (scikit-learn's order); the
    fit stops after ``max_iter`` iterations, or as soon as the mean
    log-likelihood per unit of weight (scikit-learn's lower bound) changed by
    less than ``tol`` (``tol=0``: never). Threads follow
    :func:`gaussmix.set_num_threads`; the result is the same for any count.

    Parameters
    ----------
    X : array-like of shape (N, D)
        float64, or float32 (float32 kernels with float64 statistics, while
        the data's scale allows: otherwise float64).
    init : Mixture
    sample_weight : array-like of shape (N,), optional
        Finite, >= 0, positive sum. Integer weights fit as repeated rows;
        scaling all weights changes nothing.
    max_iter : int, default=100
    tol : float, default=1e-3
    reg_covar : float, default=0.0
        Added to every variance in each M-step.

    Returns
    -------
    EmResult

    Raises
    ------
    gaussmix.gmm.Cov_problem
        A component collapsed or a covariance stopped being positive definite.
    """
    func = "fit_em"
    init = _check_mixture(init, func)
    x = _data(X, init, func, check_finite=False)  # fit_data checks, from the column statistics
    w = sample_weight_vector(sample_weight, x.shape[0], func)
    max_iter = positive_int(max_iter, func, "max_iter", maximum=INT_MAX)
    tol = real_number(tol, func, "tol", minimum=0.0)
    reg_covar = real_number(reg_covar, func, "reg_covar", minimum=0.0)
    x = fit_data(x, func, means=init.means, variances=init.variances())
    weights, means, covs, ctype = init.core_args()
    out = _core.fit_em(x, weights, means, covs, covariance_type=ctype, max_iter=max_iter, delta_stop=tol,
                       delta_stop_count_end=1, n_threads=threads_for_core(), sample_weight=w, reg_covar=reg_covar,
                       average_log_likelihood=True)
    fitted, loglik, n_iter, converged, weight_sum, _ = out
    return EmResult(mixture_from_core(fitted), float(loglik), float(loglik / weight_sum), int(n_iter),
                    bool(converged))
