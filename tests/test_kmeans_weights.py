"""Sample weights in the core's k-means (``_core.kmeans_lloyd`` and
``_core.kmeans_plus_plus``) against a NumPy transcription of weighted Lloyd,
repeated rows, and the distribution k-means++ must draw from."""

import numpy as np
import pytest
from scipy.stats import chi2

from gaussmix import _core
from helpers import assert_unchanged, snapshot
from reference import nearest_centre


def _weighted_lloyd(X, w, centres, max_iter):
    """Weighted Lloyd written out: label every row by its nearest centre, move
    each centre to sum(w x) / sum(w) over its rows, keep a centre whose rows
    weigh nothing; until no centre moves or after max_iter updates.
    Returns (labels of the last assignment, centres, updates)."""
    X = np.asarray(X, dtype=np.float64)
    centres = np.array(centres, dtype=np.float64)
    K = centres.shape[0]
    for n_iter in range(1, max_iter + 1):
        labels = nearest_centre(X, centres)
        totals = np.bincount(labels, weights=w, minlength=K)
        sums = np.stack([np.bincount(labels, weights=w * X[:, j], minlength=K) for j in range(X.shape[1])], axis=1)
        updated = centres.copy()
        has_weight = totals > 0
        updated[has_weight] = sums[has_weight] / totals[has_weight, None]
        moved = not np.array_equal(updated, centres)
        centres = updated
        if not moved:
            break
    return labels, centres, n_iter


def _blobs(seed=0, n=300):
    """n rows around four centres in 3-D, the fourth far away; weights in
    [0.1, 3), 0 on every row of the fourth blob and on every 7th row."""
    rng = np.random.default_rng(seed)
    means = np.array([[0.0, 0.0, 0.0], [6.0, 0.0, 1.0], [0.0, 6.0, -1.0], [40.0, 40.0, 40.0]])
    which = np.arange(n) % 4
    X = means[which] + 1.5 * rng.standard_normal((n, 3))
    w = rng.uniform(0.1, 3.0, n)
    w[(which == 3) | (np.arange(n) % 7 == 0)] = 0.0
    start = means + 1.0
    return np.ascontiguousarray(X), w, start


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-6)])
def test_lloyd_matches_numpy_transcription(dtype, rtol):
    """Weighted centres, labels and iteration count as the transcription; the
    centre of the weightless fourth blob stays where it started."""
    X, w, start = _blobs()
    X = X.astype(dtype)
    before = snapshot(X, w, start)
    labels, centres, n_iter = _core.kmeans_lloyd(X, start, 100, -1.0, 1, sample_weight=w)
    assert_unchanged(before, X, w, start)
    ref_labels, ref_centres, ref_iter = _weighted_lloyd(X, w, start, 100)
    np.testing.assert_allclose(centres, ref_centres, rtol=rtol, atol=0)
    np.testing.assert_array_equal(labels, ref_labels)
    assert n_iter == ref_iter
    np.testing.assert_array_equal(centres[3], start[3])


def test_lloyd_one_update_matches_transcription():
    """After one update, each centre is the weighted mean of the rows nearest
    to its start (weights that differ from unit weights on purpose)."""
    X, w, start = _blobs(seed=3)
    _, centres, n_iter = _core.kmeans_lloyd(X, start, 1, -1.0, 1, w)
    assert n_iter == 1
    np.testing.assert_allclose(centres, _weighted_lloyd(X, w, start, 1)[1], rtol=1e-12, atol=0)
    _, unweighted, _ = _core.kmeans_lloyd(X, start, 1, -1.0, 1)
    assert not np.allclose(centres[:3], unweighted[:3], rtol=1e-6, atol=0)


def test_integer_weights_equal_repeated_rows():
    """Weight c on a row fits as c copies of that row (np.repeat)."""
    X, _, start = _blobs(seed=1)
    counts = np.arange(X.shape[0]) % 4  # 0 to 3 copies
    _, weighted, weighted_iter = _core.kmeans_lloyd(X, start, 100, -1.0, 1, sample_weight=counts.astype(np.float64))
    _, repeated, repeated_iter = _core.kmeans_lloyd(np.repeat(X, counts, axis=0), start, 100, -1.0, 1)
    np.testing.assert_allclose(weighted, repeated, rtol=1e-12, atol=1e-12)
    assert weighted_iter == repeated_iter


