"""Degenerate and extreme data in the fitting functions: constant columns,
transposed X, and data scales far from 1.

References are plain NumPy: sample means and covariances (K = 1 EM converges
to them in one step), np.var with the documented floor, and exact rescaling
by powers of two."""

import warnings

import numpy as np
import pytest

import gaussmix.gmm as gmm

FLOOR = 1e-12  # documented: column variances floored at 1e-12 * the largest


def _with_constant_column(n=300, seed=5, where=2):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3)) * np.array([1.0, 3.0, 1.0])
    X[:, where] = 7.25
    return X


def _floored_var(X):
    v = np.var(X, axis=0)
    return np.maximum(v, FLOOR * v.max())


# ---------------------------------------------------------------- constant columns
@pytest.mark.parametrize("fit", ["em", "gmm_em_continue"])
def test_constant_column_fits_with_default_diag_add(fit):
    """With K = 1 EM's fixed point is the sample mean and the sample
    covariance plus diag_add * floored variances; a constant column no longer
    makes the fit fail."""
    X = _with_constant_column()
    np.random.seed(0)
    if fit == "em":
        c, S, p, _ = gmm.em(X, 1, max_iter=5)
    else:
        c, S, p, _ = gmm.gmm_em_continue(X, [X[0].copy()], [np.eye(3)], np.ones(1), max_iter=5)
    want = np.cov(X.T, bias=True) + np.diag(1e-3 * _floored_var(X))
    np.testing.assert_allclose(c[0], X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(S[0], want, rtol=1e-9, atol=1e-12 * np.abs(want).max())
    # the constant column's variance is exactly the floored regulariser
    np.testing.assert_allclose(S[0][2, 2], 1e-3 * FLOOR * np.var(X, axis=0).max(), rtol=1e-9)


def test_constant_column_em_with_several_components():
    """K = 3 with a constant column fits with the default diag_add: every
    component's mean in that column is the constant."""
    X = _with_constant_column()
    np.random.seed(1)
    c, S, p, logL = gmm.em(X, 3, max_iter=30)
    assert np.isfinite(logL)
    for k in range(3):
        assert c[k][2] == pytest.approx(7.25, rel=1e-12)
        assert np.all(np.linalg.eigvalsh(S[k]) > 0)


def test_gmm_init_var_covariance_is_floored():
    """cov_init='var': diag(var) / 1e10 with var floored at 1e-12 * max var."""
    X = _with_constant_column()
    np.random.seed(2)
    _, covs, _ = gmm.gmm_init(X, 2, cov_init="var")
    for S in covs:
        np.testing.assert_allclose(S, np.diag(_floored_var(X)) / 1e10, rtol=1e-12)
        assert S[2, 2] > 0


@pytest.mark.parametrize("call", [
    lambda X: gmm.em(X, 1),
    lambda X: gmm.gmm_em_continue(X, [np.zeros(2)], [np.eye(2)], np.ones(1)),
    lambda X: gmm.gmm_init(X, 1),
], ids=["em", "gmm_em_continue", "gmm_init"])
def test_all_columns_constant_is_a_value_error(call):
    X = np.tile([1.0, -2.0], (20, 1))
    with pytest.raises(ValueError, match=r"^(em|gmm_em_continue|gmm_init)\(\): every column of X is constant"):
        call(X)


def test_gmm_init_iso_accepts_all_constant_columns():
    """cov_init='iso' needs no variance: eye(D) / 1e10 as documented."""
    X = np.tile([1.0, -2.0], (20, 1))
    np.random.seed(0)
    centres, covs, p = gmm.gmm_init(X, 2, cov_init="iso")
    np.testing.assert_array_equal(centres[0], [1.0, -2.0])
    np.testing.assert_allclose(covs[1], np.eye(2) / 1e10, rtol=0)


def test_em_cov_problem_names_constant_column_when_diag_add_is_zero():
    """With diag_add = 0 a constant column's variance collapses to 0; the
    final Cov_problem names the column and the remedy."""
    X = _with_constant_column(where=2)
    np.random.seed(3)
    with pytest.raises(gmm.Cov_problem) as info:
        gmm.em(X, 2, max_iter=5, max_tries=2, diag_add=0.0)
    msg = str(info.value)
    assert msg.startswith("em(): all 2 tries ended with a covariance that is not positive definite")
    assert "column(s) 2 of X are constant" in msg and "diag_add > 0 regularises them" in msg


def test_em_continue_cov_problem_names_constant_columns():
    X = _with_constant_column(where=0)
    X[:, 2] = -1.0
    start = ([X[0].copy()], [np.eye(3)], np.ones(1))
    with pytest.raises(gmm.Cov_problem, match=r"column\(s\) 0, 2 of X are constant.*diag_add > 0"):
        gmm.gmm_em_continue(X, *start, max_iter=5, diag_add=0.0)


def test_cov_problem_without_constant_columns_is_unchanged():
    """A singular start with varying columns: no note about constant columns."""
    X = np.random.default_rng(0).standard_normal((50, 2))
    with pytest.raises(gmm.Cov_problem) as info:
        gmm.gmm_em_continue(X, [np.zeros(2)], [np.zeros((2, 2))], np.ones(1), diag_add=0.0)
    assert "constant" not in str(info.value)


# ---------------------------------------------------------------- transposed X
def _transposed():
    return np.random.default_rng(4).standard_normal((200, 2)).T  # 2 rows, 200 columns


@pytest.mark.parametrize("call", [
    lambda X: gmm.em(X, 1, max_iter=2),
    lambda X: gmm.em_gm(X, 1, max_iter=2),
    lambda X: gmm.gmm_em_continue(X, [X[0].copy()], [np.eye(X.shape[1])], np.ones(1), max_iter=2),
    lambda X: gmm.gmm_init(X, 2),
], ids=["em", "em_gm", "gmm_em_continue", "gmm_init"])
def test_fewer_rows_than_columns_warns_once(call):
    """Rows are samples: 2 rows x 200 columns is almost surely X.T."""
    np.random.seed(0)
    with pytest.warns(UserWarning, match=r"X has 2 rows and 200 columns; rows are samples.*pass X\.T") as rec:
        call(_transposed())
    assert len(rec) == 1


def test_em_warns_once_over_several_tries():
    """em tries gmm_init up to max_tries times; the warning comes once per call."""
    X = np.column_stack([np.arange(3.0), np.ones(3), np.arange(3.0) ** 2, [1.0, 5.0, 2.0]])
    np.random.seed(0)
    with pytest.warns(UserWarning, match="rows are samples") as rec:
        with pytest.raises(gmm.Cov_problem):
            gmm.em(X, 1, max_iter=3, max_tries=3, diag_add=0.0)
    assert len(rec) == 1


def test_no_warning_when_rows_are_at_least_columns():
    X = np.random.default_rng(1).standard_normal((4, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gmm.gmm_em_continue(X, [np.zeros(4)], [np.eye(4)], np.ones(1), max_iter=2)


# ---------------------------------------------------------------- scales
def _blobs(seed=11, n=300):
    rng = np.random.default_rng(seed)
    return np.vstack([rng.standard_normal((n // 2, 2)) + [-3.0, 1.0],
                      rng.standard_normal((n // 2, 2)) * [0.5, 2.0] + [3.0, -1.0]])


def _start(X):
    return ([X[0].copy(), X[-1].copy()], [np.eye(2), np.eye(2)], np.array([0.5, 0.5]))


SCALES = [-300, -40, 0, 40, 300]  # spreads of 2**k, inside [2**-460, 2**460]


@pytest.mark.parametrize("k", SCALES)
def test_em_continue_is_scale_equivariant(k):
    """EM on X * 2**k from starting parameters scaled the same way gives the
    scaled parameters: means * 2**k, covariances * 4**k, same weights."""
    X = _blobs()
    c0, S0, p0 = _start(X)
    s = 2.0**k
    want = gmm.gmm_em_continue(X, c0, S0, p0, max_iter=30, delta_stop=0.0)
    got = gmm.gmm_em_continue(X * s, [c * s for c in c0], [S * s * s for S in S0], p0,
                              max_iter=30, delta_stop=0.0)
    for k_ in range(2):
        np.testing.assert_allclose(got[0][k_], want[0][k_] * s, rtol=1e-10)
        np.testing.assert_allclose(got[1][k_], want[1][k_] * s * s, rtol=1e-10)
    np.testing.assert_allclose(got[2], want[2], rtol=1e-10)
    # log-likelihood shifts by -N D log(2**k) (the density's Jacobian)
    np.testing.assert_allclose(got[3], want[3] - X.size * k * np.log(2.0), rtol=1e-10)


@pytest.mark.parametrize("k", SCALES)
@pytest.mark.parametrize("cluster_init", ["sample", "kmeans"])
def test_em_is_scale_equivariant(k, cluster_init):
    """em draws the same initialisation from the same seed at any power-of-two
    scale (gmm_init's variances are computed scale-safely), so the fit scales."""
    X = _blobs()
    s = 2.0**k
    np.random.seed(7)
    want = gmm.em(X, 2, max_iter=30, init_kw={"cluster_init": cluster_init})
    np.random.seed(7)
    got = gmm.em(X * s, 2, max_iter=30, init_kw={"cluster_init": cluster_init})
    for k_ in range(2):
        np.testing.assert_allclose(got[0][k_], want[0][k_] * s, rtol=1e-10)
        np.testing.assert_allclose(got[1][k_], want[1][k_] * s * s, rtol=1e-10)
    np.testing.assert_allclose(got[2], want[2], rtol=1e-10)


@pytest.mark.parametrize("scale", [1e-100, 1e100])
def test_em_fits_data_at_extreme_decimal_scales(scale):
    """Data at 1e-100 and 1e100 fits, and agrees with the fit of the unscaled
    data scaled back (the only difference is rounding X * scale)."""
    X = _blobs()
    c0, S0, p0 = _start(X)
    want = gmm.gmm_em_continue(X, c0, S0, p0, max_iter=30, delta_stop=0.0)
    got = gmm.gmm_em_continue(X * scale, [c * scale for c in c0], [S * scale**2 for S in S0], p0,
                              max_iter=30, delta_stop=0.0)
    for k_ in range(2):
        np.testing.assert_allclose(got[0][k_], want[0][k_] * scale, rtol=1e-8)
        np.testing.assert_allclose(got[1][k_], want[1][k_] * scale**2, rtol=1e-8)


def test_offset_data_gives_shifted_means_same_covariances():
    """X + 1e6: means shift by 1e6, covariances and weights are unchanged
    (to the precision the offset leaves in X)."""
    X = _blobs()
    c0, S0, p0 = _start(X)
    off = 1e6
    want = gmm.gmm_em_continue(X, c0, S0, p0, max_iter=30, delta_stop=0.0)
    got = gmm.gmm_em_continue(X + off, [c + off for c in c0], S0, p0, max_iter=30, delta_stop=0.0)
    for k_ in range(2):
        np.testing.assert_allclose(got[0][k_], want[0][k_] + off, rtol=1e-12)
        np.testing.assert_allclose(got[1][k_], want[1][k_], rtol=1e-7)
    np.testing.assert_allclose(got[2], want[2], rtol=1e-7)


@pytest.mark.parametrize("k", [470, -470, 1000, -1060])
@pytest.mark.parametrize("fit", ["em", "gmm_em_continue", "gmm_init"])
def test_spread_outside_band_names_column_and_remedy(fit, k):
    """A column whose spread is outside [2**-460, 2**460] is refused with its
    index, its spread and how to rescale (other columns are ordinary)."""
    X = _blobs()
    X[:, 1] *= 2.0**k
    spread = np.std(X[:, 1] / 2.0**k) * 2.0**k
    call = {"em": lambda: gmm.em(X, 2),
            "gmm_em_continue": lambda: gmm.gmm_em_continue(X, *_start(X)),
            "gmm_init": lambda: gmm.gmm_init(X, 2)}[fit]
    with pytest.raises(ValueError) as info:
        call()
    msg = str(info.value)
    assert msg.startswith(f"{fit}(): column 1 of X has spread (standard deviation) {spread:.3g}, "
                          "outside [2**-460, 2**460]")
    assert msg.endswith("rescale X, e.g. X * 2.0**k, and scale the fit back: "
                        "means / 2**k, covariances / 4**k")



def test_diag_add_beyond_float64_is_a_value_error():
    # diag_add is relative to var(X): 1e300 x 1e10 has no float64 value (fuzz finding).
    X = np.random.default_rng(0).normal(0.0, 1e5, (50, 2))
    with pytest.raises(ValueError, match=r"gmm_em_continue\(\): diag_add=1e\+300 times the variance"):
        gmm.gmm_em_continue(X, [np.zeros(2)], [np.eye(2) * 1e10], np.ones(1), max_iter=1, diag_add=1e300)
