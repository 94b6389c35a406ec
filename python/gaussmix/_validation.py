"""Input checks shared by the public functions.

Everything that could make the core misbehave is rejected here, before any
C++ runs, with a message that names the function, the argument and a fix.
Nothing here modifies the caller's objects.
"""
from __future__ import annotations

import numbers
import operator
import warnings
from contextlib import contextmanager
from typing import NamedTuple

import numpy as np

from . import _core
from ._config import threads_for_core

Cov_problem = _core.Cov_problem
Cov_problem.__doc__ = (
    "A covariance matrix of the fit is not positive definite (PyPR's Cov_problem).\n\n"
    "Raised by EM when a component's covariance collapses, typically onto a single point or a constant "
    "column; gaussmix.gmm.em retries from a new start up to max_tries times before letting it out. "
    "diag_add > 0 (the PyPR face) or reg_covar (the estimator) regularise the covariances.")

#: Accepted |sum(weights) - 1|; also the core's tolerance.
WEIGHT_SUM_TOLERANCE = 1e-6
#: Relative asymmetry |S - S^T| / max|S| accepted in a covariance.
SYMMETRY_TOLERANCE = 1e-8
#: Largest count the core's C ``int`` arguments hold.
INT_MAX = 2**31 - 1
#: Per-column variances used as scales (diag_add, cov_init='var') are floored
#: at this fraction of the largest column variance, so a constant column gets
#: a small positive scale instead of 0.
VARIANCE_FLOOR = 1e-12
#: EM squares deviations in float64: a column spread (standard deviation)
#: within [2**-460, 2**460] keeps covariances, and their sums over up to
#: ~1e18 rows, normal float64 numbers (2**920 * 2**60 < 2**1024 and
#: 2**-920 > 2**-1022).
SPREAD_BAND = (2.0**-460, 2.0**460)
#: float32 kernels are kept for a fit while every column's spread and
#: max |x - column mean| lie in this band (squares and 512-row block sums
#: stay far from float32's overflow and subnormal range).
FLOAT32_FIT_BAND = (2.0**-40, 2.0**40)
#: float32 scoring is kept while max|x| and max|mean| stay below this...
FLOAT32_SCORE_MAX_ABS = 2.0**40
#: ...every covariance diagonal entry lies in this band...
FLOAT32_SCORE_COV_BAND = (2.0**-80, 2.0**80)
#: ...and (max|x| + max|mean|) / sqrt(min covariance diagonal) stays below this,
#: so Mahalanobis terms cannot overflow float32.
FLOAT32_SCORE_MAX_RATIO = 2.0**50


def data_matrix(X, func: str, name: str = "X", allow_single_point_dim: int | None = None,
                check_finite: bool = True, not_finite_hint: str = "") -> np.ndarray:
    """X as a C-contiguous float64 or float32 (N, D) array with finite entries
    (with check_finite=False the caller checks them: :func:`require_finite`
    and :func:`fit_data` do, from the column statistics they need anyway,
    saving two passes over X).

    float32 and float64 C-contiguous arrays are returned as they are (no
    copy); anything else is converted once. With allow_single_point_dim=D a
    1-D X of length D is taken as one point, shape (1, D).
    """
    arr = np.asarray(X)
    if arr.dtype == object:
        # No silent object -> float cast: the elements must be real numbers.
        arr = real_array(arr, func, name)
    _check_real_dtype(arr, func, name)
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
    if check_finite and not all_finite(arr):
        _not_finite(func, name, not_finite_hint)
    return arr


def infinity_error(dtype: np.dtype) -> ValueError:
    """scikit-learn's error for X holding infinity (its check_array's wording)."""
    return ValueError(f"Input X contains infinity or a value too large for {dtype!r}.")


def _not_finite(func: str, name: str, hint: str = ""):
    raise ValueError(f"{func}(): {name} contains NaN or infinite values; remove or impute those rows first{hint}")


