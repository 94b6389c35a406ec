"""The ``gaussmix`` command line: fit a mixture to a data file, inspect it,
predict with it, sample from it and plot it, without writing a program.

    gaussmix fit data.csv -k 3 -o model.npz
    gaussmix fit data.csv -k 1..10 --covariance full,diag --criterion bic -o model.npz
    gaussmix fit data.csv -k 10 --bayesian -o model.npz
    gaussmix fit big.npy -k 16 --chunk-rows 1000000 -o model.npz
    gaussmix info model.npz
    gaussmix predict model.npz data.csv --proba > proba.csv
    gaussmix sample model.npz -n 1000 > samples.csv
    gaussmix plot model.npz data.csv -o fit.png

Data files (gaussmix/_data_files.py): CSV (``,``), TSV (``.tsv``/``.tab``,
tabs), other text (whitespace or commas, whichever the first line has;
``--delimiter`` says otherwise, e.g. ``;``), ``.npy`` (a 2-D array of real
numbers) and Parquet (``.parquet``/``.pq``; needs pandas and pyarrow). Text
is UTF-8 unless ``--encoding`` names another. A text file's first line is a
header when any of its fields is not a number (``--header``/``--no-header``
decide instead). An empty field, ``nan`` or ``NA`` is a missing value.
``--columns`` picks columns by name or 0-based index before anything is
parsed, so a column left out (an id, a name) may hold anything.
``fit --chunk-rows N`` reads a ``.npy`` or Parquet file N rows at a time,
once per EM iteration (gaussmix/_chunks.py: exact EM, memory one chunk), for
files larger than memory; a text file is read whole.

Rows in messages: a text file's rows are its lines, counted from 1 as an
editor counts them ("line 7"; the header and blank lines count); the rows of
a ``.npy`` or Parquet file are counted from 0 as NumPy and pandas index them
("row 6").

The column names of a file with a header are kept in the model file
(``feature_names_in_``): ``predict`` and ``plot`` then pick the model's
columns by name from a data file with a header, ``sample`` writes them as
its header and ``info`` lists them.

Outputs (``fit -o``, ``predict -o``, ``sample -o``, ``plot -o``) are checked
before the work (a missing or unwritable directory is refused at once) and
written whole, through a temporary file renamed into place: a command that
fails or is interrupted leaves an existing file of that name as it was.

Exit codes: 0 success; 1 bad input or a failure (the message is one line on
stderr: ``gaussmix <command>: error: ...``); 2 bad usage (argparse's); 130
interrupted (Ctrl-C: ``gaussmix <command>: interrupted``). Warnings are one
line each: ``gaussmix <command>: warning: ...``.
Model files are those of GaussianMixture.save and BayesianGaussianMixture.save
(gaussmix/_model_file.py): ``fit`` writes a GaussianMixture, or with
``--bayesian`` a variational BayesianGaussianMixture (one K, the most
components its posterior may use; ``--weight-prior``,
``--weight-concentration``), and the other commands read either.
"""
from __future__ import annotations

import argparse
import csv
import io
import math
import os
import sys

import numpy as np

from ._data_files import InputError, delimiter_char, encoding_name, plural, read_data
from ._validation import Cov_problem

#: The ellipses of ``gaussmix plot``: the Mahalanobis radius of each, as its title says.
PLOT_SD = 2.0

#: Exit code of a command stopped by Ctrl-C (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130


# --------------------------------------------------------------------------- outputs


def _to_stdout(path: str | None) -> bool:
    return path is None or path == "-"


def _check_output(path: str | None) -> None:
    """Refuse an output that could not be written, before the work that produces it."""
    if _to_stdout(path):
        return
    from ._atomic import check_writable

    try:
        check_writable(path)
    except (ValueError, OSError) as exc:
        raise InputError(str(exc)) from None


def write_output(path: str | None, content) -> None:
    """The whole output (str or bytes) to path, or to stdout; an existing file
    is replaced only once the new one is complete."""
    if _to_stdout(path):
        sys.stdout.write(content)
        return
    from ._atomic import atomic_write

    try:
        with atomic_write(path, "wb" if isinstance(content, bytes) else "w",
                          **({} if isinstance(content, bytes) else {"newline": ""})) as f:
            f.write(content)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None


