"""mclust's fourteen models: gaussmix against R's mclust 6 on the same EM
work, in one run.

    python bench/bench_mclust.py [--rows 100000] [--iters 20] [--out bench/]

Needs R with mclust (Debian: apt install r-cran-mclust; tools/mclust_references.R
needs the same). The data: --rows x 8, nine clusters (means ~ N(0, 4^2),
unit covariances), float64. For every model and K = 1..9, both start from
the same responsibilities (the true labels folded onto K groups, label mod
K, one-hot) and run --iters M-steps with no early stop: R's
``me(x, modelName, z, control = emControl(tol = c(0, sqrt(eps)), itmax =
c(iters, ...)))`` and gaussmix's ``GaussianMixture(K, covariance_type=model,
resp_init=z, reg_covar=0, tol=0, max_iter=iters - 1)`` (its start is the
first M-step), 2 threads. Reported: seconds per model (all nine K) on both
sides and their ratio, the whole sweep's, and the largest relative
difference of the final log-likelihoods (the two must agree: they run the
same iterations). The hc start that Mclust adds is not built in gaussmix
yet, so this compares the EM, which is most of Mclust's time at this size.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from _report import Report  # noqa: E402

D, KMAX = 8, 9
MODELS = ("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "VEE", "EVE", "VVE", "EEV", "VEV", "EVV", "VVV")

R_SCRIPT = r"""
suppressMessages(library(mclust))
args <- commandArgs(trailingOnly = TRUE)
n <- as.integer(args[2]); p <- as.integer(args[3]); iters <- as.integer(args[4])
x <- matrix(readBin(args[1], "double", n * p), n, p)
labels <- readBin(args[5], "integer", n)
models <- strsplit(args[6], ",")[[1]]
out <- list()
for (m in models) {
  for (G in 1:9) {
    z <- unmap(labels %% G, groups = 0:(G - 1))
    t <- system.time(fit <- me(x, modelName = m, z = z,
                               control = emControl(tol = c(0, sqrt(.Machine$double.eps)),
                                                   itmax = c(iters, .Machine$integer.max)), warn = FALSE))
    out[[length(out) + 1]] <- list(model = m, G = G, seconds = t[["elapsed"]],
                                   loglik = if (is.na(fit$loglik)) NULL else fit$loglik)
  }
}
cat(jsonlite::toJSON(out, auto_unbox = TRUE, digits = NA, null = "null"))
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--iters", type=int, default=20)
    report = Report("mclust's models: gaussmix against R's mclust on the same EM", "bench_mclust.py", "MCLUST.md")
    report.add_out_option(ap)
    args = ap.parse_args()
    from sklearn.exceptions import ConvergenceWarning

    from gaussmix import GaussianMixture, get_num_threads

    rng = np.random.default_rng(0)
    labels = rng.integers(KMAX, size=args.rows)
    x = rng.normal(scale=4.0, size=(KMAX, D))[labels] + rng.normal(size=(args.rows, D))
    version = subprocess.run(["Rscript", "-e", "cat(as.character(packageVersion('mclust')))"], capture_output=True,
                             text=True, check=True).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        data, lab, script = Path(tmp) / "x.bin", Path(tmp) / "labels.bin", Path(tmp) / "run.R"
        data.write_bytes(np.asfortranarray(x).T.tobytes())  # R's column-major matrix
        lab.write_bytes(labels.astype(np.int32).tobytes())
        script.write_text(R_SCRIPT)
        t = time.perf_counter()
        result = subprocess.run(["Rscript", str(script), str(data), str(args.rows), str(D), str(args.iters), str(lab),
                                 ",".join(MODELS)], capture_output=True, text=True, check=True)
        r_wall = time.perf_counter() - t
    r_runs = {(run["model"], run["G"]): run for run in json.loads(result.stdout)}

    ours = {}
    for model in MODELS:
        for k in range(1, KMAX + 1):
            z = np.eye(k)[labels % k]
            t = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                gm = GaussianMixture(k, covariance_type=model, resp_init=z, reg_covar=0.0, tol=0.0,
                                     max_iter=args.iters - 1).fit(x)
            seconds = time.perf_counter() - t
            ours[(model, k)] = (seconds, float(gm.score(x) * len(x)))

    report(f"{args.rows:,} x {D}, K = 1..{KMAX} for each model, {args.iters} M-steps from the same responsibilities, "
           f"R mclust {version} (one thread) against gaussmix (threads {get_num_threads()})\n")
    report("| model | R me(), s (K = 1..9) | gaussmix, s | ratio | largest log-likelihood difference (relative) |")
    report("| --- | --- | --- | --- | --- |")
    total_r = total_g = 0.0
    for model in MODELS:
        r_s = sum(r_runs[(model, k)]["seconds"] for k in range(1, KMAX + 1))
        g_s = sum(ours[(model, k)][0] for k in range(1, KMAX + 1))
        diffs = [abs(ours[(model, k)][1] - r_runs[(model, k)]["loglik"]) / abs(r_runs[(model, k)]["loglik"])
                 for k in range(1, KMAX + 1) if r_runs[(model, k)].get("loglik") is not None]
        total_r, total_g = total_r + r_s, total_g + g_s
        report(f"| {model} | {r_s:.2f} | {g_s:.3f} | {r_s / g_s:.1f}x | {max(diffs):.1e} |")
    report(f"| all | {total_r:.1f} | {total_g:.2f} | {total_r / total_g:.1f}x | |")
    report(f"\nR's process took {r_wall:.1f} s in all (its start-up and reading the data included).")
    report.write(args.out)


if __name__ == "__main__":
    main()
