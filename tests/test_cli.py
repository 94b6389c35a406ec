"""The gaussmix command line end to end, through subprocess: every command,
every installed input format, every class of bad input (exit code 1 and a
one-line message), usage errors (exit code 2), and the progress bar on a
pseudo-terminal but not in a pipe. Results are checked against the Python
API on the same data."""
from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("sklearn")

from gaussmix import GaussianMixture  # noqa: E402

rng = np.random.default_rng(0)
X = np.concatenate([rng.normal(size=(300, 3)), rng.normal(size=(200, 3)) * 0.5 + [4.0, 4.0, 0.0]])


def gaussmix(*args, cwd, check_rc=0, in_process=True):
    """``gaussmix ARGS`` run in cwd: its exit code, stdout and stderr.

    In this process by default (``gaussmix.__main__.main``, the console
    script's entry point, with stdout and stderr captured): a child process
    costs about a second of imports per call, which made the command line's
    tests a third of the suite. ``in_process=False`` runs ``python -m
    gaussmix`` in a child, for what only a real process shows (the exit
    status the shell sees, the module's ``__main__``)."""
    argv = [str(a) for a in args]
    if not in_process:
        result = subprocess.run([sys.executable, "-m", "gaussmix", *argv], cwd=cwd, capture_output=True, text=True,
                                timeout=300)
    else:
        from gaussmix.__main__ import main

        out, err, here = io.StringIO(), io.StringIO(), os.getcwd()
        os.chdir(cwd)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = main(argv)
                except SystemExit as exc:  # argparse's usage errors and --help
                    code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
        finally:
            os.chdir(here)
        result = subprocess.CompletedProcess(["gaussmix", *argv], code, out.getvalue(), err.getvalue())
    if check_rc is not None:
        assert result.returncode == check_rc, (result.stdout, result.stderr)
    return result


def write_csv(path, data, header=("a", "b", "c"), delimiter=","):
    with open(path, "w") as f:
        if header:
            f.write(delimiter.join(header) + "\n")
        for row in data:
            f.write(delimiter.join("" if np.isnan(v) else repr(float(v)) for v in row) + "\n")


def read_csv_output(text):
    lines = text.strip().splitlines()
    return lines[0].split(","), np.array([[float(v) for v in line.split(",")] for line in lines[1:]])


def test_fit_info_predict_sample_and_plot_agree_with_the_python_api(tmp_path):
    write_csv(tmp_path / "data.csv", X)
    result = gaussmix("fit", "data.csv", "-k", "2", "--seed", "3", "-o", "model.npz", cwd=tmp_path,
                      in_process=False)  # once through `python -m gaussmix`, as the shell runs it
    assert "fitted K = 2, full, to 500 rows x 3 columns" in result.stdout
    assert result.stderr == ""  # no progress bar in a pipe
    model = GaussianMixture.load(tmp_path / "model.npz")
    expected = GaussianMixture(2, random_state=3).fit(X)
    for name in ("weights_", "means_", "covariances_"):
        assert np.array_equal(getattr(model, name), getattr(expected, name)), name
    assert list(model.feature_names_in_) == ["a", "b", "c"]  # the header's names

    info = gaussmix("info", "model.npz", cwd=tmp_path).stdout
    assert "2 components in 3 dimensions, full covariances, float64" in info
    assert "features (the order of the means and sds): a, b, c" in info
    assert f"weight {expected.weights_.max():.4f}" in info

    names, labels = read_csv_output(gaussmix("predict", "model.npz", "data.csv", cwd=tmp_path).stdout)
    assert names == ["component"] and np.array_equal(labels[:, 0], expected.predict(X))
    names, proba = read_csv_output(gaussmix("predict", "model.npz", "data.csv", "--proba", cwd=tmp_path).stdout)
    assert names == ["p0", "p1"]
    np.testing.assert_allclose(proba, expected.predict_proba(X), rtol=1e-9, atol=1e-300)
    gaussmix("predict", "model.npz", "data.csv", "--score", "-o", "scores.csv", cwd=tmp_path)
    names, scores = read_csv_output((tmp_path / "scores.csv").read_text())
    assert names == ["log_density"]
    np.testing.assert_allclose(scores[:, 0], expected.score_samples(X), rtol=1e-9)

    names, drawn = read_csv_output(gaussmix("sample", "model.npz", "-n", "7", "--seed", "5", "--labels",
                                            cwd=tmp_path).stdout)
    want_x, want_labels = GaussianMixture.load(tmp_path / "model.npz").set_params(random_state=5).sample(7)
    assert names == ["a", "b", "c", "component"]
    np.testing.assert_allclose(drawn[:, :3], want_x, rtol=1e-9)
    assert np.array_equal(drawn[:, 3], want_labels)

    if importlib.util.find_spec("matplotlib") is None:  # the plot extra; a plain install has the rest
        return
    gaussmix("plot", "model.npz", "data.csv", "--dims", "0,1", "-o", "fit.png", cwd=tmp_path)
    assert (tmp_path / "fit.png").read_bytes().startswith(b"\x89PNG")


