"""The main job: `python -m gaussmix demo` fits the documentation's mixture,
prints it beside the truth and the conditional distribution of x1 given x2 = -1,
and writes the two documentation figures."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest


def _run_demo(*args):
    env = dict(os.environ, MPLBACKEND="Agg")
    done = subprocess.run([sys.executable, "-W", "error", "-m", "gaussmix", "demo", *args],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_demo_recovers_the_documentation_mixture():
    out = _run_demo()
    weights = [(float(t), float(f)) for t, f in re.findall(r"weight\s+true ([\d.]+)\s+fitted ([\d.]+)", out)]
    assert len(weights) == 3
    for true, fitted in weights:
        assert abs(true - fitted) < 0.08
    fit_ll, true_ll = map(float, re.search(r"fit: (-[\d.]+) \(true parameters: (-[\d.]+)\)", out).groups())
    # The maximum-likelihood fit is at least as likely as the truth on its own sample.
    assert fit_ll >= true_ll
    cond = [float(w) for w in re.findall(r"component \d: weight ([\d.]+)\s+mean", out)]
    assert len(cond) == 3
    np.testing.assert_allclose(sum(cond), 1.0, atol=3e-4)  # printed to 4 decimals


def test_demo_writes_the_two_figures(tmp_path):
    pytest.importorskip("matplotlib")
    _run_demo("--samples", "500", "--out", str(tmp_path))
    for name in ("demo_fit.png", "demo_conditional.png"):
        data = (tmp_path / name).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 1000
