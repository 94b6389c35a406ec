"""GaussianMixture.partial_fit (stepwise EM) against a plain NumPy
transcription of the stepwise update: the raw moments of each batch per unit
weight (sum_i w_i r_ik [1, x_i, x_i x_i^T] / sum_i w_i), blended linearly
with eta_t = (t + t0) ** -kappa, and the textbook M-step of the blended
moments (gaussmix blends re-centred moments instead); weights as repeated
rows, zero weights, continuing a fit, and convergence on a known mixture."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")

import model_reference as ref  # noqa: E402
from scipy.special import logsumexp  # noqa: E402

from gaussmix import GaussianMixture  # noqa: E402
from gaussmix._params import InvalidParameterError  # noqa: E402

MODELS = ("full", "tied", "diag", "spherical")
K, D = 3, 3


def make_data(n, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0, 0.0], [5.0, 1.0, -3.0], [-3.0, 4.0, 2.0]]) + 50.0  # away from the origin
    labels = rng.integers(K, size=n)
    mixing = np.array([[1.0, 0.4, 0.0], [0.0, 0.8, 0.3], [0.2, 0.0, 1.2]])
    return centres[labels] + rng.normal(size=(n, D)) @ mixing, labels, centres


X, LABELS, CENTRES = make_data(3000)
W = np.random.default_rng(1).uniform(0.2, 2.0, len(X))


def given_start(ctype):
    """weights_init, means_init, precisions_init: three rows, unit covariances."""
    precisions = {"full": np.stack([np.eye(D)] * K), "tied": np.eye(D), "diag": np.ones((K, D)),
                  "spherical": np.ones(K)}[ctype]
    return dict(weights_init=np.full(K, 1.0 / K), means_init=X[[0, 1, 2]] + 0.5, precisions_init=precisions)


def reference_stepwise(batches, weights, means, covariances, ctype, reg_covar=1e-6, power=0.6, offset=2.0, steps=0,
                       running=None):
    """The transcription: (weights, means, covariances in the model's shape) after the batches."""
    for X_b, w_b in batches:
        w_b = np.ones(len(X_b)) if w_b is None else np.asarray(w_b, dtype=np.float64)
        dense = ref.dense_covariances(ctype, covariances, K, D)
        log_p = np.stack([np.log(weights[k]) + ref.log_gauss(X_b, means[k], dense[k]) for k in range(K)], axis=1)
        resp = np.exp(log_p - logsumexp(log_p, axis=1)[:, None]) * w_b[:, None]
        total = w_b.sum()
        s0 = resp.sum(axis=0) / total
        s1 = resp.T @ X_b / total
        s2 = np.einsum("ik,id,ie->kde", resp, X_b, X_b) / total
        eta = 1.0 if steps == 0 and running is None else (steps + offset) ** -power
        running = (s0, s1, s2) if running is None else tuple((1 - eta) * a + eta * b for a, b in zip(running, (s0, s1, s2)))
        steps += 1
        r0, r1, r2 = running
        weights = r0 / r0.sum()
        means = r1 / r0[:, None]
        full = r2 / r0[:, None, None] - np.einsum("kd,ke->kde", means, means)
        if ctype == "full":
            covariances = full + reg_covar * np.eye(D)
        elif ctype == "tied":
            covariances = np.einsum("k,kde->de", r0, full) / r0.sum() + reg_covar * np.eye(D)
        elif ctype == "diag":
            covariances = np.diagonal(full, axis1=1, axis2=2) + reg_covar
        else:
            covariances = np.diagonal(full, axis1=1, axis2=2).mean(axis=1) + reg_covar
    return weights, means, covariances


def moments_of(weights, means, covariances, ctype, reg_covar=1e-6):
    """The raw moments per unit weight a fitted mixture stands for (its covariances less reg_covar)."""
    dense = ref.dense_covariances(ctype, covariances, K, D) - reg_covar * np.eye(D)
    return weights, weights[:, None] * means, weights[:, None, None] * (dense + np.einsum("kd,ke->kde", means, means))


def batches_of(X, w, size):
    return [(X[i:i + size], None if w is None else w[i:i + size]) for i in range(0, len(X), size)]


def assert_same(model, want, rtol=1e-10):
    weights, means, covariances = want
    for got, expected in ((model.weights_, weights), (model.means_, means), (model.covariances_, covariances)):
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * np.abs(expected).max())


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ctype", MODELS)
def test_partial_fit_is_the_stepwise_update(ctype, weighted):
    w = W if weighted else None
    start = given_start(ctype)
    model = GaussianMixture(K, covariance_type=ctype, **start)
    batches = batches_of(X, w, 250)
    for X_b, w_b in batches:
        model.partial_fit(X_b, sample_weight=w_b)
    # unit precisions are unit covariances
    want = reference_stepwise(batches, start["weights_init"], start["means_init"], start["precisions_init"], ctype)
    assert_same(model, want)
    assert model.n_iter_ == len(batches) == len(model.lower_bounds_)
    assert model.n_samples_seen_ == len(X) and not model.converged_


