"""Rows per second of GMM regression: gaussmix.gmm.predict against a per-row
loop of NumPy calls doing the same work (condition every component on the
row's known values, weight, combine by the law of total variance).

    python bench/predict_vs_numpy.py [--n 100000 --d 8 --k 16 --loop-rows 2000]

The NumPy loop is timed on the first --loop-rows rows (it is slow) and its
results are checked against gaussmix's on those rows.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import gaussmix
import gaussmix.gmm as gmm


def random_mixture(d, k, rng):
    means = [rng.normal(scale=3.0, size=d) for _ in range(k)]
    covs = []
    for _ in range(k):
        a = rng.normal(size=(d, d))
        covs.append(a @ a.T / d + 0.5 * np.eye(d))
    return means, covs, np.full(k, 1.0 / k)


def numpy_predict_row(row, means, covs, weights):
    """One row by plain NumPy calls: what a user would write without gaussmix."""
    a = np.isnan(row)
    b = ~a
    xb = row[b]
    log_w, cond_means, cond_covs = [], [], []
    for mu, s, w in zip(means, covs, weights):
        s_bb_inv = np.linalg.inv(s[np.ix_(b, b)])
        gain = s[np.ix_(a, b)] @ s_bb_inv
        diff = xb - mu[b]
        _, logdet = np.linalg.slogdet(s[np.ix_(b, b)])
        log_w.append(np.log(w) - 0.5 * (b.sum() * np.log(2 * np.pi) + logdet + diff @ s_bb_inv @ diff))
        cond_means.append(mu[a] + gain @ diff)
        cond_covs.append(s[np.ix_(a, a)] - gain @ s[np.ix_(b, a)])
    log_w = np.array(log_w)
    w = np.exp(log_w - log_w.max())
    w /= w.sum()
    m = sum(wk * mk for wk, mk in zip(w, cond_means))
    cov = sum(wk * (ck + np.outer(mk - m, mk - m)) for wk, mk, ck in zip(w, cond_means, cond_covs))
    return m, cov


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--d", type=int, default=8)
    ap.add_argument("--k", type=int, default=16)
    ap.add_argument("--loop-rows", type=int, default=2000)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    means, covs, weights = random_mixture(args.d, args.k, rng)
    X = gmm.sample_gaussian_mixture(means, covs, weights, samples=args.n)
    # Random missing patterns: each entry missing with probability 1/2, one random entry always known.
    mask = rng.random(X.shape) < 0.5
    mask[np.arange(args.n), rng.integers(args.d, size=args.n)] = False
    X[mask] = np.nan
    n_patterns = len({r.tobytes() for r in mask})

    filled = X.copy()
    t = time.perf_counter()
    cov_list = gmm.predict(filled, means, covs, weights)
    g_sec = time.perf_counter() - t

    rows = min(args.loop_rows, args.n)
    t = time.perf_counter()
    worst = 0.0
    for i in range(rows):
        if not mask[i].any():
            continue
        m, c = numpy_predict_row(X[i], means, covs, weights)
        worst = max(worst, np.abs(m - filled[i, mask[i]]).max(), np.abs(c - cov_list[i]).max())
    l_sec = time.perf_counter() - t

    g_rate, l_rate = args.n / g_sec, rows / l_sec
    print(f"N={args.n} D={args.d} K={args.k}, {n_patterns} missing patterns, {gaussmix.get_num_threads()} threads")
    print(f"gaussmix.predict   {g_rate:12,.0f} rows/s  ({g_sec:.3f} s for {args.n} rows)")
    print(f"NumPy per-row loop {l_rate:12,.0f} rows/s  ({l_sec:.3f} s for {rows} rows)")
    print(f"speed-up {g_rate / l_rate:.0f}x; largest difference on the checked rows {worst:.2e}")


if __name__ == "__main__":
    main()