def _check_real_dtype(arr: np.ndarray, func: str, name: str) -> None:
    """TypeError unless arr's dtype is real numeric (bool counts as 0/1).

    A float cast would silently drop an imaginary part and gives NumPy's
    unhelpful "could not convert string to float" for text, so both are
    rejected here with the argument's name."""
    if np.iscomplexobj(arr):
        raise TypeError(f"{func}(): {name} must be real, got a complex array; pass its .real part "
                        "if the imaginary part is meant to be dropped")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{func}(): {name} must be numeric, got an array of dtype {arr.dtype}")


def real_array(value, func: str, name: str) -> np.ndarray:
    """value as a float64 ndarray (any shape; NaN and inf are left to the caller).

    Complex input raises TypeError "must be real", text or other objects
    TypeError "must be numeric", ragged nested sequences ValueError; every
    place where a parameter becomes an array goes through here.
    """
    try:
        arr = np.asarray(value)
    except ValueError:  # ragged nested sequences (NumPy >= 1.24)
        raise ValueError(f"{func}(): {name} must be a rectangular numeric array; "
                         "its nested sequences have different lengths") from None
    if arr.dtype == object:
        for v in arr.flat:
            if isinstance(v, numbers.Complex) and not isinstance(v, numbers.Real):
                raise TypeError(f"{func}(): {name} must be real, got the complex value {v!r}")
            if not isinstance(v, numbers.Real):
                raise TypeError(f"{func}(): {name} must be numeric, got {type(v).__name__} {v!r}")
        return arr.astype(np.float64)
    _check_real_dtype(arr, func, name)
    return arr.astype(np.float64, copy=False)


def all_finite(arr: np.ndarray) -> bool:
    """True if arr has no NaN or infinity. min/max propagate NaN and expose
    infinities without the N x D boolean temporary of np.isfinite(arr).all()."""
    return bool(np.isfinite(arr.min()) and np.isfinite(arr.max()))


def positive_int(value, func: str, name: str, minimum: int = 1, maximum: int = INT_MAX) -> int:
    """value as an int in [minimum, maximum].

    The default maximum is what the core's C ``int`` holds; a larger count
    would otherwise reach pybind11 and fail as "incompatible function
    arguments" without naming the argument.
    """
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{func}(): {name} must be an integer, got a bool")
    try:
        as_int = operator.index(value)
    except TypeError:
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            as_int = int(value)
        else:
            raise TypeError(f"{func}(): {name} must be an integer, got {value!r}") from None
    if not minimum <= as_int <= maximum:
        raise ValueError(f"{func}(): {name} must be in [{minimum}, {maximum}], got {as_int}")
    return as_int


def real_number(value, func: str, name: str, minimum: float | None = None,
                exclusive_minimum: bool = False) -> float:
    """value as a finite real float (>= minimum, or > minimum when
    exclusive_minimum, when given).

    Strings are refused although float("1e-3") would parse them, and complex
    numbers although NumPy's complex scalars would cast with a warning: both
    are almost always a mistake upstream.
    """
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{func}(): {name} must be a real number, got the string {value!r}")
    if np.iscomplexobj(value):
        raise TypeError(f"{func}(): {name} must be a real number, got the complex value {value!r}")
    if np.ndim(value) != 0:
        raise TypeError(f"{func}(): {name} must be a real number, got an array of shape {np.shape(value)}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{func}(): {name} must be a real number, got {value!r}") from None
    if not np.isfinite(number):
        raise ValueError(f"{func}(): {name} must be finite, got {number}")
    if minimum is not None:
        if exclusive_minimum and number <= minimum:
            raise ValueError(f"{func}(): {name} must be > {minimum}, got {number}")
        if number < minimum:
            raise ValueError(f"{func}(): {name} must be >= {minimum}, got {number}")
    return number


def sample_weight_vector(sample_weight, n_rows: int, func: str) -> np.ndarray | None:
    """sample_weight as a C-contiguous float64 (N,) array (no copy if it is
    one), or None. Weights must be finite and >= 0 with a positive sum."""
    if sample_weight is None:
        return None
    w = real_array(sample_weight, func, "sample_weight")
    if w.ndim != 1 or w.shape[0] != n_rows:
        raise ValueError(f"{func}(): sample_weight must have shape ({n_rows},), one weight per row of X, "
                         f"got shape {w.shape}")
    check_weight_values(w, func)
    with np.errstate(over="ignore"):  # an overflowing sum is the error reported below
        total = w.sum()
    check_weight_total(float(total), func)
    return np.ascontiguousarray(w)


