"""Exact EM over a chunk source (a callable returning a fresh iterator of row
blocks): the fit equals the in-memory fit from the same start (every
covariance model, weighted or not, float32), draws its start from the same
sample as a Dask fit, reads the source once per iteration, holds one chunk
at a time, and refuses bad sources with messages that say what to do. The
file helpers (npy_chunks, parquet_chunks) give the file's rows."""
from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.mixture import GaussianMixture as SkGaussianMixture  # noqa: E402

import gaussmix  # noqa: E402
from gaussmix import BayesianGaussianMixture, GaussianMixture, npy_chunks, parquet_chunks  # noqa: E402
from gaussmix._chunks import merged_column_stats  # noqa: E402
from gaussmix._validation import column_stats  # noqa: E402
from helpers import spread_start, three_clusters  # noqa: E402

N, D, K = 6000, 3, 3
CHUNK = 1100  # 6 chunks, the last one short
MODELS = ["full", "tied", "diag", "spherical"]


X, W = three_clusters(N, 0.0)
W = 2 * W  # in [0, 2)


def start_for(ctype):
    return spread_start(X, ctype)


class Counted:
    """A chunk source of x (and w) in blocks of `rows`, counting its passes."""

    def __init__(self, x, w=None, rows=CHUNK):
        self.x, self.w, self.rows, self.calls = x, w, rows, 0

    def __call__(self):
        self.calls += 1
        return self._blocks()

    def _blocks(self):
        for i in range(0, len(self.x), self.rows):
            block = self.x[i:i + self.rows].copy()  # a fresh array per read, as a file would give
            yield block if self.w is None else (block, self.w[i:i + self.rows].copy())
            del block  # not held while the next is made


def fitted(X_or_source, sample_weight=None, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GaussianMixture(**params).fit(X_or_source, sample_weight=sample_weight)


def assert_same_fit(a, b, rtol=1e-10):
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=rtol, atol=rtol, err_msg=name)
    np.testing.assert_allclose(a.lower_bounds_, b.lower_bounds_, rtol=rtol)
    assert a.n_iter_ == b.n_iter_ and a.converged_ == b.converged_


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ctype", MODELS)
def test_equals_in_memory_fit_from_the_same_start(ctype, weighted):
    w = W if weighted else None
    params = dict(n_components=K, covariance_type=ctype, tol=1e-9, max_iter=40, **start_for(ctype))
    source = Counted(X, w)
    chunked = fitted(source, **params)
    assert_same_fit(fitted(X, sample_weight=w, **params), chunked)
    # One read to check and count the rows, then one per EM iteration (the start was given: no sample).
    assert source.calls == 1 + chunked.n_iter_
    assert chunked.n_features_in_ == D and chunked.n_samples_seen_ == N


