"""Choosing the number of components and the covariance model: one call that
fits every combination and scores each by BIC, AIC or ICL.

:func:`select_model` fits ``GaussianMixture(K, covariance_type=model,
n_init=n_init, random_state=seed, **params)`` for every K and model, each as
the same fit made on its own would be (the same seed gives each the same
starts), and scores it on the data it was fitted to. The fits of a sweep
share what can be shared: the data is converted once (each fit's own
validation of the converted array copies nothing), and the
initial labels (k-means, k-means++, random rows) or responsibilities of each
K and initialisation are drawn once and reused by every covariance model.
Each fit runs on all the core's threads.

Criteria, scikit-learn's sign convention (lower is better), with log L the
(weighted) log-likelihood of the data, p the free parameters
(as scikit-learn counts them, gaussmix/_covariance.py) and N the number of rows (the sum of the
weights when weighted):

* BIC = -2 log L + p log N;
* AIC = -2 log L + 2 p;
* ICL = BIC - 2 sum_i log r_{i c(i)}, c(i) the row's most probable component
  (Biernacki, Celeux & Govaert, 2000; mclust's definition, with its sign
  flipped): BIC plus a penalty for overlapping components.
"""
from __future__ import annotations

import math
import queue
import threading
import time
from typing import NamedTuple, Sequence

import numpy as np

from . import _core
from ._config import get_num_threads, side_by_side_threads, threads_for_core
from ._covariance import COVARIANCE_TYPES, ESTIMATOR_COVARIANCE_TYPES, covariance_model
from ._fitted import scoring_mixture

CRITERIA = ("bic", "aic", "icl")


class Candidate(NamedTuple):
    """One fit of a sweep and its scores."""

    n_components: int
    covariance_type: str
    bic: float
    aic: float
    icl: float
    log_likelihood: float  #: sum_i w_i log p(x_i)
    n_parameters: int
    converged: bool
    n_iter: int
    seconds: float


class Selection:
    """The result of :func:`select_model`.

    Attributes
    ----------
    candidates : list of Candidate
        One per fit, in the order they were fitted (K outer, models inner).
    criterion : str
    best_ : Candidate
        The candidate with the lowest criterion (the first of ties).
    best_estimator_ : GaussianMixture
        Its fitted estimator.
    estimators_ : dict
        (n_components, covariance_type) -> fitted GaussianMixture.
    """

    def __init__(self, candidates, estimators, criterion):
        self.candidates = list(candidates)
        self.estimators_ = estimators
        self.criterion = criterion
        self.best_ = min(self.candidates, key=lambda c: getattr(c, criterion))
        self.best_estimator_ = estimators[(self.best_.n_components, self.best_.covariance_type)]

    def table(self):
        """The candidates as a pandas DataFrame when pandas is installed, else
        a list of dicts (one per candidate, the Candidate fields as keys)."""
        rows = [c._asdict() for c in self.candidates]
        try:
            import pandas as pd
        except ImportError:
            return rows
        return pd.DataFrame(rows)

    def plot(self, ax=None):
        """The criterion against K, one line per covariance model, the best
        marked (matplotlib). Returns the Axes."""
        try:
            import matplotlib.pyplot as plt
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("Selection.plot needs matplotlib: pip install 'gaussmix[plot]'") from exc
        if ax is None:
            _, ax = plt.subplots()
        models = list(dict.fromkeys(c.covariance_type for c in self.candidates))
        for model in models:
            mine = [c for c in self.candidates if c.covariance_type == model]
            ax.plot([c.n_components for c in mine], [getattr(c, self.criterion) for c in mine], "o-", label=model)
        ax.plot([self.best_.n_components], [getattr(self.best_, self.criterion)], "k*", markersize=14,
                label=f"best: K = {self.best_.n_components}, {self.best_.covariance_type}")
        ax.set_xlabel("number of components K")
        ax.set_ylabel(f"{self.criterion.upper()} (lower is better)")
        ax.legend()
        return ax

    def __repr__(self):
        return (f"Selection({len(self.candidates)} fits, best by {self.criterion}: K = {self.best_.n_components}, "
                f"{self.best_.covariance_type})")


