"""Seconds per EM iteration of gaussmix against scikit-learn and Armadillo (and
any other installed peer that can start EM from given parameters), on the same
data, from the same start, for the same number of iterations, for each
covariance model (full, tied, diag, spherical), in one process.

Run it without the OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE variables that are set
on some of these machines (they slow NumPy's OpenBLAS down):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/bench_em.py

    --models full,diag       covariance models to run (default: full,tied,diag,spherical)
    --quick                  N/20 at every shape: a smoke run of a few minutes
    --shapes 1000000x8x16 diag:1000000x32x16 …
                             only these shapes: NxDxK for every model run, MODEL:NxDxK for one
                             (default: full at 100000x2x3 1000000x8x16 200000x32x16 50000x64x8;
                             tied at 1000000x16x16; diag and spherical at 1000000x32x16)
    --weighted-shape NxDxK   the weighted full row (default 1000000x8x16)
    --skip-weighted          no weighted row
    --iters 5                EM iterations per timed fit (at least 2; at most 5 for diag at
                             1000000x32x16: from this start one component is down to a single row
                             after 5 iterations and its variance reaches 0, a Cov_problem, in the 6th)
    --skip-sklearn           do not run scikit-learn
    --skip-armadillo         do not build or run the Armadillo peer
    --out bench/             write RESULTS.md and results.png there (default: print only)

What is measured, per covariance model and shape (N, D, K):

* gaussmix: ``gaussmix.fit_em(X, gaussmix.Mixture(w, m, covs,
  covariance_type=model), max_iter=iters, tol=0, reg_covar=0)`` on float64 X
  and on float32 X, after one warm-up call; seconds per iteration = total /
  iters. Again with one thread (``gaussmix.set_num_threads(1)``) for the
  thread scaling. Also by scikit-learn's difference method (below), which
  leaves out the call's fixed cost (Python-side validation and scale checks
  of X); the speed-ups use total / iters.
* scikit-learn: ``GaussianMixture(covariance_type=model, tol=0,
  reg_covar=0)`` with ``weights_init``, ``means_init`` and ``precisions_init``
  (the start's precisions in that model's shape: full (K, D, D), tied (D, D),
  diag (K, D), spherical (K,)), float64 only. Its ``fit`` has a fixed cost
  outside the EM loop (it builds a full set of parameters from an initial
  responsibility matrix, which the given ``*_init`` then replace, and it ends
  with an extra E-step), so its seconds per iteration are the difference of a
  fit with ``max_iter=iters`` and one with ``max_iter=1``, divided by
  ``iters - 1``. gaussmix's figure includes its fixed cost: the comparison
  leans, if anything, in scikit-learn's favour.
* Armadillo (diag and full models, float64 and float32, when its headers are
  installed): ``gmm_diag`` / ``gmm_full`` from the same start
  (``set_params``, then ``learn(..., keep_existing, km_iter=0,
  em_iter=iters, var_floor=0)``), in bench/cpp/armadillo_gmm.cpp, which this
  script compiles on demand with ``-O3 -march=native -fopenmp`` (Armadillo
  runs its EM on all cores through OpenMP). Seconds per iteration by the
  same difference as scikit-learn's (em_iter=iters minus em_iter=1), measured
  inside that program, best of 3 each.
* Weighted EM (full model, --weighted-shape): gaussmix with random positive
  ``sample_weight`` (uniform in [0.5, 1.5]) against gaussmix without, same
  data, same start, same run, float64 and float32 (scikit-learn has no
  sample weights).
* Every timed call is made several times and the fastest counts, on both
  sides: 5 for gaussmix, 2 for scikit-learn, 3 for Armadillo (a peer's idle
  BLAS threads or another job can slow a single call).
* The timings count only if both sides reached the same log-likelihood:
  scikit-learn's ``lower_bound_`` (the mean log-likelihood of the last E-step)
  equals gaussmix's ``lower_bound`` to 1e-6 relative in float64; gaussmix
  float32 equals gaussmix float64 to 1e-5 relative; Armadillo's
  ``avg_log_p(X)`` after ``iters`` iterations equals the mean log-density of
  X under gaussmix's mixture after ``iters`` iterations, 1e-6 relative
  (float32: 1e-4, as Armadillo's float models accumulate in float). The
  weighted float64 fit is checked after 2 iterations against a NumPy/SciPy
  transcription of one weighted E-step, M-step and E-step. Otherwise the
  timing prints VOID.
* GFLOP/s: for ``full``, 4*N*K*D^2 flops per iteration, the work of the
  dense formulation (a D x D product per row and component for the E-step,
  and as much for the M-step's covariances), whatever the kernels actually
  do; for ``tied``, ``diag`` and ``spherical``, twice the multiply-adds that
  model's kernels do per row (``multiply_adds_per_row``; bench/NOTES.md,
  "Covariance models: arithmetic floors"). It is also given as a fraction of
  NumPy's float64 matmul rate in the same run.
* Peak memory above the data: each fit again in a fresh subprocess that
  builds the data (and the weights), resets the resident-set high-water mark
  (/proc/self/clear_refs), fits, and reports VmHWM minus the VmRSS it had
  with the data loaded.

Peers: scikit-learn if installed; Armadillo if a C++ compiler finds
``<armadillo>`` (Debian: libarmadillo-dev). mlpack is looked for but not
timed: its Python ``gmm_train`` re-initialises EM with k-means even when
given an ``input_model``, so it cannot start from the common parameters.

The fixed cost of every public face (``gmm.gmm_em_continue``,
``GaussianMixture.fit``, ``fit_em``, the statistics seam), beside its
per-iteration time and comparable across two builds: bench/bench_fixed_cost.py.

Also times ``gaussmix.gmm.gm_log_likelihood`` against
``scipy.stats.multivariate_normal.logpdf`` per component combined with
``scipy.special.logsumexp``, on the 1000000 x 8 x 16 data (N/20 with --quick),
when the full model runs.
"""
from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime
import hashlib
import importlib
import importlib.metadata
import importlib.util
import multiprocessing
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import gaussmix
import gaussmix.gmm as gmm

