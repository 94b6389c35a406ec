"""The other half of ``sklearn.mixture``: :class:`BayesianGaussianMixture`,
scikit-learn's variational Gaussian mixture (a Dirichlet-process or Dirichlet
prior on the weights, Gaussian-Wishart priors on the components) on
gaussmix's engine: the same data sources, starts and loop as
:class:`gaussmix.GaussianMixture`, with the variational update rule of
gaussmix/_variational.py. From the same ``random_state`` it takes
scikit-learn's start and runs its iterations.
"""
from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.mixture import BayesianGaussianMixture as _ScikitLearnBayesian
from sklearn.utils._param_validation import InvalidParameterError as _ScikitLearnInvalidParameter
from sklearn.utils._param_validation import Interval, validate_parameter_constraints
from sklearn.utils.validation import check_array

from ._conditioning import ConditioningMixin
from ._covariance import covariance_model
from ._fitted import History, set_fitted
from ._mixture import Mixture
from ._params import Inits, InvalidParameterError, _check_shape
from ._variational import Posterior, Priors, Variational
from .estimator import GaussianMixture, MixtureEstimator

__all__ = ["BayesianGaussianMixture", "EFFECTIVE_WEIGHT"]

#: n_components_effective_ counts the components whose expected weight is at least this.
EFFECTIVE_WEIGHT = 1e-3

#: The constraints of gaussmix's own parameters (scikit-learn's cover the rest).
_OWN_CONSTRAINTS = {"prune_threshold": [Interval(Real, 0.0, 1.0, closed="neither"), None],
                    "step_size_power": [Interval(Real, 0.5, 1.0, closed="right")],
                    "step_size_offset": [Interval(Real, 0.0, None, closed="left")]}


