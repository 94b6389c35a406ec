"""Seconds per EM iteration of gaussmix against scikit-learn (and any other
installed peer that can start EM from given parameters), on the same data,
from the same start, for the same number of iterations, in one process.

Run it without the OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE variables that are set
on some of these machines (they slow NumPy's OpenBLAS down):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/bench_em.py

    --quick                  N/20 at every shape: a smoke run of a minute or so
    --shapes 1000000x8x16 …  a subset (any NxDxK) instead of the four default shapes
    --iters 5                EM iterations per timed fit (at least 2)
    --skip-sklearn           time gaussmix alone
    --out bench/             where RESULTS.md and results.png go

What is measured, per shape (N, D, K):

* gaussmix: ``gaussmix.gmm.gmm_em_continue(..., max_iter=iters, delta_stop=-1,
  diag_add=0)`` on float64 X and on float32 X, after one warm-up call;
  seconds per iteration = total / iters. Again with one thread
  (``gaussmix.set_num_threads(1)``) for the thread scaling.
* scikit-learn: ``GaussianMixture(covariance_type='full', tol=0,
  reg_covar=0)`` with ``weights_init``, ``means_init`` and ``precisions_init``
  (the inverses of the start covariances), float64 only. Its ``fit`` has a
  fixed cost outside the EM loop (it builds a full set of parameters from an
  initial responsibility matrix, which the given ``*_init`` then replace, and
  it ends with an extra E-step), so its seconds per iteration are the
  difference of a fit with ``max_iter=iters`` and one with ``max_iter=1``,
  divided by ``iters - 1``. gaussmix's figure includes its fixed cost: the
  comparison leans, if anything, in scikit-learn's favour.
* Every timed call is made several times and the fastest counts, on both
  sides: 5 for gaussmix, 2 for scikit-learn (a peer's idle BLAS threads or
  another job can slow a single call).
* The timings count only if both sides reached the same log-likelihood:
  scikit-learn's ``lower_bound_`` (the mean log-likelihood of the last E-step)
  equals gaussmix's ``logL / N`` to 1e-6 relative in float64; gaussmix float32
  equals gaussmix float64 to 1e-5 relative. Otherwise the timing prints VOID.
* GFLOP/s counts 4*N*K*D^2 flops per iteration, the work of the dense
  formulation (a D x D product per row and component for the E-step, and as
  much for the M-step's covariances), whatever the kernels actually do; it is
  also given as a fraction of NumPy's float64 matmul rate in the same run.
* Peak memory above the data: each fit again in a fresh subprocess that
  builds the data, resets the resident-set high-water mark
  (/proc/self/clear_refs), fits, and reports VmHWM minus the VmRSS it had
  with the data loaded.

Peers: scikit-learn if installed. mlpack is looked for but not timed: its
Python ``gmm_train`` re-initialises EM with k-means even when given an
``input_model``, so it cannot start from the common parameters.

Also times ``gaussmix.gmm.gm_log_likelihood`` against
``scipy.stats.multivariate_normal.logpdf`` per component combined with
``scipy.special.logsumexp``, on the 1000000 x 8 x 16 data (N/20 with --quick).
"""
from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime
import importlib
import importlib.metadata
import importlib.util
import multiprocessing
import os
import platform
import shlex
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import gaussmix
import gaussmix.gmm as gmm

DEFAULT_SHAPES = [(100_000, 2, 3), (1_000_000, 8, 16), (200_000, 32, 16), (50_000, 64, 8)]
LOGLIK_SHAPE = (1_000_000, 8, 16)
QUICK_DIVISOR = 20
SEED = 0
RTOL = {"float64": 1e-6, "float32": 1e-5}
OPENBLAS_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
MIB = 2.0**20


# --------------------------------------------------------------------------- the problem


@dataclass(frozen=True)
class Start:
    """The EM start both sides get."""

    means: np.ndarray  # (K, D)
    covs: np.ndarray  # (K, D, D)
    weights: np.ndarray  # (K,)


