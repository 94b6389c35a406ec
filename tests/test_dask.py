"""GaussianMixture on Dask arrays, on a dask.distributed LocalCluster of worker
processes that the tests start themselves: the fit equals the in-memory fit
from the same start (every covariance model, weighted or not), is
bit-identical for 1 and 2 workers and from run to run, scores lazily what
in-memory scoring gives, and refuses bad chunks from the client without
leaving data on the workers."""
from __future__ import annotations

import copy
import gc
import math
import time
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import dask  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from gaussmix import GaussianMixture  # noqa: E402
from gaussmix import _dask  # noqa: E402
from helpers import spread_start, three_clusters  # noqa: E402

N, D, K = 9000, 3, 3
CHUNK = 2000  # 5 chunks, the last one short


def make_data(seed=0):
    return three_clusters(N, 0.5, seed)


X, W = make_data()


def start_for(ctype):
    """A start every fit shares: K spread rows, equal weights, unit covariances."""
    return spread_start(X, ctype)


def quiet_cluster(n_workers):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=50)
        client = distributed.Client(cluster)
    return cluster, client


@pytest.fixture(scope="module")
def client():
    cluster, client = quiet_cluster(2)
    yield client
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client.close()
        cluster.close()


def fit(data, ctype, sample_weight=None, method="fit"):
    """A 12-iteration fit (or fit_predict) from start_for(ctype)."""
    model = GaussianMixture(K, covariance_type=ctype, tol=0, max_iter=12, **start_for(ctype))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=ConvergenceWarning)  # 12 iterations, tol=0: by design
        return getattr(model, method)(data, sample_weight=sample_weight)


