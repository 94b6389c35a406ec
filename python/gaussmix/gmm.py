"""Gaussian mixture models with PyPR's API (``pypr.clustering.gmm``).

Change ``import pypr.clustering.gmm as gmm`` to ``import gaussmix.gmm as gmm``:
the functions keep PyPR's names, signatures, defaults and return types. The
numerics run in gaussmix's multithreaded C++ core.

Parameter lists follow PyPR: ``center_list`` is a list of (D,) arrays,
``cov_list`` a list of (D, D) arrays and ``p_k`` / ``mc`` a (K,) array.
"""
from __future__ import annotations

import inspect
import time
from contextvars import ContextVar

import numpy as np

from . import _core
from . import kmeans as _kmeans
from ._config import threads_for_core
from ._validation import (
    check_fit_scale,
    column_stats,
    constant_columns_note,
    covariance_matrix,
    covariances_must_factorise,
    data_matrix,
    floored_variances,
    kernel_data,
    mean_vector,
    mixture_params,
    n_components,
    option,
    positive_int,
    real_array,
    real_number,
    require_finite,
    scored_in_core,
    warn_if_transposed,
)

__all__ = [
    "Cov_problem",
    "mulnormpdf",
    "logmulnormpdf",
    "gmm_pdf",
    "sample_gaussian_mixture",
    "gmm_init",
    "em",
    "em_gm",
    "gmm_em_continue",
    "gm_log_likelihood",
    "gm_assign_to_cluster",
    "cond_dist",
    "marg_dist",
    "predict",
    "find_density_diff",
    "gauss_ellipse_2d",
]

#: Raised by EM when a covariance stops being positive definite (PyPR's name).
Cov_problem = _core.Cov_problem

_PARAM_NAMES = ("center_list", "cov_list", "p_k")

#: While em() runs, (validated X, its ColumnStats): gmm_init, which em calls
#: once per try through the module global (so it can be replaced), then
#: reuses them instead of recomputing the statistics and warning again.
_EM_INIT_DATA: ContextVar = ContextVar("_EM_INIT_DATA", default=None)


# --------------------------------------------------------------------------- densities


def logmulnormpdf(X, MU, SIGMA):
    """Natural log of the multivariate normal density N(x | MU, SIGMA).

    Parameters
    ----------
    X : array_like, shape (N, D) or (D,)
        Points row-wise; a 1-D array is a single point. float32 input runs
        float32 kernels unless its range needs float64.
    MU : array_like, shape (D,)
        Mean; must be 1-D.
    SIGMA : array_like, shape (D, D)
        Covariance, symmetric positive definite. A 1-D distribution may pass
        a scalar or a (1, 1) array.

    Returns
    -------
    ndarray, shape (N,)
        Log-densities (length 1 for a single point).
    """
    return _log_normal(X, MU, SIGMA, "logmulnormpdf")


def _log_normal(X, MU, SIGMA, func):
    """logmulnormpdf under the name of the public function called, for its messages."""
    mu = mean_vector(MU, func)
    sigma = covariance_matrix(SIGMA, mu.shape[0], func)
    x = data_matrix(X, func, allow_single_point_dim=mu.shape[0], check_finite=False)
    _check_columns(x, mu.shape[0], func)
    x = kernel_data(x, means=mu.reshape(1, -1), covariances=sigma.reshape(1, *sigma.shape))
    with scored_in_core(func, "SIGMA"):
        return _core.log_density(x, np.ones(1), mu.reshape(1, -1), sigma.reshape(1, *sigma.shape),
                                 threads_for_core())


def mulnormpdf(X, MU, SIGMA):
    """Multivariate normal density N(x | MU, SIGMA).

    Parameters
    ----------
    X : array_like, shape (N, D) or (D,)
        Points row-wise; a 1-D array is a single point. float32 input runs
        float32 kernels unless its range needs float64.
    MU : array_like, shape (D,)
        Mean; must be 1-D.
    SIGMA : array_like, shape (D, D)
        Covariance (a scalar or (1, 1) for a 1-D distribution).

    Returns
    -------
    ndarray, shape (N,)
        Densities. A density above float64's largest number (possible for
        covariances with a determinant below ~1e-616) is ``inf``, as IEEE
        arithmetic rounds it; :func:`logmulnormpdf` gives its finite log.
    """
    return _densities(_log_normal(X, MU, SIGMA, "mulnormpdf"))


