"""GaussianMixture on Dask arrays: the same EM as in memory, its E-step run
chunk by chunk where the chunks live.

One EM iteration is a sum of per-row statistics and a small M-step, so it
distributes exactly. Each iteration sends the current parameters with one
task per row chunk; the task runs the compiled core's E-step statistics on
its chunk (GIL released, one thread: Dask's workers are the parallelism);
the client merges the statistics in chunk order, so the result does not
depend on which worker finished first or how many there are, and runs the
M-step. The data is read once per iteration, and persisted on the workers
first when it fits in half of their memory (in half of this machine's
available memory without dask.distributed).

Choices, where the in-memory fit decides otherwise:

* The start, when some of weights_init, means_init and precisions_init are
  missing, comes from a uniform sample of rows (``initial_sample_size``:
  min(N, max(10,000, 1,000 K)) rows, drawn without replacement from
  random_state, read in one pass): the in-memory initialisation
  (init_params, every one of n_init) runs on that sample. When some sample
  weights are zero, the sample is drawn among the N rows of positive weight
  (the others carry nothing into a start; a sample of them only would have
  none). A start given in full reads nothing before EM.
* float32 chunks whose scale the float32 kernels do not handle exactly are
  refused (the in-memory fit switches to float64 there): cast X to float64.
* NaN or infinity in a chunk is found by the task that reads it and raised
  on the client as a ValueError naming the chunk's rows; so are weights the
  in-memory checks refuse (gaussmix/_validation.py), wherever sample_weight
  is taken (fit, fit_predict, score), in the pass that sums them.
* Empty row chunks (boolean filtering and compute_chunk_sizes() make them)
  are valid input: a fit drops them (a rechunk that only renames the other
  chunks: NumPy's and Dask's reductions refuse empty chunks), lazy results
  keep them, so they line up with X chunk for chunk. Unknown chunk sizes
  (boolean filtering before compute_chunk_sizes()) are refused with that
  remedy.
"""
from __future__ import annotations

import math
import os

import numpy as np

from . import _core
from ._engine import DataSource
from ._mixture import Mixture
from ._validation import (check_fit_scale, check_weight_total, check_weight_values, column_extremes, column_stats,
                          float32_is_safe, range_bounds, scaled_column_stats, spreads_surely_in_band)

MIN_SAMPLE = 10_000
SAMPLE_PER_COMPONENT = 1_000
#: dask_array_from_npy's default chunking: chunks per thread of the cluster,
#: and the smallest chunk worth a task (each task costs scheduling, whatever its size).
CHUNKS_PER_THREAD = 4
MIN_CHUNK_BYTES = 2**20


def is_dask_array(X) -> bool:
    """Whether X is a dask.array.Array (without importing Dask)."""
    return type(X).__module__.split(".")[0] == "dask" and hasattr(X, "chunks") and hasattr(X, "to_delayed")


def _dask():
    try:
        import dask
        import dask.array as da
    except ImportError as exc:  # pragma: no cover - is_dask_array was true, so Dask is there
        raise ImportError("fitting Dask arrays needs dask: pip install 'gaussmix[dask]'") from exc
    return dask, da


def initial_sample_size(n_samples: int, n_components: int) -> int:
    """Rows of the uniform sample the start of a Dask fit is drawn from."""
    return min(n_samples, max(MIN_SAMPLE, SAMPLE_PER_COMPONENT * n_components))


def sample_ranks(n_rows: int, n_components: int, random_state) -> np.ndarray:
    """The sorted ranks (among n_rows rows: those of positive weight) of the
    uniform sample without replacement a start is drawn from
    (initial_sample_size rows, from random_state): a Dask array's and a
    chunk source's fits draw the same rows.

    When the sample is a small share of the rows, ranks are drawn with
    replacement and the repeats drawn again until there are none: every
    subset of that size is equally likely (the draw does not depend on the
    ranks' names), and it costs O(size), where RandomState.choice(...,
    replace=False) permutes all n_rows (800 MB and 7 s at 1e8 rows)."""
    size = initial_sample_size(n_rows, n_components)
    if 4 * size >= n_rows:
        return np.sort(random_state.choice(n_rows, size=size, replace=False))
    ranks = np.unique(random_state.randint(0, n_rows, size=size))
    while len(ranks) < size:
        ranks = np.unique(np.concatenate([ranks, random_state.randint(0, n_rows, size=size - len(ranks))]))
    return ranks


