"""gaussmix.BayesianGaussianMixture against scikit-learn's on the same data
and random_state: the start, the iterations and every fitted attribute, the
scores, the priors (defaults and given), the validation messages; and what
it adds: sample_weight (weights are repeated rows), float32 data, pruning,
n_components_effective_ and conditioning on the plug-in mixture."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

import reference_condition  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.metrics import adjusted_rand_score  # noqa: E402
from sklearn.mixture import BayesianGaussianMixture as SkBayesian  # noqa: E402

from gaussmix import BayesianGaussianMixture  # noqa: E402

MODELS = ("full", "tied", "diag", "spherical")
PRIOR_TYPES = ("dirichlet_process", "dirichlet_distribution")
ATTRIBUTES = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_", "mean_precision_",
              "degrees_of_freedom_", "mean_prior_", "covariance_prior_")

rng = np.random.default_rng(0)
X = np.concatenate([rng.normal(size=(300, 3)), rng.normal(size=(200, 3)) * 0.5 + 4,
                    rng.normal(size=(100, 3)) + [0.0, 5.0, 0.0]])


def both(X=X, **params):
    """scikit-learn's and gaussmix's fits of X with the same parameters (warnings silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return SkBayesian(**params).fit(X), BayesianGaussianMixture(**params).fit(X)


def assert_same_fit(theirs, ours, rtol=1e-9, X=X):
    assert ours.n_iter_ == theirs.n_iter_ and ours.converged_ == theirs.converged_
    assert ours.lower_bound_ == pytest.approx(float(np.ravel(theirs.lower_bound_)[0]), rel=rtol)
    np.testing.assert_allclose(ours.lower_bounds_, np.ravel(theirs.lower_bounds_), rtol=rtol)
    for name in ATTRIBUTES:
        np.testing.assert_allclose(np.asarray(getattr(ours, name), dtype=float),
                                   np.asarray(getattr(theirs, name), dtype=float), rtol=rtol, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(np.asarray(ours.weight_concentration_), np.asarray(theirs.weight_concentration_),
                               rtol=rtol)
    for name in ("weight_concentration_prior_", "mean_precision_prior_", "degrees_of_freedom_prior_"):
        assert getattr(ours, name) == pytest.approx(getattr(theirs, name), rel=1e-15), name
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=0, atol=1e-10)
    np.testing.assert_allclose(ours.score_samples(X), theirs.score_samples(X), rtol=1e-10)
    assert ours.score(X) == pytest.approx(theirs.score(X), rel=1e-10)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))


@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("ctype", MODELS)
def test_the_fit_is_scikit_learns(ctype, prior_type):
    theirs, ours = both(n_components=5, covariance_type=ctype, weight_concentration_prior_type=prior_type,
                        random_state=1)
    assert_same_fit(theirs, ours)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("ctype", MODELS)
def test_every_start_is_scikit_learns(ctype, prior_type, init_params):
    """Every covariance model x prior type x start, two initialisations: the
    iterates, lower bounds, n_iter_ and converged_ of scikit-learn's fit."""
    theirs, ours = both(n_components=4, covariance_type=ctype, weight_concentration_prior_type=prior_type,
                        init_params=init_params, n_init=2, random_state=3, max_iter=40)
    assert_same_fit(theirs, ours)


@pytest.mark.parametrize("ctype", MODELS)
def test_given_priors_are_scikit_learns(ctype):
    covariance_prior = {"full": np.eye(3) * 2.0 + 0.3, "tied": np.eye(3) * 0.5 + 0.1, "diag": np.array([1.0, 2.0, 0.5]),
                        "spherical": 1.5}[ctype]
    theirs, ours = both(n_components=4, covariance_type=ctype, weight_concentration_prior=0.3,
                        mean_precision_prior=0.2, mean_prior=[1.0, 2.0, -1.0], degrees_of_freedom_prior=5.5,
                        covariance_prior=covariance_prior, random_state=2)
    assert_same_fit(theirs, ours)


