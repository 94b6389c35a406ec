"""Command line (the ``gaussmix`` script, or ``python -m gaussmix``): ``demo``,
``config``, and the data commands of gaussmix/cli.py (``fit``, ``predict``,
``sample``, ``info``, ``plot``)."""
from __future__ import annotations

import argparse
import itertools
import os
import sys
import time

import numpy as np

from . import gmm
from ._config import get_num_threads, set_num_threads, show_config

# The mixture of PyPR's documentation example.
DOC_WEIGHTS = [0.4, 0.4, 0.2]
DOC_MEANS = [np.array([0.0, 0.0]), np.array([3.0, 3.0]), np.array([0.0, 4.0])]
DOC_COVS = [np.array([[1.0, 0.4], [0.4, 1.0]]), np.diag((1.0, 2.0)), np.diag((0.4, 0.1))]
#: The documentation conditions the fit on x2 = -1.
CONDITION_X2 = -1.0


def _match_to_truth(fitted_means):
    """Order of the fitted components that best matches the true ones (by mean distance)."""
    K = len(DOC_MEANS)
    return min(itertools.permutations(range(K)),
               key=lambda perm: sum(np.linalg.norm(fitted_means[p] - DOC_MEANS[k]) for k, p in enumerate(perm)))


def _fmt(a):
    return np.array2string(np.asarray(a), precision=3, suppress_small=True, separator=", ").replace("\n", "")


def demo(samples: int, seed: int, out_dir: str | None) -> None:
    """Sample the documentation's 3-component mixture, fit it with em, compare,
    condition the fit on x2 = -1, and draw the documentation's two figures."""
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

    y = np.array([np.nan, CONDITION_X2])
    cond_means, cond_covs, cond_weights = gmm.cond_dist(y, centers, covs, p_k)
    print(f"\nconditional distribution of x1 given x2 = {CONDITION_X2:g} (fitted components, in the order above):")
    for k, p in enumerate(order):
        print(f"  component {k + 1}: weight {cond_weights[p]:.4f}   mean {cond_means[p][0]:8.4f}   "
              f"variance {cond_covs[p][0, 0]:.4f}")
    if out_dir is not None:
        _write_figures(X, centers, covs, p_k, y, out_dir)


def _save_png(fig, path):
    import io

    import matplotlib.pyplot as plt

    from .cli import write_output

    image = io.BytesIO()
    try:
        fig.savefig(image, format="png", dpi=90)
    finally:
        plt.close(fig)
    write_output(path, image.getvalue())


def _write_figures(X, centers, covs, p_k, y, out_dir):
    """The documentation's two figures: the fit's ellipses over the samples, and
    the conditional density of x1 given x2."""
    try:
        import matplotlib
    except ImportError:
        print('\nmatplotlib is not installed: no figures (pip install "gaussmix[plot]")')
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import plot

    os.makedirs(out_dir, exist_ok=True)
    fig, ax = plt.subplots()
    plot.ellipses(centers, covs, X=X, ax=ax)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    fit_path = os.path.join(out_dir, "demo_fit.png")
    _save_png(fig, fit_path)
    fig, ax = plt.subplots()
    plot.conditional_density(y, centers, covs, p_k, ax=ax)
    ax.set_xlabel("$x_1$")
    ax.legend()
    cond_path = os.path.join(out_dir, "demo_conditional.png")
    _save_png(fig, cond_path)
    print(f"\nwrote {fit_path} and {cond_path}")


def _thread_count(text: str) -> int:
    """--threads: 0 (all cores) or a count set_num_threads accepts (argparse type)."""
    from ._config import max_num_threads

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if not 0 <= value <= max_num_threads():
        raise argparse.ArgumentTypeError(f"{text}: give 1 to {max_num_threads()} threads, or 0 for all cores")
    return value


def _cmd_demo(args) -> int:
    set_num_threads(args.threads)
    demo(args.samples, args.seed, args.out)
    return 0


def _cmd_config(args) -> int:
    show_config()
    return 0


def main(argv=None) -> int:
    """The gaussmix command: exit code 0, 1 (bad input, one line on stderr),
    2 (bad usage) or 130 (interrupted); never a traceback."""
    try:
        from . import cli
    except KeyboardInterrupt:  # Ctrl-C while the commands load
        print("gaussmix: interrupted", file=sys.stderr)
        return 130  # cli.EXIT_INTERRUPTED, before cli could load
    parser = argparse.ArgumentParser(
        prog="gaussmix", description="Gaussian mixture models from the shell; 'gaussmix COMMAND --help' for each.",
        epilog="exit codes: 0 success, 1 bad input or failure (one line on stderr), 2 bad usage, 130 interrupted")
    sub = parser.add_subparsers(dest="command", required=True)
    p_demo = sub.add_parser("demo", help="fit the PyPR documentation's example mixture and compare")
    p_demo.add_argument("--samples", type=cli.count(3), default=1000, help="number of samples (default 1000)")
    p_demo.add_argument("--seed", type=int, default=1, help="seed for np.random (default 1)")
    p_demo.add_argument("--threads", type=_thread_count, default=0, help="threads for the core (default: all cores)")
    p_demo.add_argument("--out", metavar="DIR", default=None,
                        help="write the documentation's two figures as PNGs into DIR (needs matplotlib)")
    sub.add_parser("config", help="print how gaussmix was built and what it runs on: the CPU level loaded "
                                  "(GAUSSMIX_CPU_LEVEL forces one), compiler, Eigen, threads, OpenMP runtime")
    handlers = {"demo": _cmd_demo, "config": _cmd_config, **cli.add_commands(sub)}
    try:
        args = parser.parse_args(argv)
    except KeyboardInterrupt:
        print("gaussmix: interrupted", file=sys.stderr)
        return cli.EXIT_INTERRUPTED
    return cli.run(handlers[args.command], args, f"gaussmix {args.command}")


if __name__ == "__main__":
    raise SystemExit(main())