MODELS = ("full", "tied", "diag", "spherical")
DEFAULT_SHAPES = {
    "full": [(100_000, 2, 3), (1_000_000, 8, 16), (200_000, 32, 16), (50_000, 64, 8)],
    "tied": [(1_000_000, 16, 16)],
    "diag": [(1_000_000, 32, 16)],
    "spherical": [(1_000_000, 32, 16)],
}
WEIGHTED_SHAPE = (1_000_000, 8, 16)  # full model
LOGLIK_SHAPE = (1_000_000, 8, 16)
QUICK_DIVISOR = 20
SEED = 0
RTOL = {"float64": 1e-6, "float32": 1e-5}
OPENBLAS_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
MIB = 2.0**20
BENCH_DIR = Path(__file__).resolve().parent
ARMADILLO_SOURCE = BENCH_DIR / "cpp" / "armadillo_gmm.cpp"
ARMADILLO_MODELS = ("diag", "full")  # the models Armadillo has (gmm_diag, gmm_full)
#: Armadillo's float32 models (fgmm_*) accumulate in float, gaussmix's statistics are
#: double: their mean log-likelihoods differ by up to ~5e-5 after 5 iterations.
ARMADILLO_RTOL = {"float64": 1e-6, "float32": 1e-4}


# --------------------------------------------------------------------------- the problem


@dataclass(frozen=True)
class Start:
    """The EM start every side gets, covariances in scikit-learn's shape for the model:
    full (K, D, D), tied (D, D), diag (K, D), spherical (K,)."""

    model: str
    weights: np.ndarray  # (K,)
    means: np.ndarray  # (K, D)
    covariances: np.ndarray

    @property
    def precisions(self):
        """scikit-learn's precisions_init: the inverse covariances in the same shape."""
        if self.model in ("full", "tied"):
            return np.linalg.inv(self.covariances)
        return 1.0 / self.covariances

    @property
    def dense_covariances(self):
        """(K, D, D): each component's covariance matrix."""
        k, d = self.means.shape
        if self.model == "full":
            return self.covariances
        if self.model == "tied":
            return np.repeat(self.covariances[None], k, axis=0)
        variances = self.covariances if self.model == "diag" else np.repeat(self.covariances[:, None], d, axis=1)
        return np.stack([np.diag(v) for v in variances])


def make_problem(shape, model="full", seed=SEED):
    """(X, start): a K-component mixture sample of N rows in D dimensions (means
    ~ N(0, 4^2) per coordinate, diagonal scales in [0.5, 1.5]), float64, and a
    start of K random rows as means, equal weights and the data's covariance in
    the model's form: the covariance matrix for every component (full), once
    (tied), its diagonal for every component (diag), the mean of its diagonal
    for every component (spherical). X and the means do not depend on the model."""
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
    means = X[rng.choice(n, size=k, replace=False)].copy()
    covariances = {
        "full": lambda: np.repeat(cov[None], k, axis=0),
        "tied": lambda: cov,
        "diag": lambda: np.repeat(np.diag(cov)[None], k, axis=0),
        "spherical": lambda: np.full(k, np.diag(cov).mean()),
    }[model]()
    return X, Start(model=model, weights=np.full(k, 1.0 / k), means=means, covariances=covariances)


def make_sample_weight(n, seed=SEED + 1):
    """Random positive sample weights, uniform in [0.5, 1.5]."""
    return np.random.default_rng(seed).uniform(0.5, 1.5, size=n)


# --------------------------------------------------------------------------- the fits


def has_model_api():
    """Whether gaussmix has the covariance-model API (gaussmix.Mixture, gaussmix.fit_em)."""
    return hasattr(gaussmix, "fit_em") and hasattr(gaussmix, "Mixture")


def gaussmix_em(X, start, iters, sample_weight=None):
    """EM with gaussmix from `start`: gaussmix.fit_em's result."""
    init = gaussmix.Mixture(start.weights, start.means, start.covariances, covariance_type=start.model)
    return gaussmix.fit_em(X, init, max_iter=iters, tol=0.0, reg_covar=0.0, sample_weight=sample_weight)


def gaussmix_fit(X, start, iters, sample_weight=None):
    """EM with gaussmix from `start`; returns the lower bound: the (weighted) mean
    log-likelihood of the last E-step."""
    if has_model_api():
        return gaussmix_em(X, start, iters, sample_weight).lower_bound
    # Before the covariance-model API: the full model through the PyPR face.
    if start.model != "full" or sample_weight is not None:
        raise RuntimeError("this gaussmix has no gaussmix.fit_em: only the unweighted full model can run")
    *_, logL = gmm.gmm_em_continue(X, list(start.means), list(start.covariances), start.weights, max_iter=iters,
                                   delta_stop=-1.0, diag_add=0.0)
    return logL / X.shape[0]


def gaussmix_mean_log_density_after(X, start, iters):
    """The mean log-density of X under gaussmix's mixture after `iters` iterations
    (what Armadillo's avg_log_p reports after as many), in float64."""
    X = np.asarray(X, dtype=np.float64)
    if has_model_api():
        return float(np.mean(gaussmix_em(X, start, iters).mixture.log_density(X)))
    means, covs, weights, _ = gmm.gmm_em_continue(X, list(start.means), list(start.covariances), start.weights,
                                                  max_iter=iters, delta_stop=-1.0, diag_add=0.0)
    return gmm.gm_log_likelihood(X, means, covs, weights) / X.shape[0]


