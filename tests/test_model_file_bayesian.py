"""Model files of a BayesianGaussianMixture: save / load round trips bit for
bit for every covariance model and weight prior; the file is format 3 with
a kind member (a GaussianMixture's is still format 2); every posterior and
prior member of a damaged file is refused with the one message; a file of
the other class names the class to load it with; and ``gaussmix fit
--bayesian`` writes the model that BayesianGaussianMixture(...).fit gives,
which predict, sample, info and plot read.

The bad files are written member by member with zipfile and
numpy.lib.format (tests/test_model_file_untrusted.py's writer),
independently of gaussmix's writer; the round trip compares with the
fitted estimator itself and the stored members with its attributes as read
by np.load."""
from __future__ import annotations

import importlib.util
import json
import math
import re

import numpy as np
import pytest

pytest.importorskip("sklearn")

from gaussmix import BayesianGaussianMixture, GaussianMixture  # noqa: E402
from gaussmix.estimator import MixtureEstimator  # noqa: E402
from test_cli import gaussmix, read_csv_output, write_csv  # noqa: E402
from test_cli import X as CLI_X  # noqa: E402
from test_model_file_untrusted import invalid, members_of, write_npz  # noqa: E402

X = np.random.default_rng(0).normal(size=(300, 3)) + np.repeat([[0, 0, 0], [4, 4, 0]], 150, axis=0)
D = X.shape[1]
COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
PRIOR_TYPES = ["dirichlet_process", "dirichlet_distribution"]
#: Every fitted attribute of a BayesianGaussianMixture (scikit-learn's list).
ATTRIBUTES = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_", "weight_concentration_",
              "mean_precision_", "degrees_of_freedom_", "weight_concentration_prior_", "mean_precision_prior_",
              "mean_prior_", "degrees_of_freedom_prior_", "covariance_prior_", "converged_", "n_iter_",
              "lower_bound_", "lower_bounds_", "n_features_in_", "n_components_effective_")
#: The members a Bayesian file holds beyond a GaussianMixture's common ones, and the attribute each stores.
POSTERIOR_AND_PRIORS = {"weight_concentration": "weight_concentration_", "mean_precision": "mean_precision_",
                        "degrees_of_freedom": "degrees_of_freedom_", "mixture_means": "means_",
                        "mixture_covariances": "covariances_",
                        "weight_concentration_prior": "weight_concentration_prior_",
                        "mean_precision_prior": "mean_precision_prior_", "mean_prior": "mean_prior_",
                        "degrees_of_freedom_prior": "degrees_of_freedom_prior_",
                        "covariance_prior": "covariance_prior_"}


def fit(ctype="full", prior="dirichlet_process", **params):
    params = {"max_iter": 1000, **params}  # converged, so no ConvergenceWarning
    return BayesianGaussianMixture(n_components=4, covariance_type=ctype, weight_concentration_prior_type=prior,
                                   random_state=1, **params).fit(X)


def assert_identical(got, want, name):
    """Equal bit for bit, of the same type (and dtype and shape for arrays; a tuple element by element)."""
    assert type(got) is type(want), (name, type(got), type(want))
    if isinstance(want, tuple):
        assert len(got) == len(want), name
        for g, w in zip(got, want):
            assert_identical(g, w, name)
    elif isinstance(want, np.ndarray):
        assert got.dtype == want.dtype and got.shape == want.shape and np.array_equal(got, want), name
    elif isinstance(want, float) and math.isinf(want):
        assert got == want, name
    else:
        assert got == want, name


def refused(path, why: str, cls=BayesianGaussianMixture):
    with pytest.raises(ValueError, match=invalid(path, why)) as info:
        cls.load(path)
    assert type(info.value) is ValueError
    return str(info.value)


@pytest.fixture(scope="module")
def fitted():
    return fit("full", "dirichlet_process")


@pytest.fixture()
def good(tmp_path, fitted):
    """The members of a Bayesian model file written by save."""
    fitted.save(tmp_path / "good.npz")
    return members_of(tmp_path / "good.npz")