def _table_text(rows: np.ndarray, names: list, fmt: str) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(names)
    np.savetxt(out, rows, delimiter=",", fmt=fmt)
    return out.getvalue()


# --------------------------------------------------------------------------- arguments


def parse_k(text: str):
    """'3', '1..10' or '2,3,5' as a sequence of K (a range is not materialised)."""
    try:
        if ".." in text:
            lo, hi = (int(t) for t in text.split(".."))
            values = range(lo, hi + 1)
        else:
            values = [int(t) for t in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not K, a range LO..HI or a list K1,K2,...") from None
    if ".." in text and lo > hi:
        raise argparse.ArgumentTypeError(f"{text!r}: the range is reversed; write it from low to high ({hi}..{lo})")
    if (values[0] if isinstance(values, range) else min(values)) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: every K must be at least 1")
    return values


def _largest(ks) -> int:
    return ks[-1] if isinstance(ks, range) else max(ks)  # max() would walk a range of 1e11


def parse_models(text: str) -> list[str]:
    from ._covariance import ESTIMATOR_COVARIANCE_TYPES

    values = [t.strip() for t in text.split(",")]
    bad = [v for v in values if v not in ESTIMATOR_COVARIANCE_TYPES]
    if bad:
        raise argparse.ArgumentTypeError(f"{bad[0]!r} is not one of {', '.join(ESTIMATOR_COVARIANCE_TYPES)} "
                                         "(scikit-learn's four, then mclust's fourteen)")
    return values


def positive_float(text: str) -> float:
    """An argparse type: a finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text}: must be a finite number above 0")
    return value


def parse_dims(text: str) -> tuple[int, int]:
    """--dims I,J: two different 0-based column indices."""
    parts = [t.strip() for t in text.split(",")]
    if len(parts) != 2 or not all(p.isascii() and p.isdigit() for p in parts) or int(parts[0]) == int(parts[1]):
        raise argparse.ArgumentTypeError(f"{text!r}: give two different 0-based column indices, e.g. 0,1")
    return int(parts[0]), int(parts[1])


def count(minimum: int):
    """An argparse type: an integer of at least minimum."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text}: must be at least {minimum}")
        return value
    return parse


# --------------------------------------------------------------------------- models


def _load_model(path: str):
    """The model in a model file: a GaussianMixture or a BayesianGaussianMixture."""
    from .estimator import MixtureEstimator

    try:
        return MixtureEstimator.load(path)
    except (FileNotFoundError, ValueError) as exc:
        raise InputError(str(exc)) from None


def _is_bayesian(model) -> bool:
    from .bayesian import BayesianGaussianMixture

    return isinstance(model, BayesianGaussianMixture)


def _effective_components(model) -> str:
    """How many components a variational posterior uses, and what that means."""
    from .bayesian import EFFECTIVE_WEIGHT

    return f"{model.n_components_effective_} effective: weight at least {EFFECTIVE_WEIGHT:g}"


def _feature_names(model) -> list | None:
    names = getattr(model, "feature_names_in_", None)
    return None if names is None else [str(n) for n in names]


def _read_for(model, args):
    """The data file's Table, its columns those of the model (by name when both have names)."""
    table = _read(args, wanted=_feature_names(model))
    if table.data.shape[1] != model.n_features_in_:
        raise InputError(f"{args.data} has {plural(table.data.shape[1], 'column')} but the model was fitted to "
                         f"{model.n_features_in_}; pick them with --columns")
    # The columns are matched above; the arrays passed on have no names, about which scikit-learn would warn.
    if hasattr(model, "feature_names_in_"):
        del model.feature_names_in_
    return table


def _read(args, wanted=None):
    return read_data(args.data, args.columns, args.header, args.delimiter, args.encoding, wanted)


# --------------------------------------------------------------------------- commands


