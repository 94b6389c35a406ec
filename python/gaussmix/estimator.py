"""The scikit-learn face: :class:`GaussianMixture`, a drop-in for
``sklearn.mixture.GaussianMixture`` over gaussmix's compiled core.

Changing ``from sklearn.mixture import GaussianMixture`` to ``from gaussmix
import GaussianMixture`` is the whole migration: the same parameters,
defaults, fitted attributes, methods, convergence rule, warnings and errors,
and from the same ``random_state`` the same initialisation (scikit-learn's
k-means, k-means++ and random starts, drawn from the same random numbers).
What it adds: ``sample_weight`` in ``fit`` and ``score``, float32 fits that
stay float32, conditioning (:meth:`GaussianMixture.condition`,
:meth:`~GaussianMixture.marginal`, :meth:`~GaussianMixture.predict_missing`)
and conversion to and from the PyPR face's lists and :class:`gaussmix.Mixture`.

The estimator is built on scikit-learn's public base classes and input
validation, so it needs scikit-learn (>= 1.6); ``import gaussmix`` and the
PyPR face do not.

Every EM iteration, scoring call and k-means step runs in the core (the
statistics of one pass over the data, no N x K temporaries during a fit),
on :func:`gaussmix.set_num_threads` threads, or, when that is not set, as
many as OpenMP allows: ``OMP_NUM_THREADS`` and threadpoolctl's
``threadpool_limits`` apply.
"""
from __future__ import annotations

import math
import numbers
import time
import warnings
from contextlib import contextmanager
from typing import NamedTuple

import numpy as np
from scipy.special import logsumexp, softmax
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from . import _core, _dask, _em_loop, _missing, _model_file
from ._config import threads_for_core
from ._mixture import COVARIANCE_TYPES, Mixture, covariance_shape, model_covariances
from ._validation import (
    INT_MAX,
    Cov_problem,
    column_extremes,
    data_matrix,
    fit_data,
    kernel_data,
    mixture_params,
    real_array,
    sample_weight_vector,
)

INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")

#: scikit-learn's message for a covariance that cannot be factorised.
ILL_DEFINED_COVARIANCE = (
    "Fitting the mixture model failed because some components have ill-defined empirical covariance (for "
    "instance caused by singleton or collapsed samples). Try to decrease the number of components, increase "
    "reg_covar, or scale the input data."
)
FLOAT32_ACCURACY_NOTE = " The numerical accuracy can also be improved by passing float64 data instead of float32."
NOT_CONVERGED = ("Best performing initialization did not converge. Try different init parameters, or increase "
                 "max_iter, tol, or check for degenerate data.")


class InvalidParameterError(ValueError, TypeError):
    """A constructor parameter outside what it accepts (raised by ``fit``, as
    scikit-learn's InvalidParameterError, and like it both a ValueError and a
    TypeError)."""


# --------------------------------------------------------------------------- parameter rules


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _integral_at_least(low):
    """scikit-learn's Interval(Integral, low, None): a bool is an Integral
    (max_iter=True is 1), as in Python and scikit-learn."""
    return lambda v: isinstance(v, numbers.Integral) and v >= low


def _finite_real_at_least(low):
    """scikit-learn's Interval(Real, low, None) (tol=True is 1.0); NaN and inf are outside."""
    return lambda v: isinstance(v, numbers.Real) and low <= v < math.inf


def _array_like_or_none(v) -> bool:
    if v is None:
        return True
    if isinstance(v, (str, bytes)) or np.isscalar(v):
        return False
    return hasattr(v, "__len__") or hasattr(v, "shape") or hasattr(v, "__array__")


def _options(values) -> str:
    return "a str among {" + ", ".join(map(repr, values)) + "}"


#: Each constructor parameter: what it must be (scikit-learn's wording) and the
#: test, which accepts what scikit-learn's fit accepts (tests/
#: test_estimator_sklearn_parity.py runs both on the same values). The one
#: exception: n_components=True passes scikit-learn's check and then fails its
#: fit with a TypeError ("an integer is required"); here it is refused at once,
#: with an InvalidParameterError, which is a TypeError too.
_PARAMETER_RULES = {
    "n_components": ("an int in the range [1, inf)", lambda v: _is_int(v) and v >= 1),
    "covariance_type": (_options(COVARIANCE_TYPES), lambda v: isinstance(v, str) and v in COVARIANCE_TYPES),
    "tol": ("a float in the range [0.0, inf)", _finite_real_at_least(0.0)),
    "reg_covar": ("a float in the range [0.0, inf)", _finite_real_at_least(0.0)),
    "max_iter": ("an int in the range [0, inf)", _integral_at_least(0)),
    "n_init": ("an int in the range [1, inf)", _integral_at_least(1)),
    "init_params": (_options(INIT_PARAMS), lambda v: isinstance(v, str) and v in INIT_PARAMS),
    "weights_init": ("an array-like or None", _array_like_or_none),
    "means_init": ("an array-like or None", _array_like_or_none),
    "precisions_init": ("an array-like or None", _array_like_or_none),
    "random_state": ("an int in the range [0, 4294967295], an instance of 'numpy.random.mtrand.RandomState' "
                     "or None", lambda v: v is None or isinstance(v, np.random.RandomState)
                     or (isinstance(v, numbers.Integral) and 0 <= v <= 2**32 - 1)),
    "warm_start": ("an instance of 'bool' or an instance of 'numpy.bool'",
                   lambda v: isinstance(v, (bool, np.bool_))),
    "verbose": ("an int in the range [0, inf), an instance of 'bool' or an instance of 'numpy.bool'",
                lambda v: isinstance(v, (bool, np.bool_)) or (_is_int(v) and v >= 0)),
    "verbose_interval": ("an int in the range [1, inf)", _integral_at_least(1)),
}


# --------------------------------------------------------------------------- initial parameters


def _check_shape(value: np.ndarray, shape: tuple, name: str) -> None:
    if value.shape != shape:
        raise ValueError(f"The parameter '{name}' should have the shape of {shape}, but got {value.shape}")


def _init_array(value, name: str, owner: str) -> np.ndarray:
    """A user-given *_init as a finite float array, converted by scikit-learn's
    check_array as scikit-learn converts it (float32 kept, numeric text
    accepted), so that the same values raise the same exceptions: a complex
    array or text that is not a number a ValueError, a list holding a complex
    number a TypeError."""
    arr = check_array(value, dtype=[np.float64, np.float32], ensure_2d=False, allow_nd=True,
                      ensure_all_finite=False, input_name=name)
    if not np.isfinite(arr).all():
        raise ValueError(f"{owner}.fit(): {name} contains NaN or infinity; give finite initial parameters")
    return arr


class _Inits(NamedTuple):
    """The user's initial parameters, checked (float64), or None each."""

    weights: np.ndarray | None
    means: np.ndarray | None
    covariances: np.ndarray | None  # from precisions_init, in the model's shape


