"""GaussianMixture on a Dask array against the in-memory fit: seconds per EM
iteration at 10,000,000 x 8, K = 16, full, float64, from a given start, on a
dask.distributed LocalCluster of 2 worker processes x 1 thread, against
the in-memory fit of the same data with 2 threads, in one run.

    pip install ".[bench,dask]"
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/bench_dask.py [--rows 10000000] [--iters 5]

Per-iteration time: (fit with --iters iterations - fit with 1 iteration) /
(--iters - 1), best of 2 each, so the fixed costs (the in-memory fit's data
checks; the Dask fit's persisting of X on the workers, which happens in
both fits) are left out on both sides. The data is made on the workers
(dask.array.random, one chunk per 1,000,000 rows) and the in-memory copy
is the same array computed. Both fits must end at the same lower bound
(1e-10 relative), else the row says VOID.

Out of core (--zarr-rows, default 100,000,000; --skip-zarr to leave it
out): that many rows x 8, float32, in a zarr store on disk (--zarr-dir,
default a folder in the system's temporary directory; written once, kept
for later runs), fitted on a LocalCluster of 2 workers x 1 thread limited
to --worker-memory (default 1 GiB) each, so X cannot be persisted and is
read from the store every iteration. Reported: seconds per iteration (the
same difference), the seconds of reading the store once (a sum over every
chunk), and the largest resident set any worker had during the read and
the fits (psutil, sampled every 0.1 s, as dask.distributed's memory manager
reads it) against the limit.

Spark MLlib (--skip-spark to leave it out; runs when pyspark imports and a
Java runtime is there): ``pyspark.ml.clustering.GaussianMixture(k=16,
tol=0)`` on ``local[2]`` over the same 10,000,000 x 8 rows (a cached
DataFrame of vectors), seconds per iteration by the difference of
maxIter=3 and maxIter=1, best of 2 each. MLlib takes no starting
parameters, so its iterations start elsewhere; the per-iteration work is
the same (an E-step and M-step over every row).
"""
from __future__ import annotations

import argparse
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np
from _report import Report

D, K = 8, 16
CHUNK = 1_000_000
report = Report("GaussianMixture on Dask arrays against the in-memory fit", "bench_dask.py", "DASK.md")


def timed_fit(data, start, iters):
    from sklearn.exceptions import ConvergenceWarning

    from gaussmix import GaussianMixture

    model = GaussianMixture(K, tol=0, max_iter=iters, **start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t = time.perf_counter()
        model.fit(data)
        return time.perf_counter() - t, model.lower_bound_


def per_iteration(data, start, iters):
    one = min(timed_fit(data, start, 1)[0] for _ in range(2))
    runs = [timed_fit(data, start, iters) for _ in range(2)]
    return (min(r[0] for r in runs) - one) / (iters - 1), runs[-1][1]


def quiet_cluster(**kwargs):
    from distributed import Client, LocalCluster

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=40, **kwargs)
        return cluster, Client(cluster)


def close(cluster, client):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client.close()
        cluster.close()


def mixture_rows(rows, dtype, chunk=CHUNK):
    """A K-component mixture sample (unit covariances around N(0, 4^2) means) as a lazy Dask array."""
    import dask.array as da

    rng = da.random.RandomState(0)
    centres = np.random.default_rng(1).normal(scale=4.0, size=(K, D))
    labels = rng.randint(0, K, size=rows, chunks=chunk)
    return (da.from_array(centres)[labels] + rng.normal(size=(rows, D), chunks=(chunk, D))).astype(dtype)


class WorkerMemoryPeak:
    """The largest resident set (psutil, as dask.distributed's memory manager
    reads it) any worker process had, sampled every 0.1 s while in use."""

    def __init__(self, client):
        self.client, self.peak, self._stop = client, 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while not self._stop.is_set():
            sizes = self.client.run(lambda: __import__("psutil").Process().memory_info().rss)
            self.peak = max(self.peak, *sizes.values())
            self._stop.wait(0.1)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def out_of_core(args):
    import dask.array as da

    store = Path(args.zarr_dir) / f"gaussmix_bench_{args.zarr_rows}x{D}_float32.zarr"
    if not store.exists():  # written by workers without the limit: the limit is the fit's
        cluster, client = quiet_cluster()
        try:
            t = time.perf_counter()
            mixture_rows(args.zarr_rows, np.float32).to_zarr(str(store))
            print(f"wrote {store} in {time.perf_counter() - t:.0f} s", flush=True)
        finally:
            close(cluster, client)
    # Fresh workers: their peak resident set is the read's and the fit's.
    cluster, client = quiet_cluster(memory_limit=args.worker_memory)
    try:
        X = da.from_zarr(str(store))
        with WorkerMemoryPeak(client) as memory:
            t = time.perf_counter()
            X.sum(dtype=np.float64).compute()
            read_s = time.perf_counter() - t
            head = X[:200_000].compute().astype(np.float64)
            start = dict(weights_init=np.full(K, 1.0 / K), means_init=head[:K].copy(),
                         precisions_init=np.stack([np.linalg.inv(np.cov(head, rowvar=False))] * K))
            seconds, _ = per_iteration(X, start, 3)
        limit = client.scheduler_info()["workers"]
        limit = min(w["memory_limit"] for w in limit.values())
    finally:
        close(cluster, client)
    gib = 2.0**30
    report(f"\n| zarr store | size on disk | read once, s | fit s/iter | peak worker memory / limit |\n"
          f"|---|---|---|---|---|\n"
          f"| {args.zarr_rows:,} x {D} float32 | {sum(f.stat().st_size for f in store.rglob('*') if f.is_file()) / gib:.2f} GiB "
          f"| {read_s:.1f} | {seconds:.1f} | {memory.peak / gib:.2f} / {limit / gib:.2f} GiB |")
    print(f"(store kept at {store}; delete it to free the disk)")
    report(f"\nRead once: a sum over every chunk of the store; the fit's workers were limited to "
           f"{args.worker_memory} each (X not persisted, read from the store every iteration).")


