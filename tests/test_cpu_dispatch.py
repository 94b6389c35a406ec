"""The compiled core's CPU levels: what gaussmix._cpu finds against Linux's own
reading of the processor, the choice of level and its errors, that each level
module was compiled for no more than the CPU is checked for, that every level
computes the same numbers (1e-10 relative in float64), and what show_config
reports against independent sources."""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gaussmix
from gaussmix import _core, _cpu, _cpu_dispatch
from gaussmix._cpu_dispatch import ENVIRONMENT_VARIABLE, REQUIRED_FEATURES, choose_level

IS_X86_64 = _core.cpu_level in ("sse2", "avx2", "avx512") or "sse2" in _cpu.features()
# Every name gaussmix._cpu can report, and its spelling in /proc/cpuinfo.
CPUINFO_NAMES = {"mmx": "mmx", "fxsr": "fxsr", "sse": "sse", "sse2": "sse2", "sse3": "pni", "ssse3": "ssse3",
                 "sse4_1": "sse4_1", "sse4_2": "sse4_2", "movbe": "movbe", "popcnt": "popcnt", "xsave": "xsave",
                 "lzcnt": "abm", "bmi1": "bmi1", "bmi2": "bmi2", "avx": "avx", "fma": "fma", "f16c": "f16c",
                 "avx2": "avx2", "avx512f": "avx512f", "avx512dq": "avx512dq", "avx512cd": "avx512cd",
                 "avx512bw": "avx512bw", "avx512vl": "avx512vl"}


def run_python(code: str, level: str | None, **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop(ENVIRONMENT_VARIABLE, None)
    if level is not None:
        env[ENVIRONMENT_VARIABLE] = level
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600, **kwargs)


def runnable_levels() -> list[str]:
    """The levels built here that this CPU runs, best first."""
    return list(_core.level_choice.runnable)


@pytest.mark.skipif(not (sys.platform.startswith("linux") and IS_X86_64), reason="/proc/cpuinfo of x86-64 Linux")
def test_cpu_features_are_what_linux_reads_off_the_processor():
    flags = set()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    expected = {ours for ours, linux in CPUINFO_NAMES.items() if linux in flags}
    assert set(_cpu.features()) == expected


def test_the_best_runnable_level_is_chosen():
    built = ("avx512", "avx2", "sse2")
    avx2_cpu = tuple(REQUIRED_FEATURES["avx2"])
    choice = choose_level(None, built, avx2_cpu)
    assert (choice.level, choice.forced, choice.runnable) == ("avx2", False, ("avx2", "sse2"))
    assert choose_level("auto", built, tuple(REQUIRED_FEATURES["avx512"])).level == "avx512"
    assert choose_level("", built, tuple(REQUIRED_FEATURES["sse2"])).level == "sse2"
    # Missing one AVX-512 subset (a CPU with F and CD only, as Knights Landing had) is not enough.
    knights = avx2_cpu + ("avx512f", "avx512cd")
    assert choose_level(None, built, knights).level == "avx2"
    # A build for aarch64 has one generic level, run on any CPU.
    assert choose_level(None, ("generic",), ()).level == "generic"


def test_the_environment_variable_forces_a_lower_level():
    built = ("avx512", "avx2", "sse2")
    choice = choose_level(" SSE2 ", built, tuple(REQUIRED_FEATURES["avx512"]))
    assert (choice.level, choice.forced) == ("sse2", True)


@pytest.mark.parametrize(
    "requested, built, features, message",
    [
        ("avx9", ("avx2", "sse2"), REQUIRED_FEATURES["avx2"],
         r"GAUSSMIX_CPU_LEVEL='avx9' is not a CPU level: use one of this installation's levels \(avx2, sse2\)"),
        ("avx512", ("avx2", "sse2"), REQUIRED_FEATURES["avx512"],
         r"'avx512': this installation was not built for that level; it has avx2, sse2"),
        ("avx512", ("avx512", "avx2", "sse2"), REQUIRED_FEATURES["avx2"] | {"avx512f"},
         r"'avx512': this CPU \(or its operating system\) lacks avx512bw, avx512cd, avx512dq, avx512vl, which that "
         r"level needs; it can run avx2, sse2"),
    ],
)
def test_a_level_that_cannot_be_loaded_is_refused(requested, built, features, message):
    with pytest.raises(ValueError, match=message):
        choose_level(requested, built, tuple(features))


