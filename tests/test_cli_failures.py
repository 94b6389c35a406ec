"""The command line never prints a traceback: every failure is one line on
stderr (``gaussmix <command>: error: ...``) and exit code 1, bad usage exit
code 2, Ctrl-C ``gaussmix <command>: interrupted`` and exit code 130, and a
warning is one line (``gaussmix <command>: warning: ...``).

Each class of failure is covered by its mechanism (the runner's handler, in
process, with the failure injected) and by the inputs that used to escape it
(through subprocess, as a user meets them)."""
from __future__ import annotations

import errno
import json
import os
import select
import signal
import subprocess
import sys
import warnings
import zipfile

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.mixture import GaussianMixture as SkGaussianMixture  # noqa: E402

from gaussmix import GaussianMixture  # noqa: E402
from gaussmix.estimator import MixtureEstimator  # noqa: E402
from gaussmix.__main__ import main  # noqa: E402
from test_cli import X, gaussmix, read_until_closed, write_csv  # noqa: E402


def assert_one_line(result, command, code=1):
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"gaussmix {command}: "), result.stderr
    return result.stderr


@pytest.fixture
def model_file(tmp_path):
    GaussianMixture(2, random_state=0).fit(X).save(tmp_path / "model.npz")
    write_csv(tmp_path / "data.csv", X)
    return tmp_path / "model.npz"


# ----------------------------------------------------------------- the runner's handler, in process


def _load_raising(exc):
    def load(cls, path):
        raise exc
    return classmethod(load)


@pytest.mark.parametrize("exc, message", [
    (KeyError("means_"), "KeyError: 'means_'"),
    (IndexError("index 2 is out of bounds"), "IndexError: index 2 is out of bounds"),
    (zipfile.BadZipFile("Bad CRC-32 for file 'means_.npy'"), "BadZipFile: Bad CRC-32 for file 'means_.npy'"),
    (EOFError("No data left in file"), "EOFError: No data left in file"),
    (json.JSONDecodeError("Expecting value", "{", 1), "Expecting value: line 1 column 2 (char 1)"),
    (RecursionError("maximum recursion depth exceeded"), "RecursionError: maximum recursion depth exceeded"),
    (MemoryError(), "out of memory: the request is too large"),
    (OSError(errno.EIO, "Input/output error", "model.npz"), "model.npz: Input/output error"),
    (ValueError("first line\nsecond line"), "first line second line"),
])
@pytest.mark.parametrize("command", ["info", "sample", "predict", "plot"])
def test_any_exception_is_one_line_and_exit_code_1(tmp_path, monkeypatch, capsys, model_file, exc, message, command):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(MixtureEstimator, "load", _load_raising(exc))
    args = {"info": [], "sample": ["-n", "3"], "predict": ["data.csv"], "plot": ["data.csv", "-o", "fit.png"]}
    assert main([command, "model.npz", *args[command]]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"gaussmix {command}: error: {message}") and err.count("\n") == 1, err


def test_the_fit_s_failures_are_one_line_too(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "data.csv", X)

    def fit(self, *args, **kwargs):
        raise RuntimeError("the core gave up")

    monkeypatch.setattr(GaussianMixture, "_fit", fit)
    assert main(["fit", "data.csv", "-k", "2"]) == 1
    assert capsys.readouterr().err == "gaussmix fit: error: RuntimeError: the core gave up\n"


@pytest.mark.parametrize("command", ["fit", "predict", "sample", "info", "plot"])
def test_ctrl_c_in_any_command_is_one_line_and_exit_code_130(tmp_path, monkeypatch, capsys, model_file, command):
    monkeypatch.chdir(tmp_path)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(MixtureEstimator, "load", classmethod(interrupted))
    monkeypatch.setattr(GaussianMixture, "_fit", interrupted)
    args = {"fit": ["data.csv", "-k", "2"], "predict": ["model.npz", "data.csv"], "sample": ["model.npz"],
            "info": ["model.npz"], "plot": ["model.npz", "data.csv"]}
    try:
        code = main([command, *args[command]])
    except KeyboardInterrupt:
        pytest.fail("KeyboardInterrupt escaped the command")
    assert code == 130
    assert capsys.readouterr().err == f"gaussmix {command}: interrupted\n"


# ----------------------------------------------------------------- Ctrl-C in a real fit

# The child restores Python's SIGINT handler: a run started in the background by a
# non-interactive shell inherits SIGINT ignored (see test_interrupt.py).
CHILD = ("import signal, sys\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"
         "from gaussmix.__main__ import main\nsys.exit(main(sys.argv[1:]))\n")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and pseudo-terminals")
