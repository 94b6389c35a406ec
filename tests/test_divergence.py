"""Pairwise component divergences (gaussmix.gmm.find_density_diff) and the
2-D ellipse helper (gauss_ellipse_2d).

Checked against closed forms transcribed in tests/reference_condition.py and
against Monte Carlo integrals evaluated with scipy.stats.multivariate_normal.
The contract is /work/shared/pypr-gmm-reference.md, Part 2.
"""

import copy

import numpy as np
import pytest
from scipy.stats import multivariate_normal

import gaussmix.gmm as gmm
import reference_condition as ref

N_MC = 200_000
N_SE = 4.5  # allowed Monte Carlo error, in standard errors


def _components(D, K=4, seed=None):
    rng = np.random.default_rng(100 + D if seed is None else seed)
    centers, covs, w = ref.random_mixture(rng, K, D, spread=1.5)
    return centers, covs, w


def _overlapping_2d():
    """Three 2-D components that overlap, with different shapes and sizes so
    that KL(N_j || N_i) and KL(N_i || N_j) differ clearly."""
    centers = [np.array([0.0, 0.0]), np.array([1.0, 0.5]), np.array([-0.5, 1.5])]
    covs = [np.array([[1.0, 0.3], [0.3, 0.6]]), np.array([[2.5, -0.4], [-0.4, 1.5]]),
            np.array([[0.5, 0.1], [0.1, 0.8]])]
    return centers, covs


# ----------------------------------------------------------------------------- closed forms