def sklearn_fit(X, start, iters, sample_weight=None):
    """EM with scikit-learn from `start`; returns lower_bound_, the mean
    log-likelihood of the last E-step."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture

    if sample_weight is not None:
        raise ValueError("scikit-learn's GaussianMixture has no sample_weight")
    # init_params only picks the responsibilities sklearn builds (and discards) before
    # applying the *_init parameters; "random_from_data" is the cheapest of them.
    model = GaussianMixture(len(start.weights), covariance_type=start.model, tol=0.0, reg_covar=0.0,
                            max_iter=iters, init_params="random_from_data", random_state=SEED,
                            weights_init=start.weights, means_init=start.means, precisions_init=start.precisions)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    return model.lower_bound_


FITS = {"gaussmix": gaussmix_fit, "sklearn": sklearn_fit}


def numpy_weighted_lower_bound(X, start, sample_weight):
    """The weighted lower bound of a full-covariance fit_em(max_iter=2) from `start`,
    transcribed from the textbook formulas with SciPy's logpdf: E-step, weighted
    M-step, E-step; sum_i w_i log p(x_i) / sum_i w_i under the updated mixture."""
    from scipy.special import logsumexp
    from scipy.stats import multivariate_normal

    def log_prob(weights, means, covs):
        return np.column_stack([np.log(w) + multivariate_normal.logpdf(X, mean=m, cov=c)
                                for w, m, c in zip(weights, means, covs)])

    lp = log_prob(start.weights, start.means, start.dense_covariances)
    resp = np.exp(lp - logsumexp(lp, axis=1, keepdims=True)) * sample_weight[:, None]
    nk = resp.sum(axis=0)
    means = (resp.T @ X) / nk[:, None]
    covs = np.stack([((X - m).T * r) @ (X - m) / s for m, r, s in zip(means, resp.T, nk)])
    lp = log_prob(nk / nk.sum(), means, covs)
    return float(np.dot(sample_weight, logsumexp(lp, axis=1)) / sample_weight.sum())


def multiply_adds_per_row(model, d, k):
    """Multiply-adds per row and EM iteration that gaussmix's kernels do for `model`
    (bench/NOTES.md, "Covariance models: arithmetic floors"), the K per row of the
    normalisation included, the K exp not."""
    tri = d * (d + 1) // 2
    e_step, m_step = {
        "full": (k * (tri + d), k * (tri + d + 1)),
        "tied": (tri + 2 * d * k, d * k + tri),
        "diag": (2 * d * k, 2 * d * k + d),
        "spherical": (2 * d * k, (d + 1) * k + d),
    }[model]
    return e_step + m_step + k


def flops_per_iteration(model, shape):
    """What the GFLOP/s column counts: the dense 4 N K D^2 for full, twice the
    multiply-adds the kernels do for the other models."""
    n, d, k = shape
    if model == "full":
        return 4.0 * n * k * d * d
    return 2.0 * n * multiply_adds_per_row(model, d, k)


# --------------------------------------------------------------------------- Armadillo


def _run_quiet(cmd, **kwargs):
    return subprocess.run(cmd, capture_output=True, text=True, **kwargs)


def armadillo_binary():
    """(path of the compiled armadillo_gmm, None) or (None, why not). Compiled once per
    version of its source into the temporary directory."""
    cxx = os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        return None, "not timed: no C++ compiler"
    probe = _run_quiet([cxx, "-std=c++17", "-x", "c++", "-E", "-o", os.devnull, "-"], input="#include <armadillo>\n")
    if probe.returncode != 0:
        return None, "not installed (no <armadillo> header; Debian: apt-get install libarmadillo-dev)"
    digest = hashlib.sha256(ARMADILLO_SOURCE.read_bytes() + cxx.encode()).hexdigest()[:12]
    binary = Path(tempfile.gettempdir()) / f"gaussmix-bench-armadillo_gmm-{digest}"
    if not binary.exists():
        print(f"compiling {ARMADILLO_SOURCE.name} (about 20 s)", flush=True)
        cmd = [cxx, "-std=c++17", "-O3", "-march=native", "-fopenmp", str(ARMADILLO_SOURCE), "-o",
               str(binary) + ".tmp", "-larmadillo"]
        built = _run_quiet(cmd)
        if built.returncode != 0:
            return None, f"not timed: {shlex.join(cmd)} failed: {built.stderr.strip()[-300:]}"
        os.replace(str(binary) + ".tmp", binary)
    return binary, None


@dataclass
class ArmadilloResult:
    seconds: float | None  # per iteration, difference method; None if learn() failed
    seconds_total: float | None  # the ITERS call / ITERS, fixed cost included
    mean_loglik: float | None  # avg_log_p(X) after ITERS iterations
    reference: float  # gaussmix's mean log-density after ITERS iterations
    dtype: str
    error: str = ""

    @property
    def loglik_difference(self):
        return None if self.mean_loglik is None else relative_difference(self.mean_loglik, self.reference)

    @property
    def valid(self):
        return self.seconds is not None and self.loglik_difference <= ARMADILLO_RTOL[self.dtype]


def time_armadillo(binary, X, start, iters, reference, repeats=3):
    """Armadillo's gmm_diag / gmm_full on X (its dtype) from `start`, in a child process."""
    n, d = X.shape
    k = len(start.weights)
    with tempfile.TemporaryDirectory(prefix="gaussmix-bench-") as tmp:
        X.tofile(os.path.join(tmp, "x.bin"))  # row-major N x D = Armadillo's column-major D x N
        np.asarray(start.weights, np.float64).tofile(os.path.join(tmp, "weights.bin"))
        np.ascontiguousarray(start.means, np.float64).tofile(os.path.join(tmp, "means.bin"))
        np.ascontiguousarray(start.covariances, np.float64).tofile(os.path.join(tmp, "covs.bin"))
        cmd = [str(binary), tmp, start.model, "double" if X.dtype == np.float64 else "float", str(n), str(d),
               str(k), str(iters), str(repeats)]
        run = _run_quiet(cmd)
    if run.returncode != 0:
        return ArmadilloResult(None, None, None, reference, X.dtype.name, run.stderr.strip() or "failed")
    fields = run.stdout.split()
    values = dict(zip(fields[::2], fields[1::2]))
    return ArmadilloResult(float(values["seconds_per_iter"]), float(values["total_over_iters"]),
                           float(values["avg_log_p"]), reference, X.dtype.name)


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
REPEATS = {"gaussmix": 5, "sklearn": 2, "armadillo": 3}


