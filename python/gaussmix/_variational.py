"""The variational update rule: scikit-learn's BayesianGaussianMixture
(Bishop 2006, section 10.2; Blei and Jordan 2006 for the Dirichlet process)
as an update rule of the engine (gaussmix/_engine.py) over the statistics
every data source gives.

The variational E-step is a Gaussian E-step: with the posterior's
covariances (scikit-learn's ``covariances_``, the Wishart scale divided by
the degrees of freedom) each component's log-density is log N(x | m_k, C_k)
plus a per-component offset

    c_k = E[log pi_k] - D/2 log nu_k + 1/2 (sum_{i<D} psi((nu_k - i)/2) + D log 2 - D / beta_k),

so the core's fused pass computes it for a Mixture whose weights are
softmax(c) (responsibilities do not change by a constant; the constant
log sum_k exp(c_k) is added back where a log-density is reported). The
M-step is the conjugate update of the Dirichlet (process), Gaussian and
Wishart factors from the maximum-likelihood statistics N_k, xbar_k, S_k
(S_k with reg_covar, as scikit-learn's). The lower bound needs the
entropy of the E-step's posterior, which the statistics carry
(latent_entropy), so every source that gives statistics gives it too.

Rows with missing entries: with the missing entries x_M among the latent
variables, the optimal q(z = k, x_M) is proportional to
exp(E[log pi_k] + E[log N(x | mu_k, Lambda_k^-1)]); integrating x_M out of
the Gaussian in x_M it contains leaves exactly exp(c_k) N(x_O | m_kO, C_kOO),
and q(x_M | z = k) is C_k's conditional Gaussian. So the E-step is the
missing-data E-step of the same mixture (gaussmix/_missing.py, without its
penalty), its statistics the expected ones (conditional means and
covariances), and the lower bound's entropy term gains sum_k r_k times the
entropy of q(x_M | z = k), which the missing-data statistics add to
latent_entropy. The rest of the bound is the same function of the
statistics (the log normaliser of the updated q(theta)).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.special import betaln, digamma, gammaln

from . import _core
from ._covariance import covariance_model
from ._engine import MaximumLikelihood
from ._mixture import Mixture

WEIGHT_PRIOR_TYPES = ("dirichlet_process", "dirichlet_distribution")


class Priors(NamedTuple):
    """The prior's parameters, in scikit-learn's names and shapes (without
    the trailing underscore)."""

    weight_concentration: float
    mean_precision: float
    mean: np.ndarray  #: (D,)
    degrees_of_freedom: float
    covariance: np.ndarray | float  #: full/tied (D, D), diag (D,), spherical a float


class Posterior(NamedTuple):
    """The variational posterior: the fitted attributes of
    BayesianGaussianMixture, and the Mixture of its E-step."""

    weight_concentration: np.ndarray | tuple  #: Dirichlet (K,); Dirichlet process (alpha (K,), beta (K,))
    mean_precision: np.ndarray  #: (K,)
    means: np.ndarray  #: (K, D)
    degrees_of_freedom: np.ndarray  #: (K,); tied: one float, as scikit-learn's
    covariances: np.ndarray  #: scikit-learn's shape, divided by the degrees of freedom
    e_step: Mixture  #: weights softmax(c), the means and covariances: the E-step's mixture
    log_offset: float  #: log sum_k exp(c_k): the E-step's log-densities less log p (see the module)


class Variational:
    """The update rule: ``initial`` (a start's maximum-likelihood Mixture to
    the posterior, as scikit-learn's _initialize), ``update`` (statistics to
    the next posterior) and ``lower_bound`` (scikit-learn's
    _compute_lower_bound), over the maximum-likelihood rule's statistics and
    M-step (reg_covar, resp_offset)."""

    def __init__(self, priors: Priors, weight_prior_type: str, covariance_type: str, reg_covar: float,
                 resp_offset: float, prune_threshold: float | None = None):
        self.priors, self.weight_prior_type = priors, weight_prior_type
        self.covariance_type = covariance_type
        self.ml = MaximumLikelihood(reg_covar, resp_offset)
        self.prune_threshold = prune_threshold

    # -- the engine's interface

    def initial(self, start) -> Posterior:
        """The posterior of a start's responsibilities (gaussmix/_starts.py's
        Start): N_k = weights x their mass (a start's weights are
        N_k / sum_k N_k; the mass is N, or K for a start from K chosen rows,
        as scikit-learn's one-hot responsibilities there), xbar_k = its
        means, S_k = its covariances (with reg_covar)."""
        return self.posterior(start.weights * start.mass, start.means, start.covariances)

    def mixture(self, posterior: Posterior) -> Mixture:
        return posterior.e_step

    def statistics(self, source, posterior: Posterior):
        """The maximum-likelihood rule's statistics of the E-step's mixture
        (of the posterior pruned first, with a prune_threshold: so the
        statistics, the next posterior and its lower bound have the same
        components)."""
        return self.ml.statistics(source, self.pruned(posterior).e_step)

    def pruned(self, posterior: Posterior) -> Posterior:
        """posterior without the components whose expected weight is below
        prune_threshold (never the heaviest one); itself without a
        threshold, or when none is below it."""
        if self.prune_threshold is None:
            return posterior
        weights = self.expected_weights(posterior.weight_concentration)
        keep = weights >= self.prune_threshold
        keep[np.argmax(weights)] = True
        if keep.all():
            return posterior
        concentration = posterior.weight_concentration
        if self.weight_prior_type == "dirichlet_process":
            concentration = tuple(c[keep] for c in concentration)
        else:
            concentration = concentration[keep]
        shared = covariance_model(self.covariance_type).shared  # one covariance, one degrees of freedom
        return self.assemble(concentration, posterior.mean_precision[keep], posterior.means[keep],
                             posterior.degrees_of_freedom if shared else posterior.degrees_of_freedom[keep],
                             posterior.covariances if shared else posterior.covariances[keep])

    def update(self, stats) -> Posterior:
        # xbar_k and S_k (with reg_covar), as arrays: S_k may be singular (reg_covar=0), the prior's scale is added
        _, means, covariances = _core.m_step_parameters(stats, self.ml.reg_covar, self.ml.resp_offset)
        return self.posterior(np.asarray(stats.resp_sum) + self.ml.resp_offset, means, covariances)

    def lower_bound(self, stats, posterior: Posterior) -> float:
        """scikit-learn's lower bound (its constant terms left out): the
        E-step posterior's entropy (latent_entropy: the responsibilities',
        and the missing entries' given them), less the Wishart and Dirichlet (process)
        normalisers and D/2 sum_k log beta_k."""
        d = len(self.priors.mean)
        nu = np.asarray(posterior.degrees_of_freedom, dtype=np.float64)
        model = covariance_model(self.covariance_type)
        log_det_chol = model.log_det_precisions_cholesky(model.precisions_cholesky(posterior.covariances), d)
        log_det_chol = log_det_chol - 0.5 * d * np.log(nu)
        log_wishart = np.sum(_log_wishart_norm(nu, log_det_chol, d))
        if self.covariance_type == "tied":
            log_wishart = len(posterior.mean_precision) * log_wishart
        if self.weight_prior_type == "dirichlet_process":
            alpha, beta = posterior.weight_concentration
            log_norm_weight = -np.sum(betaln(alpha, beta))
        else:
            c = posterior.weight_concentration
            log_norm_weight = gammaln(np.sum(c)) - np.sum(gammaln(c))
        return float(stats.latent_entropy - log_wishart - log_norm_weight
                     - 0.5 * d * np.sum(np.log(posterior.mean_precision)))

    # -- the conjugate update

    def posterior(self, nk: np.ndarray, xk: np.ndarray, sk: np.ndarray) -> Posterior:
        """The posterior of statistics N_k (K,), xbar_k (K, D), S_k (the
        covariance model's shape), as scikit-learn's _estimate_weights,
        _estimate_means and _estimate_precisions."""
        p = self.priors
        nk, xk, sk = (np.asarray(a, dtype=np.float64) for a in (nk, xk, sk))
        if self.weight_prior_type == "dirichlet_process":
            tail = np.concatenate([np.cumsum(nk[::-1])[-2::-1], [0.0]])  # sum_{j > k} N_j
            concentration = (1.0 + nk, p.weight_concentration + tail)
        else:
            concentration = p.weight_concentration + nk
        beta = p.mean_precision + nk
        means = (p.mean_precision * p.mean + nk[:, None] * xk) / beta[:, None]
        diff = xk - p.mean
        shrink = p.mean_precision / beta  # beta_0 / beta_k
        if self.covariance_type == "full":
            nu = p.degrees_of_freedom + nk
            scale = p.covariance + nk[:, None, None] * (sk + shrink[:, None, None] * diff[:, :, None] * diff[:, None, :])
            covariances = scale / nu[:, None, None]
        elif self.covariance_type == "tied":
            nu = p.degrees_of_freedom + nk.sum() / len(nk)
            scale = (p.covariance + sk * nk.sum() / len(nk)
                     + p.mean_precision / len(nk) * ((nk / beta)[:, None] * diff).T @ diff)
            covariances = scale / nu
        elif self.covariance_type == "diag":
            nu = p.degrees_of_freedom + nk
            covariances = (p.covariance + nk[:, None] * (sk + shrink[:, None] * diff ** 2)) / nu[:, None]
        else:
            nu = p.degrees_of_freedom + nk
            covariances = (p.covariance + nk * (sk + shrink * np.mean(diff ** 2, axis=1))) / nu
        return self.assemble(concentration, beta, means, nu, covariances)

    def statistics_of(self, posterior: Posterior) -> tuple:
        """(N_k, xbar_k, S_k): the statistics whose :meth:`posterior` this
        is (its inverse: N_k = beta_k - beta_0, then the means' and the
        scales' updates solved for xbar_k and S_k, reg_covar included). A
        component with N_k ~ 0 gets xbar_k = its mean and S_k = 0: it weighs
        nothing where these are used."""
        p = self.priors
        beta = np.asarray(posterior.mean_precision, dtype=np.float64)
        means = np.asarray(posterior.means, dtype=np.float64)
        nk = np.maximum(beta - p.mean_precision, 0.0)
        held = nk > 1e-12 * max(float(nk.sum()), 1e-300)
        safe = np.where(held, nk, 1.0)
        xk = np.where(held[:, None], (beta[:, None] * means - p.mean_precision * p.mean) / safe[:, None], means)
        diff = xk - p.mean
        shrink = p.mean_precision / beta
        nu = np.asarray(posterior.degrees_of_freedom, dtype=np.float64)
        covariances = np.asarray(posterior.covariances, dtype=np.float64)
        scale = covariances * nu.reshape(nu.shape + (1,) * (covariances.ndim - nu.ndim))  # the Wishart scales
        if self.covariance_type == "full":
            sk = (scale - p.covariance) / safe[:, None, None] - shrink[:, None, None] * diff[:, :, None] * diff[:, None, :]
        elif self.covariance_type == "tied":
            k = len(nk)
            sk = (scale - p.covariance - p.mean_precision / k * ((nk / beta)[:, None] * diff).T @ diff) / (nk.sum() / k)
        elif self.covariance_type == "diag":
            sk = (scale - p.covariance) / safe[:, None] - shrink[:, None] * diff ** 2
        else:
            sk = (scale - p.covariance) / safe - shrink * np.mean(diff ** 2, axis=1)
        if self.covariance_type != "tied":
            sk = np.where(held.reshape((-1,) + (1,) * (sk.ndim - 1)), sk, 0.0)
        return nk, xk, sk

    def assemble(self, concentration, mean_precision, means, degrees_of_freedom, covariances) -> Posterior:
        """The posterior of these attributes (scikit-learn's fitted ones),
        with its E-step's mixture."""
        if self.weight_prior_type == "dirichlet_process":
            concentration = tuple(np.asarray(c, dtype=np.float64) for c in concentration)
        else:
            concentration = np.asarray(concentration, dtype=np.float64)
        beta = np.asarray(mean_precision, dtype=np.float64)
        nu = np.asarray(degrees_of_freedom, dtype=np.float64)
        offsets = (self.expected_log_weights(concentration)
                   + _e_step_precision_offsets(np.broadcast_to(nu, beta.shape), beta, np.shape(means)[1]))
        top = float(offsets.max())  # log sum exp of K numbers (scipy's logsumexp costs 0.15 ms a call)
        log_offset = top + float(np.log(np.sum(np.exp(offsets - top))))
        e_step = Mixture(np.exp(offsets - log_offset), means, covariances, self.covariance_type)
        return Posterior(concentration, beta, np.asarray(means, dtype=np.float64), nu[()] if nu.ndim == 0 else nu,
                         np.asarray(covariances, dtype=np.float64), e_step, log_offset)

    def expected_weights(self, concentration) -> np.ndarray:
        """E[pi] under the posterior: the stick-breaking means for the
        Dirichlet process, the normalised concentrations for the Dirichlet
        distribution (scikit-learn's weights_)."""
        if self.weight_prior_type == "dirichlet_process":
            alpha, beta = concentration
            stick = alpha / (alpha + beta)
            weights = stick * np.concatenate([[1.0], np.cumprod(beta / (alpha + beta))[:-1]])
        else:
            weights = np.asarray(concentration, dtype=np.float64)
        return weights / weights.sum()

    def expected_log_weights(self, concentration) -> np.ndarray:
        """E[log pi_k] under the Dirichlet (process) posterior."""
        if self.weight_prior_type == "dirichlet_process":
            alpha, beta = concentration
            total = digamma(alpha + beta)
            return digamma(alpha) - total + np.concatenate([[0.0], np.cumsum(digamma(beta) - total)[:-1]])
        return digamma(concentration) - digamma(np.sum(concentration))


def _e_step_precision_offsets(nu: np.ndarray, beta: np.ndarray, d: int) -> np.ndarray:
    """The module's c_k less E[log pi_k]: what the expected log-density
    adds to log N(x | m_k, C_k) with C_k the normalised covariance."""
    log_lambda = d * np.log(2.0) + np.sum(digamma(0.5 * (nu - np.arange(d)[:, None])), axis=0)
    return -0.5 * d * np.log(nu) + 0.5 * (log_lambda - d / beta)


def _log_wishart_norm(nu, log_det_chol, d: int):
    """log B(W, nu) of the Wishart normaliser, from the log-determinant of
    the precision's Cholesky factor (without the D(D-1)/4 log pi term, as
    scikit-learn's)."""
    return -(nu * log_det_chol + nu * d * 0.5 * np.log(2.0)
             + np.sum(gammaln(0.5 * (nu - np.arange(d)[:, None])), axis=0))
