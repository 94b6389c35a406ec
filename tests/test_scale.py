"""Results that do not depend on the magnitude of the numbers: k-means at
1e-170 and 1e160 (squared distances beyond double's range), densities of
covariances down in the subnormals, float32 data far from the origin.

The references are the same computations at unit scale (scaling by a power of
two is exact, so labels must be identical and densities shift by exactly
-D k log 2), SciPy, and NumPy."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal

import gaussmix.gmm as gmm
import gaussmix.kmeans as km
import reference

LOG2 = np.log(2.0)


def _clusters(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0, 0.0], [4.0, 1.0, -1.0], [-2.0, 3.0, 2.0]])
    X = centres[np.arange(n) % 3] + rng.standard_normal((n, 3))
    return X, centres


@pytest.mark.parametrize("k", [-600, -565, -300, 0, 300, 531, 1000])
def test_find_membership_at_any_magnitude(k):
    # 2**-565 ~ 1e-170 and 2**531 ~ 1e160: the two failing scales.
    X, centres = _clusters()
    s = 2.0 ** k
    expected = reference.nearest_centre(X, centres)
    np.testing.assert_array_equal(km.find_membership(X * s, centres * s), expected)


@pytest.mark.parametrize("k", [-66, 66])
def test_find_membership_float32_far_from_unit_scale(k):
    # float32 data at ~1e-20 and ~1e20: squared distances leave float's range.
    X, centres = _clusters()
    s = np.float32(2.0 ** k)
    X32 = X.astype(np.float32) * s
    expected = reference.nearest_centre(X.astype(np.float32).astype(np.float64), centres)
    np.testing.assert_array_equal(km.find_membership(X32, centres * float(s)), expected)


@pytest.mark.parametrize("k", [-560, 0, 530])
def test_kmeans_is_scale_equivariant(k):
    X, _ = _clusters()
    s = 2.0 ** k
    np.random.seed(3)
    labels, centres = km.kmeans(X, 3)
    np.random.seed(3)
    labels_s, centres_s = km.kmeans(X * s, 3)
    np.testing.assert_array_equal(labels_s, labels)
    np.testing.assert_allclose(centres_s / s, centres, rtol=1e-13, atol=0)


@pytest.mark.parametrize("k", [-530, -510, -300, 0, 300, 500])
def test_log_densities_of_tiny_and_huge_covariances(k):
    # k = -530: variances ~1e-319, subnormal; the whitening used to overflow to -inf.
    mu = np.array([0.5, -1.0])
    S = np.array([[2.0, 0.5], [0.5, 1.0]])  # few mantissa bits: exact at any power of two
    X = np.array([[0.0, 0.0], [1.5, -2.0], [-3.0, 4.0]])
    s = 2.0 ** k
    expected = multivariate_normal(mu, S).logpdf(X) - 2 * k * LOG2
    got = gmm.logmulnormpdf(X * s, mu * s, S * s * s)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    # a mixture, in log space (at k = -530 the density itself, ~1e319, exceeds float64)
    weights = np.array([0.3, 0.7])
    ref_mix = reference.mixture_logpdf(X, [mu, -mu], [S, S], weights) - 2 * k * LOG2
    got_mix = gmm.gm_log_likelihood(X * s, [mu * s, -mu * s], [S * s * s, S * s * s], weights)
    np.testing.assert_allclose(got_mix, ref_mix.sum(), rtol=1e-12)


def test_covariance_with_very_different_variances_is_positive_definite():
    # Variances 1e200 and 1e-200 with correlation 0.5: PD whatever the units.
    a, b = 1e100, 1e-100
    S = np.array([[a * a, 0.5 * a * b], [0.5 * a * b, b * b]])
    X = np.array([[a, -b], [0.0, 0.0], [2 * a, b]])
    z = X / np.array([a, b])
    C = np.array([[1.0, 0.5], [0.5, 1.0]])
    expected = multivariate_normal(np.zeros(2), C).logpdf(z) - np.log(a * b)
    np.testing.assert_allclose(gmm.logmulnormpdf(X, np.zeros(2), S), expected, rtol=1e-12)


@pytest.mark.parametrize("offset", [1e5, 3e6])
def test_float32_log_densities_far_from_the_origin(offset):
    # The mean rounded to float used to cost eps32 * offset / sigma: 1.7e-2 at 1e5.
    rng = np.random.default_rng(1)
    mu = np.array([offset + 0.123456789, offset - 0.3])
    S = np.array([[1.0, 0.2], [0.2, 0.5]])
    X32 = (mu + rng.standard_normal((2000, 2)) @ np.linalg.cholesky(S).T).astype(np.float32)
    expected = multivariate_normal(mu, S).logpdf(X32.astype(np.float64))
    got = gmm.logmulnormpdf(X32, mu, S)
    assert np.abs(got - expected).max() < 2e-4
    # two components far apart (each scored around its own mean in float)
    mus = [mu, mu + 5000.0]
    weights = np.array([0.5, 0.5])
    X2 = np.vstack([X32, (X32.astype(np.float64) + 5000.0).astype(np.float32)])
    got2 = gmm.gm_log_likelihood(X2, mus, [S, S], weights)
    expected2 = reference.log_likelihood(X2.astype(np.float64), mus, [S, S], weights)
    assert abs(got2 - expected2) < 2e-4 * X2.shape[0]


@pytest.mark.parametrize("k", [-500, 0, 500])
def test_find_distance_and_intra_cluster_variance_at_any_magnitude(k):
    X, centres = _clusters(300)
    s = 2.0 ** k
    want = reference.distances(X, centres[0]).ravel() * s
    np.testing.assert_allclose(km.find_distance(X * s, centres[0] * s).ravel(), want, rtol=1e-14)
    labels = reference.nearest_centre(X, centres)
    want_icv = reference.intra_cluster_distance_sum(X, labels, centres) * s
    np.testing.assert_allclose(km.find_intra_cluster_variance(X * s, labels, centres * s), want_icv, rtol=1e-13)


def test_kmeans_on_subnormal_data():
    X = np.array([[5e-324], [1e-323], [4e-323], [5e-323]])
    labels, centres = km.kmeans(X, 1)
    np.testing.assert_array_equal(labels, 0)
    assert centres[0, 0] == np.mean(X)  # 2.5e-323, exact in the scaled frame


@pytest.mark.parametrize("k", [-500, 500])
def test_hellinger_weighted_in_one_dimension_is_scale_free(k):
    # In D = 1 the formula's factors (|S1|_F |S2|_F)^(1/4) and N(0 | ., 2 S1 + 2 S2)
    # scale as s and 1/s: their product does not change, though each factor
    # alone overflows at s = 2**+-500: the product (|S1|_F |S2|_F) is 2**+-2000.
    rng = np.random.default_rng(2)
    centers, covs, _ = reference.random_mixture(rng, 3, 1)
    s = 2.0 ** k
    unscaled = gmm.find_density_diff(centers, covs, method="hellinger_weighted")
    scaled = gmm.find_density_diff([c * s for c in centers], [S * s * s for S in covs], method="hellinger_weighted")
    np.testing.assert_allclose(scaled, unscaled, rtol=1e-12, atol=1e-12)  # log-space sums of +-700


def test_predict_refuses_values_beyond_x_dtype():
    X = np.array([[np.nan, 1.0], [0.5, 0.5]], dtype=np.float32)
    before = X.copy()
    centers = [np.array([1e300, 1.0])]
    covs = [np.eye(2)]
    with pytest.raises(ValueError, match=r"predict\(\): a predicted value exceeds the range of X's dtype float32"):
        gmm.predict(X, centers, covs, None)
    np.testing.assert_array_equal(X, before)


def test_gauss_ellipse_beyond_float64_is_refused():
    with pytest.raises(ValueError, match=r"gauss_ellipse_2d\(\): the ellipse's points exceed float64's range"):
        gmm.gauss_ellipse_2d([0.0, 0.0], np.eye(2) * 1e300, sdwidth=1e300)


def test_find_membership_float32_data_with_tiny_centres():
    # Centres 1e-150 apart round to 0 in float32, where they would tie: the
    # comparison runs in float64 (fuzz finding).
    X = np.zeros((2, 2), dtype=np.float32)
    centres = np.array([[3.1e-150, 4.1e-150], [1.4e-150, -2.3e-150]])  # the second is nearer
    np.testing.assert_array_equal(km.find_membership(X, centres),
                                  reference.nearest_centre(X.astype(np.float64), centres))


def test_components_far_apart_with_tiny_variances():
    # Means at +-1e300, standard deviations 1e-150: the whitened distance between
    # the means (1e450) exceeds float64, so each component is scored around its
    # own mean; a row at a mean has the finite density of that component alone.
    sigma = 1e-150
    centers = [np.array([-1e300]), np.array([1e300])]
    covs = [np.array([[sigma**2]])] * 2
    X = np.array([[1e300], [-1e300]])
    expected = np.log(0.5) - 0.5 * np.log(2 * np.pi) - np.log(sigma)
    np.testing.assert_allclose(gmm.gm_log_likelihood(X, centers, covs, [0.5, 0.5]), 2 * expected, rtol=1e-14)
    np.testing.assert_array_equal(gmm.gm_assign_to_cluster(X, centers, covs, [0.5, 0.5]), [1, 0])