@pytest.mark.parametrize("D", [1, 2, 3, 5])
def test_hellinger_is_bhattacharyya_coefficient(D):
    centers, covs, w = _components(D)
    diff = gmm.find_density_diff(centers, covs, w, method="hellinger")
    want = ref.pairwise_upper(centers, covs, ref.bhattacharyya_coefficient)
    assert diff.shape == (4, 4)
    np.testing.assert_allclose(diff, want, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(np.diag(diff), 1.0, rtol=0, atol=1e-12)
    assert np.all(diff[np.triu_indices(4, 1)] < 1)
    np.testing.assert_array_equal(diff[np.tril_indices(4, -1)], 0.0)


def test_hellinger_is_the_default_method():
    centers, covs, w = _components(3)
    want = ref.pairwise_upper(centers, covs, ref.bhattacharyya_coefficient)
    np.testing.assert_allclose(gmm.find_density_diff(centers, covs), want, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(gmm.find_density_diff(centers, covs, w), want, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("D", [1, 2, 3, 5])
def test_kl_closed_form(D):
    centers, covs, w = _components(D)
    diff = gmm.find_density_diff(centers, covs, w, method="KL")
    want = ref.pairwise_upper(centers, covs, ref.kl_pypr)
    np.testing.assert_allclose(diff, want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.diag(diff), 0.0, rtol=0, atol=1e-12)
    assert np.all(diff[np.triu_indices(4, 1)] > 0)
    np.testing.assert_array_equal(diff[np.tril_indices(4, -1)], 0.0)


@pytest.mark.parametrize("D", [1, 2, 3, 5])
def test_hellinger_weighted_formula(D):
    centers, covs, w = _components(D)
    diff = gmm.find_density_diff(centers, covs, w, method="hellinger_weighted")
    want = ref.pairwise_upper(centers, covs, ref.hellinger_weighted)
    np.testing.assert_allclose(diff, want, rtol=1e-10, atol=1e-13)
    np.testing.assert_array_equal(diff[np.tril_indices(4, -1)], 0.0)


def test_hellinger_weighted_uses_frobenius_norms():
    """Scaling one covariance's off-diagonal changes its Frobenius norm but
    keeps the determinant-free pieces checkable: compare with scipy's density."""
    centers = [np.array([0.0, 0.0]), np.array([1.0, -1.0])]
    covs = [np.array([[2.0, 0.9], [0.9, 1.0]]), np.array([[0.5, 0.0], [0.0, 3.0]])]
    diff = gmm.find_density_diff(centers, covs, method="hellinger_weighted")
    f = [np.sqrt(np.sum(S ** 2)) for S in covs]
    dens = multivariate_normal(centers[0] - centers[1], 2 * covs[0] + 2 * covs[1]).pdf(np.zeros(2))
    want = 1 - 2 * f[0] ** 0.25 * f[1] ** 0.25 * np.sqrt(2 * np.pi) * dens
    assert diff[0, 1] == pytest.approx(want, rel=1e-10)
    dens_self = multivariate_normal(np.zeros(2), 4 * covs[0]).pdf(np.zeros(2))
    assert diff[0, 0] == pytest.approx(1 - 2 * f[0] ** 0.5 * np.sqrt(2 * np.pi) * dens_self, rel=1e-10)


def test_arguments_unchanged():
    centers, covs, w = _components(3)
    before = copy.deepcopy((centers, covs, w))
    for method in ("hellinger", "KL", "hellinger_weighted"):
        gmm.find_density_diff(centers, covs, w, method=method)
    for b, a in zip(before, (centers, covs, w)):
        for x, y in zip(b, a):
            np.testing.assert_array_equal(x, y)


# ----------------------------------------------------------------------------- Monte Carlo

def test_hellinger_monte_carlo():
    """integral sqrt(p q) dx = E_p[sqrt(q / p)], p = N_i, q = N_j."""
    centers, covs = _overlapping_2d()
    diff = gmm.find_density_diff(centers, covs, method="hellinger")
    rng = np.random.default_rng(2024)
    for i in range(3):
        for j in range(i + 1, 3):
            p = multivariate_normal(centers[i], covs[i])
            q = multivariate_normal(centers[j], covs[j])
            x = rng.multivariate_normal(centers[i], covs[i], size=N_MC)
            r = np.exp(0.5 * (q.logpdf(x) - p.logpdf(x)))
            est, se = r.mean(), r.std(ddof=1) / np.sqrt(N_MC)
            assert 0 < se < 0.01
            assert abs(diff[i, j] - est) < N_SE * se, (i, j, diff[i, j], est, se)


def test_kl_monte_carlo_and_direction():
    """diff[i, j] = KL(N_j || N_i) = E_{N_j}[log N_j - log N_i]."""
    centers, covs = _overlapping_2d()
    diff = gmm.find_density_diff(centers, covs, method="KL")
    rng = np.random.default_rng(2025)
    for i in range(3):
        for j in range(i + 1, 3):
            Ni = multivariate_normal(centers[i], covs[i])
            Nj = multivariate_normal(centers[j], covs[j])
            xj = rng.multivariate_normal(centers[j], covs[j], size=N_MC)
            t = Nj.logpdf(xj) - Ni.logpdf(xj)
            est, se = t.mean(), t.std(ddof=1) / np.sqrt(N_MC)
            assert abs(diff[i, j] - est) < N_SE * se, (i, j, diff[i, j], est, se)
            # The test can tell the two directions apart.
            xi = rng.multivariate_normal(centers[i], covs[i], size=N_MC)
            reverse = np.mean(Ni.logpdf(xi) - Nj.logpdf(xi))
            assert abs(reverse - est) > 10 * N_SE * se


# ----------------------------------------------------------------------------- callable, errors

def test_callable_method_gets_each_upper_pair():
    centers, covs, w = _components(3, K=4)
    calls = []

    def measure(mu1, S1, mu2, S2):
        calls.append((np.array(mu1), np.array(S1), np.array(mu2), np.array(S2)))
        return float(np.sum(mu1) + 10.0 * np.sum(S2))

    diff = gmm.find_density_diff(centers, covs, w, method=measure)
    assert diff.shape == (4, 4)
    assert len(calls) == 4 * 5 // 2

    def index_of(mu, S):
        hits = [k for k in range(4) if np.allclose(mu, centers[k], rtol=0, atol=1e-15)
                and np.allclose(S, covs[k], rtol=0, atol=1e-15)]
        assert len(hits) == 1
        return hits[0]

    seen = set()
    for mu1, S1, mu2, S2 in calls:
        assert mu1.shape == (3,) and mu2.shape == (3,)
        assert S1.shape == (3, 3) and S2.shape == (3, 3)
        i, j = index_of(mu1, S1), index_of(mu2, S2)
        assert i <= j
        seen.add((i, j))
        assert diff[i, j] == pytest.approx(np.sum(centers[i]) + 10.0 * np.sum(covs[j]), rel=1e-14)
    assert seen == {(i, j) for i in range(4) for j in range(i, 4)}
    np.testing.assert_array_equal(diff[np.tril_indices(4, -1)], 0.0)


@pytest.mark.parametrize("method", ["hellinger_distance", "kl", "", "Hellinger", 3])
def test_unknown_method_raises(method):
    centers, covs, w = _components(2)
    with pytest.raises(ValueError, match="method"):
        gmm.find_density_diff(centers, covs, w, method=method)


@pytest.mark.parametrize("method", ["hellinger", "KL", "hellinger_weighted"])
def test_bad_components_name_argument(method):
    centers, covs, w = _components(2, K=2)
    with pytest.raises(ValueError, match="cov_list"):
        gmm.find_density_diff(centers, [covs[0], np.eye(3)], w, method=method)
    with pytest.raises(ValueError, match="cov_list"):
        gmm.find_density_diff(centers, covs[:1], w, method=method)
    with pytest.raises(ValueError, match="center_list"):
        gmm.find_density_diff([centers[0], np.zeros(3)], covs, w, method=method)


# ----------------------------------------------------------------------------- gauss_ellipse_2d

_ELLIPSES = [
    (np.array([0.0, 0.0]), np.array([[1.0, 0.4], [0.4, 1.0]])),
    (np.array([3.0, 3.0]), np.diag([1.0, 2.0])),
    (np.array([0.0, 4.0]), np.diag([0.4, 0.1])),
    (np.array([-2.5, 7.0]), np.array([[4.0, -1.9], [-1.9, 1.0]])),
]


@pytest.mark.parametrize("case", range(len(_ELLIPSES)))
@pytest.mark.parametrize("sdwidth", [0.5, 1, 2, 3.7])
def test_ellipse_points_at_mahalanobis_radius(case, sdwidth):
    mu, S = _ELLIPSES[case]
    x, y = gmm.gauss_ellipse_2d(mu, S, sdwidth=sdwidth)
    assert np.shape(x) == (100,) and np.shape(y) == (100,)
    d = np.column_stack([x, y]) - mu
    maha = np.einsum("ni,ij,nj->n", d, np.linalg.inv(S), d)
    np.testing.assert_allclose(maha, sdwidth ** 2, rtol=1e-10)


@pytest.mark.parametrize("points", [3, 10, 100, 257])
def test_ellipse_point_count_closed_and_evenly_spaced(points):
    mu, S = _ELLIPSES[3]
    sdwidth = 2.0
    x, y = gmm.gauss_ellipse_2d(mu, S, sdwidth=sdwidth, points=points)
    assert len(x) == points and len(y) == points
    # t runs from 0 to 2 pi inclusive: the curve is closed.
    assert x[0] == pytest.approx(x[-1], abs=1e-12)
    assert y[0] == pytest.approx(y[-1], abs=1e-12)
    # Whitened with the Cholesky factor the ellipse becomes a circle of radius
    # sdwidth traversed at constant speed, whatever eigenvector signs were used:
    # consecutive points are one chord 2 r sin(pi / (points - 1)) apart.
    L = np.linalg.cholesky(S)
    z = np.linalg.solve(L, (np.column_stack([x, y]) - mu).T).T
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), sdwidth, rtol=1e-10)
    chords = np.linalg.norm(np.diff(z, axis=0), axis=1)
    np.testing.assert_allclose(chords, 2 * sdwidth * np.sin(np.pi / (points - 1)), rtol=1e-9)
    # ...and it goes once around (total turning 2 pi); with 3 points the step
    # is pi and the direction of turning is undefined.
    if points > 3:
        angles = np.unwrap(np.arctan2(z[:, 1], z[:, 0]))
        assert abs(angles[-1] - angles[0]) == pytest.approx(2 * np.pi, rel=1e-10)


def test_ellipse_defaults_match_explicit_arguments():
    mu, S = _ELLIPSES[0]
    x1, y1 = gmm.gauss_ellipse_2d(mu, S)
    x2, y2 = gmm.gauss_ellipse_2d(mu, S, sdwidth=1, points=100)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
