"""Densities: mulnormpdf, logmulnormpdf, gmm_pdf, gm_log_likelihood,
gm_assign_to_cluster against scipy.stats and the NumPy reference."""

import numpy as np
import pytest
from scipy import stats

import gaussmix.gmm as gmm
from helpers import assert_unchanged, snapshot
from reference import (log_likelihood, random_mixture, random_spd,
                       responsibilities, sample_mixture)

# float64 tolerances: log-densities of well-conditioned problems have terms of
# size ~10-50, so an absolute floor of 1e-11 only matters near log p = 0.
RTOL64 = 1e-12
ATOL64_LOG = 1e-11


def _problem(seed, N, D):
    rng = np.random.default_rng(seed)
    mu = rng.uniform(-2, 2, size=D)
    sigma = random_spd(rng, D)
    # points within a few standard deviations: densities are not tiny
    X = rng.multivariate_normal(mu, sigma, size=N)
    return X, mu, sigma


# ---------------------------------------------------------------- single Gaussian
@pytest.mark.parametrize("D", [1, 2, 3, 5, 10])
def test_logmulnormpdf_matches_scipy(D):
    """logmulnormpdf equals scipy's multivariate_normal.logpdf to 1e-12
    relative for D = 1..10, and does not modify its arguments."""
    X, mu, sigma = _problem(D, 200, D)
    before = snapshot(X, mu, sigma)
    got = gmm.logmulnormpdf(X, mu, sigma)
    assert_unchanged(before, X, mu, sigma)
    want = stats.multivariate_normal(mu, sigma).logpdf(X)
    assert got.shape == (200,)
    np.testing.assert_allclose(got, want, rtol=RTOL64, atol=ATOL64_LOG)


@pytest.mark.parametrize("D", [1, 2, 4, 10])
def test_mulnormpdf_matches_scipy(D):
    """mulnormpdf equals scipy's multivariate_normal.pdf to 1e-12 relative."""
    X, mu, sigma = _problem(100 + D, 150, D)
    before = snapshot(X, mu, sigma)
    got = gmm.mulnormpdf(X, mu, sigma)
    assert_unchanged(before, X, mu, sigma)
    want = stats.multivariate_normal(mu, sigma).pdf(X)
    assert got.shape == (150,)
    np.testing.assert_allclose(got, want, rtol=RTOL64, atol=0)


