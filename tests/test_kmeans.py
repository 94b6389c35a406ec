"""gaussmix.kmeans (PyPR's pypr.clustering.kmeans) against NumPy
transcriptions and scikit-learn."""

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

import gaussmix.kmeans as km
from helpers import assert_unchanged, snapshot
from reference import (distances, intra_cluster_distance_sum, member_means,
                       nearest_centre)


def _blobs(seed=0, K=3, D=2, n=100, sep=15.0):
    """K well-separated isotropic blobs (unit variance, means on a grid of
    spacing sep)."""
    rng = np.random.default_rng(seed)
    means = np.zeros((K, D))
    for k in range(K):
        means[k, 0], means[k, 1] = sep * (k % 2), sep * (k // 2)
    X = np.vstack([rng.standard_normal((n, D)) + means[k] for k in range(K)])
    labels = np.repeat(np.arange(K), n)
    perm = rng.permutation(len(X))
    return X[perm], labels[perm], means


@pytest.fixture
def data():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((57, 4)) * [1.0, 3.0, 0.1, 10.0]
    cc = rng.standard_normal((5, 4)) * [1.0, 3.0, 0.1, 10.0]
    return X, cc


def test_find_distance(data):
    """(N, 1) column of Euclidean distances from each row to c."""
    X, cc = data
    before = snapshot(X, cc)
    got = km.find_distance(X, cc[2])
    assert_unchanged(before, X, cc)
    assert np.shape(got) == (57, 1)
    np.testing.assert_allclose(got, distances(X, cc[2]), rtol=1e-13, atol=0)


def test_find_membership(data):
    """1-D array of the index of the nearest centre of each row."""
    X, cc = data
    before = snapshot(X, cc)
    got = np.asarray(km.find_membership(X, cc))
    assert_unchanged(before, X, cc)
    assert got.shape == (57,)
    assert np.issubdtype(got.dtype, np.integer)
    np.testing.assert_array_equal(got, nearest_centre(X, cc))


def test_find_centroids(data):
    """(K, D) means of each cluster's members."""
    X, cc = data
    m = nearest_centre(X, cc)
    assert len(np.unique(m)) == 5  # precondition: no empty cluster here
    before = snapshot(X, m)
    got = km.find_centroids(X, 5, m)
    assert_unchanged(before, X, m)
    assert np.shape(got) == (5, 4)
    np.testing.assert_allclose(got, member_means(X, 5, m), rtol=1e-13, atol=1e-14)


def test_find_centroids_empty_cluster_is_nan_row():
    """A cluster without members gets a NaN row (as PyPR documents), without
    emitting a warning (warnings are errors in this suite)."""
    X = np.arange(12.0).reshape(6, 2)
    m = np.array([0, 0, 2, 2, 2, 0])
    got = km.find_centroids(X, 3, m)
    assert np.all(np.isnan(got[1]))
    np.testing.assert_allclose(got[[0, 2]], member_means(X, 3, m)[[0, 2]], rtol=1e-15)


def test_find_intra_cluster_variance(data):
    """Sum over clusters of the Euclidean distances of the members to their
    centre (PyPR's definition: distances, not squared distances)."""
    X, cc = data
    m = nearest_centre(X, cc)
    got = km.find_intra_cluster_variance(X, m, cc)
    np.testing.assert_allclose(got, intra_cluster_distance_sum(X, m, cc), rtol=1e-12)
    # it is not the sum of squared distances (guards against the other definition)
    sq = sum(np.sum((X[m == k] - cc[k]) ** 2) for k in range(5))
    assert not np.isclose(got, sq, rtol=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kmeans_returns_lloyd_fixed_point(seed):
    """kmeans converges to a fixed point of Lloyd's algorithm: each row is
    assigned to its nearest returned centre, and each centre is the mean of
    its members; X is not modified."""
    X, _, _ = _blobs(seed, K=3, D=2)
    Xc = X.copy()
    np.random.seed(seed)
    m, cc = km.kmeans(X, 3, iter=100)
    assert np.array_equal(X, Xc)
    m = np.asarray(m)
    assert m.shape == (X.shape[0],)
    assert np.shape(cc) == (3, 2)
    assert np.all(np.isfinite(cc))
    np.testing.assert_array_equal(m, nearest_centre(X, cc))
    np.testing.assert_allclose(cc, member_means(X, 3, m), rtol=1e-12, atol=1e-12)


def test_kmeans_k1_is_the_mean():
    """With K=1 the centre is the data mean and every label is 0."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 3)) + [1.0, 2.0, 3.0]
    np.random.seed(0)
    m, cc = km.kmeans(X, 1)
    np.testing.assert_array_equal(np.asarray(m), np.zeros(40))
    np.testing.assert_allclose(np.asarray(cc)[0], X.mean(axis=0), rtol=1e-13, atol=1e-14)


def test_kmeans_partition_matches_sklearn():
    """On well-separated blobs the best of several k-means runs (by PyPR's
    intra-cluster distance sum) gives the same partition as scikit-learn's
    KMeans (adjusted Rand index 1) and as the true blob labels."""
    X, labels, _ = _blobs(5, K=3, D=3, n=80)
    np.random.seed(5)
    best, best_cost = None, np.inf
    for _ in range(30):
        m, cc = km.kmeans(X, 3, iter=100)
        m = np.asarray(m)
        if np.any(np.isnan(cc)):
            continue
        cost = intra_cluster_distance_sum(X, m, np.asarray(cc))
        if cost < best_cost:
            best, best_cost = m, cost
    assert best is not None
    sk = KMeans(n_clusters=3, n_init=10, random_state=0).fit(X).labels_
    assert adjusted_rand_score(sk, best) == 1.0
    assert adjusted_rand_score(labels, best) == 1.0


def test_kmeans_deterministic_under_seed():
    """np.random.seed(s) makes kmeans repeatable."""
    X, _, _ = _blobs(6, K=4, D=2)
    np.random.seed(77)
    m1, c1 = km.kmeans(X, 4)
    np.random.seed(77)
    m2, c2 = km.kmeans(X, 4)
    assert np.array_equal(np.asarray(m1), np.asarray(m2))
    assert np.array_equal(np.asarray(c1), np.asarray(c2), equal_nan=True)


@pytest.mark.parametrize("k, trials", [(3, None), (8, None), (30, None), (12, 9)])
def test_kmeans_plus_plus_draws_scikit_learns_rows(k, trials):
    """The core's greedy k-means++ on scikit-learn's random numbers picks
    scikit-learn's rows: every number of local trials (2 + log K by default,
    and 9, more than one tile of centres measured together) with the centre
    kept last."""
    from sklearn.cluster import kmeans_plusplus

    from gaussmix import _core
    rng = np.random.default_rng(k)
    X = rng.normal(size=(3000, 7)) + rng.normal(scale=5.0, size=(k, 7))[rng.integers(0, k, 3000)]
    t = trials or 2 + int(np.log(k))
    _, expected = kmeans_plusplus(X, k, random_state=np.random.RandomState(0), n_local_trials=t)
    draws = np.random.RandomState(0).random_sample(1 + (k - 1) * t)
    _, indices = _core.kmeans_plus_plus(X, k, draws, t, 2, None)
    np.testing.assert_array_equal(indices, expected)
