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
validation, so it needs scikit-learn (>= 1.7); ``import gaussmix`` and the
PyPR face do not.

Every EM iteration, scoring call and k-means step runs in the core (the
statistics of one pass over the data, no N x K temporaries during a fit),
on :func:`gaussmix.set_num_threads` threads, or, when that is not set, as
many as OpenMP allows: ``OMP_NUM_THREADS`` and threadpoolctl's
``threadpool_limits`` apply.

The class is the public surface: parameters, validation, the public
methods. A fit is the engine's loop (gaussmix/_engine.py) over a data
source (in memory, with NaN, a Dask array) and the maximum-likelihood
update rule, from gaussmix/_starts.py's starts; the fitted state is set by
gaussmix/_fitted.py; per-covariance-model knowledge is in
gaussmix/_covariance.py.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp, softmax
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _chunks, _core, _dask, _engine, _missing, _model_file
from ._conditioning import ConditioningMixin
from ._config import threads_for_core
from ._covariance import covariance_model
from ._engine import covariances_must_be_defined, resp_offset, warn_at_caller
from ._events import FitEvents, FitProgress
from ._fitted import GIVEN, History, NonFiniteFit, scoring_mixture, set_fitted
from ._mixture import Mixture
from ._params import INIT_PARAMS, InvalidParameterError, check_inits, check_params, is_int
from ._starts import StartCache, StartProvider
from ._validation import (column_stats, data_matrix, infinity_error, kernel_data, mixture_params,
                          sample_weight_vector)

__all__ = ["GaussianMixture", "FitProgress", "InvalidParameterError", "NonFiniteFit", "StartCache", "INIT_PARAMS"]

NOT_CONVERGED = ("Best performing initialization did not converge. Try different init parameters, or increase "
                 "max_iter, tol, or check for degenerate data.")


