"""gaussmix.GaussianMixture against scikit-learn's GaussianMixture (the
contract), NumPy transcriptions of the conditioning formulas
(reference_condition.py) and the PyPR face.

scikit-learn's own test module runs in test_sklearn_module.py and its
estimator checks in test_estimator_checks.py; here: equality with
scikit-learn from identical and from random starts, what gaussmix adds
(sample weights, float32 models, conditioning, conversions), and bad input.
"""
import pickle
import subprocess
import sys
import tracemalloc
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.mixture import GaussianMixture as SkGaussianMixture  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import gaussmix  # noqa: E402
import gaussmix.gmm as gmm  # noqa: E402
import model_reference as ref  # noqa: E402
import reference_condition as rc  # noqa: E402
from gaussmix import GaussianMixture  # noqa: E402
from helpers import assert_unchanged, snapshot  # noqa: E402

MODELS = ("full", "tied", "diag", "spherical")
INITS = ("kmeans", "k-means++", "random", "random_from_data")
FITTED = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_")


def blobs(seed=0, n=600, d=3, k=3, spread=5.0):
    rng = np.random.RandomState(seed)
    centres = rng.normal(0, spread, (k, d))
    sizes = rng.multinomial(n, np.full(k, 1.0 / k))
    parts = [c + rng.normal(0, 1, (s, d)) @ np.diag(rng.uniform(0.5, 1.5, d)) for c, s in zip(centres, sizes)]
    return np.vstack(parts)[rng.permutation(n)]


def identical_start(covariance_type, X, k=3, seed=1):
    """weights_init, means_init, precisions_init in the model's shape, from a rough start."""
    weights, means, covs = ref.start_for(covariance_type, X, k, seed)
    return dict(weights_init=weights, means_init=means, precisions_init=ref.precisions(covariance_type, covs))


def assert_fitted_equal(ours, theirs, rtol, atol=0.0):
    for name in FITTED:
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=rtol, atol=atol, err_msg=name)


# ---------------------------------------------------------------- 1. identical starts
@pytest.mark.parametrize("covariance_type", MODELS)
@pytest.mark.parametrize("max_iter", [1, 2, 7, 100])
def test_iterates_from_identical_starts_match_scikit_learn(covariance_type, max_iter):
    """From the same weights, means and precisions, every iterate, lower bound,
    iteration count and convergence flag is scikit-learn's (1e-7 relative)."""
    X = blobs(0)
    params = dict(n_components=3, covariance_type=covariance_type, max_iter=max_iter, random_state=0,
                  **identical_start(covariance_type, X))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = GaussianMixture(**params).fit(X)
        theirs = SkGaussianMixture(**params).fit(X)
    assert_fitted_equal(ours, theirs, rtol=1e-7, atol=1e-12)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.converged_ == theirs.converged_
    np.testing.assert_allclose(ours.lower_bound_, theirs.lower_bound_, rtol=1e-7)
    np.testing.assert_allclose(ours.lower_bounds_, theirs.lower_bounds_, rtol=1e-7)
    assert len(ours.lower_bounds_) == ours.n_iter_