# ----------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("prior", PRIOR_TYPES)
@pytest.mark.parametrize("ctype", COVARIANCE_TYPES)
def test_a_saved_model_loads_bit_identically(tmp_path, ctype, prior):
    model = fit(ctype, prior)
    assert model.n_iter_ > 1
    model.save(tmp_path / "model.bgm")  # the name as given
    loaded = BayesianGaussianMixture.load(tmp_path / "model.bgm")
    assert type(loaded) is BayesianGaussianMixture
    assert loaded.get_params() == model.get_params()
    for name in ATTRIBUTES:
        assert_identical(getattr(loaded, name), getattr(model, name), name)
    for method in ("predict_proba", "score_samples", "predict"):
        assert_identical(getattr(loaded, method)(X), getattr(model, method)(X), method)
    assert np.array_equal(loaded.score(X), model.score(X))
    for got, want in zip(loaded.sample(50), model.sample(50)):
        assert_identical(got, want, "sample")


@pytest.mark.parametrize("prior", PRIOR_TYPES)
@pytest.mark.parametrize("ctype", ["full", "tied"])
def test_the_file_holds_the_posterior_and_priors_as_documented(tmp_path, ctype, prior):
    """Read with np.load: format 3, kind, and each member the attribute it stores (float64; the Dirichlet
    process's two arrays as the rows of one member), no mixture weights or dtype."""
    model = fit(ctype, prior)
    model.save(tmp_path / "m.npz")
    members = members_of(tmp_path / "m.npz")
    assert int(members["format_version"]) == 3 and str(members["kind"]) == "BayesianGaussianMixture"
    assert "mixture_weights" not in members and "dtype" not in members
    for member, attribute in POSTERIOR_AND_PRIORS.items():
        want = getattr(model, attribute)
        want = np.stack(want) if isinstance(want, tuple) else np.asarray(want)
        assert members[member].dtype == np.float64 and np.array_equal(members[member], want), member
    assert members["weight_concentration"].shape == ((2, 4) if prior == "dirichlet_process" else (4,))
    assert members["degrees_of_freedom"].shape == (() if ctype == "tied" else (4,))
    assert np.array_equal(members["lower_bounds"], model.lower_bounds_)


def test_a_gaussian_mixture_is_still_written_in_format_2(tmp_path):
    """So that a gaussmix that reads format 2 still reads it."""
    GaussianMixture(2, random_state=0).fit(X).save(tmp_path / "m.npz")
    members = members_of(tmp_path / "m.npz")
    assert int(members["format_version"]) == 2 and "kind" not in members


def test_a_format_3_gaussian_mixture_file_is_read(tmp_path):
    model = GaussianMixture(2, covariance_type="diag", random_state=0).fit(X.astype(np.float32))
    model.save(tmp_path / "m.npz")
    members = members_of(tmp_path / "m.npz")
    write_npz(tmp_path / "v3.npz", {**members, "format_version": np.array(3), "kind": np.array("GaussianMixture")})
    loaded = GaussianMixture.load(tmp_path / "v3.npz")
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        assert_identical(getattr(loaded, name), getattr(model, name), name)


def test_mixture_estimator_load_reads_either_class(tmp_path, fitted):
    fitted.save(tmp_path / "b.npz")
    GaussianMixture(2, random_state=0).fit(X).save(tmp_path / "g.npz")
    assert type(MixtureEstimator.load(tmp_path / "b.npz")) is BayesianGaussianMixture
    assert type(MixtureEstimator.load(tmp_path / "g.npz")) is GaussianMixture


def test_a_subclass_loads_as_itself(tmp_path, fitted):
    class Mine(BayesianGaussianMixture):
        pass

    fitted.save(tmp_path / "b.npz")
    assert type(Mine.load(tmp_path / "b.npz")) is Mine


