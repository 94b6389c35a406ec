"""The fixed cost of each public EM call beside its per-iteration time, for
every face of gaussmix over the same data and start, so that a wrapper
regression (checks, conversions, refactorisations outside the EM iterations)
shows up in one table, and two builds can be set side by side.

    python bench/bench_fixed_cost.py [--shapes 1000000x8x16 100000x2x3] [--dtypes float64,float32]
                                     [--faces gmm_em_continue,GaussianMixture.fit,fit_em,statistics]
                                     [--rounds 7] [--threads 2] [--label after] [--json after.json]
    python bench/bench_fixed_cost.py --compare before.json after.json

It uses only gaussmix's public API, so it runs under another interpreter with
an older gaussmix installed (a face that build lacks is left out): run it
once per build, each with --json, then --compare the two files.

The faces, each from the same start (bench_em.make_problem: K random rows as
means, equal weights, the data's covariance for every component), full model:

* ``gmm_em_continue``: ``gaussmix.gmm.gmm_em_continue(X, means, covs, weights,
  max_iter=n, delta_stop_count_end=n + 1)``, PyPR's defaults otherwise
  (diag_add=1e-3); the count end above n keeps it from stopping early;
* ``GaussianMixture.fit``: ``GaussianMixture(K, tol=0, max_iter=n,
  weights_init=..., means_init=..., precisions_init=...).fit(X)``;
* ``fit_em``: ``gaussmix.fit_em(X, gaussmix.Mixture(...), max_iter=n, tol=0,
  reg_covar=1e-6)``, the Mixture built inside the call;
* ``statistics``: the seam, ``mixture = m_step(block_stats(X, mixture),
  reg_covar=1e-6)`` n times, from a Mixture built inside the call.

Method (scikit-learn's difference method): for each face, shape and dtype, a
2-iteration call and a 12-iteration call, --rounds times each after one
warm-up of each, the rounds alternating the two calls and the faces; t2 and t12 are the best (smallest) of their
rounds. Per iteration = (t12 - t2) / 10; fixed cost = t2 - 2 x per
iteration, what the call spends outside its iterations; in iterations =
fixed cost / per iteration. The statistics seam pays its checks on every
call, inside every iteration, so the difference method gives it no fixed
cost; its fixed cost is its per-iteration time less fit_em's (the core's
fused iteration), per block_stats + m_step pair, and in iterations of
fit_em's. The medians of the rounds are kept in the JSON beside the best.

Check: the three faces that run the same EM (GaussianMixture.fit, fit_em,
statistics: reg_covar 1e-6, no diag_add) must reach the same lower bound
(mean log-likelihood per row of the parameters the last iteration started
from) after 12 iterations, to 1e-6 relative (float32 data: 1e-5); a face
that differs prints MISMATCH. gmm_em_continue (diag_add) is not compared.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_em import core_description, make_problem, parse_shape, relative_difference  # noqa: E402

import gaussmix  # noqa: E402
import gaussmix.gmm as gmm  # noqa: E402

FACES = ("gmm_em_continue", "GaussianMixture.fit", "fit_em", "statistics")
DTYPES = ("float64", "float32")
DEFAULT_SHAPES = [(1_000_000, 8, 16), (100_000, 2, 3)]
SHORT, LONG = 2, 12  # iterations of the two calls of the difference method
REG_COVAR = 1e-6
RTOL = {"float64": 1e-6, "float32": 1e-5}
#: The issue's targets (issue 23): the fixed cost of these faces at most half an
#: EM iteration at 1,000,000 x 8 x 16, at most 2 ms at 100,000 x 2 x 3.
TARGET_FACES = ("gmm_em_continue", "GaussianMixture.fit")
TARGET_ITERATIONS = {(1_000_000, 8, 16): 0.5}
TARGET_SECONDS = {(100_000, 2, 3): 0.002}


# --------------------------------------------------------------------------- the faces


def available_faces():
    """The faces this gaussmix has (an older build may lack the statistics API)."""
    faces = ["gmm_em_continue"]
    try:
        gaussmix.GaussianMixture  # noqa: B018  (imported on first use; needs scikit-learn)
        faces.append("GaussianMixture.fit")
    except (AttributeError, ImportError):
        pass
    if hasattr(gaussmix, "fit_em") and hasattr(gaussmix, "Mixture"):
        faces.append("fit_em")
    if all(hasattr(gaussmix, name) for name in ("block_stats", "m_step", "Mixture")):
        faces.append("statistics")
    return faces


def face_call(face, X, start):
    """run(n_iter) -> lower bound: one public call of the face, n_iter EM iterations from start."""
    k = len(start.weights)

    def mixture():
        return gaussmix.Mixture(start.weights, start.means, start.covariances, covariance_type="full")

    if face == "gmm_em_continue":
        means, covs = list(start.means), list(start.covariances)

        def run(n_iter):
            *_, log_likelihood = gmm.gmm_em_continue(X, means, covs, start.weights, max_iter=n_iter,
                                                     delta_stop_count_end=n_iter + 1)
            return log_likelihood / X.shape[0]
    elif face == "GaussianMixture.fit":
        def run(n_iter):
            model = gaussmix.GaussianMixture(k, tol=0, max_iter=n_iter, reg_covar=REG_COVAR,
                                             weights_init=start.weights, means_init=start.means,
                                             precisions_init=start.precisions)
            return model.fit(X).lower_bound_
    elif face == "fit_em":
        def run(n_iter):
            return gaussmix.fit_em(X, mixture(), max_iter=n_iter, tol=0, reg_covar=REG_COVAR).lower_bound
    elif face == "statistics":
        def run(n_iter):
            current = mixture()
            for _ in range(n_iter):
                stats = gaussmix.block_stats(X, current)
                current = gaussmix.m_step(stats, reg_covar=REG_COVAR)
            return stats.log_likelihood / stats.weight_sum
    else:
        raise ValueError(f"unknown face {face!r}")
    return run


def seconds(run, n_iter):
    """(seconds, lower bound) of one call."""
    begin = time.perf_counter()
    lower_bound = run(n_iter)
    return time.perf_counter() - begin, lower_bound


def measure(faces, X, start, rounds):
    """Each face's 2- and 12-iteration calls, after a warm-up of each: the rounds
    alternate the two calls and the faces, so that a slow spell of the shared
    machine does not land on one of them only."""
    runs = {face: face_call(face, X, start) for face in faces}
    rows = {face: {"face": face, "shape": list(X.shape) + [len(start.weights)], "dtype": X.dtype.name,
                   "t2": [], "t12": []} for face in faces}
    for run in runs.values():
        seconds(run, SHORT)
        seconds(run, LONG)
    for _ in range(rounds):
        for face, run in runs.items():
            rows[face]["t2"].append(seconds(run, SHORT)[0])
            t, rows[face]["lower_bound"] = seconds(run, LONG)
            rows[face]["t12"].append(t)
    return [rows[face] for face in faces]


def derive(row, core_per_iteration=None):
    """Per iteration, fixed cost and fixed cost in iterations, from the best and the
    median rounds; the statistics seam against the core's per-iteration time."""
    for kind, pick in (("best", min), ("median", statistics.median)):
        t2, t12 = pick(row["t2"]), pick(row["t12"])
        per_iteration = (t12 - t2) / (LONG - SHORT)
        if row["face"] == "statistics":
            core = None if core_per_iteration is None else core_per_iteration[kind]
            fixed = None if core is None else per_iteration - core
            unit = core
        else:
            fixed, unit = t2 - SHORT * per_iteration, per_iteration
        row[kind] = {"per_iteration": per_iteration, "fixed": fixed,
                     "fixed_iterations": None if fixed is None else fixed / unit}
    return row