def check_weight_values(w: np.ndarray, func: str, where: str = "") -> None:
    """Weights (all of them, or the part where says: a Dask chunk's rows)
    must be finite and >= 0."""
    if w.size and (not all_finite(w) or w.min() < 0):
        raise ValueError(f"{func}(): sample_weight must be finite and >= 0{where}; "
                         "drop rows instead of giving them negative or NaN weights")


def check_weight_total(total: float, func: str) -> None:
    """The sum of weights checked by check_weight_values must be positive and finite."""
    if total == 0:
        raise ValueError(f"{func}(): sample_weight must have a positive, finite sum, but every weight is zero; "
                         "give some row a positive weight")
    if not np.isfinite(total):
        raise ValueError(f"{func}(): sample_weight must have a positive, finite sum, got {total}; "
                         "scale the weights down (only their ratios matter)")


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
    mu = real_array(MU, func, name)
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
    sigma = real_array(SIGMA, func, name)
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
        weights = real_array(mc, func, w_name)
        weights = weights.reshape(-1) if weights.ndim <= 1 else None
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


@contextmanager
def scored_in_core(func: str, cov_name: str):
    """Around a core scoring call of the density functions, given X from
    data_matrix(check_finite=False): covariances_must_factorise, and NaN or
    infinity in X, which the core finds as its pass reads X (NonFiniteData),
    is data_matrix's own error: finite X is read once, not checked by two
    NumPy passes (min, max) before the core's."""
    with covariances_must_factorise(func, cov_name):
        try:
            yield
        except _core.NonFiniteData:
            _not_finite(func, "X")


# --------------------------------------------------------------------------- column scales


class ColumnStats(NamedTuple):
    """Per-column statistics of X, computed without overflow or underflow:
    everything the checks of one call need, from one pass over X."""

    mean: np.ndarray       #: (D,) column means (of the finite entries)
    spread: np.ndarray     #: (D,) standard deviations (population, ddof=0)
    max_dev: np.ndarray    #: (D,) max |x - column mean|
    var: np.ndarray        #: (D,) variances; may be 0 or inf where spread is outside SPREAD_BAND
    constant: np.ndarray   #: (D,) bool, True where every entry of the column is equal
    lo: np.ndarray         #: (D,) each column's smallest entry that is not NaN (float64)
    hi: np.ndarray         #: (D,) each column's largest entry that is not NaN (float64)
    nan_count: np.ndarray  #: (D,) int64, NaN entries per column
    has_inf: np.ndarray    #: (D,) bool, True where the column holds +-inf

    @property
    def finite(self) -> bool:
        """Whether every entry of X is finite (no NaN, no infinity)."""
        return not (self.nan_count.any() or self.has_inf.any())


#: Entries per slice in the exact column statistics: its float64 temporaries
#: stay near 8 MB whatever D (65,536 rows at any D made 32 MB ones at D = 64,
#: most of a fit's memory above the data).
_STATS_ENTRIES = 1 << 20
#: The core's column_summary moments are plain double arithmetic, exact to
#: rounding while max|x| stays below this (no square of a deviation, nor a
#: sum of them, can overflow)...
_PLAIN_MAX_ABS = 2.0**460
#: ...and every varying column's variance above this (SPREAD_BAND's lower
#: end squared: squares of deviations are normal numbers, not subnormal).
_PLAIN_MIN_VAR = SPREAD_BAND[0] ** 2