def criteria(model, x: np.ndarray, sample_weight=None, *, complete: bool = False) -> tuple[float, float, float, float]:
    """(BIC, AIC, ICL, log L) of a fitted model on x (see the module's formulas).

    complete: x is C-contiguous float64 without NaN, as select_model checked
    once for the whole sweep. Both terms then come from one pass of the
    fitted mixture's core (log p(x) and the log of the largest
    responsibility per row: the numbers score_samples and predict_proba
    give for such x), not from two scoring calls and a reduction of the
    N x K responsibilities."""
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    if complete:
        log_prob, log_map = scoring_mixture(model).factorised.log_density_and_map(x, threads_for_core())
    else:
        log_prob = model.score_samples(x).astype(np.float64)
        with np.errstate(divide="ignore"):
            log_map = np.log(model.predict_proba(x).astype(np.float64).max(axis=1))
    n = float(len(x) if w is None else w.sum())
    log_l = float(log_prob.sum() if w is None else w @ log_prob)
    p = _n_parameters(model)
    penalty = float(log_map.sum() if w is None else w @ log_map)
    bic = -2.0 * log_l + p * math.log(n)
    return bic, -2.0 * log_l + 2.0 * p, bic - 2.0 * penalty, log_l


def _n_parameters(model) -> int:
    return covariance_model(model.covariance_type).n_parameters(*model.means_.shape)


def _components(n_components) -> list[int]:
    values = [n_components] if isinstance(n_components, (int, np.integer)) else list(n_components)
    if not values or not all(isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k >= 1 for k in values):
        raise ValueError(f"select_model(): n_components must be a positive int or a non-empty sequence of them, "
                         f"got {n_components!r}")
    return [int(k) for k in values]


def _models(covariance_types) -> list[str]:
    values = [covariance_types] if isinstance(covariance_types, str) else list(covariance_types)
    bad = [v for v in values if v not in ESTIMATOR_COVARIANCE_TYPES]
    if not values or bad:
        raise ValueError(f"select_model(): covariance_types must be among {', '.join(COVARIANCE_TYPES)} or mclust's "
                         f"{', '.join(ESTIMATOR_COVARIANCE_TYPES[len(COVARIANCE_TYPES):])}, got {covariance_types!r}")
    return list(dict.fromkeys(values))


def _seed(random_state) -> int:
    """One int seed for the sweep: every fit starts from it, as a fit with that int would."""
    if random_state is None or isinstance(random_state, np.random.RandomState):
        rs = np.random.mtrand._rand if random_state is None else random_state
        return int(rs.randint(np.iinfo(np.int32).max))
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return int(random_state)
    raise ValueError(f"select_model(): random_state must be None, an int or a RandomState, got {random_state!r}")


def select_model(X, n_components: int | Sequence[int] = range(1, 11),
                 covariance_types: str | Sequence[str] = COVARIANCE_TYPES, *, criterion: str = "bic",
                 n_init: int = 1, random_state=None, sample_weight=None, progress=None, **params) -> Selection:
    """Fit every combination of n_components and covariance_types and score
    each by BIC, AIC and ICL; the best by ``criterion`` is ``best_estimator_``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        As :meth:`GaussianMixture.fit` takes it (NaN: missing values).
    n_components : int or sequence of int, default=range(1, 11)
    covariance_types : str or sequence of str, default=all four
    criterion : {'bic', 'aic', 'icl'}, default='bic'
        Lower is better (scikit-learn's sign convention).
    n_init : int, default=1
        Initialisations per fit.
    random_state : int, RandomState or None
        Every fit gets the same int seed (drawn once from a RandomState or
        NumPy's global generator if not an int), so each equals
        ``GaussianMixture(K, covariance_type=model, n_init=n_init,
        random_state=seed, **params).fit(X)``.
    sample_weight : array-like of shape (n_samples,), optional
        Weights for the fits and the criteria (N is then their sum).
    progress : callable, optional
        Called after each fit as progress(done, total, candidate), in the
        calling thread, in the order the fits finish: with more than one
        thread, fits of small X (at most ``SIDE_BY_SIDE_MAX_VALUES`` values)
        run side by side, each K's fits in a worker thread on its share of
        the threads (the results are the same bits as one fit at a time;
        Ctrl-C stops them all).
    **params
        Other GaussianMixture parameters (tol, max_iter, reg_covar, init_params, ...).

    Returns
    -------
    Selection
    """
    from sklearn.utils.validation import check_array

    from .estimator import GaussianMixture, StartCache

    if criterion not in CRITERIA:
        raise ValueError(f"select_model(): criterion must be one of {', '.join(CRITERIA)}, got {criterion!r}")
    for name in ("n_components", "covariance_type", "random_state", "n_init"):
        if name in params:
            raise TypeError(f"select_model(): {name} is set by the sweep; pass n_components, covariance_types, "
                            "random_state and n_init as select_model's own arguments")
    ks, models = _components(n_components), _models(covariance_types)
    seed = _seed(random_state)
    # Converted once: each fit then takes the array as it is (its validation copies nothing).
    x = check_array(X, dtype=[np.float64, np.float32], order="C", ensure_min_samples=2, ensure_all_finite="allow-nan",
                    input_name="X")
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    complete = bool(x.dtype == np.float64 and not np.isnan(x).any())  # criteria's shortcut, checked once
    total = len(ks) * len(models)

    def fits_of(i: int):
        """The fits of K = ks[i] in model order, which share the StartCache of
        its starts (drawn by the first model, reused by the others): yields
        ((i, model index), candidate, estimator) for each."""
        k, starts = ks[i], StartCache()
        for j, model in enumerate(models):
            estimator = GaussianMixture(k, covariance_type=model, n_init=n_init, random_state=seed, **params)
            t = time.perf_counter()
            estimator.fit(x, sample_weight=w, starts=starts)
            seconds = time.perf_counter() - t
            bic, aic, icl, log_l = criteria(estimator, x, w, complete=complete)
            yield (i, j), Candidate(k, model, bic, aic, icl, log_l, _n_parameters(estimator),
                                    bool(estimator.converged_), int(estimator.n_iter_), seconds), estimator

    done: dict = {}

    def record(result) -> None:
        position, candidate, estimator = result
        done[position] = candidate, estimator
        if progress is not None:
            progress(len(done), total, candidate)

    runners, threads_each = _side_by_side(x, len(ks))
    if runners > 1:
        # The largest K first, so that the last groups to finish are short ones.
        order = sorted(range(len(ks)), key=lambda i: -ks[i])
        _run_side_by_side([lambda i=i: fits_of(i) for i in order], runners, threads_each, record)
    else:
        for i in range(len(ks)):
            for result in fits_of(i):
                record(result)
    positions = [(i, j) for i in range(len(ks)) for j in range(len(models))]
    return Selection([done[p][0] for p in positions],
                     {(ks[i], models[j]): done[(i, j)][1] for i, j in positions}, criterion)