@pytest.mark.parametrize("covariance_type", MODELS)
def test_scores_match_scikit_learn(covariance_type):
    """predict_proba, score_samples, score, bic, aic and predict of the same
    fitted model, on new rows, agree with scikit-learn's to 1e-8."""
    X, Y = blobs(0), blobs(5, n=400) * 1.3
    params = dict(n_components=3, covariance_type=covariance_type, max_iter=20, **identical_start(covariance_type, X))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours, theirs = GaussianMixture(**params).fit(X), SkGaussianMixture(**params).fit(X)
    np.testing.assert_allclose(ours.predict_proba(Y), theirs.predict_proba(Y), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(ours.score_samples(Y), theirs.score_samples(Y), rtol=1e-8)
    for method in ("score", "bic", "aic"):
        np.testing.assert_allclose(getattr(ours, method)(Y), getattr(theirs, method)(Y), rtol=1e-8, err_msg=method)
    np.testing.assert_array_equal(ours.predict(Y), theirs.predict(Y))
    assert ours._n_parameters() == theirs._n_parameters()


@pytest.mark.parametrize("covariance_type", MODELS)
def test_attributes_set_by_hand_score_as_in_scikit_learn(covariance_type):
    """Scoring reads weights_, means_ and precisions_cholesky_ as scikit-learn
    does, also after they were changed by hand."""
    X = blobs(2)
    params = dict(n_components=3, covariance_type=covariance_type, random_state=0, max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours, theirs = GaussianMixture(**params).fit(X), SkGaussianMixture(**params).fit(X)
    for model in (ours, theirs):
        model.means_ = model.means_ + 0.5
        model.precisions_cholesky_ = model.precisions_cholesky_ * 1.1
        model.weights_ = np.array([0.2, 0.3, 0.5])
    np.testing.assert_allclose(ours.score_samples(X), theirs.score_samples(X), rtol=1e-8)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("covariance_type", MODELS)
def test_a_component_without_rows_keeps_scikit_learn_weight(covariance_type):
    """A component whose start lies far from every row gets no
    responsibility; scikit-learn still gives it 10 eps of weight (its
    nk + 10 eps), and so does gaussmix: the same weights_, and the same
    parameters of the other components. (Its mean is not compared: see the
    README's differences.)"""
    X = blobs(3)
    start = identical_start(covariance_type, X)
    start["means_init"] = start["means_init"].copy()
    start["means_init"][2] = 1e3
    params = dict(n_components=3, covariance_type=covariance_type, max_iter=1, **start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours, theirs = GaussianMixture(**params).fit(X), SkGaussianMixture(**params).fit(X)
    assert 0 < theirs.weights_[2] < 1e-15
    np.testing.assert_allclose(ours.weights_, theirs.weights_, rtol=1e-7)
    np.testing.assert_allclose(ours.means_[:2], theirs.means_[:2], rtol=1e-7)


# ---------------------------------------------------------------- 2. random starts
def in_component_order(model) -> dict:
    """The fitted arrays with components sorted by their means (tied's one covariance as it is)."""
    order = np.lexsort(model.means_.T[::-1])
    return {name: getattr(model, name) if model.covariance_type == "tied" and name != "weights_"
            and name != "means_" else getattr(model, name)[order] for name in FITTED}


@pytest.mark.parametrize("covariance_type", MODELS)
@pytest.mark.parametrize("init_params", INITS)
@pytest.mark.parametrize("seed", [0, 1])
def test_same_random_state_gives_scikit_learn_fit(covariance_type, init_params, seed):
    """The same random_state draws the same start as scikit-learn's (its
    k-means, k-means++ and random starts from the same random numbers), so the
    fits agree. The k-means++ and random_from_data starts give every component
    weight 1/K where scikit-learn leaves 1/N: only its first lower bound is
    log(N/K) lower."""
    X = blobs(seed + 10, n=500)
    params = dict(n_components=3, covariance_type=covariance_type, init_params=init_params, random_state=seed,
                  tol=1e-6, max_iter=300)
    ours, theirs = GaussianMixture(**params).fit(X), SkGaussianMixture(**params).fit(X)
    assert_fitted_equal(ours, theirs, rtol=1e-6, atol=1e-9)
    assert ours.n_iter_ == theirs.n_iter_ and ours.converged_ == theirs.converged_
    np.testing.assert_allclose(ours.lower_bound_, theirs.lower_bound_, rtol=1e-9)
    skip_first = 1 if init_params in ("k-means++", "random_from_data") else 0
    np.testing.assert_allclose(ours.lower_bounds_[skip_first:], theirs.lower_bounds_[skip_first:], rtol=1e-8)


@pytest.mark.parametrize("covariance_type", MODELS)
@pytest.mark.parametrize("init_params", INITS)
def test_several_inits_draw_as_scikit_learn(covariance_type, init_params):
    """n_init = 3 draws each start from the same random_state in turn, as
    scikit-learn does, and keeps the best. Starts that reach the same optimum
    tie up to rounding, so which of them is kept (hence the component order
    and the history) may differ: the best lower bound and the fit in
    component order must agree."""
    X = blobs(12, n=500)
    params = dict(n_components=3, covariance_type=covariance_type, init_params=init_params, random_state=3,
                  n_init=3, tol=1e-6, max_iter=300)
    ours, theirs = GaussianMixture(**params).fit(X), SkGaussianMixture(**params).fit(X)
    np.testing.assert_allclose(ours.lower_bound_, theirs.lower_bound_, rtol=1e-9)
    ours_sorted, theirs_sorted = in_component_order(ours), in_component_order(theirs)
    for name in FITTED:
        np.testing.assert_allclose(ours_sorted[name], theirs_sorted[name], rtol=1e-6, atol=1e-9, err_msg=name)


def test_max_iter_zero_keeps_scikit_learns_start():
    X = blobs(3)
    for covariance_type in MODELS:
        params = dict(n_components=3, covariance_type=covariance_type, random_state=4, max_iter=0, n_init=3)
        ours, theirs = GaussianMixture(**params).fit(X), SkGaussianMixture(**params).fit(X)
        assert_fitted_equal(ours, theirs, rtol=1e-9, atol=1e-12)
        assert ours.n_iter_ == 0 and not ours.converged_ and ours.lower_bound_ == -np.inf
        assert ours.lower_bounds_ == []


def test_sample_draws_scikit_learns_rows():
    X = blobs(4)
    for covariance_type in MODELS:
        params = dict(n_components=3, covariance_type=covariance_type, random_state=7)
        ours, theirs = GaussianMixture(**params).fit(X), SkGaussianMixture(**params).fit(X)
        a, la = ours.sample(500)
        b, lb = theirs.sample(500)
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)
        np.testing.assert_array_equal(la, lb)
        assert a.dtype == np.float64 and la.dtype == np.int64


def test_warm_start_continues_where_the_last_fit_stopped():
    """Two warm-started fits of 3 iterations are one fit of 6, and a warm start
    from a converged fit stops after one iteration (its first change is taken
    against the previous lower bound)."""
    X = blobs(6)
    start = identical_start("full", X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warm = GaussianMixture(3, max_iter=3, warm_start=True, **start).fit(X).fit(X)
        once = GaussianMixture(3, max_iter=6, **start).fit(X)
    assert_fitted_equal(warm, once, rtol=1e-12, atol=1e-14)
    converged = GaussianMixture(3, warm_start=True, tol=1e-4, **start).fit(X)
    assert converged.converged_
    again = converged.fit(X)
    assert again.converged_ and again.n_iter_ == 1


def test_convergence_warning_and_verbose_output(capsys):
    X = blobs(7)
    with pytest.warns(ConvergenceWarning, match="Best performing initialization did not converge"):
        GaussianMixture(3, max_iter=1, random_state=0).fit(X)
    GaussianMixture(3, random_state=0, verbose=2, verbose_interval=1, n_init=2).fit(X)
    out = capsys.readouterr().out
    assert "Initialization 0" in out and "Initialization 1" in out
    assert "Initialization converged. time lapse" in out and "lower bound" in out
    assert "  Iteration 1\t time lapse" in out and "ll change" in out
    GaussianMixture(3, random_state=0, verbose=1, verbose_interval=2).fit(X)
    out = capsys.readouterr().out
    assert "  Iteration 2\n" in out and "  Iteration 1\n" not in out


# ---------------------------------------------------------------- 3. what gaussmix adds: weights, float32
@pytest.mark.parametrize("covariance_type", MODELS)
def test_integer_weights_fit_as_repeated_rows(covariance_type):
    """sample_weight counts a row that many times, k-means start included; a
    zero weight removes the row."""
    X = blobs(8, n=300)
    counts = np.random.RandomState(0).randint(0, 4, len(X))
    params = dict(n_components=3, covariance_type=covariance_type, random_state=3, tol=1e-8, max_iter=300)
    weighted = GaussianMixture(**params).fit(X, sample_weight=counts)
    repeated = GaussianMixture(**params).fit(np.repeat(X, counts, axis=0))
    assert_fitted_equal(weighted, repeated, rtol=1e-6, atol=1e-9)
    assert weighted.n_iter_ == repeated.n_iter_
    np.testing.assert_allclose(weighted.score(X, sample_weight=counts), repeated.score(np.repeat(X, counts, axis=0)),
                               rtol=1e-9)


def test_scaling_the_weights_changes_nothing():
    X = blobs(9)
    w = np.random.RandomState(1).uniform(0.5, 2.0, len(X))
    a = GaussianMixture(3, random_state=0).fit(X, sample_weight=w)
    b = GaussianMixture(3, random_state=0).fit(X, sample_weight=w * 1e-3)
    assert_fitted_equal(a, b, rtol=1e-9, atol=1e-12)
    assert a.n_iter_ == b.n_iter_


@pytest.mark.parametrize("covariance_type", MODELS)
def test_float32_data_gives_a_float32_model_close_to_float64(covariance_type):
    X = blobs(11)
    start = identical_start(covariance_type, X)
    m64 = GaussianMixture(3, covariance_type=covariance_type, tol=1e-6, **start).fit(X)
    m32 = GaussianMixture(3, covariance_type=covariance_type, tol=1e-6, **start).fit(X.astype(np.float32))
    for name in FITTED:
        assert getattr(m32, name).dtype == np.float32, name
        np.testing.assert_allclose(getattr(m32, name), getattr(m64, name), rtol=2e-3, atol=1e-4, err_msg=name)
    X32 = X.astype(np.float32)
    assert m32.score_samples(X32).dtype == np.float32 and m32.predict_proba(X32).dtype == np.float32
    assert m32.score_samples(X).dtype == np.float64 and m64.score_samples(X32).dtype == np.float64
    np.testing.assert_allclose(m32.score_samples(X32), m64.score_samples(X), rtol=1e-4, atol=1e-4)


def test_scoring_allocates_only_its_result():
    """score_samples and predict_proba run over row blocks in the core: the
    memory they take is their result (scikit-learn's take several N x K
    arrays)."""
    X = blobs(12, n=200_000, d=4, k=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = GaussianMixture(8, random_state=0, max_iter=2).fit(X)
    for method, result_bytes in (("predict_proba", X.shape[0] * 8 * 8), ("score_samples", X.shape[0] * 8)):
        getattr(model, method)(X[:10])
        tracemalloc.start()
        getattr(model, method)(X)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < result_bytes * 1.1 + 2**20, (method, peak, result_bytes)


# ---------------------------------------------------------------- 4. conditioning
def fitted(covariance_type, seed=13, d=4):
    X = blobs(seed, n=800, d=d, k=3)
    return GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X), X


@pytest.mark.parametrize("covariance_type", MODELS)
def test_condition_matches_the_block_formulas(covariance_type):
    model, _ = fitted(covariance_type)
    centres, covs, weights = model.to_pypr()
    y = np.array([np.nan, 0.7, np.nan, -1.2])
    want_means, want_covs, want_weights = rc.mixture_conditional(y, centres, covs, weights)
    got = model.condition([1, 3], [0.7, -1.2])
    assert got.covariance_type == covariance_type and got.n_features_in_ == 2
    g_centres, g_covs, g_weights = got.to_pypr()
    np.testing.assert_allclose(g_weights, want_weights, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(np.array(g_centres), np.array(want_means), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np.array(g_covs), np.array(want_covs), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("covariance_type", MODELS)
def test_marginal_keeps_the_model_and_selects_features(covariance_type):
    model, X = fitted(covariance_type)
    got = model.marginal([2, 0])
    centres, covs, weights = model.to_pypr()
    np.testing.assert_allclose(got.weights_, weights, rtol=1e-12)
    np.testing.assert_allclose(got.means_, model.means_[:, [2, 0]], rtol=1e-12)
    dense = np.array(got.to_pypr()[1])
    np.testing.assert_allclose(dense, np.array(covs)[:, [2, 0]][:, :, [2, 0]], rtol=1e-12, atol=1e-15)
    assert got.covariances_.shape == {"full": (3, 2, 2), "tied": (2, 2), "diag": (3, 2),
                                      "spherical": (3,)}[covariance_type]
    # The marginal's density is the integral of the joint's: compare with the PyPR face.
    np.testing.assert_allclose(np.exp(got.score_samples(X[:50, [2, 0]])),
                               gmm.gmm_pdf(X[:50, [2, 0]], *gmm.marg_dist([2, 0], centres, covs, weights)),
                               rtol=1e-9)


@pytest.mark.parametrize("covariance_type", MODELS)
def test_predict_missing_fills_each_rows_nans(covariance_type):
    model, X = fitted(covariance_type)
    rng = np.random.RandomState(0)
    Y = X[:60].copy()
    Y[rng.rand(*Y.shape) < 0.35] = np.nan
    Y[0] = np.nan  # a row with nothing known
    Y[1] = X[1]    # and one complete row
    before = snapshot(Y)
    filled, cov = model.predict_missing(Y, return_cov=True)
    assert_unchanged(before, Y)
    assert filled.shape == Y.shape and cov.shape == (60, 4, 4)
    centres, covs, weights = model.to_pypr()
    for i in range(len(Y)):
        want, want_cov = rc.predict_row(Y[i], centres, covs, weights)
        np.testing.assert_allclose(filled[i], want, rtol=1e-9, atol=1e-12)
        unknown = np.isnan(Y[i])
        np.testing.assert_allclose(cov[i][np.ix_(unknown, unknown)], want_cov, rtol=1e-8, atol=1e-12)
        assert not cov[i][~unknown].any() and not cov[i][:, ~unknown].any()
    np.testing.assert_array_equal(model.predict_missing(Y), filled)


def test_conditioning_by_feature_name_with_pandas():
    pd = pytest.importorskip("pandas")
    model, X = fitted("full")
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    named = GaussianMixture(3, random_state=0).fit(frame)
    np.testing.assert_array_equal(named.feature_names_in_, ["a", "b", "c", "d"])
    assert_fitted_equal(named, model, rtol=0)
    by_name = named.condition(["b", "d"], [0.7, -1.2])
    by_index = model.condition([1, 3], [0.7, -1.2])
    np.testing.assert_array_equal(by_name.feature_names_in_, ["a", "c"])
    assert_fitted_equal(by_name, by_index, rtol=0)
    np.testing.assert_array_equal(named.marginal(["c"]).feature_names_in_, ["c"])
    with pytest.raises(ValueError, match="unknown feature 'z'"):
        named.condition(["z"], [1.0])
    with pytest.warns(UserWarning, match="feature names"):
        named.predict(X)


def test_conditioning_errors():
    model, _ = fitted("full")
    with pytest.raises(ValueError, match="indices in \\[0, 4\\)"):
        model.condition([4], [1.0])
    with pytest.raises(ValueError, match="must not repeat"):
        model.marginal([1, 1])
    with pytest.raises(ValueError, match="one value per feature"):
        model.condition([0, 1], [1.0])
    with pytest.raises(ValueError, match="must be finite"):
        model.condition([0], [np.nan])
    with pytest.raises(ValueError, match="leaves no distribution"):
        model.condition([0, 1, 2, 3], [0.0, 0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="no feature names"):
        model.marginal(["a"])
    with pytest.raises(ValueError, match="infinity"):
        model.predict_missing(np.array([[np.inf, 0.0, 0.0, 0.0]]))
    with pytest.raises(NotFittedError):
        GaussianMixture().condition([0], [1.0])


# ---------------------------------------------------------------- 5. conversions and the scikit-learn ecosystem
@pytest.mark.parametrize("covariance_type", MODELS)
def test_to_pypr_scores_as_the_estimator(covariance_type):
    model, X = fitted(covariance_type)
    centres, covs, weights = model.to_pypr()
    assert len(centres) == 3 and covs[0].shape == (4, 4)
    np.testing.assert_allclose(gmm.gmm_pdf(X, centres, covs, weights), np.exp(model.score_samples(X)), rtol=1e-9)
    np.testing.assert_array_equal(gmm.gm_assign_to_cluster(X, centres, covs, weights), model.predict(X))
    back = GaussianMixture.from_pypr(centres, covs, weights)
    np.testing.assert_allclose(back.score_samples(X), model.score_samples(X), rtol=1e-9)


def test_from_pypr_takes_gmm_em_results():
    X = blobs(14)
    np.random.seed(0)
    centres, covs, weights, loglik = gmm.em(X, 3, max_iter=50)
    model = GaussianMixture.from_pypr(centres, covs, weights, random_state=0)
    assert model.covariance_type == "full" and model.n_components == 3 and model.random_state == 0
    np.testing.assert_allclose(model.score_samples(X), np.log(gmm.gmm_pdf(X, centres, covs, weights)), rtol=1e-9)
    np.testing.assert_allclose(model.score(X) * len(X), gmm.gm_log_likelihood(X, centres, covs, weights), rtol=1e-9)
    # A warm start continues EM from those parameters.
    continued = GaussianMixture.from_pypr(centres, covs, weights, warm_start=True, reg_covar=0).fit(X)
    assert continued.n_iter_ >= 1 and continued.score(X) >= model.score(X) - 1e-9
    with pytest.raises(ValueError, match="sum to one"):
        GaussianMixture.from_pypr(centres, covs, [0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="disagrees"):
        GaussianMixture.from_pypr(centres, covs, weights, covariance_type="diag")


def test_mixture_round_trip():
    model, X = fitted("diag")
    mixture = model.to_mixture()
    assert isinstance(mixture, gaussmix.Mixture) and mixture.covariance_type == "diag"
    np.testing.assert_allclose(mixture.log_density(X), model.score_samples(X), rtol=1e-12)
    back = GaussianMixture.from_mixture(mixture)
    assert_fitted_equal(back, model, rtol=0)


def test_clone_pickle_pipeline_and_grid_search():
    X = blobs(15)
    model = GaussianMixture(3, covariance_type="diag", random_state=0).fit(X)
    copy = clone(model)
    assert copy.get_params() == model.get_params() and not hasattr(copy, "means_")
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))
    pipe = make_pipeline(StandardScaler(), GaussianMixture(3, random_state=0)).fit(X)
    scaled = StandardScaler().fit(X).transform(X)
    np.testing.assert_allclose(pipe.score_samples(X), GaussianMixture(3, random_state=0).fit(scaled)
                               .score_samples(scaled), rtol=1e-10)
    search = GridSearchCV(GaussianMixture(random_state=0), {"n_components": [1, 2, 3, 4],
                                                           "covariance_type": ["full", "spherical"]}, cv=3).fit(X)
    theirs = GridSearchCV(SkGaussianMixture(random_state=0), {"n_components": [1, 2, 3, 4],
                                                             "covariance_type": ["full", "spherical"]}, cv=3).fit(X)
    assert search.best_params_ == theirs.best_params_
    np.testing.assert_allclose(search.cv_results_["mean_test_score"], theirs.cv_results_["mean_test_score"],
                               rtol=1e-6)


def test_threads_follow_set_num_threads_and_threadpoolctl():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    X = blobs(16, n=5000)
    gaussmix.set_num_threads(None)
    base = GaussianMixture(3, random_state=0).fit(X)
    with threadpoolctl.threadpool_limits(1):
        assert gaussmix.get_num_threads() == 1
        limited = GaussianMixture(3, random_state=0).fit(X)
    assert gaussmix.get_num_threads() == gaussmix._core.default_threads()
    assert_fitted_equal(limited, base, rtol=0)
    gaussmix.set_num_threads(2)
    with threadpoolctl.threadpool_limits(1):
        assert gaussmix.get_num_threads() == 2  # an explicit count wins


def test_import_gaussmix_and_the_pypr_face_work_without_scikit_learn():
    code = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "sklearn" or name.startswith("sklearn."):
            raise ImportError("blocked: " + name, name=name)
sys.meta_path.insert(0, Block())
import numpy as np
import gaussmix, gaussmix.gmm as gmm
from gaussmix import *
np.random.seed(0)
X = np.random.randn(200, 2)
gmm.em(X, 2, max_iter=5)
try:
    gaussmix.GaussianMixture
except ImportError as exc:
    assert "pip install" in str(exc), exc
    print("ok")
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


# ---------------------------------------------------------------- 6. bad input
@pytest.mark.parametrize("param, value, rule", [
    ("n_components", 0, "an int in the range \\[1, inf\\)"),
    ("n_components", 2.0, "an int in the range \\[1, inf\\)"),
    ("n_components", True, "an int in the range \\[1, inf\\)"),
    ("covariance_type", "Full", "a str among"),
    ("tol", -1e-3, "a float in the range \\[0.0, inf\\)"),
    ("tol", np.nan, "a float in the range"),
    ("reg_covar", "1e-6", "a float in the range"),
    ("max_iter", -1, "an int in the range \\[0, inf\\)"),
    ("n_init", 0, "an int in the range \\[1, inf\\)"),
    ("init_params", "k-means", "a str among"),
    ("random_state", -1, "an int in the range \\[0, 4294967295\\]"),
    ("random_state", np.random.default_rng(0), "an int in the range \\[0, 4294967295\\], an instance of 'numpy.random.mtrand.RandomState' or None"),
    ("warm_start", 1, "an instance of 'bool'"),
    ("verbose", -1, "an int in the range \\[0, inf\\)"),
    ("verbose_interval", 0, "an int in the range \\[1, inf\\)"),
    ("means_init", "abc", "an array-like or None"),
])
def test_bad_parameters_are_reported_at_fit(param, value, rule):
    model = GaussianMixture(**{param: value})  # accepted by the constructor, as scikit-learn's
    with pytest.raises((ValueError, TypeError), match=f"The '{param}' parameter of GaussianMixture must be {rule}"):
        model.fit(blobs(0))
    with pytest.raises(ValueError):
        model.fit(blobs(0))
    with pytest.raises(TypeError):
        model.fit(blobs(0))


def test_bad_data_and_initial_parameters():
    X = blobs(0)
    with pytest.raises(ValueError, match="Expected n_samples >= n_components"):
        GaussianMixture(5).fit(X[:4])
    with pytest.raises(ValueError, match="minimum of 2 is required"):
        GaussianMixture().fit(X[:1])
    with pytest.raises(ValueError, match="NaN"):
        GaussianMixture().fit(np.where(X > 3, np.nan, X))
    with pytest.raises(ValueError, match="sample_weight must have shape"):
        GaussianMixture().fit(X, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="finite and >= 0"):
        GaussianMixture().fit(X, sample_weight=-np.ones(len(X)))
    with pytest.raises(ValueError, match="should be normalized"):
        GaussianMixture(2, weights_init=[0.5, 0.6]).fit(X)
    with pytest.raises(ValueError, match="'full precision' should be symmetric, positive-definite"):
        GaussianMixture(1, precisions_init=-np.eye(3)[None]).fit(X)
    with pytest.raises(ValueError, match="means_init contains NaN"):
        GaussianMixture(1, means_init=[[np.nan, 0, 0]]).fit(X)
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        GaussianMixture(2, reg_covar=0, init_params="random_from_data", random_state=0).fit(X)
    model = GaussianMixture(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="X has 2 features, but GaussianMixture is expecting 3 features"):
        model.predict(X[:, :2])
    with pytest.raises(ValueError, match="Invalid value for 'n_samples'"):
        model.sample(0)
    with pytest.raises(NotFittedError, match="This GaussianMixture instance is not fitted yet"):
        GaussianMixture().score_samples(X)
    model.weights_ = np.array([0.5, 0.6])
    with pytest.raises(ValueError, match="do not form a valid full mixture"):
        model.score_samples(X)


def test_fit_leaves_its_arguments_and_parameters_unchanged():
    X = blobs(0)
    w = np.ones(len(X))
    start = identical_start("tied", X)
    before = snapshot(X, w, start["weights_init"], start["means_init"], start["precisions_init"])
    model = GaussianMixture(3, covariance_type="tied", **start).fit(X, sample_weight=w)
    assert_unchanged(before, X, w, model.weights_init, model.means_init, model.precisions_init)
    assert model.weights_init is start["weights_init"]
