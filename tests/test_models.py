"""The four covariance models (full, tied, diag, spherical) of gaussmix.Mixture,
block_stats, m_step and fit_em, against independent references: SciPy's
densities, the NumPy transcription in model_reference.py, and scikit-learn's
GaussianMixture from the same start."""

import warnings

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

import gaussmix
import model_reference as ref
from model_reference import assert_close, problem, start
from gaussmix.gmm import Cov_problem
from helpers import assert_unchanged, snapshot

MODELS = ref.MODELS
EPS32 = float(np.finfo(np.float32).eps)


# ---------------------------------------------------------------- helpers
def assert_mixture_close(mix, weights, means, covariances, rtol):
    assert_close(mix.weights, weights, rtol, "weights")
    assert_close(mix.means, means, rtol, "means")
    assert_close(mix.covariances, covariances, rtol, "covariances")


def start_mixture(covariance_type, X, means):
    return gaussmix.Mixture(*start(covariance_type, X, means), covariance_type=covariance_type)


# ---------------------------------------------------------------- 1. densities against SciPy
@pytest.mark.parametrize("covariance_type", MODELS)
@pytest.mark.parametrize("far", [False, True], ids=["near", "far"])
def test_densities_match_scipy(covariance_type, far):
    X, means = problem(1, far)
    weights, means, covs = start(covariance_type, X, means)
    mix = gaussmix.Mixture(weights, means, covs, covariance_type)
    dense = ref.dense_covariances(covariance_type, covs, 3, 3)
    want = np.stack([np.log(weights[k]) + multivariate_normal(means[k], dense[k]).logpdf(X) for k in range(3)],
                    axis=1)
    want_density = logsumexp(want, axis=1)
    assert_close(mix.log_prob_components(X), want, 1e-10)
    assert_close(mix.log_density(X), want_density, 1e-10)
    np.testing.assert_allclose(mix.responsibilities(X), np.exp(want - want_density[:, None]), rtol=0, atol=1e-10)


@pytest.mark.parametrize("covariance_type", MODELS)
def test_densities_of_float32_rows_match_scipy(covariance_type):
    """float32 X runs float32 kernels. The reference is SciPy on the very same
    values (X32 cast to float64), so only the kernels' rounding differs: the
    whitened coordinates carry a relative error of a few float32 eps, hence
    the log-densities an error of a few eps times (1 + |log-density|); 64 eps
    leaves room for that and still fails any wrong formula by orders of
    magnitude (measured: about 3 eps)."""
    X, means = problem(2)
    X32 = X.astype(np.float32)
    weights, means, covs = start(covariance_type, X, means)
    mix = gaussmix.Mixture(weights, means, covs, covariance_type)
    dense = ref.dense_covariances(covariance_type, covs, 3, 3)
    x = X32.astype(np.float64)
    want = np.stack([np.log(weights[k]) + multivariate_normal(means[k], dense[k]).logpdf(x) for k in range(3)],
                    axis=1)
    want_density = logsumexp(want, axis=1)
    for got, expected in ((mix.log_prob_components(X32), want), (mix.log_density(X32), want_density)):
        assert got.dtype == np.float64
        np.testing.assert_array_less(np.abs(got - expected), 64 * EPS32 * (1 + np.abs(expected)))
    np.testing.assert_allclose(mix.responsibilities(X32), np.exp(want - want_density[:, None]), rtol=0,
                               atol=64 * EPS32 * (1 + np.abs(want).max()))


def test_the_four_models_are_different_models():
    """The same dense covariances given as each model score identically (a
    model that ignored its shape, or scored another model, would not)."""
    X, means = problem(3)
    D = 3
    var = np.array([0.5, 1.5, 2.0])
    same = {
        "full": np.stack([np.diag(var) * s for s in (1.0, 1.0, 1.0)]),
        "tied": np.diag(var),
        "diag": np.tile(var, (3, 1)),
    }
    dens = {t: gaussmix.Mixture([0.2, 0.3, 0.5], means, c, t).log_density(X) for t, c in same.items()}
    assert_close(dens["tied"], dens["full"], 1e-12)
    assert_close(dens["diag"], dens["full"], 1e-12)
    sph = gaussmix.Mixture([0.2, 0.3, 0.5], means, [1.0, 1.0, 1.0], "spherical").log_density(X)
    full_eye = gaussmix.Mixture([0.2, 0.3, 0.5], means, np.stack([np.eye(D)] * 3), "full").log_density(X)
    assert_close(sph, full_eye, 1e-12)