def test_mulnormpdf_documentation_example():
    """PyPR's own example (integer arrays, SIGMA = diag((1,1))) gives the
    standard bivariate normal density at (0,0) and (1,1)."""
    X = np.array([[0, 0], [1, 1]])
    MU = np.array([0, 0])
    SIGMA = np.diag((1, 1))
    got = gmm.mulnormpdf(X, MU, SIGMA)
    want = stats.multivariate_normal(np.zeros(2), np.eye(2)).pdf([[0.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(got, want, rtol=RTOL64)


@pytest.mark.parametrize("func, ref", [
    (gmm.mulnormpdf, "pdf"), (gmm.logmulnormpdf, "logpdf")])
def test_single_point_gives_length_one_result(func, ref):
    """A 1-D X is one point (D,) and gives a length-1 array."""
    rng = np.random.default_rng(7)
    mu = rng.standard_normal(3)
    sigma = random_spd(rng, 3)
    x = rng.standard_normal(3)
    got = func(x, mu, sigma)
    assert np.shape(got) == (1,)
    want = getattr(stats.multivariate_normal(mu, sigma), ref)(x)
    np.testing.assert_allclose(got[0], want, rtol=RTOL64, atol=ATOL64_LOG)


@pytest.mark.parametrize("sigma", [2.5, np.array([[2.5]])], ids=["scalar", "1x1"])
def test_one_dimensional_distribution(sigma):
    """A 1-D distribution accepts SIGMA as a scalar or (1,1), with X (N,1) or
    a single point, and equals scipy.stats.norm with variance SIGMA."""
    rng = np.random.default_rng(3)
    X = rng.normal(0.7, 1.5, size=(40, 1))
    mu = np.array([0.7])
    ref = stats.norm(loc=0.7, scale=np.sqrt(2.5))
    np.testing.assert_allclose(gmm.logmulnormpdf(X, mu, sigma), ref.logpdf(X[:, 0]),
                               rtol=RTOL64, atol=ATOL64_LOG)
    np.testing.assert_allclose(gmm.mulnormpdf(X, mu, sigma), ref.pdf(X[:, 0]),
                               rtol=RTOL64)
    single = gmm.mulnormpdf(np.array([0.3]), mu, sigma)
    assert np.shape(single) == (1,)
    np.testing.assert_allclose(single[0], ref.pdf(0.3), rtol=RTOL64)


def test_far_points_log_density_is_finite():
    """Log-densities far in the tail (where the density underflows to 0) are
    still exact: the log is computed directly, not as log(pdf)."""
    mu = np.zeros(2)
    sigma = np.array([[1.0, 0.3], [0.3, 0.5]])
    X = np.array([[60.0, -40.0], [100.0, 100.0]])
    got = gmm.logmulnormpdf(X, mu, sigma)
    want = stats.multivariate_normal(mu, sigma).logpdf(X)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, want, rtol=RTOL64)


@pytest.mark.parametrize("D", [2, 6, 24])
def test_float32_input_within_float32_accuracy(D):
    """float32 X runs float32 kernels: log-densities of moderate size agree
    with the float64 scipy value (of the same float32 numbers) to ~1e-4."""
    X, mu, sigma = _problem(55 + D, 300, D)
    X32 = X.astype(np.float32)
    want = stats.multivariate_normal(mu, sigma).logpdf(X32.astype(np.float64))
    got = gmm.logmulnormpdf(X32, mu, sigma)
    assert got.shape == (300,)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), want,
                               rtol=1e-4, atol=1e-4)
    got_pdf = gmm.mulnormpdf(X32, mu, sigma)
    np.testing.assert_allclose(np.asarray(got_pdf, dtype=np.float64), np.exp(want),
                               rtol=1e-3, atol=0)


def test_non_contiguous_and_fortran_input():
    """Strided and Fortran-ordered X give the same values as C-ordered X
    (checked against scipy, not against gaussmix)."""
    X, mu, sigma = _problem(11, 100, 3)
    want = stats.multivariate_normal(mu, sigma).logpdf(X)
    wide = np.zeros((100, 6))
    wide[:, ::2] = X
    np.testing.assert_allclose(gmm.logmulnormpdf(wide[:, ::2], mu, sigma), want,
                               rtol=RTOL64, atol=ATOL64_LOG)
    np.testing.assert_allclose(gmm.logmulnormpdf(np.asfortranarray(X), mu, sigma),
                               want, rtol=RTOL64, atol=ATOL64_LOG)
    tall = np.zeros((200, 3))
    tall[::2] = X
    np.testing.assert_allclose(gmm.logmulnormpdf(tall[::2], mu, sigma), want,
                               rtol=RTOL64, atol=ATOL64_LOG)


# ---------------------------------------------------------------- mixtures
def _mixture_problem(seed, K, D, N=250):
    rng = np.random.default_rng(seed)
    centers, covs, p_k = random_mixture(rng, K, D, spread=3.0)
    X, _ = sample_mixture(rng, centers, covs, p_k, N)
    return X, centers, covs, p_k


