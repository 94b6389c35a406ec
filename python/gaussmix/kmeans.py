"""K-means clustering with PyPR's API (``pypr.clustering.kmeans``).

Lloyd's iterations run in the compiled core; initial centres come from
NumPy's global generator, as in PyPR.
"""
from __future__ import annotations

import numpy as _np

from . import _core
from ._config import threads_for_core as _threads_for_core
from ._validation import (
    column_stats as _column_stats,
    data_matrix as _data_matrix,
    kernel_data as _kernel_data,
    n_components as _n_components,
    option as _option,
    positive_int as _positive_int,
    real_array as _real_array,
    real_number as _real_number,
)

__all__ = ["kmeans", "find_distance", "find_membership", "find_centroids", "find_intra_cluster_variance"]


def find_distance(X, c):
    """Euclidean distance of every row of X to the centre c.

    Parameters
    ----------
    X : array_like, shape (N, D)
    c : array_like, shape (D,)
        One centre (a (1, D) array is accepted too); for several centres use
        :func:`find_membership`.

    Returns
    -------
    ndarray, shape (N, 1)
        Distances as a column vector (PyPR's shape).
    """
    func = "find_distance"
    x = _data_matrix(X, func)
    if _np.ndim(c) == 2 and _np.shape(c)[0] > 1:
        # NumPy would report a broadcast error between X and c instead.
        raise ValueError(
            f"{func}(): c must be one centre of shape ({x.shape[1]},), got shape {_np.shape(c)}; "
            "for several centres use find_membership"
        )
    centre = _centres(c, x.shape[1], func, "c").reshape(-1)
    return _row_norms(x - centre)[:, None]


def find_membership(X, cc):
    """Index of the nearest centre (Euclidean) for every row of X.

    Parameters
    ----------
    X : array_like, shape (N, D)
        float32 input runs float32 kernels unless its range needs float64.
    cc : array_like, shape (K, D)
        Centres row-wise.

    Returns
    -------
    ndarray of int, shape (N,)
        Cluster numbers from zero. (PyPR returned whole numbers as floats;
        integers compare the same and can also index.)
    """
    func = "find_membership"
    x = _data_matrix(X, func)
    centres = _centres(cc, x.shape[1], func, "cc")
    return _core.nearest_centres(_kernel_data(x, centres=centres), centres, _threads_for_core())


def find_centroids(X, K, m):
    """Mean of the rows of X in each cluster.

    Parameters
    ----------
    X : array_like, shape (N, D)
    K : int
        Number of clusters.
    m : array_like of int, shape (N,)
        Cluster number of every row, from zero.

    Returns
    -------
    ndarray, shape (K, D)
        Centroids row-wise; as PyPR documents, a cluster with no rows gets a
        row of NaN.
    """
    func = "find_centroids"
    x = _data_matrix(X, func)
    K = _positive_int(K, func, "K")
    labels = _labels(m, x.shape[0], K, func)
    counts = _np.bincount(labels, minlength=K).astype(_np.float64)
    sums = _np.stack([_np.bincount(labels, weights=x[:, j], minlength=K) for j in range(x.shape[1])], axis=1)
    centroids = _np.full((K, x.shape[1]), _np.nan)
    _np.divide(sums, counts[:, None], out=centroids, where=counts[:, None] > 0)
    return centroids


def find_intra_cluster_variance(X, m, cc):
    """Sum over all rows of the Euclidean distance to their cluster's centre.

    Parameters
    ----------
    X : array_like, shape (N, D)
    m : array_like of int, shape (N,)
        Cluster number of every row.
    cc : array_like, shape (K, D)
        Centres row-wise.

    Returns
    -------
    float
    """
    func = "find_intra_cluster_variance"
    x = _data_matrix(X, func)
    centres = _centres(cc, x.shape[1], func, "cc")
    labels = _labels(m, x.shape[0], centres.shape[0], func)
    return float(_np.sum(_row_norms(x - centres[labels])))


