"""gaussmix.plot: the pictures show the numbers they claim to show.

Each drawn artist is checked against an independent NumPy/SciPy evaluation of
the same mixture (not against gaussmix.gmm, which the plots call).
"""
import subprocess
import sys

import numpy as np
import pytest

WEIGHTS = np.array([0.4, 0.4, 0.2])
MEANS = [np.array([0.0, 0.0]), np.array([3.0, 3.0]), np.array([0.0, 4.0])]
COVS = [np.array([[1.0, 0.4], [0.4, 1.0]]), np.diag((1.0, 2.0)), np.diag((0.4, 0.1))]

# A 3-D mixture for the conditional and pair plots.
MEANS3 = [np.array([0.0, 0.0, 0.0]), np.array([3.0, 3.0, 1.0]), np.array([0.0, 4.0, -2.0])]
COVS3 = [np.array([[1.0, 0.4, 0.2], [0.4, 1.0, 0.0], [0.2, 0.0, 0.5]]),
         np.array([[1.0, -0.3, 0.1], [-0.3, 2.0, 0.4], [0.1, 0.4, 1.0]]),
         np.diag((0.4, 0.1, 0.3))]


@pytest.fixture
def plt():
    """pyplot on the Agg backend; every figure is closed after the test."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    yield pyplot
    pyplot.close("all")


def numpy_mixture_pdf(X, weights, means, covs):
    """sum_k w_k N(x | mu_k, S_k), straight from the formula."""
    X = np.atleast_2d(X)
    total = np.zeros(X.shape[0])
    for w, mu, S in zip(weights, means, covs):
        d = X - mu
        maha = np.einsum("ni,ij,nj->n", d, np.linalg.inv(S), d)
        norm = np.sqrt((2 * np.pi) ** len(mu) * np.linalg.det(S))
        total += w * np.exp(-0.5 * maha) / norm
    return total


def mahalanobis_sq(points, mu, S):
    d = points - mu
    return np.einsum("ni,ij,nj->n", d, np.linalg.inv(S), d)


def trapezoid(p, x):
    """Trapezoid rule (np.trapz was renamed np.trapezoid in NumPy 2)."""
    return float(np.sum((p[1:] + p[:-1]) * np.diff(x)) / 2)


def sample(means, covs, weights, n, seed):
    rng = np.random.default_rng(seed)
    k = rng.choice(len(weights), size=n, p=weights)
    return np.array([rng.multivariate_normal(means[i], covs[i]) for i in k])


# ----------------------------------------------------------------- without matplotlib


def test_import_does_not_import_matplotlib():
    code = "import gaussmix.plot, sys; assert 'matplotlib' not in sys.modules, 'matplotlib was imported'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_missing_matplotlib_raises_import_error_with_install_hint():
    # A None entry in sys.modules makes `import matplotlib` raise ImportError.
    code = (
        "import sys\n"
        "sys.modules['matplotlib'] = None\n"
        "sys.modules['matplotlib.pyplot'] = None\n"
        "import numpy as np, gaussmix.plot as gp\n"
        "try:\n"
        "    gp.ellipses([np.zeros(2)], [np.eye(2)])\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
        "else:\n"
        "    raise SystemExit('no ImportError')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert 'pip install "gaussmix[plot]"' in result.stdout


# ----------------------------------------------------------------- ellipses


@pytest.mark.parametrize("sdwidth", [1.0, 2.5])
def test_ellipses_lie_on_the_mahalanobis_contour(plt, sdwidth):
    import gaussmix.plot as gp

    fig, ax = plt.subplots()
    returned = gp.ellipses(MEANS, COVS, sdwidth=sdwidth, ax=ax)
    assert returned is ax
    assert len(ax.lines) == len(MEANS)
    for line, mu, S in zip(ax.lines, MEANS, COVS):
        points = line.get_xydata()
        assert points.shape[0] > 10
        np.testing.assert_allclose(mahalanobis_sq(points, mu, S), sdwidth ** 2, rtol=1e-10)


def test_ellipses_scatter_data_and_style(plt):
    import gaussmix.plot as gp

    X = sample(MEANS, COVS, WEIGHTS, 200, seed=0)
    fig, ax = plt.subplots()
    gp.ellipses(MEANS, COVS, X, ax=ax, color="r", linewidth=0.5)
    assert len(ax.lines) == len(MEANS)
    assert all(line.get_color() == "r" and line.get_linewidth() == 0.5 for line in ax.lines)
    assert len(ax.collections) == 1
    np.testing.assert_array_equal(ax.collections[0].get_offsets(), X)


def test_ellipses_default_axes_is_current_axes(plt):
    import gaussmix.plot as gp

    fig = plt.figure()
    ax = gp.ellipses(MEANS, COVS)
    assert ax is plt.gca()
    assert ax.figure is fig


def test_ellipses_reject_non_2d_mixture(plt):
    import gaussmix.plot as gp

    with pytest.raises(ValueError, match="2-D"):
        gp.ellipses(MEANS3, COVS3)


# ----------------------------------------------------------------- density contours


def _contour_set(ax):
    from matplotlib.contour import ContourSet

    found = [c for c in ax.get_children() if isinstance(c, ContourSet)]
    if not found:  # matplotlib < 3.8 keeps the ContourSet off the Axes
        pytest.skip("this matplotlib does not put the ContourSet on the Axes")
    assert len(found) == 1
    return found[0]


def test_density_contours_match_numpy_density(plt):
    import gaussmix.plot as gp

    grid = 150
    fig, ax = plt.subplots()
    assert gp.density_contours(MEANS, COVS, WEIGHTS, ax=ax, levels=8, grid=grid) is ax
    cs = _contour_set(ax)

    # The documented grid without data: means +- 3 sd over all components.
    sd = np.sqrt(np.array([np.diag(S) for S in COVS]))
    lo = (np.array(MEANS) - 3 * sd).min(axis=0)
    hi = (np.array(MEANS) + 3 * sd).max(axis=0)
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], grid), np.linspace(lo[1], hi[1], grid))
    density = numpy_mixture_pdf(np.column_stack((xx.ravel(), yy.ravel())), WEIGHTS, MEANS, COVS)

    np.testing.assert_allclose([cs.zmin, cs.zmax], [density.min(), density.max()], rtol=1e-8)
    levels = np.asarray(cs.levels)
    assert levels[0] <= density.min() and levels[-1] >= density.max()
    assert len(levels) >= 5

    # Points on each drawn contour line have (up to the grid's linear
    # interpolation) the density of their level.
    checked = 0
    for level, segments in zip(levels, cs.allsegs):
        for seg in segments:
            if len(seg) == 0:
                continue
            np.testing.assert_allclose(numpy_mixture_pdf(seg, WEIGHTS, MEANS, COVS), level,
                                       rtol=0.02, atol=2e-4)
            checked += 1
    assert checked >= 5


def test_density_contours_grid_spans_the_data(plt):
    import gaussmix.plot as gp

    X = sample(MEANS, COVS, WEIGHTS, 300, seed=1)
    fig, ax = plt.subplots()
    gp.density_contours(MEANS, COVS, WEIGHTS, X=X, ax=ax, levels=[0.01, 0.05, 0.1], grid=60)
    cs = _contour_set(ax)
    np.testing.assert_allclose(cs.levels, [0.01, 0.05, 0.1])
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.05 * (hi - lo)
    g0, g1 = np.linspace(lo[0] - pad[0], hi[0] + pad[0], 60), np.linspace(lo[1] - pad[1], hi[1] + pad[1], 60)
    xx, yy = np.meshgrid(g0, g1)
    density = numpy_mixture_pdf(np.column_stack((xx.ravel(), yy.ravel())), WEIGHTS, MEANS, COVS)
    np.testing.assert_allclose([cs.zmin, cs.zmax], [density.min(), density.max()], rtol=1e-8)
    assert len([c for c in ax.collections if c is not cs]) == 1  # the data scatter


# ----------------------------------------------------------------- conditional density


def scipy_conditional(x_values, y, unknown, weights, means, covs):
    """p(x_unknown | rest) = p(joint) / p(rest), with scipy.stats."""
    from scipy.stats import multivariate_normal

    known = [d for d in range(len(y)) if d != unknown]
    pts = np.tile(y, (len(x_values), 1))
    pts[:, unknown] = x_values
    joint = sum(w * multivariate_normal(m, S).pdf(pts) for w, m, S in zip(weights, means, covs))
    marginal = sum(w * multivariate_normal(m[known], S[np.ix_(known, known)]).pdf(y[known])
                   for w, m, S in zip(weights, means, covs))
    return joint / marginal


@pytest.mark.parametrize("y, unknown, weights, means, covs", [
    (np.array([np.nan, -1.0]), 0, WEIGHTS, MEANS, COVS),
    (np.array([2.0, np.nan]), 1, WEIGHTS, MEANS, COVS),
    (np.array([1.0, np.nan, 0.5]), 1, WEIGHTS, MEANS3, COVS3),
])
def test_conditional_density_is_the_conditional(plt, y, unknown, weights, means, covs):
    pytest.importorskip("scipy")
    import gaussmix.plot as gp

    fig, ax = plt.subplots()
    assert gp.conditional_density(y, means, covs, weights, ax=ax) is ax
    assert len(ax.lines) == 1
    x, p = ax.lines[0].get_xdata(), ax.lines[0].get_ydata()
    # The default range (conditional means +- 4 sd) holds nearly all the mass.
    assert abs(trapezoid(p, x) - 1.0) < 1e-3
    idx = np.linspace(0, len(x) - 1, 7).astype(int)
    np.testing.assert_allclose(p[idx], scipy_conditional(x[idx], y, unknown, weights, means, covs),
                               rtol=1e-8, atol=1e-14)
    assert ax.lines[0].get_label().startswith(f"$p(x_{{{unknown + 1}}}")


def test_conditional_density_on_given_x_integrates_to_one(plt):
    import gaussmix.plot as gp

    x = np.linspace(-20.0, 20.0, 20001)
    ax = gp.conditional_density(np.array([np.nan, 3.5]), MEANS, COVS, WEIGHTS, x=x)
    assert ax is plt.gca()
    line = ax.lines[0]
    np.testing.assert_array_equal(line.get_xdata(), x)
    assert abs(trapezoid(line.get_ydata(), x) - 1.0) < 1e-6


@pytest.mark.parametrize("y", [np.array([1.0, 2.0]), np.array([np.nan, np.nan, 0.0])])
def test_conditional_density_needs_exactly_one_nan(plt, y):
    import gaussmix.plot as gp

    means, covs = (MEANS, COVS) if len(y) == 2 else (MEANS3, COVS3)
    with pytest.raises(ValueError, match="exactly one NaN"):
        gp.conditional_density(y, means, covs, WEIGHTS)


# ----------------------------------------------------------------- pair plot


def test_pair_plot_grid_of_marginals(plt):
    import gaussmix.plot as gp

    X = sample(MEANS3, COVS3, WEIGHTS, 300, seed=2)
    axes = gp.pair_plot(MEANS3, COVS3, WEIGHTS, X=X, sdwidth=1.5)
    D = 3
    assert isinstance(axes, np.ndarray) and axes.shape == (D, D)
    from matplotlib.axes import Axes

    fig = axes[0, 0].figure
    assert all(isinstance(ax, Axes) and ax.figure is fig for ax in axes.ravel())
    for i in range(D):
        for j in range(D):
            ax = axes[i, j]
            if i == j:
                # The 1-D marginal density of dimension i.
                (line,) = ax.lines
                t, p = line.get_xdata(), line.get_ydata()
                expected = numpy_mixture_pdf(t[:, None], WEIGHTS, [m[[i]] for m in MEANS3],
                                             [S[np.ix_([i], [i])] for S in COVS3])
                np.testing.assert_allclose(p, expected, rtol=1e-10)
                continue
            # Panel (i, j): dimension j across, dimension i up.
            assert len(ax.lines) == len(MEANS3)
            for line, mu, S in zip(ax.lines, MEANS3, COVS3):
                dims = [j, i]
                np.testing.assert_allclose(
                    mahalanobis_sq(line.get_xydata(), mu[dims], S[np.ix_(dims, dims)]), 1.5 ** 2, rtol=1e-10)
            np.testing.assert_array_equal(ax.collections[0].get_offsets(), X[:, [j, i]])
    fig.canvas.draw()  # lays out (constrained layout) without warnings


def test_pair_plot_into_given_figure_without_data(plt):
    import gaussmix.plot as gp

    fig = plt.figure()
    axes = gp.pair_plot(MEANS, COVS, WEIGHTS, fig=fig)
    assert axes.shape == (2, 2)
    assert all(ax.figure is fig for ax in axes.ravel())
    assert len(axes[0, 1].lines) == len(MEANS) and not axes[0, 1].collections
