"""The other half of ``sklearn.mixture``: :class:`BayesianGaussianMixture`,
scikit-learn's variational Gaussian mixture (a Dirichlet-process or Dirichlet
prior on the weights, Gaussian-Wishart priors on the components) on
gaussmix's engine: the same data sources, starts and loop as
:class:`gaussmix.GaussianMixture`, with the variational update rule of
gaussmix/_variational.py. From the same ``random_state`` it takes
scikit-learn's start and runs its iterations.
"""
from __future__ import annotations

import numpy as np
from sklearn.mixture import BayesianGaussianMixture as _ScikitLearnBayesian
from sklearn.utils._param_validation import InvalidParameterError as _ScikitLearnInvalidParameter
from sklearn.utils._param_validation import validate_parameter_constraints
from sklearn.utils.validation import check_array

from . import _core
from ._covariance import covariance_model
from ._engine import InMemory
from ._fitted import History, set_fitted
from ._mixture import Mixture
from ._params import Inits, InvalidParameterError, _check_shape
from ._variational import Posterior, Priors, Variational
from .estimator import MixtureEstimator

__all__ = ["BayesianGaussianMixture"]


class BayesianGaussianMixture(MixtureEstimator):
    """Variational Bayesian estimation of a Gaussian mixture: scikit-learn's
    ``sklearn.mixture.BayesianGaussianMixture`` (scikit-learn 1.9), on
    gaussmix's core. The parameters, their defaults and meaning are
    scikit-learn's; see its documentation for the full text.

    Parameters
    ----------
    n_components : int, default=1
        The largest number of components; the posterior may leave some
        nearly empty.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
    tol, reg_covar, max_iter, n_init, init_params, random_state, warm_start, verbose, verbose_interval
        As :class:`gaussmix.GaussianMixture`'s; ``tol`` applies to the
        variational lower bound (not divided by the number of rows, as
        scikit-learn's).
    weight_concentration_prior_type : {'dirichlet_process', 'dirichlet_distribution'}, default='dirichlet_process'
    weight_concentration_prior : float, default=None (1 / n_components)
    mean_precision_prior : float, default=None (1)
    mean_prior : array-like of shape (n_features,), default=None (the mean of X)
    degrees_of_freedom_prior : float, default=None (n_features)
    covariance_prior : float or array-like, default=None
        The covariance of X (ddof = 1) in the model's shape.

    Attributes
    ----------
    weights_, means_, covariances_, precisions_, precisions_cholesky_
        The expected weights (of the Dirichlet (process) posterior), the
        means, and the covariances (the Wishart scales divided by the
        degrees of freedom), as scikit-learn's.
    weight_concentration_ : ndarray of shape (K,) or tuple of two
    mean_precision_ : ndarray of shape (K,)
    degrees_of_freedom_ : ndarray of shape (K,) (tied: a float)
    converged_, n_iter_, lower_bound_, lower_bounds_, n_features_in_
    weight_concentration_prior_, mean_precision_prior_, mean_prior_, degrees_of_freedom_prior_, covariance_prior_

    predict_proba and predict use the variational E-step (the expected log
    weights and the expected log precisions), score_samples its
    log-normaliser, as scikit-learn's. sample draws from the plug-in mixture
    (weights_, means_, covariances_).

    The fitted attributes are float64. This first version fits and scores
    rows in memory without NaN (float64 or float32, with sample_weight); NaN
    is scikit-learn's ValueError, and a Dask array a ValueError too.
    """

    def __init__(self, n_components=1, *, covariance_type="full", tol=1e-3, reg_covar=1e-6, max_iter=100, n_init=1,
                 init_params="kmeans", weight_concentration_prior_type="dirichlet_process",
                 weight_concentration_prior=None, mean_precision_prior=None, mean_prior=None,
                 degrees_of_freedom_prior=None, covariance_prior=None, random_state=None, warm_start=False,
                 verbose=0, verbose_interval=10):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weight_concentration_prior_type = weight_concentration_prior_type
        self.weight_concentration_prior = weight_concentration_prior
        self.mean_precision_prior = mean_precision_prior
        self.mean_prior = mean_prior
        self.degrees_of_freedom_prior = degrees_of_freedom_prior
        self.covariance_prior = covariance_prior
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False  # not yet: the priors' moments of rows with NaN (the class's note)
        return tags

    # ------------------------------------------------------------------ the engine's hooks

    def _check_params(self) -> None:
        """scikit-learn's own constraints on the constructor parameters, its
        messages raised as gaussmix's InvalidParameterError."""
        try:
            validate_parameter_constraints(_ScikitLearnBayesian._parameter_constraints,
                                           self.get_params(deep=False), caller_name=type(self).__name__)
        except _ScikitLearnInvalidParameter as exc:
            raise InvalidParameterError(str(exc)) from None

    def _inits(self, n_features: int) -> Inits:
        return Inits(None, None, None)

    def _update_rule(self, source, offset: float) -> Variational:
        if not isinstance(source, InMemory):
            raise ValueError(f"{type(self).__name__}.fit(): rows with NaN and Dask arrays are not supported yet; "
                             "fit GaussianMixture, or pass rows without NaN in memory")
        return Variational(self._check_priors(source), self.weight_concentration_prior_type, self.covariance_type,
                           float(self.reg_covar), offset)

    def _warm_start(self) -> tuple:
        return self._posterior, self.lower_bound_

    def _set_fitted(self, best, source, rule: Variational) -> None:
        posterior: Posterior = best.parameters
        weights = _expected_weights(posterior.weight_concentration, self.weight_concentration_prior_type)
        plug_in = Mixture(weights, posterior.means, posterior.covariances, self.covariance_type)
        set_fitted(self, plug_in, np.float64, History(best.converged, best.n_iter, best.lower_bound,
                                                      best.lower_bounds))
        self.weight_concentration_ = posterior.weight_concentration
        self.mean_precision_ = posterior.mean_precision
        self.degrees_of_freedom_ = posterior.degrees_of_freedom
        p = rule.priors
        self.weight_concentration_prior_, self.mean_precision_prior_ = p.weight_concentration, p.mean_precision
        self.mean_prior_, self.degrees_of_freedom_prior_ = p.mean, p.degrees_of_freedom
        self.covariance_prior_ = p.covariance
        self._posterior = posterior

    def _scoring_mixture(self) -> Mixture:
        return self._posterior.e_step

    def _scored_rows(self, X, func: str) -> np.ndarray:
        """X checked as scikit-learn checks it (NaN refused, with its
        message), as long as fit refuses rows with NaN (the tags say so)."""
        return self._rows(X, func, ensure_all_finite=True)

    def _log_density_offset(self) -> float:
        return self._posterior.log_offset

    # ------------------------------------------------------------------ the priors

    def _check_priors(self, source: InMemory) -> Priors:
        """The prior's parameters, given or from the data (as scikit-learn's
        _check_parameters, with its messages): the mean and the covariance
        (ddof = 1) of the rows, weighted by sample_weight when given (a
        weight counts a row that many times), from one pass of the core."""
        d = source.n_features
        mean, covariance = _data_moments(source, self.covariance_type)
        weight = 1.0 / self.n_components if self.weight_concentration_prior is None \
            else float(self.weight_concentration_prior)
        precision = 1.0 if self.mean_precision_prior is None else float(self.mean_precision_prior)
        if self.mean_prior is not None:
            mean = check_array(self.mean_prior, dtype=[np.float64, np.float32], ensure_2d=False).astype(np.float64)
            _check_shape(mean, (d,), "means")
        if self.degrees_of_freedom_prior is None:
            dof = float(d)
        elif self.degrees_of_freedom_prior > d - 1.0:
            dof = float(self.degrees_of_freedom_prior)
        else:
            raise ValueError(f"The parameter 'degrees_of_freedom_prior' should be greater than {d - 1}, but got "
                             f"{self.degrees_of_freedom_prior:.3f}.")
        if self.covariance_prior is not None:
            covariance = _given_covariance_prior(self.covariance_prior, self.covariance_type, d)
        return Priors(weight, precision, mean, dof, covariance)