def check(rows):
    """Mark each row that runs the same EM as fit_em (all but gmm_em_continue) with
    whether its lower bound after 12 iterations agrees with the others'."""
    groups = {}
    for row in rows:
        if row["face"] != "gmm_em_continue":
            groups.setdefault((tuple(row["shape"]), row["dtype"]), []).append(row)
    for group in groups.values():
        reference = next((r for r in group if r["face"] == "fit_em"), group[0])
        for row in group:
            difference = relative_difference(row["lower_bound"], reference["lower_bound"])
            ok = difference <= RTOL[row["dtype"]]
            row["check"] = (f"{'ok' if ok else 'MISMATCH'}: {difference:.1e} vs {reference['face']}"
                            if row is not reference else "reference")
    for row in rows:
        row.setdefault("check", "not compared (diag_add)")


# --------------------------------------------------------------------------- report


def shape_label(shape):
    return "×".join(f"{v:,}" for v in shape)


def fmt(value, spec):
    return "—" if value is None else format(value, spec)


def table(rows, kind="best"):
    lines = ["| face | N×D×K | dtype | s / iteration | fixed cost s | fixed cost in iterations | check |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        d = r[kind]
        lines.append(f"| {r['face']} | {shape_label(r['shape'])} | {r['dtype']} | {d['per_iteration']:.4g} | "
                     f"{fmt(d['fixed'], '.3g')} | {fmt(d['fixed_iterations'], '.2f')} | {r['check']} |")
    return lines


def target_lines(rows, kind="best"):
    out = []
    for r in rows:
        shape, d = tuple(r["shape"]), r[kind]
        if r["face"] not in TARGET_FACES or d["fixed"] is None:
            continue
        if shape in TARGET_ITERATIONS:
            goal = TARGET_ITERATIONS[shape]
            out.append(f"| {r['face']} {shape_label(shape)} {r['dtype']}: fixed cost ≤ {goal} iteration | "
                       f"{d['fixed_iterations']:.2f} | {'met' if d['fixed_iterations'] <= goal else 'NOT met'} |")
        if shape in TARGET_SECONDS:
            goal = TARGET_SECONDS[shape]
            out.append(f"| {r['face']} {shape_label(shape)} {r['dtype']}: fixed cost ≤ {goal * 1e3:g} ms | "
                       f"{d['fixed'] * 1e3:.2f} ms | {'met' if d['fixed'] <= goal else 'NOT met'} |")
    return ["| target (issue 23) | measured | |", "|---|---|---|", *out] if out else []


def compare(path_a, path_b, kind="best"):
    a, b = (json.loads(Path(p).read_text()) for p in (path_a, path_b))
    key = lambda r: (r["face"], tuple(r["shape"]), r["dtype"])  # noqa: E731
    before = {key(r): r for r in a["rows"]}
    for name, run in (("a", a), ("b", b)):
        print(f"{name} = {run['label']}: gaussmix {run['gaussmix']}, {run['core']}, {run['threads']} threads, "
              f"load {run['load_at_start']:.2f} -> {run['load_at_end']:.2f}")
    print(f"({kind} of the rounds)\n")
    print("| face | N×D×K | dtype | s / iteration a | b | b / a | fixed cost s a | b | b / a "
          "| fixed in iterations a | b |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in b["rows"]:
        old = before.get(key(r))
        if old is None:
            continue
        x, y = old[kind], r[kind]

        def ratio(name):
            if x[name] is None or y[name] is None or min(x[name], y[name]) <= 0:
                return "—"  # a difference that noise made negative has no ratio
            return f"{y[name] / x[name]:.2f}"

        print(f"| {r['face']} | {shape_label(r['shape'])} | {r['dtype']} | {x['per_iteration']:.4g} | "
              f"{y['per_iteration']:.4g} | {ratio('per_iteration')} | {fmt(x['fixed'], '.3g')} | "
              f"{fmt(y['fixed'], '.3g')} | {ratio('fixed')} | {fmt(x['fixed_iterations'], '.2f')} | "
              f"{fmt(y['fixed_iterations'], '.2f')} |")
    missing = [k for k in before if k not in {key(r) for r in b["rows"]}]
    if missing:
        print(f"\nonly in a: {', '.join(f'{f} {shape_label(s)} {d}' for f, s, d in missing)}")


# --------------------------------------------------------------------------- main


def comma_list(choices):
    def parse(text):
        items = [v.strip() for v in text.split(",") if v.strip()]
        unknown = [v for v in items if v not in choices]
        if unknown or not items:
            raise argparse.ArgumentTypeError(f"a comma-separated subset of {','.join(choices)}; got {text!r}")
        return [v for v in choices if v in items]
    return parse


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shapes", nargs="+", type=parse_shape, default=DEFAULT_SHAPES, metavar="NxDxK")
    ap.add_argument("--dtypes", type=comma_list(DTYPES), default=list(DTYPES))
    ap.add_argument("--faces", type=comma_list(FACES), default=list(FACES))
    ap.add_argument("--rounds", type=int, default=7, help="alternating rounds of each call (default 7)")
    ap.add_argument("--threads", type=int, default=2, help="gaussmix threads (default 2)")
    ap.add_argument("--label", default="", help="what this build is, e.g. before or after (kept in the JSON)")
    ap.add_argument("--json", type=Path, default=None, metavar="OUT.json", help="write the measurements there")
    ap.add_argument("--kind", choices=("best", "median"), default="best",
                    help="which of the rounds the tables use (default best; the JSON keeps both)")
    ap.add_argument("--compare", nargs=2, type=Path, default=None, metavar=("A.json", "B.json"),
                    help="print B against A (ratios B / A) and measure nothing")
    args = ap.parse_args()
    if args.rounds < 1 or args.threads < 1:
        ap.error("--rounds and --threads must be at least 1")
    return args


def main():
    args = parse_args()
    if args.compare is not None:
        compare(*args.compare, kind=args.kind)
        return
    gaussmix.set_num_threads(args.threads)
    warnings.simplefilter("ignore")  # tol=0: every GaussianMixture fit ends with a ConvergenceWarning
    have = available_faces()
    faces = [f for f in args.faces if f in have]
    skipped = [f for f in args.faces if f not in have]
    header = {"label": args.label, "gaussmix": f"{gaussmix.__version__} at {Path(gaussmix.__file__).parent}",
              "core": core_description(), "python": platform.python_version(), "numpy": np.__version__,
              "threads": gaussmix.get_num_threads(), "rounds": args.rounds,
              "load_at_start": os.getloadavg()[0]}
    print("; ".join(f"{k} {v}" for k, v in header.items())
          + (f"; not in this build: {', '.join(skipped)}" if skipped else ""), flush=True)
    rows = []
    for shape in args.shapes:
        X64, start = make_problem(shape)
        for dtype in args.dtypes:
            X = X64 if dtype == "float64" else X64.astype(np.float32)
            core = None
            for row in measure(faces, X, start, args.rounds):  # fit_em comes before the statistics seam
                row = derive(row, core)
                if row["face"] == "fit_em":
                    core = {kind: row[kind]["per_iteration"] for kind in ("best", "median")}
                rows.append(row)
                d = row["best"]
                print(f"{row['face']} {shape_label(shape)} {dtype}: {d['per_iteration']:.4g} s/iter, fixed "
                      f"{fmt(d['fixed'], '.3g')} s ({fmt(d['fixed_iterations'], '.2f')} iterations)", flush=True)
    check(rows)
    header["load_at_end"] = os.getloadavg()[0]
    print()
    print("\n".join(target_lines(rows, args.kind) + [""] + table(rows, args.kind)))
    if args.json is not None:
        args.json.write_text(json.dumps({**header, "rows": rows}, indent=1))
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