def test_no_runnable_level_is_an_import_error():
    with pytest.raises(ImportError, match=r"none of the compiled core's CPU levels \(avx512\) runs on this processor"):
        choose_level(None, ("avx512",), tuple(REQUIRED_FEATURES["avx2"]))


def test_import_refuses_a_bad_level_with_the_message():
    result = run_python("import gaussmix", "avx9")
    assert result.returncode != 0
    assert "ValueError: GAUSSMIX_CPU_LEVEL='avx9' is not a CPU level" in result.stderr


def test_the_installed_levels_are_the_modules_in_the_package():
    package = Path(gaussmix.__file__).parent
    files = {re.match(r"_core_([a-z0-9]+)\.", p.name).group(1) for p in package.glob("_core_*") if p.suffix in
             (".so", ".pyd")}
    if not files:
        pytest.skip("the modules live outside the package folder (an editable install keeps them in its build folder)")
    assert set(_core.level_choice.built) == files


@pytest.mark.parametrize("level", [lv for lv in REQUIRED_FEATURES if REQUIRED_FEATURES[lv] is not None])
def test_each_level_is_compiled_for_what_the_dispatcher_checks(level):
    if level not in runnable_levels():
        pytest.skip(f"level {level} is not built here or this CPU cannot run it")
    code = "from gaussmix import _core; import json; print(json.dumps([_core.cpu_level, list(_core.instruction_sets)]))"
    result = run_python(code, level)
    assert result.returncode == 0, result.stderr
    loaded, instruction_sets = json.loads(result.stdout)
    assert loaded == level
    if level == "generic":
        # The compiler's defaults for the target: on x86-64 (a compiler without level
        # flags) no more than every x86-64 CPU has; elsewhere nothing x86 at all.
        assert set(instruction_sets) <= REQUIRED_FEATURES["sse2"]
    else:
        # Exactly: less would mean the flags lost an extension the level is named for.
        assert set(instruction_sets) == REQUIRED_FEATURES[level]


# One battery of results, computed in a child process under each level.
BATTERY = r"""
import json
import numpy as np
import gaussmix, gaussmix.gmm as gmm, gaussmix.kmeans as km

rng = np.random.default_rng(20261203)
n, d, k = 6000, 5, 4
centres = rng.normal(scale=4.0, size=(k, d))
X = centres[rng.integers(k, size=n)] + rng.normal(size=(n, d)) * rng.uniform(0.5, 2.0, d)
start_covariances = {"full": np.stack([np.eye(d)] * k), "tied": np.eye(d), "diag": np.ones((k, d)),
                     "spherical": np.ones(k)}
out = {}
for model in gaussmix.COVARIANCE_TYPES:
    start = gaussmix.Mixture(np.full(k, 1.0 / k), centres + 0.5, start_covariances[model], covariance_type=model)
    for dtype in ("float64", "float32"):
        fitted = gaussmix.fit_em(X.astype(dtype), start, max_iter=8, tol=0).mixture
        key = f"{model}/{dtype}"
        out[key + "/weights"] = fitted.weights.tolist()
        out[key + "/means"] = fitted.means.ravel().tolist()
        out[key + "/covariances"] = fitted.covariances.ravel().tolist()
        out[key + "/log_density"] = np.asarray(fitted.log_density(X[:500].astype(dtype)), float).tolist()
        out[key + "/responsibilities"] = np.asarray(fitted.responsibilities(X[:500].astype(dtype)), float).ravel().tolist()
means, covs = list(centres), [np.eye(d) * 1.5 for _ in range(k)]
out["gmm_pdf"] = gmm.gmm_pdf(X[:800], means, covs, np.full(k, 0.25)).tolist()
out["find_membership"] = np.asarray(km.find_membership(X[:3000], centres), float).tolist()
cond_means, cond_covs, cond_weights = gmm.cond_dist(np.array([np.nan, 1.0, np.nan, 0.5, np.nan]), means, covs,
                                                    np.full(k, 0.25))
out["cond_dist"] = np.concatenate([np.ravel(m) for m in cond_means] + [np.ravel(c) for c in cond_covs]
                                  + [np.ravel(cond_weights)]).tolist()
print(json.dumps(out))
"""


