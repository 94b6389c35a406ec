"""The example programs in examples/ run and write their pictures."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_example(script, args, cwd):
    """Run an example with `-W error` (examples must not warn either) on the Agg backend."""
    env = dict(os.environ, MPLBACKEND="Agg")
    result = subprocess.run([sys.executable, "-W", "error", str(EXAMPLES / script), *args],
                            cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{script} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return result


def assert_png(path):
    assert path.is_file(), f"{path.name} was not written"
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE), f"{path.name} is not a PNG"
    assert len(data) > 5000, f"{path.name} is suspiciously small ({len(data)} bytes)"


# Each example once; between them the runs cover both ways of choosing the
# output (none: the current directory; argv[1]: a file or a directory).
@pytest.mark.parametrize("script, arg, pngs", [
    ("sample_gmm.py", None, ["sample_gmm.png"]),
    ("sample_gmm.py", "picture.png", ["picture.png"]),
    ("sample_gmm.py", "new/folder/picture.png", ["new/folder/picture.png"]),
    ("em_gmm.py", "out", ["out/em_gmm_fit.png", "out/em_gmm_conditional.png"]),
    ("gmm_regression.py", None, ["gmm_regression.png"]),
    ("missing_values.py", "holes.png", ["holes.png"]),
    ("select_model.py", None, ["select_model.png"]),
])
def test_example_runs_and_writes_pngs(tmp_path, script, arg, pngs):
    result = run_example(script, [] if arg is None else [str(tmp_path / arg)], cwd=tmp_path)
    for name in pngs:
        assert_png(tmp_path / name)
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.png"))
    assert written == sorted(pngs), "an example wrote somewhere it was not told to"
    if script == "em_gmm.py":
        assert "Log likelihood (how well the data fits the model) =" in result.stdout