def test_zero_weight_rows_change_nothing():
    """Rows of weight 0 may hold anything: the centres keep every bit."""
    X, w, start = _blobs(seed=2)
    garbage = X.copy()
    garbage[w == 0, 0] = 1e300
    _, clean, clean_iter = _core.kmeans_lloyd(X, start, 100, -1.0, 2, sample_weight=w)
    _, dirty, dirty_iter = _core.kmeans_lloyd(garbage, start, 100, -1.0, 2, sample_weight=w)
    np.testing.assert_array_equal(dirty, clean)
    assert dirty_iter == clean_iter
    for seed in range(10):
        draws = np.random.default_rng(seed).random(1 + 3 * 3)
        clean_seeds = _core.kmeans_plus_plus(X, 4, draws, 3, 2, w)
        dirty_seeds = _core.kmeans_plus_plus(garbage, 4, draws, 3, 2, sample_weight=w)
        np.testing.assert_array_equal(dirty_seeds[1], clean_seeds[1])
        np.testing.assert_array_equal(dirty_seeds[0], X[clean_seeds[1]])


def test_scaled_weights_give_the_same_centres():
    X, w, start = _blobs(seed=4)
    _, base, _ = _core.kmeans_lloyd(X, start, 100, -1.0, 1, sample_weight=w)
    assert not np.allclose(base, _core.kmeans_lloyd(X, start, 100, -1.0, 1)[1], rtol=1e-6, atol=0)
    for factor in (3.7, 1e-250, 1e250):
        _, scaled, _ = _core.kmeans_lloyd(X, start, 100, -1.0, 1, sample_weight=w * factor)
        np.testing.assert_allclose(scaled, base, rtol=1e-12, atol=1e-12)


def _plus_plus(X, k, seed, w=None):
    """Plain k-means++ (one trial per centre) on NumPy's uniforms for seed: the centres."""
    centres, _ = _core.kmeans_plus_plus(X, k, np.random.default_rng(seed).random(k), 1, 1, w)
    return centres


def test_unit_weights_are_no_weights():
    """None and a vector of ones give the same bits, in both functions."""
    X, _, start = _blobs(seed=5)
    ones = np.ones(X.shape[0])
    for x in (X, X.astype(np.float32)):
        plain = _core.kmeans_lloyd(x, start, 100, -1.0, 1)
        weighted = _core.kmeans_lloyd(x, start, 100, -1.0, 1, sample_weight=ones)
        for a, b in zip(plain, weighted):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(_plus_plus(x, 4, 9), _plus_plus(x, 4, 9, ones))


def _first_draw_counts(X, w, draws):
    """How often each row of X is k-means++'s first centre over draws seeds."""
    counts = np.zeros(X.shape[0])
    for seed in range(draws):
        (centre,) = _plus_plus(X, 1, seed, w)
        counts[nearest_centre(centre[None, :], X)[0]] += 1
    return counts


@pytest.mark.parametrize(
    "weights", [None, np.array([1.0, 2.0, 3.0, 4.0, 10.0]), np.array([0.5, 0.0, 0.0, 0.25, 0.25])]
)
def test_first_draw_follows_the_weights(weights):
    """Chi-square goodness of fit of the first centre's row against
    w_i / sum(w) (uniform without weights), over 4000 seeds; rows of weight 0
    are never drawn."""
    X = np.array([[0.0], [1.0], [2.0], [3.0], [4.0]])
    draws = 4000
    observed = _first_draw_counts(X, weights, draws)
    p = np.full(5, 0.2) if weights is None else weights / weights.sum()
    assert np.all(observed[p == 0] == 0)
    expected = draws * p[p > 0]
    statistic = np.sum((observed[p > 0] - expected) ** 2 / expected)
    assert chi2.sf(statistic, df=np.count_nonzero(p) - 1) > 1e-6, (observed, expected)