def _one_model(args, params: dict):
    """The estimator of a fit of one K and one covariance model: a
    GaussianMixture, or with --bayesian a BayesianGaussianMixture."""
    common = dict(covariance_type=args.covariance[0], n_init=args.n_init, random_state=args.seed, **params)
    if args.bayesian:
        from .bayesian import BayesianGaussianMixture

        return BayesianGaussianMixture(args.k[0], weight_concentration_prior_type=args.weight_prior or
                                       "dirichlet_process", weight_concentration_prior=args.weight_concentration,
                                       **common)
    from .estimator import GaussianMixture

    return GaussianMixture(args.k[0], **common)


def _fitted_summary(model, n_rows: int, score: float) -> str:
    """The line fit prints about one fitted model (score: its mean log-density per row)."""
    shape = f"to {plural(n_rows, 'row')} x {plural(model.n_features_in_, 'column')}"
    run = f"{'converged' if model.converged_ else 'NOT converged'} after {plural(model.n_iter_, 'iteration')}"
    if _is_bayesian(model):
        return (f"fitted a variational Bayesian mixture of up to K = {model.n_components}, {model.covariance_type}, "
                f"{model.weight_concentration_prior_type} weight prior, {shape}: {run}, "
                f"{plural(len(model.weights_), 'component')} ({_effective_components(model)}), log-density per row "
                f"{score:.6g}")
    bic = -2 * score * n_rows + model._n_parameters() * math.log(n_rows)  # scikit-learn's bic(X)
    return (f"fitted K = {model.n_components}, {model.covariance_type}, {shape}: {run}, log-likelihood per row "
            f"{score:.6g}, BIC {bic:.3f}")


def _chunked_score(model, source) -> tuple[int, float]:
    """(rows, mean log-density per row) of a chunk source's rows under model: one more pass."""
    sums, rows = [], 0
    for block in source():
        sums.append(float(model.score_samples(block).sum()))
        rows += len(block)
    return rows, math.fsum(sums) / rows


def cmd_fit_chunks(args, params: dict) -> int:
    """fit --chunk-rows: exact EM over a .npy or Parquet file read a chunk at a time, one pass per iteration."""
    from ._data_files import chunk_source
    from ._progress import ProgressBar

    if len(args.k) != 1 or len(args.covariance) != 1:
        raise InputError("--chunk-rows fits one model: give one K and one --covariance model (a sweep would read "
                         "the file once per iteration of every fit)")
    if args.missing:
        raise InputError("--chunk-rows fits complete rows: EM with missing values (--missing) needs the rows in "
                         "memory; leave out --chunk-rows")
    source, names = chunk_source(args.data, args.columns, args.chunk_rows)
    model = _one_model(args, params)
    bar = ProgressBar(enabled=False if args.quiet else None)
    try:
        model.fit(source, progress=lambda p: bar.fit_iteration(p, label="one read of the file per iteration"))
    finally:
        bar.close()
    print(_fitted_summary(model, *_chunked_score(model, source)))
    _save(model, names, args.output)
    return 0


def _save(model, names, path: str) -> None:
    if names is not None:
        model.feature_names_in_ = np.asarray(names, dtype=object)
    try:
        model.save(path)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    print(f"wrote {path}")