def make_problem(shape, seed=SEED):
    """(X, start): a K-component mixture sample of N rows in D dimensions (means
    ~ N(0, 4^2) per coordinate, diagonal scales in [0.5, 1.5]), float64, and a
    start of K random rows as means, the data covariance for every component
    and equal weights."""
    n, d, k = shape
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(k, d))
    scales = rng.uniform(0.5, 1.5, size=(k, d))
    labels = rng.integers(k, size=n)
    X = rng.normal(size=(n, d))
    X *= scales[labels]
    X += centres[labels]
    cov = np.cov(X, rowvar=False)
    cov = (cov + cov.T) / 2
    start = Start(means=X[rng.choice(n, size=k, replace=False)].copy(), covs=np.repeat(cov[None], k, axis=0),
                  weights=np.full(k, 1.0 / k))
    return X, start


# --------------------------------------------------------------------------- the fits


def gaussmix_fit(X, start, iters):
    """EM with gaussmix from `start`; returns the mean log-likelihood of the last E-step."""
    *_, logL = gmm.gmm_em_continue(X, list(start.means), list(start.covs), start.weights, max_iter=iters,
                                   delta_stop=-1.0, diag_add=0.0)
    return logL / X.shape[0]


def sklearn_fit(X, start, iters):
    """EM with scikit-learn from `start`; returns lower_bound_, the mean
    log-likelihood of the last E-step."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture

    # init_params only picks the responsibilities sklearn builds (and discards) before
    # applying the *_init parameters; "random_from_data" is the cheapest of them.
    model = GaussianMixture(len(start.weights), covariance_type="full", tol=0.0, reg_covar=0.0, max_iter=iters,
                            init_params="random_from_data", random_state=SEED, weights_init=start.weights,
                            means_init=start.means, precisions_init=np.linalg.inv(start.covs))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    return model.lower_bound_


FITS = {"gaussmix": gaussmix_fit, "sklearn": sklearn_fit}


# --------------------------------------------------------------------------- measurements


def timed(fn, *args):
    """(seconds, result) of one call."""
    t = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - t, result


@contextlib.contextmanager
def one_gaussmix_thread():
    gaussmix.set_num_threads(1)
    try:
        yield
    finally:
        gaussmix.set_num_threads(None)  # back to the default: all cores


#: Each side's time is the best of this many timed calls: on a shared 2-core
#: machine the first call after the other side's can be slowed by its idle
#: threads (OpenBLAS's spin a while after a BLAS call), and other jobs slow
#: any call now and then (2-thread gaussmix timings here vary by +-10% from
#: call to call). gaussmix's calls are short, so it gets more of them.
REPEATS = {"gaussmix": 5, "sklearn": 2}


def best_of(repeats, fn, *args):
    """(smallest seconds, result) over `repeats` calls."""
    runs = [timed(fn, *args) for _ in range(repeats)]
    return min(r[0] for r in runs), runs[-1][1]


def time_gaussmix(X, start, iters):
    """(seconds per iteration, mean log-likelihood): total / iters after a one-iteration warm-up."""
    gaussmix_fit(X, start, 1)
    seconds, mean_loglik = best_of(REPEATS["gaussmix"], gaussmix_fit, X, start, iters)
    return seconds / iters, mean_loglik


def time_sklearn(X, start, iters):
    """(seconds per iteration, mean log-likelihood): the cost of iterations 2..iters,
    free of fit()'s fixed cost (see the module docstring), after a one-iteration warm-up."""
    sklearn_fit(X, start, 1)
    one, _ = best_of(REPEATS["sklearn"], sklearn_fit, X, start, 1)
    total, mean_loglik = best_of(REPEATS["sklearn"], sklearn_fit, X, start, iters)
    return (total - one) / (iters - 1), mean_loglik


def _proc_status_kib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _memory_worker(library, shape, dtype, iters):
    """Runs in a fresh process: bytes of resident memory the fit needs above its data.

    No warm-up fit: the allocator would keep its buffers resident and the
    measured fit would reuse them for free."""
    if library == "sklearn":
        importlib.import_module("sklearn.mixture")  # the import's memory is not the fit's
    X, start = make_problem(shape)
    X = X.astype(dtype, copy=False)  # a float32 run keeps only its float32 copy
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # hand the data generation's freed memory back
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")  # VmHWM := VmRSS, forgetting the data generation's temporaries
    base = _proc_status_kib("VmRSS")
    FITS[library](X, start, iters)
    return (_proc_status_kib("VmHWM") - base) * 1024.0