def _check_weights(value, n_components: int, owner: str) -> np.ndarray:
    weights = _init_array(value, "weights_init", owner)
    _check_shape(weights, (n_components,), "weights")
    if (weights < 0).any() or (weights > 1).any():
        # scikit-learn prints the minimum after "max value" and the maximum
        # after "min value"; kept to the letter, since code (and its own test)
        # matches this message.
        raise ValueError("The parameter 'weights' should be in the range [0, 1], but got max value "
                         f"{weights.min():.5f}, min value {weights.max():.5f}")
    atol = 1e-6 if weights.dtype == np.float32 else 1e-8
    if abs(1.0 - float(weights.sum())) > atol:
        raise ValueError(f"The parameter 'weights' should be normalized, but got sum(weights) = {weights.sum():.5f}")
    return weights.astype(np.float64)


def _check_precisions(value, covariance_type: str, n_components: int, n_features: int, owner: str) -> np.ndarray:
    """precisions_init checked as scikit-learn checks it, returned as covariances (float64)."""
    name = f"{covariance_type} precision"
    precisions = _init_array(value, "precisions_init", owner).astype(np.float64)
    _check_shape(precisions, covariance_shape(covariance_type, n_components, n_features), name)
    if covariance_type in ("full", "tied"):
        for p in precisions.reshape(-1, n_features, n_features):
            if not (np.allclose(p, p.T) and (np.linalg.eigvalsh(p) > 0).all()):
                raise ValueError(f"'{name}' should be symmetric, positive-definite")
        inverse = np.linalg.inv(precisions)
        return (inverse + np.swapaxes(inverse, -1, -2)) / 2
    if (precisions <= 0).any():
        raise ValueError(f"'{name}' should be positive")
    return 1.0 / precisions


@contextmanager
def _covariances_must_be_defined(dtype):
    """A covariance the core cannot factorise is scikit-learn's ValueError
    (the core's reason appended)."""
    try:
        yield
    except Cov_problem as exc:
        note = FLOAT32_ACCURACY_NOTE if dtype == np.float32 else ""
        raise ValueError(f"{ILL_DEFINED_COVARIANCE}{note} ({exc})") from None


def _kmeans_labels(x: np.ndarray, sample_weight, n_components: int, random_state) -> np.ndarray:
    """scikit-learn's ``KMeans(n_clusters=K, n_init=1, random_state=rs).fit(X).labels_``:
    greedy k-means++ on the same random numbers, Lloyd's iterations until the
    labels stop changing or the centres move by at most 1e-4 x the mean
    column variance (summed squares), at most 300, empty clusters moved to
    the farthest rows; labels of the final centres."""
    threads = threads_for_core()
    _, indices = _kmeans_plus_plus(x, sample_weight, n_components, random_state)
    tol = 1e-4 * float(_column_variances(x).mean())
    labels, _, _ = _core.kmeans_lloyd(x, x[indices].astype(np.float64), 300, -1.0, threads, sample_weight,
                                      shift_tol=tol, relocate_empty=True)
    return labels


def _warn_if_fewer_clusters(labels: np.ndarray, n_components: int) -> None:
    """scikit-learn's KMeans warning when its labels use fewer than K clusters
    (fewer distinct rows than K): its GaussianMixture shows it from the kmeans
    start, and so does this one, from the same labels. The other starts warn
    in neither: k-means++ and random_from_data then start some components on
    the same point (which stay together), 'random' from random
    responsibilities, and scikit-learn says nothing about either."""
    distinct = int(np.unique(labels).size)
    if distinct < n_components:
        warnings.warn(f"Number of distinct clusters ({distinct}) found smaller than n_clusters ({n_components}). "
                      "Possibly due to duplicate points in X.", ConvergenceWarning, stacklevel=6)


def _column_variances(x: np.ndarray) -> np.ndarray:
    """(D,) each column's (unweighted) variance in one parallel pass of the
    core: every row in one component, diagonal statistics around the first
    row (NumPy's x.var(axis=0) takes 10x as long and an N x D temporary)."""
    n = len(x)
    stats = _core.label_stats(x, np.zeros(n, dtype=np.int64), "diag", x[:1].astype(np.float64), None,
                              threads_for_core())
    offset = stats[3][0] / n  # mean - first row
    return np.maximum(stats[4][0] / n - offset**2, 0.0)


def _kmeans_plus_plus(x: np.ndarray, sample_weight, n_components: int, random_state):
    """scikit-learn's k-means++ (2 + log K local trials per centre), on the
    same random numbers: (centres, row indices)."""
    trials = 2 + int(np.log(n_components))
    draws = random_state.random_sample(1 + (n_components - 1) * trials)
    return _core.kmeans_plus_plus(x, n_components, draws, trials, threads_for_core(), sample_weight)


def _one_hot_labels(n_rows: int, indices: np.ndarray) -> np.ndarray:
    """Labels for a start from K chosen rows: row indices[k] is component k's, the others no one's (-1)."""
    labels = np.full(n_rows, -1, dtype=np.int64)
    labels[indices] = np.arange(len(indices))
    return labels


def _with_scikit_learn_tied_scatter(stats: tuple, x: np.ndarray, w, labels: np.ndarray) -> tuple:
    """Tied statistics of a start from K chosen rows, as scikit-learn forms
    them: its tied covariance is (sum over all rows of x x^T - sum_k N_k
    mean_k mean_k^T) / sum_k N_k, which for rows that belong to no component
    adds their x x^T, around the origin. Added to the pooled scatter here, so
    that the same random_state gives scikit-learn's start (a broad
    covariance; the chosen rows' own scatter alone is 0). The rows' x x^T
    come from the core: the free rows as one component around the origin."""
    free = np.where(labels < 0, 0, -1).astype(np.int64)
    origin = np.zeros((1, x.shape[1]))
    free_stats = _core.label_stats(x, free, "tied", origin, w, threads_for_core())
    return stats[:4] + (np.array(stats[4]) + free_stats[4],) + stats[5:]


# --------------------------------------------------------------------------- precisions


def _precisions_cholesky(covariances: np.ndarray, covariance_type: str) -> np.ndarray:
    """scikit-learn's precisions_cholesky_: U upper triangular with U U^T = cov^-1
    (U = L^-T for cov = L L^T); diag and spherical 1 / sqrt(variance)."""
    if covariance_type in ("full", "tied"):
        lower = np.linalg.cholesky(covariances)
        identity = np.broadcast_to(np.eye(lower.shape[-1]), lower.shape)
        return np.swapaxes(np.linalg.solve(lower, identity), -1, -2)
    return 1.0 / np.sqrt(covariances)


def _precisions(precisions_cholesky: np.ndarray, covariance_type: str) -> np.ndarray:
    if covariance_type in ("full", "tied"):
        return precisions_cholesky @ np.swapaxes(precisions_cholesky, -1, -2)
    return precisions_cholesky**2