@pytest.mark.parametrize("ctype, prior", [("full", "dirichlet_process"), ("tied", "dirichlet_distribution")])
def test_a_pruned_model_with_fewer_components_than_n_components_round_trips(tmp_path, ctype, prior):
    model = BayesianGaussianMixture(8, covariance_type=ctype, weight_concentration_prior_type=prior,
                                    prune_threshold=0.01, random_state=0, max_iter=1000).fit(X)
    assert len(model.weights_) < 8
    model.save(tmp_path / "m.npz")
    loaded = BayesianGaussianMixture.load(tmp_path / "m.npz")
    for name in ATTRIBUTES:
        assert_identical(getattr(loaded, name), getattr(model, name), name)
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_fewer_components_than_n_components_need_a_prune_threshold(tmp_path):
    model = BayesianGaussianMixture(8, prune_threshold=0.01, random_state=0, max_iter=1000).fit(X)
    model.save(tmp_path / "m.npz")
    members = members_of(tmp_path / "m.npz")
    K = len(model.weights_)
    for change, why in (({"prune_threshold": None}, f"its params say n_components=8 but its means are for {K}"),
                        ({"n_components": K - 1}, f"its params say n_components={K - 1} but its means are for {K}")):
        params = {**json.loads(str(members["params"])), **change}
        write_npz(tmp_path / "bad.npz", {**members, "params": np.array(json.dumps(params))})
        refused(tmp_path / "bad.npz", why)


def test_a_loaded_model_warm_starts_as_the_saved_one(tmp_path):
    """The loaded posterior is the one a fit continues from."""
    from sklearn.exceptions import ConvergenceWarning

    with pytest.warns(ConvergenceWarning):  # not converged after 5 iterations
        model = fit("diag", max_iter=5)
    model.save(tmp_path / "m.npz")
    loaded = BayesianGaussianMixture.load(tmp_path / "m.npz")
    for estimator in (model, loaded):
        with pytest.warns(ConvergenceWarning):
            estimator.set_params(warm_start=True).fit(X)
    assert model.n_iter_ == 5
    for name in ("weight_concentration_", "means_", "covariances_", "lower_bounds_"):
        assert_identical(getattr(loaded, name), getattr(model, name), name)


def test_feature_names_and_given_priors_survive(tmp_path):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    model = BayesianGaussianMixture(3, covariance_type="diag", random_state=0, mean_prior=[1.0, 2.0, 3.0],
                                    covariance_prior=[1.0, 2.0, 0.5], degrees_of_freedom_prior=4.5,
                                    weight_concentration_prior=0.01, mean_precision_prior=0.3,
                                    max_iter=1000).fit(frame)
    model.save(tmp_path / "m.npz")
    loaded = BayesianGaussianMixture.load(tmp_path / "m.npz")
    assert list(loaded.feature_names_in_) == ["a", "b", "c"]
    assert loaded.get_params()["mean_prior"] == [1.0, 2.0, 3.0]
    for name in ATTRIBUTES:
        assert_identical(getattr(loaded, name), getattr(model, name), name)
    assert (loaded.weight_concentration_prior_, loaded.mean_precision_prior_, loaded.degrees_of_freedom_prior_) == (
        0.01, 0.3, 4.5)
    assert np.array_equal(loaded.predict_proba(frame), model.predict_proba(frame))


def test_a_model_fitted_to_rows_with_missing_values_or_float32_round_trips(tmp_path):
    holes = X.copy()
    holes[::7, 2] = np.nan
    for data in (holes, X.astype(np.float32)):
        model = BayesianGaussianMixture(3, random_state=0, max_iter=1000).fit(data)
        model.save(tmp_path / "m.npz")
        loaded = BayesianGaussianMixture.load(tmp_path / "m.npz")
        for name in ATTRIBUTES:
            assert_identical(getattr(loaded, name), getattr(model, name), name)
        assert np.array_equal(loaded.score_samples(data), model.score_samples(data), equal_nan=True)


# ----------------------------------------------------------------------------- the other class


def test_a_file_of_the_other_class_names_the_class_to_use(tmp_path, fitted):
    fitted.save(tmp_path / "b.npz")
    with pytest.raises(ValueError, match=re.escape(f"{tmp_path / 'b.npz'} holds a BayesianGaussianMixture, not a "
                                                   "GaussianMixture: load it with BayesianGaussianMixture.load")):
        GaussianMixture.load(tmp_path / "b.npz")
    GaussianMixture(2, random_state=0).fit(X).save(tmp_path / "g.npz")
    with pytest.raises(ValueError, match=re.escape(f"{tmp_path / 'g.npz'} holds a GaussianMixture, not a "
                                                   "BayesianGaussianMixture: load it with GaussianMixture.load")):
        BayesianGaussianMixture.load(tmp_path / "g.npz")


