"""gaussmix.GaussianMixture against sklearn.mixture.GaussianMixture, the whole
estimator: ``fit`` (k-means start, default tol, one initialisation),
``predict_proba`` and ``score_samples``, same data, same parameters, same
random_state, in one process, for every covariance model.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/bench_estimator.py
    --models full,diag      covariance models (default: all four)
    --quick                 N/20: a smoke run
    --rows N                N for every model (the issue 24 table: --rows 300000)
    --out bench/            write ESTIMATOR.md there (default: print only)

What is measured, per model at the shapes of bench_em.py's table (full
1,000,000 x 8 x 16, tied 1,000,000 x 16 x 16, diag and spherical
1,000,000 x 32 x 16; the data of bench_em.make_problem):

* fit: ``GaussianMixture(n_components=K, covariance_type=model,
  random_state=0).fit(X)``, everything else at the defaults (k-means start,
  tol=1e-3, max_iter=100, reg_covar=1e-6). From the same random_state
  gaussmix draws scikit-learn's k-means start, so both run the same EM
  iterations: the table shows both iteration counts and the difference of
  the lower bounds, and a fit counts only if they agree (1e-6 relative). The
  fit's time includes everything: input checks, the k-means start, EM, the
  final attributes. Best of 3 for gaussmix, one fit for scikit-learn (minutes).
  gaussmix float32 (the same X as float32) is timed too.
* predict_proba and score_samples of the fitted models on X: best of 3 each.
* The pass floor: the faster of two reads of every value of X, best of 5
  each: ``_core.column_summary`` (parallel) and NumPy's ``X.sum()`` (one
  thread, but a plain stream: 30 GB/s where the column pass gets 20).
  Every call is also shown in passes: its time over the floor. A scoring call's floor is one pass (it
  reads X once and writes its output); a fit's is the k-means++ start's K
  passes, one per Lloyd iteration and one or two per EM iteration.
* Lloyd's iteration at the same N and K for D = 8, 16, 32, 64 (the start's
  centres K rows of X, 1 and 11 iterations, the difference over 10, best
  of 5), against the pass floor at that D.
* Every figure is from this one process; the machine's load moves single
  figures by 5-10%, which the ratios inherit.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_em import OPENBLAS_VARIABLES, make_problem, matmul_gflops  # noqa: E402

import gaussmix  # noqa: E402
from gaussmix import _core  # noqa: E402
from sklearn.mixture import GaussianMixture as SkGaussianMixture  # noqa: E402

MODELS = ("full", "tied", "diag", "spherical")
SHAPES = {"full": (1_000_000, 8, 16), "tied": (1_000_000, 16, 16), "diag": (1_000_000, 32, 16),
          "spherical": (1_000_000, 32, 16)}
REPEATS = 3
AGREE_RTOL = 1e-6


def best_of(repeats, fn):
    times, result = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


def pass_floor(X):
    """Seconds of the fastest read of all of X measured: the floor of any pass over it."""
    threads = gaussmix.get_num_threads()
    return min(best_of(5, lambda: _core.column_summary(X, threads))[0], best_of(5, X.sum)[0])


def lloyd_iteration(n, d, k):
    """(seconds per Lloyd iteration, pass floor) at n x d, k centres."""
    X, _ = make_problem((n, d, k))
    start = np.ascontiguousarray(X[np.random.default_rng(0).choice(n, k, replace=False)])
    threads = gaussmix.get_num_threads()
    times = {it: best_of(5, lambda: _core.kmeans_lloyd(X, start, it, -1.0, threads, None, shift_tol=0.0))[0]
             for it in (1, 11)}
    return (times[11] - times[1]) / 10, pass_floor(X)


def measure(model, shape):
    n, d, k = shape
    X, _ = make_problem(shape, model)
    params = dict(n_components=k, covariance_type=model, random_state=0)
    row = {"model": model, "shape": shape, "floor": pass_floor(X)}
    row["sk_fit"], theirs = best_of(1, lambda: SkGaussianMixture(**params).fit(X))
    row["gm_fit"], ours = best_of(REPEATS, lambda: gaussmix.GaussianMixture(**params).fit(X))
    X32 = X.astype(np.float32)
    row["gm_fit32"], ours32 = best_of(REPEATS, lambda: gaussmix.GaussianMixture(**params).fit(X32))
    row["iters"] = (ours.n_iter_, theirs.n_iter_, ours32.n_iter_)
    row["lower_bound_diff"] = abs(ours.lower_bound_ - theirs.lower_bound_) / abs(theirs.lower_bound_)
    row["agree"] = ours.n_iter_ == theirs.n_iter_ and row["lower_bound_diff"] <= AGREE_RTOL
    for method in ("predict_proba", "score_samples"):
        row[f"sk_{method}"], a = best_of(REPEATS, lambda: getattr(theirs, method)(X))
        row[f"gm_{method}"], b = best_of(REPEATS, lambda: getattr(ours, method)(X))
        row[f"{method}_diff"] = float(np.max(np.abs(a - b)))
    return row


def table(rows):
    lines = [
        "| model, N x D x K | EM iterations (gaussmix / scikit-learn / gaussmix float32) | fit s: gaussmix / "
        "float32 / scikit-learn | fit speed-up | predict_proba s: gaussmix / scikit-learn | speed-up | "
        "score_samples s: gaussmix / scikit-learn | speed-up | pass floor ms | fit / predict_proba / "
        "score_samples in passes |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        n, d, k = r["shape"]
        note = "" if r["agree"] else " (fits differ!)"
        lines.append(
            f"| {r['model']}, {n:,} x {d} x {k} | {r['iters'][0]} / {r['iters'][1]} / {r['iters'][2]}{note} | "
            f"{r['gm_fit']:.3g} / {r['gm_fit32']:.3g} / {r['sk_fit']:.3g} | {r['sk_fit'] / r['gm_fit']:.0f}x | "
            f"{r['gm_predict_proba']:.3g} / {r['sk_predict_proba']:.3g} | "
            f"{r['sk_predict_proba'] / r['gm_predict_proba']:.0f}x | "
            f"{r['gm_score_samples']:.3g} / {r['sk_score_samples']:.3g} | "
            f"{r['sk_score_samples'] / r['gm_score_samples']:.0f}x | {r['floor'] * 1e3:.2f} | "
            f"{r['gm_fit'] / r['floor']:.0f} / {r['gm_predict_proba'] / r['floor']:.1f} / "
            f"{r['gm_score_samples'] / r['floor']:.1f} |")
    return "\n".join(lines)


def lloyd_table(n, k):
    lines = ["| Lloyd iteration, N x D x K | ms per iteration | pass floor ms | iteration / floor |",
             "| --- | --- | --- | --- |"]
    for d in (8, 16, 32, 64):
        per_iteration, floor = lloyd_iteration(n, d, k)
        lines.append(f"| {n:,} x {d} x {k} | {per_iteration * 1e3:.2f} | {floor * 1e3:.2f} | "
                     f"{per_iteration / floor:.1f} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rows", type=int, default=None, help="N for every model (default: each model's own)")
    parser.add_argument("--out", default=None,
                        help="directory to write ESTIMATOR.md to (default: print only; --out bench/ updates it)")
    args = parser.parse_args()
    set_vars = [v for v in OPENBLAS_VARIABLES if v in os.environ]
    if set_vars:
        print(f"warning: {', '.join(set_vars)} set; NumPy's OpenBLAS runs slower with them", file=sys.stderr)
    import sklearn
    rows = []
    for model in args.models.split(","):
        n, d, k = SHAPES[model]
        n = args.rows or n
        shape = (n // 20 if args.quick else n, d, k)
        rows.append(measure(model, shape))
        print(table(rows[-1:]), flush=True)
    header = (f"gaussmix {gaussmix.__version__}, scikit-learn {sklearn.__version__}, NumPy {np.__version__}, "
              f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, gaussmix threads "
              f"{gaussmix.get_num_threads()}, float64 matmul {matmul_gflops():.0f} GFLOP/s, load "
              f"{os.getloadavg()[0]:.1f}")
    lloyd = lloyd_table(rows[0]["shape"][0], 16)
    print(lloyd, flush=True)
    report = f"# GaussianMixture: gaussmix against scikit-learn\n\n{header}\n\n{table(rows)}\n\n{lloyd}\n"
    for r in rows:
        report += (f"\n{r['model']}: relative lower-bound difference {r['lower_bound_diff']:.1e}, largest "
                   f"|predict_proba difference| {r['predict_proba_diff']:.1e}, largest |score_samples "
                   f"difference| {r['score_samples_diff']:.1e}")
    if args.out is None:
        print(report)
        return
    name = "ESTIMATOR" + (f"_rows{args.rows}" if args.rows else "") + ("_quick" if args.quick else "")
    out = Path(args.out) / f"{name}.md"
    out.write_text(report + "\n")
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