def best_of(repeats, fn, *args):
    """(smallest seconds, result) over `repeats` calls."""
    runs = [timed(fn, *args) for _ in range(repeats)]
    return min(r[0] for r in runs), runs[-1][1]


def time_gaussmix(X, start, iters, sample_weight=None):
    """(seconds per iteration, lower bound): total / iters after a one-iteration warm-up."""
    gaussmix_fit(X, start, 1, sample_weight)
    seconds, lower_bound = best_of(REPEATS["gaussmix"], gaussmix_fit, X, start, iters, sample_weight)
    return seconds / iters, lower_bound


def time_gaussmix_marginal(X, start, iters, seconds_per_iter):
    """(seconds per iteration without fit_em's fixed cost, the fixed cost): the
    difference method of scikit-learn's figure, from a best-of-3 one-iteration fit and
    the `iters`-iteration figure already measured. The fixed cost is what a call
    spends outside the EM iterations (validation, scale checks, conversions)."""
    one, _ = best_of(3, gaussmix_fit, X, start, 1)
    marginal = (seconds_per_iter * iters - one) / (iters - 1)
    return marginal, one - marginal


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


def _memory_worker(library, shape, model, dtype, iters, weighted):
    """Runs in a fresh process: bytes of resident memory the fit needs above its data.

    No warm-up fit: the allocator would keep its buffers resident and the
    measured fit would reuse them for free."""
    if library == "sklearn":
        importlib.import_module("sklearn.mixture")  # the import's memory is not the fit's
    X, start = make_problem(shape, model)
    X = X.astype(dtype, copy=False)  # a float32 run keeps only its float32 copy
    sample_weight = make_sample_weight(shape[0]) if weighted else None  # counted with the data
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # hand the data generation's freed memory back
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")  # VmHWM := VmRSS, forgetting the data generation's temporaries
    base = _proc_status_kib("VmRSS")
    FITS[library](X, start, iters, sample_weight)
    return (_proc_status_kib("VmHWM") - base) * 1024.0


def peak_memory_above_data(library, shape, model, dtype, iters=2, weighted=False):
    """Peak resident memory of a fit above the data, in bytes, measured in a fresh process.
    Two iterations reach every allocation an iteration makes."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_memory_worker, (library, shape, model, dtype, iters, weighted))


def matmul_gflops(n=2000, repeats=5):
    """NumPy's float64 matmul rate, best of `repeats`."""
    a = np.random.default_rng(SEED).random((n, n))
    best = min(timed(np.matmul, a, a)[0] for _ in range(repeats))
    return 2.0 * n**3 / best / 1e9


def scipy_log_likelihood(X, start):
    from scipy.special import logsumexp
    from scipy.stats import multivariate_normal

    log_prob = np.column_stack([np.log(w) + multivariate_normal.logpdf(X, mean=m, cov=c)
                                for m, c, w in zip(start.means, start.dense_covariances, start.weights)])
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
        return gmm.gm_log_likelihood(X, list(start.means), list(start.covariances), start.weights)

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
    """One model, shape and dtype of gaussmix, with the peers' figures beside it."""

    model: str
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
    armadillo: ArmadilloResult | None = None
    marginal_seconds: float | None = None  # s/iter by the difference method
    fixed_seconds: float | None = None  # the call's cost outside its iterations

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
        return flops_per_iteration(self.model, self.shape) / self.seconds / 1e9


@dataclass
class SklearnResult:
    seconds: float
    mean_loglik: float
    memory: float


def measure_sklearn(X, start, iters):
    shape = X.shape + (len(start.weights),)
    seconds, mean_loglik = time_sklearn(X, start, iters)
    return SklearnResult(seconds, mean_loglik, peak_memory_above_data("sklearn", shape, start.model, "float64"))


def measure_armadillo(binary, X, start, iters):
    if binary is None or start.model not in ARMADILLO_MODELS:
        return None
    reference = gaussmix_mean_log_density_after(X, start, iters)
    result = time_armadillo(binary, X, start, iters, reference, REPEATS["armadillo"])
    if result.seconds is None:
        print(f"  {X.dtype.name}: Armadillo failed: {result.error}", flush=True)
    else:
        print(f"  {X.dtype.name}: Armadillo {result.seconds:.4g} s/iter ({result.seconds_total:.4g} total/iters), "
              f"avg_log_p rel. diff. {result.loglik_difference:.1e} vs gaussmix", flush=True)
    return result


def measure_gaussmix(X, start, iters, reference, sk=None, f64_seconds=None, armadillo=None):
    """One row: gaussmix on X with all threads and with one, its memory, and its
    log-likelihood beside `reference`, a (name, mean log-likelihood) pair."""
    seconds, mean_loglik = time_gaussmix(X, start, iters)
    marginal, fixed = time_gaussmix_marginal(X, start, iters, seconds)
    with one_gaussmix_thread():
        seconds_1thread, _ = time_gaussmix(X, start, iters)
    shape = X.shape + (len(start.weights),)
    row = EmResult(model=start.model, shape=shape, dtype=X.dtype.name, seconds=seconds,
                   seconds_1thread=seconds_1thread,
                   memory=peak_memory_above_data("gaussmix", shape, start.model, X.dtype.name),
                   mean_loglik=mean_loglik, reference=reference[0], reference_loglik=reference[1],
                   sklearn_seconds=sk.seconds if sk else None, sklearn_memory=sk.memory if sk else None,
                   gaussmix_f64_seconds=f64_seconds, armadillo=armadillo, marginal_seconds=marginal,
                   fixed_seconds=fixed)
    print(f"  {row.dtype}: gaussmix {seconds:.4g} s/iter ({seconds_1thread:.4g} with 1 thread; "
          f"{marginal:.4g} without the call's fixed cost of {fixed:.3g} s), "
          f"+{row.memory / MIB:.1f} MiB"
          + (f", scikit-learn {sk.seconds:.4g} s/iter" if sk else "")
          + (f", logL rel. diff. {row.loglik_difference:.1e} vs {row.reference}" if row.checked else ""),
          flush=True)
    return row


