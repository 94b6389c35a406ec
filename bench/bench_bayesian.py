"""gaussmix.BayesianGaussianMixture against scikit-learn's, in one run.

    python bench/bench_bayesian.py [--rows 200000] [--out bench/]

For each covariance model: ``BayesianGaussianMixture(n_components=16,
covariance_type=model, random_state=0, max_iter=M)`` with every other
parameter at its default (a Dirichlet-process prior, the k-means start), on
the same data (bench_em.make_problem: 16 clusters in D = 8; D = 16 for tied,
32 for diag and spherical, as bench_estimator.py). From the same
random_state both libraries take the same start and run the same iterations
(the table shows both iteration counts and the relative difference of the
lower bounds). Each fit is timed whole (checks, priors, start, iterations,
attributes), best of 2 for gaussmix, one fit for scikit-learn; the fixed
cost is a fit with max_iter=0 of each (the start and the priors), and the
per-iteration time is (fit - fixed) / n_iter.
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

SHAPES = {"full": 8, "tied": 16, "diag": 32, "spherical": 32}
K = 16


def timed(make, X, repeats):
    best, model = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        model = make().fit(X)
        best = min(best, time.perf_counter() - t)
    return best, model


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--max-iter", type=int, default=30)
    report = Report("BayesianGaussianMixture: gaussmix against scikit-learn", "bench_bayesian.py", "BAYESIAN.md")
    report.add_out_option(ap)
    args = ap.parse_args()
    from sklearn.mixture import BayesianGaussianMixture as Theirs

    from gaussmix import BayesianGaussianMixture as Ours, get_num_threads

    report(f"{args.rows:,} rows, K = {K}, max_iter = {args.max_iter}, gaussmix threads {get_num_threads()}\n")
    report("| model, N x D x K | iterations (gaussmix / scikit-learn) | lower bound rel. difference | fit s: gaussmix / "
           "scikit-learn | speed-up | fixed cost s: gaussmix / scikit-learn | per iteration ms: gaussmix / "
           "scikit-learn | per-iteration speed-up |")
    report("| --- | --- | --- | --- | --- | --- | --- | --- |")
    warnings.simplefilter("ignore")
    Ours(n_components=2, random_state=0).fit(make_problem((500, 2, 2))[0])  # imports, first calls
    for model, d in SHAPES.items():
        X = make_problem((args.rows, d, K))[0]
        params = dict(n_components=K, covariance_type=model, random_state=0, max_iter=args.max_iter)
        ours_s, ours = timed(lambda: Ours(**params), X, 2)
        theirs_s, theirs = timed(lambda: Theirs(**params), X, 1)
        ours_0, _ = timed(lambda: Ours(**{**params, "max_iter": 0}), X, 2)
        theirs_0, _ = timed(lambda: Theirs(**{**params, "max_iter": 0}), X, 1)
        bound = float(np.ravel(theirs.lower_bound_)[0])  # tied: an array of one there
        per_ours = (ours_s - ours_0) / max(ours.n_iter_, 1) * 1e3
        per_theirs = (theirs_s - theirs_0) / max(theirs.n_iter_, 1) * 1e3
        report(f"| {model}, {args.rows:,} x {d} x {K} | {ours.n_iter_} / {theirs.n_iter_} | "
               f"{abs(ours.lower_bound_ - bound) / abs(bound):.1e} | {ours_s:.3g} / {theirs_s:.3g} | "
               f"{theirs_s / ours_s:.0f}x | {ours_0:.3g} / {theirs_0:.3g} | {per_ours:.3g} / {per_theirs:.3g} | "
               f"{per_theirs / per_ours:.0f}x |")
    report.write(args.out)


if __name__ == "__main__":
    main()