def peak_memory_above_data(library, shape, dtype, iters=2):
    """Peak resident memory of a fit above the data, in bytes, measured in a fresh process.
    Two iterations reach every allocation an iteration makes."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_memory_worker, (library, shape, dtype, iters))


def matmul_gflops(n=2000, repeats=5):
    """NumPy's float64 matmul rate, best of `repeats`."""
    a = np.random.default_rng(SEED).random((n, n))
    best = min(timed(np.matmul, a, a)[0] for _ in range(repeats))
    return 2.0 * n**3 / best / 1e9


def scipy_log_likelihood(X, start):
    from scipy.special import logsumexp
    from scipy.stats import multivariate_normal

    log_prob = np.column_stack([np.log(w) + multivariate_normal.logpdf(X, mean=m, cov=c)
                                for m, c, w in zip(start.means, start.covs, start.weights)])
    return float(logsumexp(log_prob, axis=1).sum())


@dataclass
class LoglikResult:
    shape: tuple
    gaussmix_seconds: float
    scipy_seconds: float
    gaussmix_value: float
    scipy_value: float

    @property
    def agree(self):
        return relative_difference(self.gaussmix_value, self.scipy_value) <= RTOL["float64"]


def time_log_likelihood(shape):
    """gm_log_likelihood against SciPy's logpdf + logsumexp, on the same data and mixture."""
    X, start = make_problem(shape)
    def gaussmix_log_likelihood(X, start):
        return gmm.gm_log_likelihood(X, list(start.means), list(start.covs), start.weights)

    for warm_up in (gaussmix_log_likelihood, scipy_log_likelihood):  # imports, thread pools
        warm_up(X[:1000], start)
    g_seconds, g_value = timed(gaussmix_log_likelihood, X, start)
    s_seconds, s_value = timed(scipy_log_likelihood, X, start)
    return LoglikResult(shape, g_seconds, s_seconds, g_value, s_value)


def relative_difference(a, b):
    return abs(a - b) / max(abs(b), np.finfo(float).tiny)


# --------------------------------------------------------------------------- one row of the table


@dataclass
class EmResult:
    """One shape and dtype of gaussmix, with scikit-learn's float64 figures beside it."""

    shape: tuple
    dtype: str
    seconds: float  # gaussmix s/iter, all threads
    seconds_1thread: float
    memory: float  # bytes above the data
    mean_loglik: float
    reference: str  # what the log-likelihood was checked against ("" if nothing)
    reference_loglik: float | None
    sklearn_seconds: float | None = None
    sklearn_memory: float | None = None
    gaussmix_f64_seconds: float | None = None  # float32 rows only

    @property
    def checked(self):
        return self.reference_loglik is not None

    @property
    def loglik_difference(self):
        return relative_difference(self.mean_loglik, self.reference_loglik) if self.checked else None

    @property
    def valid(self):
        return not self.checked or self.loglik_difference <= RTOL[self.dtype]

    @property
    def gflops(self):
        n, d, k = self.shape
        return 4.0 * n * k * d * d / self.seconds / 1e9


@dataclass
class SklearnResult:
    seconds: float
    mean_loglik: float
    memory: float


def measure_sklearn(X, start, iters):
    shape = X.shape + (len(start.weights),)
    seconds, mean_loglik = time_sklearn(X, start, iters)
    return SklearnResult(seconds, mean_loglik, peak_memory_above_data("sklearn", shape, "float64"))