def measure_shape(model, shape, iters, with_sklearn, armadillo):
    """The float64 and float32 rows of one model and shape; scikit-learn runs float64
    only, Armadillo (if `armadillo` is its binary and it has the model) both."""
    X, start = make_problem(shape, model)
    sk = measure_sklearn(X, start, iters) if with_sklearn else None
    arma64 = measure_armadillo(armadillo, X, start, iters)
    f64 = measure_gaussmix(X, start, iters, ("scikit-learn", sk.mean_loglik) if sk else ("", None), sk,
                           armadillo=arma64)
    X32 = X.astype(np.float32)
    del X
    arma32 = measure_armadillo(armadillo, X32, start, iters)
    f32 = measure_gaussmix(X32, start, iters, ("gaussmix float64", f64.mean_loglik), sk,
                           f64_seconds=f64.seconds, armadillo=arma32)
    return [f64, f32]


@dataclass
class WeightedResult:
    shape: tuple
    dtype: str
    unweighted_seconds: float
    weighted_seconds: float
    memory: float  # weighted fit, bytes above data and weights
    lower_bound: float  # weighted, after `iters` iterations
    check: tuple  # (what, value of gaussmix, reference value)

    @property
    def ratio(self):
        return self.weighted_seconds / self.unweighted_seconds

    @property
    def loglik_difference(self):
        return relative_difference(self.check[1], self.check[2])

    @property
    def valid(self):
        return self.loglik_difference <= RTOL[self.dtype]


def measure_weighted(shape, iters):
    """Weighted against unweighted gaussmix, full model, float64 and float32, interleaved
    (unweighted, weighted, unweighted, weighted) so that a slow spell of the machine
    does not land on one side only; each side keeps its best."""
    X, start = make_problem(shape, "full")
    w = make_sample_weight(shape[0])
    rows = []
    f64_lower_bound = None
    for dtype in ("float64", "float32"):
        Xd = X.astype(dtype, copy=False)
        unweighted = [time_gaussmix(Xd, start, iters)[0] for _ in range(2)]
        weighted_runs = [time_gaussmix(Xd, start, iters, w) for _ in range(2)]
        unweighted += [time_gaussmix(Xd, start, iters)[0]]
        weighted_runs += [time_gaussmix(Xd, start, iters, w)]
        lower_bound = weighted_runs[-1][1]
        if dtype == "float64":
            f64_lower_bound = lower_bound
            check = ("fit_em(max_iter=2) vs NumPy/SciPy", gaussmix_fit(Xd, start, 2, w),
                     numpy_weighted_lower_bound(Xd, start, w))
        else:
            check = ("gaussmix float64", lower_bound, f64_lower_bound)
        row = WeightedResult(shape, dtype, min(unweighted), min(r[0] for r in weighted_runs),
                             peak_memory_above_data("gaussmix", shape, "full", dtype, weighted=True), lower_bound,
                             check)
        print(f"  {dtype}: unweighted {row.unweighted_seconds:.4g} s/iter, weighted {row.weighted_seconds:.4g} "
              f"({row.ratio:.3f}x), +{row.memory / MIB:.1f} MiB, check rel. diff. {row.loglik_difference:.1e} "
              f"vs {check[0]}", flush=True)
        rows.append(row)
    return rows


# --------------------------------------------------------------------------- peers and machine


def installed(module):
    return importlib.util.find_spec(module) is not None


def version_of(distribution):
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def peer_status(skip_sklearn, armadillo_status):
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
    return {"scikit-learn": sklearn, "Armadillo": armadillo_status, "mlpack": mlpack}


def armadillo_version(binary):
    """Armadillo's version from its headers, as the compiler sees them."""
    cxx = os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")
    probe = _run_quiet([cxx, "-std=c++17", "-x", "c++", "-E", "-P", "-"],
                       input="#include <armadillo>\nARMA_VERSION_MAJOR.ARMA_VERSION_MINOR.ARMA_VERSION_PATCH\n")
    lines = probe.stdout.strip().splitlines()
    return lines[-1].replace(" ", "") if probe.returncode == 0 and lines else "?"


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


def core_description():
    """Which build of the compiled core ran (gaussmix.show_config's CPU level)."""
    if not hasattr(gaussmix, "config_info"):  # before runtime dispatch: one build, flags unknown
        return "core built before CPU levels existed"
    info = gaussmix.config_info()
    return f"core CPU level {info['cpu_level']} ({info['compile_flags'] or 'compiler defaults'}; {info['compiler']})"


def machine_lines(matmul):
    env = ", ".join(f"{v}={os.environ[v]}" if v in os.environ else f"{v} unset" for v in OPENBLAS_VARIABLES)
    return [
        f"CPU: {cpu_model()}, {os.cpu_count()} logical cores; gaussmix uses {gaussmix.get_num_threads()} threads",
        f"NumPy {np.__version__}, BLAS: {blas_description()}",
        f"NumPy float64 matmul (2000 x 2000, best of 5): {matmul:.1f} GFLOP/s; {env}",
        f"gaussmix {gaussmix.__version__} at revision {gaussmix_revision()}, Python {platform.python_version()}; "
        f"{core_description()}",
        f"Load average (1 min) when the run started: {os.getloadavg()[0]:.2f} (other work slows the timings)",
    ]


# --------------------------------------------------------------------------- report


def _fmt(x, spec=".4g", missing="—"):
    return missing if x is None else format(x, spec)


def _shape_label(shape):
    return "×".join(f"{v:,}" for v in shape)


