"""Which build of the compiled core this process loads.

The core is compiled once per CPU level into its own extension module,
``gaussmix._core_<level>`` (why one module per level rather than one module
with every level inside: cmake/cpu_levels.cmake). At the first import of
gaussmix the best level that was built and that this processor and its
operating system support is imported, once; the environment variable
``GAUSSMIX_CPU_LEVEL`` names a lower one instead (to compare levels, or to
work around a problem with one). ``gaussmix.show_config()`` reports the
choice.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
from dataclasses import dataclass

from . import _cpu

ENVIRONMENT_VARIABLE = "GAUSSMIX_CPU_LEVEL"

# What each level needs of the CPU: at least every instruction set its compiler
# flags (gaussmix_cpu_level_flags in cmake/cpu_levels.cmake) let the compiler
# use, as gaussmix._cpu names them. Best first: the order of preference.
_X86_64 = frozenset({"mmx", "fxsr", "sse", "sse2"})
_AVX2 = _X86_64 | {"sse3", "ssse3", "sse4_1", "sse4_2", "popcnt", "xsave", "avx", "avx2", "fma"}
REQUIRED_FEATURES: dict[str, frozenset[str] | None] = {
    # -march=native: for the CPU of the machine that built it, which cannot be
    # checked here; built only on request (GAUSSMIX_NATIVE or GAUSSMIX_CPU_LEVELS).
    "native": None,
    "avx512": _AVX2 | {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"},
    "avx2": _AVX2,
    "sse2": _X86_64,
    # Anything but x86-64 (aarch64, ...): the compiler's defaults for the target.
    "generic": frozenset(),
}
_AUTOMATIC = ("", "auto", "best")


@dataclass(frozen=True)
class LevelChoice:
    """The level loaded, and what it was chosen from."""

    level: str
    forced: bool  # named by GAUSSMIX_CPU_LEVEL rather than the best runnable
    built: tuple[str, ...]  # the levels this installation has, best first
    runnable: tuple[str, ...]  # those this CPU and OS can run, best first
    cpu_features: tuple[str, ...]  # what gaussmix._cpu found


def module_name(level: str) -> str:
    return f"{__package__}._core_{level}"


def built_levels() -> tuple[str, ...]:
    """The levels whose module is installed, best first."""
    return tuple(level for level in REQUIRED_FEATURES if importlib.util.find_spec(module_name(level)) is not None)


def runnable_levels(built: tuple[str, ...], cpu_features: tuple[str, ...]) -> tuple[str, ...]:
    """Those of built that a CPU with cpu_features can run, best first."""
    have = set(cpu_features)
    return tuple(level for level in built if REQUIRED_FEATURES[level] is None or REQUIRED_FEATURES[level] <= have)


def choose_level(requested: str | None, built: tuple[str, ...], cpu_features: tuple[str, ...]) -> LevelChoice:
    """The level to load: requested (the environment variable's value, None
    or '' or 'auto' for the best) if this CPU can run it, else the best
    runnable level.

    Raises
    ------
    ValueError
        If requested is not a level, was not built, or needs instruction sets
        this CPU (or its OS) lacks; ImportError if no built level can run.
    """
    runnable = runnable_levels(built, cpu_features)

    def choice(level: str, forced: bool) -> LevelChoice:
        return LevelChoice(level, forced, tuple(built), runnable, tuple(cpu_features))

    wanted = (requested or "").strip().lower()
    if wanted in _AUTOMATIC:
        if not runnable:
            raise ImportError(
                f"gaussmix: none of the compiled core's CPU levels ({', '.join(built) or 'none installed'}) runs on "
                f"this processor (it has: {', '.join(cpu_features) or 'no x86 extensions'}); reinstall gaussmix "
                "from source for this machine: pip install --no-binary gaussmix gaussmix")
        return choice(runnable[0], False)
    levels_text = ", ".join(built)
    if wanted not in REQUIRED_FEATURES:
        raise ValueError(
            f"{ENVIRONMENT_VARIABLE}={requested!r} is not a CPU level: use one of this installation's levels "
            f"({levels_text}), or leave it unset (or 'auto') for the best this CPU supports")
    if wanted not in built:
        raise ValueError(
            f"{ENVIRONMENT_VARIABLE}={requested!r}: this installation was not built for that level; it has "
            f"{levels_text}. Unset it for the best this CPU supports")
    if wanted not in runnable:
        missing = sorted(REQUIRED_FEATURES[wanted] - set(cpu_features))
        raise ValueError(
            f"{ENVIRONMENT_VARIABLE}={requested!r}: this CPU (or its operating system) lacks {', '.join(missing)}, "
            f"which that level needs; it can run {', '.join(runnable)}. Name one of those or unset the variable")
    return choice(wanted, True)


def load_core():
    """Import the chosen level's module: (module, LevelChoice)."""
    choice = choose_level(os.environ.get(ENVIRONMENT_VARIABLE), built_levels(), tuple(_cpu.features()))
    return importlib.import_module(module_name(choice.level)), choice
