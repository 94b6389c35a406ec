"""The estimator does what scikit-learn's does with odd and bad input: the
same values accepted (bools are ints and reals, as in Python and in
scikit-learn's parameter checks), the same exception types raised (table
driven: both estimators run on each value), scikit-learn's warning for fewer
distinct rows than components, and no fit that ends with a non-finite fitted
attribute."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture  # noqa: E402

from gaussmix import GaussianMixture  # noqa: E402

X = np.random.default_rng(0).normal(size=(60, 2))

#: (parameter, value) run through both estimators' fit with n_components=2
#: (precisions_init with covariance_type='spherical').
ODD_PARAMETERS = [
    ("n_components", True), ("n_components", False), ("n_components", 2.0), ("n_components", np.int64(2)),
    ("n_components", 0), ("n_components", "2"), ("n_components", None),
    ("tol", True), ("tol", False), ("tol", 0), ("tol", np.float32(1e-3)), ("tol", np.int8(1)), ("tol", -1.0),
    ("tol", np.nan), ("tol", np.inf), ("tol", "1e-3"), ("tol", None), ("tol", 1j),
    ("reg_covar", True), ("reg_covar", False), ("reg_covar", np.inf), ("reg_covar", np.nan), ("reg_covar", -1e-6),
    ("reg_covar", "a"),
    ("max_iter", True), ("max_iter", False), ("max_iter", 1.0), ("max_iter", -1), ("max_iter", np.int64(5)),
    ("max_iter", 2**40), ("max_iter", "5"), ("max_iter", None),
    ("n_init", True), ("n_init", False), ("n_init", 0), ("n_init", 1.0), ("n_init", np.uint8(2)), ("n_init", None),
    ("random_state", True), ("random_state", False), ("random_state", -1), ("random_state", 2**32),
    ("random_state", 2**32 - 1), ("random_state", 1.5), ("random_state", "a"), ("random_state", np.int64(3)),
    ("random_state", np.random.RandomState(0)), ("random_state", np.random.default_rng(0)),
    ("warm_start", 1), ("warm_start", np.True_), ("warm_start", None), ("warm_start", "yes"),
    ("verbose", -1), ("verbose", 1.5), ("verbose", np.int64(0)), ("verbose", None),
    ("verbose_interval", True), ("verbose_interval", False), ("verbose_interval", 0), ("verbose_interval", 1.0),
    ("init_params", "KMEANS"), ("init_params", None), ("covariance_type", "FULL"), ("covariance_type", 1),
    ("weights_init", "ab"), ("weights_init", 0.5), ("weights_init", [0.5, 0.5]), ("weights_init", (0.5, 0.5)),
    ("weights_init", [0.5 + 0j, 0.5]), ("weights_init", np.array([0.5 + 0j, 0.5])), ("weights_init", ["a", "b"]),
    ("weights_init", np.array(["0.5", "0.5"])), ("weights_init", [[0.5, 0.5]]), ("weights_init", [0.5, np.nan]),
    ("means_init", "ab"), ("means_init", 1), ("means_init", [[1 + 1j, 0], [0, 0]]),
    ("means_init", np.zeros((2, 2), dtype=complex)), ("means_init", [["a", "b"], ["c", "d"]]),
    ("means_init", np.array([["1", "2"], ["3", "4"]])), ("means_init", [[1, 2], [3]]),
    ("means_init", [[1, 2], [3, 4]]), ("means_init", np.array([[1, 2], [3, 4]], dtype=object)),
    ("precisions_init", "ab"), ("precisions_init", [1 + 0j, 1]), ("precisions_init", np.array([1 + 0j, 1])),
    ("precisions_init", [["a"], ["b"]]), ("precisions_init", np.array(["1", "2"])), ("precisions_init", [1.0, 1.0]),
]


def _outcome(estimator_class, param, value):
    """(the exception or None, the warning categories) of fit with param=value."""
    params = {"n_components": 2, "random_state": 0, param: value}
    if param == "precisions_init":
        params["covariance_type"] = "spherical"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            estimator_class(**params).fit(X)
        except Exception as exc:  # the outcome under test
            return exc, set()
    return None, {w.category for w in caught}


@pytest.mark.parametrize("param, value", ODD_PARAMETERS, ids=[f"{p}={v!r}"[:40] for p, v in ODD_PARAMETERS])
def test_odd_parameters_have_scikit_learns_outcome(param, value):
    want, want_warnings = _outcome(SklearnGaussianMixture, param, value)
    got, got_warnings = _outcome(GaussianMixture, param, value)
    if want is None:
        assert got is None, f"scikit-learn fits with {param}={value!r}; gaussmix raised {got!r}"
        assert got_warnings == want_warnings
        return
    assert got is not None, f"scikit-learn raises {want!r} for {param}={value!r}; gaussmix fitted"
    # Code that catches scikit-learn's exception by its built-in type catches gaussmix's.
    for kind in (ValueError, TypeError):
        if isinstance(want, kind):
            assert isinstance(got, kind), f"{param}={value!r}: scikit-learn raises {want!r}, gaussmix {got!r}"
    if param.endswith("_init") and type(want).__name__ != "InvalidParameterError" and "NaN" not in str(want):
        # Both from scikit-learn's check_array, or the same check. (For NaN,
        # gaussmix's message names the parameter: "Input contains NaN." does not.)
        assert str(got) == str(want)


def test_a_bool_parameter_means_its_int():
    """tol=True fits as tol=1.0, max_iter=True as 1, ... as in scikit-learn."""
    params = dict(tol=True, max_iter=True, n_init=True, random_state=True, reg_covar=False, verbose_interval=True)
    with pytest.warns(ConvergenceWarning):
        got = GaussianMixture(2, **params).fit(X)
    with pytest.warns(ConvergenceWarning):
        want = SklearnGaussianMixture(2, **params).fit(X)
    np.testing.assert_allclose(got.means_, want.means_, rtol=1e-10)
    assert got.n_iter_ == want.n_iter_ == 1


# --------------------------------------------------------------------------- fewer distinct rows than components

DUPLICATES = {
    "one point": np.ones((10, 2)),
    "three points": np.repeat([[0.0, 0.0], [1.0, 1.0], [5.0, 2.0]], 4, axis=0),
    "two points 1e-9 apart": np.vstack([np.zeros((5, 2)), np.full((5, 2), 1e-9)]),
    "no duplicates": np.random.default_rng(1).normal(size=(40, 2)),
}


def _warning_messages(estimator_class, X, **params) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimator_class(random_state=0, **params).fit(X)
    return [f"{w.category.__name__}: {w.message}" for w in caught]


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
@pytest.mark.parametrize("n_components", [2, 3, 4])
@pytest.mark.parametrize("data", sorted(DUPLICATES))
def test_fewer_distinct_rows_than_components_warns_as_scikit_learn(data, n_components, init_params):
    """The kmeans start warns as scikit-learn's KMeans does (on the same
    labels); the other starts warn in neither (see
    gaussmix/estimator.py, _warn_if_fewer_clusters)."""
    X = DUPLICATES[data]
    params = dict(n_components=n_components, init_params=init_params)
    want = _warning_messages(SklearnGaussianMixture, X, **params)
    assert _warning_messages(GaussianMixture, X, **params) == want


def test_the_duplicate_points_warning_reads_as_scikit_learns():
    message = (r"^Number of distinct clusters \(1\) found smaller than n_clusters \(2\)\. "
               r"Possibly due to duplicate points in X\.$")
    with pytest.warns(ConvergenceWarning, match=message):
        GaussianMixture(2, random_state=0).fit(np.ones((10, 2)))


# --------------------------------------------------------------------------- non-finite fitted attributes

_rng = np.random.default_rng(2)
NOT_IN_FLOAT32 = {
    "float32 at 1e30": (_rng.normal(size=(100, 2)) * 1e30).astype(np.float32),
    "float32 around 1e30": (1e30 + _rng.normal(size=(100, 2)) * 1e25).astype(np.float32),
    "float32 spread 1e20": (_rng.normal(size=(100, 2)) * 1e20).astype(np.float32),
}


@pytest.mark.parametrize("ctype", ["full", "tied", "diag", "spherical"])
@pytest.mark.parametrize("data", sorted(NOT_IN_FLOAT32))
def test_a_model_float32_cannot_hold_is_refused(data, ctype):
    X = NOT_IN_FLOAT32[data]
    with pytest.raises(ValueError, match=r"fitted covariances_ are not finite in float32.*pass X as float64"):
        GaussianMixture(2, covariance_type=ctype, random_state=0).fit(X)
    # ... and float64 fits it, with the variances float32 could not hold.
    model = GaussianMixture(2, covariance_type=ctype, random_state=0).fit(X.astype(np.float64))
    assert np.max(model.covariances_) > np.finfo(np.float32).max


def test_precisions_beyond_float32_are_refused():
    X = (np.random.default_rng(3).normal(size=(100, 2)) * 1e-20).astype(np.float32)
    with pytest.raises(ValueError, match=r"fitted precisions_ are not finite in float32"):
        GaussianMixture(2, reg_covar=0, random_state=0).fit(X)
