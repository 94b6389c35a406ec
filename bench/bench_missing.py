"""EM with missing values against complete-data EM and a NumPy transcription,
in one run.

    pip install ".[bench]"
    python bench/bench_missing.py [--rows 1000000] [--iters 5] [--rounds 3]

1. Seconds per iteration of ``GaussianMixture.fit`` at --rows x 8, K = 16,
   full, float64, 20% of the entries missing completely at random (a row
   that lost all 8 keeps its first; 255 missing patterns), against the
   same fit of the same rows without holes, both from one given start:
   (fit with --iters iterations - fit with 1) / (--iters - 1), the best of
   --rounds rounds each, so the fixed costs (the data checks; for the
   missing data also the grouping by pattern and the start's mean filling)
   are left out on both sides; they are reported apart as the 1-iteration
   fit's time.
2. One iteration at 20,000 x 8, K = 8, full, 20% missing: gaussmix's
   (the same difference) against tests/reference_missing.py's em_step, the
   per-row NumPy transcription the tests compare against (one call, one
   round: it takes tens of seconds). Both must give the same means (1e-8
   relative), else the row says VOID.

Printed; --out bench/ writes bench/MISSING.md.
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from _report import Report

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent / "tests"))
report = Report("EM with missing values", "bench_missing.py", "MISSING.md")


def with_holes(X, fraction, rng):
    holes = rng.random(X.shape) < fraction
    holes[holes.all(axis=1), 0] = False
    out = X.copy()
    out[holes] = np.nan
    return out


def problem(n, d, k, rng):
    centres = rng.normal(scale=4.0, size=(k, d))
    X = centres[rng.integers(k, size=n)] + rng.normal(size=(n, d))
    return X, with_holes(X, 0.2, rng)


def start_for(X, k):
    """A start every fit shares: two EM iterations on 100,000 complete rows."""
    from gaussmix import GaussianMixture

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = GaussianMixture(k, random_state=0, max_iter=2).fit(X[:100_000])
    return dict(weights_init=g.weights_, means_init=g.means_, precisions_init=g.precisions_)


def fit_seconds(data, k, start, iters):
    from gaussmix import GaussianMixture

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        model = GaussianMixture(k, tol=0, max_iter=iters, **start).fit(data)
        return time.perf_counter() - t, model


def per_iteration(data, k, start, iters, rounds):
    """(s/iter, the 1-iteration fit's seconds), the best of rounds each."""
    one = min(fit_seconds(data, k, start, 1)[0] for _ in range(rounds))
    many = min(fit_seconds(data, k, start, iters)[0] for _ in range(rounds))
    return (many - one) / (iters - 1), one


def against_complete(args):
    import gaussmix

    rng = np.random.default_rng(0)
    X, holes = problem(args.rows, 8, 16, rng)
    start = start_for(X, 16)
    patterns = gaussmix._core.missing_patterns(holes).n_patterns
    complete_rows = int((~np.isnan(holes).any(axis=1)).sum())
    # Alternate the two, so that a slow spell of the machine hits both.
    c_iter, c_one = per_iteration(X, 16, start, args.iters, args.rounds)
    m_iter, m_one = per_iteration(holes, 16, start, args.iters, args.rounds)
    report(f"## {args.rows:,} x 8, K = 16, full, float64, {gaussmix.get_num_threads()} threads\n")
    report(f"20% of the entries missing at random: {patterns} missing patterns, {complete_rows:,} complete rows "
           f"({complete_rows / args.rows:.1%}).\n")
    report("| data | s/iter | against complete | 1-iteration fit (s) |")
    report("| --- | --- | --- | --- |")
    report(f"| complete | {c_iter:.3f} | 1 | {c_one:.2f} |")
    report(f"| 20% missing | {m_iter:.3f} | {m_iter / c_iter:.2f}x | {m_one:.2f} |")


def against_numpy(args):
    import reference_missing
    from gaussmix import GaussianMixture  # noqa: F401

    rng = np.random.default_rng(1)
    n, k = 20_000, 8
    X, holes = problem(n, 8, k, rng)
    start = start_for(X, k)
    g_iter, _ = per_iteration(holes, k, start, args.iters, args.rounds)
    _, model = fit_seconds(holes, k, start, 1)
    covs = np.linalg.inv(start["precisions_init"])
    t = time.perf_counter()
    _, means, _, _ = reference_missing.em_step(holes, start["weights_init"], start["means_init"], covs, "full",
                                               reg_covar=1e-6)
    numpy_s = time.perf_counter() - t
    same = np.abs(model.means_ - means).max() <= 1e-8 * np.abs(means).max()
    report(f"\n## One iteration at {n:,} x 8, K = {k}, full, 20% missing\n")
    report("| implementation | s/iter | against gaussmix |")
    report("| --- | --- | --- |")
    report(f"| gaussmix | {g_iter:.5f} | 1 |")
    ratio = f"{numpy_s / g_iter:,.0f}x" if same else "VOID (different means)"
    report(f"| NumPy transcription (tests/reference_missing.py) | {numpy_s:.2f} | {ratio} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    report.add_out_option(ap)
    args = ap.parse_args()
    against_complete(args)
    against_numpy(args)
    report.write(args.out)


if __name__ == "__main__":
    main()