def cmd_fit(args) -> int:
    _check_output(args.output)
    if args.bayesian and (len(args.k) != 1 or len(args.covariance) != 1):
        raise InputError("--bayesian fits one model: give one K (the most components its posterior may use) and "
                         "one --covariance model")
    if not args.bayesian and (args.weight_prior is not None or args.weight_concentration is not None):
        raise InputError("--weight-prior and --weight-concentration set the prior of a variational mixture: add "
                         "--bayesian")
    params = dict(max_iter=args.max_iter, tol=args.tol, reg_covar=args.reg_covar, init_params=args.init)
    if args.chunk_rows is not None:
        return cmd_fit_chunks(args, params)
    from ._progress import ProgressBar
    from .selection import select_model

    table = _read(args)
    data = table.data
    holes = np.isnan(data).any(axis=1)
    if holes.any() and not args.missing:
        raise InputError(f"{args.data} has missing values (empty fields, NaN or NA) in {int(holes.sum())} of "
                         f"{plural(len(data), 'row')} (the first: {table.where(int(np.argmax(holes)))}); pass "
                         "--missing to fit them by EM on the observed entries, or remove them")
    if args.missing:  # said here, where rows and columns are known as the file counts them
        empty = np.isnan(data).all(axis=1)
        if empty.any():
            raise InputError(f"{args.data}, {table.where(int(np.argmax(empty)))}: every value is missing; a row with "
                             "no observed value carries no information about the mixture: remove it")
        empty = np.isnan(data).all(axis=0)
        if empty.any():
            raise InputError(f"{args.data}, {table.column(int(np.argmax(empty)))}: every value is missing; leave "
                             "it out with --columns")
    if len(data) < _largest(args.k):
        raise InputError(f"{args.data} has {plural(len(data), 'row')}, fewer than K = {_largest(args.k)}")
    bar = ProgressBar(enabled=False if args.quiet else None)
    try:
        if args.bayesian or (len(args.k) == 1 and len(args.covariance) == 1):
            model = _one_model(args, params)
            model.fit(data, progress=bar.fit_iteration)
            bar.close()
            print(_fitted_summary(model, len(data), model.score(data)))
        else:
            sweep = select_model(data, list(args.k), args.covariance, criterion=args.criterion, n_init=args.n_init,
                                 random_state=args.seed, progress=bar.sweep_fit, **params)
            bar.close()
            print(sweep_table(sweep))
            model = sweep.best_estimator_
            print(f"best by {args.criterion.upper()}: K = {model.n_components}, {model.covariance_type}")
    finally:
        bar.close()
    _save(model, table.names, args.output)
    return 0


def sweep_table(sweep) -> str:
    """The sweep's criteria with fixed decimals: values of 2e7 (a million rows)
    that differ in their last units stay apart."""
    rows = [(c, f"{c.bic:.3f}", f"{c.aic:.3f}", f"{c.icl:.3f}") for c in sweep.candidates]
    width = max(12, *(len(v) for _, *values in rows for v in values))
    lines = [f"{'K':>3}  {'model':<9}  {'BIC':>{width}}  {'AIC':>{width}}  {'ICL':>{width}}  converged"]
    for c, bic, aic, icl in rows:
        mark = "  <- best" if c is sweep.best_ else ""
        lines.append(f"{c.n_components:>3}  {c.covariance_type:<9}  {bic:>{width}}  {aic:>{width}}  {icl:>{width}}  "
                     f"{'yes' if c.converged else 'no':<9}{mark}".rstrip())
    return "\n".join(lines)


def cmd_predict(args) -> int:
    _check_output(args.output)
    model = _load_model(args.model)
    data = _read_for(model, args).data
    if args.proba:
        text = _table_text(model.predict_proba(data), [f"p{k}" for k in range(model.n_components)], "%.10g")
    elif args.score:
        text = _table_text(model.score_samples(data)[:, None], ["log_density"], "%.10g")
    else:
        text = _table_text(model.predict(data)[:, None], ["component"], "%d")
    write_output(args.output, text)
    return 0


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not POSIX
        return None


