"""Exact EM over rows that are read in chunks: a *chunk source* is a callable
that returns a fresh iterator of row blocks each time it is called (arrays,
or (rows, weights) pairs), so a fit reads the data once per EM iteration
and holds one chunk at a time, plus the O(K D^2) statistics.

:class:`ChunkData` is the engine's data source for it (gaussmix/_engine.py):

* **The check pass** (the first read): every chunk is checked where it is
  read (2-D, real numbers, the first chunk's width, no NaN or infinity,
  weights finite and >= 0) and its column statistics taken; merged, they
  are the whole data's ColumnStats, so the in-memory fit's checks (the scale
  band, the float32 kernels' range against each start) are decided as they
  are in memory, without another read. The pass also counts the rows and
  sums the weights (the resp_offset and the start need both).
* **The start** comes from a uniform sample of the rows, drawn as the Dask
  path draws it (gaussmix/_dask.py's ``sample_ranks``: the same rows from
  the same random_state), read in one more pass; a start given in full
  (weights_init, means_init, precisions_init) reads nothing.
* **Each E-step** is one pass: each chunk's statistics from the core's fused
  pass on all threads, merged in chunk order. Every pass counts the rows it
  read: a callable that returns the same (spent) iterator twice, or data that
  changed between passes, is refused rather than fitted to a part of it.

Chunks need not all have the same size; an empty chunk is skipped. float32
chunks give a float32 model when every chunk is float32 (else the rows are
fitted in float64). Rows with NaN are refused: EM with missing values needs
the rows in memory (gaussmix/_missing.py groups them by pattern).

:func:`npy_chunks` and :func:`parquet_chunks` make chunk sources of a
``.npy`` file (each chunk a memory map of its own rows, dropped before the
next: the core reads the page cache in place, and a pass over a file larger
than memory holds one chunk) and of a Parquet file.
"""
from __future__ import annotations

import collections.abc
import math
import os

import numpy as np

from . import _core
from ._config import threads_for_core
from ._dask import sample_ranks
from ._engine import DataSource
from ._mixture import Mixture
from ._validation import (check_fit_scale, check_weight_total, check_weight_values, column_stats, float32_is_safe,
                          scaled_column_stats)

#: The chunk helpers' default chunk size: big enough that a chunk's fixed
#: costs (a call into the core, a read) vanish, small beside memory.
DEFAULT_CHUNK_BYTES = 64 * 2**20

_NOT_REITERABLE = ("a chunk source must return a fresh iterator each time it is called (EM reads the rows once per "
                   "iteration)")


def is_chunk_source(X) -> bool:
    """Whether X is a chunk source: a callable that is not an array."""
    return callable(X) and not hasattr(X, "__array__") and not hasattr(X, "shape")


def refuse_iterator(X, func: str) -> None:
    """TypeError for an iterator or generator given where a chunk source
    (or an array) is wanted: it can be read only once."""
    if isinstance(X, collections.abc.Iterator):
        raise TypeError(f"{func}(): got an iterator, which can be read only once, but EM reads the rows once per "
                        "iteration; pass a callable that returns a fresh iterator each time, e.g. "
                        "lambda: (np.load(f) for f in files), or gaussmix.npy_chunks(path)")


class _Block:
    """One chunk as a pass reads it: rows (C-contiguous float32/float64),
    weights (float64) or None, and the index of its first row."""

    __slots__ = ("x", "w", "first_row")

    def __init__(self, x, w, first_row):
        self.x, self.w, self.first_row = x, w, first_row

    def where(self, index: int) -> str:
        return f"rows {self.first_row} to {self.first_row + len(self.x) - 1} (chunk {index})"


