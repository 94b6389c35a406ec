"""The engine: every estimator fit is one loop over a data source and an
update rule (see "The engine" in DESIGN.md).

* A **data source** holds the rows and gives their merged E-step statistics
  under given parameters (``stats(mixture, shifts=None)``), the rows a start
  is computed from (``start_rows``), the source to iterate from one start
  (``for_start``: the in-memory source picks the kernels' precision from
  it), its dtype, row count and weight total, and does its own data checks.
  :class:`InMemory` is here; the rows with NaN are gaussmix/_missing.py's
  ``MissingData``, a Dask array gaussmix/_dask.py's ``DaskData``, and a chunk
  source (a callable giving row blocks) gaussmix/_chunks.py's ``ChunkData``.
* An **update rule** turns merged statistics into the next parameters:
  :class:`MaximumLikelihood` (the core's M-step, its parameters a
  Mixture), gaussmix/_mclust.py's ``Constrained`` (an mclust model's
  M-step, over the same statistics), gaussmix/_variational.py's
  ``Variational`` (the variational posterior): each has ``initial`` (its parameters from a start:
  gaussmix/_starts.py's Start), ``mixture`` (the Mixture whose E-step
  statistics it needs), ``statistics``, ``update`` and ``lower_bound``.
  gaussmix/_stepwise.py's ``Stepwise`` and ``StochasticVariational``
  (partial_fit) take the maximum-likelihood or variational rule's
  statistics once per batch and blend them.
* **The loop** (:func:`fit`, :func:`iterate`) is written once: n_init starts
  from a start provider (gaussmix/_starts.py) or the warm start, max_iter=0,
  scikit-learn's convergence rule (the lower bound changed by less than tol),
  the best run kept, and one event per iteration that the verbose printer
  and the progress callback both hang off (gaussmix/_events.py).

The in-memory source with the maximum-likelihood rule runs the iterations
in the core's own loop (cpp/include/gaussmix/em.hpp, the loop C++ users
call), which implements the same rule and reports the same event: it saves
a return to Python per iteration (4-6 % of an iteration at 100,000 x 2,
K = 3). tests/test_engine.py checks that it gives the Python loop's fit.
"""
from __future__ import annotations

import math
import os
import sys
import warnings
from contextlib import contextmanager
from typing import Callable, NamedTuple, Optional

import numpy as np

from . import _core
from ._config import threads_for_core
from ._mixture import Mixture, mixture_from_core
from ._validation import INT_MAX, Cov_problem, fit_data

#: scikit-learn's message for a covariance that cannot be factorised.
ILL_DEFINED_COVARIANCE = (
    "Fitting the mixture model failed because some components have ill-defined empirical covariance (for "
    "instance caused by singleton or collapsed samples). Try to decrease the number of components, increase "
    "reg_covar, or scale the input data."
)
FLOAT32_ACCURACY_NOTE = " The numerical accuracy can also be improved by passing float64 data instead of float32."

_NO_DIAG_ADD = np.empty(0)
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep

#: on_iteration(index, lower_bound): the per-iteration event.
OnIteration = Optional[Callable[[int, float], None]]


class Run(NamedTuple):
    """One initialisation's EM run."""

    parameters: object  #: the rule's: a Mixture for MaximumLikelihood
    n_iter: int
    converged: bool
    lower_bound: float
    lower_bounds: list


class Settings(NamedTuple):
    """The loop's parameters."""

    n_init: int
    max_iter: int
    tol: float


def resp_offset(dtype, weight_total: float, n_samples: int) -> float:
    """scikit-learn adds 10 eps of the data's precision to every component's
    responsibility sum; per unit of mean weight, so that scaling the weights
    changes nothing."""
    return 10 * float(np.finfo(dtype).eps) * weight_total / n_samples


@contextmanager
def covariances_must_be_defined(dtype):
    """A covariance the core cannot factorise is scikit-learn's ValueError
    (the core's reason appended)."""
    try:
        yield
    except Cov_problem as exc:
        note = FLOAT32_ACCURACY_NOTE if dtype == np.float32 else ""
        raise ValueError(f"{ILL_DEFINED_COVARIANCE}{note} ({exc})") from None


def warn_at_caller(message: str, category) -> None:
    """warnings.warn at the first frame outside gaussmix: the user's call,
    however deep in the package the warning is decided."""
    frame, level = sys._getframe(1), 2  # stacklevel 2: this function's caller
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


# --------------------------------------------------------------------------- update rules