def gmm_pdf(X, centroids, ccov, mc, individual=False):
    """Density of a Gaussian mixture.

    Parameters
    ----------
    X : array_like, shape (N, D) or (D,)
        Points row-wise; a 1-D array of length D is a single point. float32
        input runs float32 kernels unless its range needs float64.
    centroids : list of K arrays of shape (D,)
        Component means.
    ccov : list of K arrays of shape (D, D)
        Component covariances.
    mc : array_like, shape (K,) or None
        Mixing coefficients, non-negative and summing to one; None for equal weights.
    individual : bool
        If True return each component's weighted density.

    Returns
    -------
    ndarray, shape (N,) or (N, K)
        ``sum_k mc[k] N(x | mu_k, Sigma_k)``, or with ``individual=True`` the
        (N, K) array of the terms ``mc[k] N(x | mu_k, Sigma_k)``. A density
        above float64's largest number is ``inf`` (see :func:`mulnormpdf`).
    """
    func = "gmm_pdf"
    weights, means, covs = mixture_params(centroids, ccov, mc, func)
    x = data_matrix(X, func, allow_single_point_dim=means.shape[1], check_finite=False)
    _check_columns(x, means.shape[1], func)
    x = kernel_data(x, means=means, covariances=covs)
    with scored_in_core(func, "ccov"):
        if individual:
            return _densities(_core.log_prob_components(x, weights, means, covs, threads_for_core()))
        return _densities(_core.log_density(x, weights, means, covs, threads_for_core()))


def gm_log_likelihood(X, center_list, cov_list, p_k):
    """Total log-likelihood ``sum_n log p(x_n)`` of X under a Gaussian mixture.

    Computed stably (log-sum-exp over components, per row).

    Parameters
    ----------
    X : array_like, shape (N, D)
        float32 input runs float32 kernels unless its range needs float64.
    center_list, cov_list, p_k
        The mixture, as returned by :func:`em`.

    Returns
    -------
    float
    """
    func = "gm_log_likelihood"
    x, weights, means, covs = _data_and_mixture(X, center_list, cov_list, p_k, func)
    with scored_in_core(func, "cov_list"):
        return float(_core.log_likelihood(x, weights, means, covs, threads_for_core()))


def gm_assign_to_cluster(X, center_list, cov_list, p_k):
    """Assign every row of X to its most responsible component.

    Parameters
    ----------
    X : array_like, shape (N, D)
        float32 input runs float32 kernels unless its range needs float64.
    center_list, cov_list, p_k
        The mixture, as returned by :func:`em`.

    Returns
    -------
    ndarray of int, shape (N,)
        Component index of each row, 0 for the first component.
    """
    func = "gm_assign_to_cluster"
    x, weights, means, covs = _data_and_mixture(X, center_list, cov_list, p_k, func)
    with scored_in_core(func, "cov_list"):
        return _core.assign_to_component(x, weights, means, covs, threads_for_core())


# --------------------------------------------------------------------------- sampling


def sample_gaussian_mixture(centroids, ccov, mc=None, samples=1):
    """Draw samples from a Gaussian mixture, with NumPy's global generator.

    Each sample's component is chosen with ``np.random.rand`` against the
    cumulative mixing coefficients, then every component's samples are drawn
    with ``np.random.multivariate_normal``, as PyPR did; so ``np.random.seed``
    makes the draw repeatable.

    Parameters
    ----------
    centroids : list of K arrays of shape (D,)
    ccov : list of K arrays of shape (D, D)
    mc : array_like, shape (K,), optional
        Mixing coefficients summing to one; equal by default.
    samples : int
        Number of samples.

    Returns
    -------
    ndarray, shape (samples, D)
    """
    func = "sample_gaussian_mixture"
    weights, means, covs = mixture_params(centroids, ccov, mc, func)
    samples = positive_int(samples, func, "samples", minimum=0)
    _check_positive_definite(weights, means, covs, func, "ccov")
    selector = np.random.rand(samples)
    # PyPR's interval test left a sample unassigned (a row of zeros) when the
    # cumulative sum of mc rounded below 1; searchsorted cannot miss.
    component = np.searchsorted(np.cumsum(weights)[:-1], selector, side="right")
    out = np.zeros((samples, means.shape[1]))
    for k in range(len(weights)):
        rows = component == k
        out[rows] = np.random.multivariate_normal(means[k], covs[k], int(rows.sum()))
    return out