class ChunkData(DataSource):
    """A chunk source as one EM fit reads it (see the module)."""

    def __init__(self, chunks, func: str, n_features: int | None = None):
        self.data = chunks  # the callable
        self.func = func
        self.n_features = n_features  # None until the first chunk (a warm fit gives the model's)
        self._width_origin = "the model was fitted to" if n_features is not None else "chunk 0 has"
        self.dtype = None
        self.kernel = None  # the kernels' dtype when it is not the data's (for_start decides)
        self.passes = 0
        self._previous_iterator = None
        self._sample = None
        self._check_pass()

    # ---------------------------------------------------------------- reading

    def _blocks(self):
        """One pass: the chunks as _Blocks, each checked for shape and type
        (values: by the check pass), the row count checked at the end."""
        iterator = self.data()
        if not isinstance(iterator, collections.abc.Iterable) or isinstance(iterator, (np.ndarray, tuple)):
            raise TypeError(f"{self.func}(): the chunk source returned {type(iterator).__name__}, not an iterator of "
                            "row blocks; it must return one, e.g. lambda: (np.load(f) for f in files)")
        iterator = iter(iterator)
        if iterator is self._previous_iterator:
            raise ValueError(f"{self.func}(): the chunk source returned the iterator it returned before; "
                             f"{_NOT_REITERABLE}")
        self._previous_iterator = iterator
        self.passes += 1
        rows, index = 0, 0
        # Not enumerate(iterator): its cached result tuple would hold the last chunk while the next is read.
        for chunk in iterator:
            block = self._block(chunk, index, rows)
            del chunk
            rows += len(block.x)
            if len(block.x):
                yield index, block
            del block  # before the next chunk is read: one chunk in memory, not two
            index += 1
        if self.dtype is not None and rows != self.n_samples:
            raise ValueError(f"{self.func}(): the chunk source gave {rows} rows on pass {self.passes} but "
                             f"{self.n_samples} on its first; {_NOT_REITERABLE}, over the same rows")

    def _block(self, chunk, index: int, first_row: int) -> _Block:
        if isinstance(chunk, tuple):
            if len(chunk) != 2:
                raise ValueError(f"{self.func}(): chunk {index} is a tuple of {len(chunk)}; a chunk is an array of "
                                 "rows or a (rows, sample_weight) pair")
            x, w = chunk
        else:
            x, w = chunk, None
        x = np.asarray(x)
        if x.dtype == object or not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)
                                     or x.dtype == np.bool_):
            raise TypeError(f"{self.func}(): chunk {index} holds {x.dtype}, not real numbers")
        if x.ndim != 2:
            raise ValueError(f"{self.func}(): chunk {index} has shape {x.shape}; chunks must be 2-D (rows, "
                             "features)")
        if self.n_features is None:
            self.n_features = x.shape[1]
        if x.shape[1] != self.n_features:
            raise ValueError(f"{self.func}(): chunk {index} (from row {first_row}) has {x.shape[1]} columns, but "
                             f"{self._width_origin} {self.n_features}; every chunk must hold the same columns")
        dtype = self.kernel or self.dtype or (np.float32 if x.dtype == np.float32 else np.float64)
        x = np.ascontiguousarray(x, dtype=dtype)
        if w is not None:
            w = np.asarray(w)
            if w.dtype == object or not (np.issubdtype(w.dtype, np.floating) or np.issubdtype(w.dtype, np.integer)):
                raise TypeError(f"{self.func}(): chunk {index}'s sample_weight holds {w.dtype}, not real numbers")
            if w.shape != (len(x),):
                raise ValueError(f"{self.func}(): chunk {index}'s sample_weight has shape {w.shape}; it must have "
                                 f"shape ({len(x)},), one weight per row of the chunk")
            w = np.ascontiguousarray(w, dtype=np.float64)
        return _Block(x, w, first_row)

    def _check_pass(self) -> None:
        """The first pass: each chunk's values checked, the rows counted, the
        weights summed, the column statistics merged (see the module)."""
        parts, totals, positive, all_float32, weighted = [], [], 0, True, False
        for index, block in self._blocks():
            stats = column_stats(block.x)
            if not stats.finite:
                what = "NaN" if stats.nan_count.any() else "infinity"
                raise ValueError(f"{self.func}(): {block.where(index)} hold {what}; a chunk source needs complete, "
                                 "finite rows: remove or impute them (EM with missing values needs the rows in "
                                 "memory: fit the array)")
            all_float32 &= block.x.dtype == np.float32
            parts.append((len(block.x), stats))
            if block.w is not None:
                weighted = True
                check_weight_values(block.w, self.func, f", which it is not in {block.where(index)}")
                with np.errstate(over="ignore"):
                    totals.append(float(block.w.sum()))
                positive += int(np.count_nonzero(block.w))
            else:
                totals.append(float(len(block.x)))
                positive += len(block.x)
            del block  # before the next chunk is read
        if not parts:
            raise ValueError(f"{self.func}(): the chunk source gave no rows; it must return an iterator over at "
                             "least one non-empty chunk")
        self.n_samples = sum(n for n, _ in parts)
        try:
            self.weight_total = math.fsum(totals)
        except OverflowError:
            self.weight_total = math.inf
        if weighted:
            check_weight_total(self.weight_total, self.func)
        self.positive_rows = positive
        self.column_stats = merged_column_stats(parts)
        check_fit_scale(self.column_stats, self.func, require_varying=False)
        # Set last: the pass above cast every chunk to its own dtype; later passes cast to this one.
        self.dtype = np.dtype(np.float32 if all_float32 else np.float64)

    # ---------------------------------------------------------------- the engine's source

    @property
    def kernel_dtype(self):
        return self.kernel or self.dtype

    @property
    def rough_centre(self):
        return self.column_stats.mean

    def for_start(self, start: Mixture) -> "ChunkData":
        """Itself, or a view of the same chunks read as float64 when the
        float32 kernels would not fit from start exactly (the in-memory fit's
        decision, from the merged column statistics)."""
        if self.dtype != np.float32 or float32_is_safe(None, fit_stats=self.column_stats, means=start.means,
                                                       variances=start.variances()):
            return self
        view = object.__new__(ChunkData)
        view.__dict__.update(self.__dict__)
        view.kernel = np.dtype(np.float64)
        return view

    def stats(self, mixture: Mixture, shifts=None):
        """The E-step statistics of every row under mixture: one pass, each
        chunk's statistics from the core on all threads, merged in order. A
        chunk whose weights are all zero adds nothing (the core refuses it)."""
        merged = None
        threads = threads_for_core()
        for _, block in self._blocks():
            if block.w is not None and not block.w.any():
                continue
            part = mixture.factorised.accumulate_stats(block.x, block.w, threads, shifts)
            merged = part if merged is None else _core.merge_stats([merged, part])
            del block  # before the next chunk is read
        return merged

    def start_rows(self, n_components: int, random_state):
        """(rows, their weights or None, their ColumnStats): a uniform sample
        of the rows of positive weight, drawn by the first start that needs
        it as the Dask path draws it; one pass reads it for every start."""
        if self._sample is None:
            ranks = sample_ranks(self.positive_rows, n_components, random_state)
            xs, ws, seen = [], [], 0
            for _, block in self._blocks():
                positive = None if block.w is None else np.flatnonzero(block.w > 0)  # None: every row
                n_positive = len(block.x) if positive is None else len(positive)
                lo, hi = np.searchsorted(ranks, [seen, seen + n_positive])
                if hi > lo:
                    picked = ranks[lo:hi] - seen
                    if positive is not None:
                        picked = positive[picked]
                    xs.append(block.x[picked])
                    ws.append(None if block.w is None else block.w[picked])
                seen += n_positive
            x = np.ascontiguousarray(np.concatenate(xs), dtype=self.dtype)
            w = None if all(v is None for v in ws) else np.concatenate(
                [np.ones(len(xi)) if v is None else v for xi, v in zip(xs, ws)])
            self._sample = x, w, column_stats(x)
        return self._sample

    def labels(self, of_rows) -> np.ndarray:
        """of_rows(rows) of every chunk, concatenated (one more pass)."""
        return np.concatenate([of_rows(block.x) for _, block in self._blocks()])


