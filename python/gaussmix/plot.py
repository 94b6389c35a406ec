"""Pictures of Gaussian mixtures, drawn with matplotlib.

matplotlib is an optional dependency: install it with
``pip install "gaussmix[plot]"``. This module imports it only when a function
is called, so ``import gaussmix.plot`` works without it.

The mixtures are given the way :mod:`gaussmix.gmm` returns them:
``center_list`` a list of K arrays of shape (D,), ``cov_list`` a list of K
arrays of shape (D, D) and ``p_k`` an array of shape (K,). Every function
draws on the Axes it is given (the current Axes when ``ax=None``) and returns
it, so calls can be combined on one picture.
"""
from __future__ import annotations

import numpy as np

from . import gmm
from ._validation import data_matrix, mixture_params, positive_int, real_number

__all__ = ["ellipses", "density_contours", "conditional_density", "pair_plot"]

_NAMES = ("center_list", "cov_list", "p_k")
#: Margin added around the data on each side, as a fraction of its range.
_DATA_MARGIN = 0.05
#: Standard deviations around the means covered when there is no data.
_GRID_SD = 3.0
_CONDITIONAL_SD = 4.0
_SCATTER_STYLE = dict(s=4, alpha=0.5, linewidths=0)


def _pyplot():
    """matplotlib.pyplot, or an ImportError that says how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            'gaussmix.plot needs matplotlib, which is an optional dependency; '
            'install it with: pip install "gaussmix[plot]"'
        ) from exc
    return plt


def _axes(ax):
    return _pyplot().gca() if ax is None else ax


def _data(X, dim, func):
    """X as a finite (N, dim) float array, or None."""
    if X is None:
        return None
    x = data_matrix(X, func)
    if x.shape[1] != dim:
        raise ValueError(f"{func}(): X has {x.shape[1]} columns but the mixture has dimension {dim}")
    return x


def _span(means, covs, x, n_sd):
    """(lo, hi) per dimension: the data's range plus a margin, or else the
    means +- n_sd standard deviations over all components."""
    if x is not None:
        lo, hi = x.min(axis=0).astype(float), x.max(axis=0).astype(float)
        pad = _DATA_MARGIN * np.where(hi > lo, hi - lo, 1.0)
        return lo - pad, hi + pad
    sd = np.sqrt(np.diagonal(covs, axis1=1, axis2=2))
    return (means - n_sd * sd).min(axis=0), (means + n_sd * sd).max(axis=0)


def ellipses(center_list, cov_list, X=None, sdwidth=1.0, ax=None, **style):
    """Covariance ellipses of a 2-D mixture's components, over a scatter of the data.

    Parameters
    ----------
    center_list : list of K arrays of shape (2,)
        Component means.
    cov_list : list of K arrays of shape (2, 2)
        Component covariances.
    X : array_like, shape (N, 2), optional
        Data drawn as a scatter beneath the ellipses.
    sdwidth : float, default 1
        Mahalanobis radius, in standard deviations: each ellipse is the set
        of points x with ``(x - mu_k)^T S_k^-1 (x - mu_k) = sdwidth**2``, so
        its semi-axes are ``sdwidth`` times the square roots of the
        eigenvalues of S_k. The default, 1, is that of
        :func:`gaussmix.gmm.gauss_ellipse_2d` (PyPR's); ``gaussmix plot``
        draws at 2.
    ax : matplotlib.axes.Axes, optional
        Where to draw; the current Axes by default.
    **style
        Line properties for the ellipses (``color``, ``linewidth``, ...),
        passed to ``Axes.plot``; by default black lines of width 2.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on; it gains one line per component (``ax.lines``) and,
        with X, one scatter collection.
    """
    func = "ellipses"
    _, means, covs = mixture_params(center_list, cov_list, None, func, names=_NAMES)
    if means.shape[1] != 2:
        raise ValueError(f"{func}(): ellipses are drawn for 2-D components, the mixture has dimension "
                         f"{means.shape[1]}; use pair_plot, or marg_dist to pick two dimensions")
    sdwidth = real_number(sdwidth, func, "sdwidth", minimum=0.0)
    x = _data(X, 2, func)
    ax = _axes(ax)
    if x is not None:
        ax.scatter(x[:, 0], x[:, 1], **_SCATTER_STYLE)
    line_style = {"color": "k", "linewidth": 2, **style}
    for mean, cov in zip(means, covs):
        ex, ey = gmm.gauss_ellipse_2d(mean, cov, sdwidth=sdwidth)
        ax.plot(ex, ey, **line_style)
    return ax


def density_contours(center_list, cov_list, p_k, X=None, ax=None, levels=10, grid=200):
    """Contour lines of a 2-D mixture's density.

    The density ``gmm_pdf`` is evaluated on a ``grid`` x ``grid`` lattice,
    ``np.linspace(lo[d], hi[d], grid)`` in each dimension d, where lo/hi span
    the data X plus 5% of its range on each side or, without X, the means
    +- 3 standard deviations of all components.

    Parameters
    ----------
    center_list : list of K arrays of shape (2,)
    cov_list : list of K arrays of shape (2, 2)
    p_k : array_like, shape (K,)
        Mixing coefficients.
    X : array_like, shape (N, 2), optional
        Data, drawn as a scatter beneath the contours; it also sets the grid.
    ax : matplotlib.axes.Axes, optional
        Where to draw; the current Axes by default.
    levels : int or array_like
        Number of contour levels, or the density values to draw (as in
        ``Axes.contour``).
    grid : int
        Points per dimension of the evaluation grid.

    Returns
    -------
    matplotlib.axes.Axes
    """
    func = "density_contours"
    weights, means, covs = mixture_params(center_list, cov_list, p_k, func, names=_NAMES)
    if means.shape[1] != 2:
        raise ValueError(f"{func}(): contours are drawn for a 2-D mixture, this one has dimension "
                         f"{means.shape[1]}; use marg_dist to pick two dimensions")
    grid = positive_int(grid, func, "grid", minimum=2)
    x = _data(X, 2, func)
    lo, hi = _span(means, covs, x, _GRID_SD)
    g0 = np.linspace(lo[0], hi[0], grid)
    g1 = np.linspace(lo[1], hi[1], grid)
    xx, yy = np.meshgrid(g0, g1)
    density = gmm.gmm_pdf(np.column_stack((xx.ravel(), yy.ravel())), list(means), list(covs), weights)
    ax = _axes(ax)
    if x is not None:
        ax.scatter(x[:, 0], x[:, 1], **_SCATTER_STYLE)
    ax.contour(xx, yy, density.reshape(xx.shape), levels=levels)
    return ax


def conditional_density(Y, center_list, cov_list, p_k, x=None, ax=None):
    """Density of one variable given the others, ``p(y_i | y_j, j != i)``.

    The conditional mixture comes from :func:`gaussmix.gmm.cond_dist` and is
    evaluated with :func:`gaussmix.gmm.gmm_pdf`.

    Parameters
    ----------
    Y : array_like, shape (D,)
        A point with exactly one NaN: the unknown variable. The other entries
        are the values conditioned on.
    center_list : list of K arrays of shape (D,)
    cov_list : list of K arrays of shape (D, D)
    p_k : array_like, shape (K,)
        The joint mixture.
    x : array_like, shape (M,), optional
        Values of the unknown variable at which to draw the density; by
        default 400 points from the smallest conditional mean - 4 standard
        deviations to the largest + 4 (over all components).
    ax : matplotlib.axes.Axes, optional
        Where to draw; the current Axes by default.

    Returns
    -------
    matplotlib.axes.Axes
        It gains one line, labelled with the condition (for ``ax.legend()``).
    """
    func = "conditional_density"
    y = np.asarray(Y, dtype=float)
    if y.ndim != 1:
        raise ValueError(f"{func}(): Y must be one point of shape (D,), got shape {y.shape}")
    unknown = np.flatnonzero(np.isnan(y))
    if unknown.size != 1:
        raise ValueError(f"{func}(): Y must have exactly one NaN (the variable whose density is drawn), "
                         f"it has {unknown.size}")
    c_means, c_covs, c_weights = gmm.cond_dist(y, center_list, cov_list, p_k)
    if x is None:
        mu = np.array([m[0] for m in c_means])
        sd = np.sqrt([c[0, 0] for c in c_covs])
        x = np.linspace((mu - _CONDITIONAL_SD * sd).min(), (mu + _CONDITIONAL_SD * sd).max(), 400)
    else:
        x = np.asarray(x, dtype=float)
        if x.ndim != 1 or x.size < 1 or not np.isfinite(x).all():
            raise ValueError(f"{func}(): x must be a non-empty 1-D array of finite values, got shape {x.shape}")
    density = gmm.gmm_pdf(x[:, None], c_means, c_covs, c_weights)
    i = int(unknown[0])
    given = ", ".join(f"x_{{{j + 1}}}={y[j]:g}" for j in range(y.size) if j != i)
    ax = _axes(ax)
    ax.plot(x, density, label=f"$p(x_{{{i + 1}}} \\mid {given})$")
    return ax


def pair_plot(center_list, cov_list, p_k, X=None, sdwidth=1.0, fig=None):
    """Every pair of dimensions of a D-dimensional mixture, in a D x D grid.

    Off the diagonal, panel (i, j) has dimension j on its horizontal axis and
    dimension i on its vertical axis, and shows the ellipses of the 2-D
    marginal ``marg_dist([j, i], ...)`` over a scatter of ``X[:, [j, i]]``.
    Panel (i, i) shows the 1-D marginal density of dimension i (over a
    density histogram of ``X[:, i]`` when X is given).

    Parameters
    ----------
    center_list : list of K arrays of shape (D,)
    cov_list : list of K arrays of shape (D, D)
    p_k : array_like, shape (K,)
    X : array_like, shape (N, D), optional
        Data.
    sdwidth : float, default 1
        Mahalanobis radius of the ellipses, in standard deviations (as in
        :func:`ellipses`).
    fig : matplotlib.figure.Figure, optional
        Figure to draw in; by default a new one of about 2.2 x 2.2 inches per panel.

    Returns
    -------
    ndarray of matplotlib.axes.Axes, shape (D, D)
        ``axes[i, j]`` is panel (i, j); ``axes[0, 0].figure`` is the figure.
    """
    func = "pair_plot"
    weights, means, covs = mixture_params(center_list, cov_list, p_k, func, names=_NAMES)
    sdwidth = real_number(sdwidth, func, "sdwidth", minimum=0.0)
    D = means.shape[1]
    x = _data(X, D, func)
    plt = _pyplot()
    if fig is None:
        fig = plt.figure(figsize=(2.2 * D + 0.6, 2.2 * D + 0.4), layout="constrained")
    axes = fig.subplots(D, D, squeeze=False)
    lo, hi = _span(means, covs, x, _CONDITIONAL_SD)
    centers, covariances = list(means), list(covs)
    for i in range(D):
        for j in range(D):
            ax = axes[i, j]
            if i == j:
                m_means, m_covs, m_weights = gmm.marg_dist([i], centers, covariances, weights)
                t = np.linspace(lo[i], hi[i], 300)
                if x is not None:
                    ax.hist(x[:, i], bins="auto", density=True, color="0.8")
                ax.plot(t, gmm.gmm_pdf(t[:, None], m_means, m_covs, m_weights), "k", linewidth=1.5)
            else:
                m_means, m_covs, _ = gmm.marg_dist([j, i], centers, covariances, weights)
                ellipses(m_means, m_covs, None if x is None else x[:, [j, i]], sdwidth=sdwidth, ax=ax,
                         linewidth=1)
            ax.set_xlim(lo[j], hi[j])
            if i != j:
                ax.set_ylim(lo[i], hi[i])
            if i == D - 1:
                ax.set_xlabel(f"$x_{{{j + 1}}}$")
            if j == 0:
                ax.set_ylabel("density" if i == 0 else f"$x_{{{i + 1}}}$")
    return axes