# --------------------------------------------------------------------------- EM


def gmm_init(X, K, verbose=False, cluster_init="sample", cluster_init_prop={}, max_init_iter=5,
             cov_init="var"):
    """Initial parameters for EM, drawn with NumPy's global generator.

    Parameters
    ----------
    X : array_like, shape (N, D)
        Samples row-wise (a UserWarning is given when X has fewer rows than
        columns: pass X.T if the samples are its columns). Every varying
        column's standard deviation must lie in [2**-460, 2**460].
    K : int
        Number of components, 1 <= K <= N.
    verbose : bool
        Print which initialisation is used.
    cluster_init : {'sample', 'box', 'kmeans'}
        'sample': K rows of X drawn with replacement; 'box': K points uniform
        in the bounding box of X; 'kmeans': the best of ``max_init_iter``
        k-means runs (100 iterations each, ``cluster_init_prop`` passed to
        :func:`gaussmix.kmeans.kmeans`) on standardised X, mapped back.
    cluster_init_prop : dict
        Keyword arguments for k-means.
    max_init_iter : int
        Number of k-means runs for 'kmeans'.
    cov_init : {'var', 'iso'}
        'var': every covariance ``diag(v) / 1e10`` with ``v`` the column
        variances of X floored at ``1e-12 * max(v)`` (so a constant column
        starts with a small positive variance instead of 0; every column
        constant is a ValueError); 'iso': ``eye(D) / 1e10``.

    Returns
    -------
    center_list : list of K arrays (D,)
    cov_list : list of K arrays (D, D)
    p_k : ndarray (K,), uniform
    """
    func = "gmm_init"
    from_em = _EM_INIT_DATA.get()
    if from_em is not None and X is from_em[0]:
        # em validated this X, checked its scale and warned once already.
        x, stats = from_em
    else:
        x, stats = data_matrix(X, func), None
    return _gmm_init(x, K, verbose, cluster_init, cluster_init_prop, max_init_iter, cov_init, stats)


def _gmm_init(x, K, verbose, cluster_init, cluster_init_prop, max_init_iter, cov_init, stats):
    func = "gmm_init"
    n, dim = x.shape
    K = n_components(K, n, func)
    cluster_init = option(cluster_init, ("sample", "box", "kmeans"), func, "cluster_init")
    cov_init = option(cov_init, ("var", "iso"), func, "cov_init")
    max_init_iter = positive_int(max_init_iter, func, "max_init_iter")
    if not isinstance(cluster_init_prop, dict):
        raise TypeError(f"{func}(): cluster_init_prop must be a dict of k-means keyword arguments")
    if stats is None:
        stats = column_stats(x)
        # 'iso' needs no column variance, so all-constant X is only refused for 'var'.
        check_fit_scale(stats, func, require_varying=cov_init == "var")
        warn_if_transposed(x, func)
    x64 = x.astype(np.float64, copy=False)
    if cluster_init == "sample":
        if verbose:
            print("Using sample GMM initialisation.")
        centers = [x64[np.random.randint(n)].copy() for _ in range(K)]
    elif cluster_init == "box":
        if verbose:
            print("Using box GMM initialisation.")
        lo, hi = x64.min(axis=0), x64.max(axis=0)
        centers = [((hi - lo) * np.random.rand(1, dim) + lo).ravel() for _ in range(K)]
    else:
        if verbose:
            print("Using K-means GMM initialisation.")
        centers = list(_kmeans_centres(x, K, cluster_init_prop, max_init_iter, stats))
    spread = floored_variances(stats) if cov_init == "var" else np.ones(dim)
    covs = [np.diag(spread / 1e10) for _ in range(K)]
    return centers, covs, np.ones(K) / K


def _kmeans_centres(x, K, cluster_init_prop, max_init_iter, stats):
    """Best of max_init_iter k-means runs on standardised x, in x's scale."""
    # stats' scale-safe moments: x.std would overflow beyond ~1e154.
    mean = stats.mean
    std = np.where(stats.constant, 1.0, stats.spread)  # a constant column stays constant, not NaN
    z = np.ascontiguousarray((x - mean) / std, dtype=x.dtype)
    best, best_icv = None, np.inf
    for _ in range(max_init_iter):
        membership, centres = _kmeans.kmeans(z, K, iter=100, **cluster_init_prop)
        icv = _kmeans.find_intra_cluster_variance(z, membership, centres)
        if best is None or icv < best_icv:
            best, best_icv = centres, icv
    return best * std + mean


