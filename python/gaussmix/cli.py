"""The ``gaussmix`` command line: fit a mixture to a data file, inspect it,
predict with it, sample from it and plot it, without writing a program.

    gaussmix fit data.csv -k 3 -o model.npz
    gaussmix fit data.csv -k 1..10 --covariance full,diag --criterion bic -o model.npz
    gaussmix info model.npz
    gaussmix predict model.npz data.csv --proba > proba.csv
    gaussmix sample model.npz -n 1000 > samples.csv
    gaussmix plot model.npz data.csv -o fit.png

Data files: CSV (``,``), TSV (``.tsv``/``.tab``, tabs), other text
(whitespace or commas, whichever the first line has), ``.npy`` (a 2-D
numeric array) and Parquet (``.parquet``/``.pq``; needs pandas and pyarrow).
A text file's first line is a header when any of its fields is not a
number (``--header``/``--no-header`` decide instead). An empty field,
``nan`` or ``NA`` is a missing value. ``--columns`` picks columns by name or
0-based index.

Exit codes: 0 success, 1 bad input (the message is one line on stderr:
``gaussmix <command>: error: ...``), 2 bad usage (argparse's).
Model files are GaussianMixture.save's (gaussmix/_model_file.py).
"""
from __future__ import annotations

import argparse
import csv
import io
import math
import os
import sys

import numpy as np

from ._validation import Cov_problem

MISSING_TOKENS = {"", "nan", "na", "n/a", "null", "none", "?"}


class InputError(Exception):
    """Bad input: a one-line message, exit code 1."""


# --------------------------------------------------------------------------- reading data


def _number(field: str) -> float | None:
    """The field's value, NaN for a missing token, None if it is not a number."""
    text = field.strip()
    if text.lower() in MISSING_TOKENS:
        return math.nan
    try:
        return float(text)
    except ValueError:
        return None


def _text_rows(path: str, ext: str) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        text = f.read()
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise InputError(f"{path} is empty")
    if ext in (".tsv", ".tab"):
        delimiter = "\t"
    elif ext == ".csv" or "," in lines[0]:
        delimiter = ","
    elif "\t" in lines[0]:
        delimiter = "\t"
    else:
        return [line.split() for line in lines]
    return list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter))


def _from_text(path: str, ext: str, header: bool | None):
    rows = _text_rows(path, ext)
    first = rows[0]
    has_header = header if header is not None else any(_number(f) is None for f in first)
    names = [f.strip() for f in first] if has_header else None
    body = rows[1:] if has_header else rows
    if not body:
        raise InputError(f"{path} has a header but no data rows")
    width = len(names) if names is not None else len(body[0])
    data = np.empty((len(body), width))
    for i, row in enumerate(body):
        line = i + (2 if has_header else 1)
        if len(row) != width:
            raise InputError(f"{path}, line {line}: {len(row)} fields, but the {'header' if names else 'first line'} "
                             f"has {width}")
        for j, field in enumerate(row):
            value = _number(field)
            if value is None:
                column = f"column {j}" + (f" ({names[j]!r})" if names else "")
                raise InputError(f"{path}, line {line}, {column}: {field.strip()!r} is not a number")
            data[i, j] = value
    return data, names


def _from_parquet(path: str):
    try:
        import pandas as pd

        frame = pd.read_parquet(path)
    except ImportError:
        raise InputError("reading Parquet needs pandas and pyarrow: pip install pandas pyarrow") from None
    except Exception as exc:  # pyarrow's errors have no common base worth naming
        raise InputError(f"{path} is not a readable Parquet file ({type(exc).__name__}: {exc})") from None
    numeric = [pd.api.types.is_numeric_dtype(frame[c].dtype) or pd.api.types.is_bool_dtype(frame[c].dtype)
               for c in frame.columns]
    data = np.full(frame.shape, np.nan)
    for j, (column, ok) in enumerate(zip(frame.columns, numeric)):
        if ok:
            data[:, j] = frame[column].to_numpy(dtype=np.float64, na_value=np.nan)
    not_numeric = {str(c): str(frame[c].dtype) for c, ok in zip(frame.columns, numeric) if not ok}
    return data, [str(c) for c in frame.columns], not_numeric


def _from_npy(path: str):
    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise InputError(f"{path} is not a readable .npy file of numbers ({exc})") from None
    if not isinstance(data, np.ndarray) or not (np.issubdtype(data.dtype, np.number) or data.dtype == bool):
        raise InputError(f"{path} does not hold a numeric array")
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2:
        raise InputError(f"{path} holds a {data.ndim}-D array; the data must be 2-D (rows x columns)")
    if data.dtype != np.float32:
        data = data.astype(np.float64)
    return data, None