# ----------------------------------------------------------------------------- damaged files


@pytest.mark.parametrize("name", ["kind", *POSTERIOR_AND_PRIORS])
def test_a_missing_member_is_refused(tmp_path, good, name):
    write_npz(tmp_path / "m.npz", {key: value for key, value in good.items() if key != name})
    refused(tmp_path / "m.npz", "format 3 has no kind" if name == "kind" else f"format 3 .* has no {name}")


@pytest.mark.parametrize("change, why", [
    ({"kind": np.array("PoissonMixture")}, "no kind, or one not in GaussianMixture, BayesianGaussianMixture"),
    ({"kind": np.array(3)}, "kind has dtype int64, not text"),
    ({"mixture_weights": np.full(4, 0.25)}, "unknown members mixture_weights"),
    ({"dtype": np.array("float64")}, "unknown members dtype"),
    ({"format_version": np.array(2)}, "format 2 has no dtype, mixture_weights; unknown members"),
])
def test_a_kind_or_member_set_that_does_not_fit_is_refused(tmp_path, good, change, why):
    write_npz(tmp_path / "m.npz", {**good, **change})
    refused(tmp_path / "m.npz", why)


@pytest.mark.parametrize("name", list(POSTERIOR_AND_PRIORS))
@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.complex128, "U3"])
def test_a_member_of_the_wrong_dtype_is_refused(tmp_path, good, name, dtype):
    write_npz(tmp_path / "m.npz", {**good, name: good[name].astype(dtype)})
    refused(tmp_path / "m.npz", re.escape(f"{name} has dtype {np.dtype(dtype)}, not float64"))


#: For each new member: its shape in the fixture's file (full, Dirichlet process, K = 4, D = 3), and wrong ones.
WRONG_SHAPES = {
    "weight_concentration": [(4,), (2, 3), (3, 4), (2, 4, 1)],
    "mean_precision": [(), (3,), (4, 1)],
    "degrees_of_freedom": [(), (5,)],
    "mixture_means": [(4,), (0, 3), (4, 3, 1)],
    "mixture_covariances": [(4, 3), (3, 3, 3), (3, 3)],
    "weight_concentration_prior": [(1,), (4,)],
    "mean_precision_prior": [(1,), (4,)],
    "mean_prior": [(), (2,), (1, 3)],
    "degrees_of_freedom_prior": [(1,), (4,)],
    "covariance_prior": [(), (3,), (4, 3, 3), (2, 2)],
}


@pytest.mark.parametrize("name, shape", [(name, shape) for name, shapes in WRONG_SHAPES.items()
                                         for shape in shapes])
def test_a_member_of_the_wrong_shape_is_refused(tmp_path, good, name, shape):
    value = np.resize(good[name], shape)
    write_npz(tmp_path / "m.npz", {**good, name: value})
    refused(tmp_path / "m.npz", re.escape(f"{name} has shape {shape}"))


def test_means_of_another_dimension_disagree_with_the_other_members(tmp_path, good):
    write_npz(tmp_path / "m.npz", {**good, "mixture_means": good["mixture_means"][:, :2]})
    refused(tmp_path / "m.npz", re.escape("mixture_covariances has shape (4, 3, 3), not (4, 2, 2)"))


@pytest.mark.parametrize("ctype, prior, shapes", [
    ("tied", "dirichlet_distribution", {"degrees_of_freedom": (4,), "weight_concentration": (2, 4),
                                        "covariance_prior": (3,), "mixture_covariances": (4, 3, 3)}),
    ("diag", "dirichlet_process", {"covariance_prior": (3, 3), "degrees_of_freedom": ()}),
    ("spherical", "dirichlet_distribution", {"covariance_prior": (3,), "mixture_covariances": (4, 3)}),
])
def test_shapes_follow_the_covariance_type_and_the_weight_prior(tmp_path, ctype, prior, shapes):
    fit(ctype, prior).save(tmp_path / "m.npz")
    members = members_of(tmp_path / "m.npz")
    for name, shape in shapes.items():
        write_npz(tmp_path / "bad.npz", {**members, name: np.resize(members[name], shape)})
        refused(tmp_path / "bad.npz", re.escape(f"{name} has shape {shape}"))


