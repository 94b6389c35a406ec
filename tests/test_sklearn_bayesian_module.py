"""scikit-learn's own test module for BayesianGaussianMixture
(sklearn/mixture/tests/test_bayesian_mixture.py), run against gaussmix's:
its one import of the estimator swapped (tests/sklearn_modules.py), nothing
of it copied here. The tests of scikit-learn's private functions are left
out, each with its reason (they show as skipped)."""
import pytest

pytest.importorskip("sklearn")

from sklearn_modules import collect, global_dtype, global_random_seed, load_swapped  # noqa: E402, F401

#: Left out, and why.
LEFT_OUT = {
    "test_log_dirichlet_norm": "tests scikit-learn's private _log_dirichlet_norm",
    "test_log_wishart_norm": "tests scikit-learn's private _log_wishart_norm",
    "test_compare_covar_type": "calls the private methods _check_parameters and _initialize_parameters",
}

_module = load_swapped("sklearn.mixture.tests.test_bayesian_mixture", "BayesianGaussianMixture")
assert _module.BayesianGaussianMixture.__module__ == "gaussmix.bayesian"
collect(_module, LEFT_OUT, globals())


def test_every_left_out_test_exists():
    """The list above names tests of the installed module."""
    assert set(LEFT_OUT) <= set(vars(_module))
