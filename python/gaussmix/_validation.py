"""Input checks shared by the public functions.

Everything that could make the core misbehave is rejected here, before any
C++ runs, with a message that names the function, the argument and a fix.
Nothing here modifies the caller's objects.
"""
from __future__ import annotations

import operator
from contextlib import contextmanager

import numpy as np

from . import _core

Cov_problem = _core.Cov_problem

#: Accepted |sum(weights) - 1|; also the core's tolerance.
WEIGHT_SUM_TOLERANCE = 1e-6
#: Relative asymmetry |S - S^T| / max|S| accepted in a covariance.
SYMMETRY_TOLERANCE = 1e-8


def data_matrix(X, func: str, name: str = "X", allow_single_point_dim: int | None = None) -> np.ndarray:
    """X as a C-contiguous float64 or float32 (N, D) array with finite entries.

    float32 and float64 C-contiguous arrays are returned as they are (no
    copy); anything else is converted once. With allow_single_point_dim=D a
    1-D X of length D is taken as one point, shape (1, D).
    """
    arr = np.asarray(X)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{func}(): {name} must be a numeric array, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise TypeError(f"{func}(): {name} must be real, got a complex array")
    if arr.ndim == 1 and allow_single_point_dim is not None:
        if arr.shape[0] != allow_single_point_dim:
            raise ValueError(
                f"{func}(): {name} is 1-D with {arr.shape[0]} entries, but a single point must have "
                f"D={allow_single_point_dim} entries; pass several points as an (N, D) array"
            )
        arr = arr.reshape(1, -1)
    if arr.ndim != 2:
        single = " (or a single point of shape (D,))" if allow_single_point_dim is not None else ""
        raise ValueError(f"{func}(): {name} must be a 2-D (N, D) array{single}, got shape {arr.shape}")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{func}(): {name} must have at least one row and one column, got shape {arr.shape}")
    dtype = np.float32 if arr.dtype == np.float32 else np.float64
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if not all_finite(arr):
        raise ValueError(
            f"{func}(): {name} contains NaN or infinite values; remove or impute those rows first"
        )
    return arr


def all_finite(arr: np.ndarray) -> bool:
    """True if arr has no NaN or infinity. min/max propagate NaN and expose
    infinities without the N x D boolean temporary of np.isfinite(arr).all()."""
    return bool(np.isfinite(arr.min()) and np.isfinite(arr.max()))


def positive_int(value, func: str, name: str, minimum: int = 1) -> int:
    """value as an int >= minimum."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{func}(): {name} must be an integer, got a bool")
    try:
        as_int = operator.index(value)
    except TypeError:
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            as_int = int(value)
        else:
            raise TypeError(f"{func}(): {name} must be an integer, got {value!r}") from None
    if as_int < minimum:
        raise ValueError(f"{func}(): {name} must be at least {minimum}, got {as_int}")
    return as_int


def real_number(value, func: str, name: str, minimum: float | None = None) -> float:
    """value as a finite float (>= minimum when given)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{func}(): {name} must be a real number, got {value!r}") from None
    if not np.isfinite(number):
        raise ValueError(f"{func}(): {name} must be finite, got {number}")
    if minimum is not None and number < minimum:
        raise ValueError(f"{func}(): {name} must be >= {minimum}, got {number}")
    return number


def n_components(K, n_rows: int, func: str) -> int:
    """K as an int with 1 <= K <= N."""
    K = positive_int(K, func, "K")
    if K > n_rows:
        raise ValueError(f"{func}(): K={K} components need at least K rows of X, but X has {n_rows}")
    return K