def test_ctrl_c_during_a_fit_stops_it_with_one_line_and_keeps_the_old_output(tmp_path):
    import pty

    rng = np.random.default_rng(1)
    np.save(tmp_path / "big.npy", rng.standard_normal((200_000, 8)))
    (tmp_path / "model.npz").write_bytes(b"the previous model")
    master, slave = pty.openpty()  # stderr on a terminal: the progress bar says when EM is running
    proc = subprocess.Popen([sys.executable, "-c", CHILD, "fit", "big.npy", "-k", "16", "--tol", "0",
                             "--max-iter", "1000000", "-o", "model.npz"], cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=slave)
    os.close(slave)
    seen = b""
    try:
        while b"iteration" not in seen:  # the first progress report: EM is iterating
            ready, _, _ = select.select([master], [], [], 120)
            assert ready, f"no progress within 120 s: {seen!r}"
            seen += os.read(master, 4096)
        proc.send_signal(signal.SIGINT)
        seen += read_until_closed(master)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    stderr = seen.decode()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert stderr.split("\x1b[K")[-1].strip() == "gaussmix fit: interrupted"
    assert (tmp_path / "model.npz").read_bytes() == b"the previous model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.npy", "model.npz"]  # no temporary file left


# ----------------------------------------------------------------- warnings


def test_a_warning_is_one_line_on_stderr(tmp_path):
    write_csv(tmp_path / "data.csv", X)
    result = gaussmix("fit", "data.csv", "-k", "3", "--max-iter", "1", "-o", "m.npz", cwd=tmp_path)
    assert result.stderr == ("gaussmix fit: warning: Best performing initialization did not converge. Try different "
                             "init parameters, or increase max_iter, tol, or check for degenerate data.\n")
    assert "NOT converged after 1 iteration," in result.stdout


