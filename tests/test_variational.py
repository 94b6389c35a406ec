"""The variational update rule (gaussmix/_variational.py) against
scikit-learn's BayesianGaussianMixture: its conjugate update, its E-step and
its lower bound from the same statistics, then whole runs of the engine's
loop from scikit-learn's own start, compared with its fitted attributes."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from scipy.special import logsumexp  # noqa: E402
from sklearn.mixture import BayesianGaussianMixture as SkBayesian  # noqa: E402

import gaussmix  # noqa: E402
from gaussmix import _engine  # noqa: E402
from gaussmix._starts import Start  # noqa: E402
from gaussmix._validation import column_stats  # noqa: E402
from gaussmix._variational import Priors, Variational  # noqa: E402

MODELS = ("full", "tied", "diag", "spherical")
PRIOR_TYPES = ("dirichlet_process", "dirichlet_distribution")

rng = np.random.default_rng(0)
X = np.concatenate([rng.normal(size=(300, 3)), rng.normal(size=(200, 3)) * 0.5 + 4,
                    rng.normal(size=(100, 3)) + [0.0, 5.0, 0.0]])


def fitted_sklearn(ctype, prior_type, max_iter=100, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SkBayesian(n_components=5, covariance_type=ctype, weight_concentration_prior_type=prior_type,
                          random_state=1, max_iter=max_iter, **kwargs).fit(X)


def priors_of(sk) -> Priors:
    return Priors(sk.weight_concentration_prior_, sk.mean_precision_prior_, sk.mean_prior_,
                  sk.degrees_of_freedom_prior_, sk.covariance_prior_)


def rule_of(sk) -> Variational:
    offset = _engine.resp_offset(np.float64, len(X), len(X))
    return Variational(priors_of(sk), sk.weight_concentration_prior_type, sk.covariance_type, sk.reg_covar, offset)


def assert_posterior(posterior, sk, rtol):
    np.testing.assert_allclose(np.asarray(posterior.weight_concentration), np.asarray(sk.weight_concentration_),
                               rtol=rtol)
    for ours, name in ((posterior.mean_precision, "mean_precision_"), (posterior.means, "means_"),
                       (posterior.degrees_of_freedom, "degrees_of_freedom_"), (posterior.covariances, "covariances_")):
        np.testing.assert_allclose(ours, getattr(sk, name), rtol=rtol, atol=rtol * 1e-3, err_msg=name)


@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("ctype", MODELS)
def test_one_update_and_its_lower_bound_are_scikit_learns(ctype, prior_type):
    """From scikit-learn's posterior after 3 iterations: its E-step (our
    mixture's responsibilities and log-densities), our statistics (the
    core's pass, with the responsibilities' entropy) through the rule,
    against its _m_step and _compute_lower_bound on its responsibilities."""
    sk = fitted_sklearn(ctype, prior_type, max_iter=3)
    rule = rule_of(sk)
    posterior = rule.assemble(sk.weight_concentration_, sk.mean_precision_, sk.means_, sk.degrees_of_freedom_,
                              sk.covariances_)
    log_prob_norm, log_resp = sk._estimate_log_prob_resp(X)
    np.testing.assert_allclose(posterior.e_step.factorised.responsibilities(X), np.exp(log_resp), rtol=0, atol=1e-12)
    np.testing.assert_allclose(posterior.e_step.factorised.log_density(X) + posterior.log_offset,
                               logsumexp(sk._estimate_weighted_log_prob(X), axis=1), rtol=1e-12)
    stats = rule.statistics(_engine.InMemory(X, None, "test", column_stats(X)), posterior)
    assert stats.latent_entropy == pytest.approx(-np.sum(np.exp(log_resp) * log_resp), rel=1e-10)
    updated = rule.update(stats)
    sk._m_step(X, log_resp)
    assert_posterior(updated, sk, 1e-10)
    assert rule.lower_bound(stats, updated) == pytest.approx(sk._compute_lower_bound(log_resp, log_prob_norm),
                                                             rel=1e-10)


@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("ctype", MODELS)
def test_the_engine_loop_with_the_rule_is_scikit_learns_fit(ctype, prior_type):
    """The engine's loop, from the posterior of scikit-learn's start (its
    k-means responsibilities from the same random_state), runs scikit-learn's
    iterations: the same number, the same lower bounds, the same posterior."""
    sk = fitted_sklearn(ctype, prior_type)
    rule = rule_of(sk)
    mixture = gaussmix.GaussianMixture(5, covariance_type=ctype, random_state=1, max_iter=0).fit(X).to_mixture()
    start = Start(mixture.weights, mixture.means, mixture.covariances, ctype, float(len(X)))
    source = _engine.InMemory(X, None, "test", column_stats(X))
    bounds = []
    run = _engine.iterate(source.for_start(mixture), rule, rule.initial(start), math.nan,
                          _engine.Settings(1, 100, 1e-3), lambda i, lb: bounds.append(lb))
    assert run.n_iter == sk.n_iter_ and run.converged == sk.converged_
    np.testing.assert_allclose(run.lower_bounds, np.ravel(sk.lower_bounds_), rtol=1e-9)  # (n_iter, 1) there
    assert_posterior(run.parameters, sk, 1e-7)