def _covariances_from_precisions_cholesky(precisions_cholesky: np.ndarray, covariance_type: str) -> np.ndarray:
    if covariance_type in ("full", "tied"):
        inverse = np.linalg.inv(precisions_cholesky)
        covariances = np.swapaxes(inverse, -1, -2) @ inverse
        return (covariances + np.swapaxes(covariances, -1, -2)) / 2
    return 1.0 / precisions_cholesky**2


class NonFiniteFit(ValueError):
    """A fitted attribute (``name``) is not finite in the model's ``dtype``:
    a ValueError, with the attribute and dtype named for callers (a model
    file being loaded) that report it in their own terms."""

    def __init__(self, message: str, name: str, dtype: np.dtype):
        super().__init__(message)
        self.name, self.dtype = name, dtype


def _check_fitted_finite(fitted: dict, dtype: np.dtype, owner: str) -> None:
    """NonFiniteFit unless every fitted attribute is finite in the model's
    dtype: the end of every fit (and of every model made from parameters or
    read from a model file) goes through here, so no model is left with an
    infinite or NaN attribute (float32 data whose covariances exceed
    float32's 3.4e38, or whose precisions do, at variances below 3e-39;
    scikit-learn raises or leaves NaN there)."""
    for name, value in fitted.items():
        if np.isfinite(value).all():
            continue
        if dtype == np.float32:
            remedy = ("float32 holds magnitudes up to 3.4e38, and the fitted model needs more; pass X as float64 "
                      "(X.astype(np.float64)), or rescale X")
        else:
            remedy = "rescale X, or increase reg_covar"
        raise NonFiniteFit(f"{owner}.fit(): the fitted {name} are not finite in {dtype.name}: {remedy}", name, dtype)


class _Fitted(NamedTuple):
    """The mixture a fit ended with and the attributes it set, to tell
    whether scoring may use the exact mixture or must rebuild it from
    attributes the user has changed."""

    mixture: Mixture
    weights: np.ndarray
    means: np.ndarray
    precisions_cholesky: np.ndarray


def _resp_offset(dtype, weight_total: float, n_samples: int) -> float:
    """scikit-learn adds 10 eps of the data's precision to every component's
    responsibility sum; per unit of mean weight, so that scaling the weights
    changes nothing."""
    return 10 * float(np.finfo(dtype).eps) * weight_total / n_samples


def _better_run(best, run):
    """The run to keep of best (None at first) and run: scikit-learn keeps the
    higher lower bound, and replaces a start whose bound is -inf (max_iter=0)."""
    if best is None or run.lower_bound > best.lower_bound or best.lower_bound == -math.inf:
        return run
    return best


class FitProgress(NamedTuple):
    """What ``fit(X, progress=...)`` reports after each EM iteration."""

    init: int            #: the initialisation, 0 .. n_init - 1
    n_init: int
    iteration: int       #: iterations done in this initialisation, 1 .. max_iter
    max_iter: int
    lower_bound: float   #: mean log-likelihood (per unit of weight) of the parameters the iteration started from
    change: float        #: lower_bound minus the previous one (NaN at a fresh start's first iteration)
    elapsed: float       #: seconds since fit began


class _ProgressHook:
    """The progress callback of one fit call: turns each EM iteration's
    (iteration index, lower bound) into a FitProgress."""

    def __init__(self, progress, n_init: int, max_iter: int):
        if progress is not None and not callable(progress):
            raise TypeError(f"progress must be a callable taking a FitProgress, got {type(progress).__name__}")
        self.progress, self.n_init, self.max_iter = progress, n_init, max_iter
        self.start = time.perf_counter()
        self.init, self.previous = 0, math.nan

    @property
    def active(self) -> bool:
        return self.progress is not None

    def begin(self, init: int, previous: float) -> None:
        self.init, self.previous = init, previous

    def iteration(self, index: int, lower_bound: float) -> None:
        change, self.previous = lower_bound - self.previous, lower_bound
        self.progress(FitProgress(self.init, self.n_init, index + 1, self.max_iter, float(lower_bound),
                                  float(change), time.perf_counter() - self.start))


class _Run(NamedTuple):
    """One initialisation's EM run."""

    mixture: Mixture
    n_iter: int
    converged: bool
    lower_bound: float
    lower_bounds: list


# --------------------------------------------------------------------------- the estimator