def with_value(a: np.ndarray, value: float, where=0) -> np.ndarray:
    """a with one entry (the flat index where) set to value."""
    a = np.array(a, dtype=np.float64)
    a.flat[where] = value
    return a


@pytest.mark.parametrize("name", list(POSTERIOR_AND_PRIORS))
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_a_non_finite_member_is_refused(tmp_path, good, name, value):
    write_npz(tmp_path / "m.npz", {**good, name: with_value(good[name], value, where=good[name].size - 1)})
    why = {"mixture_means": "means contain NaN or infinite values",
           "mixture_covariances": "covariances contain NaN or infinite values"}.get(name, f"{name} has non-finite")
    refused(tmp_path / "m.npz", why)


@pytest.mark.parametrize("name, value, where, why", [
    ("weight_concentration", 0.0, 0, "weight_concentration must be greater than 0"),  # alpha_0
    ("weight_concentration", -1.0, 5, "weight_concentration must be greater than 0, and has -1"),  # beta_1
    ("mean_precision", 0.0, 2, "mean_precision must be greater than 0"),
    ("mean_precision", -3.0, 0, "mean_precision must be greater than 0, and has -3"),
    ("degrees_of_freedom", 2.0, 1, r"degrees_of_freedom must be greater than 2 \(n_features - 1\), and has 2"),
    ("degrees_of_freedom", -1.0, 3, "degrees_of_freedom must be greater than 2"),
    ("weight_concentration_prior", 0.0, 0, "weight_concentration_prior must be greater than 0"),
    ("weight_concentration_prior", -0.5, 0, "weight_concentration_prior must be greater than 0"),
    ("mean_precision_prior", 0.0, 0, "mean_precision_prior must be greater than 0"),
    ("degrees_of_freedom_prior", 2.0, 0, r"degrees_of_freedom_prior must be greater than 2 \(n_features - 1\)"),
    ("covariance_prior", -1.0, 0, "covariance_prior is invalid.*should be symmetric, positive-definite"),
    ("covariance_prior", 1e6, 1, "covariance_prior is invalid.*should be symmetric, positive-definite"),
    ("mixture_covariances", -1.0, 0, "posterior is invalid.*positive definite"),
    ("mixture_covariances", 1e6, 1, "posterior is invalid.*symmetric"),
])
def test_a_member_out_of_its_range_is_refused(tmp_path, good, name, value, where, why):
    write_npz(tmp_path / "m.npz", {**good, name: with_value(good[name], value, where)})
    refused(tmp_path / "m.npz", why)


@pytest.mark.parametrize("ctype, name, value, why", [
    ("tied", "degrees_of_freedom", 1.5, "degrees_of_freedom must be greater than 2"),
    ("diag", "covariance_prior", 0.0, "covariance_prior is invalid.*should be positive"),
    ("spherical", "covariance_prior", -2.0, "covariance_prior is invalid.*should be positive"),
    ("spherical", "mixture_covariances", 0.0, "posterior is invalid"),
])
def test_ranges_of_the_other_covariance_types(tmp_path, ctype, name, value, why):
    fit(ctype, "dirichlet_distribution").save(tmp_path / "m.npz")
    members = members_of(tmp_path / "m.npz")
    write_npz(tmp_path / "bad.npz", {**members, name: with_value(members[name], value)})
    refused(tmp_path / "bad.npz", why)


@pytest.mark.parametrize("name, value", [
    ("weight_concentration", np.array([np.full(4, 1e-300), np.full(4, 1e300)])),  # alpha / (alpha + beta) is 0
    ("weight_concentration", np.full((2, 4), 1e308)),  # alpha + beta overflows
    ("mean_precision", np.full(4, 1e-320)),  # D / beta overflows: no component has a finite E-step weight
], ids=["weights underflow", "concentrations overflow", "mean precisions underflow"])
def test_finite_positive_values_whose_posterior_over_or_underflows_are_refused(tmp_path, good, name, value):
    write_npz(tmp_path / "m.npz", {**good, name: value})
    refused(tmp_path / "m.npz", r"its posterior is invalid \(Mixture\(\): weights")