@pytest.mark.parametrize("ctype", MODELS)
def test_continuing_a_fit_counts_its_rows_as_batches(ctype):
    """After fit on 3,000 rows, a batch of 300 is the 11th step (t = 10)."""
    model = GaussianMixture(K, covariance_type=ctype, random_state=0).fit(X)
    fitted = (model.weights_.copy(), model.means_.copy(), model.covariances_.copy())
    X_new, _, _ = make_data(300, seed=7)
    model.partial_fit(X_new)
    want = reference_stepwise([(X_new, None)], *fitted, ctype, steps=10, running=moments_of(*fitted, ctype))
    assert_same(model, want, rtol=1e-9)
    assert model.n_samples_seen_ == 3300 and model.n_iter_ == 1


@pytest.mark.parametrize("ctype", MODELS)
def test_integer_weights_are_repeated_rows_and_zero_weights_change_nothing(ctype):
    rng = np.random.default_rng(4)
    counts = rng.integers(0, 4, len(X))
    counts[:K] = 1
    weighted = GaussianMixture(K, covariance_type=ctype, **given_start(ctype))
    repeated = GaussianMixture(K, covariance_type=ctype, **given_start(ctype))
    for (X_b, c_b) in batches_of(X, counts.astype(float), 500):
        weighted.partial_fit(X_b, sample_weight=c_b)
        repeated.partial_fit(np.repeat(X_b, c_b.astype(int), axis=0))
    assert_same(weighted, (repeated.weights_, repeated.means_, repeated.covariances_), rtol=1e-10)