def relative(a, b):
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ctype", ["full", "tied", "diag", "spherical"])
def test_the_fit_equals_the_in_memory_fit(client, ctype, weighted):
    w = W if weighted else None
    expected = fit(X, ctype, w)
    got = fit(da.from_array(X, chunks=(CHUNK, D)), ctype, None if w is None else da.from_array(w, chunks=CHUNK))
    for name in ("weights_", "means_", "covariances_", "precisions_"):
        assert relative(getattr(got, name), getattr(expected, name)) < 1e-10, name
    assert abs(got.lower_bound_ - expected.lower_bound_) <= 1e-12 * abs(expected.lower_bound_)
    assert got.n_iter_ == expected.n_iter_ == 12
    np.testing.assert_allclose(got.lower_bounds_, expected.lower_bounds_, rtol=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("prior_type", ["dirichlet_process", "dirichlet_distribution"])
@pytest.mark.parametrize("ctype", ["full", "tied", "diag", "spherical"])
def test_a_bayesian_fit_equals_the_in_memory_fit(client, ctype, prior_type, weighted):
    """BayesianGaussianMixture from one start (an in-memory fit with max_iter=0,
    continued by warm_start): its priors (the data's moments, from the chunks'
    statistics, retaken around the mean: X lies 1e5 from the origin) and 12
    variational iterations on the Dask array are the in-memory ones."""
    from gaussmix import BayesianGaussianMixture

    w = W if weighted else None
    start = BayesianGaussianMixture(n_components=4, covariance_type=ctype, weight_concentration_prior_type=prior_type,
                                    max_iter=0, random_state=0, warm_start=True).fit(X + 1e5, sample_weight=w)
    expected, got = copy.deepcopy(start), copy.deepcopy(start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        for model, data, weights in ((expected, X + 1e5, w),
                                     (got, da.from_array(X + 1e5, chunks=(CHUNK, D)),
                                      None if w is None else da.from_array(w, chunks=CHUNK))):
            model.set_params(max_iter=12, tol=0.0).fit(data, sample_weight=weights)
    for name in ("mean_prior_", "covariance_prior_", "weights_", "means_", "covariances_", "mean_precision_",
                 "degrees_of_freedom_"):
        assert relative(getattr(got, name), getattr(expected, name)) < 1e-10, name
    np.testing.assert_allclose(got.lower_bounds_, expected.lower_bounds_, rtol=1e-12)
    assert got.n_iter_ == expected.n_iter_ == 12


def test_float32_fits_a_float32_model_like_in_memory(client):
    x32 = X.astype(np.float32)
    expected = fit(x32, "full")
    got = fit(da.from_array(x32, chunks=(CHUNK, D)), "full")
    assert got.means_.dtype == np.float32
    assert relative(got.means_, expected.means_) < 1e-5
    assert relative(got.covariances_, expected.covariances_) < 1e-4


def bits(model):
    return [getattr(model, name).tobytes() for name in ("weights_", "means_", "covariances_")] + [
        np.float64(model.lower_bound_).tobytes()]


def test_one_or_two_workers_and_two_runs_give_the_same_bits(client):
    data = da.from_array(X, chunks=(CHUNK, D))
    first, second = bits(fit(data, "full", None)), bits(fit(data, "full", None))
    cluster, one_worker = quiet_cluster(1)
    try:
        with one_worker.as_current():
            single = bits(fit(data, "full", None))
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            one_worker.close()
            cluster.close()
    with dask.config.set(scheduler="sync"):  # no cluster at all
        local = bits(fit(data, "full", None))
    assert first == second == single == local


def test_data_too_large_to_persist_is_read_every_iteration(client, monkeypatch):
    persisted = fit(da.from_array(X, chunks=(CHUNK, D)), "diag")
    monkeypatch.setattr(_dask, "_memory_for_persisting", lambda: 0.0)
    streamed = fit(da.from_array(X, chunks=(CHUNK, D)), "diag")
    assert bits(streamed) == bits(persisted)


def test_column_chunks_and_other_weight_chunks_are_rechunked(client):
    expected = fit(da.from_array(X, chunks=(CHUNK, D)), "tied", da.from_array(W, chunks=CHUNK))
    got = fit(da.from_array(X, chunks=(CHUNK, 1)), "tied", da.from_array(W, chunks=3333))
    assert bits(got) == bits(expected)


def test_lazy_scoring_equals_in_memory_scoring(client):
    model = fit(X, "full")
    data = da.from_array(X, chunks=(CHUNK, D))
    for method in ("predict", "predict_proba", "score_samples"):
        lazy = getattr(model, method)(data)
        assert isinstance(lazy, da.Array), method
        np.testing.assert_array_equal(lazy.compute(), getattr(model, method)(X), err_msg=method)
    assert model.score(data) == pytest.approx(model.score(X), rel=1e-14)
    assert model.score(data, sample_weight=W) == pytest.approx(model.score(X, sample_weight=W), rel=1e-14)
    labels = fit(data, "full", method="fit_predict")
    assert isinstance(labels, da.Array)
    np.testing.assert_array_equal(labels.compute(), model.predict(X))


def test_the_start_comes_from_a_uniform_sample_of_rows(client):
    size = _dask.initial_sample_size(N, K)
    assert size == min(N, max(10_000, 1_000 * K))
    big = np.concatenate([X, X + 0.01, X - 0.01])  # 27,000 rows: the sample is 10,000 of them
    size = _dask.initial_sample_size(len(big), K)
    got = GaussianMixture(K, random_state=7, max_iter=0).fit(da.from_array(big, chunks=(CHUNK, D)))
    # The same draw and the in-memory start on the drawn rows, from the same stream.
    stream = np.random.RandomState(7)
    rows = big[np.sort(stream.choice(len(big), size=size, replace=False))]
    expected = GaussianMixture(K, random_state=stream, max_iter=0).fit(rows)
    assert bits(got) == bits(expected)[:3] + [np.float64(-np.inf).tobytes()]


def workers_hold_nothing(client, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        gc.collect()
        if sum(client.run(lambda dask_worker: len(dask_worker.data)).values()) == 0:
            return True
        time.sleep(0.1)
    return False


def test_nan_in_a_chunk_is_a_clear_error_and_leaves_no_data_on_the_workers(client):
    bad = X.copy()
    bad[4321, 1] = np.nan
    with pytest.raises(ValueError, match=r"X contains NaN or infinity in rows 4000 to 5999 \(a chunk of the Dask"):
        fit(da.from_array(bad, chunks=(CHUNK, D)), "full")
    assert workers_hold_nothing(client)
    # The cluster still fits.
    assert bits(fit(da.from_array(X, chunks=(CHUNK, D)), "full")) == bits(fit(da.from_array(X, chunks=(CHUNK, D)),
                                                                           "full"))


@pytest.mark.parametrize("exponent", [-470, 470])
def test_a_column_spread_outside_the_band_is_the_in_memory_error(client, exponent):
    scaled = X * np.array([1.0, 2.0**exponent, 1.0])
    with pytest.raises(ValueError) as expected:
        GaussianMixture(K, random_state=0).fit(scaled)
    assert "column 1 of X has spread" in str(expected.value)
    with pytest.raises(ValueError) as got:
        fit(da.from_array(scaled, chunks=(CHUNK, D)), "full")
    assert str(got.value) == str(expected.value)
    del got  # its traceback holds the fit's frames, and with them the persisted data
    assert workers_hold_nothing(client)


def test_a_spread_the_column_extremes_cannot_place_is_measured_exactly(client):
    # Spread 2**-458 lies in the band, but its range bound (range / sqrt(2N)) does not:
    # the exact two-pass statistics decide, and the fit goes on as in memory.
    scaled = X * np.array([1.0, 2.0**-458, 1.0])
    r = np.ptp(scaled[:, 1])
    assert r / np.sqrt(2 * N) < 2.0**-460 <= scaled[:, 1].std()
    model = dict(covariance_type="diag", tol=0, max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        start = GaussianMixture(K, **model).fit(scaled[:10_000])
        init = dict(weights_init=start.weights_, means_init=start.means_, precisions_init=start.precisions_)
        expected = GaussianMixture(K, **model, **init).fit(scaled)
        got = GaussianMixture(K, **model, **init).fit(da.from_array(scaled, chunks=(CHUNK, D)))
    assert relative(got.covariances_[:, 1], expected.covariances_[:, 1]) < 1e-10


def test_chunks_of_zero_weight_fit_as_in_memory(client):
    # Weights as a mask: whole chunks of zeros add nothing (the core refuses a chunk whose
    # weights sum to zero, so such a chunk gets no statistics).
    weights = W * KEEP
    for ctype in ("full", "diag"):
        expected = fit(X, ctype, weights)
        got = fit(da.from_array(X, chunks=(CHUNK, D)), ctype, da.from_array(weights, chunks=CHUNK))
        for name in ("weights_", "means_", "covariances_"):
            assert relative(getattr(got, name), getattr(expected, name)) < 1e-10, (ctype, name)
        np.testing.assert_allclose(got.lower_bounds_, expected.lower_bounds_, rtol=1e-12)


def test_the_start_is_drawn_among_the_rows_of_positive_weight(client):
    big = np.concatenate([X, X + 0.01, X - 0.01])  # 27,000 rows: a uniform sample is 10,000 of them
    weights = np.zeros(len(big))
    positive = np.random.default_rng(1).choice(len(big), size=50, replace=False)
    weights[positive] = W[:50]
    got = GaussianMixture(K, random_state=7, max_iter=0).fit(da.from_array(big, chunks=(CHUNK, D)),
                                                              sample_weight=da.from_array(weights, chunks=CHUNK))
    # The sample is every row of positive weight (50 < 10,000), in order; the start then draws from the stream.
    stream = np.random.RandomState(7)
    stream.choice(50, size=50, replace=False)
    keep = weights > 0
    expected = GaussianMixture(K, random_state=stream, max_iter=0).fit(big[keep], sample_weight=weights[keep])
    assert bits(got) == bits(expected)[:3] + [np.float64(-np.inf).tobytes()]


def test_weights_of_another_length_are_refused(client):
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(9000,\)"):
        fit(da.from_array(X, chunks=(CHUNK, D)), "diag", da.from_array(np.ones(N - 1), chunks=CHUNK))


def bad_row(value):
    return np.where(np.arange(N) == 7000, value, 1.0)


BAD_WEIGHTS = {  # what the in-memory checks refuse; the last one: each chunk's sum finite, the total not
    "nan": bad_row(np.nan), "inf": bad_row(np.inf), "negative": bad_row(-1.0), "all zero": np.zeros(N),
    "overflowing sum": np.full(N, 8e304)}
CHUNK_OF_ROW_7000 = ", which it is not in rows 6000 to 7999 (a chunk of the Dask array)"


def error_message(call):
    with pytest.raises(ValueError) as error:
        call()
    return str(error.value)


@pytest.mark.parametrize("method", ["fit", "fit_predict", "score"])
@pytest.mark.parametrize("kind", list(BAD_WEIGHTS))
def test_bad_weights_are_the_in_memory_error_at_every_entry_point(client, method, kind):
    weights = BAD_WEIGHTS[kind]
    if method == "score":
        model = fit(X, "diag")
        expected = error_message(lambda: model.score(X, sample_weight=weights))
        got = error_message(lambda: model.score(da.from_array(X, chunks=(CHUNK, D)), sample_weight=weights))
    else:
        expected = error_message(lambda: fit(X, "diag", weights, method))
        got = error_message(lambda: fit(da.from_array(X, chunks=(CHUNK, D)), "diag",
                                        da.from_array(weights, chunks=CHUNK), method))
    assert "sample_weight must" in expected
    # The message is the in-memory one; a bad value's message also names the chunk it is in.
    assert got.replace(CHUNK_OF_ROW_7000, "") == expected
    assert (CHUNK_OF_ROW_7000 in got) == (kind in ("nan", "inf", "negative"))


def test_bad_arrays_are_refused(client):
    with pytest.raises(ValueError, match="X must be 2-D"):
        fit(da.from_array(X[:, 0], chunks=CHUNK), "full")
    with pytest.raises(TypeError, match="X must hold real numbers"):
        fit(da.from_array(np.full((N, D), "a"), chunks=(CHUNK, D)), "full")
    model = fit(X, "full")
    with pytest.raises(ValueError, match="X has 2 features, but GaussianMixture is expecting 3"):
        model.predict(da.from_array(X[:, :2], chunks=(CHUNK, 2)))


def test_without_dask_the_rest_of_gaussmix_works():
    import subprocess
    import sys

    code = ("import sys; sys.modules['dask'] = sys.modules['distributed'] = None\n"
            "import numpy as np, gaussmix\n"
            "x = np.random.default_rng(0).normal(size=(200, 2))\n"
            "print(gaussmix.GaussianMixture(2, random_state=0).fit(x).converged_)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


@pytest.mark.parametrize("order", ["C", "F"])
def test_a_npy_file_fits_out_of_core_through_the_same_path(client, tmp_path, monkeypatch, order):
    import pickle

    import gaussmix

    path = tmp_path / "x.npy"
    np.save(path, np.asarray(X, order=order))
    mapped = gaussmix.dask_array_from_npy(path, chunks=CHUNK)
    assert mapped.chunks == da.from_array(X, chunks=(CHUNK, D)).chunks
    np.testing.assert_array_equal(mapped[1234:5678:3].compute(), X[1234:5678:3])
    # The worker processes read the file by its name: the graph does not carry its data
    # (dask.array.from_array copies a memory map into it whole).
    assert len(pickle.dumps(dict(mapped.__dask_graph__()))) < X.nbytes / 20
    monkeypatch.setattr(_dask, "_memory_for_persisting", lambda: 0.0)  # read from the file every iteration
    got = fit(mapped, "spherical")
    assert bits(got) == bits(fit(da.from_array(X, chunks=(CHUNK, D)), "spherical"))
    with dask.config.set(scheduler="threads"):  # and without dask.distributed
        assert bits(fit(mapped, "spherical")) == bits(got)


def test_a_file_without_one_array_is_refused(tmp_path):
    import gaussmix

    np.savez(tmp_path / "x.npz", x=X)
    with pytest.raises(ValueError, match="holds no array a memory map can read"):
        gaussmix.dask_array_from_npy(tmp_path / "x.npz")


KEEP = np.ones(N, dtype=bool)
KEEP[2000:4000] = KEEP[8000:] = False  # two whole chunks filtered away


def filtered(values):
    """values chunked by CHUNK rows, boolean-filtered by KEEP, chunk sizes computed: empty chunks."""
    array = da.from_array(values, chunks=(CHUNK,) + values.shape[1:])[da.from_array(KEEP, chunks=CHUNK)]
    return array.compute_chunk_sizes()


@pytest.mark.parametrize("make", ["filtered", "given"])
def test_empty_chunks_fit_and_score_as_in_memory(client, make):
    if make == "filtered":
        data, weights = filtered(X), filtered(W)
        assert data.chunks[0] == (2000, 0, 2000, 2000, 0)
    else:
        chunks = (0, 2000, 0, 0, 2000, 2000, 0)
        data = da.from_array(X[KEEP], chunks=(chunks, (D,)))
        weights = da.from_array(W[KEEP], chunks=(chunks,))
    x, w = X[KEEP], W[KEEP]
    for ctype in ("full", "spherical"):
        for weighted in (False, True):
            expected = fit(x, ctype, w if weighted else None)
            got = fit(data, ctype, weights if weighted else None)
            for name in ("weights_", "means_", "covariances_"):
                assert relative(getattr(got, name), getattr(expected, name)) < 1e-10, (ctype, weighted, name)
            np.testing.assert_allclose(got.lower_bounds_, expected.lower_bounds_, rtol=1e-12)
    model = fit(x, "full")
    for method in ("predict", "predict_proba", "score_samples"):
        lazy = getattr(model, method)(data)
        assert lazy.chunks[0] == data.chunks[0], method  # row for row with X, empty chunks kept
        np.testing.assert_array_equal(lazy.compute(), getattr(model, method)(x), err_msg=method)
    assert model.score(data) == pytest.approx(model.score(x), rel=1e-14)
    assert model.score(data, sample_weight=weights) == pytest.approx(model.score(x, sample_weight=w), rel=1e-14)
    labels = fit(data, "full", method="fit_predict")
    np.testing.assert_array_equal(labels.compute(), model.predict(x))


def test_empty_chunks_with_a_drawn_start_and_the_exact_scale_check(client):
    # The start's sample and the exact two-pass spread statistics (see the test above for
    # 2**-458) read X through Dask's own reductions and indexing: empty chunks there too.
    scaled = X * np.array([1.0, 2.0**-458, 1.0])
    data = da.from_array(scaled, chunks=((0, 4000, 0, 5000, 0), (D,)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        got = GaussianMixture(K, covariance_type="diag", max_iter=3, random_state=0).fit(data)
        # N < 10,000: the sample is every row, in order; the start then draws from the same stream.
        stream = np.random.RandomState(0)
        stream.choice(N, size=N, replace=False)
        expected = GaussianMixture(K, covariance_type="diag", max_iter=3, random_state=stream).fit(scaled)
    assert relative(got.means_, expected.means_) < 1e-10
    assert relative(got.covariances_[:, 1], expected.covariances_[:, 1]) < 1e-10


def test_unknown_chunk_sizes_are_refused_with_the_remedy(client):
    keep = da.from_array(KEEP, chunks=CHUNK)
    unknown = da.from_array(X, chunks=(CHUNK, D))[keep]
    model = fit(X, "full")
    for call in (lambda: fit(unknown, "full"), lambda: model.predict(unknown), lambda: model.score(unknown)):
        with pytest.raises(ValueError, match=r"X has unknown chunk sizes.*call X\.compute_chunk_sizes\(\) first"):
            call()
    weights = da.from_array(W, chunks=CHUNK)[keep]
    data = filtered(X)
    for call in (lambda: fit(data, "full", weights), lambda: model.score(data, sample_weight=weights)):
        with pytest.raises(ValueError, match=r"sample_weight has unknown chunk sizes.*call "
                                             r"sample_weight\.compute_chunk_sizes\(\) first"):
            call()


def test_a_npy_file_is_chunked_so_that_every_thread_of_the_cluster_has_work(client, tmp_path, monkeypatch):
    import gaussmix

    threads = sum(client.nthreads().values())
    monkeypatch.setattr("os.cpu_count", lambda: 1)  # the client's threads count, not this machine's cores
    rows = 160_000  # 10 MB: Dask's own chunking (128 MiB chunks) makes it one chunk
    path = tmp_path / "x.npy"
    np.save(path, np.tile(X[:, :1], (rows // N + 1, 8))[:rows])
    mapped = gaussmix.dask_array_from_npy(path)
    assert len(mapped.chunks[0]) >= threads
    assert len(mapped.chunks[0]) >= _dask.CHUNKS_PER_THREAD * threads  # the rule: a few chunks per thread
    assert min(mapped.chunks[0][:-1]) * 8 * 8 >= _dask.MIN_CHUNK_BYTES  # a chunk is worth a task
    np.testing.assert_array_equal(mapped[rows - 3:].compute(), np.load(path)[rows - 3:])
    # A small file is one chunk: splitting it costs more tasks than it saves.
    np.save(path, X)
    assert gaussmix.dask_array_from_npy(path).chunks[0] == (N,)


def test_a_npy_chunk_is_at_most_dasks_chunk_size(tmp_path):
    import gaussmix

    path = tmp_path / "x.npy"
    np.save(path, X)
    with dask.config.set({"array.chunk-size": "64KiB"}):  # the cap wins over the floor
        chunks = gaussmix.dask_array_from_npy(path).chunks[0]
    assert max(chunks) * D * 8 <= 64 * 1024 < (max(chunks) + 1) * D * 8
    # A file far larger than memory (10**10 rows of 64 bytes): 128 MiB chunks, whatever the threads.
    for threads in (1, 2, 64):
        assert _dask.rows_per_chunk(10**10, 64, threads, 2**27) * 64 == 2**27
    # Many threads: 4 chunks each, down to the floor.
    assert _dask.rows_per_chunk(10**6, 64, 64, 2**27) == _dask.MIN_CHUNK_BYTES // 64
    assert _dask.rows_per_chunk(10**7, 64, 64, 2**27) == math.ceil(10**7 / (4 * 64))