def merged_column_stats(parts) -> "ColumnStats":
    """The ColumnStats of the rows of all parts ((row count, ColumnStats of
    finite rows) each), as column_stats of them all would give them up to
    rounding: means and spreads combined in units of each column's largest
    |x| (a power of two, so exact), so that no square overflows or
    underflows whatever the scale."""
    counts = np.array([n for n, _ in parts], dtype=np.float64)
    lo = np.min([s.lo for _, s in parts], axis=0)
    hi = np.max([s.hi for _, s in parts], axis=0)
    _, exponent = np.frexp(np.maximum(hi, -lo))
    means = np.array([np.ldexp(s.mean, -exponent) for _, s in parts])
    spreads = np.array([np.ldexp(s.spread, -exponent) for _, s in parts])
    n = counts.sum()
    mean_y = counts @ means / n
    var_y = counts @ (spreads ** 2 + (means - mean_y) ** 2) / n
    max_dev_y = np.maximum(np.ldexp(hi, -exponent) - mean_y, mean_y - np.ldexp(lo, -exponent))
    return scaled_column_stats(mean_y, var_y, max_dev_y, exponent, lo, hi)


def fit_source(estimator, chunks, sample_weight, func: str, warm: bool) -> ChunkData:
    """The data source of estimator's fit of the chunk source chunks (warm:
    continuing a fit, whose n_features_in_ the chunks must have); sets
    n_features_in_ otherwise."""
    if sample_weight is not None:
        raise ValueError(f"{func}(): with a chunk source, give the weights in the chunks, as (rows, sample_weight) "
                         "pairs, not as sample_weight")
    source = ChunkData(chunks, func, estimator.n_features_in_ if warm else None)
    if source.n_samples < max(2, estimator.n_components):
        raise ValueError(f"Expected n_samples >= n_components but got n_components = {estimator.n_components}, "
                         f"n_samples = {source.n_samples}")
    if not warm:
        estimator.n_features_in_ = source.n_features
        if hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
    return source


