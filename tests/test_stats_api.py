"""The statistics API (block_stats, merge_stats, m_step, SufficientStats):
statistics of disjoint blocks merged in a fixed order equal the one-pass
statistics, merging is deterministic, statistics of different mixtures,
models or dtypes refuse to merge, both types pickle, and EM written as a
Python loop over blocks is fit_em."""

import pickle

import numpy as np
import pytest

import gaussmix
import model_reference as ref
from model_reference import assert_close, problem, start

MODELS = ref.MODELS
FIELDS = ("shift", "resp_sum", "first", "second")


def start_mixture(covariance_type, X, means):
    return gaussmix.Mixture(*start(covariance_type, X, means), covariance_type=covariance_type)


def _same_stats(a, b):
    assert a.covariance_type == b.covariance_type
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert (a.log_likelihood, a.weight_sum, a.n_rows) == (b.log_likelihood, b.weight_sum, b.n_rows)


def _stats_close(merged, one, rtol):
    """Sums equal to rounding; the shift (a parameter, not a sum) and the
    row count exactly."""
    np.testing.assert_array_equal(merged.shift, one.shift)
    assert merged.n_rows == one.n_rows
    for name in ("resp_sum", "first", "second"):
        assert_close(getattr(merged, name), getattr(one, name), rtol, name)
    assert merged.log_likelihood == pytest.approx(one.log_likelihood, rel=rtol)
    assert merged.weight_sum == pytest.approx(one.weight_sum, rel=rtol)


N = 3000


def _splits(seed):
    """Cut points into N rows: 1-row blocks at both ends, cuts at and off
    multiples of 512 (the core's block size), and random ones."""
    rng = np.random.default_rng(seed)
    fixed = [1, 2, 512, 515, 1024, 1031, N - 1]
    return sorted(set(fixed) | set(rng.choice(np.arange(3, N - 1), 6, replace=False).tolist()))


def _block_stats(X, mix, w, cuts):
    ws = [None] * (len(cuts) + 1) if w is None else np.split(w, cuts)
    return [gaussmix.block_stats(xb, mix, sample_weight=wb) for xb, wb in zip(np.split(X, cuts), ws)]