class MixtureEstimator(DensityMixin, BaseEstimator):
    """What GaussianMixture and BayesianGaussianMixture share: fit and
    fit_predict over the engine (the data sources, the starts, the loop),
    scoring (rows with NaN, Dask arrays, float32), sample, and model files
    (save, load; gaussmix/_model_file.py). An estimator
    gives the hooks: _check_params, _inits (initial parameters the user
    gave), _update_rule, _warm_start (the parameters and lower bound to
    continue from), _set_fitted, _scoring_mixture (the mixture whose
    E-step scores rows), _log_density_offset (what score_samples adds
    to its log-densities), _missing_value_penalty (the penalty the
    statistics of rows with NaN carry), and for partial_fit _stepwise_rule
    (gaussmix/_stepwise.py's rule), _stepwise_parameters (the fitted
    parameters, to continue from) and _set_stepwise."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # NaN is a missing value (EM on the observed entries)
        return tags

    def _log_density_offset(self) -> float:
        return 0.0

    def _missing_value_penalty(self) -> float:
        """The penalty on observed entries that the statistics of rows with
        NaN carry (gaussmix/_missing.py): reg_covar, the maximum-likelihood
        rule's regulariser."""
        return float(self.reg_covar)

    # ------------------------------------------------------------------ fitting

    def fit(self, X, y=None, sample_weight=None, *, progress=None, starts=None):
        """Estimate the parameters with EM, ``n_init`` times, keeping the best.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), Dask array, or chunk source
            float64 or float32 (kept: float32 data gives a float32 model).
            NaN marks a missing value: EM on the observed entries. A Dask
            array is fitted where its chunks live. A *chunk source* is a
            callable that returns a fresh iterator of row blocks (arrays, or
            ``(rows, sample_weight)`` pairs) each time it is called, e.g.
            ``lambda: (np.load(f) for f in files)`` or
            :func:`gaussmix.npy_chunks`: exact EM reading it once per
            iteration, holding one chunk at a time (rows without NaN; the
            start from a sample of the rows, as for Dask).
        y : ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Finite, >= 0, positive sum; an integer weight counts a row that
            many times, a weight of 0 removes it. (A chunk source gives its
            weights in its chunks.)
        progress : callable, optional
            Called after every EM iteration with a :class:`FitProgress`
            (initialisation, iteration, lower bound, its change, seconds so
            far), e.g. to drive a tqdm bar::

                with tqdm(total=gm.max_iter * gm.n_init) as bar:
                    gm.fit(X, progress=lambda p: bar.update(1))

        starts : gaussmix.StartCache, optional
            Initial assignments shared with other fits of the same X, K,
            init_params and int random_state (see :class:`StartCache`;
            :func:`gaussmix.select_model` uses one per K).

        Returns
        -------
        self
        """
        self._fit(X, sample_weight, progress=progress, starts=starts)
        return self

    def fit_predict(self, X, y=None, sample_weight=None, *, progress=None, starts=None):
        """:meth:`fit`, then the labels of X under the fitted model (what
        ``fit(X).predict(X)`` gives).

        Returns
        -------
        labels : ndarray of shape (n_samples,), int64
        """
        source = self._fit(X, sample_weight, progress=progress, starts=starts)
        if isinstance(source, _dask.DaskData):
            return self.predict(source.data)
        mixture = self._scoring_mixture()
        if isinstance(source, _chunks.ChunkData):  # one more pass
            return source.labels(lambda rows: self._labels(rows, mixture))
        return self._labels(source.data, mixture)

    def _fit(self, X, sample_weight, progress=None, starts=None):
        """The fit: the engine's loop over X's data source with the
        estimator's update rule; returns the source (for fit_predict's
        labels)."""
        self._check_params()
        func = f"{type(self).__name__}.fit"
        max_iter = int(self.max_iter)
        events = FitEvents(self.verbose, self.verbose_interval, progress, self.n_init, max_iter)
        warm = self.warm_start and hasattr(self, "converged_")
        source = self._data_source(X, sample_weight, func, warm)
        provider = self._start_provider(source, func, starts)
        rule = self._update_rule(source, resp_offset(source.dtype, source.weight_total, source.n_samples))
        settings = _engine.Settings(self.n_init, max_iter, float(self.tol))
        with covariances_must_be_defined(source.dtype):
            best = _engine.fit(source, rule, provider, settings, events, self._warm_start() if warm else None)
        if not best.converged and max_iter > 0:
            warn_at_caller(NOT_CONVERGED, ConvergenceWarning)
        self._set_fitted(best, source, rule)
        return source

    def _start_provider(self, source, func: str, cache=None) -> StartProvider:
        """The starts of a fit of source (gaussmix/_starts.py): init_params or
        the given initial parameters, from random_state."""
        return StartProvider(n_components=self.n_components,
                             covariance_type=covariance_model(self.covariance_type).kernel,
                             init_params=self.init_params, reg_covar=float(self.reg_covar),
                             inits=self._inits(source.n_features), random_state=check_random_state(self.random_state),
                             seed=self.random_state, func=func, cache=cache,
                             resp=getattr(self, "resp_init", None))

    def _data_source(self, X, sample_weight, func: str, warm: bool, batch: bool = False, checked: bool = True):
        """X's data source, X and sample_weight checked as scikit-learn checks
        them: a Dask array's chunks (gaussmix/_dask.py), a chunk source
        (gaussmix/_chunks.py), rows with NaN (gaussmix/_missing.py), or rows
        in memory. batch: a later batch of partial_fit, which may hold fewer
        rows than components (one, even); with checked False, its float64
        values are checked by the statistics pass (_engine.InMemory), not by
        a pass of their own."""
        if _dask.is_dask_array(X):
            return _dask.fit_source(self, X, sample_weight, func, warm)
        _chunks.refuse_iterator(X, func)
        if _chunks.is_chunk_source(X):
            return _chunks.fit_source(self, X, sample_weight, func, warm)
        if (batch and type(X) is np.ndarray and X.ndim == 2 and X.dtype in (np.float64, np.float32)
                and X.shape[0] >= 1 and not hasattr(self, "feature_names_in_")):
            # A later batch as a plain array: what validate_data would check of it is its width (its
            # feature-name checks cost a fifth of a 100-row call).
            if X.shape[1] != self.n_features_in_:
                raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                                 f"{self.n_features_in_} features as input.")
        else:
            # The values are checked from the core's one pass below (scikit-learn's own check is another pass).
            X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=1 if batch else 2,
                              ensure_all_finite=False, reset=not batch)
        x = data_matrix(X, func, check_finite=False)
        if batch and not checked and x.dtype == np.float64:
            return _engine.InMemory(x, sample_weight_vector(sample_weight, len(x), func), func, None)
        stats = column_stats(x)  # infinity, NaN, and every start's and run's data checks: one pass over X
        if stats.has_inf.any():
            raise infinity_error(x.dtype)
        n_samples = len(x)
        if n_samples < self.n_components and not batch:
            raise ValueError(f"Expected n_samples >= n_components but got n_components = {self.n_components}, "
                             f"n_samples = {n_samples}")
        w = sample_weight_vector(sample_weight, n_samples, func)
        if stats.nan_count.any():
            return _missing.MissingData(x, w, func, self._missing_value_penalty())
        return _engine.InMemory(x, w, func, stats)

    # ------------------------------------------------------------------ stepwise EM

    def partial_fit(self, X, y=None, sample_weight=None):
        """One step on a batch of rows: stepwise EM (GaussianMixture) or
        stochastic variational inference (BayesianGaussianMixture);
        gaussmix's, scikit-learn's mixtures have no partial_fit.

        The batch's E-step statistics under the current parameters, averaged
        per unit of sample weight, are blended into running statistics,
        ``s <- (1 - eta_t) s + eta_t s_batch``, and the parameters become
        those of the running statistics (the M-step, with reg_covar; for a
        variational posterior, the conjugate update of the running
        statistics standing for every row seen), with

            eta_t = (t + step_size_offset) ** -step_size_power,

        t the number of batches blended before this one (t counts batches,
        not rows: a batch's rows weigh by their sample_weight inside it). The
        first call starts the model from the batch (init_params, or the
        given initial parameters; its first initialisation, whatever n_init)
        and takes one step on it (eta_0 = 1). Called on a model fitted by
        :meth:`fit`, it continues from the fitted parameters, which count as
        the batches of this batch's size that the fit's rows make (so that
        one batch does not undo a fit on many rows). Cappe and Moulines
        (2009), Liang and Klein (2009), Nguyen, Forbes and McLachlan (2020);
        Hoffman, Blei, Wang and Paisley (2013) for the variational posterior:
        with step_size_power in (0.5, 1], the stepwise updates approach the
        batch fit's optimum within a few passes over the data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One batch: float64 or float32, NaN as missing values; any number
            of rows after the first batch (which needs n_components).
        y : ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self

        After the call: ``n_iter_`` is the number of batches blended (since
        the last fit), ``lower_bound_`` the batch's mean log-likelihood
        (log-density, for a variational posterior: what ``score`` gives it)
        under the parameters before the step (``lower_bounds_``: every
        batch's), ``converged_`` False (there is no stopping rule),
        ``n_samples_seen_`` the rows seen, a fit's included.
        """
        self._check_params()
        func = f"{type(self).__name__}.partial_fit"
        if _dask.is_dask_array(X):
            raise TypeError(f"{func}(): takes batches in memory (NumPy arrays); fit a Dask array with fit, or pass "
                            "its chunks one at a time (chunk.compute())")
        if _chunks.is_chunk_source(X):
            raise TypeError(f"{func}(): takes one batch of rows as an array; fit a chunk source with fit, or pass "
                            "its chunks one at a time")
        started = hasattr(self, "converged_")
        source = self._data_source(X, sample_weight, func, warm=started, batch=started, checked=False)
        rule = self._stepwise_rule(source, resp_offset(source.dtype, source.weight_total, source.n_samples), started)
        running, steps = getattr(self, "_running", None), getattr(self, "_steps", 0)
        with covariances_must_be_defined(source.dtype):
            if not started:
                parameters = rule.initial(self._start_provider(source, func).start(0, source))
                history, seen, weight_seen, steps = [], 0, 0.0, 0
            else:
                parameters = self._stepwise_parameters()
                seen, weight_seen = self._rows_seen()
                if running is None:  # continuing a fit (or a loaded model): its parameters, as batches of this size
                    running, history, steps = rule.running_of(parameters), [], max(1, seen // source.n_samples)
                else:
                    history = list(self.lower_bounds_)
            try:
                stats = rule.statistics(source, parameters)
            except _core.NonFiniteData:
                stats = None
            if stats is None or not math.isfinite(stats.log_likelihood):
                # NaN (missing values), infinity, or values whose squares overflow: the checked route, which
                # fits NaN by EM on the observed entries and refuses the others with their messages.
                source = self._data_source(X, sample_weight, func, warm=started, batch=started)
                stats = rule.statistics(source, parameters)
            batch = rule.averages(stats)
            running = batch if running is None else rule.blend(running, batch, rule.step_size(steps))
            weight_seen += source.weight_total
            updated = rule.parameters(running, weight_seen)
        lower_bound = rule.batch_bound(stats, parameters)
        history.append(lower_bound)
        self._set_stepwise(updated, rule, source, History(False, len(history), lower_bound, history))
        self._running, self._steps = running, steps + 1
        self.n_samples_seen_, self._weight_seen = seen + source.n_samples, weight_seen
        return self

    def _rows_seen(self) -> tuple:
        """(rows, their weight) that a fitted model's parameters stand for: a
        fit's or the batches', or for a model without that record (a model
        file's), none."""
        seen = getattr(self, "n_samples_seen_", 0)
        return seen, getattr(self, "_weight_seen", float(seen))

    # ------------------------------------------------------------------ fitted state and scoring

    def _fitted_rows(self, source) -> None:
        """A fit's record of its rows, which partial_fit continues from."""
        self.n_samples_seen_, self._weight_seen = source.n_samples, float(source.weight_total)
        self._running = None  # partial_fit continues from the fitted parameters

    def _rows(self, X, func: str, **validate) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, **validate)
        return data_matrix(X, f"{type(self).__name__}.{func}", check_finite=False)

    def _scored_rows(self, X, func: str) -> np.ndarray:
        """X for a scoring call, its values unchecked: the core's scoring pass
        checks them as it reads them (_missing.by_rows), not two passes before
        it (scikit-learn's check for infinity, then one for NaN)."""
        return self._rows(X, func, ensure_all_finite=False)

    def _score(self, core_function, X, func: str, of_log_prob) -> np.ndarray:
        """A core scoring function's result for X, in float32 when X and the
        model are float32 (as scikit-learn's), else float64; of_log_prob:
        the same result from rows' component log-weights (for rows with NaN)."""
        x = self._scored_rows(X, func)
        mixture = self._scoring_mixture()
        float32_output = bool(x.dtype == np.float32 and self.means_.dtype == np.float32)
        return _missing.by_rows(x, mixture, self._on_complete_rows(core_function, mixture, float32_output), of_log_prob)

    def _on_complete_rows(self, core_function, mixture: Mixture, *extra):
        """core_function(mixture's factorisation, rows, threads, *extra) (a
        method of _core.FactorisedMixture) as a function of rows without NaN
        (in the kernels' precision for them)."""
        def complete(rows):
            rows = kernel_data(rows, means=mixture.means, variances=mixture.variances())
            return core_function(mixture.factorised, rows, threads_for_core(), *extra)

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
        log_prob = self._score(_core.FactorisedMixture.log_density, X, "score_samples", _log_sum_exp)
        offset = self._log_density_offset()
        return log_prob if offset == 0.0 else log_prob + offset

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
        return self._labels(self._scored_rows(X, "predict"), self._scoring_mixture())

    def _labels(self, x: np.ndarray, mixture: Mixture) -> np.ndarray:
        """Each row's most probable component under mixture."""
        return _missing.by_rows(x, mixture, self._on_complete_rows(_core.FactorisedMixture.assign_to_component, mixture),
                        lambda log_prob: log_prob.argmax(axis=1))

    def predict_proba(self, X):
        """Posterior probability p(k | x) of each component for each row.

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
        """
        if _dask.is_dask_array(X):
            return self._map_dask(X, "predict_proba", self.n_components)
        return self._score(_core.FactorisedMixture.responsibilities, X, "predict_proba", _softmax)

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
        if isinstance(n_samples, (bool, np.bool_)) or not is_int(n_samples):
            raise TypeError(f"n_samples must be an integer, got {n_samples!r}")
        if n_samples < 1:
            raise ValueError(f"Invalid value for 'n_samples': {n_samples} . The sampling requires at least one "
                             "sample.")
        rng = check_random_state(self.random_state)
        weights = np.asarray(self.weights_, dtype=np.float64)
        counts = rng.multinomial(n_samples, weights / weights.sum())
        rows = covariance_model(self.covariance_type).sample(rng, self.means_, self.covariances_, counts)
        labels = np.concatenate([np.full(int(n), k, dtype=np.int64) for k, n in enumerate(counts)])
        return np.vstack(rows).astype(np.float64), labels

    # ------------------------------------------------------------------ model files

    def save(self, path) -> None:
        """Write the fitted model to a model file (a versioned ``.npz`` of plain
        arrays, no pickle; see gaussmix/_model_file.py), which :meth:`load`
        and the ``gaussmix`` command line read back bit-identically: a
        GaussianMixture's mixture, a BayesianGaussianMixture's posterior
        and priors, the parameters and the fit's history.

        Parameters
        ----------
        path : str or path-like
            The file to write, exactly that name (an existing file is
            replaced only once the new one is complete).

        Raises
        ------
        ValueError
            If the model's attributes would make a file that :meth:`load`
            refuses (attributes set by hand that disagree, parameters that
            disagree with the fit).
        """
        _model_file.save(self, path)

    @classmethod
    def load(cls, path):
        """The model in a model file written by :meth:`save` or ``gaussmix fit``,
        as an instance of the class this is called on:
        ``GaussianMixture.load`` reads a GaussianMixture's file,
        ``BayesianGaussianMixture.load`` a BayesianGaussianMixture's, and
        ``MixtureEstimator.load`` either.

        Parameters
        ----------
        path : str or path-like

        Returns
        -------
        An instance of cls, fitted: its attributes, scores and samples are
        bit-identical to those of the model that was saved.

        Raises
        ------
        ValueError
            "<path> is not a valid gaussmix model file: <why>" for any defect
            of the file (a model file is untrusted input: every member is
            checked before it is used); a file of a newer format than this
            gaussmix reads; a file of another class (the message names the
            class whose load reads it).
        FileNotFoundError, PermissionError
            If the file does not exist or cannot be read.
        """
        return _model_file.load(cls, path)


