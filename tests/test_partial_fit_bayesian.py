"""BayesianGaussianMixture.partial_fit (stochastic variational inference)
against a plain NumPy transcription: each batch's variational E-step
(tests/reference_variational.py), its raw moments per unit weight blended
with eta_t = (t + t0) ** -kappa, and the conjugate update of the blended
moments standing for every row seen; every covariance model and both weight
priors, weighted or not; continuing a fit; and a known mixture streamed once
reaching batch variational EM's fit."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

import reference_variational as rv  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from gaussmix import BayesianGaussianMixture  # noqa: E402
from gaussmix._params import InvalidParameterError  # noqa: E402

MODELS = ("full", "tied", "diag", "spherical")
PRIORS = ("dirichlet_process", "dirichlet_distribution")
K, D = 3, 3


def make_data(n, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0, 0.0], [5.0, 1.0, -3.0], [-3.0, 4.0, 2.0]]) + 20.0
    mixing = np.array([[1.0, 0.4, 0.0], [0.0, 0.8, 0.3], [0.2, 0.0, 1.2]])
    labels = rng.integers(K, size=n)
    return centres[labels] + rng.normal(size=(n, D)) @ mixing, labels


X, LABELS = make_data(2400)
W = np.random.default_rng(1).uniform(0.2, 2.0, len(X))


def posterior_of(model):
    concentration = model.weight_concentration_
    if model.weight_concentration_prior_type == "dirichlet_process":
        concentration = tuple(np.asarray(c) for c in concentration)
    return (concentration, np.asarray(model.mean_precision_), np.asarray(model.means_),
            model.degrees_of_freedom_, np.asarray(model.covariances_))


def priors_of(model):
    return (model.weight_concentration_prior_, model.mean_precision_prior_, model.mean_prior_,
            model.degrees_of_freedom_prior_, model.covariance_prior_)


def reference_svi(batches, posterior, priors, prior_type, ctype, reg_covar=1e-6, power=0.6, offset=2.0):
    """The transcription: the posterior after the batches, from posterior."""
    running, seen = None, 0.0
    for steps, (x, w) in enumerate(batches):
        w = np.ones(len(x)) if w is None else np.asarray(w, dtype=np.float64)
        resp, completed, conditional, _ = rv.e_step(x, posterior, prior_type, ctype)
        wr = resp * w[:, None]
        total = w.sum()
        moments = (wr.sum(axis=0) / total, np.einsum("ik,ikd->kd", wr, completed) / total,
                   (np.einsum("ik,ikd,ike->kde", wr, completed, completed)
                    + np.einsum("ik,ikde->kde", wr, conditional)) / total)
        eta = 1.0 if steps == 0 else (steps + offset) ** -power
        running = moments if running is None else tuple((1 - eta) * a + eta * b for a, b in zip(running, moments))
        seen += total
        r0, r1, r2 = running
        xk = r1 / r0[:, None]
        sk = r2 / r0[:, None, None] - np.einsum("kd,ke->kde", xk, xk)
        nk = seen * r0 + 10 * np.finfo(np.float64).eps * total / len(x)
        posterior = rv.conjugate_update(nk, xk, sk, priors, prior_type, ctype, reg_covar)
    return posterior


def assert_posterior(model, want, rtol=1e-9):
    got = posterior_of(model)
    names = ("weight_concentration_", "mean_precision_", "means_", "degrees_of_freedom_", "covariances_")
    for name, a, b in zip(names, got, want):
        np.testing.assert_allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), rtol=rtol,
                                   atol=rtol * np.abs(np.asarray(b, dtype=np.float64)).max(), err_msg=name)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("prior_type", PRIORS)
@pytest.mark.parametrize("ctype", MODELS)
def test_partial_fit_is_stochastic_variational_inference(ctype, prior_type, weighted):
    params = dict(n_components=K, covariance_type=ctype, weight_concentration_prior_type=prior_type, random_state=0)
    batches = [(X[i:i + 400], W[i:i + 400] if weighted else None) for i in range(0, 2000, 400)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # The start partial_fit's first call takes: the init on the first batch (max_iter=0 keeps it), and its priors.
        start = BayesianGaussianMixture(max_iter=0, **params).fit(batches[0][0], sample_weight=batches[0][1])
    model = BayesianGaussianMixture(**params)
    for x, w in batches:
        model.partial_fit(x, sample_weight=w)
    assert_posterior(model, reference_svi(batches, posterior_of(start), priors_of(start), prior_type, ctype))
    for name in ("weight_concentration_prior_", "mean_prior_", "covariance_prior_"):
        np.testing.assert_array_equal(getattr(model, name), getattr(start, name))  # the first batch's priors, kept
    assert model.n_iter_ == len(batches) and model.n_samples_seen_ == 2000 and not model.converged_


@pytest.mark.parametrize("ctype", MODELS)
def test_the_lower_bound_is_each_batchs_mean_log_density_before_its_step(ctype):
    model = BayesianGaussianMixture(K, covariance_type=ctype, random_state=0).partial_fit(X[:500])
    before = model.score(X[500:900])
    model.partial_fit(X[500:900])
    np.testing.assert_allclose(model.lower_bound_, before, rtol=1e-12)
    np.testing.assert_allclose(model.lower_bounds_[-1], before, rtol=1e-12)


@pytest.mark.parametrize("prior_type", PRIORS)
@pytest.mark.parametrize("ctype", MODELS)
def test_continuing_a_fit_starts_from_its_posterior_standing_for_its_rows(ctype, prior_type):
    params = dict(n_components=K, covariance_type=ctype, weight_concentration_prior_type=prior_type, random_state=0,
                  max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = BayesianGaussianMixture(**params).fit(X[:1200])
    posterior, priors = posterior_of(model), priors_of(model)
    model.partial_fit(X[1200:1500])
    # The fit's posterior is the conjugate update of the statistics of its 1,200 rows: the transcription
    # recovers them from the posterior (N_k = beta_k - beta_0, ...), blends the batch's in with
    # eta = (1200 // 300 + t0) ** -kappa, and updates with N = 1,500.
    gamma0, beta0, mean0, nu0, cov0 = priors
    concentration, beta, means, nu, covariances = posterior
    nk = beta - beta0
    xk = (beta[:, None] * means - beta0 * mean0) / nk[:, None]
    dense_prior = np.stack([np.diag(cov0) if ctype == "diag" else np.eye(D) * cov0 if ctype == "spherical"
                            else cov0] * K)  # the prior's one scale, for every component
    scale = rv.dense_covariances(ctype, covariances, K, D) * np.broadcast_to(nu, (K,))[:, None, None]
    diff = xk - mean0
    shrink = beta0 / beta
    if ctype == "tied":
        pooled = (scale[0] - cov0 - beta0 / K * np.einsum("k,kd,ke->de", nk / beta, diff, diff)) / (nk.sum() / K)
        sk = np.stack([pooled] * K) - 1e-6 * np.eye(D)
    else:
        outer = np.einsum("kd,ke->kde", diff, diff)
        if ctype == "diag":
            outer = outer * np.eye(D)
        elif ctype == "spherical":
            outer = np.eye(D) * (diff ** 2).mean(axis=1)[:, None, None]
        sk = ((scale - dense_prior) / nk[:, None, None] - shrink[:, None, None] * outer) - 1e-6 * np.eye(D)
    total = nk.sum()
    r0, r1 = nk / total, (nk / total)[:, None] * xk
    r2 = r0[:, None, None] * (sk + np.einsum("kd,ke->kde", xk, xk))
    resp, completed, conditional, _ = rv.e_step(X[1200:1500], posterior, prior_type, ctype)
    n = 300
    moments = (resp.sum(axis=0) / n, np.einsum("ik,ikd->kd", resp, completed) / n,
               np.einsum("ik,ikd,ike->kde", resp, completed, completed) / n)
    eta = (1200 // 300 + 2.0) ** -0.6
    r0, r1, r2 = ((1 - eta) * a + eta * b for a, b in zip((r0, r1, r2), moments))
    x2 = r1 / r0[:, None]
    s2 = r2 / r0[:, None, None] - np.einsum("kd,ke->kde", x2, x2)
    if ctype == "diag":
        s2 = s2 * np.eye(D)
    elif ctype == "spherical":
        s2 = np.eye(D) * np.diagonal(s2, axis1=1, axis2=2).mean(axis=1)[:, None, None]
    elif ctype == "tied":
        s2 = np.stack([np.einsum("k,kde->de", r0, s2) / r0.sum()] * K)
    want = rv.conjugate_update(1500 * r0, x2, s2, priors, prior_type, ctype, 1e-6)
    assert_posterior(model, want, rtol=1e-7)
    assert model.n_samples_seen_ == 1500


def test_a_known_mixture_streamed_once_reaches_batch_variational_em():
    x, labels = make_data(200_000, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        batch = BayesianGaussianMixture(K, random_state=0, max_iter=300).fit(x)
    model = BayesianGaussianMixture(K, random_state=0)
    for i in range(0, len(x), 1000):
        model.partial_fit(x[i:i + 1000])
    assert abs(model.score(x) - batch.score(x)) < 0.005 * abs(batch.score(x))
    np.testing.assert_allclose(np.sort(model.weights_), np.sort(batch.weights_), atol=0.01)
    # Each true cluster's rows go to one component.
    predicted = model.predict(x)
    for k in range(K):
        assert np.bincount(predicted[labels == k]).max() > 0.99 * np.count_nonzero(labels == k)


def test_bad_step_sizes_and_batches_are_refused():
    for bad in (0.5, 1.5, True):
        with pytest.raises(InvalidParameterError, match="'step_size_power' parameter of BayesianGaussianMixture"):
            BayesianGaussianMixture(K, step_size_power=bad).partial_fit(X)
    with pytest.raises(InvalidParameterError, match="'step_size_offset' parameter"):
        BayesianGaussianMixture(K, step_size_offset=-1.0).partial_fit(X)
    model = BayesianGaussianMixture(K, random_state=0).partial_fit(X[:300])
    with pytest.raises(ValueError, match="X has 2 features, but BayesianGaussianMixture is expecting 3 features"):
        model.partial_fit(X[:10, :2])
    with pytest.raises(ValueError, match="prune_threshold"):
        BayesianGaussianMixture(K, prune_threshold=0.01).partial_fit(X)


def test_a_loaded_model_continues_as_the_fitted_one(tmp_path):
    """A model file does not record the rows seen; the posterior does (sum_k beta_k - beta_0)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = BayesianGaussianMixture(K, random_state=0, max_iter=5).fit(X[:1200])
    fitted.save(tmp_path / "m.npz")
    loaded = BayesianGaussianMixture.load(tmp_path / "m.npz")
    assert not hasattr(loaded, "n_samples_seen_")
    fitted.partial_fit(X[1200:1500])
    loaded.partial_fit(X[1200:1500])
    assert_posterior(loaded, posterior_of(fitted), rtol=1e-9)
    assert loaded.n_samples_seen_ == fitted.n_samples_seen_ == 1500
