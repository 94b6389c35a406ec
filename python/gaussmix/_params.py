"""The estimator's constructor parameters and initial parameters, checked as
scikit-learn 1.9 checks them (the same values raise the same exception
types, with scikit-learn's wording): :func:`check_params` at the start of
``fit``, :func:`check_inits` once the data's dimension is known."""
from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np
from sklearn.utils.validation import check_array

from ._covariance import COVARIANCE_TYPES, ESTIMATOR_COVARIANCE_TYPES, covariance_model

#: scikit-learn's init_params values.
INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")


class InvalidParameterError(ValueError, TypeError):
    """A constructor parameter outside what it accepts (raised by ``fit``, as
    scikit-learn's InvalidParameterError, and like it both a ValueError and a
    TypeError)."""


# --------------------------------------------------------------------------- parameter rules


def is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _integral_at_least(low):
    """scikit-learn's Interval(Integral, low, None): a bool is an Integral
    (max_iter=True is 1), as in Python and scikit-learn."""
    return lambda v: isinstance(v, numbers.Integral) and v >= low


def _finite_real_at_least(low):
    """scikit-learn's Interval(Real, low, None) (tol=True is 1.0); NaN and inf are outside."""
    return lambda v: isinstance(v, numbers.Real) and low <= v < math.inf


def _array_like_or_none(v) -> bool:
    if v is None:
        return True
    if isinstance(v, (str, bytes)) or np.isscalar(v):
        return False
    return hasattr(v, "__len__") or hasattr(v, "shape") or hasattr(v, "__array__")


def _options(values) -> str:
    return "a str among {" + ", ".join(map(repr, values)) + "}"


#: Each constructor parameter: what it must be (scikit-learn's wording) and the
#: test, which accepts what scikit-learn's fit accepts (tests/
#: test_estimator_sklearn_parity.py runs both on the same values). The one
#: exception: n_components=True passes scikit-learn's check and then fails its
#: fit with a TypeError ("an integer is required"); here it is refused at once,
#: with an InvalidParameterError, which is a TypeError too.
PARAMETER_RULES = {
    "n_components": ("an int in the range [1, inf)", lambda v: is_int(v) and v >= 1),
    "covariance_type": (_options(COVARIANCE_TYPES) + " or one of mclust's models (" +
                        ", ".join(ESTIMATOR_COVARIANCE_TYPES[len(COVARIANCE_TYPES):]) + ")",
                        lambda v: isinstance(v, str) and v in ESTIMATOR_COVARIANCE_TYPES),
    "tol": ("a float in the range [0.0, inf)", _finite_real_at_least(0.0)),
    "reg_covar": ("a float in the range [0.0, inf)", _finite_real_at_least(0.0)),
    "max_iter": ("an int in the range [0, inf)", _integral_at_least(0)),
    "n_init": ("an int in the range [1, inf)", _integral_at_least(1)),
    "init_params": (_options(INIT_PARAMS), lambda v: isinstance(v, str) and v in INIT_PARAMS),
    "weights_init": ("an array-like or None", _array_like_or_none),
    "means_init": ("an array-like or None", _array_like_or_none),
    "precisions_init": ("an array-like or None", _array_like_or_none),
    "random_state": ("an int in the range [0, 4294967295], an instance of 'numpy.random.mtrand.RandomState' "
                     "or None", lambda v: v is None or isinstance(v, np.random.RandomState)
                     or (isinstance(v, numbers.Integral) and 0 <= v <= 2**32 - 1)),
    "warm_start": ("an instance of 'bool' or an instance of 'numpy.bool'",
                   lambda v: isinstance(v, (bool, np.bool_))),
    "verbose": ("an int in the range [0, inf), an instance of 'bool' or an instance of 'numpy.bool'",
                lambda v: isinstance(v, (bool, np.bool_)) or (is_int(v) and v >= 0)),
    "verbose_interval": ("an int in the range [1, inf)", _integral_at_least(1)),
    # gaussmix's own: mclust's conjugate prior (gaussmix/_mclust.py)
    "prior": ("None, 'mclust' or a dict with some of the keys 'shrinkage', 'mean', 'dof', 'scale'",
              lambda v: v is None or (isinstance(v, str) and v == "mclust")
              or (isinstance(v, dict) and set(v) <= {"shrinkage", "mean", "dof", "scale"})),
    # gaussmix's own: a start from given responsibilities (mclust's me(modelName, data, z))
    "resp_init": ("an array-like or None", _array_like_or_none),
    # gaussmix's own: partial_fit's step sizes (gaussmix/_stepwise.py)
    "step_size_power": ("a float in the range (0.5, 1.0]",
                        lambda v: isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) and 0.5 < v <= 1.0),
    "step_size_offset": ("a float in the range [0.0, inf)", _finite_real_at_least(0.0)),
}


