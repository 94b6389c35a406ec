"""scikit-learn's own test modules, run against gaussmix's estimators: the
module is read from the installed scikit-learn, its one import of the
estimator is swapped for gaussmix's, and its tests are handed to the test
file that asked (nothing of scikit-learn's tests is copied into this
repository). Also the two fixtures scikit-learn's conftest gives them."""
import importlib.util
import os
import sys
import types

import numpy as np
import pytest

# scikit-learn's suite runs with warnings shown, not raised, and some of its
# tests provoke a ConvergenceWarning without catching it; every other warning
# stays an error here (this project's filterwarnings = error).
ALLOW_CONVERGENCE_WARNINGS = pytest.mark.filterwarnings("default::sklearn.exceptions.ConvergenceWarning")


def load_swapped(module: str, estimator: str):
    """The installed scikit-learn test module (dotted name) with ``from
    sklearn.mixture import <estimator>`` replaced by gaussmix's (estimator:
    the names that line imports, e.g. "BayesianGaussianMixture, GaussianMixture")."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        pytest.skip("scikit-learn's tests are not installed", allow_module_level=True)
    with open(spec.origin, encoding="utf-8") as f:
        source = f.read()
    line = f"from sklearn.mixture import {estimator}\n"
    assert source.count(line) == 1, f"scikit-learn's {module} no longer imports {estimator} as expected"
    swapped = types.ModuleType(f"{module.rsplit('.', 1)[-1]}_on_gaussmix")
    swapped.__file__ = spec.origin
    sys.modules[swapped.__name__] = swapped
    exec(compile(source.replace(line, f"from gaussmix import {estimator}\n"), spec.origin, "exec"), swapped.__dict__)
    return swapped


def _left_out(name: str, reason: str):
    """A stand-in that reports the left-out test as one skip, without
    collecting its parametrisations (the array-API ones are generators,
    which newer pytest refuses at collection)."""
    def test():
        pytest.skip(f"left out: {reason}")
    test.__name__ = test.__qualname__ = name
    return test


def collect(swapped, left_out: dict, into: dict) -> None:
    """The swapped module's tests into the namespace into (a test file's
    globals()), each left-out one as a skip with its reason."""
    for name in [n for n in vars(swapped) if n.startswith("test_")]:
        into[name] = _left_out(name, left_out[name]) if name in left_out else \
            ALLOW_CONVERGENCE_WARNINGS(getattr(swapped, name))


def _random_seeds():
    value = os.environ.get("SKLEARN_TESTS_GLOBAL_RANDOM_SEED")
    if value is None:
        return [42]
    if value == "all":
        return list(range(100))
    low, _, high = value.partition("-")
    return list(range(int(low), int(high or low) + 1))


@pytest.fixture(params=[np.float32, np.float64])
def global_dtype(request):
    return request.param


@pytest.fixture(params=_random_seeds())
def global_random_seed(request):
    return request.param
