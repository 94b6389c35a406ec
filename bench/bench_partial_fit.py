"""GaussianMixture.partial_fit (stepwise EM) against in-memory EM on the same
data, in one run.

    python bench/bench_partial_fit.py [--rows 10000000] [--batch 100000] [--passes 3] [--out bench/]

The data: bench_em.make_problem (16 clusters in D = 8), K = 16, full, 2
threads. Both start from the same parameters: the k-means start of the
first batch (what partial_fit's first call would take). In-memory EM:
GaussianMixture(16, tol=1e-6, max_iter=300) from there, its lower bound
after every iteration with the seconds since the call began (the progress
callback). Stepwise EM: partial_fit on consecutive batches of --batch rows, --passes passes in row order (the rows
are drawn independently, so row order is random order); the mean
log-likelihood of all rows is measured after each pass, outside the timing.
One pass of partial_fit is compared with one in-memory EM iteration (the
difference of a 10- and a 0-iteration fit from the same start, divided by
10); each call's fixed cost (a batch of 100 rows) is shown beside it.
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from _report import Report  # noqa: E402
from bench_em import make_problem  # noqa: E402

K, D = 16, 8


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--batch", type=int, default=100_000)
    ap.add_argument("--passes", type=int, default=3)
    report = Report("partial_fit: stepwise EM against in-memory EM", "bench_partial_fit.py", "PARTIAL_FIT.md")
    report.add_out_option(ap)
    args = ap.parse_args()
    from gaussmix import GaussianMixture, get_num_threads

    warnings.simplefilter("ignore")
    X = make_problem((args.rows, D, K))[0]
    report(f"{args.rows:,} x {D}, K = {K}, full, batches of {args.batch:,} rows, gaussmix threads {get_num_threads()}\n")

    # One in-memory iteration, and one partial_fit call's fixed cost.
    t = time.perf_counter()
    GaussianMixture(K, random_state=0, max_iter=0).fit(X)
    start_s = time.perf_counter() - t
    t = time.perf_counter()
    GaussianMixture(K, random_state=0, max_iter=10, tol=0).fit(X)
    iteration_s = (time.perf_counter() - t - start_s) / 10
    warm = GaussianMixture(K, random_state=0).partial_fit(X[:args.batch])
    calls = 200
    t = time.perf_counter()
    for i in range(calls):
        warm.partial_fit(X[i * 100:(i + 1) * 100])
    call_ms = (time.perf_counter() - t) / calls * 1e3

    # Both from one start: the k-means start of the first batch (what partial_fit's first call takes).
    first = GaussianMixture(K, random_state=0, max_iter=0).fit(X[:args.batch])
    start = dict(weights_init=first.weights_, means_init=first.means_, precisions_init=first.precisions_)

    # In-memory EM's curve.
    curve = []
    began = time.perf_counter()
    em = GaussianMixture(K, tol=1e-6, max_iter=300, **start)
    em.fit(X, progress=lambda p: curve.append((p.iteration, time.perf_counter() - began, p.lower_bound)))
    optimum = em.lower_bound_

    # Stepwise EM's curve, pass by pass.
    model = GaussianMixture(K, **start)
    passes, elapsed = [], 0.0
    for p in range(args.passes):
        t = time.perf_counter()
        for i in range(0, args.rows, args.batch):
            model.partial_fit(X[i:i + args.batch])
        seconds = time.perf_counter() - t
        elapsed += seconds
        passes.append((p + 1, seconds, elapsed, model.score(X)))

    report(f"One in-memory EM iteration: {iteration_s:.3f} s (its start: {start_s:.2f} s). One partial_fit call's "
           f"fixed cost (100 rows): {call_ms:.2f} ms.\n")
    report("| pass | pass s | pass / in-memory iteration | seconds so far | mean log-likelihood | gap to the in-memory "
           "optimum |")
    report("| --- | --- | --- | --- | --- | --- |")
    for p, seconds, total, score in passes:
        report(f"| {p} | {seconds:.3f} | {seconds / iteration_s:.2f}x | {total:.2f} | {score:.6f} | "
               f"{(optimum - score) / abs(optimum):.2e} |")
    report("\n(A negative gap: stepwise EM ended above the in-memory fit's optimum.)")
    report(f"\nIn-memory EM (tol 1e-6): {em.n_iter_} iterations, optimum {optimum:.6f}; its curve (seconds include "
           "the start):\n")
    report("| iteration | seconds so far | lower bound | gap to the optimum |")
    report("| --- | --- | --- | --- |")
    shown = [c for c in curve if c[0] in (1, 2, 3, 5, 10, 20, 50, 100, 200, 300)] + [curve[-1]]
    for iteration, seconds, bound in sorted(set(shown)):
        report(f"| {iteration} | {seconds:.2f} | {bound:.6f} | {(optimum - bound) / abs(optimum):.2e} |")
    for p, _, total, score in passes:
        reached = next((c for c in curve if c[2] >= score), None)
        when = f"iteration {reached[0]}, {reached[1]:.2f} s" if reached else "not within its run"
        report(f"\nStepwise EM after pass {p} ({total:.2f} s): in-memory EM reaches that likelihood at {when}.")
    report.write(args.out)


if __name__ == "__main__":
    main()
