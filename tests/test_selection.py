"""select_model: the sweep's table against a loop of individual fits with the
same seeds, the criteria against their formulas (SciPy densities, counted
parameters), and the choice on data drawn from a known mixture."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

import model_reference as ref  # noqa: E402
from scipy.special import logsumexp  # noqa: E402
from scipy.stats import multivariate_normal  # noqa: E402

from gaussmix import GaussianMixture  # noqa: E402
from gaussmix.selection import select_model  # noqa: E402

rng = np.random.default_rng(0)
X = np.concatenate([rng.normal(size=(900, 3)), rng.normal(size=(600, 3)) * 0.5 + 4,
                    rng.normal(size=(300, 3)) + [0.0, 5.0, 0.0]])
W = rng.uniform(0.5, 2.0, len(X))


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random"])
def test_the_table_is_a_loop_of_individual_fits_with_the_same_seed(init_params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sweep = select_model(X, range(1, 5), n_init=2, random_state=7, init_params=init_params, max_iter=50)
        assert len(sweep.candidates) == 16
        for c in sweep.candidates:
            alone = GaussianMixture(c.n_components, covariance_type=c.covariance_type, n_init=2, random_state=7,
                                    init_params=init_params, max_iter=50).fit(X)
            for name, value in (("bic", alone.bic(X)), ("aic", alone.aic(X))):
                assert getattr(c, name) == pytest.approx(value, rel=1e-10), (c, name)
            assert c.n_iter == alone.n_iter_ and c.converged == alone.converged_
            got = sweep.estimators_[(c.n_components, c.covariance_type)]
            np.testing.assert_allclose(got.means_, alone.means_, rtol=1e-10)


def count_parameters(ctype, K, D):
    covariance = {"full": K * D * (D + 1) // 2, "tied": D * (D + 1) // 2, "diag": K * D, "spherical": K}[ctype]
    return covariance + K * D + (K - 1)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ctype", ["full", "tied", "diag", "spherical"])
def test_the_criteria_are_their_formulas(ctype, weighted):
    w = W if weighted else None
    sweep = select_model(X, [2, 3], ctype, random_state=0, sample_weight=w)
    for c in sweep.candidates:
        model = sweep.estimators_[(c.n_components, ctype)]
        dense = ref.dense_covariances(ctype, model.covariances_, *model.means_.shape)
        log_wp = np.stack([np.log(wk) + multivariate_normal(m, s).logpdf(X)
                           for wk, m, s in zip(model.weights_, model.means_, dense)], axis=1)
        log_p = logsumexp(log_wp, axis=1)
        log_map = (log_wp - log_p[:, None]).max(axis=1)
        weights = np.ones(len(X)) if w is None else w
        log_l, n = weights @ log_p, weights.sum()
        p = count_parameters(ctype, c.n_components, 3)
        assert c.n_parameters == p
        assert c.log_likelihood == pytest.approx(log_l, rel=1e-10)
        assert c.bic == pytest.approx(-2 * log_l + p * math.log(n), rel=1e-10)
        assert c.aic == pytest.approx(-2 * log_l + 2 * p, rel=1e-10)
        assert c.icl == pytest.approx(-2 * log_l + p * math.log(n) - 2 * weights @ log_map, rel=1e-10)
        assert c.icl >= c.bic


@pytest.mark.parametrize("criterion", ["bic", "icl"])
def test_data_from_a_known_mixture_chooses_it(criterion):
    truth = np.random.default_rng(5)
    means = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    variances = np.array([[1.0, 0.3], [0.3, 1.0], [0.5, 0.6]])  # each its own axis-aligned shape: diag
    data = np.concatenate([truth.multivariate_normal(m, np.diag(v), size=700) for m, v in zip(means, variances)])
    sweep = select_model(data, range(1, 7), criterion=criterion, random_state=0, n_init=2)
    assert (sweep.best_.n_components, sweep.best_.covariance_type) == (3, "diag")
    assert sweep.best_estimator_ is sweep.estimators_[(3, "diag")]
    assert getattr(sweep.best_, criterion) == min(getattr(c, criterion) for c in sweep.candidates)


def test_the_table_is_a_dataframe_and_the_plot_has_a_curve_per_model():
    pd = pytest.importorskip("pandas")
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    calls = []
    sweep = select_model(X, range(1, 4), ["full", "diag"], random_state=0,
                         progress=lambda done, total, c: calls.append((done, total, c.n_components)))
    assert [(done, total) for done, total, _ in calls] == [(d, 6) for d in range(1, 7)]
    assert sorted(k for _, _, k in calls) == [1, 1, 2, 2, 3, 3]  # in the order the fits finish
    table = sweep.table()
    assert isinstance(table, pd.DataFrame) and len(table) == 6
    np.testing.assert_array_equal(table["bic"], [c.bic for c in sweep.candidates])
    ax = sweep.plot()
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:2] == ["full", "diag"] and labels[2].startswith("best: K = ")
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), [c.bic for c in sweep.candidates[1::2]])


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(criterion="aicc"), ValueError, "criterion must be one of bic, aic, icl"),
    (dict(n_components=[0, 2]), ValueError, "n_components must be a positive int"),
    (dict(covariance_types=["full", "round"]), ValueError, "covariance_types must be among"),
    (dict(covariance_type="full"), TypeError, "covariance_type is set by the sweep"),
    (dict(random_state="seven"), ValueError, "random_state must be None, an int or a RandomState"),
])
def test_bad_arguments_are_refused(kwargs, error, message):
    with pytest.raises(error, match=message):
        select_model(X, **kwargs)


@pytest.mark.parametrize("kind", ["nan", "float32"])
def test_criteria_of_data_off_the_core_shortcut_are_the_estimators(kind):
    """select_model scores float64 data without NaN straight through the core;
    data with NaN or in float32 go through the estimator's own scoring, and
    the criteria are then the fitted model's bic and aic."""
    x = X.astype(np.float32) if kind == "float32" else X.copy()
    if kind == "nan":
        x[::7, 1] = np.nan
    rel = 1e-6 if kind == "float32" else 1e-10  # float32 scores, summed in another order by bic
    sweep = select_model(x, [2, 3], "diag", random_state=0)
    for c in sweep.candidates:
        model = sweep.estimators_[(c.n_components, "diag")]
        assert np.isfinite(c.bic)
        assert c.bic == pytest.approx(model.bic(x), rel=rel)
        assert c.aic == pytest.approx(model.aic(x), rel=rel)