def read_data(path: str, columns: str | None = None, header: bool | None = None) -> tuple[np.ndarray, list | None]:
    """(data (N, D) float, column names or None) of a data file (see the module's formats)."""
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    if os.path.isdir(path):
        raise InputError(f"{path} is a directory, not a data file")
    ext = os.path.splitext(path)[1].lower()
    not_numeric: dict = {}  # Parquet columns that are not numbers: an error if used
    if ext == ".npy":
        data, names = _from_npy(path)
    elif ext in (".parquet", ".pq"):
        data, names, not_numeric = _from_parquet(path)
    else:
        data, names = _from_text(path, ext, header)
    if data.shape[0] == 0 or data.shape[1] == 0:
        raise InputError(f"{path} has no data")
    if columns is not None:
        picked = []
        for token in (t.strip() for t in columns.split(",")):
            if names is not None and token in names:
                picked.append(names.index(token))
            elif token.lstrip("-").isdigit() and 0 <= int(token) < data.shape[1]:
                picked.append(int(token))
            else:
                raise InputError(f"--columns: {token!r} is neither a column name of {path} nor an index in "
                                 f"0..{data.shape[1] - 1}")
        data = data[:, picked]
        names = None if names is None else [names[j] for j in picked]
    for name in names or []:
        if name in not_numeric:
            raise InputError(f"{path}: column {name!r} is not numeric ({not_numeric[name]}); leave it out with "
                             "--columns")
    if np.isinf(data).any():
        i, j = np.argwhere(np.isinf(data))[0]
        raise InputError(f"{path}: row {i} (0-based), column {j} is infinite")
    return np.ascontiguousarray(data), names


def _write_table(out, rows: np.ndarray, names: list[str], fmt: str) -> None:
    out.write(",".join(names) + "\n")
    np.savetxt(out, rows, delimiter=",", fmt=fmt)


def _output(path: str | None):
    if path is None or path == "-":
        return sys.stdout, False
    try:
        return open(path, "w"), True
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}") from None


# --------------------------------------------------------------------------- commands


def parse_k(text: str) -> list[int]:
    """'3', '1..10' or '2,3,5' as a list of K."""
    try:
        if ".." in text:
            lo, hi = (int(t) for t in text.split(".."))
            values = list(range(lo, hi + 1))
        else:
            values = [int(t) for t in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not K, a range LO..HI or a list K1,K2,...") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: every K must be at least 1")
    return values


def parse_models(text: str) -> list[str]:
    from ._mixture import COVARIANCE_TYPES

    values = [t.strip() for t in text.split(",")]
    bad = [v for v in values if v not in COVARIANCE_TYPES]
    if bad:
        raise argparse.ArgumentTypeError(f"{bad[0]!r} is not one of {', '.join(COVARIANCE_TYPES)}")
    return values


def _load_model(path: str):
    from .estimator import GaussianMixture

    try:
        return GaussianMixture.load(path)
    except (FileNotFoundError, ValueError) as exc:
        raise InputError(str(exc)) from None


def _check_columns(data: np.ndarray, model, path: str) -> None:
    if data.shape[1] != model.n_features_in_:
        raise InputError(f"{path} has {data.shape[1]} column(s) but the model was fitted to {model.n_features_in_}; "
                         "pick them with --columns")


def cmd_fit(args) -> int:
    from ._progress import ProgressBar
    from .estimator import GaussianMixture
    from .selection import select_model

    data, _ = read_data(args.data, args.columns, args.header)
    holes = np.isnan(data).any(axis=1)
    if holes.any() and not args.missing:
        raise InputError(f"{args.data} has missing values (empty fields, NaN or NA) in {int(holes.sum())} of "
                         f"{len(data)} rows (the first: row {int(np.argmax(holes))}); pass --missing to fit them by "
                         "EM on the observed entries, or remove them")
    if len(data) < max(args.k):
        raise InputError(f"{args.data} has {len(data)} rows, fewer than K = {max(args.k)}")
    params = dict(max_iter=args.max_iter, tol=args.tol, reg_covar=args.reg_covar, init_params=args.init)
    bar = ProgressBar(enabled=False if args.quiet else None)
    try:
        if len(args.k) == 1 and len(args.covariance) == 1:
            model = GaussianMixture(args.k[0], covariance_type=args.covariance[0], n_init=args.n_init,
                                    random_state=args.seed, **params)
            model.fit(data, progress=bar.fit_iteration)
            bar.close()
            print(f"fitted K = {model.n_components}, {model.covariance_type}, to {len(data)} rows x {data.shape[1]} "
                  f"columns: {'converged' if model.converged_ else 'NOT converged'} after {model.n_iter_} iterations, "
                  f"log-likelihood per row {model.score(data):.6g}, BIC {model.bic(data):.6g}")
        else:
            sweep = select_model(data, args.k, args.covariance, criterion=args.criterion, n_init=args.n_init,
                                 random_state=args.seed, progress=bar.sweep_fit, **params)
            bar.close()
            print(f"{'K':>3}  {'model':<9}  {'BIC':>14}  {'AIC':>14}  {'ICL':>14}  converged")
            for c in sweep.candidates:
                mark = "  <- best" if c is sweep.best_ else ""
                print(f"{c.n_components:>3}  {c.covariance_type:<9}  {c.bic:>14.6g}  {c.aic:>14.6g}  {c.icl:>14.6g}  "
                      f"{'yes' if c.converged else 'no':<9}{mark}")
            model = sweep.best_estimator_
            print(f"best by {args.criterion.upper()}: K = {model.n_components}, {model.covariance_type}")
    finally:
        bar.close()
    try:
        model.save(args.output)
    except OSError as exc:
        raise InputError(f"cannot write {args.output}: {exc.strerror}") from None
    print(f"wrote {args.output}")
    return 0


