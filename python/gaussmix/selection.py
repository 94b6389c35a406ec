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
import time
from typing import NamedTuple, Sequence

import numpy as np

from ._config import threads_for_core
from ._covariance import COVARIANCE_TYPES, covariance_model
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
    bad = [v for v in values if v not in COVARIANCE_TYPES]
    if not values or bad:
        raise ValueError(f"select_model(): covariance_types must be among {', '.join(COVARIANCE_TYPES)}, got "
                         f"{covariance_types!r}")
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
        Called after each fit as progress(done, total, candidate).
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
    candidates, estimators = [], {}
    total = len(ks) * len(models)
    for k in ks:
        starts = StartCache()  # each initialisation's labels, drawn by the first model and reused
        for model in models:
            estimator = GaussianMixture(k, covariance_type=model, n_init=n_init, random_state=seed, **params)
            t = time.perf_counter()
            estimator.fit(x, sample_weight=w, starts=starts)
            seconds = time.perf_counter() - t
            bic, aic, icl, log_l = criteria(estimator, x, w, complete=complete)
            candidate = Candidate(k, model, bic, aic, icl, log_l, _n_parameters(estimator),
                                  bool(estimator.converged_), int(estimator.n_iter_), seconds)
            candidates.append(candidate)
            estimators[(k, model)] = estimator
            if progress is not None:
                progress(len(candidates), total, candidate)
    return Selection(candidates, estimators, criterion)
