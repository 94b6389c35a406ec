"""float32 input outside float32's safe range runs in float64; ordinary
float32 input keeps float32 kernels.

References: SciPy's multivariate_normal on X converted to float64, and the
float64 fit of the same (float32-rounded) data."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal

import gaussmix.gmm as gmm
import gaussmix.kmeans as km
from gaussmix import _validation


def _blobs32(scale, seed=3, n=600):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.standard_normal((n // 2, 2)) + [-3.0, 1.0],
                   rng.standard_normal((n // 2, 2)) * [0.5, 2.0] + [3.0, -1.0]])
    return (X * scale).astype(np.float32)


def test_em_float32_at_1e18_fits_like_float64():
    """float32 squares of 1e18 summed over a row block overflow float32; the
    fit runs on a float64 copy and matches the float64 fit of the same data."""
    X32 = _blobs32(1e18)
    np.random.seed(4)
    got = gmm.em(X32, 2, max_iter=40)
    np.random.seed(4)
    want = gmm.em(X32.astype(np.float64), 2, max_iter=40)
    for k in range(2):
        np.testing.assert_allclose(got[0][k], want[0][k], rtol=1e-5)
        np.testing.assert_allclose(got[1][k], want[1][k], rtol=1e-5)
    np.testing.assert_allclose(got[2], want[2], rtol=1e-5)
    np.testing.assert_allclose(got[3], want[3], rtol=1e-5)


def test_em_continue_float32_at_1e18_fits_like_float64():
    X32 = _blobs32(1e18)
    start = ([np.array([-3e18, 1e18]), np.array([3e18, -1e18])], [np.eye(2) * 1e36] * 2, np.array([0.5, 0.5]))
    got = gmm.gmm_em_continue(X32, *start, max_iter=30)
    want = gmm.gmm_em_continue(X32.astype(np.float64), *start, max_iter=30)
    for k in range(2):
        np.testing.assert_allclose(got[0][k], want[0][k], rtol=1e-5)
        np.testing.assert_allclose(got[1][k], want[1][k], rtol=1e-5)


@pytest.mark.parametrize("cov_scale", [1e-60, 1e60])
def test_float32_scoring_with_extreme_covariances_matches_scipy(cov_scale):
    """Covariances of 1e-60 or 1e60 are outside float32's range: the scores
    are computed in float64 and match SciPy on X converted to float64 (no -inf)."""
    rng = np.random.default_rng(5)
    s = np.sqrt(cov_scale)
    means = [np.array([0.5, -0.2]) * s, np.array([-1.0, 1.0]) * s]
    covs = [np.array([[1.0, 0.3], [0.3, 0.8]]) * cov_scale, np.eye(2) * 2.0 * cov_scale]
    w = np.array([0.4, 0.6])
    X32 = (rng.standard_normal((50, 2)) * s).astype(np.float32)
    X64 = X32.astype(np.float64)
    comp = np.column_stack([np.log(w[k]) + multivariate_normal(means[k], covs[k]).logpdf(X64) for k in range(2)])
    want_log = np.logaddexp(comp[:, 0], comp[:, 1])
    np.testing.assert_allclose(gmm.logmulnormpdf(X32, means[0], covs[0]),
                               multivariate_normal(means[0], covs[0]).logpdf(X64), rtol=1e-10)
    np.testing.assert_allclose(np.log(gmm.gmm_pdf(X32, means, covs, w)), want_log, rtol=1e-10)
    np.testing.assert_allclose(gmm.gm_log_likelihood(X32, means, covs, w), want_log.sum(), rtol=1e-10)
    np.testing.assert_array_equal(gmm.gm_assign_to_cluster(X32, means, covs, w), np.argmax(comp, axis=1))


def test_ordinary_float32_runs_float32_kernels():
    """Unit-scale float32 data keeps float32 kernels: the helper says so, and
    the log-densities agree with float64 (SciPy) only to float32 precision."""
    rng = np.random.default_rng(6)
    X32 = rng.standard_normal((400, 3)).astype(np.float32)
    mu, S = np.array([0.1, -0.2, 0.3]), np.diag([1.0, 2.0, 0.5])
    assert _validation.float32_is_safe(X32, means=mu[None], covariances=S[None])
    assert _validation.kernel_data(X32, means=mu[None], covariances=S[None]) is X32
    got = gmm.logmulnormpdf(X32, mu, S)
    want = multivariate_normal(mu, S).logpdf(X32.astype(np.float64))
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert not np.allclose(got, want, rtol=1e-12, atol=0)


@pytest.mark.parametrize("kwargs, safe", [
    (dict(means=np.zeros((1, 2)), covariances=np.eye(2)[None]), True),
    (dict(means=np.full((1, 2), 2.0**41), covariances=np.eye(2)[None]), False),      # |mean| > 2**40
    (dict(means=np.zeros((1, 2)), covariances=(np.eye(2) * 2.0**-81)[None]), False),  # diagonal < 2**-80
    (dict(means=np.zeros((1, 2)), covariances=(np.eye(2) * 2.0**81)[None]), False),   # diagonal > 2**80
    (dict(means=np.full((1, 2), 2.0**30), covariances=(np.eye(2) * 2.0**-40)[None]), False),  # ratio > 2**50
    (dict(means=np.full((1, 2), 2.0**20), covariances=(np.eye(2) * 2.0**-40)[None]), True),   # ratio 2**40
])
def test_scoring_decision_follows_documented_rules(kwargs, safe):
    X32 = np.random.default_rng(7).standard_normal((20, 2)).astype(np.float32)
    assert _validation.float32_is_safe(X32, **kwargs) is safe
    out = _validation.kernel_data(X32, **kwargs)
    assert out.dtype == (np.float32 if safe else np.float64)
    np.testing.assert_array_equal(out, X32)


@pytest.mark.parametrize("scale, safe", [(1.0, True), (2.0**41, False), (2.0**-41, False), (1e18, False)])
def test_fit_decision_follows_documented_rules(scale, safe):
    """Fitting keeps float32 while every varying column's spread and max
    deviation from its mean lie in [2**-40, 2**40]; constant columns are exempt."""
    X = np.random.default_rng(8).standard_normal((100, 3))
    X[:, 1] *= scale
    X[:, 2] = 1e30  # constant: exempt
    X32 = X.astype(np.float32)
    stats = _validation.column_stats(X32)
    assert _validation.float32_is_safe(X32, fit_stats=stats) is safe


def test_kmeans_float32_at_1e20_matches_float64():
    """k-means on float32 data at 1e20 (squared distances overflow float32)
    runs in float64: same memberships and centres as the float64 run."""
    X32 = _blobs32(1e20)
    np.random.seed(9)
    m32, c32 = km.kmeans(X32, 2)
    np.random.seed(9)
    m64, c64 = km.kmeans(X32.astype(np.float64), 2)
    np.testing.assert_array_equal(m32, m64)
    np.testing.assert_allclose(c32, c64, rtol=1e-12)
    np.testing.assert_array_equal(km.find_membership(X32, c64), km.find_membership(X32.astype(np.float64), c64))