def cmd_predict(args) -> int:
    model = _load_model(args.model)
    data, _ = read_data(args.data, args.columns, args.header)
    _check_columns(data, model, args.data)
    out, close = _output(args.output)
    try:
        if args.proba:
            _write_table(out, model.predict_proba(data), [f"p{k}" for k in range(model.n_components)], "%.10g")
        elif args.score:
            _write_table(out, model.score_samples(data)[:, None], ["log_density"], "%.10g")
        else:
            _write_table(out, model.predict(data)[:, None], ["component"], "%d")
    finally:
        if close:
            out.close()
    return 0


def cmd_sample(args) -> int:
    if args.n < 1:
        raise InputError(f"-n must be at least 1, got {args.n}")
    model = _load_model(args.model)
    if args.seed is not None:
        model.set_params(random_state=args.seed)
    x, labels = model.sample(args.n)
    names = [f"x{j}" for j in range(x.shape[1])]
    rows = x
    if args.labels:
        rows, names = np.column_stack([x, labels]), names + ["component"]
    out, close = _output(args.output)
    try:
        _write_table(out, rows, names, "%.10g")
    finally:
        if close:
            out.close()
    return 0


def describe(model, path: str) -> str:
    """A readable summary of a fitted model."""
    with np.load(path, allow_pickle=False) as archive:
        version, written_by = int(archive["format_version"]), str(archive["gaussmix_version"])
    K, D = model.means_.shape
    lines = [f"{path}: a Gaussian mixture of {K} components in {D} dimensions, {model.covariance_type} "
             f"covariances, {model.means_.dtype}",
             f"  fitted by EM: {'converged' if model.converged_ else 'NOT converged'} after {model.n_iter_} "
             f"iterations, lower bound {model.lower_bound_:.6g} per row",
             f"  model file format {version}, written by gaussmix {written_by}"]
    dense = model.to_mixture().dense_covariances()
    order = np.argsort(-model.weights_)
    for k in order:
        sd = np.sqrt(np.diag(dense[k]))
        lines.append(f"  component {k}: weight {model.weights_[k]:.4f}")
        lines.append(f"    mean {np.array2string(model.means_[k], precision=4, separator=', ')}")
        lines.append(f"    sd   {np.array2string(sd, precision=4, separator=', ')}")
        if model.covariance_type in ("full", "tied") and D > 1:
            corr = dense[k] / np.outer(sd, sd)
            off = corr[np.tril_indices(D, -1)]
            lines.append(f"    correlations between {off.min():+.3f} and {off.max():+.3f}")
    return "\n".join(lines)


def cmd_info(args) -> int:
    model = _load_model(args.model)
    print(describe(model, args.model))
    return 0


def cmd_plot(args) -> int:
    try:
        import matplotlib
    except ImportError:
        raise InputError("plotting needs matplotlib: pip install 'gaussmix[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import plot

    model = _load_model(args.model)
    data, names = read_data(args.data, args.columns, args.header)
    _check_columns(data, model, args.data)
    dims = [int(t) for t in args.dims.split(",")] if args.dims else [0, 1]
    if len(dims) != 2 or not all(0 <= d < data.shape[1] for d in dims) or dims[0] == dims[1] or data.shape[1] < 2:
        raise InputError(f"--dims must name two different columns in 0..{data.shape[1] - 1}")
    part = model.marginal(dims)
    centroids, ccov, _ = part.to_pypr()
    fig, ax = plt.subplots(figsize=(6, 5))
    shown = data[:, dims]
    shown = shown[~np.isnan(shown).any(axis=1)]
    ax.plot(shown[:, 0], shown[:, 1], ".", color="0.6", markersize=3, label="data")
    plot.ellipses(centroids, ccov, ax=ax)
    labels = names if names is not None else [f"column {j}" for j in range(data.shape[1])]
    ax.set_xlabel(labels[dims[0]])
    ax.set_ylabel(labels[dims[1]])
    ax.set_title(f"K = {model.n_components}, {model.covariance_type}: ellipses at 2 standard deviations")
    ax.legend(loc="best")
    try:
        fig.savefig(args.output, dpi=100)
    except OSError as exc:
        raise InputError(f"cannot write {args.output}: {exc.strerror}") from None
    finally:
        plt.close(fig)
    print(f"wrote {args.output}")
    return 0


# --------------------------------------------------------------------------- the parser

def _data_options(p, what="DATA"):
    p.add_argument("data", metavar=what, help="CSV, TSV, text, .npy or Parquet file")
    p.add_argument("--columns", metavar="C1,C2,...", help="columns to use, by header name or 0-based index")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--header", dest="header", action="store_true", default=None,
                       help="the first line is a header (default: when a field of it is not a number)")
    group.add_argument("--no-header", dest="header", action="store_false", help="the first line is data")