def data_array(X, func: str, n_features: int | None = None):
    """X as a 2-D floating Dask array in one column chunk (rechunked if needed)."""
    _, da = _dask()
    if X.ndim != 2:
        raise ValueError(f"{func}(): X must be 2-D (n_samples, n_features), got a {X.ndim}-D Dask array")
    if X.dtype not in (np.float64, np.float32):
        if not (np.issubdtype(X.dtype, np.integer) or np.issubdtype(X.dtype, np.bool_)
                or np.issubdtype(X.dtype, np.floating)):
            raise TypeError(f"{func}(): X must hold real numbers, got a Dask array of dtype {X.dtype}")
        X = X.astype(np.float64)
    known_chunk_sizes(X, func, "X")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"X has {X.shape[1]} features, but {func.split('.')[0]} is expecting {n_features} features "
                         "as input.")
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})  # a task needs whole rows
    return X


def known_chunk_sizes(array, func: str, name: str) -> None:
    """Refuse a Dask array whose chunk sizes are unknown (NaN): a fit needs N,
    and rows must be matched to weights and results."""
    if any(math.isnan(c) for c in array.chunks[0]) or any(math.isnan(s) for s in array.shape[1:]):
        raise ValueError(f"{func}(): {name} has unknown chunk sizes (boolean indexing gives them); call "
                         f"{name}.compute_chunk_sizes() first")


def row_blocks(array) -> list:
    """(delayed chunk, index of its first row) of each row chunk of array, in order."""
    first_rows = np.concatenate([[0], np.cumsum(array.chunks[0])[:-1]]).astype(int).tolist()
    return list(zip(array.to_delayed().ravel(), first_rows))


def without_empty_chunks(array):
    """array (or None) without its empty row chunks: each chunk of the result is
    one of array's (Dask's rechunk aliases it, reading nothing more)."""
    if array is None or all(array.chunks[0]):
        return array
    return array.rechunk({0: tuple(rows for rows in array.chunks[0] if rows)})


def dask_array_from_npy(path, chunks="auto"):
    """A ``.npy`` file as a Dask array whose tasks each map the file and read
    their own rows, so a file larger than memory fits out of core, on
    threads or on worker processes.

    ``dask.array.from_array(np.load(path, mmap_mode='r'))`` does not: Dask
    copies the memory map into memory (from_array copies whatever has a
    ``copy`` method), and a np.memmap pickles as all of its data. ``chunks``:
    row chunks as dask.array.from_array takes them, whole rows each, or
    "auto": rows_per_chunk's rule, so that every thread of the cluster gets
    work.
    """
    dask, da = _dask()
    mapped = np.load(path, mmap_mode="r")
    if not isinstance(mapped, np.memmap):
        raise ValueError(f"dask_array_from_npy(): {path} holds no array a memory map can read (a pickled object "
                         "array?); save a numeric array with np.save")
    if isinstance(chunks, str) and chunks == "auto":
        rows = rows_per_chunk(mapped.shape[0], mapped.itemsize * math.prod(mapped.shape[1:]), _threads(),
                              dask.utils.parse_bytes(dask.config.get("array.chunk-size")))
    else:
        rows = chunks[0] if isinstance(chunks, tuple) else chunks
    return da.from_array(MappedFile(mapped), chunks=(rows,) + (-1,) * (mapped.ndim - 1))