def test_next_draws_follow_weight_times_squared_distance():
    """After a first row that carries nearly all the weight, rows at squared
    distances 1 and 4 with weights 3 and 1 are drawn as 3 : 4 (1 : 4 if the
    weights were left out)."""
    X = np.array([[0.0], [1.0], [-2.0]])
    w = np.array([1e9, 3.0, 1.0])
    second = np.array([_plus_plus(X, 2, seed, w)[:, 0] for seed in range(4000)])
    second = second[second[:, 0] == 0.0, 1]
    assert second.size > 3950
    share = np.mean(second == 1.0)
    assert abs(share - 3.0 / 7.0) < 5 * np.sqrt(3.0 / 7.0 * 4.0 / 7.0 / second.size)


def test_kmeans_plus_plus_picks_only_rows_with_weight():
    """Centres are rows of positive weight; with weight on three rows and
    k = 5 the three are chosen and then repeated (no error)."""
    X, w, _ = _blobs(seed=6)
    positive = X[w > 0]
    for seed in range(30):
        centres = _plus_plus(X, 4, seed, w)
        assert all((positive == c).all(axis=1).any() for c in centres)
    few = np.zeros(X.shape[0])
    few[[5, 50, 250]] = [1.0, 2.0, 0.5]
    for seed in range(30):
        centres = _plus_plus(X, 5, seed, few)
        assert centres.shape == (5, 3)
        rows = nearest_centre(centres, X)
        assert set(rows) == {5, 50, 250}
        np.testing.assert_array_equal(centres, X[rows])


def _bad_weights(n):
    """(name, weights, message, whether the message names the function):
    values are checked by the core, which names the function; shapes by the
    binding (the error comes from the call itself)."""
    shape = rf"sample_weight must have shape \(N,\) with N = {n}"
    return [
        ("negative", np.r_[-1.0, np.ones(n - 1)], r"sample_weight\[0\] is -1", True),
        ("NaN", np.r_[np.ones(n - 1), np.nan], r"sample_weight\[\d+\] is nan", True),
        ("infinite", np.r_[np.inf, np.ones(n - 1)], r"sample_weight\[0\] is inf", True),
        ("all zero", np.zeros(n), "sample_weight must have a positive", True),
        ("too short", np.ones(n - 1), shape, False),
        ("too long", np.ones(n + 1), shape, False),
        ("empty", np.ones(0), shape, False),  # not None: must not mean unit weights
        ("2-D", np.ones((n, 1)), shape, False),
        ("text", ["a"] * n, shape, False),
    ]


@pytest.mark.parametrize("case", range(len(_bad_weights(4))), ids=[c[0] for c in _bad_weights(4)])
@pytest.mark.parametrize("func", ["kmeans_lloyd", "kmeans_plus_plus"])
def test_bad_weights_are_value_errors(func, case):
    X, _, start = _blobs(seed=7)
    _, weights, message, names_func = _bad_weights(X.shape[0])[case]
    call = {
        "kmeans_lloyd": lambda: _core.kmeans_lloyd(X, start, 10, -1.0, 1, sample_weight=weights),
        "kmeans_plus_plus": lambda: _core.kmeans_plus_plus(X, 3, np.full(3, 0.5), 1, 1, sample_weight=weights),
    }[func]
    with pytest.raises(ValueError, match=message) as info:
        call()
    assert not names_func or func in str(info.value)


def test_weights_of_other_types_convert():
    """Integer, float32 and non-contiguous weights give the float64 result."""
    X, w, start = _blobs(seed=8)
    counts = np.arange(X.shape[0]) % 3
    _, expected, _ = _core.kmeans_lloyd(X, start, 100, -1.0, 1, counts.astype(np.float64))
    assert not np.allclose(expected, _core.kmeans_lloyd(X, start, 100, -1.0, 1)[1], rtol=1e-6, atol=0)
    for same in (counts, counts.astype(np.float32), np.repeat(counts.astype(np.float64), 2)[::2], list(counts)):
        np.testing.assert_array_equal(_core.kmeans_lloyd(X, start, 100, -1.0, 1, same)[1], expected)
