"""GaussianMixture on data with missing values (NaN): exact EM on the observed
entries, against a plain NumPy transcription (tests/reference_missing.py),
SciPy's marginal densities, and the truth of synthetic data."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

import model_reference as ref  # noqa: E402
import reference_missing  # noqa: E402
from scipy.stats import multivariate_normal  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

import gaussmix  # noqa: E402
from gaussmix import GaussianMixture  # noqa: E402
from gaussmix import _missing  # noqa: E402

MODELS = ("full", "tied", "diag", "spherical")


def with_holes(X, fraction, seed):
    """X with a fraction of its entries set to NaN at random (a row keeps at least one value)."""
    rng = np.random.default_rng(seed)
    holes = rng.random(X.shape) < fraction
    holes[holes.all(axis=1), 0] = False
    out = X.copy()
    out[holes] = np.nan
    return out


def quiet_fit(model, X, sample_weight=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        return model.fit(X, sample_weight=sample_weight)


def given_start(ctype, X, seed=1):
    weights, means, covs = ref.start_for(ctype, X[~np.isnan(X).any(axis=1)], 3, seed)
    return dict(weights_init=weights, means_init=means, precisions_init=ref.precisions(ctype, covs)), \
        (weights, means, covs)


X3, _ = ref.problem(0, n=400)
X3_HOLES = with_holes(X3, 0.3, 1)
W3 = np.random.default_rng(2).uniform(0.2, 2.0, len(X3))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ctype", MODELS)
def test_the_fit_is_the_textbook_algorithm(ctype, weighted):
    w = W3 if weighted else None
    init, (weights, means, covs) = given_start(ctype, X3_HOLES)
    model = quiet_fit(GaussianMixture(3, covariance_type=ctype, tol=0, max_iter=6, reg_covar=1e-6, **init),
                      X3_HOLES, w)
    want = reference_missing.fit(X3_HOLES, weights, means, covs, ctype, 6, w, reg_covar=1e-6)
    ref.assert_close(model.weights_, want[0], 1e-8, "weights")
    ref.assert_close(model.means_, want[1], 1e-8, "means")
    ref.assert_close(model.covariances_, want[2], 1e-8, "covariances")
    np.testing.assert_allclose(model.lower_bounds_, want[3], rtol=1e-10)
    assert model.lower_bound_ == model.lower_bounds_[-1]


def test_far_components_and_float32_follow_the_textbook_too():
    # The third cluster 600 away: the complete rows' statistics are taken around
    # its own mean, and the incomplete rows' around the same shift.
    X, _ = ref.problem(3, far=True, n=400)
    holes = with_holes(X, 0.25, 4)
    init, (weights, means, covs) = given_start("full", holes, seed=5)
    want = reference_missing.fit(holes, weights, means, covs, "full", 4, reg_covar=1e-6)
    for data, rtol in ((holes, 1e-8), (holes.astype(np.float32), 2e-4)):
        model = quiet_fit(GaussianMixture(3, tol=0, max_iter=4, **init), data)
        assert model.means_.dtype == data.dtype
        ref.assert_close(model.means_, want[1], rtol, "means")
        ref.assert_close(model.covariances_, want[2], rtol, "covariances")


def test_without_nan_the_missing_data_path_is_not_taken(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the missing-data path ran on complete data")

    expected = GaussianMixture(3, random_state=0).fit(X3)
    monkeypatch.setattr(_missing, "MissingData", refuse)
    got = GaussianMixture(3, random_state=0).fit(X3)
    for name in ("weights_", "means_", "covariances_", "lower_bounds_"):
        assert np.array_equal(getattr(got, name), getattr(expected, name)), name


@pytest.mark.parametrize("ctype", MODELS)
def test_the_observed_log_likelihood_never_decreases(ctype):
    model = quiet_fit(GaussianMixture(3, covariance_type=ctype, tol=0, max_iter=40, random_state=0), X3_HOLES)
    bounds = np.asarray(model.lower_bounds_)
    assert len(bounds) == 40
    assert np.all(np.diff(bounds) >= -1e-12 * np.abs(bounds[1:]))


def test_the_same_bits_with_one_or_two_threads():
    X = with_holes(ref.clustered(np.random.default_rng(7), 20_000, ref.CENTRES, ref.SDS), 0.2, 8)
    fits = []
    for threads in (1, 2):
        gaussmix.set_num_threads(threads)
        try:
            fits.append(quiet_fit(GaussianMixture(3, tol=0, max_iter=5, random_state=0), X))
        finally:
            gaussmix.set_num_threads(None)
    for name in ("weights_", "means_", "covariances_", "lower_bounds_"):
        assert np.array_equal(getattr(fits[0], name), getattr(fits[1], name)), name


def error(estimate, truth_means, truth_covs):
    """Summed distance of the fitted means and covariances to the truth, components matched by their means."""
    order = [int(np.argmin(np.linalg.norm(estimate.means_ - m, axis=1))) for m in truth_means]
    assert sorted(order) == list(range(len(truth_means)))
    return sum(np.linalg.norm(estimate.means_[o] - m) + np.linalg.norm(estimate.covariances_[o] - c)
               for o, m, c in zip(order, truth_means, truth_covs))


def test_missing_data_em_is_closer_to_the_truth_than_dropping_rows_or_mean_imputation():
    # 5-D, two components, 30% of the entries missing completely at random: 17% of the
    # rows stay complete. Errors summed over three data sets (fixed seeds).
    D, totals = 5, {"missing-data EM": 0.0, "dropped rows": 0.0, "mean imputation": 0.0}
    for seed in range(3):
        rng = np.random.default_rng(seed)
        A = rng.normal(size=(2, D, D))
        covs = np.stack([a @ a.T / D + 0.5 * np.eye(D) for a in A])
        means = np.stack([np.zeros(D), np.array([4.0, 3.0, -2.0, 1.0, 2.0])])
        labels = rng.integers(2, size=3000)
        X = np.stack([rng.multivariate_normal(means[k], covs[k]) for k in labels])
        holes = with_holes(X, 0.3, seed + 100)
        data = {"missing-data EM": holes, "dropped rows": holes[~np.isnan(holes).any(axis=1)],
                "mean imputation": np.where(np.isnan(holes), np.nanmean(holes, axis=0), holes)}
        for name, x in data.items():
            totals[name] += error(GaussianMixture(2, random_state=0, n_init=3).fit(x), means, covs)
    assert totals["missing-data EM"] < 0.75 * totals["dropped rows"], totals  # 0.54 when written
    assert totals["missing-data EM"] < 0.3 * totals["mean imputation"], totals  # 0.15


def scipy_observed_density(x, model):
    """log sum_k w_k N(x_O | mu_kO, S_kOO) of one row, by SciPy."""
    o = ~np.isnan(x)
    dense = ref.dense_covariances(model.covariance_type, model.covariances_, *model.means_.shape)
    return np.log(sum(w * multivariate_normal(m[o], c[np.ix_(o, o)]).pdf(x[o])
                      for w, m, c in zip(model.weights_, model.means_, dense)))


@pytest.mark.parametrize("ctype", MODELS)
def test_scoring_rows_with_nan_uses_their_observed_values(ctype):
    model = GaussianMixture(3, covariance_type=ctype, random_state=0).fit(X3)
    rows = X3_HOLES[:60].copy()
    rows[5] = np.nan  # no observed value: log p = 0, probabilities = weights
    want = np.array([0.0 if np.isnan(r).all() else scipy_observed_density(r, model) for r in rows])
    np.testing.assert_allclose(model.score_samples(rows), want, rtol=1e-10, atol=1e-12)
    assert model.score(rows) == pytest.approx(want.mean(), rel=1e-12)
    dense = ref.dense_covariances(ctype, model.covariances_, 3, 3)
    log_w = np.array([[np.log(w) + (0.0 if np.isnan(r).all() else
                                    multivariate_normal(m[~np.isnan(r)], c[np.ix_(~np.isnan(r), ~np.isnan(r))])
                                    .logpdf(r[~np.isnan(r)]))
                       for w, m, c in zip(model.weights_, model.means_, dense)] for r in rows])
    proba = np.exp(log_w - log_w.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(model.predict_proba(rows), proba, rtol=1e-9, atol=1e-14)
    np.testing.assert_array_equal(model.predict(rows), log_w.argmax(axis=1))
    complete = ~np.isnan(rows).any(axis=1)
    np.testing.assert_array_equal(model.score_samples(rows)[complete], model.score_samples(rows[complete]))


def test_a_model_fitted_with_holes_fills_them():
    model = GaussianMixture(3, random_state=0).fit(X3_HOLES)
    filled = model.predict_missing(X3_HOLES)
    assert not np.isnan(filled).any()
    observed = ~np.isnan(X3_HOLES)
    np.testing.assert_array_equal(filled[observed], X3_HOLES[observed])


def test_fit_predict_labels_rows_with_holes():
    model = GaussianMixture(3, random_state=0)
    labels = model.fit_predict(X3_HOLES)
    np.testing.assert_array_equal(labels, model.predict(X3_HOLES))


def test_bad_missing_data_is_refused():
    empty_row = X3_HOLES.copy()
    empty_row[17] = np.nan
    with pytest.raises(ValueError, match=r"row 17 of X has no observed value"):
        GaussianMixture(3).fit(empty_row)
    empty_column = X3.copy()
    empty_column[:, 1] = np.nan
    with pytest.raises(ValueError, match=r"column 1 of X has no observed value"):
        GaussianMixture(3).fit(empty_column)
    infinite = X3_HOLES.copy()
    infinite[3, 2] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        GaussianMixture(3).fit(infinite)


def test_the_pypr_face_rejects_nan_and_points_to_the_estimator():
    with pytest.raises(ValueError, match=r"em\(\): X contains NaN.*fit gaussmix.GaussianMixture"):
        gaussmix.gmm.em(X3_HOLES, 3)


def test_the_caller_array_is_not_modified():
    before = X3_HOLES.copy()
    GaussianMixture(3, random_state=0).fit(X3_HOLES).score_samples(X3_HOLES)
    np.testing.assert_array_equal(X3_HOLES, before)