def em_table(rows, matmul, threads):
    header = ["model", "N×D×K", "dtype", "gaussmix s/iter", "gaussmix s/iter w/o fixed cost", "fixed cost s",
              "scikit-learn s/iter (f64)", "speed-up vs sklearn",
              "Armadillo s/iter", "speed-up vs Armadillo", "speed-up vs gaussmix f64", "GFLOP/s", "% of matmul",
              "data MiB", "peak MiB above data: gaussmix", "peak MiB above data: sklearn",
              "gaussmix 1-thread s/iter", f"scaling 1→{threads} threads", "logL check"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        ok = r.valid
        arma = r.armadillo

        def speedup(other_seconds, other_ok=True):
            if other_seconds is None:
                return "—"
            return f"{other_seconds / r.seconds:.2f}×" if ok and other_ok else "VOID"

        if not r.checked:
            check = "not checked"
        else:
            check = f"{'ok' if ok else 'MISMATCH'}: rel. diff. {r.loglik_difference:.1e} vs {r.reference}"
        if arma is not None and arma.seconds is not None:
            check += (f"; Armadillo {'ok' if arma.valid else 'MISMATCH'}: rel. diff. {arma.loglik_difference:.1e}"
                      " vs gaussmix")
        if arma is None:
            arma_cell = "—"
        elif arma.seconds is None:
            arma_cell = "failed"
        else:
            arma_cell = _fmt(arma.seconds)
        n, d, _ = r.shape
        cells = [r.model, _shape_label(r.shape), r.dtype, _fmt(r.seconds) if ok else f"VOID ({r.seconds:.4g})",
                 _fmt(r.marginal_seconds), _fmt(r.fixed_seconds, ".3g"),
                 _fmt(r.sklearn_seconds), speedup(r.sklearn_seconds), arma_cell,
                 speedup(arma.seconds if arma else None, arma is not None and arma.valid),
                 speedup(r.gaussmix_f64_seconds),
                 _fmt(r.gflops, ".3g") if ok else "VOID", f"{100 * r.gflops / matmul:.0f} %" if ok else "VOID",
                 _fmt(n * d * np.dtype(r.dtype).itemsize / MIB, ".1f"), _fmt(r.memory / MIB, ".1f"),
                 _fmt(r.sklearn_memory / MIB if r.sklearn_memory is not None else None, ".1f"),
                 _fmt(r.seconds_1thread), _fmt(r.seconds_1thread / r.seconds, ".2f") + "×", check]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def weighted_table(rows):
    lines = ["| model | N×D×K | dtype | unweighted s/iter | weighted s/iter | weighted / unweighted | "
             "data + weights MiB | peak MiB above data + weights | check |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        n, d, _ = r.shape
        what, value, reference = r.check
        lines.append(
            f"| full | {_shape_label(r.shape)} | {r.dtype} | {r.unweighted_seconds:.4g} | "
            f"{r.weighted_seconds:.4g} | {f'{r.ratio:.3f}×' if r.valid else 'VOID'} | "
            f"{(n * d * np.dtype(r.dtype).itemsize + 8 * n) / MIB:.1f} | {r.memory / MIB:.1f} | "
            f"{'ok' if r.valid else 'MISMATCH'}: rel. diff. {r.loglik_difference:.1e}, {what} |")
    return lines


def target_lines(rows, weighted_rows, quick):
    """The issue's targets that this run measured, each with its figure."""
    by = {(r.model, r.shape, r.dtype): r for r in rows}
    out = []

    def verdict(ok):
        return "met" if ok else "NOT met"

    for r in rows:
        if r.dtype != "float64" or not r.valid:
            continue
        goal = {"diag": 15, "spherical": 15, "tied": 25}.get(r.model)
        if goal and r.sklearn_seconds:
            x = r.sklearn_seconds / r.seconds
            out.append(f"| {r.model} {_shape_label(r.shape)} float64 ≥ {goal}× scikit-learn | {x:.1f}× "
                       f"({r.seconds:.4g} against {r.sklearn_seconds:.4g} s/iter) | {verdict(x >= goal)} |")
        if r.model == "diag" and r.armadillo is not None and r.armadillo.seconds is not None:
            x = r.armadillo.seconds / r.seconds
            ok = r.armadillo.valid and x >= 3
            out.append(f"| diag {_shape_label(r.shape)} float64 ≥ 3× Armadillo gmm_diag | {x:.1f}× "
                       f"({r.seconds:.4g} against {r.armadillo.seconds:.4g} s/iter) | {verdict(ok)} |")
        if r.model == "diag" and (r.model, r.shape, "float32") in by:
            f32 = by[r.model, r.shape, "float32"]
            x = r.seconds / f32.seconds
            out.append(f"| diag {_shape_label(r.shape)} float32 ≥ 1.7× float64 | {x:.2f}× "
                       f"({f32.seconds:.4g} against {r.seconds:.4g} s/iter) | {verdict(f32.valid and x >= 1.7)} |")
    for w in weighted_rows:
        out.append(f"| weighted full {_shape_label(w.shape)} {w.dtype} ≤ 1.05× unweighted | {w.ratio:.3f}× | "
                   f"{verdict(w.valid and w.ratio <= 1.05)} |")
    worst = max(rows + weighted_rows, key=lambda r: r.memory, default=None)
    if worst is not None:
        label = getattr(worst, "model", "full, weighted")
        out.append(f"| peak memory ≤ data + 64 MB, every model | largest: + {worst.memory / 1e6:.1f} MB "
                   f"({label} {_shape_label(worst.shape)} {worst.dtype}) | {verdict(worst.memory <= 64e6)} |")
    if not out:
        return []
    note = [" (a --quick run: the targets are set at the full sizes)"] if quick else [""]
    return ["| target | measured | |", "|---|---|---|", *out, *note]


def loglik_lines(result):
    verdict = "agree" if result.agree else "DIFFER: timing VOID"
    speedup = f"{result.scipy_seconds / result.gaussmix_seconds:.1f}×" if result.agree else "VOID"
    return [
        "| N×D×K | gaussmix gm_log_likelihood s | SciPy logpdf + logsumexp s | speed-up | values |",
        "|---|---|---|---|---|",
        f"| {_shape_label(result.shape)} | {result.gaussmix_seconds:.4g} | {result.scipy_seconds:.4g} | {speedup} | "
        f"{verdict} (rel. diff. {relative_difference(result.gaussmix_value, result.scipy_value):.1e}) |",
    ]


def write_results(path, command, machine, peers, iters, em_lines, weighted_lines, targets, ll_lines):
    gaussmix_call = ("`fit_em(X, Mixture(..., covariance_type=model), max_iter=iters, tol=0, reg_covar=0)`"
                     if has_model_api() else "`gmm_em_continue(max_iter=iters)`")
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
    ]
    if targets:
        text += ["## Targets (issue 10)", "", *targets, ""]
    text += [
        f"## EM: seconds per iteration ({iters} iterations from the same start)",
        "",
        *em_lines,
        "",
        f"- gaussmix s/iter: total of {gaussmix_call} / iters, after a one-iteration",
        f"  warm-up; every gaussmix figure is the best of {REPEATS['gaussmix']} calls, every scikit-learn one of "
        f"{REPEATS['sklearn']}.",
        "  Speed-ups and GFLOP/s use this figure, fixed cost included.",
        "- gaussmix s/iter w/o fixed cost: (iters-iteration call − best-of-3 one-iteration call) / (iters − 1),",
        "  scikit-learn's method; fixed cost s: what one call spends outside its iterations (Python-side",
        "  validation and scale checks of X, conversions), = one-iteration call − that figure.",
        "- scikit-learn s/iter: (fit with max_iter=iters − fit with max_iter=1) / (iters − 1), which leaves out",
        "  `fit()`'s fixed cost; same `covariance_type`, `weights_init`, `means_init`, `precisions_init`;",
        "  scikit-learn runs float64 only, so float32 rows compare with its float64 time.",
        "  It uses all cores through its BLAS, as gaussmix does through OpenMP.",
        "- Armadillo s/iter: `gmm_diag` / `gmm_full` (`fgmm_*` for float32) from the same start,",
        "  (learn(em_iter=iters) − learn(em_iter=1)) / (iters − 1), best of "
        f"{REPEATS['armadillo']} each, measured in bench/cpp/armadillo_gmm.cpp",
        "  (g++ -O3 -march=native -fopenmp: all cores); float32 rows compare with Armadillo's float32 time.",
        "  Its check: avg_log_p(X) after iters iterations vs the mean log-density under gaussmix's mixture",
        "  after as many (1e-6 relative; float32 1e-4: Armadillo's float models accumulate in float);",
        "  a failed check voids the speed-up.",
        "- Scaling: gaussmix's 1-thread s/iter divided by its all-threads s/iter.",
        "- GFLOP/s: `full` counts 4·N·K·D² flops per iteration, the work of the dense formulation, whatever the",
        "  kernels actually do; `tied`, `diag` and `spherical` count their own arithmetic: twice the",
        "  multiply-adds per row that their kernels do (E-step, M-step and the K of the normalisation, no exp;",
        "  bench/NOTES.md, \"Covariance models: arithmetic floors\"). % of matmul is against NumPy's float64",
        "  matmul rate measured in the same run.",
        "- Peak memory above the data: resident-set high-water mark of a two-iteration fit in a fresh",
        "  process, minus its resident set with the data loaded.",
        "- logL check: scikit-learn's `lower_bound_` vs gaussmix's lower bound, logL / N (1e-6 relative, float64);",
        "  gaussmix float32 vs gaussmix float64 (1e-5 relative). A failed check voids the timing.",
        "",
    ]
    if weighted_lines:
        text += [
            "## Weighted EM (gaussmix only: scikit-learn has no sample_weight)",
            "",
            *weighted_lines,
            "",
            "- The same fit with `sample_weight` (uniform in [0.5, 1.5]) and without, same run, interleaved",
            "  (2 unweighted, 2 weighted, 1 unweighted, 1 weighted measurements, each the best of "
            f"{REPEATS['gaussmix']} calls; each side keeps its best).",
            "- Check: float64, the weighted lower bound of a 2-iteration fit against a NumPy/SciPy transcription",
            "  (E-step, weighted M-step, E-step; 1e-6 relative); float32 against float64 (1e-5).",
            "",
        ]
    if ll_lines:
        text += ["## Log-likelihood of a fixed mixture", "", *ll_lines, ""]
    path.write_text("\n".join(text))


def plot(rows, path, iters):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = list(dict.fromkeys((r.model, r.shape) for r in rows))
    by_key = {(r.model, r.shape, r.dtype): r for r in rows}

    series = {
        "gaussmix float64": [by_key[m, s, "float64"].seconds for m, s in keys],
        "gaussmix float32": [by_key[m, s, "float32"].seconds for m, s in keys],
    }
    if any(by_key[m, s, "float64"].sklearn_seconds for m, s in keys):
        series["scikit-learn float64"] = [by_key[m, s, "float64"].sklearn_seconds or np.nan for m, s in keys]
    arma = [by_key[m, s, "float64"].armadillo for m, s in keys]
    if any(a is not None and a.seconds is not None for a in arma):
        series["Armadillo float64"] = [a.seconds if a is not None and a.seconds is not None else np.nan
                                       for a in arma]
    x = np.arange(len(keys))
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(max(8, 1.4 * len(keys)), 4.8))
    for i, (label, values) in enumerate(series.items()):
        ax.bar(x + (i - (len(series) - 1) / 2) * width, values, width, label=label)
    ax.set_yscale("log")
    ax.set_xticks(x, [f"{m}\n{_shape_label(s)}" for m, s in keys], fontsize=8)
    ax.set_xlabel("covariance model, N × D × K")
    ax.set_ylabel("seconds per EM iteration (log scale)")
    ax.set_title(f"EM, {iters} iterations, {gaussmix.get_num_threads()} threads")
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