def kmeans(X, K, iter=20, verbose=False, cluster_init="sample", delta_stop=None):
    """Cluster the rows of X into K clusters with Lloyd's k-means.

    Stops when no centre moves, when no centre coordinate moves by more than
    ``delta_stop`` (if given), or after ``iter`` iterations. A cluster that
    loses all its rows keeps its previous centre (PyPR made it NaN forever).

    Parameters
    ----------
    X : array_like, shape (N, D)
        float32 input runs float32 kernels unless its range needs float64.
    K : int
        Number of clusters, 1 <= K <= N.
    iter : int
        Maximum number of iterations.
    verbose : bool
        Print the initial and final centres.
    cluster_init : {'sample', 'box'}
        'sample': K random rows of X (``_np.random.randint``); 'box': K points
        uniform in the bounding box of X (``_np.random.rand``).
    delta_stop : float, optional
        Early-stopping threshold on centre movement.

    Returns
    -------
    m : ndarray of int, shape (N,)
        Cluster number of every row (nearest of the centres before the last update).
    cc : ndarray, shape (K, D)
        Centres row-wise.
    """
    func = "kmeans"
    x = _data_matrix(X, func)
    n, dim = x.shape
    K = _n_components(K, n, func)
    iter = _positive_int(iter, func, "iter")
    cluster_init = _option(cluster_init, ("sample", "box"), func, "cluster_init")
    delta = -1.0 if delta_stop is None else _real_number(delta_stop, func, "delta_stop", minimum=0.0)
    if cluster_init == "box":
        lo, hi = x.min(axis=0).astype(_np.float64), x.max(axis=0).astype(_np.float64)
        centres = _np.random.rand(K, dim) * (hi - lo) + lo
    else:
        centres = x[_np.random.randint(0, n, size=K)].astype(_np.float64)
    if verbose:
        print("Initial cluster centers:")
        print(centres)
    xk = _kernel_data(x, fit_stats=_column_stats(x), centres=centres) if x.dtype == _np.float32 else x
    membership, centres, n_iter = _core.kmeans_lloyd(xk, centres, iter, delta, _threads_for_core())
    if verbose:
        print(f"Stopped after {n_iter} iterations. Final cluster centers:")
        print(centres)
    return membership, centres


def _row_norms(diff):
    """Euclidean norm of every row of diff, in float64, without overflow or
    underflow: each row is divided by the power of two just above its largest
    |entry| (exact), its norm taken there and multiplied back. (Squaring
    directly overflows beyond ~1e154 and loses tiny distances below ~1e-154.)"""
    diff = diff.astype(_np.float64, copy=False)
    largest = _np.abs(diff).max(axis=1) if diff.shape[1] else _np.zeros(diff.shape[0])
    exponent = _np.frexp(largest)[1]  # 0 for a zero row
    scaled = _np.ldexp(diff, -exponent[:, None])
    return _np.ldexp(_np.sqrt(_np.einsum("ij,ij->i", scaled, scaled)), exponent)


def _centres(cc, dim, func, name):
    centres = _np.atleast_2d(_real_array(cc, func, name))
    if centres.ndim != 2 or centres.shape[1] != dim:
        raise ValueError(f"{func}(): {name} must have shape (K, {dim}) (or ({dim},) for one centre), got {_np.shape(cc)}")
    if not _np.isfinite(centres).all():
        raise ValueError(f"{func}(): {name} contains NaN or infinite values")
    return _np.ascontiguousarray(centres)


def _labels(m, n, K, func):
    labels = _np.asarray(m)
    if labels.shape != (n,):
        raise ValueError(f"{func}(): m must have shape ({n},), one cluster number per row of X, got {labels.shape}")
    if labels.size and not _np.all(labels == _np.round(labels)):
        raise ValueError(f"{func}(): m must hold whole cluster numbers")
    labels = labels.astype(_np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= K):
        raise ValueError(f"{func}(): m must hold cluster numbers in [0, {K - 1}]")
    return labels