#: em() rejects NaN as PyPR's did; the estimator fits it as missing values.
_MISSING_VALUES_HINT = ("; or, for NaN marking missing values, fit gaussmix.GaussianMixture, whose fit runs exact EM "
                       "on the observed entries")


def em(X, K, max_iter=50, verbose=False, iter_call=None, delta_stop=1e-6, init_kw={}, max_tries=10,
       diag_add=1e-3, *, iter=None):
    """Fit a K-component Gaussian mixture to X by EM, restarting on covariance problems.

    Up to ``max_tries`` times: initialise with ``gmm_init(X, K, **init_kw)``
    and run :func:`gmm_em_continue`; a :class:`Cov_problem` starts a new try.

    Parameters
    ----------
    X : array_like, shape (N, D)
        Samples row-wise (a UserWarning is given when X has fewer rows than
        columns: pass X.T if the samples are its columns). float32 input
        runs float32 kernels unless its range needs float64 (accumulators
        are double either way). Every varying column's standard deviation
        must lie in [2**-460, 2**460]; rescale X by a power of two otherwise.
    K : int
        Number of components.
    max_iter : int
        Maximum number of iterations per try (``iter`` is accepted as its old name).
    verbose : bool
        Print one line per iteration.
    iter_call : callable, optional
        Called after each iteration as ``iter_call(center_list, cov_list, p_k, i)``;
        a callable of three parameters is called as ``iter_call(center_list, cov_list, i)``.
    delta_stop : float
        Stop when the total log-likelihood changes by less than this in 10
        consecutive iterations.
    init_kw : dict
        Keyword arguments for :func:`gmm_init`.
    max_tries : int
        Number of initialisations to try.
    diag_add : float
        ``diag_add * v`` is added to every covariance's diagonal after each
        M-step (0 adds nothing), with ``v`` the column variances of X floored
        at ``1e-12 * max(v)``: a constant column is regularised too, at a
        scale relative to the other columns.

    Returns
    -------
    center_list : list of K arrays (D,)
    cov_list : list of K arrays (D, D)
    p_k : ndarray (K,)
    logL : float
        Log-likelihood of the last iteration.

    Raises
    ------
    Cov_problem
        If every try ended in a covariance problem.
    """
    func = "em"
    if iter is not None:
        max_iter = iter
    x = data_matrix(X, func, check_finite=False)
    stats = column_stats(x)  # every check of X, from one pass
    require_finite(stats, func, not_finite_hint=_MISSING_VALUES_HINT)
    K = n_components(K, x.shape[0], func)
    max_tries = positive_int(max_tries, func, "max_tries")
    max_iter = positive_int(max_iter, func, "max_iter")
    if not isinstance(init_kw, dict):
        raise TypeError(f"{func}(): init_kw must be a dict of gmm_init keyword arguments")
    settings = _fit_setup(x, stats, max_iter, verbose, iter_call, delta_stop, diag_add, 10, func)
    token = _EM_INIT_DATA.set((x, stats))
    try:
        for tries_left in range(max_tries - 1, -1, -1):
            center_list, cov_list, p_k = gmm_init(x, K, **init_kw)
            try:
                return _em_continue(x, center_list, cov_list, p_k, settings, stats, func)
            except Cov_problem:
                if verbose:
                    print(f"Problems with the covariance matrix, tries left: {tries_left}")
    finally:
        _EM_INIT_DATA.reset(token)
    raise Cov_problem(
        f"em(): all {max_tries} tries ended with a covariance that is not positive definite; "
        "increase diag_add, use init_kw={'cluster_init': 'kmeans'}, or lower K"
        + (constant_columns_note(stats) if settings["diag_add"].size == 0 else "")
    )


#: PyPR's name for :func:`em`.
em_gm = em


