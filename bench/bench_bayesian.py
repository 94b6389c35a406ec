"""gaussmix.BayesianGaussianMixture against scikit-learn's, and its iteration
against gaussmix.GaussianMixture's, in one run.

    python bench/bench_bayesian.py [--rows 1000000] [--table-rows 200000] [--out bench/]

The data: bench_em.make_problem (16 clusters; D = 8 for full, 16 for tied,
32 for diag and spherical, as bench_estimator.py), K = 16.

1. The issue's targets: the whole fit with default parameters (a
   Dirichlet-process prior, the k-means start, max_iter = 100, tol = 1e-3)
   at --rows rows, full (D = 8) and diag (D = 32); gaussmix best of 2,
   scikit-learn one fit.
2. One iteration against GaussianMixture's on the same data at --rows rows:
   every covariance model, both prior types, tol = 0 so that each fit runs
   max_iter = 20 iterations; per iteration = (fit - fit with max_iter = 0) /
   20, best of 2 of each fit.
3. Every covariance model x prior type against scikit-learn at --table-rows
   rows, max_iter = 30 and tol = 0 (both run 30 iterations): the whole fit,
   the fixed cost (a fit with max_iter = 0: checks, priors, start), and per
   iteration; from the same random_state both take the same start and run
   the same iterations (the lower bounds' relative difference is shown).
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
PRIOR_TYPES = ("dirichlet_process", "dirichlet_distribution")
K = 16


def timed(make, X, repeats):
    """(best seconds of repeats fits, the last fitted model)."""
    best, model = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        model = make().fit(X)
        best = min(best, time.perf_counter() - t)
    return best, model


def per_iteration(cls, X, params, repeats):
    """(fixed cost s, per iteration ms, fit s) of cls(**params) on X: its fit
    and a fit with max_iter = 0, best of repeats each."""
    fit_s, model = timed(lambda: cls(**params), X, repeats)
    fixed_s, _ = timed(lambda: cls(**{**params, "max_iter": 0}), X, repeats)
    return fixed_s, (fit_s - fixed_s) / max(model.n_iter_, 1) * 1e3, fit_s, model


def lower_bound(model) -> float:
    return float(np.ravel(model.lower_bound_)[0])  # scikit-learn's tied: an array of one


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--table-rows", type=int, default=200_000)
    report = Report("BayesianGaussianMixture: gaussmix against scikit-learn", "bench_bayesian.py", "BAYESIAN.md")
    report.add_out_option(ap)
    args = ap.parse_args()
    from sklearn.mixture import BayesianGaussianMixture as Theirs

    from gaussmix import BayesianGaussianMixture as Ours
    from gaussmix import GaussianMixture, get_num_threads

    warnings.simplefilter("ignore")
    Ours(n_components=2, random_state=0).fit(make_problem((500, 2, 2))[0])  # imports, first calls
    report(f"K = {K}, gaussmix threads {get_num_threads()}\n")

    report(f"## 1. The whole fit, default parameters, {args.rows:,} rows\n")
    report("| model, N x D x K | iterations (gaussmix / scikit-learn) | lower bound rel. difference | fit s: gaussmix / "
           "scikit-learn | speed-up |")
    report("| --- | --- | --- | --- | --- |")
    for model in ("full", "diag"):
        d = SHAPES[model]
        X = make_problem((args.rows, d, K))[0]
        params = dict(n_components=K, covariance_type=model, random_state=0)
        ours_s, ours = timed(lambda: Ours(**params), X, 2)
        theirs_s, theirs = timed(lambda: Theirs(**params), X, 1)
        report(f"| {model}, {args.rows:,} x {d} x {K} | {ours.n_iter_} / {theirs.n_iter_} | "
               f"{abs(ours.lower_bound_ - lower_bound(theirs)) / abs(lower_bound(theirs)):.1e} | "
               f"{ours_s:.3g} / {theirs_s:.3g} | {theirs_s / ours_s:.1f}x |")

    report(f"\n## 2. One iteration against GaussianMixture's, {args.rows:,} rows, 20 iterations\n")
    report("| model, N x D x K | GaussianMixture: fixed s, per iteration ms | Bayesian, Dirichlet process: fixed s, "
           "per iteration ms | Bayesian, Dirichlet distribution: fixed s, per iteration ms | per iteration, "
           "Bayesian / GaussianMixture |")
    report("| --- | --- | --- | --- | --- |")
    for model, d in SHAPES.items():
        X = make_problem((args.rows, d, K))[0]
        params = dict(n_components=K, covariance_type=model, random_state=0, max_iter=20, tol=0.0)
        gm_fixed, gm_iter, _, _ = per_iteration(GaussianMixture, X, params, 2)
        cells, ratios = [], []
        for prior_type in PRIOR_TYPES:
            fixed, it, _, _ = per_iteration(Ours, X, {**params, "weight_concentration_prior_type": prior_type}, 2)
            cells.append(f"{fixed:.3g}, {it:.3g}")
            ratios.append(f"{it / gm_iter:.2f}")
        report(f"| {model}, {args.rows:,} x {d} x {K} | {gm_fixed:.3g}, {gm_iter:.3g} | {cells[0]} | {cells[1]} | "
               f"{' / '.join(ratios)} |")

    report(f"\n## 3. Every model and prior type against scikit-learn, {args.table_rows:,} rows, 30 iterations\n")
    report("| model, N x D x K | prior | lower bound rel. difference | fit s: gaussmix / scikit-learn | speed-up | "
           "fixed cost s: gaussmix / scikit-learn | per iteration ms: gaussmix / scikit-learn | "
           "per-iteration speed-up |")
    report("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for model, d in SHAPES.items():
        X = make_problem((args.table_rows, d, K))[0]
        for prior_type in PRIOR_TYPES:
            params = dict(n_components=K, covariance_type=model, random_state=0, max_iter=30, tol=0.0,
                          weight_concentration_prior_type=prior_type)
            o_fixed, o_iter, o_fit, ours = per_iteration(Ours, X, params, 2)
            t_fixed, t_iter, t_fit, theirs = per_iteration(Theirs, X, params, 1)
            bound = lower_bound(theirs)
            report(f"| {model}, {args.table_rows:,} x {d} x {K} | {prior_type.replace('dirichlet_', '')} | "
                   f"{abs(ours.lower_bound_ - bound) / abs(bound):.1e} | {o_fit:.3g} / {t_fit:.3g} | "
                   f"{t_fit / o_fit:.0f}x | {o_fixed:.3g} / {t_fixed:.3g} | {o_iter:.3g} / {t_iter:.3g} | "
                   f"{t_iter / o_iter:.0f}x |")
    report.write(args.out)


if __name__ == "__main__":
    main()