def test_a_sweep_prints_its_table_and_keeps_the_best(tmp_path):
    write_csv(tmp_path / "data.csv", X)
    out = gaussmix("fit", "data.csv", "-k", "1..3", "--covariance", "full,diag", "--criterion", "bic",
                   "-o", "best.npz", cwd=tmp_path).stdout
    from gaussmix.selection import select_model

    sweep = select_model(X, [1, 2, 3], ["full", "diag"], random_state=0)
    assert f"best by BIC: K = {sweep.best_.n_components}, {sweep.best_.covariance_type}" in out
    assert out.count("  <- best") == 1
    model = GaussianMixture.load(tmp_path / "best.npz")
    assert np.array_equal(model.means_, sweep.best_estimator_.means_)


@pytest.mark.parametrize("name, writer", [
    ("data.csv", lambda p: write_csv(p, X)),
    ("plain.csv", lambda p: write_csv(p, X, header=None)),
    ("data.tsv", lambda p: write_csv(p, X, delimiter="\t")),
    ("data.txt", lambda p: np.savetxt(p, X)),
    ("data.npy", lambda p: np.save(p, X)),
])
def test_every_text_and_npy_format_reads_the_same_data(tmp_path, name, writer):
    writer(tmp_path / name)
    gaussmix("fit", name, "-k", "2", "-o", "m.npz", cwd=tmp_path)
    expected = GaussianMixture(2, random_state=0).fit(X)
    np.testing.assert_allclose(GaussianMixture.load(tmp_path / "m.npz").means_, expected.means_, rtol=1e-12)


