"""A Gaussian mixture's parameters under one of four covariance models, and
the rows' densities under it.

:class:`Mixture` is the parameter set that the statistics API
(:mod:`gaussmix._em_stats`) passes around: validated once, immutable, cheap
to pickle (plain float64 arrays), so it can be shipped to the workers of
any engine.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _core
from ._config import threads_for_core
from ._covariance import COVARIANCE_TYPES, CovarianceModel, covariance_model
from ._validation import (
    SYMMETRY_TOLERANCE,
    WEIGHT_SUM_TOLERANCE,
    all_finite,
    covariances_must_factorise,
    data_matrix,
    kernel_data,
    real_array,
)

__all__ = ["COVARIANCE_TYPES", "Mixture", "mixture_from_core"]


def _covariance_type(value, func: str) -> str:
    if not isinstance(value, str) or value not in COVARIANCE_TYPES:
        raise ValueError(f"{func}(): covariance_type must be one of {', '.join(map(repr, COVARIANCE_TYPES))}, "
                         f"got {value!r}")
    return value


def _read_only(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=np.float64, order="C")  # a private copy: the caller's array stays theirs
    a.flags.writeable = False
    return a


@dataclass(frozen=True, eq=False)
class Mixture:
    """A K-component Gaussian mixture over R^D.

    Parameters
    ----------
    weights : array-like of shape (K,)
        Mixing weights, non-negative, summing to 1 (within 1e-6).
    means : array-like of shape (K, D)
        Component means, one per row.
    covariances : array-like
        In scikit-learn's shape for ``covariance_type``: ``'full'`` (K, D, D),
        ``'tied'`` (D, D) shared by every component, ``'diag'`` (K, D)
        variances, ``'spherical'`` (K,) variances. Symmetric positive definite.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'

    The arrays are copied into read-only float64 arrays. A bad shape or value
    raises ValueError (a covariance that is not positive definite too);
    non-numeric input raises TypeError.

    The covariances are factorised once, when the mixture is made: its
    scores and its E-step statistics reuse that factorisation (the core's
    ``FactorisedMixture``, attribute ``factorised``) instead of factorising
    again per call.
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    covariance_type: str = "full"

    def __post_init__(self):
        func = "Mixture"
        ctype = _covariance_type(self.covariance_type, func)
        weights = real_array(self.weights, func, "weights")
        means = real_array(self.means, func, "means")
        covs = real_array(self.covariances, func, "covariances")
        if means.ndim != 2 or means.shape[0] < 1 or means.shape[1] < 1:
            raise ValueError(f"{func}(): means must have shape (K, D) with K, D >= 1, got {means.shape}")
        K, D = means.shape
        if weights.shape != (K,):
            raise ValueError(f"{func}(): weights must have shape ({K},), one per mean, got {weights.shape}")
        model = covariance_model(ctype)
        expected = model.shape(K, D)
        if covs.shape != expected:
            raise ValueError(f"{func}(): {ctype} covariances must have shape {expected} for {K} means of "
                             f"dimension {D}, got {covs.shape}")
        for name, a in (("weights", weights), ("means", means), ("covariances", covs)):
            if not all_finite(a):
                raise ValueError(f"{func}(): {name} contain NaN or infinite values")
        if (weights < 0).any() or abs(weights.sum() - 1.0) > WEIGHT_SUM_TOLERANCE:
            raise ValueError(f"{func}(): weights must be non-negative and sum to 1, they sum to "
                             f"{weights.sum():.10g}; divide by their sum")
        if model.matrix:
            asym = np.abs(covs - np.swapaxes(covs, -1, -2)).max()
            if asym > SYMMETRY_TOLERANCE * np.abs(covs).max():
                raise ValueError(f"{func}(): covariances must be symmetric (largest |S - S^T| is {asym:.3g})")
        with covariances_must_factorise(func, "covariances"):
            factorised = _core.FactorisedMixture(weights, means, covs, ctype)
        object.__setattr__(self, "covariance_type", ctype)
        object.__setattr__(self, "weights", _read_only(weights))
        object.__setattr__(self, "means", _read_only(means))
        object.__setattr__(self, "covariances", _read_only(covs))
        object.__setattr__(self, "factorised", factorised)

    def __reduce__(self):
        # Unpickling goes through __init__ again: validated, arrays read-only.
        return (Mixture, (self.weights, self.means, self.covariances, self.covariance_type))

    @property
    def n_components(self) -> int:
        """K."""
        return self.means.shape[0]

    @property
    def n_features(self) -> int:
        """D."""
        return self.means.shape[1]

    @property
    def covariance_model(self) -> CovarianceModel:
        """The covariance model's entry in gaussmix/_covariance.py's table."""
        return covariance_model(self.covariance_type)

    def variances(self) -> np.ndarray:
        """(K, D) the diagonal of every component's covariance."""
        return self.covariance_model.variances(self.covariances, *self.means.shape)

    def dense_covariances(self) -> np.ndarray:
        """(K, D, D) every component's covariance matrix, whatever the model."""
        return self.covariance_model.dense(self.covariances, *self.means.shape)

    def core_args(self) -> tuple:
        """(weights, means, covariances, covariance_type) as the core takes them."""
        return self.weights, self.means, self.covariances, self.covariance_type

    def _scoring_data(self, X, func: str) -> np.ndarray:
        x = data_matrix(X, func)
        if x.shape[1] != self.n_features:
            raise ValueError(f"{func}(): X has {x.shape[1]} columns but the mixture has dimension "
                             f"{self.n_features}")
        return kernel_data(x, means=self.means, variances=self.variances())

    def log_prob_components(self, X) -> np.ndarray:
        """(N, K) array of log w_k + log N(x_n | mean_k, cov_k).

        X is (N, D), float64 or float32 (float32 kernels, float64 result)."""
        x = self._scoring_data(X, "Mixture.log_prob_components")
        return self.factorised.log_prob_components(x, threads_for_core())

    def log_density(self, X) -> np.ndarray:
        """(N,) array of log p(x_n) = log sum_k w_k N(x_n | mean_k, cov_k)."""
        x = self._scoring_data(X, "Mixture.log_density")
        return self.factorised.log_density(x, threads_for_core())

    def responsibilities(self, X) -> np.ndarray:
        """(N, K) array of p(k | x_n); every row sums to 1."""
        x = self._scoring_data(X, "Mixture.responsibilities")
        return self.factorised.responsibilities(x, threads_for_core())


def mixture_from_core(factorised) -> Mixture:
    """The Mixture of a ``_core.FactorisedMixture`` the core made (an M-step's,
    a fit's result): its parameters as the core holds them, neither validated
    nor factorised again (the core did both when it made them)."""
    mixture = object.__new__(Mixture)
    for name, value in zip(("weights", "means", "covariances"), factorised.parameters):
        value.flags.writeable = False
        object.__setattr__(mixture, name, value)
    object.__setattr__(mixture, "covariance_type", factorised.covariance_type)
    object.__setattr__(mixture, "factorised", factorised)
    return mixture