def test_a_known_mixture_streamed_in_batches_reaches_batch_ems_optimum():
    """2e5 rows of 5 well-separated components, batches of 1,000, 3 passes
    (reshuffled): the mean log-likelihood within 0.5% of batch EM's, and
    the means those of the truth."""
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=6.0, size=(5, 4))
    truth = rng.integers(5, size=200_000)
    X_big = centres[truth] + rng.normal(size=(200_000, 4))
    best = GaussianMixture(5, random_state=0).fit(X_big).score(X_big)
    model = GaussianMixture(5, random_state=0)
    for _ in range(3):
        order = rng.permutation(len(X_big))
        for i in range(0, len(X_big), 1000):
            model.partial_fit(X_big[order[i:i + 1000]])
    assert abs(model.score(X_big) - best) <= 0.005 * abs(best)
    nearest = np.argmin(((model.means_[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)
    assert sorted(nearest) == list(range(5))
    np.testing.assert_allclose(model.means_, centres[nearest], atol=0.05)
    np.testing.assert_allclose(model.weights_, np.bincount(truth)[nearest] / len(truth), atol=0.01)


def test_float32_batches_make_a_float32_model_and_bad_calls_are_refused():
    model = GaussianMixture(K, covariance_type="diag", random_state=0).partial_fit(X[:500].astype(np.float32))
    model.partial_fit(X[500:1000].astype(np.float32))
    assert model.means_.dtype == np.float32
    model.partial_fit(X[1000:1001])  # a batch of one row
    with pytest.raises(ValueError, match="X has 2 features, but GaussianMixture is expecting 3 features"):
        model.partial_fit(X[:10, :2])
    for bad in (0.5, 1.5, True):
        with pytest.raises(InvalidParameterError, match="'step_size_power' parameter of GaussianMixture must be"):
            GaussianMixture(K, step_size_power=bad).partial_fit(X)
    with pytest.raises(InvalidParameterError, match="'step_size_offset' parameter"):
        GaussianMixture(K, step_size_offset=-1.0).partial_fit(X)
    with pytest.raises(ValueError, match="Expected n_samples >= n_components"):
        GaussianMixture(K).partial_fit(X[:2])  # the first batch starts the model


@pytest.mark.parametrize("ctype", MODELS)
def test_scikit_learns_partial_fit_check(ctype):
    """scikit-learn runs its partial_fit checks for classifiers, regressors and
    clusterers only; a density estimator with partial_fit should pass them too."""
    from sklearn.utils.estimator_checks import check_estimators_partial_fit_n_features

    check_estimators_partial_fit_n_features("GaussianMixture", GaussianMixture(2, covariance_type=ctype))


@pytest.mark.parametrize("ctype", ["full", "diag"])
def test_a_later_batch_with_nan_is_the_stepwise_update_of_its_expected_statistics(ctype):
    """Later float64 batches are checked by the statistics pass itself: one with
    NaN must still take the missing-data E-step (reg_covar 0: the expected
    complete-data moments, conditional covariances included)."""
    import reference_missing as ref_missing

    start = given_start(ctype)
    model = GaussianMixture(K, covariance_type=ctype, reg_covar=0.0, **start)
    first, second = X[:600], X[600:1200].copy()
    second[3::7, 1] = np.nan
    second[::11, 0] = np.nan  # every row keeps an observed entry
    model.partial_fit(first).partial_fit(second)
    # The transcription: the first batch's update, then the expected moments of the second under its parameters.
    start_covariances = np.linalg.inv(start["precisions_init"]) if ctype == "full" else 1 / start["precisions_init"]
    weights, means, covariances = reference_stepwise([(first, None)], start["weights_init"], start["means_init"],
                                                     start_covariances, ctype, reg_covar=0.0)
    resp, _, completed, conditional = ref_missing.expected_statistics(second, weights, means, covariances, ctype)
    total = len(second)
    s0 = resp.sum(axis=0) / total
    s1 = np.einsum("nk,nkd->kd", resp, completed) / total
    s2 = (np.einsum("nk,nkd,nke->kde", resp, completed, completed) + np.einsum("nk,nkde->kde", resp, conditional)) / total
    eta = (1 + 2.0) ** -0.6
    r0, r1, r2 = ((1 - eta) * a + eta * b for a, b in zip(moments_of(weights, means, covariances, ctype, 0.0),
                                                          (s0, s1, s2)))
    want_means = r1 / r0[:, None]
    full = r2 / r0[:, None, None] - np.einsum("kd,ke->kde", want_means, want_means)
    want_cov = full if ctype == "full" else np.diagonal(full, axis1=1, axis2=2)
    assert_same(model, (r0 / r0.sum(), want_means, want_cov), rtol=1e-9)


def test_a_later_batch_with_infinity_is_refused():
    model = GaussianMixture(K, random_state=0).partial_fit(X[:500])
    bad = X[500:600].copy()
    bad[40, 2] = np.inf
    with pytest.raises(ValueError, match="Input X contains infinity or a value too large"):  # scikit-learn's
        model.partial_fit(bad)
    assert model.n_samples_seen_ == 500  # the refused batch changed nothing


def test_a_later_batch_beyond_float64s_squares_is_refused_by_the_scale_check():
    model = GaussianMixture(K, random_state=0).partial_fit(X[:500])
    huge = X[500:600].copy()
    huge[:, 1] *= 1e300  # finite, but its squared deviations are not: the statistics are not finite either
    with pytest.raises(ValueError, match=r"column 1 of X has spread .* rescale X"):
        model.partial_fit(huge)
    assert model.n_samples_seen_ == 500