# D > 8 runs the panel kernel (panels of 8 columns, or 4 with 16 registers;
# D = 20 and 37 end in a partial panel read from zero padding); K = 19 is not
# a multiple of any tile.
@pytest.mark.parametrize("K, D", [(1, 1), (3, 2), (4, 5), (2, 10), (19, 20), (2, 37)])
def test_gmm_pdf_matches_scipy(K, D):
    """gmm_pdf is sum_k mc_k N(x|mu_k,Sigma_k); individual=True gives the
    (N, K) matrix of the weighted component densities (scipy reference)."""
    X, centers, covs, mc = _mixture_problem(K * 10 + D, K, D)
    comp = np.column_stack([
        mc[k] * stats.multivariate_normal(centers[k], covs[k]).pdf(X).reshape(-1)
        for k in range(K)])
    before = snapshot(X, centers, covs, mc)
    got_ind = gmm.gmm_pdf(X, centers, covs, mc, individual=True)
    got = gmm.gmm_pdf(X, centers, covs, mc)
    assert_unchanged(before, X, centers, covs, mc)
    assert np.shape(got_ind) == (X.shape[0], K)
    assert np.shape(got) == (X.shape[0],)
    # A density's relative error is the absolute error of its log, which grows
    # with the log's size (a Mahalanobis distance sums D squares): 1e-58 has
    # log -133 at D = 20. Allowed: RTOL64, or 2e-13 per unit of |log|.
    log_size = np.maximum(1.0, np.abs(np.log(comp)))
    assert np.all(np.abs(got_ind - comp) <= np.maximum(RTOL64, 2e-13 * log_size) * comp)
    total = comp.sum(axis=1)
    assert np.all(np.abs(got - total) <= np.maximum(RTOL64, 2e-13 * log_size.max(axis=1)) * total)


def test_gmm_pdf_accepts_plain_lists():
    """Centres, covariances and weights given as (nested) Python lists, as
    in PyPR's examples, give the same densities as the scipy reference."""
    centroids = [[0, 0], [3, 3], [0, 4]]
    ccov = [[[1, 0.4], [0.4, 1]], [[1, 0], [0, 2]], [[0.4, 0], [0, 0.1]]]
    mc = [0.4, 0.4, 0.2]
    X = [[0.0, 0.5], [2.0, 3.0], [0.1, 3.9], [-1.0, -1.0]]
    want = sum(mc[k] * stats.multivariate_normal(centroids[k], ccov[k]).pdf(X)
               for k in range(3))
    np.testing.assert_allclose(gmm.gmm_pdf(X, centroids, ccov, mc), want, rtol=RTOL64)


def test_gmm_pdf_one_dimensional_mixture():
    """A 1-D mixture evaluated on a column (as in PyPR's cond_dist example,
    gmm_pdf(c_[x], ...)) equals the weighted sum of scipy normals."""
    x = np.linspace(-4, 6, 57)
    centers = [np.array([0.0]), np.array([2.5])]
    covs = [np.array([[1.0]]), np.array([[0.25]])]
    mc = np.array([0.7, 0.3])
    want = 0.7 * stats.norm(0, 1).pdf(x) + 0.3 * stats.norm(2.5, 0.5).pdf(x)
    np.testing.assert_allclose(gmm.gmm_pdf(np.c_[x], centers, covs, mc), want,
                               rtol=RTOL64)


@pytest.mark.parametrize("K, D", [(1, 2), (3, 2), (4, 5), (3, 10), (19, 20), (2, 37)])
def test_gm_log_likelihood_matches_reference(K, D):
    """gm_log_likelihood is the total log-likelihood (log-sum-exp), equal to
    the NumPy reference to 1e-12 relative; it returns a float."""
    X, centers, covs, p_k = _mixture_problem(K * 100 + D, K, D, N=400)
    before = snapshot(X, centers, covs, p_k)
    got = gmm.gm_log_likelihood(X, centers, covs, p_k)
    assert_unchanged(before, X, centers, covs, p_k)
    assert isinstance(got, float)
    want = log_likelihood(X, centers, covs, p_k)
    np.testing.assert_allclose(got, want, rtol=RTOL64)
    # and equals the log of scipy's mixture density summed over the data
    dens = sum(p_k[k] * stats.multivariate_normal(centers[k], covs[k]).pdf(X)
               for k in range(K))
    np.testing.assert_allclose(got, np.sum(np.log(dens)), rtol=1e-11)


