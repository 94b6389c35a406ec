"""What gaussmix ships: the licence in the installed metadata, and a source
distribution that holds the project's own files (those git tracks under the
folders a build and the tests need) and nothing else lying in the folder."""
from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# What the source distribution is for: building (CMake, the C++ core, the bindings,
# the Python package) and testing (pytest's tests, the examples they run, the C++ tests).
SDIST_TOP_FILES = {"pyproject.toml", "CMakeLists.txt", "LICENSE", "README.md"}
SDIST_FOLDERS = ("cmake/", "cpp/", "python/", "tests/", "examples/")


def test_the_installed_metadata_carries_the_bsd_licence():
    metadata = importlib.metadata.metadata("gaussmix")
    assert metadata.get("License-Expression") == "BSD-3-Clause" or metadata.get("License") == "BSD-3-Clause"
    licences = [f for f in importlib.metadata.files("gaussmix") if f.name == "LICENSE"]
    assert licences, "the wheel's .dist-info has no LICENSE"
    text = licences[0].read_text()
    assert text.startswith("BSD 3-Clause License")
    assert "Neither the name of the copyright holder" in text


def tracked_files() -> list[str]:
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("needs the project's git checkout")
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=True).stdout
    return [name for name in listed.decode().split("\0") if name and (ROOT / name).is_file()]


def test_the_source_distribution_holds_the_project_files_only(tmp_path):
    pytest.importorskip("scikit_build_core")
    tree = tmp_path / "gaussmix"
    files = tracked_files()
    for name in files:
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, tree / name)
    # What a working folder collects: build folders, a venv, objects and modules
    # built in place, caches, notes.
    junk = ["build/cp311/CMakeCache.txt", "build/cp311/_core_avx2.so", "_skbuild/x/a.o", ".venv/lib/site.py",
            "notes.txt", "dist/old.whl", "cpp/bindings/register_em.cpp.o", "cpp/build/CMakeFiles/x.cmake",
            "cpp/build/CMakeCache.txt", "cpp/build/build.ninja", "python/gaussmix/_core_sse2.cpython-311-x86_64-linux-gnu.so",
            "python/gaussmix/__pycache__/gmm.cpython-311.pyc", "tests/__pycache__/conftest.cpython-311.pyc",
            "tests/.hypothesis/examples/x", "python/gaussmix.egg-info/PKG-INFO"]
    for name in junk:
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text("not a source file\n")
    out = tmp_path / "dist"
    out.mkdir()
    code = "import sys; from scikit_build_core.build import build_sdist; print(build_sdist(sys.argv[1]))"
    result = subprocess.run([sys.executable, "-c", code, str(out)], cwd=tree, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    sdist = out / result.stdout.strip().splitlines()[-1]
    with tarfile.open(sdist) as archive:
        prefix = archive.getnames()[0].split("/")[0]
        members = {m.name[len(prefix) + 1:] for m in archive.getmembers() if m.isfile()}
    expected = {name for name in files if name in SDIST_TOP_FILES or name.startswith(SDIST_FOLDERS)}
    assert "LICENSE" in members
    assert members - {"PKG-INFO"} == expected