@pytest.mark.parametrize("change, why", [
    ({"weight_concentration_prior_type": "dirichlet_distribution"}, r"weight_concentration has shape \(2, 4\), "
                                                                     r"not \(4,\)"),
    ({"weight_concentration_prior_type": "pitman_yor"}, "params are invalid.*weight_concentration_prior_type"),
    ({"mean_precision_prior": -1.0}, "params are invalid.*mean_precision_prior"),
    ({"n_components": 5}, "n_components=5 but its means are for 4 components"),
    ({"covariance_type": "diag"}, r"mixture_covariances has shape \(4, 3, 3\), not \(4, 3\)"),
    ({"means_init": [[0, 0, 0]]}, "unknown names 'means_init'"),
])
def test_params_that_disagree_or_are_invalid_are_refused(tmp_path, good, change, why):
    params = {**json.loads(str(good["params"])), **change}
    write_npz(tmp_path / "m.npz", {**good, "params": np.array(json.dumps(params))})
    refused(tmp_path / "m.npz", why)


# ----------------------------------------------------------------------------- save refuses what load refuses


@pytest.mark.parametrize("name, change, why", [
    ("mean_precision_", lambda a: -a, "mean_precision must be greater than 0"),
    ("degrees_of_freedom_", lambda a: a * 0 + 1, "degrees_of_freedom must be greater than 2"),
    ("weight_concentration_", lambda a: (a[0][:3], a[1][:3]), r"weight_concentration has shape \(2, 3\)"),
    ("covariance_prior_", lambda a: -a, "its covariance_prior is invalid"),
    ("weights_", lambda a: a[::-1], "weights_ disagrees with the weights_ derived"),
    ("precisions_", lambda a: a * 2, "precisions_ disagrees with the precisions_ derived"),
])
def test_save_refuses_attributes_load_would_refuse_and_writes_nothing(tmp_path, name, change, why):
    model = fit()
    setattr(model, name, change(getattr(model, name)))
    with pytest.raises(ValueError, match=f"BayesianGaussianMixture.save.*load would refuse: {why}"):
        model.save(tmp_path / "m.npz")
    assert not list(tmp_path.iterdir())