def gmm_em_continue(X, center_list, cov_list, p_k, max_iter=50, verbose=False, iter_call=None,
                    delta_stop=1e-6, diag_add=1e-3, delta_stop_count_end=10):
    """Continue EM from the given parameters.

    Each iteration is one E-step and one M-step, fused in one pass over X:
    the M-step gives weighted means, weighted covariances around the new
    means plus ``diag_add * var(X, axis=0)`` on the diagonal, and
    ``p_k = responsibility sums / N``. The caller's lists are not modified.

    Parameters
    ----------
    X : array_like, shape (N, D)
        Samples row-wise (UserWarning when X has fewer rows than columns).
        float32 input runs float32 kernels unless its range needs float64.
        Every varying column's standard deviation must lie in [2**-460, 2**460].
    center_list : list of K arrays (D,)
    cov_list : list of K arrays (D, D)
    p_k : array_like (K,)
    max_iter : int
        Maximum number of iterations.
    verbose : bool
        Print one line per iteration.
    iter_call : callable, optional
        ``iter_call(center_list, cov_list, p_k, i)`` after each iteration
        (three-parameter callables get ``(center_list, cov_list, i)``).
    delta_stop : float
        A change of the total log-likelihood below this counts as converged...
    diag_add : float
        Regulariser: ``diag_add * v`` is added to every covariance diagonal,
        with ``v`` the column variances of X floored at ``1e-12 * max(v)``
        (so constant columns are regularised too).
    delta_stop_count_end : int
        ...once it happens this many iterations in a row.

    Returns
    -------
    center_list, cov_list, p_k, logL
        ``logL`` is the total log-likelihood of X under the parameters the
        last iteration started from.

    Raises
    ------
    Cov_problem
        When a covariance stops being positive definite (the message names
        constant columns of X when diag_add is 0).
    """
    func = "gmm_em_continue"
    x = data_matrix(X, func, check_finite=False)
    stats = column_stats(x)  # every check of X, from one pass
    require_finite(stats, func)
    max_iter = positive_int(max_iter, func, "max_iter")
    delta_stop_count_end = positive_int(delta_stop_count_end, func, "delta_stop_count_end")
    settings = _fit_setup(x, stats, max_iter, verbose, iter_call, delta_stop, diag_add, delta_stop_count_end, func)
    return _em_continue(x, center_list, cov_list, p_k, settings, stats, func)


def _fit_setup(x, stats, max_iter, verbose, iter_call, delta_stop, diag_add, delta_stop_count_end, func):
    """Checks shared by em and gmm_em_continue (stats: the ColumnStats of x); returns _core.fit_em's options
    (its keyword arguments)."""
    if iter_call is not None and not callable(iter_call):
        raise TypeError(f"{func}(): iter_call must be callable or None")
    delta_stop = real_number(delta_stop, func, "delta_stop")
    diag_add = real_number(diag_add, func, "diag_add", minimum=0.0)
    check_fit_scale(stats, func)
    # Last, after every check that raises: a warning turned into an error
    # (filterwarnings) must not hide a ValueError about the same call.
    warn_if_transposed(x, func)
    with np.errstate(over="ignore"):
        diag_vec = diag_add * floored_variances(stats) if diag_add != 0 else np.empty(0)
    if not np.isfinite(diag_vec).all():
        raise ValueError(f"{func}(): diag_add={diag_add:g} times the variance of X's columns exceeds float64's "
                         "range; diag_add is relative to each column's variance, so use a value near 1e-3")
    settings = dict(max_iter=max_iter, delta_stop=delta_stop, delta_stop_count_end=delta_stop_count_end,
                    diag_add=diag_vec, callback=_iteration_callback(verbose, iter_call, x.shape[0]))
    return settings


def _em_continue(x, center_list, cov_list, p_k, settings, stats, func):
    weights, means, covs = mixture_params(center_list, cov_list, p_k, func, names=_PARAM_NAMES, dim=x.shape[1])
    xk = kernel_data(x, fit_stats=stats, means=means, covariances=covs)
    try:
        fitted, logL, *_ = _core.fit_em(xk, weights, means, covs, n_threads=threads_for_core(), **settings)
        w, m, c = fitted.parameters
    except Cov_problem as exc:
        note = constant_columns_note(stats) if settings["diag_add"].size == 0 else ""
        if note:
            raise Cov_problem(f"{exc}{note}") from None
        raise
    return list(m), list(c), w, float(logL)