def measure_gaussmix(X, start, iters, reference, sk=None, f64_seconds=None):
    """One row: gaussmix on X with all threads and with one, its memory, and its
    log-likelihood beside `reference`, a (name, mean log-likelihood) pair."""
    seconds, mean_loglik = time_gaussmix(X, start, iters)
    with one_gaussmix_thread():
        seconds_1thread, _ = time_gaussmix(X, start, iters)
    shape = X.shape + (len(start.weights),)
    row = EmResult(shape=shape, dtype=X.dtype.name, seconds=seconds, seconds_1thread=seconds_1thread,
                   memory=peak_memory_above_data("gaussmix", shape, X.dtype.name), mean_loglik=mean_loglik,
                   reference=reference[0], reference_loglik=reference[1],
                   sklearn_seconds=sk.seconds if sk else None, sklearn_memory=sk.memory if sk else None,
                   gaussmix_f64_seconds=f64_seconds)
    print(f"  {row.dtype}: gaussmix {seconds:.4g} s/iter ({seconds_1thread:.4g} with 1 thread)"
          + (f", scikit-learn {sk.seconds:.4g} s/iter" if sk else "")
          + (f", logL rel. diff. {row.loglik_difference:.1e} vs {row.reference}" if row.checked else ""),
          flush=True)
    return row


def measure_shape(shape, iters, with_sklearn):
    """The float64 and float32 rows of one shape; scikit-learn runs float64 only."""
    X, start = make_problem(shape)
    sk = measure_sklearn(X, start, iters) if with_sklearn else None
    f64 = measure_gaussmix(X, start, iters, ("scikit-learn", sk.mean_loglik) if sk else ("", None), sk)
    f32 = measure_gaussmix(X.astype(np.float32), start, iters, ("gaussmix float64", f64.mean_loglik), sk,
                           f64_seconds=f64.seconds)
    return [f64, f32]


# --------------------------------------------------------------------------- peers and machine


def installed(module):
    return importlib.util.find_spec(module) is not None


def version_of(distribution):
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def peer_status(skip_sklearn):
    """Each peer and whether it is timed; why not, if it is not."""
    if not installed("sklearn"):
        sklearn = "not installed"
    elif skip_sklearn:
        sklearn = f"{version_of('scikit-learn')}, skipped (--skip-sklearn)"
    else:
        sklearn = f"{version_of('scikit-learn')}, timed"
    if not installed("mlpack"):
        mlpack = "not installed"
    else:
        mlpack = (f"{version_of('mlpack')}, installed but not timed: its Python gmm_train always "
                  "re-initialises EM with k-means (input_model only fixes K and D), so it cannot "
                  "start from the common parameters")
    return {"scikit-learn": sklearn, "mlpack": mlpack}


def cpu_model():
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def blas_description():
    from threadpoolctl import threadpool_info

    importlib.import_module("scipy.linalg")  # scikit-learn also uses SciPy's BLAS: load it to list it
    return "; ".join(
        f"{info['internal_api']} {info.get('version')} ({info.get('architecture')}, {info['num_threads']} threads)"
        f" from {Path(info['filepath']).parent.name}/{Path(info['filepath']).name}"
        for info in threadpool_info() if info["user_api"] == "blas")


def gaussmix_revision():
    repo = Path(__file__).resolve().parent.parent
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        return subprocess.run(["git", "-C", str(repo), "describe", "--always", "--dirty"], check=True,
                              capture_output=True, text=True).stdout.strip()
    return "unknown"


def machine_lines(matmul):
    env = ", ".join(f"{v}={os.environ[v]}" if v in os.environ else f"{v} unset" for v in OPENBLAS_VARIABLES)
    return [
        f"CPU: {cpu_model()}, {os.cpu_count()} logical cores; gaussmix uses {gaussmix.get_num_threads()} threads",
        f"NumPy {np.__version__}, BLAS: {blas_description()}",
        f"NumPy float64 matmul (2000 x 2000, best of 5): {matmul:.1f} GFLOP/s; {env}",
        f"gaussmix {gaussmix.__version__} at revision {gaussmix_revision()}, Python {platform.python_version()}",
        f"Load average (1 min) when the run started: {os.getloadavg()[0]:.2f} (other work slows the timings)",
    ]


# --------------------------------------------------------------------------- report


def _fmt(x, spec=".4g", missing="—"):
    return missing if x is None else format(x, spec)


def _shape_label(shape):
    return "×".join(f"{v:,}" for v in shape)