class MaximumLikelihood:
    """The maximum-likelihood M-step (scikit-learn's): weights, means and
    covariances from the statistics, reg_covar on every variance, resp_offset
    added to every responsibility sum."""

    def __init__(self, reg_covar: float, resp_offset: float):
        self.reg_covar, self.resp_offset = reg_covar, resp_offset

    def initial(self, start) -> Mixture:
        """The parameters a run starts from: the start's mixture (a
        covariance that cannot be factorised is a Cov_problem)."""
        return mixture_from_core(_core.FactorisedMixture(start.weights, start.means, start.covariances,
                                                         start.covariance_type))

    def mixture(self, parameters: Mixture) -> Mixture:
        """The mixture of the E-step: the parameters themselves."""
        return parameters

    def statistics(self, source, parameters: Mixture):
        """source's statistics under the parameters' mixture (retaken_statistics)."""
        return retaken_statistics(source, self.mixture(parameters), self.resp_offset)

    def update(self, stats) -> Mixture:
        """The next parameters (the statistics carry the covariance model)."""
        return mixture_from_core(self.m_step(stats))

    def m_step(self, stats):
        """The core's M-step of the statistics (weights, means, covariances with reg_covar)."""
        return _core.m_step(stats, _NO_DIAG_ADD, self.reg_covar, self.resp_offset)

    def lower_bound(self, stats, parameters: Mixture) -> float:
        """scikit-learn's lower_bound_: the mean log-likelihood of the parameters the statistics were taken under."""
        return float(stats.log_likelihood / stats.weight_sum)


def retaken_statistics(source, mixture: Mixture, resp_offset: float):
    """source's statistics under mixture, retaken around the M-step's means
    of the components whose variances would cancel around the shifts they
    were taken around (as the core's in-memory loop does)."""
    stats = source.stats(mixture)
    float_kernels = bool(source.kernel_dtype == np.float32)
    for _ in range(_core.MAX_RECENTRING):
        shifts = _core.recentred_shifts(stats, resp_offset, float_kernels)
        if shifts is None:
            break
        stats = source.stats(mixture, shifts)
    return stats


# --------------------------------------------------------------------------- the loop


def fit(source, rule, starts, settings: Settings, events, warm: tuple | None = None) -> Run:
    """The best of settings.n_init runs (one from warm = (the rule's
    parameters, their lower bound) when given), each from
    rule.initial(starts.start(init, source))."""
    best = None
    for init in range(1 if warm is not None else settings.n_init):
        events.begin(init)
        start, previous = warm if warm is not None else (rule.initial(starts.start(init, source)), math.nan)
        if settings.max_iter == 0:
            run = Run(start, 0, False, -math.inf, [])  # scikit-learn keeps the (last) start
        else:
            run = iterate(source.for_start(rule.mixture(start)), rule, start, previous, settings,
                          events.iterations(init, previous))
            events.end(run)
        best = _better_run(best, run)
    return best


def iterate(source, rule, start, previous: float, settings: Settings, on_iteration: OnIteration) -> Run:
    """EM from the rule's parameters start: each iteration the statistics
    of the current parameters, the rule's update and its lower bound (of
    the statistics and the updated parameters); converged once the lower
    bound changed by less than tol from the previous one (previous: the
    warm start's, NaN for a fresh start)."""
    run = source.run_in_core(rule, start, previous, settings, on_iteration)
    if run is not None:
        return run
    parameters, lower_bounds, converged = start, [], False
    for index in range(settings.max_iter):
        stats = rule.statistics(source, parameters)
        parameters = rule.update(stats)
        lower_bound = rule.lower_bound(stats, parameters)
        lower_bounds.append(lower_bound)
        if on_iteration is not None:
            on_iteration(index, lower_bound)
        if math.isfinite(previous) and abs(lower_bound - previous) < settings.tol:
            converged = True
            break
        previous = lower_bound
    return Run(parameters, len(lower_bounds), converged, lower_bounds[-1], lower_bounds)


def _better_run(best: Run | None, run: Run) -> Run:
    """The run to keep: scikit-learn keeps the higher lower bound, and replaces
    a start whose bound is -inf (max_iter=0)."""
    if best is None or run.lower_bound > best.lower_bound or best.lower_bound == -math.inf:
        return run
    return best


# --------------------------------------------------------------------------- data sources


class Moments(NamedTuple):
    """The rows' weighted mean and maximum-likelihood covariance (one
    Gaussian's fit: the scatter divided by the weight total)."""

    total: float  #: sum of the weights (the row count when unweighted)
    mean: np.ndarray  #: (D,)
    covariance: np.ndarray  #: (D, D) when asked for full, else the (D,) variances