def _data_moments(source: InMemory, covariance_type: str):
    """(mean (D,), covariance prior in the model's shape): the rows' mean
    and their covariance with ddof = 1 (scikit-learn's np.cov / np.var),
    weighted by the source's weights, from the core's statistics of one
    component around the column means."""
    shape = "full" if covariance_type in ("full", "tied") else "diag"
    labels = np.zeros(source.n_samples, dtype=np.int64)
    around = np.asarray(source.column_stats.mean, dtype=np.float64)[None, :]
    stats = _core.label_stats(source.x, labels, shape, around, source.w, 0)
    total = float(stats.resp_sum[0])
    offset = np.asarray(stats.first[0]) / total
    mean = around[0] + offset
    second = np.asarray(stats.second)[0]  # full: (D, D); diag: (D,)
    if shape == "full":
        scatter = second - total * np.outer(offset, offset)
        return mean, np.atleast_2d(scatter / (total - 1.0))
    variances = (second - total * offset ** 2) / (total - 1.0)
    return mean, variances if covariance_type == "diag" else float(variances.mean())


def _given_covariance_prior(value, covariance_type: str, d: int):
    """A covariance_prior given by the user, checked as scikit-learn checks it."""
    if covariance_type == "spherical":
        return float(value)
    prior = check_array(value, dtype=[np.float64, np.float32], ensure_2d=False).astype(np.float64)
    _check_shape(prior, (d, d) if covariance_type in ("full", "tied") else (d,), f"{covariance_type} covariance_prior")
    # scikit-learn checks the prior with its precisions' checks, and names it so.
    covariance_model(covariance_type).check_precisions(prior, f"{covariance_type} precision")
    return prior


def _expected_weights(concentration, prior_type: str) -> np.ndarray:
    """E[pi] under the posterior: the stick-breaking means for the Dirichlet
    process, the normalised concentrations for the Dirichlet distribution
    (scikit-learn's weights_)."""
    if prior_type == "dirichlet_process":
        alpha, beta = concentration
        stick = alpha / (alpha + beta)
        weights = stick * np.concatenate([[1.0], np.cumprod(beta / (alpha + beta))[:-1]])
    else:
        weights = np.asarray(concentration, dtype=np.float64)
    return weights / weights.sum()

