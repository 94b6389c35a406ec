"""Command line: ``python -m gaussmix demo`` (also the ``gaussmix`` script)."""
from __future__ import annotations

import argparse
import itertools
import time

import numpy as np

from . import gmm
from ._config import get_num_threads, set_num_threads

# The mixture of PyPR's documentation example.
DOC_WEIGHTS = [0.4, 0.4, 0.2]
DOC_MEANS = [np.array([0.0, 0.0]), np.array([3.0, 3.0]), np.array([0.0, 4.0])]
DOC_COVS = [np.array([[1.0, 0.4], [0.4, 1.0]]), np.diag((1.0, 2.0)), np.diag((0.4, 0.1))]


def _match_to_truth(fitted_means):
    """Order of the fitted components that best matches the true ones (by mean distance)."""
    K = len(DOC_MEANS)
    return min(itertools.permutations(range(K)),
               key=lambda perm: sum(np.linalg.norm(fitted_means[p] - DOC_MEANS[k]) for k, p in enumerate(perm)))


def _fmt(a):
    return np.array2string(np.asarray(a), precision=3, suppress_small=True, separator=", ").replace("\n", "")


def demo(samples: int, seed: int) -> None:
    """Sample the documentation's 3-component mixture, fit it with em, and compare."""
    np.random.seed(seed)
    X = gmm.sample_gaussian_mixture(DOC_MEANS, DOC_COVS, DOC_WEIGHTS, samples=samples)
    start = time.perf_counter()
    centers, covs, p_k, logL = gmm.em(X, K=3, max_iter=400)
    elapsed = time.perf_counter() - start
    order = _match_to_truth(centers)
    print(f"gaussmix demo: {samples} samples of PyPR's 3-component example (np.random.seed({seed})), "
          f"em(X, K=3, max_iter=400) on {get_num_threads()} thread(s)\n")
    for k, p in enumerate(order):
        print(f"component {k + 1}")
        print(f"  weight      true {DOC_WEIGHTS[k]:.3f}   fitted {p_k[p]:.3f}")
        print(f"  mean        true {_fmt(DOC_MEANS[k])}   fitted {_fmt(centers[p])}")
        print(f"  covariance  true {_fmt(DOC_COVS[k])}   fitted {_fmt(covs[p])}")
    print(f"\nlog-likelihood of the fit: {logL:.4f} (true parameters: "
          f"{gmm.gm_log_likelihood(X, DOC_MEANS, DOC_COVS, DOC_WEIGHTS):.4f})")
    print(f"time taken by em: {elapsed * 1e3:.1f} ms")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="gaussmix", description="gaussmix command line")
    sub = parser.add_subparsers(dest="command", required=True)
    p_demo = sub.add_parser("demo", help="fit the PyPR documentation's example mixture and compare")
    p_demo.add_argument("--samples", type=int, default=1000, help="number of samples (default 1000)")
    p_demo.add_argument("--seed", type=int, default=1, help="seed for np.random (default 1)")
    p_demo.add_argument("--threads", type=int, default=0, help="threads for the core (default: all cores)")
    args = parser.parse_args(argv)
    if args.samples < 3:
        parser.error("--samples must be at least 3")
    set_num_threads(args.threads)
    demo(args.samples, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