def spark_seconds_per_iteration(rows):
    """MLlib's seconds per EM iteration on local[2], or the reason it did not run."""
    try:
        import pandas as pd
        from pyspark.ml.clustering import GaussianMixture as SparkGaussianMixture
        from pyspark.ml.feature import VectorAssembler
        from pyspark.sql import SparkSession
    except ImportError as exc:
        return None, f"pyspark is not installed ({exc})"
    x = mixture_rows(rows, np.float64).compute(scheduler="threads")
    spark = (SparkSession.builder.master("local[2]").config("spark.driver.memory", "10g")
             .config("spark.sql.execution.arrow.pyspark.enabled", "true").config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
             .getOrCreate())
    try:
        spark.sparkContext.setLogLevel("ERROR")
        columns = [f"x{j}" for j in range(D)]
        frame = spark.createDataFrame(pd.DataFrame(x, columns=columns))
        del x
        vectors = VectorAssembler(inputCols=columns, outputCol="features").transform(frame).select("features")
        vectors = vectors.repartition(2).cache()
        vectors.count()

        def fit_seconds(iters):
            t = time.perf_counter()
            SparkGaussianMixture(k=K, maxIter=iters, tol=0.0, seed=0).fit(vectors)
            return time.perf_counter() - t

        one = min(fit_seconds(1) for _ in range(2))
        three = min(fit_seconds(3) for _ in range(2))
        return (three - one) / 2, f"pyspark {spark.version}"
    finally:
        spark.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--skip-zarr", action="store_true")
    ap.add_argument("--skip-in-memory", action="store_true", help="only the zarr fit")
    ap.add_argument("--skip-spark", action="store_true")
    ap.add_argument("--zarr-rows", type=int, default=100_000_000)
    ap.add_argument("--zarr-dir", default=tempfile.gettempdir())
    ap.add_argument("--worker-memory", default="1GiB")
    report.add_out_option(ap)
    args = ap.parse_args()
    import gaussmix

    if args.skip_in_memory:
        out_of_core(args)
        return
    cluster, client = quiet_cluster()
    try:
        X = mixture_rows(args.rows, np.float64).persist()
        x = X.compute()
        start = dict(weights_init=np.full(K, 1.0 / K), means_init=x[:K].copy(),
                     precisions_init=np.stack([np.linalg.inv(np.cov(x[:100_000], rowvar=False))] * K))
        dask_s, dask_lb = per_iteration(X, start, args.iters)
        del X
        gaussmix.set_num_threads(2)
        memory_s, memory_lb = per_iteration(x, start, args.iters)
    finally:
        close(cluster, client)
    agree = abs(dask_lb - memory_lb) <= 1e-10 * abs(memory_lb)
    shape = f"{args.rows:,} x {D} x {K}, full, float64"
    report(f"| {shape} | s/iter | against gaussmix in memory |\n|---|---|---|\n"
          f"| gaussmix in memory, 2 threads | {memory_s:.3f} | 1 |\n"
          f"| gaussmix on a LocalCluster, 2 workers x 1 thread | {dask_s:.3f} | "
          f"{'VOID (lower bounds differ)' if not agree else f'{dask_s / memory_s:.2f}x'} |")
    if not args.skip_spark:
        spark_s, about = spark_seconds_per_iteration(args.rows)
        if spark_s is None:
            report(f"\nSpark MLlib: not run: {about}")
        else:
            report(f"| Spark MLlib on local[2] ({about}) | {spark_s:.3f} | {spark_s / memory_s:.1f}x |")
    if not args.skip_zarr:
        out_of_core(args)
    report.write(args.out)


if __name__ == "__main__":
    main()
