"""Shared pytest configuration for the gaussmix test-suite."""

import os
import sys
import warnings

import pytest

# Make tests/reference.py and tests/helpers.py importable whatever import
# mode pytest is run with.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# When a property test fails, hypothesis' pytest plugin imports libcst to
# suggest a patch; with some versions of mypy_extensions that import emits a
# DeprecationWarning, which `filterwarnings = error` would turn into a pytest
# INTERNALERROR hiding the real failure.  Import it once here, quietly.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import libcst.metadata  # noqa: F401
    except Exception:  # not installed, or broken: nothing to pre-import
        pass

try:  # hypothesis: no example database on disk, no per-example deadline
    from hypothesis import settings

    settings.register_profile("gaussmix", database=None, deadline=None)
    settings.load_profile("gaussmix")
except ImportError:  # pragma: no cover - hypothesis is a test dependency
    pass


def pytest_report_header(config):
    """Which build of the core the run tests (GAUSSMIX_CPU_LEVEL chooses it)."""
    import gaussmix

    info = gaussmix.config_info()
    return (f"gaussmix core: CPU level {info['cpu_level']} ({info['cpu_level_chosen_by']}; built: "
            f"{', '.join(info['cpu_levels_built'])}), {info['threads']} threads")


@pytest.fixture(autouse=True)
def _restore_thread_count():
    """Every test leaves the module-level thread count as it found it, so a
    test that calls set_num_threads cannot influence the others."""
    from gaussmix import _config

    before = _config._n_threads  # the setting itself: 0 = not set, follow OpenMP (and threadpoolctl)
    yield
    _config._n_threads = before