def _iteration_callback(verbose, iter_call, n_rows):
    """The per-iteration hook for the core: verbose printing and PyPR's iter_call.

    verbose prints, per iteration, the log-likelihood per row of the
    parameters the iteration started from, its change (from the second
    iteration on: the first has nothing to compare with), and the seconds
    since the first iteration. The first line, marked "(the start)", scores
    em's start, whose covariances are tiny (PyPR's variance / 1e10): its
    log-likelihood is far below the fit's."""
    if not verbose and iter_call is None:
        return None
    call = _adapt_iter_call(iter_call) if iter_call is not None else None
    state = {"previous": np.nan, "start": time.perf_counter()}

    def callback(weights, means, covs, i, logL):
        if verbose:
            per_row = logL / n_rows
            if i == 0:
                note = "  (the start)"
            else:
                note = f"  change {per_row - state['previous']:+.4g}"
            print(f"iteration {i:4d}  log-likelihood per row {per_row:12.6g}{note}  "
                  f"{time.perf_counter() - state['start']:7.2f} s")
            state["previous"] = per_row
        if call is not None:
            call(list(means), list(covs), weights, i)

    return callback


def _adapt_iter_call(iter_call):
    """PyPR documents iter_call(center_list, cov_list, p_k, i), but its own
    example passes a function of (center_list, cov_list, i): accept both."""
    try:
        params = inspect.signature(iter_call).parameters.values()
    except (TypeError, ValueError):
        return iter_call
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    takes_varargs = any(p.kind == p.VAR_POSITIONAL for p in params)
    if not takes_varargs and len(positional) == 3:
        return lambda centers, covs, p_k, i: iter_call(centers, covs, i)
    return iter_call


# --------------------------------------------------------------------------- conditioning


def cond_dist(Y, centroids, ccov, mc):
    """Conditional distribution of the unknown entries of Y given the known ones.

    Parameters
    ----------
    Y : array_like, shape (D,)
        One point; NaN entries are the variables of the result, the other
        entries are conditioned on.
    centroids, ccov, mc
        The mixture (``mc=None`` for equal weights).

    Returns
    -------
    (centroids, ccov, mc) : tuple
        The conditional mixture over the NaN positions, in their order:
        ``mu_A + S_AB S_BB^-1 (y_B - mu_B)``, ``S_AA - S_AB S_BB^-1 S_BA`` and
        weights ``mc_k N(y_B | mu_kB, S_kBB)`` normalised to sum to one. With
        no entry known, the mixture itself.
    """
    func = "cond_dist"
    weights, means, covs = mixture_params(centroids, ccov, mc, func)
    y = real_array(Y, func, "Y")
    if y.ndim == 2 and y.shape[0] == 1:
        y = y[0]
    if y.shape != (means.shape[1],):
        raise ValueError(f"{func}(): Y must be one point of length D={means.shape[1]} (NaN marks the unknowns), got shape {np.shape(Y)}")
    unknown = np.isnan(y)
    if np.isinf(y).any():
        raise ValueError(f"{func}(): Y contains infinite values")
    if not unknown.any():
        raise ValueError(f"{func}(): Y has no NaN entry, so there is nothing to condition for; set the unknowns to np.nan")
    observed = np.flatnonzero(~unknown)
    with covariances_must_factorise(func, "ccov"):
        w, m, c = _core.condition(weights, means, covs, observed.tolist(), y[observed])
    return list(m), list(c), w


def marg_dist(X_idx, centroids, ccov, mc):
    """Marginal distribution of the dimensions X_idx.

    Parameters
    ----------
    X_idx : list of int
        Dimensions to keep, in the order wanted; each in ``0..D-1``, no repeats.
    centroids, ccov, mc
        The mixture.

    Returns
    -------
    (centroids, ccov, mc) : tuple
        Means and covariances restricted to X_idx; mixing coefficients unchanged.
    """
    func = "marg_dist"
    weights, means, covs = mixture_params(centroids, ccov, mc, func)
    dims = _dimension_indices(X_idx, means.shape[1], func)
    with covariances_must_factorise(func, "ccov"):
        w, m, c = _core.marginal(weights, means, covs, dims)
    return list(m), list(c), w


