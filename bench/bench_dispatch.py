"""The compiled core's CPU levels against each other and against a
-march=native build: seconds per EM iteration at every shape of
bench/bench_em.py (its default shapes and its weighted row), float64 and
float32, for every level this installation has, each level in its own
process (GAUSSMIX_CPU_LEVEL), plus scikit-learn at 1000000 x 8 x 16 (full)
against the baseline level. Writes bench/DISPATCH.md.

Build all four levels into one installation first, so that one run compares
them:

    pip install --no-build-isolation -Cbuild-dir=build/{wheel_tag} \
        "-Ccmake.define.GAUSSMIX_CPU_LEVELS=sse2;avx2;avx512;native" -e ".[bench]"
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/bench_dispatch.py

    --rounds 1     every level runs every shape this many times; the levels run
                   one after another on each shape, in an order reversed from
                   one shape to the next (drift of the machine's speed falls on
                   every level alike); the fastest round counts
    --shapes full:200000x32x16 ...
                   only these of bench_em.py's shapes (MODEL:NxDxK, or NxDxK for
                   every model that has it)
    --quick        N/20 at every shape (a smoke run)
    --out bench/   write DISPATCH.md there (default: print only)

What is timed: bench_em.time_gaussmix (fit_em from bench_em's start, 5
iterations, best of 5 calls after a warm-up, total / iterations) on all
cores. "dispatched" is the level a dispatched build loads on this machine
(the best one it runs, native left out); its ratio to native is the cost of
building one binary for every x86-64 CPU. Every level's lower bound must
agree with native's (1e-6 relative in float64, 1e-4 in float32), else the
row says VOID.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import bench_em  # noqa: E402  (the problems, timers and machine description of the main bench)

import gaussmix  # noqa: E402

DTYPES = ("float64", "float32")
AGREE = {"float64": 1e-6, "float32": 1e-4}
SKLEARN_SHAPE = (1_000_000, 8, 16)
ITERS = 5


def work_items(quick: bool, only=None) -> list[tuple[str, tuple[int, int, int], bool]]:
    """(model, shape, weighted) for every shape bench_em.py runs by default, or
    those of them that only ([(model or None, shape)], before --quick) names."""
    scale = bench_em.QUICK_DIVISOR if quick else 1
    items = [(model, shape, False) for model in bench_em.MODELS for shape in bench_em.DEFAULT_SHAPES[model]]
    items.append(("full", bench_em.WEIGHTED_SHAPE, True))
    if only:
        items = [item for item in items if any(m in (None, item[0]) and s == item[1] for m, s in only)]
    return [(model, (max(n // scale, 1), d, k), weighted) for model, (n, d, k), weighted in items]


def child(item_index: int, quick: bool, only) -> None:
    """Time one item under the level GAUSSMIX_CPU_LEVEL chose; print JSON."""
    import numpy as np

    model, shape, weighted = work_items(quick, only)[item_index]
    X, start = bench_em.make_problem(shape, model)
    weights = bench_em.make_sample_weight(shape[0]) if weighted else None
    rows = []
    for dtype in DTYPES:
        data = X if dtype == "float64" else X.astype(np.float32)
        seconds, lower_bound = bench_em.time_gaussmix(data, start, ITERS, weights)
        rows.append({"model": model, "shape": list(shape), "weighted": weighted, "dtype": dtype,
                     "seconds": seconds, "lower_bound": float(lower_bound)})
    print(json.dumps({"level": gaussmix.config_info()["cpu_level"], "rows": rows}))


def run_level(level: str, item_index: int, argv: list[str]) -> dict:
    env = dict(os.environ, GAUSSMIX_CPU_LEVEL=level)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(item_index), *argv]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"level {level} failed:\n{result.stderr}")
    report = json.loads(result.stdout)
    if report["level"] != level:
        raise SystemExit(f"asked for level {level}, the child ran {report['level']}")
    return report


def key(row) -> tuple:
    return row["model"], tuple(row["shape"]), row["weighted"], row["dtype"]


def sklearn_seconds(quick: bool) -> float | None:
    if not bench_em.installed("sklearn"):
        return None
    n, d, k = SKLEARN_SHAPE
    shape = (max(n // (bench_em.QUICK_DIVISOR if quick else 1), 1), d, k)
    X, start = bench_em.make_problem(shape, "full")
    return bench_em.time_sklearn(X, start, ITERS)[0]


def report(best, lower_bounds, levels, dispatched, sklearn, args) -> list[str]:
    native = "native" if "native" in levels else None
    lines = [
        "# CPU levels of the compiled core against -march=native",
        "",
        f"Command: `{shlex.join(['python', *sys.argv])}`; {args.rounds} rounds, the fastest counts; "
        f"{ITERS} EM iterations per fit, seconds per iteration (total / iterations).",
        "",
        *[f"* {line}" for line in bench_em.machine_lines(bench_em.matmul_gflops())],
        f"* levels: {', '.join(levels)}; a dispatched build loads **{dispatched}** here",
        "",
    ]
    header = "| model | N x D x K | dtype | " + " | ".join(f"{lv} s/iter" for lv in levels)
    if native:
        header += " | " + " | ".join(f"{lv} / native" for lv in levels if lv != native)
    lines += [header + " |", "|" + "---|" * header.count("|")]
    worst = {}
    for k in best[levels[0]]:
        model, shape, weighted, dtype = k
        label = "x".join(map(str, shape)) + (" weighted" if weighted else "")
        cells = [model, label, dtype] + [f"{best[lv][k]:.4g}" for lv in levels]
        reference = lower_bounds["native" if native else levels[0]][k]
        void = any(abs(lower_bounds[lv][k] - reference) > AGREE[dtype] * abs(reference) for lv in levels)
        if native:
            for lv in levels:
                if lv == native:
                    continue
                ratio = best[lv][k] / best[native][k]
                worst[lv] = max(worst.get(lv, 0.0), ratio)
                cells.append("VOID" if void else f"{ratio:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    if native:
        lines += ["Slowest shape against native: " + ", ".join(f"{lv} {r:.2f}x" for lv, r in worst.items()) + ".", ""]
    baseline = levels[-1]
    k = ("full", SKLEARN_SHAPE if not args.quick else
         (SKLEARN_SHAPE[0] // bench_em.QUICK_DIVISOR, *SKLEARN_SHAPE[1:]), False, "float64")
    if sklearn is not None and k in best[baseline]:
        lines += [f"scikit-learn at {'x'.join(map(str, k[1]))} full float64: {sklearn:.4g} s/iter; level {baseline} "
                  f"{best[baseline][k]:.4g} s/iter: **{sklearn / best[baseline][k]:.1f}x** faster "
                  f"(dispatched {dispatched}: {sklearn / best[dispatched][k]:.1f}x).", ""]
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--shapes", nargs="+", type=bench_em.parse_model_shape, default=None, metavar="[MODEL:]NxDxK",
                    help="only these of bench_em.py's shapes (default: all of them)")
    ap.add_argument("--out", type=Path, default=None,
                    help="directory to write DISPATCH.md to (default: print only; --out bench/ updates it)")
    args = ap.parse_args()
    if args.child is not None:
        child(args.child, args.quick, args.shapes)
        return
    info = gaussmix.config_info()
    levels = list(info["cpu_levels_runnable"])
    dispatched = next((lv for lv in levels if lv != "native"), None)
    if dispatched is None:
        raise SystemExit("this installation has no dispatched level: build with GAUSSMIX_CPU_LEVELS (see --help)")
    best, lower_bounds = {}, {}
    items = work_items(args.quick, args.shapes)
    child_argv = (["--quick"] if args.quick else []) + (
        ["--shapes", *[f"{m}:{'x'.join(map(str, sh))}" if m else "x".join(map(str, sh)) for m, sh in args.shapes]]
        if args.shapes else [])
    for round_ in range(args.rounds):
        for index, (model, shape, weighted) in enumerate(items):
            # The levels one after the other on the same shape, their order reversed
            # from one shape (and round) to the next.
            order = levels if (round_ + index) % 2 == 0 else levels[::-1]
            print(f"round {round_ + 1}: {model} {'x'.join(map(str, shape))}{' weighted' if weighted else ''}",
                  flush=True)
            for level in order:
                for row in run_level(level, index, child_argv)["rows"]:
                    k = key(row)
                    best.setdefault(level, {})
                    best[level][k] = min(best[level].get(k, float("inf")), row["seconds"])
                    lower_bounds.setdefault(level, {})[k] = row["lower_bound"]
    runs_sklearn_shape = any(model == "full" and shape[1:] == SKLEARN_SHAPE[1:] and not weighted
                             for model, shape, weighted in items)
    sklearn = sklearn_seconds(args.quick) if runs_sklearn_shape else None
    lines = report(best, lower_bounds, levels, dispatched, sklearn, args)
    print("\n".join(lines))
    if args.out is not None:
        (args.out / "DISPATCH.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