# --------------------------------------------------------------------------- initial parameters


def _check_shape(value: np.ndarray, shape: tuple, name: str) -> None:
    if value.shape != shape:
        raise ValueError(f"The parameter '{name}' should have the shape of {shape}, but got {value.shape}")


def _init_array(value, name: str, owner: str) -> np.ndarray:
    """A user-given *_init as a finite float array, converted by scikit-learn's
    check_array as scikit-learn converts it (float32 kept, numeric text
    accepted), so that the same values raise the same exceptions: a complex
    array or text that is not a number a ValueError, a list holding a complex
    number a TypeError."""
    if type(value) is np.ndarray and value.dtype in (np.float64, np.float32) and value.ndim and value.size:
        arr = value  # what check_array returns for it, without its 0.15 ms of dispatch
    else:
        arr = check_array(value, dtype=[np.float64, np.float32], ensure_2d=False, allow_nd=True,
                          ensure_all_finite=False, input_name=name)
    if not np.isfinite(arr).all():
        raise ValueError(f"{owner}.fit(): {name} contains NaN or infinity; give finite initial parameters")
    return arr


class Inits(NamedTuple):
    """The user's initial parameters, checked (float64), or None each."""

    weights: np.ndarray | None
    means: np.ndarray | None
    covariances: np.ndarray | None  # from precisions_init, in the model's shape


def _check_weights(value, n_components: int, owner: str) -> np.ndarray:
    weights = _init_array(value, "weights_init", owner)
    _check_shape(weights, (n_components,), "weights")
    if (weights < 0).any() or (weights > 1).any():
        # scikit-learn prints the minimum after "max value" and the maximum
        # after "min value"; kept to the letter, since code (and its own test)
        # matches this message.
        raise ValueError("The parameter 'weights' should be in the range [0, 1], but got max value "
                         f"{weights.min():.5f}, min value {weights.max():.5f}")
    atol = 1e-6 if weights.dtype == np.float32 else 1e-8
    if abs(1.0 - float(weights.sum())) > atol:
        raise ValueError(f"The parameter 'weights' should be normalized, but got sum(weights) = {weights.sum():.5f}")
    return weights.astype(np.float64)


def _check_precisions(value, covariance_type: str, n_components: int, n_features: int, owner: str) -> np.ndarray:
    """precisions_init checked as scikit-learn checks it, returned as covariances (float64)."""
    name = f"{covariance_type} precision"
    precisions = _init_array(value, "precisions_init", owner).astype(np.float64)
    model = covariance_model(covariance_type)
    _check_shape(precisions, model.shape(n_components, n_features), name)
    return model.covariances_from_precisions(precisions, name)


def check_params(estimator) -> None:
    """InvalidParameterError (scikit-learn's wording) for the first constructor
    parameter of estimator outside PARAMETER_RULES."""
    for name, (rule, accepts) in PARAMETER_RULES.items():
        value = getattr(estimator, name)
        if not accepts(value):
            raise InvalidParameterError(
                f"The {name!r} parameter of {type(estimator).__name__} must be {rule}. Got {value!r} instead.")


def check_inits(estimator, n_features: int) -> Inits:
    """The estimator's weights_init, means_init and precisions_init, checked as
    scikit-learn checks them, for data of n_features columns."""
    owner, K = type(estimator).__name__, estimator.n_components
    weights = means = covariances = None
    if estimator.weights_init is not None:
        weights = _check_weights(estimator.weights_init, K, owner)
    if estimator.means_init is not None:
        means = _init_array(estimator.means_init, "means_init", owner).astype(np.float64)
        _check_shape(means, (K, n_features), "means")
    if estimator.precisions_init is not None:
        covariances = _check_precisions(estimator.precisions_init, estimator.covariance_type, K, n_features, owner)
    return Inits(weights, means, covariances)
