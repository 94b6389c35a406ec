"""Writes that never destroy what was there: every file gaussmix writes
(model files, the command line's outputs, plots) goes through here.

``atomic_write(path)`` opens a temporary file in the target's own directory
(so the final rename stays on one file system and is atomic on POSIX and
Windows); only when the block finishes without an exception is the file
flushed, synced and renamed over ``path``. A failed, interrupted or
concurrent write leaves either the old file or the new one, never a
truncated mix, and no temporary file behind.

``check_writable(path)`` refuses an output whose directory is missing or
not writable, or that names a directory, before any work is done.

A symbolic link is followed: the file it points to is replaced and the
link kept. A target that exists and is not a regular file (``/dev/null``,
``/dev/stdout``, a named pipe) is written in place: there is nothing to
keep, and a rename would replace the device or pipe itself with a file.
"""
from __future__ import annotations

import contextlib
import os
import stat
import tempfile

# The permission bits a plain open() would give a new file (0o666 less the
# umask). The umask can only be read by setting it, so it is read once here,
# at import, rather than racing other threads on every write.
_umask = os.umask(0)
os.umask(_umask)
_NEW_FILE_MODE = 0o666 & ~_umask


def _is_special(path: str) -> bool:
    """path exists and is neither a regular file nor a directory (a device, a pipe, a socket)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def check_writable(path) -> None:
    """Raise ValueError (or PermissionError) if a file cannot be written at path.

    The checks a write would fail on, taken before the work that produces
    the file: the directory exists, is a directory and can be written, and
    ``path`` itself is not a directory.
    """
    path = os.fspath(path)
    if not path:
        raise ValueError("the file name to write is empty")
    if os.path.isdir(path):
        raise ValueError(f"{path} is a directory; give a file name to write")
    if _is_special(path):
        if not os.access(path, os.W_OK):
            raise PermissionError(f"cannot write {path}: no permission")
        return
    directory = os.path.dirname(os.path.realpath(path))
    if not os.path.isdir(directory):
        raise ValueError(f"cannot write {path}: the directory {directory} does not exist; create it first")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write {path}: no permission to write in {directory}")


@contextlib.contextmanager
def atomic_write(path, mode: str = "wb", **open_args):
    """Open a temporary file beside ``path`` and rename it over ``path`` on success.

    Yields the open file object (``mode`` is ``"wb"`` or ``"w"``; ``open_args``
    go to ``open``, e.g. ``newline=""`` for the csv module). An existing file
    keeps its permission bits; a new one gets those a plain ``open`` would.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write(): mode must be 'w' or 'wb', not {mode!r}")
    path = os.fspath(path)
    if _is_special(path):
        with open(path, mode, **open_args) as f:
            yield f
        return
    path = os.path.realpath(path)  # through a symbolic link: its file is replaced, the link kept
    directory = os.path.dirname(path)
    try:
        file_mode = os.stat(path).st_mode & 0o7777
    except OSError:
        file_mode = _NEW_FILE_MODE
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        try:
            f = os.fdopen(fd, mode, **open_args)
        except BaseException:
            os.close(fd)
            raise
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, file_mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
