"""BayesianGaussianMixture on rows with NaN: the fit against a plain NumPy
transcription of variational EM with the missing entries among the latent
variables (tests/reference_variational.py), its lower bound never
decreasing, the default priors against a NumPy EM of one Gaussian, and
scoring rows with NaN on their observed entries."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

import model_reference  # noqa: E402
from scipy.special import digamma, logsumexp  # noqa: E402
import reference_missing  # noqa: E402
import reference_variational as ref  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from gaussmix import BayesianGaussianMixture  # noqa: E402

MODELS = ("full", "tied", "diag", "spherical")
PRIOR_TYPES = ("dirichlet_process", "dirichlet_distribution")
K = 4


def make_data(n=150, seed=0):
    """Three correlated clusters in 3 dimensions, about 25% of the entries NaN (a row keeps one)."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0, 0.0], [5.0, 1.0, -3.0], [-3.0, 4.0, 2.0]])
    mixing = np.array([[1.0, 0.6, 0.0], [0.0, 1.0, 0.5], [0.3, 0.0, 0.8]])
    X = centres[rng.integers(3, size=n)] + rng.normal(size=(n, 3)) @ mixing
    holes = rng.random(X.shape) < 0.25
    holes[holes.all(axis=1), 0] = False
    X[holes] = np.nan
    return X


X = make_data()
W = np.random.default_rng(5).uniform(0.5, 2.0, len(X))


