"""A model-selection sweep against the same loop of scikit-learn fits, in one run.

    pip install ".[bench]"
    python bench/bench_selection.py [--rows 100000] [--max-k 10] [--n-init 3]

The sweep: K = 1..--max-k x the four covariance models x n_init = --n-init
starts (k-means, scikit-learn's default), on --rows x 8 rows drawn from a
6-component mixture, seed 0. gaussmix: one ``select_model`` call (BIC, AIC
and ICL of every fit). scikit-learn: the hand-written loop of
``sklearn.mixture.GaussianMixture(K, covariance_type=model, n_init=n_init,
random_state=0).fit(X)`` and ``.bic(X)``; and the same loop of gaussmix's
estimator (what sharing the starts saves). Both on all cores; the chosen
model must agree, else the row says VOID. Both libraries are warm when
timed: their estimators imported and one small sweep run first, so no
figure carries a first call's imports (about 1 s for scikit-learn's). Printed; --out bench/ writes bench/SELECTION.md.
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from _report import Report

MODELS = ("full", "tied", "diag", "spherical")


def data(rows, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(6, 8))
    scales = rng.uniform(0.5, 1.5, size=(6, 8))
    labels = rng.integers(6, size=rows)
    return centres[labels] + rng.normal(size=(rows, 8)) * scales[labels]


def loop(GaussianMixture, X, ks, n_init):
    """The hand-written loop: one fit per K and model, the lowest BIC kept."""
    best = None
    for k in ks:
        for model in MODELS:
            bic = GaussianMixture(k, covariance_type=model, n_init=n_init, random_state=0).fit(X).bic(X)
            if best is None or bic < best[0]:
                best = (bic, k, model)
    return best


def sklearn_loop(X, ks, n_init):
    from sklearn.mixture import GaussianMixture

    return loop(GaussianMixture, X, ks, n_init)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--max-k", type=int, default=10)
    ap.add_argument("--n-init", type=int, default=3)
    report = Report("Model selection sweep", "bench_selection.py", "SELECTION.md")
    report.add_out_option(ap)
    args = ap.parse_args()
    from gaussmix import get_num_threads
    from gaussmix.selection import select_model

    X = data(args.rows)
    ks = range(1, args.max_k + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from gaussmix import GaussianMixture
        select_model(X[:500], [1, 2], n_init=1, random_state=0)  # warm: imports and first calls
        sklearn_loop(X[:500], [1, 2], 1)
        t = time.perf_counter()
        sweep = select_model(X, ks, n_init=args.n_init, random_state=0)
        ours = time.perf_counter() - t
        t = time.perf_counter()
        loop_best = loop(GaussianMixture, X, ks, args.n_init)
        our_loop = time.perf_counter() - t
        t = time.perf_counter()
        theirs_best = sklearn_loop(X, ks, args.n_init)
        theirs = time.perf_counter() - t
    same = (sweep.best_.n_components, sweep.best_.covariance_type) == theirs_best[1:]
    fits = len(ks) * len(MODELS)
    lines = [
        f"## {args.rows:,} x 8, K = 1..{args.max_k} x 4 models x n_init = {args.n_init} ({fits} fits), "
        f"{get_num_threads()} threads\n",
        "| implementation | seconds | against gaussmix | chosen by BIC |",
        "| --- | --- | --- | --- |",
        f"| gaussmix `select_model` | {ours:.2f} | 1 | K = {sweep.best_.n_components}, {sweep.best_.covariance_type} |",
        f"| gaussmix, the same loop of `GaussianMixture` fits | {our_loop:.2f} | {our_loop / ours:.2f}x | "
        f"K = {loop_best[1]}, {loop_best[2]} |",
        f"| scikit-learn loop | {theirs:.2f} | {theirs / ours:.1f}x{'' if same else ' VOID (another choice)'} | "
        f"K = {theirs_best[1]}, {theirs_best[2]} |",
    ]
    report("\n".join(lines))
    report.write(args.out)


if __name__ == "__main__":
    main()