def test_duplicate_points_warn_as_scikit_learn_does_in_one_line(tmp_path):
    duplicated = np.repeat([[1.0, 2.0], [3.0, 5.0]], 20, axis=0)
    write_csv(tmp_path / "dup.csv", duplicated, header=("x", "y"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        SkGaussianMixture(3, random_state=0).fit(duplicated)
    expected = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert expected == ["Number of distinct clusters (2) found smaller than n_clusters (3). Possibly due to "
                        "duplicate points in X."]
    result = gaussmix("fit", "dup.csv", "-k", "3", "-o", "m.npz", cwd=tmp_path)
    assert result.stderr == f"gaussmix fit: warning: {expected[0]}\n"


# ----------------------------------------------------------------- inputs that used to escape


@pytest.mark.parametrize("args, message", [
    (["fit", "data.csv", "-k", "1..100000000000"], "data.csv has 500 rows, fewer than K = 100000000000"),
    (["sample", "model.npz", "-n", "100000000000"], "-n 100000000000: 100000000000 rows x 3 columns need about"),
])
def test_sizes_beyond_the_data_or_the_memory_are_refused_up_front(tmp_path, model_file, args, message):
    err = assert_one_line(gaussmix(*args, cwd=tmp_path, check_rc=None), args[0])
    assert message in err


@pytest.mark.parametrize("args, message", [
    (["fit", "data.csv", "-k", "3..1"], "'3..1': the range is reversed; write it from low to high (1..3)"),
    (["plot", "model.npz", "data.csv", "--dims", "0,x"], "'0,x': give two different 0-based column indices"),
    (["plot", "model.npz", "data.csv", "--dims", "1,1"], "'1,1': give two different 0-based column indices"),
    (["demo", "--threads", "-5"], "-5: give 1 to"),
    (["fit", "data.csv", "-k", "2", "--n-init", "0"], "0: must be at least 1"),
    (["fit", "data.csv", "-k", "2", "--delimiter", ";;"], "the delimiter is one character"),
    (["fit", "data.csv", "-k", "2", "--encoding", "klingon"], "'klingon' is not an encoding Python knows"),
])
def test_bad_usage_is_exit_code_2(tmp_path, model_file, args, message):
    result = gaussmix(*args, cwd=tmp_path, check_rc=2)
    assert "Traceback" not in result.stderr
    assert message in result.stderr and "usage: gaussmix" in result.stderr


def test_a_field_longer_than_the_csv_module_s_limit(tmp_path):
    lines = ["id,note,a,b"] + [f"{i},{'x' * 200_000 if i == 3 else 1},{x[0]!r},{x[1]!r}"
                               for i, x in enumerate(X[:, :2].tolist())]
    (tmp_path / "notes.csv").write_text("\n".join(lines) + "\n")
    err = assert_one_line(gaussmix("fit", "notes.csv", "-k", "2", cwd=tmp_path, check_rc=None), "fit")
    assert "notes.csv, line 5, column 1 ('note'): 'xxxxx" in err and "(200000 characters) is not a number" in err
    gaussmix("fit", "notes.csv", "-k", "2", "--columns", "a,b", "-o", "m.npz", cwd=tmp_path)  # left out: fine
    expected = GaussianMixture(2, random_state=0).fit(X[:, :2])
    np.testing.assert_allclose(GaussianMixture.load(tmp_path / "m.npz").means_, expected.means_, rtol=1e-12)


@pytest.mark.parametrize("encoding, remedy", [("latin-1", "pass its encoding with --encoding (e.g. --encoding "
                                                          "latin-1"),
                                              ("utf-16", "UTF-16 byte-order mark: pass --encoding utf-16"),
                                              ("utf-16-le", "as UTF-16 text does: pass --encoding utf-16")])
def test_text_that_is_not_utf8_names_the_problem_and_reads_with_encoding(tmp_path, encoding, remedy):
    text = "größe,höhe,tiefe\n" + "".join(f"{a!r},{b!r},{c!r}\n" for a, b, c in X.tolist())
    (tmp_path / "data.csv").write_bytes(text.encode(encoding))
    err = assert_one_line(gaussmix("fit", "data.csv", "-k", "2", cwd=tmp_path, check_rc=None), "fit")
    assert "data.csv, line 1: " in err and remedy in err
    gaussmix("fit", "data.csv", "-k", "2", "--encoding", encoding, "-o", "m.npz", cwd=tmp_path)
    model = GaussianMixture.load(tmp_path / "m.npz")
    assert list(model.feature_names_in_) == ["größe", "höhe", "tiefe"]
    np.testing.assert_allclose(model.means_, GaussianMixture(2, random_state=0).fit(X).means_, rtol=1e-12)


@pytest.mark.parametrize("array, message", [
    (X + 1j, "holds complex numbers (complex128); gaussmix fits real numbers: store the real and imaginary"),
    (np.arange(12, dtype="m8[s]").reshape(6, 2), "holds time differences (timedelta64) (timedelta64[s])"),
    (np.arange(12).astype("M8[D]").reshape(6, 2), "holds dates (datetime64) (datetime64[D])"),
    (np.array([["1", "2"], ["3", "4"]]), "holds text (<U1)"),
    (np.zeros(3, dtype=[("a", "f8"), ("b", "f8")]), "holds structured records"),
    (np.array([[1, None], [2, 3]], dtype=object), "holds Python objects (an object array)"),
])
def test_npy_files_of_values_that_are_not_real_numbers_are_refused(tmp_path, array, message):
    np.save(tmp_path / "data.npy", array, allow_pickle=True)
    err = assert_one_line(gaussmix("fit", "data.npy", "-k", "1", cwd=tmp_path, check_rc=None), "fit")
    assert message in err and "allow_pickle" not in err


def test_plot_writes_exactly_the_name_it_reports(tmp_path, model_file):
    pytest.importorskip("matplotlib")
    result = gaussmix("plot", "model.npz", "data.csv", "-o", "fig", cwd=tmp_path)
    assert result.stdout == "wrote fig (PNG)\n"
    assert (tmp_path / "fig").read_bytes().startswith(b"\x89PNG") and not (tmp_path / "fig.png").exists()
    result = gaussmix("plot", "model.npz", "data.csv", "-o", "fig.svg", cwd=tmp_path)
    assert result.stdout == "wrote fig.svg (SVG)\n" and b"<svg" in (tmp_path / "fig.svg").read_bytes()


def test_plot_into_a_directory_is_refused_before_anything_is_read(tmp_path):
    (tmp_path / "pictures").mkdir()
    err = assert_one_line(gaussmix("plot", "no-model.npz", "no-data.csv", "-o", "pictures", cwd=tmp_path,
                                   check_rc=None), "plot")
    assert "pictures is a directory; give a file name to write" in err


def _truncated(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _member_left_out(path):
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    means = next(name for name in members if "means" in name)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            if name != means:
                archive.writestr(name, data)


def _garbage_zip(path):
    path.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)


@pytest.mark.parametrize("spoil", [_truncated, _member_left_out, _garbage_zip])
@pytest.mark.parametrize("command", ["info", "sample", "predict"])
def test_a_spoilt_model_file_is_one_line(tmp_path, model_file, spoil, command):
    spoil(model_file)
    args = {"info": [], "sample": ["-n", "2"], "predict": ["data.csv"]}[command]
    err = assert_one_line(gaussmix(command, "model.npz", *args, cwd=tmp_path, check_rc=None), command)
    assert "model.npz" in err