class GaussianMixture(DensityMixin, BaseEstimator):
    """Gaussian mixture model fitted by EM: scikit-learn's estimator, on gaussmix's core.

    The parameters, their defaults and meaning are those of
    ``sklearn.mixture.GaussianMixture`` (scikit-learn 1.9); see its
    documentation for the full text.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components K.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
        'full': each component its own covariance; 'tied': one shared;
        'diag': each its own diagonal; 'spherical': each its own variance.
    tol : float, default=1e-3
        EM stops when the lower bound (the mean log-likelihood per unit of
        sample weight) changed by less than tol.
    reg_covar : float, default=1e-6
        Added to every covariance's diagonal, so that they stay positive definite
        (with NaN in X: a penalty on the observed entries, counted once, see
        lower_bound_).
    max_iter : int, default=100
        EM iterations per initialisation (0: keep the initial parameters).
    n_init : int, default=1
        Initialisations; the one with the largest lower bound is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, default='kmeans'
        How the initial responsibilities are drawn: k-means labels,
        k-means++ seeds, random responsibilities, or K random rows.
    weights_init : array-like of shape (K,), default=None
    means_init : array-like of shape (K, D), default=None
    precisions_init : array-like, default=None
        Initial parameters that replace those of ``init_params``
        (precisions in the shape of ``covariances_``).
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation and :meth:`sample`; an int gives the same
        initialisation as scikit-learn's with that int.
    warm_start : bool, default=False
        Continue from the last fit's parameters (one initialisation).
    verbose : int, default=0
        1: print initialisations and iterations; 2: also times and changes.
    verbose_interval : int, default=10
        Iterations between prints.

    Attributes
    ----------
    weights_ : ndarray of shape (K,)
    means_ : ndarray of shape (K, D)
    covariances_ : ndarray
        (K, D, D) full, (D, D) tied, (K, D) diag, (K,) spherical.
    precisions_ : ndarray
        The inverses of the covariances, in the same shape.
    precisions_cholesky_ : ndarray
        U with U U^T = precision, U upper triangular (diag and spherical:
        1 / standard deviation). Scoring uses weights_, means_ and
        precisions_cholesky_, as scikit-learn does.
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        Mean log-likelihood (per unit of sample weight) of the parameters the
        best run's last iteration started from. With NaN in X, the mean
        penalised observed-data log-likelihood that missing-data EM
        maximises (each observed entry x_ij charged reg_covar / 2 times
        component k's (S_k^{-1})_jj, see gaussmix/_missing.py), which no
        iteration lowers.
    lower_bounds_ : list of float
        The best run's lower bound at every iteration.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        When X had feature names (a pandas DataFrame with string columns).

    The fitted attributes have X's dtype: float32 data gives a float32 model
    (fitted with float32 kernels and float64 accumulators).

    Notes
    -----
    Where gaussmix differs from scikit-learn:

    * ``fit``, ``fit_predict`` and ``score`` take ``sample_weight``.
    * With the k-means++ and random_from_data initialisations the initial
      weights are 1/K each; scikit-learn leaves them summing to K/N, which
      only lowers its first lower bound (and can cost it one more iteration).
    * A component that receives no responsibility keeps a tiny weight, its
      previous statistics' centre as mean and reg_covar as variances (as in
      scikit-learn, up to where that mean lies).
    * Bad fitted attributes set by hand (weights that do not sum to 1) are a
      ValueError when scoring.
    * A fit whose attributes would not be finite in the data's dtype (float32
      data whose covariances exceed float32's range) raises ValueError;
      scikit-learn raises or leaves NaN.
    * Fewer distinct rows than components: the kmeans start warns with
      scikit-learn's KMeans warning, from the same labels; k-means++,
      random_from_data and random warn in neither.
    * Rows far from every component (beyond about 1e154 standard deviations
      scikit-learn's squared distances overflow) get their posterior and
      log-density from the distances' differences: predict_proba sums to 1,
      score_samples is -inf only below double's range; scikit-learn gives NaN.
    """

    def __init__(self, n_components=1, *, covariance_type="full", tol=1e-3, reg_covar=1e-6, max_iter=100, n_init=1,
                 init_params="kmeans", weights_init=None, means_init=None, precisions_init=None, random_state=None,
                 warm_start=False, verbose=0, verbose_interval=10):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # NaN is a missing value (EM on the observed entries)
        return tags

    # ------------------------------------------------------------------ fitting

    def fit(self, X, y=None, sample_weight=None, *, progress=None):
        """Estimate the parameters with EM, ``n_init`` times, keeping the best.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            float64 or float32 (kept: float32 data gives a float32 model).
            NaN marks a missing value: EM on the observed entries.
        y : ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Finite, >= 0, positive sum; an integer weight counts a row that
            many times, a weight of 0 removes it.
        progress : callable, optional
            Called after every EM iteration with a :class:`FitProgress`
            (initialisation, iteration, lower bound, its change, seconds so
            far), e.g. to drive a tqdm bar::

                with tqdm(total=gm.max_iter * gm.n_init) as bar:
                    gm.fit(X, progress=lambda p: bar.update(1))

        Returns
        -------
        self
        """
        self._fit(X, sample_weight, progress=progress)
        return self

    def fit_predict(self, X, y=None, sample_weight=None, *, progress=None):
        """:meth:`fit`, then the labels of X under the fitted model (what
        ``fit(X).predict(X)`` gives).

        Returns
        -------
        labels : ndarray of shape (n_samples,), int64
        """
        x = self._fit(X, sample_weight, progress=progress)
        if _dask.is_dask_array(x):
            return self.predict(x)
        return self._labels(x, self._fitted.mixture)

    def _check_params(self) -> None:
        for name, (rule, accepts) in _PARAMETER_RULES.items():
            value = getattr(self, name)
            if not accepts(value):
                raise InvalidParameterError(
                    f"The {name!r} parameter of {type(self).__name__} must be {rule}. Got {value!r} instead.")

    def _check_inits(self, n_features: int) -> _Inits:
        owner, K = type(self).__name__, self.n_components
        weights = means = covariances = None
        if self.weights_init is not None:
            weights = _check_weights(self.weights_init, K, owner)
        if self.means_init is not None:
            means = _init_array(self.means_init, "means_init", owner).astype(np.float64)
            _check_shape(means, (K, n_features), "means")
        if self.precisions_init is not None:
            covariances = _check_precisions(self.precisions_init, self.covariance_type, K, n_features, owner)
        return _Inits(weights, means, covariances)

    def _validated_for_sweep(self, X) -> np.ndarray:
        """X as _fit converts it (a C-contiguous float array, NaN allowed), once for a sweep's fits."""
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=2, ensure_all_finite="allow-nan")
        return data_matrix(X, f"{type(self).__name__}.fit", check_finite=False)

    def _fit(self, X, sample_weight, start_cache: dict | None = None, progress=None) -> np.ndarray:
        """The fit; returns X as the core takes it (for fit_predict's labels).
        start_cache: the initial labels or responsibilities of each
        initialisation, shared by the fits of a model-selection sweep
        (gaussmix/selection.py): filled by the first fit that draws them,
        read by the others, which then draw nothing from random_state."""
        self._check_params()
        func = f"{type(self).__name__}.fit"
        hook = _ProgressHook(progress, self.n_init, int(self.max_iter))
        if _dask.is_dask_array(X):
            return self._fit_dask(X, sample_weight, func, hook)
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=2, ensure_all_finite="allow-nan")
        n_samples, n_features = X.shape
        if n_samples < self.n_components:
            raise ValueError(f"Expected n_samples >= n_components but got n_components = {self.n_components}, "
                             f"n_samples = {n_samples}")
        x = data_matrix(X, func, check_finite=False)  # validate_data refused infinities
        w = sample_weight_vector(sample_weight, n_samples, func)
        inits = self._check_inits(n_features)
        # NaN marks a missing value (gaussmix/_missing.py): EM on the observed entries, from a
        # start on the mean-filled data. Without NaN, x itself and the in-memory EM.
        missing = _missing.MissingData(x, w, func, float(self.reg_covar)) if np.isnan(x).any() else None
        x_start = x if missing is None else _missing.column_means_filled(x, w)
        extremes = column_extremes(x_start)  # for every start's data checks: one pass over X
        weight_total = float(n_samples if w is None else w.sum())
        resp_offset = _resp_offset(x.dtype, weight_total, n_samples)

        do_init = not (self.warm_start and hasattr(self, "converged_"))
        random_state = check_random_state(self.random_state)
        best = None
        for init in range(self.n_init if do_init else 1):
            self._print_init_begin(init)
            if do_init:
                start = self._initial_mixture(x_start, w, random_state, inits, resp_offset, extremes,
                                              None if start_cache is None else (start_cache, init))
                previous = math.nan
            else:
                start, previous = self._scoring_mixture(), self.lower_bound_
            if self.max_iter == 0:
                best = _Run(start, 0, False, -math.inf, [])  # scikit-learn keeps the last start
                continue
            hook.begin(init, previous)
            if missing is None:
                run = self._run_em(x, w, start, weight_total, previous, resp_offset, extremes, hook)
            else:
                checked = fit_data(x_start, func, means=start.means, variances=start.variances(), extremes=extremes)
                if checked.dtype != missing.dtype:  # the float32 kernels' range: as in memory
                    missing = _missing.MissingData(x.astype(np.float64), w, func, float(self.reg_covar))
                run = self._run_seam_em(missing, start, previous, resp_offset, hook)
            self._print_init_end(run.lower_bound, run.converged)
            best = _better_run(best, run)
        self._keep(best, x.dtype, stacklevel=4)
        return x

    def _keep(self, best: _Run, dtype, stacklevel: int) -> None:
        """The best run's fitted attributes (and scikit-learn's warning if it
        did not converge, at the caller of fit: stacklevel frames up)."""
        if not best.converged and self.max_iter > 0:
            warnings.warn(NOT_CONVERGED, ConvergenceWarning, stacklevel=stacklevel)
        self._set_fitted(best.mixture, dtype)
        self.converged_ = best.converged
        self.n_iter_ = best.n_iter
        self.lower_bound_ = best.lower_bound
        self.lower_bounds_ = best.lower_bounds

    def _fit_dask(self, X, sample_weight, func: str, hook):
        """The fit of a Dask array: the E-step chunk by chunk where the chunks
        live, merged in chunk order, the M-step here (gaussmix/_dask.py);
        the start from a uniform sample of rows unless given in full."""
        warm = self.warm_start and hasattr(self, "converged_")
        X = _dask.data_array(X, func, self.n_features_in_ if warm else None)
        n_samples, n_features = (int(v) for v in X.shape)
        if n_samples < max(2, self.n_components):
            raise ValueError(f"Expected n_samples >= n_components but got n_components = {self.n_components}, "
                             f"n_samples = {n_samples}")
        if not warm:
            self.n_features_in_ = n_features
            if hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        data = _dask.DaskData(X, _dask.weight_array(sample_weight, X, func), func)
        inits = self._check_inits(n_features)
        resp_offset = _resp_offset(data.dtype, data.weight_total, n_samples)
        random_state = check_random_state(self.random_state)
        given_in_full = not any(v is None for v in inits)
        sample = None
        best = None
        for init in range(1 if warm else self.n_init):
            self._print_init_begin(init)
            if warm:
                start, previous = self._scoring_mixture(), self.lower_bound_
            elif given_in_full:
                start, previous = Mixture(*inits, self.covariance_type), math.nan
            else:
                if sample is None:  # one read of the sampled rows serves every initialisation
                    sample = data.sample(self.n_components, random_state)
                xs, ws = sample
                sample_offset = _resp_offset(data.dtype, len(xs) if ws is None else float(ws.sum()), len(xs))
                start = self._initial_mixture(xs, ws, random_state, inits, sample_offset, column_extremes(xs))
                previous = math.nan
            if self.max_iter == 0:
                best = _Run(start, 0, False, -math.inf, [])
                continue
            hook.begin(init, previous)
            run = self._run_seam_em(data, start, previous, resp_offset, hook)
            self._print_init_end(run.lower_bound, run.converged)
            best = _better_run(best, run)
        self._keep(best, data.dtype, stacklevel=5)
        return X

    def _run_seam_em(self, data, start: Mixture, previous: float, resp_offset: float, hook) -> _Run:
        """EM over the statistics seam (gaussmix/_em_loop.py): data.stats(mixture)
        is a Dask array's or data with missing values' E-step."""
        mixture, n_iter, converged, lower_bounds = _em_loop.run_em(
            data, start, max_iter=int(self.max_iter), tol=float(self.tol), reg_covar=float(self.reg_covar),
            resp_offset=resp_offset, previous=previous, covariances_guard=_covariances_must_be_defined,
            on_iteration=hook.iteration if hook.active else None)
        return _Run(mixture, n_iter, converged, lower_bounds[-1], lower_bounds)

    def _initial_mixture(self, x: np.ndarray, w, random_state, inits: _Inits, resp_offset: float,
                         extremes, cached=None) -> Mixture:
        """The start of one initialisation: scikit-learn's parameters from
        the initial responsibilities of init_params (drawn from
        random_state), replaced by those the user gave. cached: (cache,
        initialisation index), see _fit's start_cache."""
        K, ctype = self.n_components, self.covariance_type
        weights = means = covariances = None
        if inits.weights is None or inits.means is None or inits.covariances is None:
            xk = fit_data(x, f"{type(self).__name__}.fit", extremes=extremes)
            if cached is not None and cached[1] in cached[0]:
                resp, labels = cached[0][cached[1]]
            else:
                resp, labels = self._initial_assignment(xk, w, random_state)
                if cached is not None:
                    cached[0][cached[1]] = (resp, labels)
            weights, means, covariances = self._start_from_responsibilities(
                xk, w, resp, labels, resp_offset, need_covariances=inits.covariances is None)
        weights = weights if inits.weights is None else inits.weights
        means = means if inits.means is None else inits.means
        covariances = covariances if inits.covariances is None else inits.covariances
        return Mixture(weights, means, covariances, ctype)

    def _initial_assignment(self, xk: np.ndarray, w, random_state):
        """(resp, labels) of init_params, one of them None: the initial
        responsibilities (dense) or hard labels, drawn from random_state."""
        K = self.n_components
        if self.init_params == "kmeans":
            labels = _kmeans_labels(xk, w, K, random_state)
            _warn_if_fewer_clusters(labels, K)
            return None, labels
        if self.init_params == "k-means++":
            return None, _one_hot_labels(len(xk), _kmeans_plus_plus(xk, w, K, random_state)[1])
        if self.init_params == "random_from_data":
            return None, _one_hot_labels(len(xk), random_state.choice(len(xk), size=K, replace=False))
        resp = random_state.uniform(size=(len(xk), K))
        resp /= resp.sum(axis=1)[:, np.newaxis]
        return resp, None

    def _start_from_responsibilities(self, x, w, resp, labels, resp_offset, need_covariances):
        """The M-step of given responsibilities (dense resp or labels): the
        means from statistics around the first row, then, when needed, the
        covariances from statistics around those means (exact for components
        far from the first row)."""
        threads = threads_for_core()

        def stats(covariance_type, shifts):
            if labels is not None:
                return _core.label_stats(x, labels, covariance_type, shifts, w, threads)
            return _core.responsibility_stats(x, resp, covariance_type, shifts, w, threads)

        first_row = np.repeat(x[:1].astype(np.float64), self.n_components, axis=0)
        weights, means = _core.m_step_means(stats("spherical", first_row), resp_offset)
        if not need_covariances:
            return weights, means, None
        second = stats(self.covariance_type, means)
        if self.covariance_type == "tied" and labels is not None:
            second = _with_scikit_learn_tied_scatter(second, x, w, labels)
        with _covariances_must_be_defined(x.dtype):
            return _core.m_step(second, np.empty(0), self.reg_covar, resp_offset)

    def _run_em(self, x, w, start: Mixture, weight_total: float, previous: float, resp_offset: float,
                extremes, hook) -> _Run:
        xk = fit_data(x, f"{type(self).__name__}.fit", means=start.means, variances=start.variances(),
                      extremes=extremes)
        printer = self._iteration_printer(weight_total, previous) if self.verbose else None
        callback = printer
        if hook.active:
            def callback(weights, means, covariances, iteration, log_likelihood):
                if printer is not None:
                    printer(weights, means, covariances, iteration, log_likelihood)
                hook.iteration(iteration, log_likelihood / weight_total)
        with _covariances_must_be_defined(x.dtype):
            weights, means, covs, _, n_iter, converged, weight_sum, history = _core.fit_em(
                # The core counts iterations in a C int: 2**31 - 1 iterations are as unending as more.
                xk, *start.core_args()[:3], min(int(self.max_iter), INT_MAX), float(self.tol), 1, np.empty(0),
                threads_for_core(),
                callback, self.covariance_type, w, float(self.reg_covar), True,
                previous if math.isfinite(previous) else math.nan, resp_offset)
            mixture = Mixture(weights, means, covs, self.covariance_type)
        lower_bounds = (history / weight_sum).tolist()
        return _Run(mixture, int(n_iter), bool(converged), lower_bounds[-1], lower_bounds)

    # ------------------------------------------------------------------ fitted state

    def _set_fitted(self, mixture: Mixture, dtype) -> None:
        """The fitted attributes of mixture, in dtype."""
        ctype = self.covariance_type
        with _covariances_must_be_defined(dtype):
            try:
                precisions_cholesky = _precisions_cholesky(mixture.covariances, ctype)
            except np.linalg.LinAlgError as exc:
                raise Cov_problem(f"a covariance has no Cholesky factor ({exc})") from None
        with np.errstate(over="ignore"):  # an overflow is the error _check_fitted_finite reports
            fitted = {"weights_": mixture.weights.astype(dtype), "means_": mixture.means.astype(dtype),
                      "covariances_": mixture.covariances.astype(dtype),
                      "precisions_cholesky_": precisions_cholesky.astype(dtype),
                      "precisions_": _precisions(precisions_cholesky, ctype).astype(dtype)}
        _check_fitted_finite(fitted, np.dtype(dtype), type(self).__name__)
        for name, value in fitted.items():
            setattr(self, name, value)
        self._fitted = _Fitted(mixture, self.weights_.copy(), self.means_.copy(), self.precisions_cholesky_.copy())

    def _scoring_mixture(self) -> Mixture:
        """The mixture that scores rows: the fit's own, while weights_, means_
        and precisions_cholesky_ are as the fit left them; else one built
        from those attributes (as scikit-learn scores with them)."""
        fitted = getattr(self, "_fitted", None)
        if (fitted is not None and np.array_equal(fitted.weights, self.weights_)
                and np.array_equal(fitted.means, self.means_)
                and np.array_equal(fitted.precisions_cholesky, self.precisions_cholesky_)):
            return fitted.mixture
        try:
            covariances = _covariances_from_precisions_cholesky(
                np.asarray(self.precisions_cholesky_, dtype=np.float64), self.covariance_type)
            return Mixture(self.weights_, self.means_, covariances, self.covariance_type)
        except (ValueError, np.linalg.LinAlgError) as exc:
            raise ValueError(f"{type(self).__name__}: weights_, means_ and precisions_cholesky_ do not form a valid "
                             f"{self.covariance_type} mixture ({exc}); refit, or set consistent attributes") from None

    def _rows(self, X, func: str, **validate) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, **validate)
        return data_matrix(X, f"{type(self).__name__}.{func}", check_finite=False)

    def _score(self, core_function, X, func: str, of_log_prob) -> np.ndarray:
        """A core scoring function's result for X, in float32 when X and the
        model are float32 (as scikit-learn's), else float64; of_log_prob:
        the same result from rows' component log-weights (for rows with NaN)."""
        x = self._rows(X, func, ensure_all_finite="allow-nan")
        mixture = self._scoring_mixture()
        float32_output = bool(x.dtype == np.float32 and self.means_.dtype == np.float32)
        return _by_rows(x, mixture, self._on_complete_rows(core_function, mixture, float32_output), of_log_prob)

    def _on_complete_rows(self, core_function, mixture: Mixture, *extra):
        """core_function(rows, weights, means, covariances, threads,
        covariance_type, *extra) as a function of rows without NaN (in the
        kernels' precision for them)."""
        def complete(rows):
            rows = kernel_data(rows, means=mixture.means, variances=mixture.variances())
            return core_function(rows, *mixture.core_args()[:3], threads_for_core(), self.covariance_type, *extra)

        return complete

    # ------------------------------------------------------------------ scoring

    def score_samples(self, X):
        """Log-likelihood log p(x) of each row.

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
        """
        if _dask.is_dask_array(X):
            return self._map_dask(X, "score_samples", None)
        return self._score(_core.log_density, X, "score_samples", _log_sum_exp)

    def _map_dask(self, X, method: str, columns):
        """method over each row chunk of the Dask array X: a lazy Dask array."""
        check_is_fitted(self)
        X = _dask.data_array(X, f"{type(self).__name__}.{method}", self.n_features_in_)
        if method == "predict":
            dtype = np.dtype(np.int64)
        else:
            dtype = np.dtype(np.float32 if X.dtype == np.float32 and self.means_.dtype == np.float32 else np.float64)
        return _dask.map_rows(X, getattr(self, method), dtype, columns)

    def score(self, X, y=None, sample_weight=None):
        """Mean log-likelihood of the rows of X (weighted by sample_weight if given).

        Returns
        -------
        float
        """
        if _dask.is_dask_array(X):
            return _dask.mean(self.score_samples(X).astype(np.float64), sample_weight, f"{type(self).__name__}.score")
        log_prob = self.score_samples(X)
        w = sample_weight_vector(sample_weight, len(log_prob), f"{type(self).__name__}.score")
        if w is None:
            return float(np.mean(log_prob))
        return float(np.dot(w, log_prob.astype(np.float64)) / w.sum())

    def predict(self, X):
        """The most probable component of each row.

        Returns
        -------
        labels : ndarray of shape (n_samples,), int64
        """
        if _dask.is_dask_array(X):
            return self._map_dask(X, "predict", None)
        return self._labels(self._rows(X, "predict", ensure_all_finite="allow-nan"), self._scoring_mixture())

    def _labels(self, x: np.ndarray, mixture: Mixture) -> np.ndarray:
        """Each row's most probable component under mixture."""
        return _by_rows(x, mixture, self._on_complete_rows(_core.assign_to_component, mixture),
                        lambda log_prob: log_prob.argmax(axis=1))

    def predict_proba(self, X):
        """Posterior probability p(k | x) of each component for each row.

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
        """
        if _dask.is_dask_array(X):
            return self._map_dask(X, "predict_proba", self.n_components)
        return self._score(_core.responsibilities, X, "predict_proba", _softmax)

    def _n_parameters(self) -> int:
        """Free parameters of the model (as scikit-learn counts them)."""
        K, D = self.means_.shape
        covariance = {"full": K * D * (D + 1) / 2, "tied": D * (D + 1) / 2, "diag": K * D,
                      "spherical": K}[self.covariance_type]
        return int(covariance + K * D + K - 1)

    def bic(self, X):
        """Bayesian information criterion of the model on X: -2 log L + p log N (lower is better)."""
        log_prob = self.score_samples(X)
        return -2 * float(np.mean(log_prob)) * len(log_prob) + self._n_parameters() * math.log(len(log_prob))

    def aic(self, X):
        """Akaike information criterion of the model on X: -2 log L + 2 p (lower is better)."""
        log_prob = self.score_samples(X)
        return -2 * float(np.mean(log_prob)) * len(log_prob) + 2 * self._n_parameters()

    def sample(self, n_samples=1):
        """Draw rows from the fitted mixture, with scikit-learn's random
        numbers (the same random_state gives the same rows).

        Returns
        -------
        X : ndarray of shape (n_samples, n_features), float64
        y : ndarray of shape (n_samples,), int64
            The component of each row (rows are grouped by component).
        """
        check_is_fitted(self)
        if isinstance(n_samples, (bool, np.bool_)) or not _is_int(n_samples):
            raise TypeError(f"n_samples must be an integer, got {n_samples!r}")
        if n_samples < 1:
            raise ValueError(f"Invalid value for 'n_samples': {n_samples} . The sampling requires at least one "
                             "sample.")
        rng = check_random_state(self.random_state)
        weights = np.asarray(self.weights_, dtype=np.float64)
        counts = rng.multinomial(n_samples, weights / weights.sum())
        means, covs = self.means_, self.covariances_
        if self.covariance_type == "full":
            rows = [rng.multivariate_normal(m, c, int(n)) for m, c, n in zip(means, covs, counts)]
        elif self.covariance_type == "tied":
            rows = [rng.multivariate_normal(m, covs, int(n)) for m, n in zip(means, counts)]
        else:
            rows = [m + rng.standard_normal(size=(n, means.shape[1])) * np.sqrt(c) for m, c, n in
                    zip(means, covs, counts)]
        labels = np.concatenate([np.full(int(n), k, dtype=np.int64) for k, n in enumerate(counts)])
        return np.vstack(rows).astype(np.float64), labels

    # ------------------------------------------------------------------ conditioning

    def _feature_indices(self, features, func: str) -> np.ndarray:
        """features (indices, or names when the model has feature_names_in_) as unique int indices."""
        check_is_fitted(self)
        items = np.atleast_1d(np.asarray(features, dtype=object))
        if items.ndim != 1 or items.size == 0:
            raise ValueError(f"{type(self).__name__}.{func}(): features must be a non-empty list of feature "
                             f"indices or names, got {features!r}")
        names = getattr(self, "feature_names_in_", None)
        indices = []
        for item in items:
            if isinstance(item, str):
                if names is None or item not in names:
                    known = "the model has no feature names" if names is None else f"known: {list(names)}"
                    raise ValueError(f"{type(self).__name__}.{func}(): unknown feature {item!r} ({known})")
                indices.append(int(np.flatnonzero(names == item)[0]))
            elif _is_int(item) and -self.n_features_in_ <= item < self.n_features_in_:
                indices.append(int(item) % self.n_features_in_)
            else:
                raise ValueError(f"{type(self).__name__}.{func}(): features must be indices in "
                                 f"[0, {self.n_features_in_}) or feature names, got {item!r}")
        indices = np.array(indices, dtype=np.int64)
        if len(set(indices.tolist())) != len(indices):
            raise ValueError(f"{type(self).__name__}.{func}(): features must not repeat, got {features!r}")
        return indices

    def _derived(self, weights, means, dense_covariances, kept: np.ndarray) -> "GaussianMixture":
        """A fitted model over the features kept, from a core marginal or
        conditional (dense covariances, which have this model's structure)."""
        params = {**self.get_params(), "weights_init": None, "means_init": None, "precisions_init": None}
        model = type(self)(**params)
        mixture = Mixture(weights, means, model_covariances(self.covariance_type, dense_covariances),
                          self.covariance_type)
        model._set_fitted_from(mixture, self.means_.dtype)
        names = getattr(self, "feature_names_in_", None)
        if names is not None:
            model.feature_names_in_ = names[kept]
        return model

    def marginal(self, features):
        """The mixture of the marginal distribution of some features.

        Parameters
        ----------
        features : sequence of int or str
            Feature indices (or names, for a model fitted on a DataFrame), in
            the order the result's features take.

        Returns
        -------
        GaussianMixture
            Fitted over those features, with the same weights and covariance model.
        """
        dims = self._feature_indices(features, "marginal")
        mixture = self._scoring_mixture()
        weights, means, covs = _core.marginal(mixture.weights, mixture.means, mixture.dense_covariances(),
                                              dims.tolist())
        return self._derived(weights, means, covs, dims)

    def condition(self, features, values):
        """The mixture of the other features given that ``features`` took ``values``.

        Each component's mean and covariance become their Gaussian
        conditionals, and the weights the components' posterior
        probabilities given those values.

        Parameters
        ----------
        features : sequence of int or str
            The observed features (indices, or names for a model fitted on a DataFrame).
        values : array-like of shape (len(features),)
            Their values.

        Returns
        -------
        GaussianMixture
            Fitted over the remaining features, in their original order.
        """
        observed = self._feature_indices(features, "condition")
        func = f"{type(self).__name__}.condition"
        values = real_array(values, func, "values").reshape(-1)
        if values.shape != observed.shape:
            raise ValueError(f"{func}(): values must hold one value per feature ({len(observed)}), got "
                             f"{values.shape[0]}")
        if not np.isfinite(values).all():
            raise ValueError(f"{func}(): values must be finite; to leave a feature free, leave it out of features")
        kept = np.setdiff1d(np.arange(self.n_features_in_), observed)
        if kept.size == 0:
            raise ValueError(f"{func}(): conditioning on every feature leaves no distribution; leave at least one "
                             "feature out")
        mixture = self._scoring_mixture()
        weights, means, covs = _core.condition(mixture.weights, mixture.means, mixture.dense_covariances(),
                                               observed.tolist(), values)
        return self._derived(weights, means, covs, kept)

    def predict_missing(self, X, return_cov=False):
        """GMM regression: X with every NaN replaced by its conditional mean
        given the row's other values (a row's own missing pattern).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            NaN marks an unknown entry (infinities are refused); not modified.
        return_cov : bool, default=False
            Also return each row's conditional covariance of its unknowns.

        Returns
        -------
        filled : ndarray of shape (n_samples, n_features), float64
            A new array.
        cov : ndarray of shape (n_samples, n_features, n_features)
            Only with return_cov: row i's conditional covariance in the rows
            and columns of its NaNs, 0 elsewhere.
        """
        x = self._rows(X, "predict_missing", ensure_all_finite="allow-nan")
        filled = np.array(x, dtype=np.float64, order="C", copy=True)
        missing = np.isnan(filled)
        mixture = self._scoring_mixture()
        offsets, flat = _core.predict_missing(filled, mixture.weights, mixture.means, mixture.dense_covariances(),
                                              threads_for_core())
        if not return_cov:
            return filled
        return filled, _scatter_conditional_covariances(missing, offsets, flat)

    # ------------------------------------------------------------------ conversions

    def _set_fitted_from(self, mixture: Mixture, dtype=np.float64) -> None:
        """Fitted attributes of a mixture given, not fitted: as a fit with max_iter=0 leaves them."""
        self._set_fitted(mixture, dtype)
        self.n_features_in_ = mixture.n_features
        self.converged_, self.n_iter_, self.lower_bound_, self.lower_bounds_ = False, 0, -math.inf, []

    @classmethod
    def from_mixture(cls, mixture: Mixture, **params) -> "GaussianMixture":
        """A fitted estimator with the parameters of a :class:`gaussmix.Mixture`
        (n_components and covariance_type from it; other constructor params as given)."""
        if not isinstance(mixture, Mixture):
            raise TypeError(f"{cls.__name__}.from_mixture(): expected a gaussmix.Mixture, got "
                            f"{type(mixture).__name__}")
        for name, value in (("n_components", mixture.n_components), ("covariance_type", mixture.covariance_type)):
            if name in params and params[name] != value:
                raise ValueError(f"{cls.__name__}.from_mixture(): {name}={params[name]!r} disagrees with the "
                                 f"mixture's {value!r}")
        model = cls(**{**params, "n_components": mixture.n_components, "covariance_type": mixture.covariance_type})
        model._set_fitted_from(mixture)
        return model

    def to_mixture(self) -> Mixture:
        """The fitted model as a :class:`gaussmix.Mixture` (float64), e.g. to
        start :func:`gaussmix.fit_em` or the statistics API from it."""
        check_is_fitted(self)
        return self._scoring_mixture()

    @classmethod
    def from_pypr(cls, centroids, ccov, mc=None, **params) -> "GaussianMixture":
        """A fitted full-covariance estimator from the PyPR face's lists,
        e.g. ``GaussianMixture.from_pypr(*gmm.em(X, K)[:3])``.

        Parameters
        ----------
        centroids : list of K arrays of shape (D,)
        ccov : list of K arrays of shape (D, D)
        mc : array-like of shape (K,), optional
            Mixing coefficients (default: equal).
        **params
            Other constructor parameters (random_state for :meth:`sample`, ...).
        """
        weights, means, covs = mixture_params(centroids, ccov, mc, f"{cls.__name__}.from_pypr")
        return cls.from_mixture(Mixture(weights, means, covs, "full"), **params)

    def to_pypr(self):
        """The fitted model as the PyPR face's ``(centroids, ccov, mc)``: lists
        of K means (D,) and K covariance matrices (D, D) (every model written
        out as full matrices), and the weights (K,); float64, new arrays.
        ``gaussmix.gmm.gmm_pdf(X, *model.to_pypr())`` is ``exp(score_samples(X))``."""
        mixture = self.to_mixture()
        return list(mixture.means.copy()), list(mixture.dense_covariances()), mixture.weights.copy()

    # ------------------------------------------------------------------ model files

    def save(self, path) -> None:
        """Write the fitted model to a model file (a versioned ``.npz`` of plain
        arrays, no pickle; see gaussmix/_model_file.py), which
        :meth:`load` and the ``gaussmix`` command line read back
        bit-identically.

        Parameters
        ----------
        path : str or path-like
            The file to write, exactly that name.
        """
        _model_file.save(self, path)

    @classmethod
    def load(cls, path) -> "GaussianMixture":
        """The model in a model file written by :meth:`save` or ``gaussmix fit``.

        Raises
        ------
        ValueError
            "<path> is not a valid gaussmix model file: <why>" for any defect
            of the file (a model file is untrusted input: every member is
            checked before it is used), or if it has a newer format than
            this gaussmix reads.
        FileNotFoundError, PermissionError
            If the file does not exist or cannot be read.
        """
        return _model_file.load(cls, path)

    # ------------------------------------------------------------------ verbose output (scikit-learn's)

    def _print_init_begin(self, init: int) -> None:
        if self.verbose >= 1:
            print(f"Initialization {init}")
        if self.verbose >= 2:
            self._init_prev_time = self._iter_prev_time = time.time()

    def _iteration_printer(self, weight_total: float, previous: float):
        state = {"previous": previous if math.isfinite(previous) else -math.inf}

        def print_iteration(weights, means, covariances, iteration, log_likelihood):
            n_iter = iteration + 1
            lower_bound = log_likelihood / weight_total
            change, state["previous"] = lower_bound - state["previous"], lower_bound
            if n_iter % self.verbose_interval != 0:
                return
            if self.verbose == 1:
                print(f"  Iteration {n_iter}")
            else:
                now = time.time()
                print(f"  Iteration {n_iter}\t time lapse {now - self._iter_prev_time:.5f}s\t ll change {change:.5f}")
                self._iter_prev_time = now

        return print_iteration

    def _print_init_end(self, lower_bound: float, converged: bool) -> None:
        status = "converged" if converged else "did not converge"
        if self.verbose == 1:
            print(f"Initialization {status}.")
        elif self.verbose >= 2:
            print(f"Initialization {status}. time lapse {time.time() - self._init_prev_time:.5f}s\t lower bound "
                  f"{lower_bound:.5f}.")


