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
def test_the_lower_bound_never_decreases(ctype):
    model = quiet_fit(GaussianMixture(3, covariance_type=ctype, tol=0, max_iter=40, random_state=0), X3_HOLES)
    bounds = np.asarray(model.lower_bounds_)
    assert len(bounds) == 40
    assert np.all(np.diff(bounds) >= -1e-12 * np.abs(bounds[1:]))


def nearly_never_observed(pattern, n=4000):
    """ref.problem(0) with column 1 observed in 2 rows of n (99.95% missing) or in row 0 only."""
    X, _ = ref.problem(0, n=n)
    hidden = np.ones(n, dtype=bool)
    hidden[np.random.default_rng(0).choice(n, 2, replace=False) if pattern == "99.95% missing" else 0] = False
    X[hidden, 1] = np.nan
    return X


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ctype", MODELS)
@pytest.mark.parametrize("pattern", ["99.95% missing", "observed in one row"])
def test_the_penalised_objective_never_decreases_where_a_column_is_nearly_never_observed(pattern, ctype, weighted):
    # scikit-learn's rule added reg_covar on top of conditional covariances that
    # already carried it: the reported bound decreased in 11 to 196 of these 200
    # iterations, in every case here. reg_covar = 0.01 shows it in every model.
    X = nearly_never_observed(pattern)
    w = np.random.default_rng(10).uniform(0.2, 2.0, len(X)) if weighted else None
    model = quiet_fit(GaussianMixture(3, covariance_type=ctype, tol=0, max_iter=200, reg_covar=0.01,
                                      random_state=0), X, w)
    bounds = np.asarray(model.lower_bounds_)
    assert len(bounds) == 200
    assert np.all(np.diff(bounds) >= -1e-12 * np.abs(bounds[1:]))


def one_gaussian_maximum_likelihood(X, w, ctype):
    """(mean, covariance in ctype's shape) maximising the observed-data likelihood
    of one Gaussian when only the last column has missing entries (a monotone
    pattern, Anderson 1957): the other columns' moments from every row, the last
    column's regression on them (weighted least squares) from its observed rows;
    diag: each column's observed moments; spherical: the squared deviations over
    all observed entries."""
    observed = ~np.isnan(X[:, -1])
    first = X[:, :-1]
    mean_first = w @ first / w.sum()
    cov_first = (w[:, None] * (first - mean_first)).T @ (first - mean_first) / w.sum()
    design = np.column_stack([np.ones(observed.sum()), first[observed]])
    sw = np.sqrt(w[observed])
    coef = np.linalg.lstsq(design * sw[:, None], X[observed, -1] * sw, rcond=None)[0]
    residual = X[observed, -1] - design @ coef
    slope = coef[1:]
    mean = np.append(mean_first, coef[0] + slope @ mean_first)
    cov = np.empty((X.shape[1], X.shape[1]))
    cov[:-1, :-1] = cov_first
    cov[:-1, -1] = cov[-1, :-1] = cov_first @ slope
    cov[-1, -1] = w[observed] @ residual ** 2 / w[observed].sum() + slope @ cov_first @ slope
    column_means = np.array([w[~np.isnan(c)] @ c[~np.isnan(c)] / w[~np.isnan(c)].sum() for c in X.T])
    column_vars = np.array([w[~np.isnan(c)] @ (c[~np.isnan(c)] - m) ** 2 / w[~np.isnan(c)].sum()
                            for c, m in zip(X.T, column_means)])
    if ctype in ("full", "tied"):
        return mean, (cov[None] if ctype == "full" else cov)
    if ctype == "diag":
        return column_means, column_vars[None]
    squares = np.nansum(w[:, None] * (X - column_means) ** 2)
    return column_means, np.array([squares / (w @ (~np.isnan(X)).sum(axis=1))])


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ctype", MODELS)
def test_a_mostly_missing_column_keeps_its_maximum_likelihood_variance(ctype, weighted):
    # One Gaussian, column 2 (sd 0.01) observed in 10 rows of 20,000, EM started at
    # the observed-data maximum-likelihood estimate with the default reg_covar =
    # 1e-6: penalised, the estimate moves by about reg_covar. scikit-learn's rule
    # added reg_covar per iteration to a column that was nearly all conditional
    # covariance (3.3x to 4.1x too large after these 300 iterations; it settles 2,000 reg_covar high).
    rng = np.random.default_rng(3)
    n = 20_000
    X = rng.normal(size=(n, 3)) * [1.0, 2.0, 0.01] + [0.0, 1.0, 5.0]
    X[:, 2] += 0.003 * X[:, 0]
    X[rng.permutation(n)[10:], 2] = np.nan
    w = rng.uniform(0.2, 2.0, n) if weighted else np.ones(n)
    mean, cov = one_gaussian_maximum_likelihood(X, w, ctype)
    model = quiet_fit(GaussianMixture(1, covariance_type=ctype, tol=0, max_iter=300, weights_init=[1.0],
                                      means_init=mean[None], precisions_init=ref.precisions(ctype, cov)),
                      X, w if weighted else None)
    last = {"full": lambda c: c[0, 2, 2], "tied": lambda c: c[2, 2], "diag": lambda c: c[0, 2],
            "spherical": lambda c: c[0]}[ctype]
    assert 1 / 1.1 < last(model.covariances_) / last(cov) < 1.1, (last(model.covariances_), last(cov))


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