# ---------------------------------------------------------------- merged = one pass
@pytest.mark.parametrize("covariance_type", MODELS)
@pytest.mark.parametrize("far", [False, True], ids=["near", "far"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_merged_blocks_equal_one_pass(covariance_type, far, weighted):
    X, means = problem(40, far, n=N)
    mix = start_mixture(covariance_type, X, means)
    w = np.random.default_rng(41).uniform(0.0, 2.0, N) if weighted else None
    one = gaussmix.block_stats(X, mix, sample_weight=w)
    for seed in (1, 2):
        cuts = _splits(seed)
        blocks = _block_stats(X, mix, w, cuts)
        assert [b.n_rows for b in blocks][:2] == [1, 1]
        merged = gaussmix.merge_stats(blocks)
        _stats_close(merged, one, 1e-12)
        # the same blocks merged in the same order: the same bits, every time
        _same_stats(gaussmix.merge_stats(_block_stats(X, mix, w, cuts)), merged)
        _same_stats(gaussmix.merge_stats(iter(blocks)), merged)
        # a + b is merge_stats([a, b]); a left fold of + is merge_stats of all
        _same_stats(blocks[0] + blocks[1], gaussmix.merge_stats(blocks[:2]))
        folded = blocks[0]
        for b in blocks[1:]:
            folded = folded + b
        _stats_close(folded, merged, 1e-13)
        # m_step of merged statistics is the m_step of the one pass. A
        # covariance summed around the mixture's mean 100+ sds away ('far')
        # keeps ~1e-11 of relative precision (the core's allowance): there
        # the sums' last-bit differences grow to ~4e-12.
        rtol = 1e-10 if far else 1e-12
        a, b = gaussmix.m_step(merged, reg_covar=1e-6), gaussmix.m_step(one, reg_covar=1e-6)
        for name in ("weights", "means", "covariances"):
            assert_close(getattr(a, name), getattr(b, name), rtol, name)


@pytest.mark.parametrize("covariance_type", MODELS)
def test_merged_float32_blocks_equal_one_float32_pass(covariance_type):
    """float32 blocks merge with float32 blocks. The kernels sum each row
    block (up to 512 rows) in float32 before adding it to the double
    accumulators, so another cut of the rows changes the sums by about
    sqrt(512) float32 eps (measured 4e-8): 1e-6."""
    X, means = problem(42, n=N)
    X = X.astype(np.float32)
    mix = start_mixture(covariance_type, X, means)
    one = gaussmix.block_stats(X, mix)
    merged = gaussmix.merge_stats(_block_stats(X, mix, None, _splits(3)))
    _stats_close(merged, one, 1e-6)


def test_a_single_statistics_object_merges_to_itself():
    X, means = problem(43, n=100)
    s = gaussmix.block_stats(X, start_mixture("full", X, means))
    _same_stats(gaussmix.merge_stats([s]), s)


# ---------------------------------------------------------------- what must not merge
def test_statistics_of_different_models_do_not_merge():
    X, means = problem(44, n=200)
    stats = {t: gaussmix.block_stats(X, start_mixture(t, X, means)) for t in MODELS}
    for a in MODELS:
        for b in MODELS:
            if a != b:
                with pytest.raises(ValueError, match="statistics of the .* model cannot merge"):
                    gaussmix.merge_stats([stats[a], stats[b]])
                with pytest.raises(ValueError):
                    stats[a] + stats[b]


@pytest.mark.parametrize("covariance_type", MODELS)
def test_statistics_of_different_mixtures_do_not_merge(covariance_type):
    X, means = problem(45, n=400)
    w, m, c = start(covariance_type, X, means)
    mix = gaussmix.Mixture(w, m, c, covariance_type)
    s = gaussmix.block_stats(X, mix)
    moved = gaussmix.block_stats(X, gaussmix.Mixture(w, m + 0.5, c, covariance_type))
    reweighted = gaussmix.block_stats(X, gaussmix.Mixture([0.2, 0.3, 0.5], m, c, covariance_type))
    other_k = gaussmix.block_stats(X, gaussmix.Mixture(w[:2] / w[:2].sum(), m[:2], c[:2] if covariance_type != "tied"
                                                       else c, covariance_type))
    other_d = gaussmix.block_stats(X[:, :2], gaussmix.Mixture(w, m[:, :2], ref.model_covariances(
        covariance_type, np.stack([np.eye(2)] * 3)), covariance_type))
    for other in (moved, reweighted, other_k, other_d):
        with pytest.raises(ValueError, match="merge"):
            gaussmix.merge_stats([s, other])
    # Same means and weights, other covariances: the shifts agree, yet these are
    # the statistics of another mixture (responsibilities under other covariances).
    scaled = gaussmix.Mixture(w, m, np.asarray(c) * 2.0, covariance_type)
    with pytest.raises(ValueError, match="merge"):
        gaussmix.merge_stats([s, gaussmix.block_stats(X, scaled)])


@pytest.mark.parametrize("covariance_type", MODELS)
def test_statistics_of_float32_and_float64_blocks_do_not_merge(covariance_type):
    X, means = problem(46, n=400)
    mix = start_mixture(covariance_type, X, means)
    s64 = gaussmix.block_stats(X[:200], mix)
    s32 = gaussmix.block_stats(X[200:].astype(np.float32), mix)
    with pytest.raises(ValueError, match="different precision"):
        gaussmix.merge_stats([s64, s32])
    with pytest.raises(ValueError, match="different precision"):
        s32 + s64


def test_merge_stats_refuses_nothing_and_other_objects():
    X, means = problem(47, n=100)
    s = gaussmix.block_stats(X, start_mixture("diag", X, means))
    with pytest.raises(ValueError, match=r"merge_stats\(\): no statistics"):
        gaussmix.merge_stats([])
    with pytest.raises(TypeError, match=r"merge_stats\(\): expected SufficientStats"):
        gaussmix.merge_stats([s, s.__getstate__()])
    with pytest.raises(TypeError, match=r"merge_stats\(\): expected SufficientStats"):
        gaussmix.merge_stats([s, 1.0])


# ---------------------------------------------------------------- pickling
@pytest.mark.parametrize("covariance_type", MODELS)
def test_statistics_and_mixtures_pickle(covariance_type):
    X, means = problem(48, n=1000)
    mix = start_mixture(covariance_type, X, means)
    s = gaussmix.block_stats(X[:600], mix)
    t = gaussmix.block_stats(X[600:], mix)
    s2 = pickle.loads(pickle.dumps(s))
    assert type(s2) is gaussmix.SufficientStats
    _same_stats(s2, s)
    _same_stats(s2 + t, s + t)  # what a worker sends back merges as the original
    a, b = gaussmix.m_step(s2), gaussmix.m_step(s)
    for name in ("weights", "means", "covariances"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    mix2 = pickle.loads(pickle.dumps(mix))
    assert type(mix2) is gaussmix.Mixture and mix2.covariance_type == covariance_type
    for name in ("weights", "means", "covariances"):
        np.testing.assert_array_equal(getattr(mix2, name), getattr(mix, name))
    np.testing.assert_array_equal(mix2.log_density(X), mix.log_density(X))
    _same_stats(gaussmix.block_stats(X[:600], mix2), s)


@pytest.mark.parametrize("covariance_type", MODELS)
def test_unpickled_objects_stay_read_only(covariance_type):
    """Both types promise read-only arrays; a copy that came back from a
    worker (unpickled) keeps that promise."""
    X, means = problem(49, n=200)
    mix = start_mixture(covariance_type, X, means)
    s = gaussmix.block_stats(X, mix)
    for name in FIELDS:
        assert not getattr(s, name).flags.writeable
        assert not getattr(pickle.loads(pickle.dumps(s)), name).flags.writeable, name
    for name in ("weights", "means", "covariances"):
        assert not getattr(pickle.loads(pickle.dumps(mix)), name).flags.writeable, name


# ---------------------------------------------------------------- EM as a loop over blocks
@pytest.mark.parametrize("covariance_type", MODELS)
@pytest.mark.parametrize("far", [False, True], ids=["near", "far"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_em_as_a_python_loop_over_blocks_is_fit_em(covariance_type, far, weighted):
    """The docstring's recipe (block_stats per block, merge_stats, m_step) for
    10 iterations against fit_em(tol=0, max_iter=10): the blocks are cut
    otherwise than the core's chunks, so the sums round differently: 1e-10."""
    X, means = problem(50, far, n=2500)
    w = np.random.default_rng(51).uniform(0.0, 2.0, len(X)) if weighted else None
    init = start_mixture(covariance_type, X, means)
    cuts = [1, 700, 701, 1500, 2048]
    mix = init
    for _ in range(10):
        stats = gaussmix.merge_stats(_block_stats(X, mix, w, cuts))
        mix = gaussmix.m_step(stats, reg_covar=1e-6)
    fit = gaussmix.fit_em(X, init, sample_weight=w, max_iter=10, tol=0, reg_covar=1e-6)
    assert fit.n_iter == 10
    for name in ("weights", "means", "covariances"):
        assert_close(getattr(mix, name), getattr(fit.mixture, name), 1e-10, name)
    assert stats.log_likelihood == pytest.approx(fit.log_likelihood, rel=1e-10)
    assert stats.log_likelihood / stats.weight_sum == pytest.approx(fit.lower_bound, rel=1e-10)


# ---------------------------------------------------------------- the typed core boundary
def _fields(s):
    return {name: getattr(s, name) for name in ("covariance_type", "shift", "resp_sum", "first", "second",
                                                "log_likelihood", "weight_sum", "n_rows", "mixture_fingerprint",
                                                "latent_entropy")}


@pytest.mark.parametrize("covariance_type", MODELS)
def test_statistics_are_built_from_their_fields_by_keyword(covariance_type):
    """The keyword constructor takes the attributes back: the statistics equal
    the original bit for bit, merge with the original's kind and give the
    same M-step; the arrays are copies (changing the source changes nothing)."""
    X, means = problem(52, n=500)
    mix = start_mixture(covariance_type, X, means)
    s = gaussmix.block_stats(X, mix)
    fields = {name: np.array(v) if isinstance(v, np.ndarray) else v for name, v in _fields(s).items()}
    rebuilt = gaussmix.SufficientStats(**fields)
    assert rebuilt == s
    _same_stats(rebuilt, s)
    fields["first"][0, 0] += 1.0
    assert rebuilt == s
    _same_stats(rebuilt + s, s + s)
    a, b = gaussmix.m_step(rebuilt), gaussmix.m_step(s)
    for name in ("weights", "means", "covariances"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    with pytest.raises(TypeError):
        gaussmix.SufficientStats(*fields.values())  # keywords only: nine positional numbers are a mistake


@pytest.mark.parametrize("field, bad, shape", [
    ("resp_sum", np.zeros(4), r"\(3,\)"), ("first", np.zeros((3, 2)), r"\(3, 3\)"),
    ("second", np.zeros((3, 3)), r"\(3, 3, 3\) for the full model"), ("shift", np.zeros(3), r"\(K, D\)")])
def test_statistics_of_the_wrong_shape_are_refused_by_name(field, bad, shape):
    X, means = problem(53, n=100)
    fields = _fields(gaussmix.block_stats(X, start_mixture("full", X, means)))
    fields[field] = bad
    with pytest.raises(ValueError, match=rf"SufficientStats: {field} must have shape {shape}"):
        gaussmix.SufficientStats(**fields)


def test_statistics_compare_equal_bit_for_bit():
    X, means = problem(54, n=300)
    mix = start_mixture("diag", X, means)
    s = gaussmix.block_stats(X, mix)
    assert s == gaussmix.block_stats(X, mix)  # the same pass again: the same bits
    assert s == pickle.loads(pickle.dumps(s))
    for name in ("log_likelihood", "weight_sum", "latent_entropy"):
        fields = _fields(s)
        fields[name] = np.nextafter(fields[name], np.inf)
        assert gaussmix.SufficientStats(**fields) != s, name
    fields = _fields(s)
    fields["second"] = np.array(fields["second"])
    fields["second"][2, 1] = np.nextafter(fields["second"][2, 1], np.inf)
    assert gaussmix.SufficientStats(**fields) != s
    assert gaussmix.block_stats(X[:-1], mix) != s
    assert s != s.__getstate__() and s != 1.0


def test_statistics_pickle_under_the_public_name():
    """Pickles name gaussmix.SufficientStats, not the compiled module of one CPU
    level (_core_avx2, ...), which another machine may not have."""
    assert gaussmix.SufficientStats.__module__ == "gaussmix"
    X, means = problem(55, n=100)
    data = pickle.dumps(gaussmix.block_stats(X, start_mixture("tied", X, means)))
    assert b"gaussmix" in data and b"gaussmix._core" not in data


def test_every_statistics_call_of_the_core_speaks_the_class():
    """The bindings that make statistics return the class, and those that read
    them take it (no tuples read by position)."""
    from gaussmix import _core
    X, means = problem(56, n=200)
    mix = start_mixture("full", X, means)
    w, m, c, t = mix.core_args()
    X_holes = X.copy()
    X_holes[3, 1] = np.nan
    patterns = _core.missing_patterns(X_holes)
    made = [_core.accumulate_stats(X, w, m, c, t, None, 1),
            _core.responsibility_stats(X, np.full((len(X), 3), 1 / 3), t, m, None, 1),
            _core.label_stats(X, np.arange(len(X), dtype=np.int64) % 3, t, m, None, 1),
            _core.complete_row_stats(X, w, m, c, t, 0.0, None, 1),
            _core.missing_stats(X_holes, patterns, w, m, c, t, m, None, 1, 0.0)]
    made.append(_core.merge_stats(made[:1] * 2))
    for s in made:
        assert type(s) is gaussmix.SufficientStats
    weights, _, _ = _core.m_step(made[0], np.empty(0), 0.0).parameters
    np.testing.assert_allclose(weights.sum(), 1.0)
    _, means_ = _core.m_step_means(made[1])
    np.testing.assert_allclose(means_, np.repeat(X.mean(axis=0)[None], 3, axis=0))
    assert _core.recentred_shifts(made[0], 0.0, False) is None


def _label_stats_by_formula(X, labels, covariance_type, shifts, w):
    """label_stats as its definition reads, in plain NumPy (float64): row i adds
    w_i, w_i (x_i - s_k) and the model's w_i (x_i - s_k)^2 terms to component
    k = labels[i] only; a label of -1 adds to no component."""
    X = X.astype(np.float64)
    K, D = shifts.shape
    w = np.ones(len(X)) if w is None else w
    resp = np.zeros(K)
    first = np.zeros((K, D))
    second = {"full": np.zeros((K, D, D)), "tied": np.zeros((D, D)), "diag": np.zeros((K, D)),
              "spherical": np.zeros(K)}[covariance_type]
    for k in range(K):
        rows = labels == k
        delta = X[rows] - shifts[k]
        wk = w[rows]
        resp[k] = wk.sum()
        first[k] = wk @ delta
        if covariance_type == "full":
            second[k] = (delta * wk[:, None]).T @ delta
        elif covariance_type == "tied":
            second += (delta * wk[:, None]).T @ delta
        elif covariance_type == "diag":
            second[k] = wk @ delta**2
        else:
            second[k] = wk @ (delta**2).sum(axis=1)
    return resp, first, second


@pytest.mark.parametrize("covariance_type", MODELS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_label_stats_match_the_formula(covariance_type, dtype, weighted):
    # Several 512-row blocks and chunks, rows of every label scattered through them,
    # label -1 (no component) and zero weights among them, a component with no row.
    from gaussmix import _core

    rng = np.random.default_rng(11)
    N, D, K = 5000, 4, 5
    X = (rng.normal(size=(N, D)) * 2 + 3).astype(dtype)
    labels = rng.integers(-1, K - 1, N).astype(np.int64)  # component K - 1 gets no row
    w = None
    if weighted:
        w = rng.uniform(0.1, 3.0, N)
        w[::11] = 0.0
    shifts = rng.normal(size=(K, D))
    want = _label_stats_by_formula(X, labels, covariance_type, shifts.astype(dtype).astype(np.float64), w)
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    got = [_core.label_stats(X, labels, covariance_type, shifts, w, threads) for threads in (1, 2)]
    for s in got:
        for field, expected in zip(("resp_sum", "first", "second"), want):
            np.testing.assert_allclose(np.asarray(getattr(s, field)), expected, rtol=rtol,
                                       atol=rtol * np.abs(expected).max(), err_msg=field)
        assert s.weight_sum == pytest.approx(N if w is None else w.sum(), rel=1e-14)
        assert s.n_rows == N
    assert got[0] == got[1]  # the same bits for any thread count
