"""A mixture factorised once (the core's FactorisedMixture, which
gaussmix.Mixture wraps): its scores and statistics against SciPy and the NumPy
transcription in model_reference.py, in float64 and float32; the M-step's and
the fit's mixtures taken as the core made them; and a fitted estimator that
scores through its own factorisation rather than a mixture rebuilt per call."""
import pickle

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

import gaussmix
import model_reference as ref
from gaussmix import _core
from model_reference import assert_close, problem, start

MODELS = ref.MODELS


def _reference_log_prob(X, weights, means, covariances, covariance_type):
    dense = ref.dense_covariances(covariance_type, covariances, *np.shape(means))
    return np.stack([np.log(w) + multivariate_normal(m, c).logpdf(X) for w, m, c in zip(weights, means, dense)],
                    axis=1)


@pytest.mark.parametrize("covariance_type", MODELS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_score_of_a_factorised_mixture_matches_scipy(covariance_type, dtype):
    """float32 rows run the float32 kernels: SciPy on the same values (cast to
    float64) differs by their rounding only (see test_models: 64 eps)."""
    X, means = problem(70, far=True)
    X = X.astype(dtype)
    weights, means, covs = start(covariance_type, X, means)
    f = _core.FactorisedMixture(weights, means, covs, covariance_type)
    want = _reference_log_prob(X.astype(np.float64), weights, means, covs, covariance_type)
    density = logsumexp(want, axis=1)
    rtol = 1e-10 if dtype == np.float64 else 64 * float(np.finfo(np.float32).eps)
    for _ in range(2):  # the second call reuses the caches of the first
        assert_close(f.log_prob_components(X), want, rtol)
        assert_close(f.log_density(X), density, rtol)
        np.testing.assert_allclose(f.responsibilities(X), np.exp(want - density[:, None]), rtol=0,
                                   atol=1e-10 if dtype == np.float64 else 1e-4)
        assert f.log_likelihood(X) == pytest.approx(density.sum(), rel=rtol)
        np.testing.assert_array_equal(f.assign_to_component(X), want.argmax(axis=1))
        both = f.log_density_and_map(X)
        assert both[0].dtype == both[1].dtype == np.float64
        assert_close(both[0], density, rtol)
        np.testing.assert_allclose(both[1], (want - density[:, None]).max(axis=1), rtol=rtol,
                                   atol=1e-12 if dtype == np.float64 else 1e-5)
    assert f.log_density(X, float32_output=True).dtype == np.float32
    assert f.covariance_type == covariance_type
    for got, given in zip(f.parameters, (weights, means, covs)):
        np.testing.assert_array_equal(got, given)


@pytest.mark.parametrize("covariance_type", MODELS)
def test_statistics_of_a_factorised_mixture_are_their_definition(covariance_type):
    X, means = problem(71, far=True)
    weights, means, covs = start(covariance_type, X, means)
    w = np.random.default_rng(72).uniform(0.5, 1.5, len(X))
    f = _core.FactorisedMixture(weights, means, covs, covariance_type)
    s = f.accumulate_stats(X, w, 2)
    want = ref.statistics(X, weights, means, covs, covariance_type, s.shift, w)
    for name in ("resp_sum", "first", "second"):
        assert_close(getattr(s, name), want[name], 1e-9, name)
    assert s.log_likelihood == pytest.approx(want["log_likelihood"], rel=1e-12)
    assert s.weight_sum == pytest.approx(want["weight_sum"], rel=1e-14)
    assert want["latent_entropy"] > 0.5  # the rows are not all certain of their component
    assert s.latent_entropy == pytest.approx(want["latent_entropy"], rel=1e-10)
    around = f.accumulate_stats(X, w, 2, np.asarray(means) + 1.0)
    np.testing.assert_array_equal(around.shift, np.asarray(means) + 1.0)


def test_a_factorised_mixture_refuses_what_a_mixture_refuses():
    with pytest.raises(_core.Cov_problem):
        _core.FactorisedMixture([0.5, 0.5], np.zeros((2, 2)), np.stack([np.eye(2), -np.eye(2)]), "full")
    with pytest.raises(ValueError):
        _core.FactorisedMixture([0.5, 0.6], np.zeros((2, 2)), np.ones((2, 2)), "diag")


@pytest.mark.parametrize("covariance_type", MODELS)
def test_the_m_step_gives_a_factorised_mixture(covariance_type):
    """_core.m_step returns the mixture the core made; gaussmix.m_step wraps
    it: parameters as the reference M-step's, scores as SciPy's of them."""
    X, means = problem(73)
    mixture = gaussmix.Mixture(*start(covariance_type, X, means), covariance_type=covariance_type)
    stats = gaussmix.block_stats(X, mixture)
    made = _core.m_step(stats, np.empty(0), 1e-6)
    assert type(made) is _core.FactorisedMixture
    stepped = gaussmix.m_step(stats, reg_covar=1e-6)
    want = ref.em_step(X, *start(covariance_type, X, means), covariance_type, reg_covar=1e-6)
    for got, expected, name in zip((stepped.weights, stepped.means, stepped.covariances), want,
                                   ("weights", "means", "covariances")):
        assert_close(got, expected, 1e-9, name)
        assert not got.flags.writeable
    assert_close(stepped.log_density(X), logsumexp(_reference_log_prob(X, *want[:3], covariance_type), axis=1),
                 1e-10)


@pytest.mark.parametrize("covariance_type", MODELS)
def test_a_stepped_mixture_and_its_pickled_copy_are_the_same_mixture(covariance_type):
    """A worker gets the mixture pickled (plain arrays, factorised again there):
    its statistics must merge with those of the M-step's own mixture, which
    they do only if both hold the same parameters bit for bit (the tied
    model's pooled covariance included, whose triangles round differently)."""
    X, means = problem(74, n=900)
    mixture = gaussmix.Mixture(*start(covariance_type, X, means), covariance_type=covariance_type)
    stepped = gaussmix.m_step(gaussmix.block_stats(X, mixture), reg_covar=1e-6)
    copy = pickle.loads(pickle.dumps(stepped))
    mine, theirs = gaussmix.block_stats(X[:500], stepped), gaussmix.block_stats(X[500:], copy)
    assert gaussmix.block_stats(X[:500], copy) == mine
    assert (mine + theirs).n_rows == len(X)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_fitted_estimator_scores_with_its_own_factorisation(monkeypatch, dtype):
    """score_samples, predict_proba and predict go through the fitted mixture's
    factorisation, not through the free functions that make a mixture from
    arrays per call (those are made to fail here); the results are scikit-
    learn's for the same fitted parameters."""
    from sklearn.mixture import GaussianMixture as SkGaussianMixture

    X, _ = problem(75, n=1500)
    X = X.astype(dtype)
    model = gaussmix.GaussianMixture(3, random_state=0).fit(X)
    reference = SkGaussianMixture(3, random_state=0).fit(X.astype(np.float64))
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_"):
        setattr(reference, name, getattr(model, name).astype(np.float64))

    def rebuilt_per_call(*args, **kwargs):
        raise AssertionError("a fitted model scored through a mixture made from arrays")

    for name in ("log_prob_components", "log_density", "responsibilities", "assign_to_component"):
        monkeypatch.setattr(_core, name, rebuilt_per_call)
    rtol = 1e-10 if dtype == np.float64 else 1e-4
    assert_close(model.score_samples(X), reference.score_samples(X.astype(np.float64)), rtol)
    np.testing.assert_allclose(model.predict_proba(X), reference.predict_proba(X.astype(np.float64)), atol=rtol)
    np.testing.assert_array_equal(model.predict(X), reference.predict(X.astype(np.float64)))