def test_max_iter_zero_keeps_the_start_and_warm_start_continues():
    theirs, ours = both(n_components=3, max_iter=0, random_state=0)
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-10)
    params = dict(n_components=3, max_iter=5, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs, ours = SkBayesian(**params), BayesianGaussianMixture(**params)
        for _ in range(3):  # each fit continues from the last
            theirs.fit(X)
            ours.fit(X)
    assert_same_fit(theirs, ours)


@pytest.mark.parametrize("ctype", MODELS)
def test_integer_weights_are_repeated_rows_and_zero_weights_remove_rows(ctype):
    w = np.random.default_rng(5).integers(0, 3, len(X)).astype(float)
    repeated = np.repeat(X, w.astype(int), axis=0)
    params = dict(n_components=3, covariance_type=ctype, init_params="random_from_data", random_state=0,
                  max_iter=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = BayesianGaussianMixture(**params).fit(X, sample_weight=w)
        plain = BayesianGaussianMixture(**params).fit(repeated)
    # The prior's mean and covariance are the repeated rows' (a weight counts a row that many times).
    np.testing.assert_allclose(weighted.mean_prior_, repeated.mean(axis=0), rtol=1e-12)
    want_prior = {"full": np.cov(repeated.T), "tied": np.cov(repeated.T), "diag": np.var(repeated, axis=0, ddof=1),
                  "spherical": np.var(repeated, axis=0, ddof=1).mean()}[ctype]
    np.testing.assert_allclose(weighted.covariance_prior_, want_prior, rtol=1e-12)
    # random_from_data draws rows by position, so the two fits start differently: compare each to its own
    # scikit-learn reference instead (the repeated rows, fitted by scikit-learn).
    theirs = SkBayesian(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs.fit(repeated)
    assert_same_fit(theirs, plain, X=repeated)


def test_float32_data_fits_like_float64():
    ours32 = BayesianGaussianMixture(n_components=3, random_state=0).fit(X.astype(np.float32))
    ours64 = BayesianGaussianMixture(n_components=3, random_state=0).fit(X)
    assert ours32.means_.dtype == np.float64
    np.testing.assert_allclose(ours32.means_, ours64.means_, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ours32.weights_, ours64.weights_, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("params", [
    dict(weight_concentration_prior_type="dirichlet"), dict(weight_concentration_prior=0.0),
    dict(mean_precision_prior=-1.0), dict(covariance_type="banana"), dict(n_components=0),
    dict(degrees_of_freedom_prior=1.0), dict(mean_prior=[1.0, 2.0]),
    dict(covariance_prior=np.eye(2)), dict(covariance_prior=-np.eye(3)),
    dict(covariance_type="diag", covariance_prior=[1.0, -1.0, 1.0]),
])
def test_bad_parameters_raise_scikit_learns_errors(params):
    """The same exception family (ValueError; scikit-learn's parameter error
    is also a TypeError, as gaussmix's InvalidParameterError) and the same words."""
    params = dict(params)
    n_components = params.pop("n_components", 2)
    with pytest.raises(ValueError) as theirs:
        SkBayesian(n_components=n_components, **params).fit(X)
    with pytest.raises(ValueError) as ours:
        BayesianGaussianMixture(n_components=n_components, **params).fit(X)
    assert str(ours.value) == str(theirs.value)
    assert isinstance(ours.value, TypeError) == isinstance(theirs.value, TypeError)


@pytest.mark.parametrize("ctype", MODELS)
def test_weighted_rows_fit_as_their_repeats_from_the_same_start(ctype):
    """Integer weights and the rows repeated in place (the same order, so
    that the k-means start draws the same rows): the same fit."""
    w = np.random.default_rng(5).integers(0, 3, len(X)).astype(float)
    weighted = BayesianGaussianMixture(n_components=3, covariance_type=ctype, random_state=0).fit(X, sample_weight=w)
    repeated = BayesianGaussianMixture(n_components=3, covariance_type=ctype, random_state=0).fit(
        np.repeat(X, w.astype(int), axis=0))
    assert weighted.n_iter_ == repeated.n_iter_
    assert weighted.lower_bound_ == pytest.approx(repeated.lower_bound_, rel=1e-12)
    for name in ("weights_", "means_", "covariances_", "degrees_of_freedom_", "mean_precision_"):
        np.testing.assert_allclose(getattr(weighted, name), getattr(repeated, name), rtol=1e-10, atol=1e-13)


# ---------------------------------------------------------------------- what gaussmix adds: pruning, conditioning

def three_clusters(n=1000, seed=0):
    """Three well-separated clusters (10 standard deviations apart) and their labels."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), n)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    return centres[labels] + rng.normal(size=(3 * n, 2)), labels


@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("ctype", MODELS)
def test_pruning_ends_with_the_three_components_and_the_same_predictions(ctype, prior_type):
    """n_components=10 on three well-separated clusters: with prune_threshold
    the fit ends with 3 components (every fitted attribute has 3 rows), the
    rows' labels are the clusters, and the partition is the unpruned fit's."""
    X3, truth = three_clusters()
    params = dict(n_components=10, covariance_type=ctype, weight_concentration_prior_type=prior_type, max_iter=2000,
                  random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        unpruned = BayesianGaussianMixture(**params).fit(X3)
        pruned = BayesianGaussianMixture(prune_threshold=0.01, **params).fit(X3)
    assert pruned.weights_.shape == (3,) and pruned.means_.shape == (3, 2)
    assert len(pruned.mean_precision_) == 3 and np.all(pruned.weights_ >= 0.01)
    if ctype != "tied":
        assert len(pruned.covariances_) == 3 and len(pruned.degrees_of_freedom_) == 3
    np.testing.assert_allclose(np.sort(pruned.weights_), [1 / 3] * 3, atol=2e-3)
    labels = pruned.predict(X3)
    assert adjusted_rand_score(truth, labels) == 1.0
    assert adjusted_rand_score(unpruned.predict(X3), labels) == 1.0
    assert pruned.n_components_effective_ == 3
    assert pruned.predict_proba(X3).shape == (len(X3), 3)
    # the components went during the fit (its iterations differ), not only from the result
    assert not np.array_equal(pruned.lower_bounds_[:100], unpruned.lower_bounds_[:100])


def test_pruning_never_drops_the_heaviest_component_and_is_validated():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = BayesianGaussianMixture(n_components=4, prune_threshold=0.99, random_state=0).fit(X)
    assert model.weights_.shape == (1,)
    np.testing.assert_allclose(model.means_[0], X.mean(axis=0), rtol=1e-6)  # one component: the data's mean
    for bad in (0.0, 1.0, -0.5, "0.1"):
        with pytest.raises(ValueError, match="The 'prune_threshold' parameter of BayesianGaussianMixture must be"):
            BayesianGaussianMixture(prune_threshold=bad).fit(X)


def test_n_components_effective_counts_the_weights_of_at_least_1e_3():
    X3, _ = three_clusters(300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = BayesianGaussianMixture(n_components=8, weight_concentration_prior_type="dirichlet_distribution",
                                        max_iter=500, random_state=0).fit(X3)
    assert model.n_components_effective_ == np.sum(model.weights_ >= 1e-3) == 3
    assert model.weights_.shape == (8,)  # without prune_threshold, every component stays, as scikit-learn's


def test_conditioning_works_on_the_plug_in_mixture():
    """predict_missing, condition and marginal of a Bayesian fit are those of
    the Gaussian mixture (weights_, means_, covariances_): against the NumPy
    transcription of GMM regression and conditioning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = BayesianGaussianMixture(n_components=3, random_state=0).fit(X)
    means, covs, weights = list(model.means_), list(model.covariances_), model.weights_
    rows = X[:20].copy()
    rows[::2, 0] = np.nan
    rows[1::3, 2] = np.nan
    want = np.array([reference_condition.predict_row(row, means, covs, weights)[0] for row in rows])
    np.testing.assert_allclose(model.predict_missing(rows), want, rtol=1e-10)
    conditional = model.condition([1], [4.5])
    c_means, c_covs, c_weights = reference_condition.mixture_conditional([np.nan, 4.5, np.nan], means, covs, weights)
    assert type(conditional).__name__ == "GaussianMixture"
    np.testing.assert_allclose(conditional.weights_, c_weights, rtol=1e-10)
    np.testing.assert_allclose(conditional.means_, c_means, rtol=1e-10)
    np.testing.assert_allclose(conditional.covariances_, c_covs, rtol=1e-10)
    marginal = model.marginal([2, 0])
    np.testing.assert_allclose(marginal.means_, model.means_[:, [2, 0]], rtol=1e-12)
    np.testing.assert_allclose(marginal.covariances_, model.covariances_[:, [2, 0]][:, :, [2, 0]], rtol=1e-12)


@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("ctype", MODELS)
def test_scoring_reads_the_attributes_as_scikit_learn_does(ctype, prior_type):
    """Attributes changed by hand after the fit (means_, precisions_cholesky_,
    mean_precision_, degrees_of_freedom_, weight_concentration_) change the
    scores as they change scikit-learn's."""
    theirs, ours = both(n_components=4, covariance_type=ctype, weight_concentration_prior_type=prior_type,
                        random_state=0)
    for model in (theirs, ours):
        model.means_ = model.means_ + 0.5
        model.precisions_cholesky_ = model.precisions_cholesky_ * 1.1
        model.mean_precision_ = model.mean_precision_ * 2.0
        model.degrees_of_freedom_ = model.degrees_of_freedom_ + 1.0
        if prior_type == "dirichlet_process":
            model.weight_concentration_ = (model.weight_concentration_[0] * 1.5, model.weight_concentration_[1])
        else:
            model.weight_concentration_ = model.weight_concentration_ * 1.5
    np.testing.assert_allclose(ours.score_samples(X), theirs.score_samples(X), rtol=1e-10)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-8, atol=1e-12)