def _subparser(sub, name, help_text, example):
    return sub.add_parser(name, help=help_text, description=f"{help_text}.\n\nexample:\n  {example}",
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def add_commands(sub) -> dict:
    """The data commands on an argparse subparsers object; returns name -> handler."""
    p = _subparser(sub, "fit", "fit a Gaussian mixture to a data file and write a model file",
                   "gaussmix fit data.csv -k 1..10 --covariance full,diag --criterion bic -o model.npz")
    _data_options(p)
    p.add_argument("-k", "--components", dest="k", type=parse_k, required=True, metavar="K",
                   help="number of components: K, a range LO..HI or a list K1,K2 (several: a selection sweep)")
    p.add_argument("--covariance", type=parse_models, default=["full"], metavar="MODEL[,MODEL]",
                   help="full, tied, diag, spherical or a list of them (default full)")
    p.add_argument("--criterion", choices=["bic", "aic", "icl"], default="bic",
                   help="how a sweep chooses (lower is better; default bic)")
    p.add_argument("--n-init", type=int, default=1, help="initialisations per fit (default 1)")
    p.add_argument("--init", choices=["kmeans", "k-means++", "random", "random_from_data"], default="kmeans",
                   help="initialisation (default kmeans)")
    p.add_argument("--max-iter", type=int, default=100, help="EM iterations per initialisation (default 100)")
    p.add_argument("--tol", type=float, default=1e-3, help="convergence threshold (default 1e-3)")
    p.add_argument("--reg-covar", type=float, default=1e-6, help="added to covariance diagonals (default 1e-6)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the initialisation (default 0)")
    p.add_argument("--missing", action="store_true",
                   help="fit rows with missing values by EM on their observed entries (else they are an error)")
    p.add_argument("-o", "--output", default="model.npz", metavar="MODEL", help="model file (default model.npz)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    handlers = {"fit": cmd_fit}

    p = _subparser(sub, "predict", "label, score or weigh the rows of a data file with a model",
                   "gaussmix predict model.npz data.csv --proba -o proba.csv")
    p.add_argument("model", metavar="MODEL")
    _data_options(p)
    what = p.add_mutually_exclusive_group()
    what.add_argument("--proba", action="store_true", help="each row's component probabilities")
    what.add_argument("--score", action="store_true", help="each row's log density")
    p.add_argument("-o", "--output", metavar="FILE", help="CSV output (default stdout)")
    handlers["predict"] = cmd_predict

    p = _subparser(sub, "sample", "draw rows from a model", "gaussmix sample model.npz -n 1000 -o samples.csv")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("-n", type=int, default=1, help="rows to draw (default 1)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the model's random_state)")
    p.add_argument("--labels", action="store_true", help="add each row's component as a last column")
    p.add_argument("-o", "--output", metavar="FILE", help="CSV output (default stdout)")
    handlers["sample"] = cmd_sample

    p = _subparser(sub, "info", "describe a model file", "gaussmix info model.npz")
    p.add_argument("model", metavar="MODEL")
    handlers["info"] = cmd_info

    p = _subparser(sub, "plot", "draw a model's ellipses over two columns of a data file (PNG)",
                   "gaussmix plot model.npz data.csv --dims 0,1 -o fit.png")
    p.add_argument("model", metavar="MODEL")
    _data_options(p)
    p.add_argument("--dims", metavar="I,J", help="the two columns to draw (default 0,1)")
    p.add_argument("-o", "--output", default="gaussmix.png", metavar="PNG", help="image file (default gaussmix.png)")
    handlers["plot"] = cmd_plot
    return handlers


def run(handler, args, prog: str) -> int:
    """handler(args) with bad input turned into a one-line message and exit code 1."""
    try:
        return handler(args)
    except InputError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    except (ValueError, TypeError, Cov_problem) as exc:  # the estimator's own messages name the problem
        print(f"{prog}: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    except ImportError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