class GaussianMixture(ConditioningMixin, MixtureEstimator):
    """Gaussian mixture model fitted by EM: scikit-learn's estimator, on gaussmix's core.

    The parameters, their defaults and meaning are those of
    ``sklearn.mixture.GaussianMixture`` (scikit-learn 1.9); see its
    documentation for the full text.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components K.
    covariance_type : {'full', 'tied', 'diag', 'spherical'} or one of mclust's fourteen, default='full'
        'full': each component its own covariance; 'tied': one shared;
        'diag': each its own diagonal; 'spherical': each its own variance.
        gaussmix's: mclust's models by name (Celeux and Govaert 1995),
        each covariance lambda_k D_k A_k D_k^T with its volume, shape and
        orientation Equal across components, Variable, or the Identity:
        'EII', 'VII', 'EEI', 'VEI', 'EVI', 'VVI', 'EEE', 'VEE', 'EVE',
        'VVE', 'EEV', 'VEV', 'EVV', 'VVV' ('spherical' is VII, 'diag' VVI,
        'tied' EEE, 'full' VVV). Their M-steps are mclust's
        (gaussmix/_mclust.py; the same fits as R's mclust 6 from the same
        start), covariances_ is (K, D, D) for the models with orientations,
        (K, D) for the axis-aligned ones and (K,) for EII and VII, and bic,
        aic count parameters as mclust does. Given initial parameters are
        first taken to the model's form (its M-step of the statistics they
        stand for).
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
    prior : None, 'mclust' or dict, default=None
        gaussmix's: mclust's conjugate prior (Fraley and Raftery 2007):
        'mclust' is priorControl()'s defaults (shrinkage 0.01, the data's
        mean, n_features + 2 degrees of freedom, the data's covariance
        divided by n_components^(2 / n_features) as scale: its mean variance
        for the models without orientations); a dict replaces some of
        'shrinkage', 'mean', 'dof', 'scale'. The M-step is then mclust's
        maximum a posteriori one (gaussmix/_mclust.py's MapMStep), for the
        models mclust has it for (EII, VII, EEI, VEI, EVI, VVI, EEE, EEV,
        VEV, VVV; 'spherical', 'diag', 'tied', 'full' as VII, VVI, EEE, VVV).
        lower_bound_ and score stay log-likelihoods, and bic is mclust's
        (the log-likelihood at the posterior mode).
    resp_init : array-like of shape (n_samples, n_components), default=None
        gaussmix's: initial responsibilities (rows of non-negative numbers
        summing to 1, one row per row of X), as mclust's
        me(modelName, data, z) takes them: the first parameters are their
        M-step, under the covariance model, instead of init_params'. Needs
        the rows in memory (not a Dask array or chunk source).
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation and :meth:`sample`; an int gives the same
        initialisation as scikit-learn's with that int.
    warm_start : bool, default=False
        Continue from the last fit's parameters (one initialisation).
    verbose : int, default=0
        1: print initialisations and iterations; 2: also times and changes.
    verbose_interval : int, default=10
        Iterations between prints.
    step_size_power, step_size_offset : float, default=0.6 and 2.0
        gaussmix's: :meth:`partial_fit`'s step sizes, eta_t = (t +
        step_size_offset) ** -step_size_power, with step_size_power in
        (0.5, 1] (smaller forgets old batches faster).

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
    n_samples_seen_ : int
        gaussmix's: rows fitted (by fit, then every partial_fit batch).

    The fitted attributes have X's dtype: float32 data gives a float32 model
    (fitted with float32 kernels and float64 accumulators).

    Notes
    -----
    Where gaussmix differs from scikit-learn:

    * ``fit``, ``fit_predict`` and ``score`` take ``sample_weight``.
    * :meth:`partial_fit`: stepwise EM over batches of rows.
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
                 warm_start=False, verbose=0, verbose_interval=10, step_size_power=0.6, step_size_offset=2.0,
                 resp_init=None, prior=None):
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
        self.step_size_power = step_size_power
        self.step_size_offset = step_size_offset
        self.resp_init = resp_init
        self.prior = prior

    # ------------------------------------------------------------------ the engine's hooks

    def _check_params(self) -> None:
        check_params(self)

    def _inits(self, n_features: int):
        return check_inits(self, n_features)

    def _update_rule(self, source, offset: float):
        if covariance_model(self.covariance_type).constrained or self.prior is not None:
            from ._mclust import Constrained

            return Constrained(self.covariance_type, float(self.reg_covar), offset, self._conjugate_prior(source))
        return _engine.MaximumLikelihood(float(self.reg_covar), offset)

    def _conjugate_prior(self, source):
        """The prior parameter as gaussmix/_mclust.py's Prior (None without
        one): mclust's defaultPrior from the rows' mean and covariance
        (ddof 1, weights counting rows), each given entry replacing its
        default."""
        if self.prior is None:
            return None
        from ._mclust import PRIOR_MODELS, Prior, default_prior

        func = f"{type(self).__name__}.fit"
        model = covariance_model(self.covariance_type).mclust
        if model not in PRIOR_MODELS:
            raise ValueError(f"{func}(): mclust's conjugate prior applies to {', '.join(PRIOR_MODELS)} (mclust 6 has "
                             f"none for {self.covariance_type}); set prior=None or pick one of those models")
        given = {} if self.prior == "mclust" else dict(self.prior)
        moments = source.moments(True, float(self.reg_covar))
        if moments.total <= 1.0:
            raise ValueError(f"{func}(): mclust's default prior needs the rows' covariance with ddof = 1, and the "
                             "rows weigh at most one; give prior={'scale': ...}")
        covariance = moments.covariance * moments.total / (moments.total - 1.0)
        prior = default_prior(model, moments.mean, covariance, source.n_samples, int(self.n_components))
        d = source.n_features
        values = {}
        for name, value in given.items():
            array = np.asarray(value, dtype=np.float64)
            wanted = {"shrinkage": (), "dof": (), "mean": (d,), "scale": () if model[2] == "I" else (d, d)}[name]
            if array.shape != wanted or not np.isfinite(array).all():
                raise ValueError(f"{func}(): prior[{name!r}] must be finite with shape {wanted}, got {array.shape}")
            values[name] = float(array) if wanted == () else array
        if values.get("shrinkage", 0.0) < 0 or values.get("dof", d) <= d - 1:
            raise ValueError(f"{func}(): prior['shrinkage'] must be >= 0 and prior['dof'] > n_features - 1")
        return prior._replace(**values)

    def _warm_start(self) -> tuple:
        return scoring_mixture(self), self.lower_bound_

    def _set_fitted(self, best, source, rule) -> None:
        set_fitted(self, best.parameters, source.dtype,
                   History(best.converged, best.n_iter, best.lower_bound, best.lower_bounds))
        self._fitted_rows(source)

    def _stepwise_rule(self, source, offset: float, started: bool):
        from ._stepwise import Stepwise

        if covariance_model(self.covariance_type).constrained:
            raise ValueError(f"{type(self).__name__}.partial_fit(): stepwise EM takes scikit-learn's covariance "
                             f"models ('full', 'tied', 'diag', 'spherical'), not mclust's {self.covariance_type!r} "
                             "yet; fit it, or use its scikit-learn equivalent where it has one")

        return Stepwise(self.covariance_type, float(self.reg_covar), offset, float(self.step_size_power),
                        float(self.step_size_offset))

    def _stepwise_parameters(self) -> Mixture:
        return scoring_mixture(self)

    def _set_stepwise(self, parameters: Mixture, rule, source, history: History) -> None:
        set_fitted(self, parameters, self.means_.dtype if hasattr(self, "means_") else source.dtype, history)

    def _scoring_mixture(self) -> Mixture:
        return scoring_mixture(self)

    def _n_parameters(self) -> int:
        """Free parameters of the model (as scikit-learn counts them)."""
        return covariance_model(self.covariance_type).n_parameters(*self.means_.shape)

    def bic(self, X):
        """Bayesian information criterion of the model on X: -2 log L + p log N (lower is better)."""
        log_prob = self.score_samples(X)
        return -2 * float(np.mean(log_prob)) * len(log_prob) + self._n_parameters() * math.log(len(log_prob))

    def aic(self, X):
        """Akaike information criterion of the model on X: -2 log L + 2 p (lower is better)."""
        log_prob = self.score_samples(X)
        return -2 * float(np.mean(log_prob)) * len(log_prob) + 2 * self._n_parameters()

    # ------------------------------------------------------------------ conversions

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
        set_fitted(model, mixture, np.float64, GIVEN)
        return model

    def to_mixture(self) -> Mixture:
        """The fitted model as a :class:`gaussmix.Mixture` (float64), e.g. to
        start :func:`gaussmix.fit_em` or the statistics API from it."""
        check_is_fitted(self)
        return scoring_mixture(self)

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


def _log_sum_exp(log_prob: np.ndarray) -> np.ndarray:
    return logsumexp(log_prob, axis=1)


def _softmax(log_prob: np.ndarray) -> np.ndarray:
    return softmax(log_prob, axis=1)
