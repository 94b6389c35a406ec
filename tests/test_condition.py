"""Conditioning, marginals and GMM regression: gaussmix.gmm.cond_dist,
marg_dist and predict.

Checked against tests/reference_condition.py (plain NumPy block formulas),
scipy.stats.multivariate_normal and numerical integration with scipy.
The contract is /work/shared/pypr-gmm-reference.md, Part 2.
"""

import copy

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import multivariate_normal, norm

import gaussmix.gmm as gmm
import reference_condition as ref

RTOL = 1e-10
ATOL = 1e-12


def _assert_lists_close(got, want, rtol=RTOL, atol=ATOL):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        g = np.asarray(g)
        assert g.shape == np.shape(w)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


def _deep_equal(a, b):
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_deep_equal(x, y) for x, y in zip(a, b))
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)


# ----------------------------------------------------------------------------- cond_dist

_COND_CASES = [(D, K) for D in range(2, 7) for K in range(1, 5)]


@pytest.mark.parametrize("D,K", _COND_CASES)
def test_cond_dist_matches_block_formulas(D, K):
    rng = np.random.default_rng(1000 * D + K)
    centers, covs, w = ref.random_mixture(rng, K, D)
    for _ in range(4):
        y = ref.sample_mixture(rng, centers, covs, w, 1)[0]
        n_unknown = rng.integers(1, D)  # at least one known and one unknown
        unknown = np.sort(rng.choice(D, size=n_unknown, replace=False))
        y[unknown] = np.nan

        got_m, got_c, got_w = gmm.cond_dist(y, centers, covs, w)
        want_m, want_c, want_w = ref.mixture_conditional(y, centers, covs, w)

        assert isinstance(got_m, list) and isinstance(got_c, list)
        assert len(got_m) == len(got_c) == K
        for m, c in zip(got_m, got_c):
            assert np.shape(m) == (n_unknown,)
            assert np.shape(c) == (n_unknown, n_unknown)
        assert isinstance(got_w, np.ndarray) and got_w.shape == (K,)
        _assert_lists_close(got_m, want_m)
        _assert_lists_close(got_c, want_c)
        np.testing.assert_allclose(got_w, want_w, rtol=RTOL, atol=1e-300)
        assert got_w.sum() == pytest.approx(1.0, abs=1e-12)

        # The same conditional through the precision matrix (Part 1's form).
        A, B = ref.split_indices(y)
        for k in range(K):
            pm, pc = ref.gauss_conditional_precision(centers[k], covs[k], A, B, y[B])
            np.testing.assert_allclose(got_m[k], pm, rtol=1e-9, atol=1e-10)
            np.testing.assert_allclose(got_c[k], pc, rtol=1e-9, atol=1e-10)