def column_stats(x: np.ndarray) -> ColumnStats:
    """Scale-safe per-column statistics of x (N, D): mean, spread, largest
    deviation, extremes, and the NaN and infinity counts, in one parallel
    pass of the core (``_core.column_summary``).

    The core's moments are plain double arithmetic; where they cannot be
    trusted (max|x| beyond 2**460, where squares would overflow, or a varying
    column with a variance below 2**-920, where they would be subnormal) the
    statistics of finite x come from the exact scaled two-pass instead
    (:func:`_exact_column_stats`, two more reads of x). Where x holds NaN or
    infinity the moments are those of the finite entries (the callers refuse
    such x: :attr:`ColumnStats.finite`).
    """
    summary = _core.column_summary(x, threads_for_core())
    lo, hi = np.array(summary.min), np.array(summary.max)
    nan_count, has_inf = np.array(summary.nan_count), np.array(summary.has_inf)
    constant = hi == lo
    # A column of one repeated value has spread 0 exactly; its mean's rounding
    # must not invent a tiny variance.
    var = np.where(constant, 0.0, summary.variance)
    finite = not (nan_count.any() or has_inf.any())
    if finite and (np.maximum(hi, -lo).max() > _PLAIN_MAX_ABS or (var[~constant] < _PLAIN_MIN_VAR).any()):
        return _exact_column_stats(x, lo, hi)
    mean = np.array(summary.mean)
    max_dev = np.where(constant, 0.0, np.maximum(hi - mean, mean - lo))
    return ColumnStats(mean=mean, spread=np.sqrt(var), max_dev=max_dev, var=var, constant=constant, lo=lo, hi=hi,
                       nan_count=nan_count, has_inf=has_inf)