# --------------------------------------------------------------------------- chunk sources of files


def _rows_per_chunk(rows: int | None, row_bytes: int, func: str) -> int:
    if rows is None:
        return max(1, DEFAULT_CHUNK_BYTES // max(1, row_bytes))
    if isinstance(rows, bool) or not isinstance(rows, (int, np.integer)) or rows < 1:
        raise ValueError(f"{func}(): rows must be a positive int (rows per chunk), got {rows!r}")
    return int(rows)


class NpyChunks:
    """A chunk source of a ``.npy`` file's rows (see :func:`npy_chunks`)."""

    def __init__(self, path, rows: int | None = None, columns=None):
        func = "npy_chunks"
        self.path = os.fspath(path)
        try:
            mapped = np.load(self.path, mmap_mode="r", allow_pickle=False)
        except (OSError, EOFError, ValueError) as exc:
            raise ValueError(f"{func}(): {self.path} is not a readable .npy file of numbers ({exc})") from None
        if not isinstance(mapped, np.memmap):
            raise ValueError(f"{func}(): {self.path} holds no array a memory map can read (an .npz archive?); save "
                             "one numeric array with np.save")
        if mapped.dtype.kind not in "biuf":
            raise TypeError(f"{func}(): {self.path} holds {mapped.dtype}, not real numbers")
        if mapped.ndim not in (1, 2):
            raise ValueError(f"{func}(): {self.path} holds a {mapped.ndim}-D array; the data must be 2-D (rows x "
                             "columns)")
        self.dtype, self.offset = mapped.dtype, int(mapped.offset)
        self.n_rows = mapped.shape[0]
        self.n_features = 1 if mapped.ndim == 1 else mapped.shape[1]
        self.fortran = mapped.ndim == 2 and mapped.flags.f_contiguous and not mapped.flags.c_contiguous
        del mapped
        self.rows = _rows_per_chunk(rows, self.dtype.itemsize * self.n_features, func)
        self.columns = None if columns is None else _column_indices(columns, self.n_features, func)

    def __repr__(self) -> str:
        return f"npy_chunks({self.path!r}, rows={self.rows}, columns={self.columns!r})"

    def __call__(self):
        blocks = self._read()
        if self.columns is None:
            return blocks
        return (block[:, self.columns] for block in blocks)

    def _read(self):
        if self.fortran:  # each column's rows are contiguous: a chunk is copied from a map dropped after it
            for start in range(0, self.n_rows, self.rows):
                mapped = np.load(self.path, mmap_mode="r")
                block = np.ascontiguousarray(mapped[start:start + self.rows])
                del mapped
                yield block
                del block
            return
        # Each chunk is a memory map of its own rows, unmapped when the fit lets go of it: the core reads the
        # page cache's pages where they are (a read() would copy them first: 0.9 s a pass of 3 GB, a third of
        # the E-step's time), and the process holds one chunk's pages at a time whatever the file's size.
        size = os.path.getsize(self.path)
        row_bytes = self.dtype.itemsize * self.n_features
        for start in range(0, self.n_rows, self.rows):
            count = min(self.rows, self.n_rows - start)
            if self.offset + (start + count) * row_bytes > size:
                raise ValueError(f"{self.path} ended at row {max(0, (size - self.offset) // row_bytes)} of the "
                                 f"{self.n_rows} its header gives: the file is truncated")
            block = np.memmap(self.path, dtype=self.dtype, mode="r", offset=self.offset + start * row_bytes,
                              shape=(count, self.n_features))
            yield block
            del block  # before the next chunk is mapped


def _column_indices(columns, width: int, func: str) -> list[int]:
    picked = [int(j) if isinstance(j, (int, np.integer)) and not isinstance(j, bool) else None for j in columns]
    if not picked or None in picked or not all(0 <= j < width for j in picked) or len(set(picked)) != len(picked):
        raise ValueError(f"{func}(): columns must be distinct 0-based column indices in 0..{width - 1}, got "
                         f"{list(columns)!r}")
    return picked


def npy_chunks(path, rows: int | None = None, columns=None) -> NpyChunks:
    """A chunk source of a ``.npy`` file: ``GaussianMixture().fit(npy_chunks(path))``
    fits it by exact EM, one read of the file per iteration, holding one
    chunk of ``rows`` rows in memory at a time (default: 64 MiB of rows);
    ``columns``: the 0-based indices of the columns to fit (default all).

    Each chunk is a read-only memory map of its rows, released when the fit
    moves on to the next (so the process's memory stays one chunk whatever
    the file's size, and the rows are not copied). A 1-D array is one
    column. float32 files give float32 chunks (and a float32 model); other
    numbers are converted to float64 by the fit, a chunk at a time.
    """
    return NpyChunks(path, rows, columns)


class ParquetChunks:
    """A chunk source of a Parquet file's numeric columns (see :func:`parquet_chunks`)."""

    def __init__(self, path, columns=None, rows: int | None = None):
        func = "parquet_chunks"
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise ImportError(f"{func}() needs pyarrow: pip install pyarrow") from None
        self.path = os.fspath(path)
        try:
            schema = pq.ParquetFile(self.path).schema_arrow
        except Exception as exc:  # pyarrow's errors have no common base worth naming
            raise ValueError(f"{func}(): {self.path} is not a readable Parquet file ({type(exc).__name__}: "
                             f"{exc})") from None
        names = list(schema.names)
        self.columns = names if columns is None else [str(c) for c in columns]
        unknown = [c for c in self.columns if c not in names]
        if unknown:
            raise ValueError(f"{func}(): {self.path} has no column {unknown[0]!r}; its columns: {', '.join(names)}")
        for c in self.columns:
            kind = schema.field(c).type
            if not _is_numeric(kind):
                raise TypeError(f"{func}(): column {c!r} of {self.path} is {kind}, not numbers; leave it out with "
                                "columns=[...]")
        self.n_features = len(self.columns)
        self.n_rows = pq.ParquetFile(self.path).metadata.num_rows
        self.rows = _rows_per_chunk(rows, 8 * self.n_features, func)

    def __repr__(self) -> str:
        return f"parquet_chunks({self.path!r}, columns={self.columns!r}, rows={self.rows})"

    def __call__(self):
        return self._read()

    def _read(self):
        import pyarrow as pa
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(self.path).iter_batches(batch_size=self.rows, columns=self.columns):
            block = np.empty((batch.num_rows, self.n_features))
            for j in range(self.n_features):  # nulls become NaN, which the fit refuses by row
                block[:, j] = batch.column(j).cast(pa.float64()).to_numpy(zero_copy_only=False)
            yield block


def _is_numeric(kind) -> bool:
    import pyarrow.types as pt

    return pt.is_integer(kind) or pt.is_floating(kind) or pt.is_boolean(kind)


def parquet_chunks(path, columns=None, rows: int | None = None) -> ParquetChunks:
    """A chunk source of a Parquet file (needs pyarrow): the numeric
    ``columns`` (names; default all) read ``rows`` rows at a time (default:
    64 MiB of float64 rows), for ``GaussianMixture().fit(parquet_chunks(path))``.
    Nulls are refused by the fit, naming their rows."""
    return ParquetChunks(path, columns, rows)