def test_cond_dist_result_follows_nan_positions():
    """Unknown entries are scattered (0, 2, 4): the result's variables are in
    that order; reordering the unknowns is detected through distinct variances."""
    rng = np.random.default_rng(7)
    D = 5
    centers, covs, w = ref.random_mixture(rng, 2, D)
    # Make each variable's scale distinct so any permutation would show.
    scale = np.diag([1.0, 2.0, 4.0, 8.0, 16.0])
    covs = [scale @ S @ scale for S in covs]
    centers = [scale @ c for c in centers]
    y = np.array([np.nan, 1.5, np.nan, -3.0, np.nan])
    got_m, got_c, got_w = gmm.cond_dist(y, centers, covs, w)
    A = [0, 2, 4]
    B = [1, 3]
    for k in range(2):
        want_m, want_c = ref.gauss_conditional(centers[k], covs[k], A, B, y[B])
        np.testing.assert_allclose(got_m[k], want_m, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(got_c[k], want_c, rtol=RTOL, atol=ATOL)
        # Explicitly: diagonal grows with the variable's scale, in NaN order.
        assert np.all(np.diff(np.diag(got_c[k])) > 0)


def test_cond_dist_accepts_one_row_matrix():
    rng = np.random.default_rng(3)
    centers, covs, w = ref.random_mixture(rng, 3, 4)
    y = np.array([0.3, np.nan, -1.0, np.nan])
    got_1d = gmm.cond_dist(y, centers, covs, w)
    got_2d = gmm.cond_dist(y.reshape(1, -1), centers, covs, w)
    want = ref.mixture_conditional(y, centers, covs, w)
    for got in (got_1d, got_2d):
        _assert_lists_close(got[0], want[0])
        _assert_lists_close(got[1], want[1])
        np.testing.assert_allclose(got[2], want[2], rtol=RTOL)


def test_cond_dist_all_nan_returns_the_mixture():
    rng = np.random.default_rng(4)
    centers, covs, w = ref.random_mixture(rng, 3, 3)
    got_m, got_c, got_w = gmm.cond_dist(np.full(3, np.nan), centers, covs, w)
    _assert_lists_close(got_m, centers, rtol=1e-14, atol=0)
    _assert_lists_close(got_c, covs, rtol=1e-14, atol=0)
    np.testing.assert_allclose(got_w, w, rtol=1e-14)


def test_cond_dist_does_not_modify_arguments():
    rng = np.random.default_rng(5)
    centers, covs, w = ref.random_mixture(rng, 3, 4)
    y = np.array([np.nan, 0.2, np.nan, 1.0])
    before = copy.deepcopy((y, centers, covs, w))
    gmm.cond_dist(y, centers, covs, w)
    assert _deep_equal(before, (y, centers, covs, w))


def _mixture_2d():
    centers = [np.array([0.0, 0.0]), np.array([3.0, 3.0]), np.array([0.0, 4.0])]
    covs = [np.array([[1.0, 0.4], [0.4, 1.0]]), np.diag([1.0, 2.0]), np.array([[0.4, -0.05], [-0.05, 0.1]])]
    w = np.array([0.4, 0.4, 0.2])
    return centers, covs, w


def _joint_pdf(points, centers, covs, w):
    """Mixture density with scipy.stats.multivariate_normal."""
    return sum(wk * multivariate_normal(mk, Sk).pdf(points) for mk, Sk, wk in zip(centers, covs, w))


def _joint_pdf_scalar(centers, covs, w):
    """The same density as a fast function of one point, for scipy quad
    (frozen scipy distributions, built once)."""
    frozen = [(wk, multivariate_normal(mk, Sk)) for mk, Sk, wk in zip(centers, covs, w)]
    return lambda p: sum(wk * dist.pdf(p) for wk, dist in frozen)


@pytest.mark.parametrize("known", [0, 1])
@pytest.mark.parametrize("y", [-1.0, 0.7, 3.5])
def test_cond_dist_2d_density_by_integration(known, y):
    """p(x_free | x_known = y) from cond_dist integrates to 1 over a wide grid
    and equals joint(x, y) / marginal(y), the marginal found by scipy quad."""
    centers, covs, w = _mixture_2d()
    free = 1 - known
    Y = np.full(2, np.nan)
    Y[known] = y
    cm, cc, cw = gmm.cond_dist(Y, centers, covs, w)

    grid = np.linspace(-30.0, 30.0, 60001)
    cond = gmm.gmm_pdf(grid[:, None], cm, cc, cw)
    assert cond.shape == grid.shape
    assert integrate.trapezoid(cond, grid) == pytest.approx(1.0, abs=1e-6)

    def joint_at(x):
        p = np.empty((np.size(x), 2))
        p[:, free] = x
        p[:, known] = y
        return np.atleast_1d(_joint_pdf(p, centers, covs, w))

    joint = _joint_pdf_scalar(centers, covs, w)
    point = np.empty(2)
    point[known] = y

    def integrand(x):
        point[free] = x
        return joint(point)

    marginal, _ = integrate.quad(integrand, -np.inf, np.inf, epsabs=0, epsrel=1e-12)
    # The quad marginal agrees with the closed-form marginal of x_known.
    closed = sum(wk * norm(mk[known], np.sqrt(Sk[known, known])).pdf(y) for mk, Sk, wk in zip(centers, covs, w))
    assert marginal == pytest.approx(closed, rel=1e-9)

    sub = grid[::20]
    np.testing.assert_allclose(gmm.gmm_pdf(sub[:, None], cm, cc, cw), joint_at(sub) / marginal,
                               rtol=1e-8, atol=1e-300)


# ----------------------------------------------------------------------------- marg_dist

@pytest.mark.parametrize("idx", [[0], [4], [1, 3], [3, 1], [4, 0, 2], [0, 1, 2, 3, 4], [4, 3, 2, 1, 0]])
def test_marg_dist_is_indexing(idx):
    rng = np.random.default_rng(11)
    centers, covs, w = ref.random_mixture(rng, 3, 5)
    before = copy.deepcopy((centers, covs, w))
    got_m, got_c, got_w = gmm.marg_dist(idx, centers, covs, w)
    assert _deep_equal(before, (centers, covs, w))
    assert len(got_m) == len(got_c) == 3
    _assert_lists_close(got_m, [c[idx] for c in centers], rtol=1e-15, atol=0)
    _assert_lists_close(got_c, [S[np.ix_(idx, idx)] for S in covs], rtol=1e-15, atol=0)
    np.testing.assert_allclose(got_w, w, rtol=1e-15)


@pytest.mark.parametrize("keep", [0, 1])
def test_marg_dist_2d_density_by_integration(keep):
    centers, covs, w = _mixture_2d()
    cm, cc, cw = gmm.marg_dist([keep], centers, covs, w)
    joint = _joint_pdf_scalar(centers, covs, w)
    for x in (-2.0, 0.0, 1.3, 4.0):
        def integrand(t):
            p = np.empty(2)
            p[keep] = x
            p[1 - keep] = t
            return joint(p)

        want, _ = integrate.quad(integrand, -np.inf, np.inf, epsabs=0, epsrel=1e-12)
        got = gmm.gmm_pdf(np.array([[x]]), cm, cc, cw)[0]
        assert got == pytest.approx(want, rel=1e-9)


# ----------------------------------------------------------------------------- predict

def _predict_problem(seed=21, N=200, D=5, K=3):
    rng = np.random.default_rng(seed)
    centers, covs, w = ref.random_mixture(rng, K, D)
    X = ref.sample_mixture(rng, centers, covs, w, N)
    mask = rng.random((N, D)) < 0.4
    mask[:8] = False  # complete rows
    mask[8:14] = True  # all-NaN rows
    mask = mask[rng.permutation(N)]
    X[mask] = np.nan
    return centers, covs, w, X, mask


def _predict_reference(X, centers, covs, w):
    filled = np.empty_like(X, dtype=np.float64)
    cond_covs = []
    for i, row in enumerate(X):
        filled[i], C = ref.predict_row(row, centers, covs, w)
        cond_covs.append(C)
    return filled, cond_covs


def test_predict_mixed_patterns_against_row_loop():
    centers, covs, w, X, mask = _predict_problem()
    original = X.copy()
    args_before = copy.deepcopy((centers, covs, w))
    want_X, want_C = _predict_reference(original, centers, covs, w)

    got_C = gmm.predict(X, centers, covs, w)

    assert _deep_equal(args_before, (centers, covs, w))
    assert not np.isnan(X).any()
    # Known entries are untouched, bit for bit; complete rows are unchanged.
    np.testing.assert_array_equal(X[~mask], original[~mask])
    complete = ~mask.any(axis=1)
    assert complete.sum() >= 8
    np.testing.assert_array_equal(X[complete], original[complete])
    np.testing.assert_allclose(X, want_X, rtol=RTOL, atol=1e-11)

    assert isinstance(got_C, list) and len(got_C) == X.shape[0]
    for i, (g, c) in enumerate(zip(got_C, want_C)):
        g = np.asarray(g)
        assert g.shape == (mask[i].sum(), mask[i].sum()), f"row {i}"
        np.testing.assert_allclose(g, c, rtol=1e-9, atol=1e-11, err_msg=f"row {i}")


def test_predict_single_missing_value_variance():
    """With one unknown, the variance is the 1-D law of total variance
    sum_k w'_k (s_k^2 + mu_k^2) - m^2."""
    rng = np.random.default_rng(22)
    D, K = 4, 3
    centers, covs, w = ref.random_mixture(rng, K, D)
    X = ref.sample_mixture(rng, centers, covs, w, 40)
    cols = np.arange(40) % D
    X[np.arange(40), cols] = np.nan
    original = X.copy()
    got_C = gmm.predict(X, centers, covs, w)
    for i in range(40):
        cm, cc, cw = ref.mixture_conditional(original[i], centers, covs, w)
        mu = np.array([m[0] for m in cm])
        s2 = np.array([c[0, 0] for c in cc])
        m = np.sum(cw * mu)
        var = np.sum(cw * (s2 + mu ** 2)) - m ** 2
        assert X[i, cols[i]] == pytest.approx(m, rel=RTOL, abs=1e-12)
        assert np.shape(got_C[i]) == (1, 1)
        assert got_C[i][0, 0] == pytest.approx(var, rel=1e-9, abs=1e-11)
        assert got_C[i][0, 0] > 0


def test_predict_all_nan_row_gets_mixture_moments():
    rng = np.random.default_rng(23)
    D, K = 3, 4
    centers, covs, w = ref.random_mixture(rng, K, D)
    X = np.full((2, D), np.nan)
    X[1] = [0.5, -0.25, 1.0]
    got_C = gmm.predict(X, centers, covs, w)
    m = sum(wk * ck for wk, ck in zip(w, centers))
    C = sum(wk * (Sk + np.outer(ck, ck)) for wk, ck, Sk in zip(w, centers, covs)) - np.outer(m, m)
    np.testing.assert_allclose(X[0], m, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(got_C[0], C, rtol=1e-9, atol=1e-11)
    np.testing.assert_array_equal(X[1], [0.5, -0.25, 1.0])
    assert np.shape(got_C[1]) == (0, 0)


@pytest.mark.parametrize("y", [-1.0, 0.7, 3.5])
def test_predict_2d_moments_by_integration(y):
    """E[x1 | x2 = y] and Var[x1 | x2 = y] from numerical integration of the
    joint density (scipy), compared with predict's fill and covariance."""
    centers, covs, w = _mixture_2d()
    grid = np.linspace(-30.0, 30.0, 60001)
    joint = _joint_pdf(np.column_stack([grid, np.full_like(grid, y)]), centers, covs, w)
    z = integrate.trapezoid(joint, grid)
    mean = integrate.trapezoid(grid * joint, grid) / z
    var = integrate.trapezoid((grid - mean) ** 2 * joint, grid) / z
    X = np.array([[np.nan, y]])
    C = gmm.predict(X, centers, covs, w)
    assert X[0, 0] == pytest.approx(mean, rel=1e-7, abs=1e-8)
    assert X[0, 1] == y
    assert C[0][0, 0] == pytest.approx(var, rel=1e-7)


def test_predict_float32_in_place():
    centers, covs, w, X, mask = _predict_problem(seed=24, N=60)
    X32 = X.astype(np.float32)
    original = X32.copy()
    want_X, want_C = _predict_reference(original.astype(np.float64), centers, covs, w)
    got_C = gmm.predict(X32, centers, covs, w)
    assert X32.dtype == np.float32
    assert not np.isnan(X32).any()
    np.testing.assert_array_equal(X32[~mask], original[~mask])
    np.testing.assert_allclose(X32, want_X, rtol=2e-6, atol=1e-6)
    assert len(got_C) == X32.shape[0]
    for g, c in zip(got_C, want_C):
        assert np.shape(g) == c.shape
        np.testing.assert_allclose(g, c, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("layout", ["strided_columns", "strided_rows", "fortran"])
def test_predict_non_contiguous_in_place(layout):
    centers, covs, w, X, mask = _predict_problem(seed=25, N=50)
    want_X, want_C = _predict_reference(X, centers, covs, w)
    N, D = X.shape
    if layout == "strided_columns":
        base = np.full((N, 2 * D), -7.0)
        view = base[:, ::2]
    elif layout == "strided_rows":
        base = np.full((2 * N, D), -7.0)
        view = base[::2]
    else:
        base = np.asfortranarray(np.empty((N, D)))
        view = base
    view[...] = X
    assert not view.flags.c_contiguous
    got_C = gmm.predict(view, centers, covs, w)
    np.testing.assert_allclose(view, want_X, rtol=RTOL, atol=1e-11)
    if layout == "strided_columns":
        np.testing.assert_array_equal(base[:, 1::2], -7.0)
    elif layout == "strided_rows":
        np.testing.assert_array_equal(base[1::2], -7.0)
    for g, c in zip(got_C, want_C):
        np.testing.assert_allclose(g, c, rtol=1e-9, atol=1e-11)


# ----------------------------------------------------------------------------- bad input

def _small_mixture():
    rng = np.random.default_rng(31)
    return ref.random_mixture(rng, 2, 3)


def test_cond_dist_without_nan_raises():
    centers, covs, w = _small_mixture()
    with pytest.raises(ValueError, match=r"\bY\b"):
        gmm.cond_dist(np.array([0.1, 0.2, 0.3]), centers, covs, w)


@pytest.mark.parametrize("Y", [np.array([np.nan, 0.2]), np.array([np.nan, 0.2, 0.3, 0.4]),
                               np.full((2, 3), np.nan)])
def test_cond_dist_wrong_length_raises(Y):
    centers, covs, w = _small_mixture()
    with pytest.raises(ValueError, match=r"\bY\b"):
        gmm.cond_dist(Y, centers, covs, w)


@pytest.mark.parametrize("idx", [[3], [0, 5], [-1], [0, 2, 0], []])
def test_marg_dist_bad_index_raises(idx):
    centers, covs, w = _small_mixture()
    with pytest.raises(ValueError, match="X_idx"):
        gmm.marg_dist(idx, centers, covs, w)


def _bad_mixtures():
    """(centroids, ccov, mc, name the error must mention) for a 3-D, K=2 mixture."""
    centers, covs, w = _small_mixture()
    asym = covs[1].copy()
    asym[0, 1] += 0.5
    return [
        (centers, covs, np.array([0.5, 0.6]), "mc"),
        (centers, covs, np.array([0.5, 0.3, 0.2]), "mc"),
        (centers, covs, np.array([1.5, -0.5]), "mc"),
        (centers, covs[:1], w, "ccov"),
        (centers, [covs[0], asym], w, "ccov"),
        (centers, [covs[0], np.eye(2)], w, "ccov"),
        (centers, [covs[0], np.full((3, 3), np.nan)], w, "ccov"),
        ([centers[0], centers[1][:2]], covs, w, "centroids"),
        ([centers[0], np.array([np.inf, 0.0, 0.0])], covs, w, "centroids"),
    ]


@pytest.mark.parametrize("case", range(9))
def test_bad_mixture_names_argument(case):
    centers, covs, w, name = _bad_mixtures()[case]
    with pytest.raises(ValueError, match=name):
        gmm.cond_dist(np.array([np.nan, 0.1, 0.2]), centers, covs, w)
    with pytest.raises(ValueError, match=name):
        gmm.marg_dist([0, 2], centers, covs, w)
    X = np.array([[np.nan, 0.1, 0.2], [1.0, np.nan, np.nan]])
    before = X.copy()
    with pytest.raises(ValueError, match=name):
        gmm.predict(X, centers, covs, w)
    np.testing.assert_array_equal(X, before)


@pytest.mark.parametrize("X", [[[np.nan, 0.1, 0.2]], np.array([[1, 2, 3]]),
                               np.array([[1, 2, 3]], dtype=np.int32)])
def test_predict_non_float_array_is_type_error(X):
    centers, covs, w = _small_mixture()
    before = copy.deepcopy(X)
    with pytest.raises(TypeError, match=r"\bX\b"):
        gmm.predict(X, centers, covs, w)
    assert _deep_equal(before, X)


@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_predict_inf_raises_and_leaves_X(bad):
    centers, covs, w = _small_mixture()
    X = np.array([[np.nan, 0.1, 0.2], [1.0, bad, np.nan], [np.nan, np.nan, 0.0]])
    before = X.copy()
    with pytest.raises(ValueError, match=r"\bX\b"):
        gmm.predict(X, centers, covs, w)
    np.testing.assert_array_equal(X, before)


def test_predict_read_only_raises():
    centers, covs, w = _small_mixture()
    X = np.array([[np.nan, 0.1, 0.2]])
    X.setflags(write=False)
    with pytest.raises(ValueError, match=r"\bX\b"):
        gmm.predict(X, centers, covs, w)
    assert np.isnan(X[0, 0])


def test_predict_dimension_mismatch_raises_and_leaves_X():
    centers, covs, w = _small_mixture()
    X = np.array([[np.nan, 0.1, 0.2, 0.3]])
    before = X.copy()
    with pytest.raises(ValueError):
        gmm.predict(X, centers, covs, w)
    np.testing.assert_array_equal(X, before)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_predict_singular_covariance_raises_and_leaves_X(dtype):
    """A covariance whose observed block (x0, x1) is singular: [[1, 1], [1, 1]].
    A singular covariance is rejected (ValueError naming ccov) and no row of X,
    not even one processed before the bad pattern, is modified."""
    good = np.eye(3)
    singular = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    centers = [np.zeros(3), np.ones(3)]
    X = np.array([[np.nan, np.nan, 0.0]] * 20 + [[0.5, 0.5, np.nan]] * 20 + [[np.nan, 0.2, 0.1]] * 20,
                 dtype=dtype)
    before = X.copy()
    with pytest.raises(ValueError, match="ccov"):
        gmm.predict(X, centers, [good, singular], np.array([0.5, 0.5]))
    np.testing.assert_array_equal(X, before)
    with pytest.raises(ValueError, match="ccov"):
        gmm.cond_dist(np.array([0.5, 0.5, np.nan]), centers, [good, singular], np.array([0.5, 0.5]))
