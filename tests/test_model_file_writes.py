"""GaussianMixture.save never destroys an existing model file: a write that
fails (the rename, a conversion, a file-size limit) leaves the old file as
it was and no temporary file behind; threads saving and loading one path
never see a half-written file."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

pytest.importorskip("sklearn")

from gaussmix import GaussianMixture  # noqa: E402

X = np.random.default_rng(0).normal(size=(300, 3)) + np.repeat([[0, 0, 0], [4, 4, 0]], 150, axis=0)


@pytest.fixture()
def old_file(tmp_path):
    """A model file already on disk, and its bytes."""
    path = tmp_path / "model.npz"
    GaussianMixture(2, random_state=0).fit(X).save(path)
    return path, path.read_bytes()


def assert_untouched(path, content):
    assert path.read_bytes() == content
    assert os.listdir(path.parent) == [path.name]  # no temporary file left
    GaussianMixture.load(path)


def test_a_failed_rename_leaves_the_old_file(old_file, monkeypatch):
    path, content = old_file
    new = GaussianMixture(3, random_state=1).fit(X)

    def failing_replace(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="No space left"):
        new.save(path)
    monkeypatch.undo()
    assert_untouched(path, content)


class ConversionFails:
    """An attribute whose conversion to an array raises."""

    def __array__(self, dtype=None, copy=None):
        raise RuntimeError("cannot convert")


@pytest.mark.parametrize("name", ["precisions_", "covariances_", "lower_bounds_", "feature_names_in_"])
def test_an_attribute_whose_conversion_raises_leaves_the_old_file(old_file, name):
    path, content = old_file
    new = GaussianMixture(3, random_state=1).fit(X)
    setattr(new, name, ConversionFails() if name != "lower_bounds_" else [1.0, ConversionFails()])
    with pytest.raises((RuntimeError, TypeError, ValueError)):
        new.save(path)
    assert_untouched(path, content)


def test_a_missing_directory_is_refused_before_writing(tmp_path):
    model = GaussianMixture(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="directory .* does not exist; create it first"):
        model.save(tmp_path / "nowhere" / "model.npz")


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE and SIGXFSZ are POSIX")
def test_a_file_size_limit_leaves_the_old_file(old_file):
    """In a child process limited to 1 kB files (SIGXFSZ ignored, so the
    write raises EFBIG), saving over a larger model file fails and the old
    file survives."""
    path, content = old_file
    assert len(content) > 1024
    script = textwrap.dedent(f"""
        import errno, resource, signal, sys
        import numpy as np
        from gaussmix import GaussianMixture
        x = np.random.default_rng(0).normal(size=(300, 3))
        model = GaussianMixture(3, random_state=1).fit(x)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
        try:
            model.save({str(path)!r})
        except OSError as exc:
            print("refused", errno.errorcode.get(exc.errno))
        else:
            print("written")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["refused", "EFBIG"]
    assert_untouched(path, content)


def test_threads_saving_and_loading_one_path_never_see_a_half_written_file(tmp_path):
    path = tmp_path / "model.npz"
    models = [GaussianMixture(k, covariance_type=c, random_state=k).fit(X)
              for k in (1, 2, 3, 4) for c in ("full", "diag")]
    models[0].save(path)
    failures, barrier = [], threading.Barrier(len(models))

    def work(model):
        barrier.wait()
        try:
            for _ in range(25):
                model.save(path)
                loaded = GaussianMixture.load(path)
                assert any(np.array_equal(loaded.means_, m.means_) and np.array_equal(
                    loaded.precisions_cholesky_, m.precisions_cholesky_) for m in models)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(repr(exc))

    threads = [threading.Thread(target=work, args=(model,)) for model in models]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert os.listdir(tmp_path) == ["model.npz"]
