"""The start of every initialisation of a fit: scikit-learn's starts, from the
same random numbers.

A :class:`StartProvider` gives the start of each initialisation: the rows'
initial assignment of ``init_params`` (k-means labels, k-means++ seeds, K
random rows, or random responsibilities, drawn from ``random_state`` as
scikit-learn draws them), the M-step of that assignment (scikit-learn's
initial parameters), and the user's ``weights_init``, ``means_init`` and
``precisions_init`` in place of what they give. The rows come from the
fit's data source (gaussmix/_engine.py): all of them in memory, the
mean-filled rows for data with NaN, a uniform sample of a Dask array.

A :class:`StartCache` lets several fits of the same data share the drawn
assignments: :func:`gaussmix.select_model` gives one to the fits of every
covariance model of one K, so k-means runs once per K and initialisation.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from . import _core
from ._config import threads_for_core
from ._covariance import covariance_model
from ._engine import resp_offset, warn_at_caller
from ._params import Inits, is_int
from ._validation import fit_data


class StartCache:
    """The initial assignments of the rows (k-means labels, chosen rows or
    random responsibilities) of each initialisation, drawn by the first fit
    that needs one and reused by later fits.

    Pass the same cache to fits of the same X that share ``n_components``,
    ``init_params``, ``n_init`` and an int ``random_state`` and differ in
    anything else (``covariance_type``, ``tol``, ...), as
    ``GaussianMixture(...).fit(X, starts=cache)``: the later fits take the
    assignments instead of drawing them again, and each fit is the fit it
    would be without the cache (an assignment depends only on X, K,
    init_params and the seed). A fit whose K, init_params, seed or data
    shape differ from the first one's raises ValueError.
    """

    def __init__(self):
        self._key = None
        self._assignments: dict = {}
        self._means: dict = {}

    def _assignment(self, key: tuple, init: int, draw):
        """The assignment of initialisation init, drawn by draw() if not held yet."""
        if self._key is None:
            self._key = key
        elif key != self._key:
            raise ValueError(f"StartCache: this cache holds the starts of fits with (n_samples, n_features, "
                             f"n_components, init_params, random_state) = {self._key}, not {key}; give each "
                             "data set, K, init_params and seed its own StartCache")
        if init not in self._assignments:
            self._assignments[init] = draw()
        return self._assignments[init]

    def _first_means(self, init: int, offset: float, compute):
        """(weights, means) of initialisation init's assignment, computed by
        compute() if not held yet: the M-step's means come from statistics of
        the rows alone, the same for every covariance model (copies: each fit
        owns its start)."""
        key = (init, offset)
        if key not in self._means:
            self._means[key] = compute()
        weights, means = self._means[key]
        return weights.copy(), means.copy()

    def __repr__(self):
        return f"StartCache({len(self._assignments)} initialisations held)"


class Start(NamedTuple):
    """A start: the M-step's parameters of an initialisation's
    responsibilities (arrays, in scikit-learn's shapes; a covariance need not
    be positive definite yet: the maximum-likelihood rule factorises it, the
    variational one adds its prior's scale first), and the responsibility
    they were taken with (sum_ik w_i r_ik: the rows' weight, or for a start
    from K chosen rows theirs alone), which a rule that counts rows needs
    besides the weights."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    covariance_type: str
    mass: float


class StartProvider:
    """The start of each initialisation of one fit (see the module)."""

    def __init__(self, *, n_components: int, covariance_type: str, init_params: str, reg_covar: float,
                 inits: Inits, random_state, seed, func: str, cache: StartCache | None = None, resp=None):
        if cache is not None and not isinstance(cache, StartCache):
            raise TypeError(f"{func}(): starts must be a gaussmix.StartCache, got {type(cache).__name__}")
        if cache is not None and not is_int(seed):
            raise ValueError(f"{func}(): starts (a StartCache) needs an int random_state, got {seed!r}: with a "
                             "RandomState or None the fits' draws could not be shared")
        self.n_components, self.covariance_type = n_components, covariance_type
        self.init_params, self.reg_covar, self.inits = init_params, reg_covar, inits
        self.random_state, self.seed, self.func, self.cache = random_state, seed, func, cache
        self.resp = resp  # given responsibilities (resp_init), checked against the rows by start()

    @property
    def given_in_full(self) -> bool:
        """The user gave every initial parameter: no rows are needed."""
        return not any(v is None for v in self.inits)

    def start(self, init: int, source) -> Start:
        """The start of initialisation init, from source's start rows (see Start)."""
        inits = self.inits
        if self.given_in_full:
            return Start(*inits, self.covariance_type, source.weight_total)
        x, w, stats = source.start_rows(self.n_components, self.random_state)
        xk = fit_data(x, self.func, stats=stats)
        if self.resp is not None:
            resp, labels = self._given_responsibilities(source, len(xk)), None
        else:
            resp, labels = self._assignment(init, xk, w, stats.var)
        total = float(len(xk) if w is None else w.sum())
        # The offset is the data's precision's, also when the kernels need float64 (as scikit-learn's on the same data).
        weights, means, covariances = self._from_assignment(xk, w, resp, labels, resp_offset(x.dtype, total, len(x)),
                                                            init)
        assigned = labels >= 0 if labels is not None else None
        mass = total if assigned is None or assigned.all() else float(
            np.count_nonzero(assigned) if w is None else w[assigned].sum())
        return Start(weights if inits.weights is None else inits.weights,
                     means if inits.means is None else inits.means,
                     covariances if inits.covariances is None else inits.covariances, self.covariance_type, mass)

    def _given_responsibilities(self, source, n_rows: int) -> np.ndarray:
        """resp_init, checked: (N, K) for the N rows of the fit, finite, >= 0, rows summing to 1."""
        resp = np.asarray(self.resp)
        if resp.dtype == object or not (np.issubdtype(resp.dtype, np.floating) or np.issubdtype(resp.dtype, np.integer)):
            raise TypeError(f"{self.func}(): resp_init must hold real numbers, got dtype {resp.dtype}")
        if source.n_samples != n_rows:
            raise ValueError(f"{self.func}(): resp_init needs the rows in memory (the start of a Dask array or chunk "
                             "source is drawn from a sample of its rows); fit an array")
        shape = (n_rows, self.n_components)
        if resp.shape != shape:
            raise ValueError(f"{self.func}(): resp_init must have shape {shape} (a row of responsibilities per row "
                             f"of X, one per component), got {resp.shape}")
        resp = np.ascontiguousarray(resp, dtype=np.float64)
        if not np.isfinite(resp).all() or resp.min() < 0:
            raise ValueError(f"{self.func}(): resp_init must be finite and >= 0")
        sums = resp.sum(axis=1)
        bad = np.flatnonzero(np.abs(sums - 1.0) > 1e-6)
        if bad.size:
            raise ValueError(f"{self.func}(): every row of resp_init must sum to 1; row {bad[0]} sums to "
                             f"{sums[bad[0]]:.10g} (divide each row by its sum)")
        return resp

    def _assignment(self, init: int, xk: np.ndarray, w, column_variances: np.ndarray):
        if self.cache is None:
            return self._draw(xk, w, column_variances)
        key = (*xk.shape, self.n_components, self.init_params, int(self.seed))
        return self.cache._assignment(key, init, lambda: self._draw(xk, w, column_variances))

    def _draw(self, xk: np.ndarray, w, column_variances: np.ndarray):
        """(resp, labels) of init_params, one of them None: the initial
        responsibilities (dense) or hard labels, drawn from random_state
        (column_variances: the rows', from their ColumnStats, for k-means' tolerance)."""
        K, random_state = self.n_components, self.random_state
        if self.init_params == "kmeans":
            labels = _kmeans_labels(xk, w, K, random_state, column_variances)
            _warn_if_fewer_clusters(labels, K)
            return None, labels
        if self.init_params == "k-means++":
            return None, _one_hot_labels(len(xk), _kmeans_plus_plus(xk, w, K, random_state)[1])
        if self.init_params == "random_from_data":
            return None, _one_hot_labels(len(xk), random_state.choice(len(xk), size=K, replace=False))
        resp = random_state.uniform(size=(len(xk), K))
        resp /= resp.sum(axis=1)[:, np.newaxis]
        return resp, None

    def _from_assignment(self, x, w, resp, labels, offset: float, init: int):
        """The M-step of given responsibilities (dense resp or labels): the
        means from statistics around the first row (shared through the
        cache by the fits of every covariance model), then, when needed, the
        covariances from statistics around those means (exact for components
        far from the first row)."""
        threads = threads_for_core()

        def stats(covariance_type, shifts):
            if labels is not None:
                return _core.label_stats(x, labels, covariance_type, shifts, w, threads)
            return _core.responsibility_stats(x, resp, covariance_type, shifts, w, threads)

        def first_means():
            first_row = np.repeat(x[:1].astype(np.float64), self.n_components, axis=0)
            return _core.m_step_means(stats("spherical", first_row), offset)

        weights, means = first_means() if self.cache is None else self.cache._first_means(init, offset, first_means)
        if self.inits.covariances is not None:
            return weights, means, None
        second = stats(self.covariance_type, means)
        if covariance_model(self.covariance_type).shared and labels is not None:
            second = _with_scikit_learn_tied_scatter(second, x, w, labels)
        return _core.m_step_parameters(second, self.reg_covar, offset)


def _kmeans_labels(x: np.ndarray, sample_weight, n_components: int, random_state,
                   column_variances: np.ndarray) -> np.ndarray:
    """scikit-learn's ``KMeans(n_clusters=K, n_init=1, random_state=rs).fit(X).labels_``:
    greedy k-means++ on the same random numbers, Lloyd's iterations until the
    labels stop changing or the centres move by at most 1e-4 x the mean
    column variance (summed squares), at most 300, empty clusters moved to
    the farthest rows; labels of the final centres. column_variances: x's
    (unweighted, as scikit-learn's tolerance), from the column pass the
    start's checks already took, not another pass."""
    threads = threads_for_core()
    _, indices = _kmeans_plus_plus(x, sample_weight, n_components, random_state)
    tol = 1e-4 * float(column_variances.mean())
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
    distinct = int(np.count_nonzero(np.bincount(labels, minlength=n_components)))  # labels in 0..K-1; np.unique sorts
    if distinct < n_components:
        warn_at_caller(f"Number of distinct clusters ({distinct}) found smaller than n_clusters ({n_components}). "
                       "Possibly due to duplicate points in X.", ConvergenceWarning)


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


def _with_scikit_learn_tied_scatter(stats: _core.SufficientStats, x: np.ndarray, w,
                                    labels: np.ndarray) -> _core.SufficientStats:
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
    return _core.SufficientStats(
        covariance_type=stats.covariance_type, shift=stats.shift, resp_sum=stats.resp_sum, first=stats.first,
        second=stats.second + free_stats.second, log_likelihood=stats.log_likelihood, weight_sum=stats.weight_sum,
        n_rows=stats.n_rows, mixture_fingerprint=stats.mixture_fingerprint, latent_entropy=stats.latent_entropy)