# ---------------------------------------------------------------- 2. one E-step + M-step
def _weights(n, seed):
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.0, 3.0, n)
    w[rng.choice(n, n // 10, replace=False)] = 0.0
    return w


@pytest.mark.parametrize("covariance_type", MODELS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("far", [False, True], ids=["near", "far"])
def test_one_em_step_matches_the_formulas(covariance_type, weighted, far):
    X, means = problem(4, far)
    init = start(covariance_type, X, means)
    mix = gaussmix.Mixture(*init, covariance_type)
    sw = _weights(len(X), 5) if weighted else None
    reg = 1e-3
    w_ref, m_ref, c_ref, ll_ref = ref.em_step(X, *init, covariance_type, sw, reg)
    total = len(X) if sw is None else sw.sum()

    stats = gaussmix.block_stats(X, mix, sample_weight=sw)
    assert stats.covariance_type == covariance_type
    assert stats.n_rows == len(X)
    assert stats.weight_sum == pytest.approx(total, rel=1e-14)
    assert stats.log_likelihood == pytest.approx(ll_ref, rel=1e-10)
    stepped = gaussmix.m_step(stats, reg_covar=reg)
    assert stepped.covariance_type == covariance_type
    assert_mixture_close(stepped, w_ref, m_ref, c_ref, 1e-10)

    fit = gaussmix.fit_em(X, mix, sample_weight=sw, max_iter=1, tol=0, reg_covar=reg)
    assert fit.n_iter == 1 and not fit.converged
    assert fit.log_likelihood == pytest.approx(ll_ref, rel=1e-10)
    assert fit.lower_bound == pytest.approx(ll_ref / total, rel=1e-10)
    assert_mixture_close(fit.mixture, w_ref, m_ref, c_ref, 1e-10)


@pytest.mark.parametrize("covariance_type", MODELS)
@pytest.mark.parametrize("far", [False, True], ids=["near", "far"])
def test_statistics_are_their_definition(covariance_type, far):
    """Each field of SufficientStats against its documented formula around the
    shift block_stats reports (shapes: scikit-learn's covariance shapes)."""
    X, means = problem(6, far)
    init = start(covariance_type, X, means)
    sw = _weights(len(X), 7)
    stats = gaussmix.block_stats(X, gaussmix.Mixture(*init, covariance_type), sample_weight=sw)
    assert stats.shift.shape == (3, 3)
    want = ref.statistics(X, *init, covariance_type, stats.shift, sw)
    assert stats.second.shape == want["second"].shape
    assert_close(stats.resp_sum, want["resp_sum"], 1e-11, "resp_sum")
    assert_close(stats.first, want["first"], 1e-11, "first")
    assert_close(stats.second, want["second"], 1e-11, "second")
    assert stats.log_likelihood == pytest.approx(want["log_likelihood"], rel=1e-11)
    assert stats.weight_sum == pytest.approx(want["weight_sum"], rel=1e-14)
    if covariance_type == "full":
        np.testing.assert_array_equal(stats.second, np.swapaxes(stats.second, 1, 2))
    if far:  # the far component is summed around its own mean, the others around the mixture's
        np.testing.assert_array_equal(stats.shift[2], init[1][2])
        np.testing.assert_array_equal(stats.shift[0], stats.shift[1])


# ---------------------------------------------------------------- 3. 20 iterations against scikit-learn
@pytest.mark.parametrize("covariance_type", MODELS)
@pytest.mark.parametrize("far", [False, True], ids=["near", "far"])
def test_twenty_iterations_match_scikit_learn(covariance_type, far):
    X, means = problem(8, far, n=500)
    weights, means, covs = start(covariance_type, X, means)
    gm = GaussianMixture(n_components=3, covariance_type=covariance_type, weights_init=weights,
                         means_init=means, precisions_init=ref.precisions(covariance_type, covs), tol=0,
                         max_iter=20, reg_covar=1e-6, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # tol=0: it never converges, by design
        gm.fit(X)
    assert gm.n_iter_ == 20
    fit = gaussmix.fit_em(X, gaussmix.Mixture(weights, means, covs, covariance_type), max_iter=20, tol=0,
                          reg_covar=1e-6)
    assert fit.n_iter == 20 and not fit.converged
    assert fit.mixture.covariances.shape == gm.covariances_.shape
    assert_mixture_close(fit.mixture, gm.weights_, gm.means_, gm.covariances_, 1e-9)
    assert fit.lower_bound == pytest.approx(gm.lower_bound_, rel=1e-9)
    assert fit.log_likelihood == pytest.approx(gm.lower_bound_ * len(X), rel=1e-9)


# ---------------------------------------------------------------- 5. float32 far from the origin
@pytest.mark.parametrize("covariance_type", MODELS)
@pytest.mark.parametrize("apart", [3.0, 40.0], ids=["3sd", "40sd"])
def test_float32_at_1e4_keeps_variances_positive_and_matches_float64(covariance_type, apart):
    """scikit-learn #30382: float32 data at 1e4 + unit noise can give negative
    diagonal variances from cancellation. Here each component's statistics
    are taken around a shift, so every variance stays positive and the float32
    fit lands within 1e-3 of the float64 fit of the same (float32) values from
    the same start. apart=40 puts the clusters so far apart that float32 sums
    them around their own means."""
    rng = np.random.default_rng(9)
    D, n = 4, 200_000
    centres = 1e4 + apart * np.array([[0, 0, 0, 0], [1, 0, 1, 0], [0, 1, 0, -1]], dtype=np.float64)
    X32 = (centres[rng.integers(0, 3, n)] + rng.standard_normal((n, D))).astype(np.float32)
    X64 = X32.astype(np.float64)
    means = centres + 0.3 * rng.standard_normal(centres.shape)
    dense = np.stack([np.eye(D) * (1.0 + 0.2 * k) for k in range(3)])
    init = gaussmix.Mixture([0.3, 0.3, 0.4], means, ref.model_covariances(covariance_type, dense),
                            covariance_type)
    f32 = gaussmix.fit_em(X32, init, max_iter=8, tol=0).mixture
    f64 = gaussmix.fit_em(X64, init, max_iter=8, tol=0).mixture
    # float32 kernels really ran (a silent float64 fallback would give the same bits)
    assert not np.array_equal(f32.covariances, f64.covariances)
    var32 = f32.variances()
    assert np.all(var32 > 0)
    assert_close(var32, np.ones((3, D)), 0.05)  # unit noise: variances near 1, not cancellation residue
    assert_close(f32.weights, f64.weights, 1e-3)
    # the means relative to the clusters' unit scale (relative to 1e4, 1e-3 would allow 10 sds)
    np.testing.assert_allclose(f32.means, f64.means, rtol=0, atol=1e-3)
    assert_close(f32.covariances, f64.covariances, 1e-3)


# ---------------------------------------------------------------- 7. threads
@pytest.fixture
def thread_counts():
    """Yields set_num_threads and restores the count the test found."""
    before = gaussmix.get_num_threads()
    yield gaussmix.set_num_threads
    gaussmix.set_num_threads(before)


@pytest.mark.parametrize("covariance_type", MODELS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_one_two_and_three_threads_give_the_same_bits(covariance_type, dtype, thread_counts):
    # 40 row blocks of 512: enough chunks for every thread; the far cluster
    # brings in the per-component path too.
    X, means = problem(10, far=True, n=20_000)
    X = X.astype(dtype)
    init = start_mixture(covariance_type, X, means)
    sw = _weights(len(X), 11)
    results = []
    for n in (1, 2, 3):
        thread_counts(n)
        assert gaussmix.get_num_threads() == n
        fit = gaussmix.fit_em(X, init, sample_weight=sw, max_iter=4, tol=0, reg_covar=1e-6)
        stats = gaussmix.block_stats(X, fit.mixture, sample_weight=sw)
        results.append((fit, stats))
    (fit1, stats1) = results[0]
    for fit, stats in results[1:]:
        for name in ("weights", "means", "covariances"):
            np.testing.assert_array_equal(getattr(fit.mixture, name), getattr(fit1.mixture, name), err_msg=name)
        assert fit.log_likelihood == fit1.log_likelihood
        for name in ("shift", "resp_sum", "first", "second"):
            np.testing.assert_array_equal(getattr(stats, name), getattr(stats1, name), err_msg=name)
        assert stats.log_likelihood == stats1.log_likelihood


# ---------------------------------------------------------------- 8. bad input
def _valid(covariance_type, K=2, D=3):
    dense = np.stack([np.eye(D) * (1 + k) for k in range(K)])
    return np.full(K, 1.0 / K), np.arange(K * D, dtype=float).reshape(K, D), ref.model_covariances(
        covariance_type, dense)


@pytest.mark.parametrize("covariance_type, bad_shape", [
    ("full", (3, 3)), ("full", (2, 3, 2)), ("full", (3, 3, 3)),
    ("tied", (2, 3, 3)), ("tied", (3, 2)),
    ("diag", (2,)), ("diag", (2, 2)), ("diag", (2, 3, 3)),
    ("spherical", (2, 3)), ("spherical", (3,)), ("spherical", ()),
])
def test_mixture_refuses_covariances_of_another_models_shape(covariance_type, bad_shape):
    w, m, _ = _valid(covariance_type)
    with pytest.raises(ValueError, match=r"Mixture\(\): .*covariances must have shape"):
        gaussmix.Mixture(w, m, np.ones(bad_shape), covariance_type)


@pytest.mark.parametrize("covariance_type, covariances", [
    ("full", [np.eye(3), np.diag([1.0, -1.0, 1.0])]),
    ("full", [np.eye(3), np.ones((3, 3))]),  # singular
    ("tied", np.array([[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]])),  # eigenvalue -1
    ("diag", [[1.0, 1.0, 1.0], [1.0, -0.5, 1.0]]),
    ("diag", [[1.0, 0.0, 1.0], [1.0, 1.0, 1.0]]),
    ("spherical", [1.0, -2.0]),
    ("spherical", [0.0, 1.0]),
])
def test_mixture_refuses_covariances_that_are_not_positive_definite(covariance_type, covariances):
    w, m, _ = _valid(covariance_type)
    with pytest.raises(ValueError, match=r"Mixture\(\): covariances: .*positive definite"):
        gaussmix.Mixture(w, m, covariances, covariance_type)


@pytest.mark.parametrize("covariance_type", MODELS)
def test_mixture_refuses_bad_weights_means_and_values(covariance_type):
    w, m, c = _valid(covariance_type)
    cases = [
        ([0.5, 0.6], m, c, r"weights must be non-negative and sum to 1"),
        ([1.5, -0.5], m, c, r"weights must be non-negative and sum to 1"),
        ([1.0], m, c, r"weights must have shape \(2,\)"),
        (w, m[:, :, None], c, r"means must have shape \(K, D\)"),
        (w, np.where(np.eye(2, 3) > 0, np.nan, m), c, r"means contain NaN"),
        (w, m, np.full(np.shape(c), np.inf), r"covariances contain NaN or infinite"),
    ]
    for weights, means, covs, message in cases:
        with pytest.raises(ValueError, match=r"Mixture\(\): " + message):
            gaussmix.Mixture(weights, means, covs, covariance_type)
    with pytest.raises(TypeError, match=r"Mixture\(\): means must be numeric"):
        gaussmix.Mixture(w, np.full(np.shape(m), "a"), c, covariance_type)


@pytest.mark.parametrize("name", ["Full", "diagonal", "", None, 3])
def test_mixture_refuses_an_unknown_covariance_type(name):
    w, m, c = _valid("full")
    with pytest.raises(ValueError, match=r"Mixture\(\): covariance_type must be one of 'full', 'tied', 'diag', "
                                         r"'spherical'"):
        gaussmix.Mixture(w, m, c, name)


def test_full_and_tied_refuse_asymmetric_covariances():
    w, m, _ = _valid("tied")
    tilted = np.eye(3)
    tilted[0, 1] = 0.5
    with pytest.raises(ValueError, match=r"Mixture\(\): covariances must be symmetric"):
        gaussmix.Mixture(w, m, tilted, "tied")
    with pytest.raises(ValueError, match=r"Mixture\(\): covariances must be symmetric"):
        gaussmix.Mixture(w, m, np.stack([np.eye(3), tilted]), "full")


@pytest.mark.parametrize("covariance_type", MODELS)
def test_m_step_and_fit_em_refuse_bad_arguments(covariance_type):
    X, means = problem(12)
    mix = start_mixture(covariance_type, X, means)
    stats = gaussmix.block_stats(X, mix)
    for bad in (-1, -1e-300, np.nan, np.inf):
        with pytest.raises(ValueError, match=r"m_step\(\): reg_covar must be"):
            gaussmix.m_step(stats, reg_covar=bad)
        with pytest.raises(ValueError, match=r"fit_em\(\): reg_covar must be"):
            gaussmix.fit_em(X, mix, reg_covar=bad)
    with pytest.raises(TypeError, match=r"m_step\(\): expected SufficientStats"):
        gaussmix.m_step(mix)
    with pytest.raises(TypeError, match=r"m_step\(\): reg_covar must be a real number"):
        gaussmix.m_step(stats, reg_covar="1e-6")
    for func in (gaussmix.fit_em, gaussmix.block_stats):
        name = func.__name__
        with pytest.raises(ValueError, match=name + r"\(\): X has 2 columns but the mixture has dimension 3"):
            func(X[:, :2], mix)
        with pytest.raises(TypeError, match=name + r"\(\): expected a gaussmix.Mixture"):
            func(X, (mix.weights, mix.means, mix.covariances))
    for method in ("log_density", "log_prob_components", "responsibilities"):
        with pytest.raises(ValueError, match=r"X has 4 columns but the mixture has dimension 3"):
            getattr(mix, method)(np.ones((5, 4)))
    for bad, error in ((0, ValueError), (-3, ValueError), (2.5, TypeError)):
        with pytest.raises(error, match=r"fit_em\(\): max_iter"):
            gaussmix.fit_em(X, mix, max_iter=bad)
    with pytest.raises(ValueError, match=r"fit_em\(\): tol must be"):
        gaussmix.fit_em(X, mix, tol=-1.0)


@pytest.mark.parametrize("covariance_type", MODELS)
def test_a_collapsing_component_is_a_cov_problem(covariance_type):
    """A component whose rows are all one point (no reg_covar) has zero
    variance: m_step and fit_em raise Cov_problem, not a silent NaN."""
    X = np.vstack([np.zeros((20, 2)), 50.0 + np.random.default_rng(0).standard_normal((40, 2))])
    dense = np.stack([np.eye(2), np.eye(2)])
    cov = ref.model_covariances(covariance_type, dense)
    mix = gaussmix.Mixture([0.5, 0.5], [[0.0, 0.0], [50.0, 50.0]], cov, covariance_type)
    if covariance_type == "tied":  # the pooled covariance keeps the other cluster's spread: fine
        fit = gaussmix.fit_em(X, mix, max_iter=3, tol=0)
        assert np.all(np.linalg.eigvalsh(fit.mixture.covariances) > 0)
        return
    with pytest.raises(Cov_problem):
        gaussmix.m_step(gaussmix.block_stats(X, mix))
    with pytest.raises(Cov_problem):
        gaussmix.fit_em(X, mix, max_iter=3)


def test_a_component_without_responsibility_is_a_cov_problem():
    X, means = problem(13)
    far_means = means.copy()
    far_means[2] = 1e6  # no row comes near it: N_k underflows to 0
    for t in MODELS:
        mix = gaussmix.Mixture(*start(t, X, far_means)[:1], far_means, start(t, X, far_means)[2], t)
        with pytest.raises(Cov_problem, match="component 2 has no responsibility"):
            gaussmix.m_step(gaussmix.block_stats(X, mix))


@pytest.mark.parametrize("covariance_type", MODELS)
def test_callers_arrays_are_neither_kept_nor_modified(covariance_type):
    X, means = problem(14)
    w, m, c = start(covariance_type, X, means)
    before = snapshot(w, m, c)
    mix = gaussmix.Mixture(w, m, c, covariance_type)
    assert_unchanged(before, w, m, c)
    for a in (mix.weights, mix.means, mix.covariances):
        assert not a.flags.writeable
    # Mixture copies: changing the caller's arrays afterwards changes nothing
    kept = snapshot(mix.weights, mix.means, mix.covariances)
    w[:] = 0.0
    m[:] = 1e9
    c[...] = -1.0
    assert_unchanged(kept, mix.weights, mix.means, mix.covariances)

    sw = _weights(len(X), 15)
    for x in (X, X.astype(np.float32), np.asfortranarray(X)):
        before = snapshot(x, sw)
        gaussmix.fit_em(x, mix, sample_weight=sw, max_iter=2)
        gaussmix.block_stats(x, mix, sample_weight=sw)
        mix.log_density(x)
        assert_unchanged(before, x, sw)


# ---------------------------------------------------------------- the core's fit_em by keyword
@pytest.mark.parametrize("covariance_type", ref.MODELS)
def test_core_fit_em_takes_its_options_by_keyword(covariance_type):
    """_core.fit_em: the mixture positionally, every option by keyword, and
    the keywords do what they name: three iterations (delta_stop < 0 never
    converges) of the reference EM step with these weights and reg_covar."""
    from gaussmix import _core
    X, means = problem(60, n=800)
    w = np.random.default_rng(61).uniform(0.5, 1.5, len(X))
    weights, m, c = start(covariance_type, X, means)
    got = _core.fit_em(X, weights, m, c, covariance_type=covariance_type, max_iter=3, delta_stop=-1.0,
                       sample_weight=w, reg_covar=1e-3, n_threads=1)
    params = (weights, m, c)
    for _ in range(3):
        *params, log_likelihood = ref.em_step(X, *params, covariance_type, w, 1e-3)
    fitted, got_log_likelihood, n_iter, converged = got[:4]
    for a, b, name in zip(fitted.parameters, params, ("weights", "means", "covariances")):
        assert_close(a, b, 1e-9, name)
    assert got_log_likelihood == pytest.approx(log_likelihood, rel=1e-10)
    assert (n_iter, converged) == (3, False)
    with pytest.raises(TypeError):
        _core.fit_em(X, weights, m, c, 3, -1.0)  # options by keyword only


def test_core_fit_em_defaults_are_pypr_s_rule():
    """Without options: PyPR's rule (at most 50 iterations, stop after 10 in a
    row that change the total log-likelihood by less than 1e-6), no
    regularisation: on well-separated clusters it converges well before 50,
    to the reference EM's fixed point."""
    from gaussmix import _core
    X, means = problem(62, n=600)
    weights, m, c = start("full", X, means)
    fitted, _, n_iter, converged = _core.fit_em(X, weights, m, c)[:4]
    assert converged and 10 <= n_iter < 50
    params = fitted.parameters
    *after, _ = ref.em_step(X, *params, "full")
    for a, b, name in zip(after, params, ("weights", "means", "covariances")):
        assert_close(a, b, 1e-6, name)