def _size(n_bytes: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if n_bytes < 1000 or unit == "PB":
            return f"{n_bytes:.0f} {unit}" if unit == "bytes" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1000
    raise AssertionError("unreachable")


def _check_sample_size(n: int, n_features: int) -> None:
    """Refuse a draw that could not fit in memory: the rows, their draws and their text."""
    memory = _physical_memory()
    need = n * (n_features + 1) * (8 * 3 + 20)  # the draws, their stacked copy, labels; ~20 characters a value
    if memory is not None and need > memory:
        raise InputError(f"-n {n}: {n} rows x {plural(n_features, 'column')} need about {_size(need)}, more than "
                         f"this machine's memory ({_size(memory)}); draw fewer rows (several runs with different "
                         "--seed values give more)")


def cmd_sample(args) -> int:
    _check_output(args.output)
    model = _load_model(args.model)
    _check_sample_size(args.n, model.n_features_in_)
    if args.seed is not None:
        model.set_params(random_state=args.seed)
    x, labels = model.sample(args.n)
    names = _feature_names(model) or [f"x{j}" for j in range(x.shape[1])]
    rows = x
    if args.labels:
        rows, names = np.column_stack([x, labels]), names + ["component"]
    write_output(args.output, _table_text(rows, names, "%.10g"))
    return 0


def describe(model, path: str) -> str:
    """A readable summary of a fitted model."""
    with np.load(path, allow_pickle=False) as archive:
        version, written_by = int(archive["format_version"]), str(archive["gaussmix_version"])
    K, D = model.means_.shape
    converged = f"{'converged' if model.converged_ else 'NOT converged'} after {plural(model.n_iter_, 'iteration')}"
    if _is_bayesian(model):
        lines = [f"{path}: a variational Bayesian Gaussian mixture of {plural(K, 'component')} "
                 f"({_effective_components(model)}) in {plural(D, 'dimension')}, {model.covariance_type} "
                 f"covariances, {model.means_.dtype}",
                 f"  weight prior {model.weight_concentration_prior_type}, concentration "
                 f"{model.weight_concentration_prior_:.6g}; below, the posterior's expected weights (weights_), "
                 "means_ and covariances_",
                 f"  fitted by variational inference: {converged}, variational lower bound {model.lower_bound_:.6g}"]
    else:
        lines = [f"{path}: a Gaussian mixture of {plural(K, 'component')} in {plural(D, 'dimension')}, "
                 f"{model.covariance_type} covariances, {model.means_.dtype}",
                 f"  fitted by EM: {converged}, lower bound {model.lower_bound_:.6g} per row"]
    lines.append(f"  model file format {version}, written by gaussmix {written_by}")
    names = _feature_names(model)
    if names is not None:
        lines.append(f"  features (the order of the means and sds): {', '.join(names)}")
    from ._fitted import scoring_mixture

    mixture = scoring_mixture(model)  # weights_, means_, covariances_ (a variational posterior's expected ones)
    dense = mixture.dense_covariances()
    order = np.argsort(-model.weights_)
    for k in order:
        sd = np.sqrt(np.diag(dense[k]))
        lines.append(f"  component {k}: weight {model.weights_[k]:.4f}")
        lines.append(f"    mean {np.array2string(model.means_[k], precision=4, separator=', ')}")
        lines.append(f"    sd   {np.array2string(sd, precision=4, separator=', ')}")
        if mixture.covariance_model.matrix and D > 1:
            corr = dense[k] / np.outer(sd, sd)
            off = corr[np.tril_indices(D, -1)]
            lines.append(f"    correlations between {off.min():+.3f} and {off.max():+.3f}")
    return "\n".join(lines)


def cmd_info(args) -> int:
    model = _load_model(args.model)
    print(describe(model, args.model))
    return 0


def cmd_plot(args) -> int:
    _check_output(args.output)
    try:
        import matplotlib
    except ImportError:
        raise InputError("plotting needs matplotlib: pip install 'gaussmix[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import plot

    model = _load_model(args.model)
    names = _feature_names(model)
    table = _read_for(model, args)
    data = table.data
    dims = list(args.dims)
    if max(dims) >= data.shape[1]:
        raise InputError(f"--dims {args.dims[0]},{args.dims[1]}: the model has {plural(data.shape[1], 'column')}, "
                         f"so the columns to draw are in 0..{data.shape[1] - 1}")
    labels = names or table.names or [f"column {j}" for j in table.columns]
    centroids, ccov, _ = model.marginal(dims).to_pypr()
    fig, ax = plt.subplots(figsize=(6, 5))
    try:
        shown = data[:, dims]
        shown = shown[~np.isnan(shown).any(axis=1)]
        ax.plot(shown[:, 0], shown[:, 1], ".", color="0.6", markersize=3, label="data")
        plot.ellipses(centroids, ccov, sdwidth=PLOT_SD, ax=ax)
        ax.set_xlabel(labels[dims[0]])
        ax.set_ylabel(labels[dims[1]])
        ax.set_title(f"K = {model.n_components}, {model.covariance_type}: ellipses at {PLOT_SD:g} standard deviations")
        ax.legend(loc="best")
        # The image goes to exactly the name given, in the format its extension names (PNG otherwise).
        ext = os.path.splitext(args.output)[1].lower().lstrip(".")
        fmt = ext if ext in fig.canvas.get_supported_filetypes() else "png"
        image = io.BytesIO()
        fig.savefig(image, format=fmt, dpi=100)
    finally:
        plt.close(fig)
    write_output(args.output, image.getvalue())
    print(f"wrote {args.output} ({fmt.upper()})")
    return 0


# --------------------------------------------------------------------------- the parser

ROWS_HELP = ("rows in messages: a text file's line, counted from 1 (header and blank lines count); "
             "a .npy or Parquet file's row, counted from 0")


def _data_options(p, what="DATA"):
    p.add_argument("data", metavar=what, help="CSV, TSV, text, .npy or Parquet file")
    p.add_argument("--columns", metavar="C1,C2,...",
                   help="columns to use, by header name or 0-based index (the others are not read)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--header", dest="header", action="store_true", default=None,
                       help="the first line is a header (default: when a field of it is not a number)")
    group.add_argument("--no-header", dest="header", action="store_false", help="the first line is data")
    p.add_argument("--delimiter", type=delimiter_char, metavar="CHAR",
                   help="field separator of a text file, e.g. ';' or tab (default: tab for .tsv/.tab, ',' for "
                        ".csv, else ',' or tab or whitespace, whichever the first line has)")
    p.add_argument("--encoding", type=encoding_name, default="utf-8-sig", metavar="NAME",
                   help="text encoding of a text file, e.g. latin-1, cp1252, utf-16 (default utf-8)")


def _subparser(sub, name, help_text, example, reads_data=True):
    return sub.add_parser(name, help=help_text, description=f"{help_text}.\n\nexample:\n  {example}",
                          epilog=ROWS_HELP if reads_data else None,
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def add_commands(sub) -> dict:
    """The data commands on an argparse subparsers object; returns name -> handler."""
    p = _subparser(sub, "fit", "fit a Gaussian mixture to a data file and write a model file",
                   "gaussmix fit data.csv -k 1..10 --covariance full,diag --criterion bic -o model.npz\n"
                   "  gaussmix fit data.csv -k 10 --bayesian -o model.npz\n"
                   "  gaussmix fit big.npy -k 16 --chunk-rows 1000000 -o model.npz")
    _data_options(p)
    p.add_argument("-k", "--components", dest="k", type=parse_k, required=True, metavar="K",
                   help="number of components: K, a range LO..HI or a list K1,K2 (several: a selection sweep)")
    p.add_argument("--covariance", type=parse_models, default=["full"], metavar="MODEL[,MODEL]",
                   help="full, tied, diag, spherical, one of mclust's models (EII, VII, EEI, VEI, EVI, VVI, EEE, "
                        "VEE, EVE, VVE, EEV, VEV, EVV, VVV) or a list of them (default full)")
    p.add_argument("--criterion", choices=["bic", "aic", "icl"], default="bic",
                   help="how a sweep chooses (lower is better; default bic)")
    p.add_argument("--n-init", type=count(1), default=1, help="initialisations per fit (default 1)")
    p.add_argument("--init", choices=["kmeans", "k-means++", "random", "random_from_data"], default="kmeans",
                   help="initialisation (default kmeans)")
    p.add_argument("--max-iter", type=count(0), default=100, help="EM iterations per initialisation (default 100)")
    p.add_argument("--tol", type=float, default=1e-3, help="convergence threshold (default 1e-3)")
    p.add_argument("--reg-covar", type=float, default=1e-6, help="added to covariance diagonals (default 1e-6)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the initialisation (default 0)")
    p.add_argument("--missing", action="store_true",
                   help="fit rows with missing values by EM on their observed entries (else they are an error)")
    p.add_argument("--bayesian", action="store_true",
                   help="fit a variational Bayesian mixture (BayesianGaussianMixture) of at most K components, "
                        "which leaves those the data do not need nearly empty (one K and one covariance model)")
    p.add_argument("--weight-prior", choices=["dirichlet_process", "dirichlet_distribution"], default=None,
                   help="with --bayesian: the prior on the weights (default dirichlet_process)")
    p.add_argument("--weight-concentration", type=positive_float, default=None, metavar="FLOAT",
                   help="with --bayesian: the weight prior's concentration (default 1/K); smaller leaves more "
                        "components empty")
    p.add_argument("--chunk-rows", type=count(1), default=None, metavar="N",
                   help="read a .npy or Parquet file N rows at a time, once per EM iteration, for data larger than "
                        "memory (exact EM: the fit in memory's; the start from a sample of the rows; one K and one "
                        "covariance model)")
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

    p = _subparser(sub, "sample", "draw rows from a model", "gaussmix sample model.npz -n 1000 -o samples.csv",
                   reads_data=False)
    p.add_argument("model", metavar="MODEL")
    p.add_argument("-n", type=count(1), default=1, help="rows to draw (default 1)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the model's random_state)")
    p.add_argument("--labels", action="store_true", help="add each row's component as a last column")
    p.add_argument("-o", "--output", metavar="FILE", help="CSV output (default stdout)")
    handlers["sample"] = cmd_sample

    p = _subparser(sub, "info", "describe a model file", "gaussmix info model.npz", reads_data=False)
    p.add_argument("model", metavar="MODEL")
    handlers["info"] = cmd_info

    p = _subparser(sub, "plot", f"draw a model's ellipses (at {PLOT_SD:g} standard deviations) over two columns "
                                "of a data file", "gaussmix plot model.npz data.csv --dims 0,1 -o fit.png")
    p.add_argument("model", metavar="MODEL")
    _data_options(p)
    p.add_argument("--dims", type=parse_dims, default=(0, 1), metavar="I,J",
                   help="the two columns to draw, 0-based among the model's (default 0,1)")
    p.add_argument("-o", "--output", default="gaussmix.png", metavar="IMAGE",
                   help="image file, written under exactly this name, in the format its extension names (png, "
                        "pdf, svg, ...; PNG otherwise) (default gaussmix.png)")
    handlers["plot"] = cmd_plot
    return handlers


# --------------------------------------------------------------------------- running a command


def _one_line(text) -> str:
    return " ".join(line.strip() for line in str(text).splitlines() if line.strip())


def _say(line: str) -> None:
    """One line on stderr, over a progress bar drawn there."""
    erase = "\r\x1b[K" if getattr(sys.stderr, "isatty", lambda: False)() else ""
    sys.stderr.write(f"{erase}{line}\n")
    sys.stderr.flush()


def run(handler, args, prog: str) -> int:
    """handler(args) as a command: every failure one line on stderr and an exit
    code (1; 130 for Ctrl-C), every warning one line, never a traceback."""
    import warnings

    def show_warning(message, category, filename, lineno, file=None, line=None):
        _say(f"{prog}: warning: {_one_line(message)}")

    with warnings.catch_warnings():
        warnings.simplefilter("default")  # a program's user sees each warning once, not an exception
        warnings.showwarning = show_warning
        try:
            code = handler(args)
            sys.stdout.flush()  # a reader gone (`| head`) is found here, not at exit
            return code
        except KeyboardInterrupt:
            _say(f"{prog}: interrupted")
            return EXIT_INTERRUPTED
        except BrokenPipeError:  # the reader went away (`| head`): stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
        except MemoryError:
            message = "out of memory: the request is too large for this machine (fewer rows, columns or components)"
        except (InputError, ValueError, TypeError, Cov_problem, ImportError) as exc:  # messages that name the problem
            message = _one_line(exc)
        except OSError as exc:
            message = f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else _one_line(exc)
        except Exception as exc:  # anything else is still one line, named by its kind
            message = f"{type(exc).__name__}: {_one_line(exc)}"
        _say(f"{prog}: error: {message}")
        return 1
