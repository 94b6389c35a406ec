"""Seconds per EM iteration: gaussmix.gmm.gmm_em_continue against scikit-learn's
GaussianMixture, same data, same start, same number of iterations, one process.

    python bench/em_vs_sklearn.py [--n 1000000 --d 8 --k 16 --iters 5]

Run NumPy/scikit-learn without the OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE
variables some of these machines set (they slow OpenBLAS down):
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/em_vs_sklearn.py
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import gaussmix
import gaussmix.gmm as gmm


def problem(n, d, k, seed=0):
    """A k-component mixture sample and a common EM start."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(k, d))
    X = centres[rng.integers(k, size=n)] + rng.normal(size=(n, d))
    start_means = X[rng.choice(n, size=k, replace=False)]
    start_cov = np.cov(X.T)
    return X, start_means, [start_cov.copy() for _ in range(k)], np.full(k, 1.0 / k)


def time_gaussmix(X, means, covs, weights, iters):
    t = time.perf_counter()
    _, _, _, logL = gmm.gmm_em_continue(X, list(means), covs, weights, max_iter=iters, delta_stop=-1.0,
                                        diag_add=0.0)
    return (time.perf_counter() - t) / iters, logL / X.shape[0]


def time_sklearn(X, means, covs, weights, iters):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture

    gm = GaussianMixture(len(weights), covariance_type="full", tol=0.0, reg_covar=0.0, max_iter=iters,
                         weights_init=weights, means_init=means,
                         precisions_init=np.array([np.linalg.inv(c) for c in covs]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t = time.perf_counter()
        gm.fit(X)
        elapsed = time.perf_counter() - t
    # lower_bound_ is the mean log-likelihood of the last E-step, as gaussmix's logL / N.
    return elapsed / iters, gm.lower_bound_


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--d", type=int, default=8)
    ap.add_argument("--k", type=int, default=16)
    ap.add_argument("--iters", type=int, default=5)
    args = ap.parse_args()
    X, means, covs, weights = problem(args.n, args.d, args.k)
    time_gaussmix(X, means, covs, weights, 1)  # warm-up: thread pool, page faults
    g_sec, g_ll = time_gaussmix(X, means, covs, weights, args.iters)
    s_sec, s_ll = time_sklearn(X, means, covs, weights, args.iters)
    same = abs(g_ll - s_ll) <= 1e-6 * abs(s_ll)
    print(f"N={args.n} D={args.d} K={args.k}, {args.iters} iterations, {gaussmix.get_num_threads()} threads")
    print(f"gaussmix      {g_sec:8.4f} s/iter   mean logL {g_ll:.10f}")
    print(f"scikit-learn  {s_sec:8.4f} s/iter   mean logL {s_ll:.10f}")
    print(f"speed-up {s_sec / g_sec:.1f}x; log-likelihoods {'agree' if same else 'DIFFER: timing void'}")


if __name__ == "__main__":
    main()