def predict(X, centroids, ccov, mc):
    """GMM regression: fill the NaNs of X, in place, with their conditional expectation.

    Each row's NaNs are replaced by ``sum_k mc'_k mu_{k,A|B}`` given that row's
    known values. Rows may have different NaN patterns; rows are grouped by
    pattern and processed in parallel in the core. A row without NaN is left
    as it is; a row of NaN gets the mixture's mean.

    Parameters
    ----------
    X : ndarray of float, shape (N, D)
        Modified in place.
    centroids, ccov, mc
        The mixture.

    Returns
    -------
    list of N ndarrays
        Row i's conditional covariance of its missing entries (law of total
        variance, ``sum_k mc'_k (S_{k,A|B} + mu_k mu_k^T) - m m^T``), shape
        (m_i, m_i) with m_i the row's number of NaNs ((0, 0) for a complete row).
    """
    func = "predict"
    if not isinstance(X, np.ndarray) or not np.issubdtype(X.dtype, np.floating):
        raise TypeError(f"{func}(): X must be a float NumPy array, because its NaNs are filled in place")
    if X.ndim != 2:
        raise ValueError(f"{func}(): X must be a 2-D (N, D) array, got shape {X.shape}")
    if not X.flags.writeable:
        raise ValueError(f"{func}(): X is read-only, but predict fills its NaNs in place; pass a writeable copy")
    if np.isinf(X).any():
        raise ValueError(f"{func}(): X contains infinite values; only NaN may mark an unknown")
    weights, means, covs = mixture_params(centroids, ccov, mc, func, dim=X.shape[1])
    direct = X.dtype == np.float64 and X.flags.c_contiguous
    work = X if direct else np.ascontiguousarray(X, dtype=np.float64)
    with covariances_must_factorise(func, "ccov"):
        offsets, flat = _core.predict_missing(work, weights, means, covs, threads_for_core())
    if not direct:
        largest = float(np.finfo(X.dtype).max)
        if work.size and _max_abs_where_nan(work, X) > largest:
            raise ValueError(f"{func}(): a predicted value exceeds the range of X's dtype {X.dtype} "
                             f"(largest {largest:.3g}); pass X as float64")
        X[...] = work
    sizes = np.rint(np.sqrt(np.diff(offsets))).astype(np.int64)
    return [flat[offsets[i]:offsets[i + 1]].reshape(m, m) for i, m in enumerate(sizes.tolist())]


def find_density_diff(center_list, cov_list, p_k=None, method="hellinger"):
    """Pairwise similarity or divergence of the mixture's components.

    Parameters
    ----------
    center_list, cov_list
        The components.
    p_k : array_like, optional
        Mixing coefficients (not used by any method; kept for PyPR's signature).
    method : {'hellinger', 'KL', 'hellinger_weighted'} or callable
        'hellinger': Hellinger affinity (Bhattacharyya coefficient,
        ``exp(-D_B)``), 1 for identical components;
        'KL': ``diff[i, j] = KL(N_j || N_i)``;
        'hellinger_weighted': Sung's (2004) form as PyPR wrote it,
        ``1 - 2 |S_i|_F^(1/4) |S_j|_F^(1/4) sqrt(2 pi) N(0 | mu_i - mu_j, 2 S_i + 2 S_j)``
        with ``|.|_F`` the Frobenius norm;
        a callable ``m(mu1, S1, mu2, S2)`` is evaluated for every pair.

    Returns
    -------
    ndarray, shape (K, K)
        ``diff[i, j] = m(mu_i, S_i, mu_j, S_j)`` on and above the diagonal, 0 below.
    """
    func = "find_density_diff"
    weights, means, covs = mixture_params(center_list, cov_list, p_k, func, names=_PARAM_NAMES)
    if isinstance(method, str) and method in ("hellinger", "KL"):
        with covariances_must_factorise(func, "cov_list"):
            return _core.pairwise(means, covs, method)
    if method == "hellinger_weighted":
        measure = _hellinger_weighted
    elif callable(method):
        measure = method
    else:
        raise ValueError(f"{func}(): unknown method {method!r}; use 'hellinger', 'KL', 'hellinger_weighted' or a callable m(mu1, S1, mu2, S2)")
    _check_positive_definite(weights, means, covs, func, "cov_list")
    K = len(means)
    diff = np.zeros((K, K))
    for i in range(K):
        for j in range(i, K):
            diff[i, j] = measure(means[i], covs[i], means[j], covs[j])
    return diff


def _hellinger_weighted(mu1, S1, mu2, S2):
    # 1 - 2 (|S1|_F |S2|_F)^(1/4) sqrt(2 pi) N(0 | mu1 - mu2, 2 S1 + 2 S2), the
    # product taken in log space: its factors over- and underflow separately
    # for covariances far from unit scale while the product need not.
    log_term = (np.log(2.0) + 0.25 * (_log_frobenius(S1) + _log_frobenius(S2)) + 0.5 * np.log(2.0 * np.pi)
                + logmulnormpdf(np.zeros(mu1.shape[0]), mu1 - mu2, 2.0 * S1 + 2.0 * S2)[0])
    with np.errstate(over="ignore"):
        return 1.0 - np.exp(log_term)


