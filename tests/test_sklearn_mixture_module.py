"""scikit-learn's own test module common to both mixtures
(sklearn/mixture/tests/test_mixture.py), run against gaussmix's
GaussianMixture and BayesianGaussianMixture: its one import of the two
estimators swapped (tests/sklearn_modules.py), nothing of it copied here,
nothing left out."""
import pytest

pytest.importorskip("sklearn")

from sklearn_modules import collect, load_swapped  # noqa: E402

_module = load_swapped("sklearn.mixture.tests.test_mixture", "BayesianGaussianMixture, GaussianMixture")
assert _module.BayesianGaussianMixture.__module__ == "gaussmix.bayesian"
assert _module.GaussianMixture.__module__ == "gaussmix.estimator"
collect(_module, {}, globals())