def parse_model_shape(text):
    """"NxDxK" -> (None, shape), every model; "MODEL:NxDxK" -> (MODEL, shape)."""
    model, _, shape = text.rpartition(":")
    if model and model not in MODELS:
        raise argparse.ArgumentTypeError(f"unknown model {model!r} in {text!r}; models: {', '.join(MODELS)}")
    return (model or None), parse_shape(shape)


def parse_models(text):
    models = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODELS]
    if unknown or not models:
        raise argparse.ArgumentTypeError(f"models are a comma-separated subset of {','.join(MODELS)}; got {text!r}")
    return [m for m in MODELS if m in models]  # a fixed order


def default_shapes_help():
    return "; ".join(f"{m}: " + " ".join("x".join(map(str, s)) for s in shapes) for m, shapes in DEFAULT_SHAPES.items())


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=parse_models, default=list(MODELS), metavar="M1,M2",
                    help="covariance models, comma-separated (default: " + ",".join(MODELS) + ")")
    ap.add_argument("--quick", action="store_true", help=f"N/{QUICK_DIVISOR} at every shape (smoke run)")
    ap.add_argument("--shapes", nargs="+", type=parse_model_shape, default=None, metavar="[MODEL:]NxDxK",
                    help="only these shapes: NxDxK for every model run, MODEL:NxDxK for that model "
                         f"(default: {default_shapes_help()})")
    ap.add_argument("--weighted-shape", type=parse_shape, default=WEIGHTED_SHAPE, metavar="NxDxK",
                    help="shape of the weighted full-model row (default: " + "x".join(map(str, WEIGHTED_SHAPE)) + ")")
    ap.add_argument("--skip-weighted", action="store_true", help="no weighted row")
    ap.add_argument("--iters", type=int, default=5, help="EM iterations per timed fit, >= 2 (default 5)")
    ap.add_argument("--skip-sklearn", action="store_true", help="do not run scikit-learn")
    ap.add_argument("--skip-armadillo", action="store_true", help="do not build or run the Armadillo peer")
    ap.add_argument("--out", type=Path, default=None,
                    help="directory to write RESULTS.md and results.png to (default: none, the tables are only "
                         "printed; --out bench/ updates the committed ones)")
    args = ap.parse_args()
    if args.iters < 2:
        ap.error("--iters must be at least 2 (scikit-learn's time per iteration is a difference of two fits)")
    if args.shapes is not None:
        stray = sorted({m for m, _ in args.shapes if m is not None and m not in args.models})
        if stray:
            ap.error(f"--shapes names {', '.join(stray)}, which --models does not run")
    if not has_model_api() and args.models != ["full"]:
        ap.error("this gaussmix has no gaussmix.fit_em / gaussmix.Mixture: only --models full can run")
    return args