def test_every_level_computes_the_same_numbers():
    levels = runnable_levels()
    if len(levels) < 2:
        pytest.skip(f"one level runs here ({levels})")
    results = {}
    for level in levels:
        result = run_python(BATTERY, level)
        assert result.returncode == 0, result.stderr
        results[level] = json.loads(result.stdout)
    baseline = results[levels[-1]]
    for level in levels[:-1]:
        for key, expected in baseline.items():
            got = np.asarray(results[level][key])
            expected = np.asarray(expected)
            if "float32" in key:
                # float32 rounding differs with FMA contraction and vector width.
                np.testing.assert_allclose(got, expected, rtol=2e-4, atol=2e-5, err_msg=f"{level} vs {levels[-1]}: {key}")
            else:
                np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-13, err_msg=f"{level} vs {levels[-1]}: {key}")


def test_config_reports_a_forced_level_and_the_thread_count():
    code = ("import gaussmix, json; gaussmix.set_num_threads(3); "
            "print(json.dumps(gaussmix.config_info()))")
    level = runnable_levels()[-1]
    result = run_python(code, level)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["cpu_level"] == level
    assert info["cpu_level_chosen_by"] == "GAUSSMIX_CPU_LEVEL environment variable"
    assert info["threads"] == 3
    unforced = json.loads(run_python(code, None).stdout)
    assert unforced["cpu_level"] == runnable_levels()[0]
    assert unforced["cpu_level_chosen_by"] == "best this CPU supports"


def test_config_info_against_independent_sources():
    info = gaussmix.config_info()
    assert info["version"] == __import__("importlib.metadata").metadata.version("gaussmix")
    assert info["numpy"] == np.__version__
    assert info["cpu_levels_runnable"] == [
        level for level in info["cpu_levels_built"]
        if REQUIRED_FEATURES[level] is None or REQUIRED_FEATURES[level] <= set(info["cpu_features"])]
    assert info["threads"] == gaussmix.get_num_threads()
    if IS_X86_64 and info["cpu_level"] != "native":
        # The flags name the extensions the level is for.
        flags = info["compile_flags"]
        assert ("avx2" in flags or "AVX2" in flags) == ("avx2" in info["instruction_sets"])
    # The OpenMP runtime the core calls is the one threadpoolctl finds loaded.
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if info["openmp"] is not None:
        loaded = {os.path.realpath(lib["filepath"]) for lib in threadpoolctl.threadpool_info()
                  if lib["internal_api"] == "openmp"}
        assert os.path.realpath(info["openmp_library"]) in loaded


def test_config_reports_the_eigen_it_was_built_with():
    pytest.importorskip("cmeel")
    prefix = subprocess.run([sys.executable, "-m", "cmeel", "cmake"], capture_output=True, text=True).stdout.strip()
    macros = Path(prefix, "include", "eigen3", "Eigen", "src", "Core", "util", "Macros.h")
    if not macros.exists():
        pytest.skip("cmeel-eigen's headers are not installed")
    text = macros.read_text()
    version = ".".join(re.search(rf"#define EIGEN_{part}_VERSION (\d+)", text).group(1)
                       for part in ("WORLD", "MAJOR", "MINOR"))
    assert gaussmix.config_info()["eigen_version"] == version


def test_show_config_prints_every_field():
    buffer = io.StringIO()
    gaussmix.show_config(file=buffer)
    lines = dict(line.split(None, 1) for line in buffer.getvalue().splitlines())
    info = gaussmix.config_info()
    assert set(lines) == set(info)
    assert lines["cpu_level"].strip() == info["cpu_level"]
    assert lines["cpu_levels_built"].strip() == ", ".join(info["cpu_levels_built"])
    assert lines["threads"].strip() == str(gaussmix.get_num_threads())


def test_the_command_line_prints_the_config():
    level = runnable_levels()[-1]
    printed = run_python("from gaussmix.__main__ import main; main(['config'])", level)
    expected = run_python("import gaussmix; gaussmix.show_config()", level)
    assert printed.returncode == 0, printed.stderr
    assert re.search(rf"^cpu_level\s+{level}$", printed.stdout, re.MULTILINE)
    assert printed.stdout == expected.stdout