def option(value, allowed: tuple[str, ...], func: str, name: str) -> str:
    """value, which must be one of the allowed strings."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{func}(): unknown {name} {value!r}; use one of {', '.join(map(repr, allowed))}")
    return value


def mean_vector(MU, func: str, name: str = "MU") -> np.ndarray:
    """A 1-D finite float64 mean."""
    mu = np.asarray(MU, dtype=float)
    if mu.ndim != 1:
        raise ValueError(f"{func}(): {name} must be a 1-D array (the mean), got shape {mu.shape}")
    if mu.shape[0] < 1:
        raise ValueError(f"{func}(): {name} must not be empty")
    if not np.isfinite(mu).all():
        raise ValueError(f"{func}(): {name} contains NaN or infinite values")
    return mu


def covariance_matrix(SIGMA, dim: int, func: str, name: str = "SIGMA") -> np.ndarray:
    """A finite, symmetric (D, D) float64 covariance; a 1-D distribution may give a scalar.

    Positive definiteness is checked by the core's factorisation.
    """
    sigma = np.asarray(SIGMA, dtype=float)
    if dim == 1 and sigma.size == 1:
        sigma = sigma.reshape(1, 1)
    if sigma.shape != (dim, dim):
        raise ValueError(f"{func}(): {name} must have shape ({dim}, {dim}) to match the mean, got {sigma.shape}")
    if not np.isfinite(sigma).all():
        raise ValueError(f"{func}(): {name} contains NaN or infinite values")
    scale = np.abs(sigma).max()
    if np.abs(sigma - sigma.T).max() > SYMMETRY_TOLERANCE * scale:
        raise ValueError(f"{func}(): {name} is not symmetric; a covariance matrix must equal its transpose")
    return sigma


def mixture_params(centroids, ccov, mc, func: str, names=("centroids", "ccov", "mc"), dim: int | None = None):
    """(weights (K,), means (K, D), covariances (K, D, D)) as float64 arrays.

    mc=None means equal weights. Checks lengths, shapes, finiteness,
    symmetry, non-negative weights that sum to one, and D against dim.
    """
    c_name, s_name, w_name = names
    try:
        K = len(centroids)
    except TypeError:
        raise TypeError(f"{func}(): {c_name} must be a list of mean vectors") from None
    if K < 1:
        raise ValueError(f"{func}(): {c_name} must hold at least one component")
    try:
        n_cov = len(ccov)
    except TypeError:
        raise TypeError(f"{func}(): {s_name} must be a list of covariance matrices") from None
    if n_cov != K:
        raise ValueError(f"{func}(): {c_name} has {K} components but {s_name} has {n_cov}; give one covariance per centre")
    means = [mean_vector(c, func, f"{c_name}[{k}]") for k, c in enumerate(centroids)]
    D = means[0].shape[0]
    for k, m in enumerate(means):
        if m.shape[0] != D:
            raise ValueError(f"{func}(): {c_name}[{k}] has {m.shape[0]} entries but {c_name}[0] has {D}")
    if dim is not None and D != dim:
        raise ValueError(f"{func}(): the mixture has dimension {D} but X has {dim} columns")
    covs = np.stack([covariance_matrix(s, D, func, f"{s_name}[{k}]") for k, s in enumerate(ccov)])
    if mc is None:
        weights = np.full(K, 1.0 / K)
    else:
        weights = np.asarray(mc, dtype=float).reshape(-1) if np.ndim(mc) <= 1 else None
        if weights is None or weights.shape[0] != K:
            raise ValueError(f"{func}(): {w_name} must hold {K} mixing coefficients, one per component, got shape {np.shape(mc)}")
        if not np.isfinite(weights).all() or (weights < 0).any():
            raise ValueError(f"{func}(): {w_name} must be finite and non-negative, got {weights}")
        if abs(weights.sum() - 1.0) > WEIGHT_SUM_TOLERANCE:
            raise ValueError(f"{func}(): {w_name} must sum to one, they sum to {weights.sum():.10g}; divide by their sum")
    return weights, np.ascontiguousarray(np.stack(means)), np.ascontiguousarray(covs)


@contextmanager
def covariances_must_factorise(func: str, name: str):
    """In the density functions a covariance that is not positive definite is
    a bad argument (ValueError), not an EM event (Cov_problem)."""
    try:
        yield
    except Cov_problem as exc:
        raise ValueError(
            f"{func}(): {name}: {exc}; a covariance must be symmetric positive definite"
        ) from None