def fitted(max_iter, ctype, prior_type, X=X, sample_weight=None, **params):
    model = BayesianGaussianMixture(n_components=K, covariance_type=ctype, weight_concentration_prior_type=prior_type,
                                    max_iter=max_iter, tol=0.0, random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # tol=0: runs max_iter iterations by design
        return model.fit(X, sample_weight=sample_weight)


def posterior_of(model):
    concentration = model.weight_concentration_
    if isinstance(concentration, tuple):
        concentration = tuple(np.array(c) for c in concentration)
    return (concentration, model.mean_precision_.copy(), model.means_.copy(), np.copy(model.degrees_of_freedom_),
            model.covariances_.copy())


def priors_of(model):
    return (model.weight_concentration_prior_, model.mean_precision_prior_, model.mean_prior_,
            model.degrees_of_freedom_prior_, model.covariance_prior_)


def assert_close(got, want, rtol, name):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    scale = np.max(np.abs(want))
    assert np.max(np.abs(got - want)) <= rtol * scale, name


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("ctype", MODELS)
def test_the_fit_is_the_numpy_transcription_of_variational_em_with_missing_entries(ctype, prior_type, weighted):
    """From the start (the model after max_iter=0) and priors of the fit, six
    iterations of the transcription give the fit's posterior, every lower
    bound, and its predict_proba and score_samples of rows with NaN."""
    w = W if weighted else None
    start = fitted(0, ctype, prior_type, sample_weight=w)
    model = fitted(6, ctype, prior_type, sample_weight=w)
    for name in ("mean_prior_", "covariance_prior_"):
        np.testing.assert_array_equal(getattr(model, name), getattr(start, name))
    posterior, bounds = ref.fit(X, posterior_of(start), priors_of(model), prior_type, ctype, 6, w)
    concentration, beta, means, nu, covariances = posterior
    got_concentration = model.weight_concentration_
    if prior_type == "dirichlet_process":
        for got, want in zip(got_concentration, concentration):
            assert_close(got, want, 1e-9, "weight_concentration_")
    else:
        assert_close(got_concentration, concentration, 1e-9, "weight_concentration_")
    assert_close(model.mean_precision_, beta, 1e-9, "mean_precision_")
    assert_close(model.means_, means, 1e-9, "means_")
    assert_close(model.degrees_of_freedom_, nu, 1e-9, "degrees_of_freedom_")
    assert_close(model.covariances_, covariances, 1e-9, "covariances_")
    np.testing.assert_allclose(model.lower_bounds_, bounds, rtol=1e-9)
    resp, _, _, _ = ref.e_step(X, posterior, prior_type, ctype)
    np.testing.assert_allclose(model.predict_proba(X), resp, rtol=1e-7, atol=1e-9)
    assert np.isnan(X).any(axis=1).sum() > 50  # the rows with NaN are tested, not only the complete ones


@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("ctype", MODELS)
def test_the_lower_bound_never_decreases(ctype, prior_type):
    """Coordinate ascent on q(z, x_M) and q(theta): with reg_covar = 0 every
    step is optimal and the bound rises to convergence."""
    model = BayesianGaussianMixture(n_components=6, covariance_type=ctype, weight_concentration_prior_type=prior_type,
                                    reg_covar=0.0, max_iter=200, tol=1e-10, random_state=1).fit(X)
    bounds = np.array(model.lower_bounds_)
    assert len(bounds) > 10
    assert np.all(np.diff(bounds) >= -1e-12 * np.abs(bounds[1:])), np.diff(bounds).min()


@pytest.mark.parametrize("weighted", [False, True])
def test_the_default_priors_are_one_gaussians_maximum_likelihood_fit(weighted):
    """mean_prior_ and covariance_prior_ (full; diag and spherical its
    diagonal and their mean) are the maximum-likelihood mean and covariance
    of one Gaussian on the observed entries (the NumPy EM, run to its fixed
    point), the covariance times n / (n - 1); mean-filling would shrink the
    variances by about the share of NaN."""
    w = W if weighted else None
    total = len(X) if w is None else W.sum()
    filled = np.where(np.isnan(X), np.nanmean(X, axis=0), X)
    _, mean, covariance, _ = reference_missing.fit(X, np.ones(1), filled.mean(axis=0)[None],
                                                   np.cov(filled.T)[None], "full", 400, w)
    covariance = covariance[0] * total / (total - 1)
    for ctype, want in (("full", covariance), ("tied", covariance), ("diag", np.diag(covariance)),
                        ("spherical", np.diag(covariance).mean())):
        model = fitted(1, ctype, "dirichlet_process", sample_weight=w)
        np.testing.assert_allclose(model.mean_prior_, mean[0], rtol=1e-5, err_msg=ctype)
        np.testing.assert_allclose(model.covariance_prior_, want, rtol=1e-5, atol=1e-5 * np.max(want), err_msg=ctype)
    shrunk = np.cov(filled.T)
    assert np.max(np.abs(shrunk - covariance)) > 0.1 * np.max(covariance)  # the test tells the two apart


def test_rows_with_nan_score_on_their_observed_entries():
    """A row with NaN scores like the model's marginal over its observed
    entries: its score_samples is the variational log-normaliser of the
    E-step over those entries (the transcription's), and a complete row
    scores as before."""
    model = fitted(5, "full", "dirichlet_process")
    posterior = posterior_of(model)
    complete = ~np.isnan(X).any(axis=1)
    log_prob = model.score_samples(X)
    np.testing.assert_array_equal(log_prob[complete], model.score_samples(X[complete]))
    # the E-step's log-normaliser: logsumexp over k of the transcription's log q(z = k) terms
    want = _log_normaliser(X, posterior, "dirichlet_process", "full")
    np.testing.assert_allclose(log_prob, want, rtol=1e-9)
    np.testing.assert_array_equal(model.predict(X), model.predict_proba(X).argmax(axis=1))


def _log_normaliser(X, posterior, prior_type, ctype):
    """log sum_k exp(E[log pi_k] + log of E[log N(x | mu_k, Lambda_k)] integrated over x_M) per row."""
    concentration, beta, means, nu, covariances = posterior
    N, D = X.shape
    Kc = len(beta)
    nu = np.broadcast_to(np.asarray(nu, dtype=np.float64), (Kc,))
    precisions = np.linalg.inv(model_reference.dense_covariances(ctype, covariances, Kc, D))
    e_log_pi = ref.expected_log_weights(concentration, prior_type)
    out = np.empty(N)
    for i in range(N):
        o = ~np.isnan(X[i])
        m = ~o
        terms = []
        for k in range(Kc):
            P = precisions[k]
            e_log_det = (D * np.log(2.0) + digamma(0.5 * (nu[k] - np.arange(D))).sum()
                         + np.linalg.slogdet(P)[1] - D * np.log(nu[k]))
            P_oo, P_om, P_mm = P[np.ix_(o, o)], P[np.ix_(o, m)], P[np.ix_(m, m)]
            d = X[i, o] - means[k, o]
            schur = P_oo - P_om @ np.linalg.solve(P_mm, P_om.T) if m.any() else P_oo
            terms.append(e_log_pi[k] + 0.5 * e_log_det - 0.5 * D / beta[k] - 0.5 * o.sum() * np.log(2 * np.pi)
                         - 0.5 * (np.linalg.slogdet(P_mm)[1] if m.any() else 0.0) - 0.5 * d @ schur @ d)
        out[i] = logsumexp(terms)
    return out


def test_a_default_covariance_prior_needs_weights_that_count_more_than_one_row():
    with pytest.raises(ValueError, match="sample_weight sums to 0.5.*give covariance_prior"):
        BayesianGaussianMixture(n_components=2).fit(X, sample_weight=np.full(len(X), 0.5 / len(X)))
    model = BayesianGaussianMixture(n_components=2, covariance_prior=np.eye(3), random_state=0, max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, sample_weight=np.full(len(X), 0.5 / len(X)))
    assert np.isfinite(model.lower_bound_)