def _log_frobenius(S):
    """log of the Frobenius norm of S, without overflow or underflow."""
    scale = np.abs(S).max()
    return np.log(scale) + np.log(np.linalg.norm(S / scale, "fro"))


def gauss_ellipse_2d(centroid, ccov, sdwidth=1, points=100):
    """Points on the ellipse at ``sdwidth`` standard deviations of a 2-D Gaussian.

    Parameters
    ----------
    centroid : array_like, shape (2,)
    ccov : array_like, shape (2, 2)
        Symmetric positive definite covariance.
    sdwidth : float
        Mahalanobis radius of the ellipse.
    points : int
        Number of points.

    Returns
    -------
    x, y : ndarray, shape (points,)
        ``mean + V sqrt(Lambda) sdwidth [cos t; sin t]``, t in linspace(0, 2 pi, points),
        from the eigendecomposition ``ccov = V Lambda V^T``.
    """
    func = "gauss_ellipse_2d"
    mean = mean_vector(centroid, func, "centroid")
    if mean.shape[0] != 2:
        raise ValueError(f"{func}(): centroid must have 2 entries, got {mean.shape[0]}")
    cov = covariance_matrix(ccov, 2, func, "ccov")
    sdwidth = real_number(sdwidth, func, "sdwidth", minimum=0.0)
    points = positive_int(points, func, "points")
    eigval, eigvec = np.linalg.eigh(cov)
    if eigval.min() <= 0:
        raise ValueError(f"{func}(): ccov is not positive definite")
    t = np.linspace(0.0, 2.0 * np.pi, points)
    with np.errstate(over="ignore", invalid="ignore"):
        xy = mean[:, None] + eigvec @ (np.sqrt(eigval)[:, None] * sdwidth * np.vstack((np.cos(t), np.sin(t))))
    if not np.isfinite(xy).all():
        raise ValueError(
            f"{func}(): the ellipse's points exceed float64's range: sdwidth {sdwidth:.3g} times the largest "
            f"standard deviation {np.sqrt(eigval.max()):.3g} around centroid; use a smaller sdwidth or rescale"
        )
    return xy[0], xy[1]


# --------------------------------------------------------------------------- helpers


def _max_abs_where_nan(filled, original):
    """Largest |filled| over the entries that are NaN in original (0 if none)."""
    holes = np.isnan(original)
    return float(np.abs(filled[holes]).max()) if holes.any() else 0.0


def _check_positive_definite(weights, means, covs, func, name):
    """ValueError unless every covariance is positive definite: factorising
    them in the core proves it (before NumPy or a callable sees them)."""
    with covariances_must_factorise(func, name):
        _core.log_density(np.zeros((1, means.shape[1])), weights, means, covs, 1)


def _densities(log_densities):
    """exp of log-densities; one beyond float64's range overflows to inf, the
    correctly rounded value, without NumPy's overflow warning."""
    with np.errstate(over="ignore"):
        return np.exp(log_densities)


def _check_columns(x, dim, func):
    if x.shape[1] != dim:
        raise ValueError(f"{func}(): X has {x.shape[1]} columns but the distribution has dimension {dim}")


def _dimension_indices(X_idx, dim, func):
    idx = np.asarray(X_idx)
    if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"{func}(): X_idx must be a non-empty list of integer dimension indices, got {X_idx!r}")
    if idx.min() < 0 or idx.max() >= dim:
        raise ValueError(f"{func}(): X_idx entries must lie in 0..{dim - 1}, got {idx.tolist()}")
    if np.unique(idx).size != idx.size:
        raise ValueError(f"{func}(): X_idx repeats a dimension: {idx.tolist()}")
    return idx.tolist()


def _data_and_mixture(X, center_list, cov_list, p_k, func):
    """X and the mixture for a scoring call (X's values checked by the core's pass: scored_in_core)."""
    x = data_matrix(X, func, check_finite=False)
    weights, means, covs = mixture_params(center_list, cov_list, p_k, func, names=_PARAM_NAMES, dim=x.shape[1])
    return kernel_data(x, means=means, covariances=covs), weights, means, covs