class BayesianGaussianMixture(ConditioningMixin, MixtureEstimator):
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
    prune_threshold : float in (0, 1), default=None
        gaussmix's (scikit-learn never prunes): before every E-step, drop
        the components whose expected weight is below prune_threshold
        (never the heaviest one), so that later iterations cost only what
        the components in use cost and the fitted model holds only those.
        The fitted attributes then have fewer rows than n_components, and
        labels index the kept components. The lower bound never decreases
        between prunings; a pruning step changes it (a smaller model).
        None (the default) keeps every component, as scikit-learn.
    step_size_power, step_size_offset : float, default=0.6 and 2.0
        gaussmix's: the step sizes of :meth:`partial_fit` (stochastic
        variational inference), eta_t = (t + step_size_offset) **
        -step_size_power, step_size_power in (0.5, 1], as
        :class:`gaussmix.GaussianMixture`'s.

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
    n_components_effective_ : int
        gaussmix's: the number of components whose expected weight
        (weights_) is at least EFFECTIVE_WEIGHT = 1e-3; the others hold
        almost no rows and mostly the prior.

    predict_proba and predict use the variational E-step (the expected log
    weights and the expected log precisions), score_samples its
    log-normaliser, as scikit-learn's. sample draws from the plug-in mixture
    (weights_, means_, covariances_).

    marginal, condition and predict_missing (gaussmix's, as
    :class:`gaussmix.GaussianMixture`'s) work on the plug-in mixture too:
    the Gaussian mixture of the posterior's expected weights, means and
    covariances_, not the posterior predictive (a mixture of Student-t
    distributions, whose conditionals are not Student-t mixtures of the same
    form). marginal and condition return a fitted
    :class:`gaussmix.GaussianMixture`.

    The fitted attributes are float64 (float32 X is fitted with float32
    kernels and float64 accumulators).

    Beyond scikit-learn:

    * ``sample_weight`` in ``fit`` and ``score``: a weight counts a row that
      many times (so the weights' scale matters, as the number of rows does
      to a posterior; the default covariance_prior needs them to sum above 1).
    * NaN marks a missing value. The fit is the mean-field variational
      posterior with the missing entries among the latent variables: each
      row's label and missing entries q(z, x_M) are updated together, which
      integrates the missing entries out under the expected precision. It
      comes to the E-step of the plug-in mixture (weights softmax of the
      expected log weights and log-precision terms, covariances_) on the
      observed entries, the missing entries completed by their conditional
      means with their conditional covariances added to the scatter, and
      the entropy of q(x_M | z) added to the lower bound, which still never
      decreases (with reg_covar = 0; reg_covar is added to every S_k, as
      scikit-learn's, with or without NaN). The default mean_prior and
      covariance_prior are then the maximum-likelihood mean and covariance
      of one Gaussian fitted to the observed entries (EM, missing at
      random). Rows with NaN are scored on their observed entries.
    * Dask arrays: fit and scoring run chunk by chunk (the start from a
      sample, as :class:`gaussmix.GaussianMixture`'s); so do chunk sources.
    * :meth:`partial_fit`: stochastic variational inference over batches
      (gaussmix/_stepwise.py's StochasticVariational). The priors are the
      first batch's (or the fit's, continuing one); the posterior stands
      for every row seen (a pass over the same rows again counts them
      again: for exact variational EM over data larger than memory, fit a
      chunk source); prune_threshold does not apply.
    """

    def __init__(self, n_components=1, *, covariance_type="full", tol=1e-3, reg_covar=1e-6, max_iter=100, n_init=1,
                 init_params="kmeans", weight_concentration_prior_type="dirichlet_process",
                 weight_concentration_prior=None, mean_precision_prior=None, mean_prior=None,
                 degrees_of_freedom_prior=None, covariance_prior=None, random_state=None, warm_start=False,
                 verbose=0, verbose_interval=10, prune_threshold=None, step_size_power=0.6, step_size_offset=2.0):
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
        self.prune_threshold = prune_threshold
        self.step_size_power = step_size_power
        self.step_size_offset = step_size_offset

    # ------------------------------------------------------------------ the engine's hooks

    def _check_params(self) -> None:
        """scikit-learn's own constraints on the constructor parameters, its
        messages raised as gaussmix's InvalidParameterError."""
        try:
            validate_parameter_constraints({**_ScikitLearnBayesian._parameter_constraints, **_OWN_CONSTRAINTS},
                                           self.get_params(deep=False), caller_name=type(self).__name__)
        except _ScikitLearnInvalidParameter as exc:
            raise InvalidParameterError(str(exc)) from None
        for name in ("step_size_power", "step_size_offset"):  # a bool is a Real to scikit-learn's Interval
            if isinstance(getattr(self, name), bool):
                raise InvalidParameterError(f"The {name!r} parameter of {type(self).__name__} must be a float, not "
                                            f"a bool; got {getattr(self, name)!r}.")

    def _inits(self, n_features: int) -> Inits:
        return Inits(None, None, None)

    def _missing_value_penalty(self) -> float:
        """None: the variational model's reg_covar is scikit-learn's, r added
        to every S_k (the conjugate update's), with or without missing entries."""
        return 0.0

    def _update_rule(self, source, offset: float) -> Variational:
        return self._variational_rule(self._check_priors(source), offset)

    def _warm_start(self) -> tuple:
        return self._posterior, self.lower_bound_

    def _set_fitted(self, best, source, rule: Variational) -> None:
        # Pruned once more: a component that fell below the threshold in the last update goes too.
        self._set_posterior(rule.pruned(best.parameters), rule.priors,
                            History(best.converged, best.n_iter, best.lower_bound, best.lower_bounds))
        self._fitted_rows(source)

    def _stepwise_rule(self, source, offset: float, started: bool):
        from ._stepwise import StochasticVariational

        if self.prune_threshold is not None:
            raise ValueError(f"{type(self).__name__}.partial_fit(): prune_threshold applies to fit; a stream's "
                             "posterior keeps its components (a component empty now may fill later): set "
                             "prune_threshold=None")
        priors = self._posterior_priors() if started else self._check_priors(source)
        return StochasticVariational(self._variational_rule(priors, offset), float(self.step_size_power),
                                     float(self.step_size_offset))

    def _stepwise_parameters(self) -> Posterior:
        return self._scored_posterior()

    def _set_stepwise(self, posterior: Posterior, rule, source, history: History) -> None:
        self._set_posterior(posterior, rule.priors, history)

    def _rows_seen(self) -> tuple:
        """A model without the record of its rows (a model file's): the rows
        its posterior stands for, sum_k (beta_k - beta_0)."""
        if hasattr(self, "n_samples_seen_"):
            return super()._rows_seen()
        weight = float(np.sum(np.asarray(self.mean_precision_) - self.mean_precision_prior_))
        return int(round(weight)), weight

    def _variational_rule(self, priors: Priors, resp_offset: float = 0.0) -> Variational:
        """The update rule of this estimator's parameters, under priors."""
        return Variational(priors, self.weight_concentration_prior_type, self.covariance_type, float(self.reg_covar),
                           resp_offset, None if self.prune_threshold is None else float(self.prune_threshold))

    def _set_posterior(self, posterior: Posterior, priors: Priors, history: History) -> None:
        """Make the estimator fitted to posterior (Variational.assemble's),
        under priors, with history: every fitted attribute (a model file's
        loader calls this too)."""
        weights = self._variational_rule(priors).expected_weights(posterior.weight_concentration)
        plug_in = Mixture(weights, posterior.means, posterior.covariances, self.covariance_type)
        set_fitted(self, plug_in, np.float64, history)
        self.weight_concentration_ = posterior.weight_concentration
        self.mean_precision_ = posterior.mean_precision
        self.degrees_of_freedom_ = posterior.degrees_of_freedom
        self.weight_concentration_prior_, self.mean_precision_prior_ = priors.weight_concentration, priors.mean_precision
        self.mean_prior_, self.degrees_of_freedom_prior_ = priors.mean, priors.degrees_of_freedom
        self.covariance_prior_ = priors.covariance
        self.n_components_effective_ = int(np.count_nonzero(self.weights_ >= EFFECTIVE_WEIGHT))
        self._posterior = posterior
        self._posterior_attributes = _scored_attributes(self)

    def _scoring_mixture(self) -> Mixture:
        return self._scored_posterior().e_step

    def _log_density_offset(self) -> float:
        return self._scored_posterior().log_offset

    def _scored_posterior(self) -> Posterior:
        """The posterior that scores rows: the fit's, while the attributes
        scikit-learn scores with (weight_concentration_, mean_precision_,
        means_, degrees_of_freedom_, precisions_cholesky_) are as the fit
        left them; else the posterior of those attributes, as scikit-learn
        scores with them."""
        current = _scored_attributes(self)
        if all(np.array_equal(a, b) for a, b in zip(current, self._posterior_attributes)):
            return self._posterior
        concentration, mean_precision, means, degrees_of_freedom, precisions_cholesky = current
        if self.weight_concentration_prior_type == "dirichlet_process":
            concentration = tuple(concentration)
        try:
            covariances = covariance_model(self.covariance_type).covariances_from_precisions_cholesky(
                precisions_cholesky)
            return self._variational_rule(self._posterior_priors()).assemble(
                concentration, mean_precision, means, degrees_of_freedom, covariances)
        except (ValueError, TypeError, np.linalg.LinAlgError) as exc:
            raise ValueError(f"{type(self).__name__}: the fitted attributes do not form a valid variational "
                             f"posterior ({exc}); refit, or set consistent attributes") from None

    def _posterior_priors(self) -> Priors:
        return Priors(self.weight_concentration_prior_, self.mean_precision_prior_, self.mean_prior_,
                      self.degrees_of_freedom_prior_, self.covariance_prior_)

    def _derived_estimator(self, n_components: int):
        """A marginal or conditional of the plug-in mixture is a GaussianMixture."""
        return GaussianMixture(n_components, covariance_type=self.covariance_type, reg_covar=self.reg_covar,
                               random_state=self.random_state)

    # ------------------------------------------------------------------ the priors

    def _check_priors(self, source) -> Priors:
        """The prior's parameters, given or from the data (as scikit-learn's
        _check_parameters, with its messages): the mean and the covariance
        (ddof = 1) of the rows, weighted by sample_weight when given (a
        weight counts a row that many times): the data source's moments."""
        d = source.n_features
        mean, covariance = _data_moments(source, self.covariance_type, float(self.reg_covar),
                                         need_covariance=self.covariance_prior is None)
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


def _scored_attributes(model) -> tuple:
    """Copies of the fitted attributes scikit-learn's scoring reads (the weight
    concentration as one array)."""
    return tuple(np.array(getattr(model, name), dtype=np.float64) for name in (
        "weight_concentration_", "mean_precision_", "means_", "degrees_of_freedom_", "precisions_cholesky_"))


def _data_moments(source, covariance_type: str, reg_covar: float, need_covariance: bool):
    """(mean (D,), covariance prior in the model's shape): the rows' mean
    and their covariance with ddof = 1 (scikit-learn's np.cov / np.var),
    weighted by the source's weights (a weight counts a row that many
    times), from the source's moments (with missing entries, their
    maximum-likelihood estimates: gaussmix/_missing.py)."""
    moments = source.moments(covariance_type in ("full", "tied"), reg_covar)
    if not need_covariance:
        return moments.mean, None
    if moments.total <= 1.0:
        raise ValueError(f"{source.func}(): the default covariance_prior is the rows' covariance with ddof = 1, "
                         "each weight counting a row that many times, and sample_weight sums to "
                         f"{moments.total:.6g} (at most one row's worth); scale sample_weight to count rows, or "
                         "give covariance_prior")
    covariance = moments.covariance * (moments.total / (moments.total - 1.0))
    if covariance_type == "full" or covariance_type == "tied":
        return moments.mean, np.atleast_2d(covariance)
    return moments.mean, covariance if covariance_type == "diag" else float(covariance.mean())


def _given_covariance_prior(value, covariance_type: str, d: int):
    """A covariance_prior given by the user, checked as scikit-learn checks it."""
    if covariance_type == "spherical":
        return float(value)
    prior = check_array(value, dtype=[np.float64, np.float32], ensure_2d=False).astype(np.float64)
    _check_shape(prior, (d, d) if covariance_type in ("full", "tied") else (d,), f"{covariance_type} covariance_prior")
    # scikit-learn checks the prior with its precisions' checks, and names it so.
    covariance_model(covariance_type).check_precisions(prior, f"{covariance_type} precision")
    return prior