class DataSource:
    """What every data source has (see the module); subclasses give
    ``stats``, ``start_rows``, ``dtype``, ``n_samples``, ``n_features``,
    ``weight_total`` and ``data`` (the rows as the caller gave them, validated)."""

    #: where moments() takes the rows' first statistics around: a guess of
    #: their mean (None: the origin, retaken around the mean if needed)
    rough_centre = None

    def moments(self, full: bool, reg_covar: float) -> Moments:
        """The rows' Moments (full: the covariance matrix, else the
        variances), from one E-step of a one-component mixture: each row's
        responsibility is 1, so its statistics are the rows' weighted
        moments (retaken around their mean when they would cancel around
        the rough centre). reg_covar: for sources that need more than one
        pass (MissingData)."""
        d = self.n_features
        centre = np.zeros(d) if self.rough_centre is None else np.asarray(self.rough_centre, dtype=np.float64)
        one = Mixture(np.ones(1), centre[None, :], np.eye(d)[None] if full else np.ones((1, d)),
                      "full" if full else "diag")
        stats = retaken_statistics(self.for_start(one), one, 0.0)
        total = float(stats.resp_sum[0])
        offset = np.asarray(stats.first[0]) / total
        second = np.asarray(stats.second)[0]
        if full:
            covariance = (second - total * np.outer(offset, offset)) / total
        else:
            covariance = (second - total * offset ** 2) / total
        return Moments(total, np.asarray(stats.shift)[0] + offset, covariance)

    @property
    def kernel_dtype(self):
        """The precision the E-step kernels run in (float32 data may need float64 ones)."""
        return self.dtype

    def for_start(self, start: Mixture) -> "DataSource":
        """The source to iterate from start (itself unless the start changes the kernels)."""
        return self

    def run_in_core(self, rule, start: Mixture, previous: float, settings: Settings, on_iteration: OnIteration):
        """The whole run in the core's own loop, when it has one for rule; else None."""
        return None


class InMemory(DataSource):
    """Rows in memory without NaN: the core's fused pass.

    x: C-contiguous float64 or float32 (its dtype is the fitted model's);
    w: float64 weights or None; column_stats: x's ColumnStats (every check
    against a start is decided from them: one pass over x per fit), or None
    for float64 rows nobody checked (a later batch of partial_fit): the
    statistics pass checks them as it reads them, raising NonFiniteData,
    instead of a pass of its own (0.85 of a 6 ms call at 100,000 x 8)."""

    def __init__(self, x: np.ndarray, w, func: str, column_stats, kernel_x: np.ndarray | None = None):
        self.x = self.data = x
        self.w, self.func, self.column_stats = w, func, column_stats
        self.kx = x if kernel_x is None else kernel_x
        self.dtype = x.dtype
        self.n_samples, self.n_features = x.shape
        self.weight_total = float(self.n_samples if w is None else w.sum())

    @property
    def kernel_dtype(self):
        return self.kx.dtype

    @property
    def rough_centre(self):
        return None if self.column_stats is None else self.column_stats.mean

    def moments(self, full: bool, reg_covar: float) -> Moments:
        """Unweighted variances are the column statistics' (the pass that
        checked x took them: 26 ms of a 0.59 s fit at 1e6 x 32); else
        DataSource.moments."""
        stats = self.column_stats
        if stats is None or full or self.w is not None or not np.isfinite(stats.var).all():
            return super().moments(full, reg_covar)
        return Moments(float(self.n_samples), stats.mean.copy(), stats.var.copy())

    def start_rows(self, n_components: int, random_state):
        return self.x, self.w, self.column_stats

    def for_start(self, start: Mixture) -> "InMemory":
        if self.column_stats is None:  # unchecked float64 rows: their kernels are float64
            return self
        kernel_x = fit_data(self.x, self.func, means=start.means, variances=start.variances(),
                            stats=self.column_stats)
        return InMemory(self.x, self.w, self.func, self.column_stats, kernel_x)

    def stats(self, mixture: Mixture, shifts=None):
        return mixture.factorised.accumulate_stats(self.kx, self.w, threads_for_core(), shifts,
                                                   check_finite=self.column_stats is None)

    def run_in_core(self, rule, start, previous, settings, on_iteration):
        if type(rule) is not MaximumLikelihood or self.column_stats is None:
            return None
        callback = None
        if on_iteration is not None:
            def callback(weights, means, covariances, iteration, log_likelihood):
                on_iteration(iteration, log_likelihood / self.weight_total)
        ctype = start.covariance_type
        fitted, _, n_iter, converged, weight_sum, history = _core.fit_em(
            # The core counts iterations in a C int: 2**31 - 1 iterations are as unending as more.
            self.kx, *start.core_args()[:3], covariance_type=ctype, max_iter=min(settings.max_iter, INT_MAX),
            delta_stop=settings.tol, delta_stop_count_end=1, n_threads=threads_for_core(), callback=callback,
            sample_weight=self.w, reg_covar=rule.reg_covar, average_log_likelihood=True,
            previous_log_likelihood=previous if math.isfinite(previous) else math.nan, resp_offset=rule.resp_offset)
        lower_bounds = (history / weight_sum).tolist()
        return Run(mixture_from_core(fitted), int(n_iter), bool(converged), lower_bounds[-1], lower_bounds)