def test_equals_scikit_learn_from_the_same_start():
    params = dict(n_components=K, covariance_type="full", tol=1e-9, max_iter=40, **start_for("full"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference = SkGaussianMixture(**params).fit(X)
    chunked = fitted(Counted(X), **params)
    np.testing.assert_allclose(chunked.means_, reference.means_, rtol=1e-9)
    np.testing.assert_allclose(chunked.covariances_, reference.covariances_, rtol=1e-9)
    np.testing.assert_allclose(chunked.lower_bound_, reference.lower_bound_, rtol=1e-12)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_start_is_drawn_from_the_sample_a_dask_fit_draws(init_params):
    da = pytest.importorskip("dask.array")
    rng = np.random.default_rng(5)
    x = np.concatenate([X, X[:, ::-1]] * 2) + rng.normal(size=(4 * N, D)) * 0.1
    weights = np.concatenate([W] * 4)
    weights[::3] = 0  # the sample is drawn among the rows of positive weight: 10,000 of 16,000
    params = dict(n_components=K, init_params=init_params, random_state=3, n_init=2, max_iter=20)
    with_dask = fitted(da.from_array(x, chunks=CHUNK), sample_weight=da.from_array(weights, chunks=CHUNK), **params)
    source = Counted(x, weights, rows=700)  # other chunk boundaries than Dask's: the sample is the same rows
    iterations = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        chunked = GaussianMixture(**params).fit(source, progress=iterations.append)
    assert_same_fit(with_dask, chunked, rtol=1e-9)
    # The check pass, one pass for the sample (read once for both initialisations), each run's iterations.
    assert source.calls == 2 + len(iterations)


def test_sample_ranks_are_a_uniform_sample_without_replacement():
    from gaussmix._dask import initial_sample_size, sample_ranks

    n, k = 10**6, 3  # a sample of 10,000: 1% of the rows, drawn with repeats redrawn
    counts, firsts = np.zeros(20), []
    for seed in range(30):
        ranks = sample_ranks(n, k, np.random.RandomState(seed))
        assert len(ranks) == initial_sample_size(n, k) == 10_000
        assert np.all(np.diff(ranks) > 0) and ranks[0] >= 0 and ranks[-1] < n  # sorted, distinct, in range
        counts += np.bincount(ranks * 20 // n, minlength=20)
        firsts.append(ranks[0])
    # Each twentieth of the rows holds 1/20 of 300,000 draws: 15,000, sd ~ 119.
    assert np.abs(counts - 15_000).max() < 6 * 119, counts
    assert len(set(firsts)) == 30  # the random state decides the sample
    # A large share of the rows: all of them when there are fewer than the sample size.
    np.testing.assert_array_equal(sample_ranks(5000, k, np.random.RandomState(0)), np.arange(5000))


def test_reads_once_per_iteration_with_a_sampled_start():
    source = Counted(X)
    calls = []
    model = GaussianMixture(K, random_state=0, max_iter=100, tol=1e-6).fit(
        source, progress=lambda p: calls.append(source.calls))
    assert source.calls == 2 + model.n_iter_
    # The progress event of iteration i comes after the (2 + i + 1)-th read: one read per iteration.
    assert calls == list(range(3, 3 + model.n_iter_))


def test_float32_chunks_give_a_float32_model_like_the_in_memory_fit():
    x32 = X.astype(np.float32)
    params = dict(n_components=K, tol=1e-6, max_iter=30, **start_for("full"))
    chunked = fitted(Counted(x32), **params)
    in_memory = fitted(x32, **params)
    assert chunked.means_.dtype == np.float32
    np.testing.assert_allclose(chunked.means_, in_memory.means_, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(chunked.covariances_, in_memory.covariances_, rtol=1e-4, atol=1e-5)


def test_float32_chunks_far_from_the_origin_switch_to_float64_kernels_as_in_memory():
    # Spreads of 2**45, outside the float32 kernels' band: the in-memory fit runs float64 kernels.
    rng = np.random.default_rng(1)
    x32 = (rng.normal(size=(4000, 2)) * 2.0**45 + [0, 2.0**47]).astype(np.float32)
    params = dict(n_components=2, covariance_type="diag", max_iter=5, reg_covar=0, means_init=x32[[0, 1]],
                  weights_init=[0.5, 0.5], precisions_init=np.full((2, 2), 2.0**-90))
    chunked = fitted(Counted(x32, rows=900), **params)
    in_memory = fitted(x32, **params)
    assert chunked.means_.dtype == np.float32
    np.testing.assert_allclose(chunked.covariances_, in_memory.covariances_, rtol=1e-10)


def test_mixed_dtypes_fit_in_float64():
    source = lambda: iter([X[:3000].astype(np.float32), X[3000:]])  # noqa: E731
    model = fitted(source, n_components=K, random_state=0, max_iter=5)
    assert model.means_.dtype == np.float64


def test_bayesian_mixture_equals_its_dask_fit_and_takes_the_priors_of_all_rows():
    da = pytest.importorskip("dask.array")
    params = dict(n_components=4, covariance_type="full", max_iter=30, tol=1e-9, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with_dask = BayesianGaussianMixture(**params).fit(da.from_array(X, chunks=2000))
        chunked = BayesianGaussianMixture(**params).fit(Counted(X))
    np.testing.assert_allclose(chunked.mean_prior_, X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(chunked.covariance_prior_, np.cov(X.T), rtol=1e-10)
    for name in ("weights_", "means_", "covariances_", "degrees_of_freedom_", "mean_precision_"):
        np.testing.assert_allclose(getattr(chunked, name), getattr(with_dask, name), rtol=1e-9, err_msg=name)
    np.testing.assert_allclose(chunked.lower_bound_, with_dask.lower_bound_, rtol=1e-10)


def test_fit_predict_labels_every_row():
    model = GaussianMixture(K, random_state=0)
    labels = model.fit_predict(Counted(X))
    np.testing.assert_array_equal(labels, model.predict(X))


def test_zero_weight_chunks_and_empty_chunks_add_nothing():
    w = W.copy()
    w[:CHUNK] = 0  # the first chunk weighs nothing
    params = dict(n_components=K, max_iter=20, **start_for("full"))
    source = lambda: iter([(X[:CHUNK], w[:CHUNK]), (X[:0], w[:0]), (X[CHUNK:], w[CHUNK:])])  # noqa: E731
    assert_same_fit(fitted(X[CHUNK:], sample_weight=W[CHUNK:], **params), fitted(source, **params))


def test_warm_start_continues_from_the_fit():
    params = dict(n_components=K, warm_start=True, max_iter=3, **start_for("full"))
    a, b = GaussianMixture(**params), GaussianMixture(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(3):
            a.fit(X)
            b.fit(Counted(X))
    assert_same_fit(a, b)
    with pytest.raises(ValueError, match="chunk 0 .* has 2 columns, but the model was fitted to 3"):
        b.fit(Counted(X[:, :2]))


def test_one_chunk_in_memory_at_a_time():
    big = np.random.default_rng(2).normal(size=(200_000, 4))
    rows = 10_000  # 20 chunks of 320 kB
    params = dict(n_components=2, max_iter=3, means_init=big[:2], weights_init=[0.5, 0.5],
                  precisions_init=np.stack([np.eye(4)] * 2))
    source = Counted(big, rows=rows)
    fitted(source, **params)  # warm the imports
    del big
    tracemalloc.start()
    fitted(source, **params)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # The source's own 6.4 MB array is not traced (allocated before): the fit holds one chunk of 320 kB at a
    # time (not the next one beside it, nor all 20), and its statistics.
    assert peak < 1.5 * rows * 4 * 8, f"peak {peak} bytes: the fit holds more than one chunk"


# --------------------------------------------------------------------------- refused sources


def test_refuses_a_chunk_with_nan_naming_its_rows():
    x = X.copy()
    x[2500, 1] = np.nan
    with pytest.raises(ValueError, match=r"rows 2200 to 3299 \(chunk 2\) hold NaN.*impute"):
        GaussianMixture(K).fit(Counted(x))
    x[2500, 1] = np.inf
    with pytest.raises(ValueError, match="hold infinity"):
        GaussianMixture(K).fit(Counted(x))


def test_refuses_a_chunk_of_another_width():
    source = lambda: iter([X[:100], X[100:200, :2]])  # noqa: E731
    with pytest.raises(ValueError, match=r"chunk 1 \(from row 100\) has 2 columns, but chunk 0 has 3"):
        GaussianMixture(K).fit(source)


def test_refuses_an_empty_source():
    with pytest.raises(ValueError, match="gave no rows"):
        GaussianMixture(K).fit(lambda: iter([]))
    with pytest.raises(ValueError, match="gave no rows"):
        GaussianMixture(K).fit(lambda: iter([X[:0]]))


def test_refuses_fewer_rows_than_components():
    with pytest.raises(ValueError, match="n_samples >= n_components"):
        GaussianMixture(5).fit(lambda: iter([X[:4]]))


def test_refuses_a_source_that_is_not_re_iterable():
    generator = (X[i:i + CHUNK] for i in range(0, N, CHUNK))
    with pytest.raises(TypeError, match="iterator, which can be read only once.*callable"):
        GaussianMixture(K).fit(generator)
    spent = (X[i:i + CHUNK] for i in range(0, N, CHUNK))
    with pytest.raises(ValueError, match="returned the iterator it returned before"):
        GaussianMixture(K, random_state=0).fit(lambda: spent)
    blocks = [X[i:i + CHUNK] for i in range(0, N, CHUNK)]
    once = iter([iter(blocks), iter(blocks[:2])])
    with pytest.raises(ValueError, match=f"gave {2 * CHUNK} rows on pass 2 but {N} on its first"):
        GaussianMixture(K, random_state=0).fit(lambda: next(once))


def test_refuses_what_is_not_a_chunk():
    with pytest.raises(TypeError, match="returned int, not an iterator"):
        GaussianMixture(K).fit(lambda: 3)
    with pytest.raises(TypeError, match="chunk 0 holds <U1, not real numbers"):
        GaussianMixture(K).fit(lambda: iter([np.array([["a"]])]))
    with pytest.raises(ValueError, match=r"chunk 0 has shape \(6000,\); chunks must be 2-D"):
        GaussianMixture(K).fit(lambda: iter([X[:, 0]]))
    with pytest.raises(ValueError, match=r"chunk 0's sample_weight has shape \(5,\)"):
        GaussianMixture(K).fit(lambda: iter([(X, W[:5])]))
    with pytest.raises(ValueError, match=r"finite and >= 0, which it is not in rows 0 to 5999 \(chunk 0\)"):
        GaussianMixture(K).fit(lambda: iter([(X, -W)]))
    with pytest.raises(ValueError, match="every weight is zero"):
        GaussianMixture(K).fit(lambda: iter([(X, 0 * W)]))
    with pytest.raises(ValueError, match="give the weights in the chunks"):
        GaussianMixture(K).fit(Counted(X), sample_weight=W)
    with pytest.raises(TypeError, match="partial_fit.*one batch of rows as an array"):
        GaussianMixture(K).partial_fit(Counted(X))


# --------------------------------------------------------------------------- merged column statistics


@pytest.mark.parametrize("scale", [1.0, 1e200, 1e-200])
def test_merged_column_statistics_are_those_of_all_rows(scale):
    x = (X + [1e3, 0.0, -7.0]) * scale
    parts = [(len(x[i:i + CHUNK]), column_stats(x[i:i + CHUNK])) for i in range(0, N, CHUNK)]
    merged = merged_column_stats(parts)
    np.testing.assert_allclose(merged.mean, x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(merged.spread, (x / scale).std(axis=0) * scale, rtol=1e-10)
    np.testing.assert_allclose(merged.max_dev, np.abs(x - x.mean(axis=0)).max(axis=0), rtol=1e-12)
    np.testing.assert_array_equal(merged.lo, x.min(axis=0))
    np.testing.assert_array_equal(merged.hi, x.max(axis=0))


def test_constant_column_is_constant_when_merged():
    x = X.copy()
    x[:, 1] = 0.1
    parts = [(len(x[i:i + CHUNK]), column_stats(x[i:i + CHUNK])) for i in range(0, N, CHUNK)]
    merged = merged_column_stats(parts)
    assert merged.constant.tolist() == [False, True, False] and merged.spread[1] == 0


# --------------------------------------------------------------------------- file helpers


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int16, ">f8"])
@pytest.mark.parametrize("order", ["C", "F"])
def test_npy_chunks_give_the_file_rows(tmp_path, dtype, order):
    path = tmp_path / "x.npy"
    data = np.asfortranarray(X * 10) if order == "F" else X * 10
    np.save(path, data.astype(dtype))
    source = npy_chunks(path, rows=1000)
    blocks = list(source())
    assert [len(b) for b in blocks] == [1000] * 6
    np.testing.assert_array_equal(np.concatenate(blocks), np.load(path))
    assert source.n_rows == N and source.n_features == D
    np.testing.assert_array_equal(np.concatenate(list(source())), np.load(path))  # a fresh pass each call


def test_npy_chunks_of_a_1d_array_are_one_column(tmp_path):
    np.save(tmp_path / "v.npy", X[:, 0])
    np.testing.assert_array_equal(np.concatenate(list(npy_chunks(tmp_path / "v.npy", rows=999)())), X[:, :1])


def test_npy_chunks_fit_equals_the_in_memory_fit(tmp_path):
    np.save(tmp_path / "x.npy", X)
    params = dict(n_components=K, random_state=0, max_iter=30)
    import dask.array as da

    assert_same_fit(fitted(da.from_array(X, chunks=2000), **params), fitted(npy_chunks(tmp_path / "x.npy"), **params),
                    rtol=1e-9)
    assert "npy_chunks" in repr(npy_chunks(tmp_path / "x.npy"))


def test_npy_chunks_refuse_what_they_cannot_read(tmp_path):
    with pytest.raises(ValueError, match="not a readable .npy file"):
        npy_chunks(tmp_path / "missing.npy")
    np.save(tmp_path / "o.npy", np.array(["a", "b"]))
    with pytest.raises(TypeError, match="not real numbers"):
        npy_chunks(tmp_path / "o.npy")
    np.save(tmp_path / "c.npy", np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="3-D array"):
        npy_chunks(tmp_path / "c.npy")
    np.save(tmp_path / "v.npy", X)
    with pytest.raises(ValueError, match="rows must be a positive int"):
        npy_chunks(tmp_path / "v.npy", rows=0)
    np.save(tmp_path / "t.npy", X)
    source = npy_chunks(tmp_path / "t.npy", rows=5000)
    data = (tmp_path / "t.npy").read_bytes()
    (tmp_path / "t.npy").write_bytes(data[:-100])  # truncated after the source was made
    with pytest.raises(ValueError, match="ended at row 5995 of the 6000 its header gives: the file is truncated"):
        list(source())
    with pytest.raises(ValueError, match="not a readable .npy file.*greater than file size"):
        npy_chunks(tmp_path / "t.npy")


def test_parquet_chunks_give_the_numeric_columns(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"a": X[:, 0], "b": (X[:, 1] * 10).astype(np.int32), "name": ["r"] * N, "c": X[:, 2]})
    frame.to_parquet(tmp_path / "x.parquet", row_group_size=2500)
    source = parquet_chunks(tmp_path / "x.parquet", columns=["a", "b", "c"], rows=1000)
    blocks = list(source())
    assert max(len(b) for b in blocks) <= 1000 and source.n_rows == N
    np.testing.assert_array_equal(np.concatenate(blocks), frame[["a", "b", "c"]].to_numpy(dtype=np.float64))
    with pytest.raises(TypeError, match="column 'name' .* not numbers"):
        parquet_chunks(tmp_path / "x.parquet")
    with pytest.raises(ValueError, match="has no column 'z'"):
        parquet_chunks(tmp_path / "x.parquet", columns=["a", "z"])
    frame.loc[1234, "a"] = None
    frame.to_parquet(tmp_path / "n.parquet")
    with pytest.raises(ValueError, match=r"rows 1000 to 1999 \(chunk 1\) hold NaN"):
        GaussianMixture(K).fit(parquet_chunks(tmp_path / "n.parquet", columns=["a", "b"], rows=1000))


def test_helpers_are_public():
    assert gaussmix.npy_chunks is npy_chunks and "parquet_chunks" in gaussmix.__all__