#: select_model runs its fits side by side, each on its share of the threads,
#: when X holds at most this many values: a fit of such data does not keep
#: every thread busy (100,000 x 8 on 2 threads: 1.6x one thread's speed,
#: from the start's serial draws and each iteration's fixed costs; the sweep
#: 2.0-2.2 -> 1.8-1.9 s). Larger X keeps the threads of one fit busy
#: (1,000,000 x 8 gained 7%), and there fits side by side, one thread each,
#: would lose where the K are few and unequal (the sweep waits for the
#: largest K's fit on one thread), so it runs one fit at a time.
SIDE_BY_SIDE_MAX_VALUES = 4_000_000


def _side_by_side(x: np.ndarray, n_groups: int) -> tuple[int, int]:
    """(Python threads running fits at once, core threads for each): one at
    a time unless there are threads to share, several K to fit and X is
    small enough (SIDE_BY_SIDE_MAX_VALUES)."""
    threads = get_num_threads()
    if threads < 2 or n_groups < 2 or x.size > SIDE_BY_SIDE_MAX_VALUES:
        return 1, threads_for_core()
    runners = min(threads, n_groups)
    return runners, threads // runners


def _run_side_by_side(groups: list, runners: int, threads_each: int, record) -> None:
    """Runs groups (callables, each yielding its fits' results in order) on
    `runners` worker threads, each taking the next group when it is done,
    each fit's core calls on threads_each threads; record(result) is called
    in this thread as fits finish. A fit's numbers do not depend on its
    thread count, so the results are those of one fit at a time.

    A worker's error is raised here once every worker has stopped (after
    its current fit). Ctrl-C, which only this thread receives, requests
    the StopFlag that the workers' core calls watch: their fits stop as
    this thread's would, and the KeyboardInterrupt is raised here."""
    lock, finished, stop = threading.Lock(), queue.Queue(), threading.Event()
    flag = _core.StopFlag()
    pending = iter(groups)
    worker_done = object()

    def work() -> None:
        _core.watch_stop(flag)
        try:
            with side_by_side_threads(threads_each):
                while not stop.is_set():
                    with lock:
                        group = next(pending, None)
                    if group is None:
                        break
                    for result in group():
                        finished.put((result, None))
                        if stop.is_set():
                            break
        except BaseException as exc:  # raised in the caller's thread, below
            finished.put((None, exc))
        finally:
            _core.watch_stop(None)
            finished.put((worker_done, None))

    workers = [threading.Thread(target=work, name=f"gaussmix-select_model-{n}", daemon=True) for n in range(runners)]
    for worker in workers:
        worker.start()
    running, error = runners, None
    try:
        while running:
            try:
                result, exc = finished.get(timeout=0.1)  # a timeout keeps this thread responsive to Ctrl-C
            except queue.Empty:
                continue
            if result is worker_done:
                running -= 1
            elif exc is not None:
                error = error or exc
                stop.set()
            elif error is None:
                record(result)
    except BaseException:  # Ctrl-C, or record's (the progress callback's) own error
        stop.set()
        flag.request()
        for worker in workers:
            worker.join()
        raise
    if error is not None:
        raise error