def _exact_column_stats(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> ColumnStats:
    """column_stats of finite x whatever its scale, given its column extremes.

    np.var squares the entries, which overflows beyond ~1e154 and underflows
    to subnormals below ~1e-154. Each column is divided by the power of two
    nearest above its max |x| (np.frexp/np.ldexp: exact), its statistics are
    taken in [-1, 1], and multiplied back by the same power of two. Two
    passes (mean, then deviations) over slices of rows, so the temporaries
    stay small whatever N is.
    """
    n = x.shape[0]
    _, exponent = np.frexp(np.maximum(hi, -lo))  # amax = m * 2**exponent, 0.5 <= m < 1 (exponent 0 for amax 0)
    rows = max(1, _STATS_ENTRIES // max(x.shape[1], 1))
    slices = [slice(i, min(i + rows, n)) for i in range(0, n, rows)]
    mean_y = sum(np.ldexp(x[s].astype(np.float64), -exponent).sum(axis=0) for s in slices) / n
    sum_sq = np.zeros_like(mean_y)
    max_dev_y = np.zeros_like(mean_y)
    for s in slices:
        y = np.ldexp(x[s].astype(np.float64), -exponent)
        y -= mean_y
        np.abs(y, out=y)
        np.maximum(max_dev_y, y.max(axis=0), out=max_dev_y)
        np.square(y, out=y)
        sum_sq += y.sum(axis=0)
    return scaled_column_stats(mean_y, sum_sq / n, max_dev_y, exponent, lo, hi)


def scaled_column_stats(mean_y, var_y, max_dev_y, exponent, lo, hi) -> ColumnStats:
    """ColumnStats of finite data with column extremes lo, hi from the
    statistics of its columns divided by 2**exponent (see
    :func:`_exact_column_stats`)."""
    lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    constant = np.asarray(hi == lo)
    # A column of one repeated value has spread 0 exactly; its mean's rounding
    # must not invent a tiny variance.
    var_y = np.array(var_y, dtype=np.float64)
    max_dev_y = np.array(max_dev_y, dtype=np.float64)
    var_y[constant] = 0.0
    max_dev_y[constant] = 0.0
    with np.errstate(over="ignore", under="ignore"):
        var = np.ldexp(var_y, 2 * exponent)  # only used where the spread is inside SPREAD_BAND
    return ColumnStats(mean=np.ldexp(mean_y, exponent), spread=np.ldexp(np.sqrt(var_y), exponent),
                       max_dev=np.ldexp(max_dev_y, exponent), var=var, constant=constant, lo=lo, hi=hi,
                       nan_count=np.zeros(lo.shape, dtype=np.int64), has_inf=np.zeros(lo.shape, dtype=bool))


def require_finite(stats: ColumnStats, func: str, name: str = "X", not_finite_hint: str = "") -> None:
    """ValueError, :func:`data_matrix`'s, unless the data whose
    :func:`column_stats` these are is finite: its finiteness check and its
    scale checks from one pass."""
    if not stats.finite:
        _not_finite(func, name, not_finite_hint)


def check_fit_scale(stats: ColumnStats, func: str, name: str = "X", require_varying: bool = True) -> None:
    """ValueError unless the data can be fitted in float64: not every column
    constant (when require_varying), and every non-constant column's spread
    inside SPREAD_BAND."""
    if require_varying and stats.constant.all():
        raise ValueError(
            f"{func}(): every column of {name} is constant, so there is no spread to fit a "
            "covariance to; a Gaussian mixture needs at least one column that varies"
        )
    lo, hi = SPREAD_BAND
    bad = np.flatnonzero(~stats.constant & ((stats.spread < lo) | (stats.spread > hi)))
    if bad.size:
        j = int(bad[0])
        raise ValueError(
            f"{func}(): column {j} of {name} has spread (standard deviation) {stats.spread[j]:.3g}, "
            f"outside [2**-460, 2**460] (about 1e-138 to 1e138) where EM's squared deviations stay "
            "normal float64 numbers; rescale X, e.g. X * 2.0**k, and scale the fit back: "
            "means / 2**k, covariances / 4**k"
        )


def floored_variances(stats: ColumnStats) -> np.ndarray:
    """Column variances floored at VARIANCE_FLOOR * the largest one.

    These are the scales of diag_add and of cov_init='var'. A constant column
    has variance 0; without the floor it would get no regularisation and a
    zero initial variance, and no diag_add could make EM succeed. The floor
    is relative to the data's own scale, so it is scale-equivariant.
    """
    return np.maximum(stats.var, VARIANCE_FLOOR * stats.var.max())


def constant_columns_note(stats: ColumnStats) -> str:
    """Text naming the constant columns for a covariance-problem message ('' if none)."""
    cols = np.flatnonzero(stats.constant)
    if cols.size == 0:
        return ""
    listed = ", ".join(map(str, cols[:10].tolist())) + (", ..." if cols.size > 10 else "")
    return (f"; column(s) {listed} of X are constant, so their variance collapses to 0 "
            "with diag_add=0: diag_add > 0 regularises them")


def warn_if_transposed(x: np.ndarray, func: str) -> None:
    """UserWarning when X has fewer rows than columns: probably X.T was meant."""
    n, d = x.shape
    if n < d:
        warnings.warn(
            f"{func}(): X has {n} rows and {d} columns; rows are samples, so this fits {n} "
            f"samples in {d} dimensions. If the samples are the columns, pass X.T",
            UserWarning, stacklevel=3,
        )


# --------------------------------------------------------------------------- kernel precision


def kernel_data(x: np.ndarray, *, fit_stats: ColumnStats | None = None, means=None,
                covariances=None, centres=None, variances=None) -> np.ndarray:
    """The array to pass to the core: x itself, or a float64 copy of float32 x
    when float32 kernels could overflow or underflow.

    float32 kernels square deviations and sum them over row blocks in float32,
    so they are kept only inside these ranges (all of the given ones):

    * fitting (``fit_stats``): every non-constant column's spread and
      max |x - column mean| within FLOAT32_FIT_BAND; with starting
      ``means`` / ``covariances`` also max |mean - column mean| <= 2**40 and
      covariance diagonals within FLOAT32_SCORE_COV_BAND;
    * scoring (``means`` and ``covariances`` without ``fit_stats``):
      max|x| and max|means| <= FLOAT32_SCORE_MAX_ABS, covariance diagonals
      within FLOAT32_SCORE_COV_BAND and (max|x| + max|mean|) /
      sqrt(min diagonal) <= FLOAT32_SCORE_MAX_RATIO;
    * k-means (``centres``): max|x| and max|centres| <= FLOAT32_SCORE_MAX_ABS,
      no nonzero centre entry below float32's smallest normal number, and,
      with ``fit_stats``, the fitting band on the columns.

    float64 x is always returned unchanged.
    """
    if x.dtype != np.float32:
        return x
    return x if float32_is_safe(x, fit_stats=fit_stats, means=means, covariances=covariances,
                                centres=centres, variances=variances) else x.astype(np.float64)


def column_extremes(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each column's (min, max) in float64; NaN where the column holds one."""
    return x.min(axis=0).astype(np.float64), x.max(axis=0).astype(np.float64)


def range_bounds(lo: np.ndarray, hi: np.ndarray, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """(r, spread_lo) of the non-constant columns of data with column extremes
    lo, hi over n_samples rows: the range r = hi - lo bounds the spread from
    above, and r / sqrt(2 n_samples) from below (the two extreme rows alone
    give a variance of at least r^2 / 2N)."""
    with np.errstate(over="ignore"):
        ranges = hi - lo
    r = ranges[ranges > 0]
    return r, r / np.sqrt(2.0 * n_samples)


def spreads_surely_in_band(r: np.ndarray, spread_lo: np.ndarray) -> bool:
    """Whether the bounds of :func:`range_bounds` already put every spread
    inside SPREAD_BAND (else only :func:`column_stats` can tell)."""
    band_lo, band_hi = SPREAD_BAND
    return bool(np.all(spread_lo >= band_lo) and np.all(r <= band_hi))


def fit_data(x: np.ndarray, func: str, *, means: np.ndarray | None = None,
             variances: np.ndarray | None = None, stats: ColumnStats | None = None) -> np.ndarray:
    """x as the core should fit it from parameters (means, covariance
    diagonals ``variances``; None: the data's checks only, as for statistics
    under given responsibilities): finite entries, the scale checks of
    :func:`check_fit_scale` (ValueError) and the float32 decision of
    :func:`kernel_data`, all from :func:`column_stats` of x. ``stats``: those
    statistics, when the caller has them (a fit that checks its data against
    several starts reads X once for all of them).
    """
    stats = column_stats(x) if stats is None else stats
    require_finite(stats, func)
    check_fit_scale(stats, func, require_varying=False)
    return kernel_data(x, fit_stats=stats, means=means, variances=variances)


def _max_abs(a) -> float:
    """max |a| without the full-size temporary of np.abs(a)."""
    return float(max(a.max(), -a.min()))


def float32_is_safe(x: np.ndarray, *, fit_stats: ColumnStats | None = None, means=None,
                    covariances=None, centres=None, variances=None) -> bool:
    """The decision of :func:`kernel_data` (see there for the rules).

    ``variances`` (the covariance diagonals in any shape) stands in for
    ``covariances`` when the covariance model is not full."""
    safe = True
    if variances is None and covariances is not None:
        variances = np.diagonal(covariances, axis1=-2, axis2=-1)
    if fit_stats is not None:
        lo, hi = FLOAT32_FIT_BAND
        varying = ~fit_stats.constant
        for values in (fit_stats.spread[varying], fit_stats.max_dev[varying]):
            safe &= bool(np.all((values >= lo) & (values <= hi)))
        if means is not None:
            safe &= bool(np.abs(means - fit_stats.mean).max() <= hi)
    if variances is not None:
        diag = np.asarray(variances)
        cov_lo, cov_hi = FLOAT32_SCORE_COV_BAND
        safe &= bool(diag.min() >= cov_lo and diag.max() <= cov_hi)
        if fit_stats is None and means is not None:
            x_abs = _max_abs(x)
            mean_abs = _max_abs(means)
            safe &= x_abs <= FLOAT32_SCORE_MAX_ABS and mean_abs <= FLOAT32_SCORE_MAX_ABS
            if safe:
                safe &= (x_abs + mean_abs) / np.sqrt(diag.min()) <= FLOAT32_SCORE_MAX_RATIO
    if centres is not None:
        safe &= bool(_max_abs(x) <= FLOAT32_SCORE_MAX_ABS and _max_abs(centres) <= FLOAT32_SCORE_MAX_ABS)
        # Centres are compared in float32: one that would round to a subnormal or
        # to zero (1e-150 -> 0) would tie with its neighbours.
        nonzero = np.abs(centres[centres != 0])
        safe &= bool(nonzero.size == 0 or nonzero.min() >= np.finfo(np.float32).tiny)
    return bool(safe)