def em_table(rows, matmul, threads):
    header = ["N×D×K", "dtype", "gaussmix s/iter", "scikit-learn s/iter (f64)", "speed-up vs sklearn",
              "speed-up vs gaussmix f64", "GFLOP/s", "% of matmul", "data MiB", "peak MiB above data: gaussmix",
              "peak MiB above data: sklearn", "gaussmix 1-thread s/iter", f"scaling 1→{threads} threads",
              "logL check"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        ok = r.valid

        def speedup(other_seconds):
            if other_seconds is None:
                return "—"
            return f"{other_seconds / r.seconds:.2f}×" if ok else "VOID"

        if not r.checked:
            check = "not checked"
        else:
            check = f"{'ok' if ok else 'MISMATCH'}: rel. diff. {r.loglik_difference:.1e} vs {r.reference}"
        n, d, _ = r.shape
        cells = [_shape_label(r.shape), r.dtype, _fmt(r.seconds) if ok else f"VOID ({r.seconds:.4g})",
                 _fmt(r.sklearn_seconds), speedup(r.sklearn_seconds), speedup(r.gaussmix_f64_seconds),
                 _fmt(r.gflops, ".3g") if ok else "VOID", f"{100 * r.gflops / matmul:.0f} %" if ok else "VOID",
                 _fmt(n * d * np.dtype(r.dtype).itemsize / MIB, ".1f"), _fmt(r.memory / MIB, ".1f"),
                 _fmt(r.sklearn_memory / MIB if r.sklearn_memory is not None else None, ".1f"),
                 _fmt(r.seconds_1thread), _fmt(r.seconds_1thread / r.seconds, ".2f") + "×", check]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def loglik_lines(result):
    verdict = "agree" if result.agree else "DIFFER: timing VOID"
    speedup = f"{result.scipy_seconds / result.gaussmix_seconds:.1f}×" if result.agree else "VOID"
    return [
        "| N×D×K | gaussmix gm_log_likelihood s | SciPy logpdf + logsumexp s | speed-up | values |",
        "|---|---|---|---|---|",
        f"| {_shape_label(result.shape)} | {result.gaussmix_seconds:.4g} | {result.scipy_seconds:.4g} | {speedup} | "
        f"{verdict} (rel. diff. {relative_difference(result.gaussmix_value, result.scipy_value):.1e}) |",
    ]


def write_results(path, command, machine, peers, iters, em_lines, ll_lines):
    text = [
        "# gaussmix EM benchmark",
        "",
        f"Written by `bench/bench_em.py` on {datetime.datetime.now().isoformat(timespec='minutes')}.",
        "",
        f"Command: `{command}`",
        "",
        *[f"- {line}" for line in machine],
        *[f"- Peer {name}: {status}" for name, status in peers.items()],
        "",
        f"## EM: seconds per iteration ({iters} iterations from the same start)",
        "",
        *em_lines,
        "",
        "- gaussmix s/iter: total of `gmm_em_continue(max_iter=iters)` / iters, after a one-iteration warm-up;",
        f"  every gaussmix figure is the best of {REPEATS['gaussmix']} calls, every scikit-learn one of {REPEATS['sklearn']}.",
        "- scikit-learn s/iter: (fit with max_iter=iters − fit with max_iter=1) / (iters − 1), which leaves out",
        "  `fit()`'s fixed cost; scikit-learn runs float64 only, so float32 rows compare with its float64 time.",
        "  It uses all cores through its BLAS, as gaussmix does through OpenMP.",
        "- Scaling: gaussmix's 1-thread s/iter divided by its all-threads s/iter.",
        "- GFLOP/s counts 4·N·K·D² flops per iteration: the work of the dense formulation, whatever the",
        "  kernels actually do. % of matmul is against NumPy's float64 matmul rate measured in the same run.",
        "- Peak memory above the data: resident-set high-water mark of a two-iteration fit in a fresh",
        "  process, minus its resident set with the data loaded.",
        "- logL check: scikit-learn's `lower_bound_` vs gaussmix's logL / N (1e-6 relative, float64);",
        "  gaussmix float32 vs gaussmix float64 (1e-5 relative). A failed check voids the timing.",
        "",
        "## Log-likelihood of a fixed mixture",
        "",
        *ll_lines,
        "",
    ]
    path.write_text("\n".join(text))


def plot(rows, path, iters):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shapes = list(dict.fromkeys(r.shape for r in rows))
    by_key = {(r.shape, r.dtype): r for r in rows}
    series = {
        "gaussmix float64": [by_key[s, "float64"].seconds for s in shapes],
        "gaussmix float32": [by_key[s, "float32"].seconds for s in shapes],
    }
    if all(by_key[s, "float64"].sklearn_seconds for s in shapes):
        series["scikit-learn float64"] = [by_key[s, "float64"].sklearn_seconds for s in shapes]
    x = np.arange(len(shapes))
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for i, (label, values) in enumerate(series.items()):
        ax.bar(x + (i - (len(series) - 1) / 2) * width, values, width, label=label)
    ax.set_yscale("log")
    ax.set_xticks(x, [_shape_label(s) for s in shapes])
    ax.set_xlabel("N × D × K")
    ax.set_ylabel("seconds per EM iteration (log scale)")
    ax.set_title(f"EM, full covariances, {iters} iterations, {gaussmix.get_num_threads()} threads")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# --------------------------------------------------------------------------- main


def parse_shape(text):
    try:
        n, d, k = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"a shape is NxDxK, e.g. 1000000x8x16; got {text!r}") from None
    return n, d, k


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help=f"N/{QUICK_DIVISOR} at every shape (smoke run)")
    ap.add_argument("--shapes", nargs="+", type=parse_shape, default=DEFAULT_SHAPES, metavar="NxDxK",
                    help="shapes to run (default: " + " ".join("x".join(map(str, s)) for s in DEFAULT_SHAPES) + ")")
    ap.add_argument("--iters", type=int, default=5, help="EM iterations per timed fit, >= 2 (default 5)")
    ap.add_argument("--skip-sklearn", action="store_true", help="do not run scikit-learn")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent,
                    help="directory for RESULTS.md and results.png (default: bench/)")
    args = ap.parse_args()
    if args.iters < 2:
        ap.error("--iters must be at least 2 (scikit-learn's time per iteration is a difference of two fits)")
    return args


