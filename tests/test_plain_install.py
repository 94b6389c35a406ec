"""What a plain ``pip install gaussmix`` serves: the estimator and the command
line need SciPy and scikit-learn, so they are plain dependencies; the extras'
packages (pandas, matplotlib, Dask, ...) are not needed by either. ``import
gaussmix`` and the PyPR face still import neither SciPy nor scikit-learn."""
from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import textwrap

import numpy as np
from packaging.requirements import Requirement

# What the extras bring that a plain install (with what scikit-learn itself needs: joblib,
# threadpoolctl) does not: the test extra's packages, the dask and plot extras', Parquet's.
EXTRAS_ONLY = ("pandas", "matplotlib", "dask", "distributed", "hypothesis", "pyarrow", "zarr",
               "scikit_build_core", "cmeel", "pytest", "_pytest")

BLOCK_EXTRAS = textwrap.dedent(f"""
    import sys
    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {EXTRAS_ONLY!r}:
                raise ModuleNotFoundError("No module named " + repr(name), name=name)
    sys.meta_path.insert(0, Block())
    for name in list(sys.modules):
        if name.split(".")[0] in {EXTRAS_ONLY!r}:
            del sys.modules[name]
""")


def run_python(code: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK_EXTRAS + textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=300, cwd=cwd)


def test_scipy_and_scikit_learn_are_plain_dependencies():
    requirements = [Requirement(r) for r in importlib.metadata.requires("gaussmix")]
    plain = {r.name.lower(): r for r in requirements if r.marker is None}
    assert {"numpy", "scipy", "scikit-learn"} <= set(plain), plain
    # The floors are releases, and what is installed here satisfies them.
    for name in ("scipy", "scikit-learn"):
        assert plain[name].specifier, f"{name} has no lower bound"
        assert plain[name].specifier.contains(importlib.metadata.version(name))


def test_the_dask_extra_brings_what_the_readmes_dask_example_imports():
    requirements = [Requirement(r) for r in importlib.metadata.requires("gaussmix")]
    dask_extra = {r.name.lower() for r in requirements if r.marker is not None and r.marker.evaluate({"extra": "dask"})}
    assert {"dask", "zarr"} <= dask_extra, dask_extra


def test_the_estimator_and_the_command_line_work_without_the_extras(tmp_path):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (150, 2)), rng.normal(6, 1, (150, 2))])
    np.savetxt(tmp_path / "data.csv", X, delimiter=",", header="width,depth", comments="")
    result = run_python("""
        import numpy as np
        from gaussmix import GaussianMixture
        from gaussmix.__main__ import main
        X = np.loadtxt("data.csv", delimiter=",", skiprows=1)
        model = GaussianMixture(2, random_state=0).fit(X)
        assert sorted(np.round(model.means_[:, 0])) == [0.0, 6.0], model.means_
        for argv in (["fit", "data.csv", "-k", "2", "-o", "model.npz", "--quiet"],
                     ["fit", "data.csv", "-k", "1..3", "-o", "best.npz", "--quiet"],
                     ["info", "model.npz"], ["predict", "model.npz", "data.csv", "-o", "labels.csv"],
                     ["sample", "model.npz", "-n", "5", "-o", "samples.csv"]):
            code = main(argv)
            assert code == 0, (argv, code)
        print("ok")
    """, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")
    assert len((tmp_path / "labels.csv").read_text().split()) >= 300


def test_import_gaussmix_and_the_pypr_face_import_neither_scipy_nor_scikit_learn(tmp_path):
    result = run_python("""
        import sys
        import numpy as np
        import gaussmix, gaussmix.gmm as gmm, gaussmix.kmeans, gaussmix.stattest
        np.random.seed(0)
        gmm.em(np.random.randn(200, 2), 2, max_iter=5)
        loaded = sorted(m for m in ("scipy", "sklearn") if m in sys.modules)
        print("loaded:", loaded)
    """, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "loaded: []"