def test_parquet_and_column_selection(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    pd.DataFrame(X, columns=["a", "b", "c"]).assign(text="x").to_parquet(tmp_path / "data.parquet")
    result = gaussmix("fit", "data.parquet", "-k", "2", cwd=tmp_path, check_rc=1)
    assert "column 'text' is not numeric" in result.stderr
    gaussmix("fit", "data.parquet", "-k", "2", "--columns", "c,a", "-o", "m.npz", cwd=tmp_path)
    expected = GaussianMixture(2, random_state=0).fit(X[:, [2, 0]])
    np.testing.assert_allclose(GaussianMixture.load(tmp_path / "m.npz").means_, expected.means_, rtol=1e-12)


def test_missing_values_need_the_flag_and_then_fit_by_missing_data_em(tmp_path):
    holes = X.copy()
    holes[::5, 1] = np.nan
    write_csv(tmp_path / "holes.csv", holes)
    result = gaussmix("fit", "holes.csv", "-k", "2", cwd=tmp_path, check_rc=1)
    assert "missing values" in result.stderr and "--missing" in result.stderr
    gaussmix("fit", "holes.csv", "-k", "2", "--missing", "-o", "m.npz", cwd=tmp_path)
    expected = GaussianMixture(2, random_state=0).fit(holes)
    np.testing.assert_allclose(GaussianMixture.load(tmp_path / "m.npz").means_, expected.means_, rtol=1e-12)


@pytest.mark.parametrize("files, args, message", [
    ({}, ["fit", "nothing.csv", "-k", "2"], "nothing.csv: no such file"),
    ({"empty.csv": ""}, ["fit", "empty.csv", "-k", "2"], "empty.csv is empty"),
    ({"text.csv": "a,b\n1,2\n3,oops\n"}, ["fit", "text.csv", "-k", "1"],
     "text.csv, line 3, column 1 ('b'): 'oops' is not a number"),
    ({"ragged.csv": "1,2\n3\n"}, ["fit", "ragged.csv", "-k", "1"],
     "ragged.csv, line 2: 1 field, but the first line has 2"),
    ({"model.npz": "not a model"}, ["info", "model.npz"], "gaussmix model file"),
    ({}, ["info", "none.npz"], "none.npz: no such model file"),
    ({"data.csv": "a,b\n1,2\n3,4\n"}, ["fit", "data.csv", "-k", "1", "--columns", "\u00b2"],
     "--columns: '\u00b2' is neither a column name of data.csv nor an index in 0..1"),
])
def test_bad_input_is_one_line_and_exit_code_1(tmp_path, files, args, message):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    result = gaussmix(*args, cwd=tmp_path, check_rc=1)
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert message in result.stderr and result.stderr.startswith(f"gaussmix {args[0]}: error: ")


def test_a_model_and_data_of_different_widths_is_exit_code_1(tmp_path):
    write_csv(tmp_path / "data.csv", X)
    gaussmix("fit", "data.csv", "-k", "2", "-o", "m.npz", cwd=tmp_path)
    write_csv(tmp_path / "two.csv", X[:, :2], header=None)
    result = gaussmix("predict", "m.npz", "two.csv", cwd=tmp_path, check_rc=1)
    assert "two.csv has 2 columns but the model was fitted to 3" in result.stderr
    write_csv(tmp_path / "named.csv", X[:, :2], header=("a", "b"))
    result = gaussmix("predict", "m.npz", "named.csv", cwd=tmp_path, check_rc=1)
    assert "named.csv has no column 'c', one of the model's features (a, b, c)" in result.stderr


@pytest.mark.parametrize("args", [["fit", "data.csv"], ["fit", "data.csv", "-k", "0"], ["fit", "data.csv", "-k", "2",
                                  "--covariance", "round"], ["frobnicate"], []])
def test_usage_errors_are_exit_code_2(tmp_path, args):
    write_csv(tmp_path / "data.csv", X)
    result = gaussmix(*args, cwd=tmp_path, check_rc=2)
    assert "usage: gaussmix" in result.stderr


@pytest.mark.parametrize("command", ["fit", "predict", "sample", "info", "plot"])
def test_every_command_has_help_with_an_example(tmp_path, command):
    out = gaussmix(command, "--help", cwd=tmp_path).stdout
    assert "example:" in out and f"gaussmix {command} " in out


def read_until_closed(master: int) -> bytes:
    """What a child writes to the pseudo-terminal whose master side is
    master, until the child closes its side."""
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals")
def test_the_progress_bar_draws_on_a_terminal_and_not_with_quiet(tmp_path):
    import pty

    write_csv(tmp_path / "data.csv", X)
    outputs = {}
    for flags in ([], ["--quiet"]):
        master, slave = pty.openpty()
        proc = subprocess.Popen([sys.executable, "-m", "gaussmix", "fit", "data.csv", "-k", "1..3", *flags],
                                cwd=tmp_path, stdout=subprocess.PIPE, stderr=slave, text=True)
        os.close(slave)
        written = read_until_closed(master)
        proc.communicate(timeout=300)
        os.close(master)
        assert proc.returncode == 0
        outputs[bool(flags)] = written.decode()
    assert "fit 3/3" in outputs[False] and "[####" in outputs[False] and "elapsed" in outputs[False]
    assert outputs[True] == ""
