"""Exact EM over a chunk source (``fit(gaussmix.npy_chunks(path))``: one read
of a .npy file per iteration, one chunk in memory) against the in-memory
fit of the part of the same data that fits in memory, and against the Dask
path over the same file, in one run.

    pip install ".[bench,dask]"
    python bench/bench_chunks.py [--rows 100000000] [--memory-rows 20000000] [--dir /tmp] [--out bench/]

The data: --rows x 8 float32, K = 16 clusters (unit covariances around
N(0, 4^2) means), written once in blocks of 1,000,000 rows to a .npy file in
--dir (kept for later runs: 3.2 GB at 1e8 rows). Every fit starts from the
same given parameters (16 rows of the file as means, equal weights, unit
covariances), K = 16, full, tol 0, 2 threads.

* Chunk source (npy_chunks' default chunks: 64 MiB), each fit in a fresh
  child process whose peak resident set (VmHWM) is
  reported: seconds of the check pass (a fit with max_iter=0 from a given
  start reads the file once and nothing else), seconds per pass by the
  difference of a 1- and a --iters-iteration fit, and the start from a
  sample (init_params="kmeans": the check pass, the sample pass and k-means
  on 10,000 rows), timed as a max_iter=0 fit.
* In memory: the first --memory-rows rows as a float32 array, seconds per
  iteration by the same difference, scaled to --rows rows (the E-step is
  linear in rows).
* Dask: ``gaussmix.dask_array_from_npy`` of the same file on a
  LocalCluster of 2 workers x 1 thread limited to 1 GiB each (so the data is
  read from the file every iteration), seconds per iteration by the same
  difference, and the largest worker resident set.

Each fit with --iters iterations must end at the same lower bound on all
three paths (1e-6 relative: float32 kernels, the in-memory part on fewer
rows is left out of that check), else the row says VOID.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from _report import Report  # noqa: E402

D, K = 8, 16
BLOCK = 1_000_000


def write_data(path: Path, rows: int) -> None:
    """rows x D float32 mixture rows, written block by block (memory: one block)."""
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=4.0, size=(K, D))
    out = np.lib.format.open_memmap(path.with_suffix(".part.npy"), mode="w+", dtype=np.float32, shape=(rows, D))
    for start in range(0, rows, BLOCK):
        n = min(BLOCK, rows - start)
        out[start:start + n] = centres[rng.integers(K, size=n)] + rng.normal(size=(n, D))
    out.flush()
    del out
    path.with_suffix(".part.npy").rename(path)


def start_of(path: Path) -> dict:
    """The given start: 16 spread rows of the file as means, equal weights, unit covariances."""
    x = np.load(path, mmap_mode="r")
    rows = np.linspace(0, x.shape[0] - 1, K).astype(int)
    return dict(weights_init=np.full(K, 1.0 / K), means_init=np.array(x[rows], dtype=np.float64),
                precisions_init=np.stack([np.eye(D)] * K))


def timed(model, data) -> tuple[float, float]:
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t = time.perf_counter()
        model.fit(data)
        return time.perf_counter() - t, float(model.lower_bound_)


def child(args) -> None:
    """One chunk-source fit in this fresh process: its seconds, bound and peak RSS as JSON."""
    from gaussmix import GaussianMixture, npy_chunks

    source = npy_chunks(args.path)
    if args.child == "sampled":
        seconds, bound = timed(GaussianMixture(K, max_iter=0, random_state=0), source)
    else:
        seconds, bound = timed(GaussianMixture(K, tol=0, max_iter=int(args.child), **start_of(args.path)), source)
    # VmHWM: this process's peak resident set since its exec (ru_maxrss would count the parent's before the exec).
    peak = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    print(json.dumps(dict(seconds=seconds, bound=bound, peak=peak, rows=source.rows)))


def in_child(path: Path, what: str) -> dict:
    result = subprocess.run([sys.executable, __file__, "--child", what, "--path", str(path)], capture_output=True,
                            text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def dask_per_iteration(path: Path, iters: int) -> tuple[float, float, float]:
    """(seconds per iteration, the --iters fit's bound, largest worker RSS) on 2 workers x 1 thread, 1 GiB each."""
    from bench_dask import WorkerMemoryPeak, close, quiet_cluster

    from gaussmix import GaussianMixture, dask_array_from_npy

    cluster, client = quiet_cluster(memory_limit="1GiB")
    try:
        X = dask_array_from_npy(path)
        start = start_of(path)
        with WorkerMemoryPeak(client) as memory:
            one = min(timed(GaussianMixture(K, tol=0, max_iter=1, **start), X)[0] for _ in range(2))
            many, bound = timed(GaussianMixture(K, tol=0, max_iter=iters, **start), X)
        return (many - one) / (iters - 1), bound, memory.peak
    finally:
        close(cluster, client)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000_000)
    ap.add_argument("--memory-rows", type=int, default=20_000_000)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--dir", default=tempfile.gettempdir())
    ap.add_argument("--skip-dask", action="store_true")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--path", type=Path, default=None, help=argparse.SUPPRESS)
    report = Report("Exact EM over a chunk source (a .npy file larger than the memory it is given)",
                    "bench_chunks.py", "CHUNKS.md")
    report.add_out_option(ap)
    args = ap.parse_args()
    if args.child is not None:
        return child(args)
    from gaussmix import GaussianMixture, get_num_threads

    path = Path(args.dir) / f"gaussmix_bench_{args.rows}x{D}_float32.npy"
    if not path.exists():
        t = time.perf_counter()
        write_data(path, args.rows)
        print(f"wrote {path} in {time.perf_counter() - t:.0f} s", flush=True)
    size = path.stat().st_size
    report(f"{args.rows:,} x {D} float32 ({size / 2**30:.2f} GiB .npy), K = {K}, full, given start, gaussmix threads "
           f"{get_num_threads()}\n")

    check = in_child(path, "0")
    one = min(in_child(path, "1")["seconds"] for _ in range(2))
    many = in_child(path, str(args.iters))
    per_pass = (many["seconds"] - one) / (args.iters - 1)
    sampled = in_child(path, "sampled")

    x = np.array(np.load(path, mmap_mode="r")[:args.memory_rows])
    start = start_of(path)
    m_one = min(timed(GaussianMixture(K, tol=0, max_iter=1, **start), x)[0] for _ in range(2))
    m_many = timed(GaussianMixture(K, tol=0, max_iter=args.iters, **start), x)[0]
    in_memory = (m_many - m_one) / (args.iters - 1) * args.rows / args.memory_rows
    del x

    report("| path | s per iteration (pass) | against in memory | peak memory |")
    report("| --- | --- | --- | --- |")
    report(f"| in memory: the first {args.memory_rows:,} rows, scaled to {args.rows:,} | {in_memory:.2f} | 1 | "
           f"{args.memory_rows * D * 4 / 2**30:.2f} GiB of data |")
    report(f"| chunk source, npy_chunks ({many['rows']:,} rows a chunk) | {per_pass:.2f} | "
           f"{per_pass / in_memory:.2f}x | {many['peak'] / 2**30:.2f} GiB (process) |")
    bounds = [many["bound"]]
    if not args.skip_dask:
        dask_s, dask_bound, dask_peak = dask_per_iteration(path, args.iters)
        bounds.append(dask_bound)
        report(f"| Dask: dask_array_from_npy, LocalCluster 2 workers x 1 thread, 1 GiB each | {dask_s:.2f} | "
               f"{dask_s / in_memory:.2f}x | {dask_peak / 2**30:.2f} GiB (largest worker) |")
    agree = max(abs(b - bounds[0]) / abs(bounds[0]) for b in bounds)
    report(f"\nChunk source: the check pass (every chunk checked, rows counted, column statistics) "
           f"{check['seconds']:.2f} s; the start from a sample (check pass, sample pass, k-means on "
           f"{min(args.rows, 10_000):,} rows) {sampled['seconds']:.2f} s; peak resident set of the {args.iters}-pass "
           f"fit's process {many['peak'] / 2**20:.0f} MiB, of the sampled start's {sampled['peak'] / 2**20:.0f} MiB.")
    report(f"Lower bounds after {args.iters} iterations agree to {agree:.1e} (relative)"
           f"{'' if agree < 1e-6 else ': VOID'}.")
    report.write(args.out)


if __name__ == "__main__":
    main()