def main():
    args = parse_args()
    command = shlex.join(["python", *sys.argv])
    for variable in OPENBLAS_VARIABLES:
        if variable in os.environ:
            print(f"WARNING: {variable}={os.environ[variable]} is set; it slows NumPy's BLAS. Run with "
                  f"env -u {' -u '.join(OPENBLAS_VARIABLES)} python bench/bench_em.py", flush=True)
    scale = QUICK_DIVISOR if args.quick else 1
    shapes = [(max(n // scale, 1), d, k) for n, d, k in args.shapes]
    peers = peer_status(args.skip_sklearn)
    with_sklearn = installed("sklearn") and not args.skip_sklearn

    matmul = matmul_gflops()
    machine = machine_lines(matmul)
    print("\n".join(machine + [f"Peer {name}: {status}" for name, status in peers.items()]), flush=True)

    rows = []
    for shape in shapes:
        print(f"EM at N×D×K = {_shape_label(shape)}, {args.iters} iterations", flush=True)
        rows += measure_shape(shape, args.iters, with_sklearn)
    ll_shape = (LOGLIK_SHAPE[0] // scale,) + LOGLIK_SHAPE[1:]
    print(f"Log-likelihood at N×D×K = {_shape_label(ll_shape)}", flush=True)
    ll = time_log_likelihood(ll_shape)

    em_lines = em_table(rows, matmul, gaussmix.get_num_threads())
    ll_lines = loglik_lines(ll)
    print("\n" + "\n".join(em_lines + [""] + ll_lines))
    args.out.mkdir(parents=True, exist_ok=True)
    write_results(args.out / "RESULTS.md", command, machine, peers, args.iters, em_lines, ll_lines)
    plot(rows, args.out / "results.png", args.iters)
    print(f"\nwrote {args.out / 'RESULTS.md'} and {args.out / 'results.png'}")


if __name__ == "__main__":
    main()