def rows_per_chunk(n_rows: int, row_bytes: int, threads: int, max_bytes: int) -> int:
    """Rows per chunk of dask_array_from_npy's "auto" chunking: CHUNKS_PER_THREAD
    chunks per thread (so every thread has work, and a slow chunk does not
    hold up the others long), but at least MIN_CHUNK_BYTES of rows per chunk
    (a task's overhead), and at most max_bytes (Dask's array.chunk-size,
    128 MiB by default: a task's memory), which wins over the floor."""
    rows = max(math.ceil(n_rows / (CHUNKS_PER_THREAD * max(1, threads))), math.ceil(MIN_CHUNK_BYTES / row_bytes))
    return max(1, min(rows, max_bytes // row_bytes, n_rows))


def _threads() -> int:
    """The threads of the current dask.distributed client's workers, or, without
    one, of this machine (Dask's local schedulers use one per core)."""
    client = _current_client()
    if client is not None:
        return max(1, sum(client.nthreads().values()))
    return os.cpu_count() or 1


class MappedFile:
    """A read-only array-like standing for a memory map of a whole file:
    it pickles as the file's name, offset, dtype, shape and order, and each
    read maps the file and copies the rows asked for."""

    def __init__(self, mapped: np.memmap):
        self.filename, self.offset = str(mapped.filename), int(mapped.offset)
        self.dtype, self.shape, self.ndim = mapped.dtype, mapped.shape, mapped.ndim
        self.order = "F" if mapped.flags.f_contiguous and not mapped.flags.c_contiguous else "C"
        self.modified = os.stat(self.filename).st_mtime_ns

    def __dask_tokenize__(self):
        return self.filename, self.offset, self.dtype.str, self.shape, self.order, self.modified

    def __getitem__(self, key):
        mapped = np.memmap(self.filename, dtype=self.dtype, mode="r", offset=self.offset, shape=self.shape,
                           order=self.order)
        return np.array(mapped[key])


def weight_array(sample_weight, X, func: str):
    """sample_weight as a Dask array chunked like X's rows, or None."""
    if sample_weight is None:
        return None
    _, da = _dask()
    w = sample_weight if is_dask_array(sample_weight) else da.from_array(np.asarray(sample_weight))
    if w.ndim >= 1:  # boolean indexing leaves a Dask array's sizes unknown
        known_chunk_sizes(w, func, "sample_weight")
    if w.ndim != 1 or w.shape[0] != X.shape[0]:
        raise ValueError(f"{func}(): sample_weight must have shape ({X.shape[0]},), one weight per row of X, "
                         f"got {w.shape}")
    if not (np.issubdtype(w.dtype, np.floating) or np.issubdtype(w.dtype, np.integer)):
        raise TypeError(f"{func}(): sample_weight must hold real numbers, got dtype {w.dtype}")
    w = w.astype(np.float64)
    if w.chunks[0] != X.chunks[0]:
        w = w.rechunk((X.chunks[0],))  # each task takes its rows' weights
    return w


def _chunk_stats(x, w, params, shifts, first_row, func, check):
    """One chunk's E-step statistics under params, around shifts (None: the
    mixture's; runs on a worker); check:
    look for NaN, and for float32 data outside the float32 kernels' range
    under these parameters, first, and return the chunk's column extremes
    (min, max) with the statistics, for the scale check. That is the first
    E-step of a fit: the data does not change between iterations, the checks
    cost a tenth of the E-step at D = 8, and the in-memory fit checks the
    float32 range against its start only. The weights were checked when
    their sum was taken. A chunk whose weights are all zero adds nothing:
    its statistics are None (the core refuses weights that sum to zero)."""
    weights, means, covariances, ctype, variances = params
    x = np.ascontiguousarray(x)
    w = None if w is None else np.ascontiguousarray(w, dtype=np.float64)
    if check:
        extremes = column_extremes(x)  # NaN and infinity propagate into them
        if not (np.isfinite(extremes[0]).all() and np.isfinite(extremes[1]).all()):
            raise ValueError(f"{func}(): X contains NaN or infinity in rows {first_row} to "
                             f"{first_row + len(x) - 1} (a chunk of the Dask array); remove or impute them")
        if x.dtype == np.float32 and not float32_is_safe(x, means=means, variances=variances):
            raise ValueError(f"{func}(): rows {first_row} to {first_row + len(x) - 1} lie outside the range the "
                             "float32 kernels handle exactly (|x| up to 2**40, variances in [2**-80, 2**80]); pass X "
                             "as float64")
    stats = (_core.accumulate_stats(x, weights, means, covariances, ctype, w, 1, shifts)
             if w is None or w.any() else None)
    return (stats, extremes) if check else stats


def _chunk_weight_sum(w, first_row, func):
    """A chunk's weights, checked as in memory (runs on a worker): (their sum,
    how many are positive)."""
    w = np.asarray(w, dtype=np.float64)
    check_weight_values(w, func, f", which it is not in rows {first_row} to {first_row + len(w) - 1} (a chunk of "
                                 "the Dask array)")
    with np.errstate(over="ignore"):  # an overflowing sum is refused by weight_total
        return float(w.sum()), int(np.count_nonzero(w))


def weight_sums(w, func: str) -> list:
    """One lazy checked (sum, positive count) per chunk of the weights w."""
    dask, _ = _dask()
    return [dask.delayed(_chunk_weight_sum)(block, first, func) for block, first in row_blocks(w)]


def weight_total(sums, func: str) -> float:
    """The total of the computed weight_sums, checked as the in-memory total is."""
    try:
        total = math.fsum(s for s, _ in sums)
    except OverflowError:  # finite sums whose total overflows
        total = math.inf
    check_weight_total(total, func)
    return total


def _positive_rows(w, ranks, first_row):
    """The rows of a chunk of weights w that hold its ranks-th positive weights."""
    return np.flatnonzero(np.asarray(w) > 0)[ranks] + first_row


def mean(values, sample_weight, func: str) -> float:
    """The mean of the lazy (N,) float64 array values, weighted by sample_weight
    if given: its weights are checked in the pass that computes the mean."""
    dask, _ = _dask()
    if sample_weight is None:
        return float(values.mean().compute())
    w = weight_array(sample_weight, values[:, None], func)
    weighted, sums = dask.compute((w * values).sum(), weight_sums(w, func))
    return float(weighted) / weight_total(sums, func)


class DaskData(DataSource):
    """X (and the weights) as one EM fit reads them (a data source of
    gaussmix/_engine.py): row chunks in order; the start from a sample."""

    def __init__(self, X, w, func: str):
        dask, _ = _dask()
        self.func, self.data = func, X
        self.X, self.w = _persisted_if_it_fits(without_empty_chunks(X), without_empty_chunks(w))
        self.n_samples, self.n_features = (int(s) for s in self.X.shape)
        self.dtype = np.dtype(self.X.dtype)
        self.blocks, self.first_rows = (list(v) for v in zip(*row_blocks(self.X)))
        self.weight_blocks = [None] * len(self.blocks) if self.w is None else [b for b, _ in row_blocks(self.w)]
        self.checked = False  # the first E-step checks X's values (the weights: below)
        self._sample = None
        if self.w is None:
            self.weight_total = float(self.n_samples)
            self.positive_counts = list(self.X.chunks[0])
        else:
            sums = dask.compute(weight_sums(self.w, func))[0]
            self.weight_total = weight_total(sums, func)
            # Rows of zero weight add nothing: a chunk of them gets no task after the first E-step's
            # checks, and the start's sample is drawn among the others.
            self.positive_counts = [n for _, n in sums]

    def stats(self, mixture: Mixture, shifts=None) -> tuple:
        """The E-step statistics of all rows under mixture, around the
        mixture's shifts or those given, merged in chunk order."""
        dask, _ = _dask()
        weights, means, covariances, ctype = mixture.core_args()
        params = (weights, means, covariances, ctype, mixture.variances())
        check = not self.checked
        tasks = [dask.delayed(_chunk_stats, pure=False)(x, w, params, shifts, r, self.func, check)
                 for x, w, r, positive in zip(self.blocks, self.weight_blocks, self.first_rows, self.positive_counts)
                 if check or positive]
        parts = list(dask.compute(*tasks))
        if check:
            parts, extremes = zip(*parts)
            self._check_scale(np.min([lo for lo, _ in extremes], axis=0),
                              np.max([hi for _, hi in extremes], axis=0))
            self.checked = True
        parts = [part for part in parts if part is not None]
        return parts[0] if len(parts) == 1 else _core.merge_stats(parts)

    def _check_scale(self, lo: np.ndarray, hi: np.ndarray) -> None:
        """The in-memory fit's scale check (every non-constant column's spread
        inside SPREAD_BAND), from the column extremes when their bounds decide
        it, else from the exact scaled two-pass statistics (two more reads of
        X, only for spreads near the band's ends)."""
        if spreads_surely_in_band(*range_bounds(lo, hi, self.n_samples)):
            return
        _, exponent = np.frexp(np.maximum(hi, -lo))
        y = self.X.astype(np.float64) * np.ldexp(1.0, -exponent)  # exact: powers of two
        mean_y = y.mean(axis=0).compute()
        deviation = abs(y - mean_y)
        var_y, max_dev_y = _dask()[0].compute((deviation**2).mean(axis=0), deviation.max(axis=0))
        check_fit_scale(scaled_column_stats(mean_y, var_y, max_dev_y, exponent, lo, hi), self.func,
                        require_varying=False)

    def start_rows(self, n_components: int, random_state):
        """(rows, their weights or None, their ColumnStats): the sample of
        :meth:`sample`, drawn from random_state by the first start that needs
        it; one read of the sampled rows serves every initialisation."""
        if self._sample is None:
            xs, ws = self.sample(n_components, random_state)
            self._sample = xs, ws, column_stats(xs)
        return self._sample

    def sample(self, n_components: int, random_state):
        """(rows, their weights or None): a uniform sample without replacement
        of initial_sample_size rows (of positive weight), in row order."""
        dask, _ = _dask()
        n_rows = sum(self.positive_counts)
        index = sample_ranks(n_rows, n_components, random_state)
        if n_rows < self.n_samples:  # index holds ranks among the rows of positive weight
            bounds = np.searchsorted(index, np.cumsum([0] + self.positive_counts))
            index = np.concatenate(dask.compute(*[
                dask.delayed(_positive_rows)(block, index[lo:hi] - index.dtype.type(start), first)
                for (block, first), lo, hi, start in zip(row_blocks(self.w), bounds[:-1], bounds[1:],
                                                         np.cumsum([0] + self.positive_counts))
                if hi > lo]))
        x = self.X[index]
        w = None if self.w is None else self.w[index]
        x, w = dask.compute(x, w)
        x = np.ascontiguousarray(x)
        if not np.isfinite(x).all():
            raise ValueError(f"{self.func}(): X contains NaN or infinity (found in the rows sampled for the start); "
                             "remove or impute them")
        return x, w


def fit_source(estimator, X, sample_weight, func: str, warm: bool) -> DaskData:
    """The data source of estimator's fit of the Dask array X, checked as the
    in-memory fit checks its data (warm: continuing a fit, whose
    n_features_in_ X must have); sets n_features_in_ otherwise."""
    X = data_array(X, func, estimator.n_features_in_ if warm else None)
    n_samples, n_features = (int(v) for v in X.shape)
    if n_samples < max(2, estimator.n_components):
        raise ValueError(f"Expected n_samples >= n_components but got n_components = {estimator.n_components}, "
                         f"n_samples = {n_samples}")
    if not warm:
        estimator.n_features_in_ = n_features
        if hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
    return DaskData(X, weight_array(sample_weight, X, func), func)


def _current_client():
    """The current dask.distributed client, or None."""
    try:
        from distributed import get_client

        return get_client()
    except (ImportError, ValueError):
        return None


def _memory_for_persisting() -> float:
    client = _current_client()
    if client is not None:
        workers = client.scheduler_info().get("workers", {}).values()
        return float(sum(info.get("memory_limit") or 0 for info in workers))
    try:
        import psutil

        return float(psutil.virtual_memory().available)
    except ImportError:
        return 0.0


def _persisted_if_it_fits(X, w):
    """X and w persisted (computed once and kept where they live) when they fit
    in half of the memory available; else as they are, read every iteration."""
    dask, _ = _dask()
    nbytes = X.nbytes + (0 if w is None else w.nbytes)
    if nbytes <= 0.5 * _memory_for_persisting():
        if w is None:
            return dask.persist(X)[0], None
        return dask.persist(X, w)
    return X, w


def map_rows(X, function, dtype, columns: int | None):
    """function applied to each row chunk of X, lazily: a Dask array of
    (n_samples,) (columns None) or (n_samples, columns)."""
    shape = (0,) if columns is None else (0, columns)

    def on_rows(x):
        # The estimator refuses zero rows, as scikit-learn does; an empty chunk's result is empty.
        return function(x) if len(x) else np.empty(shape, dtype)

    if columns is None:
        return X.map_blocks(on_rows, dtype=dtype, drop_axis=1)
    return X.map_blocks(on_rows, dtype=dtype, chunks=(X.chunks[0], (columns,)))