def _sweep_with_threads(n_threads, monkeypatch, **kwargs):
    """select_model on n_threads core threads, recording whether its fits ran side by side."""
    import gaussmix
    from gaussmix import selection

    calls = []
    real = selection._run_side_by_side
    monkeypatch.setattr(selection, "_run_side_by_side", lambda *a: calls.append(a[1:3]) or real(*a))
    before = gaussmix.get_num_threads()
    gaussmix.set_num_threads(n_threads)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return select_model(X, range(1, 6), n_init=2, random_state=3, **kwargs), calls
    finally:
        gaussmix.set_num_threads(before)


def test_fits_side_by_side_are_the_fits_one_at_a_time(monkeypatch):
    """With two threads the small fits run two at a time, each on one core
    thread, in another order (the largest K first); the table, the models
    and the progress reports are those of one fit at a time, bit for bit."""
    seen = []
    side, calls = _sweep_with_threads(2, monkeypatch, progress=lambda done, total, c: seen.append((done, total, c)))
    assert calls == [(2, 1)]  # two workers, one core thread each
    alone, calls = _sweep_with_threads(1, monkeypatch)
    assert calls == []
    strip = lambda c: c._replace(seconds=0.0)  # noqa: E731
    assert [strip(c) for c in side.candidates] == [strip(c) for c in alone.candidates]
    for key, model in alone.estimators_.items():
        for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
            np.testing.assert_array_equal(getattr(side.estimators_[key], name), getattr(model, name))
    assert [d for d, _, _ in seen] == list(range(1, 21)) and {t for _, t, _ in seen} == {20}
    assert sorted((c.n_components, c.covariance_type) for _, _, c in seen) == sorted(
        (c.n_components, c.covariance_type) for c in alone.candidates)


def test_an_error_in_a_fit_side_by_side_is_raised_in_the_caller(monkeypatch):
    """A fit's error in a worker thread reaches the caller as it is; so does the progress callback's own."""
    with pytest.raises(ValueError, match="max_iter"):
        _sweep_with_threads(2, monkeypatch, max_iter=-1)

    def failing(done, total, candidate):
        raise RuntimeError("progress callback failed")

    with pytest.raises(RuntimeError, match="progress callback failed"):
        _sweep_with_threads(2, monkeypatch, progress=failing)