def _log_sum_exp(log_prob: np.ndarray) -> np.ndarray:
    return logsumexp(log_prob, axis=1)


def _softmax(log_prob: np.ndarray) -> np.ndarray:
    return softmax(log_prob, axis=1)


def _by_rows(x: np.ndarray, mixture: Mixture, complete, of_log_prob) -> np.ndarray:
    """complete(x) for x without NaN; else complete() of its complete rows
    and of_log_prob() of the component log-weights of its rows with NaN,
    scored on their observed coordinates, put together in x's row order."""
    if not np.isnan(x).any():
        return complete(x)
    is_complete, rows, log_prob = _missing.incomplete_log_prob(x, mixture)
    done = complete(np.ascontiguousarray(x[is_complete]))
    out = np.empty((len(x),) + done.shape[1:], dtype=done.dtype)
    out[is_complete] = done
    out[rows] = of_log_prob(log_prob)
    return out


def _scatter_conditional_covariances(missing: np.ndarray, offsets: np.ndarray, flat: np.ndarray) -> np.ndarray:
    """(N, D, D) zeros with row i's conditional covariance (flat[offsets[i]:
    offsets[i+1]], m_i x m_i over its missing columns in order) in the rows and
    columns of its NaNs; vectorised over all entries."""
    n, d = missing.shape
    out = np.zeros((n, d, d))
    counts = missing.sum(axis=1)
    sizes = counts**2
    row = np.repeat(np.arange(n), sizes)
    position = np.arange(flat.size) - np.repeat(offsets[:-1], sizes)
    m = np.repeat(counts, sizes)
    first_missing = np.concatenate(([0], np.cumsum(counts)[:-1]))  # where row i's columns start in missing_cols
    missing_cols = np.nonzero(missing)[1]
    start = np.repeat(first_missing, sizes)
    out[row, missing_cols[start + position // np.maximum(m, 1)], missing_cols[start + position % np.maximum(m, 1)]] = flat
    return out
