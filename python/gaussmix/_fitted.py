"""A fitted estimator's state, set in one way: :func:`set_fitted` is how a fit,
a model made from parameters (``from_mixture``, ``marginal``,
``condition``) and a model file being loaded all make a model fitted, and
:func:`scoring_mixture` is the mixture a fitted model scores with."""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ._covariance import covariance_model
from ._engine import covariances_must_be_defined
from ._mixture import Mixture
from ._validation import Cov_problem


class NonFiniteFit(ValueError):
    """A fitted attribute (``name``) is not finite in the model's ``dtype``:
    a ValueError, with the attribute and dtype named for callers (a model
    file being loaded) that report it in their own terms."""

    def __init__(self, message: str, name: str, dtype: np.dtype):
        super().__init__(message)
        self.name, self.dtype = name, dtype


class History(NamedTuple):
    """How the fitted parameters were reached."""

    converged: bool
    n_iter: int
    lower_bound: float
    lower_bounds: list


#: The history of parameters that were given, not fitted (as a fit with max_iter=0 leaves it).
GIVEN = History(False, 0, -math.inf, [])


class _Fitted(NamedTuple):
    """The mixture a model was fitted to and the attributes it set, to tell
    whether scoring may use the exact mixture or must rebuild it from
    attributes the user has changed."""

    mixture: Mixture
    weights: np.ndarray
    means: np.ndarray
    precisions_cholesky: np.ndarray


def fitted_attributes(mixture: Mixture, dtype, owner: str) -> dict:
    """scikit-learn's fitted attributes of mixture, in dtype: weights_, means_,
    covariances_, precisions_cholesky_, precisions_. NonFiniteFit unless
    every one is finite in dtype, so that no model is left with an infinite
    or NaN attribute (float32 data whose covariances exceed float32's
    3.4e38, or whose precisions do, at variances below 3e-39; scikit-learn
    raises or leaves NaN there)."""
    dtype = np.dtype(dtype)
    model = mixture.covariance_model
    with covariances_must_be_defined(dtype):
        try:
            precisions_cholesky = model.precisions_cholesky(mixture.covariances)
        except np.linalg.LinAlgError as exc:
            raise Cov_problem(f"a covariance has no Cholesky factor ({exc})") from None
    with np.errstate(over="ignore"):  # an overflow is the error reported below
        fitted = {"weights_": mixture.weights.astype(dtype), "means_": mixture.means.astype(dtype),
                  "covariances_": mixture.covariances.astype(dtype),
                  "precisions_cholesky_": precisions_cholesky.astype(dtype),
                  "precisions_": model.precisions(precisions_cholesky).astype(dtype)}
    for name, value in fitted.items():
        if np.isfinite(value).all():
            continue
        if dtype == np.float32:
            remedy = ("float32 holds magnitudes up to 3.4e38, and the fitted model needs more; pass X as float64 "
                      "(X.astype(np.float64)), or rescale X")
        else:
            remedy = "rescale X, or increase reg_covar"
        raise NonFiniteFit(f"{owner}.fit(): the fitted {name} are not finite in {dtype.name}: {remedy}", name, dtype)
    return fitted


def set_fitted(model, mixture: Mixture, dtype, history: History, attributes: dict | None = None) -> None:
    """Make model fitted to mixture (its attributes in dtype; attributes: those
    of fitted_attributes, when the caller has them), with history."""
    if attributes is None:
        attributes = fitted_attributes(mixture, dtype, type(model).__name__)
    for name, value in attributes.items():
        setattr(model, name, value)
    model.n_features_in_ = mixture.n_features
    model.converged_, model.n_iter_ = bool(history.converged), int(history.n_iter)
    model.lower_bound_, model.lower_bounds_ = float(history.lower_bound), list(history.lower_bounds)
    model._fitted = _Fitted(mixture, model.weights_.copy(), model.means_.copy(), model.precisions_cholesky_.copy())


def scoring_mixture(model) -> Mixture:
    """The mixture that scores rows: the fit's own, while weights_, means_ and
    precisions_cholesky_ are as the fit left them; else one built from those
    attributes (as scikit-learn scores with them)."""
    fitted = getattr(model, "_fitted", None)
    if (fitted is not None and np.array_equal(fitted.weights, model.weights_)
            and np.array_equal(fitted.means, model.means_)
            and np.array_equal(fitted.precisions_cholesky, model.precisions_cholesky_)):
        return fitted.mixture
    covariance_type = model.covariance_type
    try:
        covariances = covariance_model(covariance_type).covariances_from_precisions_cholesky(
            np.asarray(model.precisions_cholesky_, dtype=np.float64))
        return Mixture(model.weights_, model.means_, covariances, covariance_model(covariance_type).kernel)
    except (ValueError, np.linalg.LinAlgError, KeyError) as exc:
        raise ValueError(f"{type(model).__name__}: weights_, means_ and precisions_cholesky_ do not form a valid "
                         f"{covariance_type} mixture ({exc}); refit, or set consistent attributes") from None