def test_gm_log_likelihood_no_underflow():
    """Points so far from every component that each density underflows to 0
    still get a finite, exact log-likelihood (log-sum-exp, not log(sum))."""
    centers = [np.zeros(2), np.array([1.0, 1.0])]
    covs = [np.eye(2) * 0.1, np.eye(2) * 0.2]
    p_k = np.array([0.5, 0.5])
    X = np.array([[40.0, 40.0], [-30.0, 25.0], [0.1, 0.2]])
    got = gmm.gm_log_likelihood(X, centers, covs, p_k)
    assert np.isfinite(got)
    np.testing.assert_allclose(got, log_likelihood(X, centers, covs, p_k), rtol=RTOL64)


@pytest.mark.parametrize("K, D", [(2, 1), (3, 2), (5, 4)])
def test_gm_assign_to_cluster_is_argmax_responsibility(K, D):
    """gm_assign_to_cluster returns, per row, the 0-based index of the
    component with the highest responsibility (reference argmax)."""
    X, centers, covs, p_k = _mixture_problem(K * 1000 + D, K, D, N=300)
    R = responsibilities(X, centers, covs, p_k)
    # keep rows whose top-2 responsibilities are not (numerically) tied
    top2 = np.sort(R, axis=1)[:, -2:] if K > 1 else np.ones((X.shape[0], 2))
    keep = (top2[:, 1] - top2[:, 0] > 1e-9) | (K == 1)
    before = snapshot(X, centers, covs, p_k)
    got = np.asarray(gmm.gm_assign_to_cluster(X, centers, covs, p_k))
    assert_unchanged(before, X, centers, covs, p_k)
    assert got.shape == (X.shape[0],)
    assert np.issubdtype(got.dtype, np.integer)
    assert got.min() >= 0 and got.max() < K
    np.testing.assert_array_equal(got[keep], np.argmax(R, axis=1)[keep])


def test_gm_assign_to_cluster_uses_weights_and_covariances():
    """The assignment is by posterior, not nearest mean: a point equidistant
    from two means goes to the heavier-weighted component, and a point nearer
    a narrow component's mean can belong to a broad one."""
    centers = [np.array([-1.0]), np.array([1.0])]
    covs = [np.array([[1.0]]), np.array([[1.0]])]
    X = np.array([[0.0]])
    assert gmm.gm_assign_to_cluster(X, centers, covs, np.array([0.8, 0.2]))[0] == 0
    assert gmm.gm_assign_to_cluster(X, centers, covs, np.array([0.2, 0.8]))[0] == 1
    narrow_broad = [np.array([[0.01]]), np.array([[25.0]])]
    X2 = np.array([[-0.5]])  # nearer the narrow mean -1, but 5 sd away from it
    R = responsibilities(X2, centers, narrow_broad, np.array([0.5, 0.5]))
    assert np.argmax(R[0]) == 1
    assert gmm.gm_assign_to_cluster(X2, centers, narrow_broad, np.array([0.5, 0.5]))[0] == 1


def test_gmm_pdf_single_point_equals_one_row():
    """gmm_pdf takes a single point (D,) as PyPR did (it called mulnormpdf per
    component); the result equals the one-row (1, D) call and the reference."""
    centers = [np.array([0.0, 1.0]), np.array([2.0, -1.0])]
    covs = [np.array([[1.0, 0.3], [0.3, 2.0]]), np.eye(2) * 0.5]
    p_k = np.array([0.25, 0.75])
    point = np.array([0.7, 0.2])
    want = sum(w * stats.multivariate_normal(m, c).pdf(point) for w, m, c in zip(p_k, centers, covs))
    got = gmm.gmm_pdf(point, centers, covs, p_k)
    assert got.shape == (1,)
    np.testing.assert_allclose(got[0], want, rtol=1e-12)
    individual = gmm.gmm_pdf(point, centers, covs, p_k, individual=True)
    assert individual.shape == (1, 2)
    np.testing.assert_allclose(individual.sum(), want, rtol=1e-12)
