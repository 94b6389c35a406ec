"""The whole public calls of GaussianMixture, each call's fixed cost beside
its per-iteration time, to compare two builds of gaussmix in one session
(run it with each interpreter, alternating, and compare the ratios):

    python bench/bench_calls.py [--n 300000] [--d 8] [--k 16] [--model full] [--rounds 5]

* fit from a given start (weights_init, means_init, precisions_init, tol=0)
  with max_iter = 1 and max_iter = 11: the per-iteration time is their
  difference / 10, the fixed cost (validation, conversion, the start, the
  final attributes) is the first less one iteration;
* fit with the defaults (k-means start), predict_proba, score_samples,
  score, and save + load of a model file.

Each figure is the best of --rounds. It prints one JSON object, so that two
runs can be set side by side.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import numpy as np

from gaussmix import GaussianMixture


def best(rounds, call):
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=300_000)
    parser.add_argument("--d", type=int, default=8)
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--model", default="full")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(args.k, args.d)) * 4
    X = centres[rng.integers(0, args.k, args.n)] + rng.normal(size=(args.n, args.d))
    fitted = GaussianMixture(args.k, covariance_type=args.model, random_state=0, max_iter=5).fit(X)
    start = dict(weights_init=fitted.weights_, means_init=fitted.means_, precisions_init=fitted.precisions_)

    def from_start(iterations):
        return lambda: GaussianMixture(args.k, covariance_type=args.model, tol=0, max_iter=iterations,
                                       **start).fit(X)

    import warnings

    from sklearn.exceptions import ConvergenceWarning

    warnings.simplefilter("ignore", ConvergenceWarning)
    one, eleven = best(args.rounds, from_start(1)), best(args.rounds, from_start(11))
    per_iteration = (eleven - one) / 10
    out = {"per_iteration": per_iteration, "fixed_cost_of_fit": one - per_iteration,
           "fit_default": best(max(1, args.rounds // 2),
                               lambda: GaussianMixture(args.k, covariance_type=args.model, random_state=0).fit(X)),
           "predict_proba": best(args.rounds, lambda: fitted.predict_proba(X)),
           "score_samples": best(args.rounds, lambda: fitted.score_samples(X)),
           "score": best(args.rounds, lambda: fitted.score(X))}
    if hasattr(fitted, "save"):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.npz")
            out["save_and_load"] = best(args.rounds, lambda: (fitted.save(path), GaussianMixture.load(path)))
    print(json.dumps({name: round(value, 6) for name, value in out.items()}))


if __name__ == "__main__":
    main()
