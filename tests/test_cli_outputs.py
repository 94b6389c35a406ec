"""The command line's outputs (fit -o, predict -o, sample -o, plot -o): an
output that cannot be written is refused before the work, and a command
that fails, or whose write fails, leaves an existing file of that name as
it was (and no temporary file beside it). The failures are injected in
process (a full disk, a rename that fails, a computation that fails)."""
from __future__ import annotations

import errno
import os
import sys

import numpy as np
import pytest

pytest.importorskip("sklearn")

from gaussmix import GaussianMixture  # noqa: E402
from gaussmix.estimator import MixtureEstimator  # noqa: E402
from gaussmix.__main__ import main  # noqa: E402
from test_cli import X, write_csv  # noqa: E402

OLD = b"the previous contents\n"

COMMANDS = {
    "fit": ["fit", "data.csv", "-k", "2", "-o", "{out}"],
    "predict": ["predict", "model.npz", "data.csv", "--proba", "-o", "{out}"],
    "sample": ["sample", "model.npz", "-n", "10", "-o", "{out}"],
    "plot": ["plot", "model.npz", "data.csv", "-o", "{out}"],
}


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "data.csv", X)
    GaussianMixture(2, random_state=0).fit(X).save(tmp_path / "model.npz")
    return tmp_path


def command(name, out):
    if name == "plot":
        pytest.importorskip("matplotlib")
    return [arg.format(out=out) for arg in COMMANDS[name]]


def _no_work(*args, **kwargs):
    raise AssertionError("the work started before the output was checked")


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_missing_directory_is_refused_before_the_work(workdir, monkeypatch, capsys, name):
    monkeypatch.setattr(GaussianMixture, "_fit", _no_work)  # the fit, and every fit of a sweep
    monkeypatch.setattr(MixtureEstimator, "load", classmethod(_no_work))
    assert main(command(name, "nowhere/out.file")) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"gaussmix {name}: error: cannot write nowhere/out.file: the directory ")
    assert "does not exist" in err and err.count("\n") == 1


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_directory_as_output_is_refused_before_the_work(workdir, monkeypatch, capsys, name):
    (workdir / "folder").mkdir()
    monkeypatch.setattr(GaussianMixture, "_fit", _no_work)
    monkeypatch.setattr(MixtureEstimator, "load", classmethod(_no_work))
    assert main(command(name, "folder")) == 1
    assert capsys.readouterr().err == f"gaussmix {name}: error: folder is a directory; give a file name to write\n"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_an_empty_output_name_is_refused_before_the_work(workdir, monkeypatch, capsys, name):
    monkeypatch.setattr(GaussianMixture, "_fit", _no_work)
    monkeypatch.setattr(MixtureEstimator, "load", classmethod(_no_work))
    assert main(command(name, "")) == 1
    assert capsys.readouterr().err == f"gaussmix {name}: error: the file name to write is empty\n"


def _fail_predict(*args, **kwargs):
    raise ValueError("predict_proba(): the model's precisions are not finite")


def test_a_failing_predict_leaves_the_old_output(workdir, monkeypatch, capsys):
    (workdir / "out.csv").write_bytes(OLD)
    monkeypatch.setattr(GaussianMixture, "predict_proba", _fail_predict)
    assert main(command("predict", "out.csv")) == 1
    assert "the model's precisions are not finite" in capsys.readouterr().err
    assert (workdir / "out.csv").read_bytes() == OLD


@pytest.mark.parametrize("name", sorted(COMMANDS))
@pytest.mark.parametrize("failing, reason", [("replace", "Invalid cross-device link"),
                                             ("fsync", "No space left on device")])
def test_a_failed_write_leaves_the_old_output(workdir, monkeypatch, capsys, name, failing, reason):
    (workdir / "out.file").write_bytes(OLD)
    code = errno.EXDEV if failing == "replace" else errno.ENOSPC

    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    args = command(name, "out.file")
    monkeypatch.setattr(os, failing, fail)
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"gaussmix {name}: error: ") and reason in err, err
    assert "out.file" in err
    assert (workdir / "out.file").read_bytes() == OLD
    assert sorted(p.name for p in workdir.iterdir()) == ["data.csv", "model.npz", "out.file"]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_successful_write_replaces_the_old_output(workdir, capsys, name):
    (workdir / "out.file").write_bytes(OLD)
    assert main(command(name, "out.file")) == 0
    written = (workdir / "out.file").read_bytes()
    assert written != OLD and len(written) > 0
    assert sorted(p.name for p in workdir.iterdir()) == ["data.csv", "model.npz", "out.file"]
    if name == "predict":
        proba = np.loadtxt(workdir / "out.file", delimiter=",", skiprows=1)
        np.testing.assert_allclose(proba, GaussianMixture(2, random_state=0).fit(X).predict_proba(X), rtol=1e-9,
                                   atol=1e-300)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_a_named_pipe_as_output_is_written_in_place(workdir, capsys):
    # As /dev/null or /dev/stdout would be: a rename over it would replace the pipe (or device) itself.
    import stat
    import threading

    os.mkfifo(workdir / "pipe")
    received = []
    reader = threading.Thread(target=lambda: received.append((workdir / "pipe").read_bytes()), daemon=True)
    reader.start()
    assert main(command("predict", "pipe")) == 0
    reader.join(timeout=30)
    assert stat.S_ISFIFO(os.stat(workdir / "pipe").st_mode)
    proba = np.loadtxt(received[0].decode().splitlines()[1:], delimiter=",")
    np.testing.assert_allclose(proba, GaussianMixture(2, random_state=0).fit(X).predict_proba(X), rtol=1e-9,
                               atol=1e-300)


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links")
def test_a_symbolic_link_as_output_keeps_the_link(workdir):
    (workdir / "real.csv").write_bytes(OLD)
    os.symlink("real.csv", workdir / "link.csv")
    assert main(command("sample", "link.csv")) == 0
    assert os.path.islink(workdir / "link.csv") and os.readlink(workdir / "link.csv") == "real.csv"
    assert (workdir / "real.csv").read_text().startswith("x0,x1,x2\n")