@pytest.mark.parametrize("row", [0, 1500, 2999])  # in the first, a middle and the last of the core's 512-row blocks
def test_one_nan_in_any_block_takes_the_rows_with_nan_path(row):
    """The core's scoring pass finds a NaN where it reads it (not a NumPy
    check before): a lone NaN anywhere sends the call to the missing-value
    path, whose row is scored on its observed values (SciPy) and whose other
    rows are scored as complete data."""
    X = np.concatenate([X3] * 8)[:3000]
    model = GaussianMixture(3, covariance_type="full", random_state=0).fit(X3)
    rows = X.copy()
    rows[row, 1] = np.nan
    complete = np.arange(len(rows)) != row
    got = model.score_samples(rows)
    assert got[row] == pytest.approx(scipy_observed_density(rows[row], model), rel=1e-12)
    np.testing.assert_array_equal(got[complete], model.score_samples(X[complete]))
    proba = model.predict_proba(rows)
    np.testing.assert_array_equal(proba[complete], model.predict_proba(X[complete]))
    assert proba[row].sum() == pytest.approx(1.0)
    np.testing.assert_array_equal(model.predict(rows)[complete], model.predict(X[complete]))


@pytest.mark.parametrize("ctype", MODELS)
def test_the_statistics_of_rows_with_nan_carry_their_posterior_entropy(ctype):
    """latent_entropy (each row's E-step posterior entropy over its label
    and its missing entries: -sum_k r_ik log r_ik + sum_k r_ik H(N(x_M |
    x_O, k)), weighted; a term of the variational lower bound) of the rows
    with and without NaN, under the penalised objective's responsibilities,
    against the NumPy transcription's responsibilities and conditional
    covariances; a zero weight adds nothing."""
    weights, means, covariances = given_start(ctype, X3)[1]
    w = np.random.default_rng(3).uniform(0.5, 2.0, len(X3_HOLES))
    w[::11] = 0.0
    source = _missing.MissingData(X3_HOLES, w, "test", 1e-3)
    mixture = gaussmix.Mixture(weights, means, covariances, ctype)
    got = source.stats(mixture).latent_entropy
    resp, _, _, conditional = reference_missing.expected_statistics(X3_HOLES, weights, means, covariances, ctype, 1e-3)
    labels = -np.where(resp > 0, resp * np.log(np.where(resp > 0, resp, 1.0)), 0.0).sum(axis=1)
    missing = np.zeros_like(resp)
    for i, row in enumerate(X3_HOLES):
        m = np.isnan(row)
        for k in range(resp.shape[1]):
            block = conditional[i, k][np.ix_(m, m)]
            missing[i, k] = 0.5 * (m.sum() * np.log(2 * np.pi * np.e) + np.linalg.slogdet(block)[1]) if m.any() else 0.0
    want = w @ (labels + (resp * missing).sum(axis=1))
    assert abs(w @ (resp * missing).sum(axis=1)) > 1.0  # the missing entries' term is not negligible
    assert got == pytest.approx(want, rel=1e-10)


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