def test_an_unfitted_model_cannot_be_saved(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        BayesianGaussianMixture(2).save(tmp_path / "m.npz")


# ----------------------------------------------------------------------------- the command line


@pytest.mark.parametrize("flags, params", [
    ([], {}),
    (["--covariance", "diag", "--weight-prior", "dirichlet_distribution", "--weight-concentration", "0.05"],
     {"covariance_type": "diag", "weight_concentration_prior_type": "dirichlet_distribution",
      "weight_concentration_prior": 0.05}),
    (["--covariance", "tied", "--weight-concentration", "10", "--n-init", "2", "--init", "k-means++"],
     {"covariance_type": "tied", "weight_concentration_prior": 10.0, "n_init": 2, "init_params": "k-means++"}),
])
def test_fit_bayesian_writes_the_model_the_estimator_fits(tmp_path, flags, params):
    write_csv(tmp_path / "data.csv", CLI_X)
    result = gaussmix("fit", "data.csv", "-k", "5", "--bayesian", "--seed", "3", "--max-iter", "1000", *flags,
                      "-o", "model.npz", cwd=tmp_path)
    assert result.stderr == ""  # converged: no warning
    out = result.stdout
    expected = BayesianGaussianMixture(5, random_state=3, max_iter=1000, **params).fit(CLI_X)
    model = BayesianGaussianMixture.load(tmp_path / "model.npz")
    assert model.get_params() == expected.get_params()
    for name in ATTRIBUTES:
        assert_identical(getattr(model, name), getattr(expected, name), name)
    assert list(model.feature_names_in_) == ["a", "b", "c"]
    used = int(np.sum(expected.weights_ >= 1e-3))
    assert (f"fitted a variational Bayesian mixture of up to K = 5, {expected.covariance_type}, "
            f"{expected.weight_concentration_prior_type} weight prior, to 500 rows x 3 columns") in out
    assert f"5 components ({used} effective: weight at least 0.001)" in out and "wrote model.npz" in out


def test_predict_sample_info_and_plot_read_a_bayesian_model(tmp_path):
    write_csv(tmp_path / "data.csv", CLI_X)
    gaussmix("fit", "data.csv", "-k", "6", "--bayesian", "--seed", "1", "--max-iter", "1000", "--weight-prior",
             "dirichlet_distribution", "--weight-concentration", "0.01", "-o", "model.npz", cwd=tmp_path)
    expected = BayesianGaussianMixture(6, random_state=1, max_iter=1000, weight_concentration_prior=0.01,
                                       weight_concentration_prior_type="dirichlet_distribution").fit(CLI_X)

    names, labels = read_csv_output(gaussmix("predict", "model.npz", "data.csv", cwd=tmp_path).stdout)
    assert names == ["component"] and np.array_equal(labels[:, 0], expected.predict(CLI_X))
    names, proba = read_csv_output(gaussmix("predict", "model.npz", "data.csv", "--proba", cwd=tmp_path).stdout)
    assert names == [f"p{k}" for k in range(6)]
    np.testing.assert_allclose(proba, expected.predict_proba(CLI_X), rtol=1e-9, atol=1e-300)
    names, scores = read_csv_output(gaussmix("predict", "model.npz", "data.csv", "--score", cwd=tmp_path).stdout)
    np.testing.assert_allclose(scores[:, 0], expected.score_samples(CLI_X), rtol=1e-9)

    names, drawn = read_csv_output(gaussmix("sample", "model.npz", "-n", "9", "--seed", "5", "--labels",
                                            cwd=tmp_path).stdout)
    want_x, want_labels = expected.set_params(random_state=5).sample(9)
    assert names == ["a", "b", "c", "component"]
    np.testing.assert_allclose(drawn[:, :3], want_x, rtol=1e-9)
    assert np.array_equal(drawn[:, 3], want_labels)

    info = gaussmix("info", "model.npz", cwd=tmp_path).stdout
    used = int(np.sum(expected.weights_ >= 1e-3))
    assert 0 < used < 6  # the example has components the posterior leaves empty
    assert (f"model.npz: a variational Bayesian Gaussian mixture of 6 components ({used} effective: weight at least "
            "0.001) in 3 dimensions, full covariances, float64") in info
    assert "weight prior dirichlet_distribution, concentration 0.01;" in info
    assert (f"fitted by variational inference: {'converged' if expected.converged_ else 'NOT converged'} after "
            f"{expected.n_iter_} iterations, variational lower bound {expected.lower_bound_:.6g}") in info
    assert "model file format 3" in info
    assert f"weight {expected.weights_.max():.4f}" in info and info.count("  component ") == 6

    if importlib.util.find_spec("matplotlib") is None:
        return
    gaussmix("plot", "model.npz", "data.csv", "--dims", "0,2", "-o", "fit.png", cwd=tmp_path)
    assert (tmp_path / "fit.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("args, code, message", [
    (["-k", "2..4", "--bayesian"], 1, "--bayesian fits one model: give one K"),
    (["-k", "3", "--covariance", "full,diag", "--bayesian"], 1, "--bayesian fits one model"),
    (["-k", "3", "--weight-prior", "dirichlet_distribution"], 1, "set the prior of a variational mixture: add "
                                                                 "--bayesian"),
    (["-k", "3", "--weight-concentration", "0.1"], 1, "add --bayesian"),
    (["-k", "3", "--bayesian", "--weight-concentration", "0"], 2, "0: must be a finite number above 0"),
    (["-k", "3", "--bayesian", "--weight-concentration", "nan"], 2, "nan: must be a finite number above 0"),
    (["-k", "3", "--bayesian", "--weight-prior", "pitman_yor"], 2, "invalid choice: 'pitman_yor'"),
])
def test_bayesian_options_that_do_not_fit_are_refused(tmp_path, args, code, message):
    write_csv(tmp_path / "data.csv", CLI_X)
    result = gaussmix("fit", "data.csv", *args, "-o", "m.npz", cwd=tmp_path, check_rc=code)
    assert message in result.stderr
    assert not (tmp_path / "m.npz").exists()
