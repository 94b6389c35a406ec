"""gaussmix._atomic: a write either replaces the file whole or leaves the old
one as it was, and an output that cannot be written is refused up front."""
from __future__ import annotations

import os
import stat
import threading

import pytest

from gaussmix._atomic import atomic_write, check_writable


def leftovers(directory) -> list[str]:
    return sorted(name for name in os.listdir(directory) if name.endswith(".tmp"))


def test_a_write_replaces_the_file_and_keeps_its_permissions(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    os.chmod(target, 0o640)
    with atomic_write(target, "w", newline="") as f:
        f.write("new\n")
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
    assert leftovers(tmp_path) == []


def test_a_new_file_gets_the_permissions_open_would_give(tmp_path):
    with atomic_write(tmp_path / "new.bin") as f:
        f.write(b"x")
    with open(tmp_path / "plain.bin", "wb") as f:
        f.write(b"x")
    assert stat.S_IMODE(os.stat(tmp_path / "new.bin").st_mode) == stat.S_IMODE(os.stat(tmp_path / "plain.bin").st_mode)


@pytest.mark.parametrize("failure", ["in the block", "at the rename", "interrupted"])
def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch, failure):
    target = tmp_path / "model.npz"
    target.write_bytes(b"the old model")
    error = KeyboardInterrupt if failure == "interrupted" else OSError
    if failure == "at the rename":
        def fail(*args):
            raise OSError(28, "No space left on device")
        monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(error):
        with atomic_write(target) as f:
            f.write(b"half of the new")
            if failure != "at the rename":
                raise error()
    assert target.read_bytes() == b"the old model"
    assert leftovers(tmp_path) == []


def test_concurrent_writers_and_readers_see_whole_files(tmp_path):
    target = tmp_path / "shared.txt"
    target.write_text("0" * 100_000)
    torn = []

    def write(digit):
        for _ in range(20):
            with atomic_write(target, "w") as f:
                f.write(str(digit) * 100_000)

    def read():
        for _ in range(200):
            text = target.read_text()
            if len(text) != 100_000 or len(set(text)) != 1:
                torn.append(len(text))

    threads = [threading.Thread(target=write, args=(d,)) for d in range(1, 5)]
    threads += [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert torn == []
    assert leftovers(tmp_path) == []


def test_check_writable_refuses_what_a_write_would_fail_on(tmp_path):
    check_writable(tmp_path / "fine.npz")
    with pytest.raises(ValueError, match="does not exist; create it first"):
        check_writable(tmp_path / "no" / "such" / "dir" / "model.npz")
    with pytest.raises(ValueError, match="is a directory"):
        check_writable(tmp_path)
    if os.geteuid() == 0:
        pytest.skip("root writes in read-only directories")
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(locked, 0o500)
    try:
        with pytest.raises(PermissionError, match="no permission"):
            check_writable(locked / "model.npz")
    finally:
        os.chmod(locked, 0o700)