def work_list(args):
    """[(model, shape)] in the order they run, N divided for --quick."""
    scale = QUICK_DIVISOR if args.quick else 1
    items = []
    for model in args.models:
        if args.shapes is None:
            shapes = DEFAULT_SHAPES[model]
        else:
            shapes = [s for m, s in args.shapes if m is None or m == model]
        items += [(model, (max(n // scale, 1), d, k)) for n, d, k in shapes]
    return items


def main():
    args = parse_args()
    command = shlex.join(["python", *sys.argv])
    for variable in OPENBLAS_VARIABLES:
        if variable in os.environ:
            print(f"WARNING: {variable}={os.environ[variable]} is set; it slows NumPy's BLAS. Run with "
                  f"env -u {' -u '.join(OPENBLAS_VARIABLES)} python bench/bench_em.py", flush=True)
    scale = QUICK_DIVISOR if args.quick else 1
    items = work_list(args)
    with_sklearn = installed("sklearn") and not args.skip_sklearn
    armadillo = None
    if args.skip_armadillo:
        armadillo_status = "skipped (--skip-armadillo)"
    elif not any(m in ARMADILLO_MODELS for m, _ in items):
        armadillo_status = "not run (it has only the diag and full models)"
    else:
        armadillo, why_not = armadillo_binary()
        armadillo_status = (why_not if armadillo is None else
                            f"{armadillo_version(armadillo)}, timed (gmm_diag, gmm_full; bench/cpp/armadillo_gmm.cpp)")
    peers = peer_status(args.skip_sklearn, armadillo_status)

    matmul = matmul_gflops()
    machine = machine_lines(matmul)
    print("\n".join(machine + [f"Peer {name}: {status}" for name, status in peers.items()]), flush=True)

    rows = []
    for model, shape in items:
        print(f"EM, {model}, at N×D×K = {_shape_label(shape)}, {args.iters} iterations", flush=True)
        rows += measure_shape(model, shape, args.iters, with_sklearn, armadillo)
    weighted_rows = []
    if "full" in args.models and not args.skip_weighted and has_model_api():
        w_shape = (max(args.weighted_shape[0] // scale, 1),) + args.weighted_shape[1:]
        print(f"Weighted EM, full, at N×D×K = {_shape_label(w_shape)}, {args.iters} iterations", flush=True)
        weighted_rows = measure_weighted(w_shape, args.iters)
    ll_lines = []
    if "full" in args.models:
        ll_shape = (LOGLIK_SHAPE[0] // scale,) + LOGLIK_SHAPE[1:]
        print(f"Log-likelihood at N×D×K = {_shape_label(ll_shape)}", flush=True)
        ll_lines = loglik_lines(time_log_likelihood(ll_shape))

    em_lines = em_table(rows, matmul, gaussmix.get_num_threads())
    w_lines = weighted_table(weighted_rows) if weighted_rows else []
    targets = target_lines(rows, weighted_rows, args.quick)
    print("\n" + "\n".join(targets + [""] + em_lines + [""] + w_lines + [""] + ll_lines))
    if args.out is None:
        print("\n(nothing written: --out bench/ updates bench/RESULTS.md and bench/results.png)")
        return
    args.out.mkdir(parents=True, exist_ok=True)
    write_results(args.out / "RESULTS.md", command, machine, peers, args.iters, em_lines, w_lines, targets,
                  ll_lines)
    if rows:
        plot(rows, args.out / "results.png", args.iters)
    print(f"\nwrote {args.out / 'RESULTS.md'} and {args.out / 'results.png'}")


if __name__ == "__main__":
    main()
