"""One event per EM iteration, on every data path of GaussianMixture.fit: the
verbose lines (scikit-learn's) and the progress callback (FitProgress) report
the same iterations whether the rows are in memory (float64, float32,
weighted), have missing values (NaN) or are a Dask array, for n_init = 2, a
warm-started continuation and max_iter = 0.

The in-memory lines are compared with scikit-learn's own verbose output of the
same fit; every path's lines and reports with the iterations the fit kept
(n_iter_, lower_bounds_, converged_): the runs all start from the same given
parameters, so the n_init runs of one fit are the same run."""
from __future__ import annotations

import contextlib
import math
import re
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.mixture import GaussianMixture as SkGaussianMixture  # noqa: E402

from gaussmix import GaussianMixture  # noqa: E402

N, D, K = 300, 2, 3
PATHS = ("float64", "float32", "weighted", "nan", "dask")
SCENARIOS = ("n_init=2", "warm_start", "max_iter=0")
VERBOSITY = [(1, 1), (1, 3), (2, 1), (2, 3)]  # (verbose, verbose_interval)
TOL = 1e-4  # the fits below converge after 14 iterations: last change 0.89 tol, the one before 1.2 tol


def make_data():
    """Three overlapping clusters: EM takes a dozen iterations from START."""
    rng = np.random.default_rng(2)
    centres = np.array([[0.0, 0.0], [2.0, 0.4], [-1.2, 2.0]])
    return centres[rng.integers(K, size=N)] + rng.normal(size=(N, D))


X = make_data()
WEIGHTS = np.random.default_rng(1).uniform(0.5, 1.5, N)
START = dict(weights_init=np.full(K, 1.0 / K), means_init=X[[0, N // 3, 2 * N // 3]],
             precisions_init=np.stack([np.eye(D)] * K))


def with_holes(x):
    """x with one coordinate of every tenth row missing."""
    out = x.copy()
    out[::10, 1] = np.nan
    return out


def fit_input(path):
    """(X, sample_weight, context) of a data path: what fit receives and the
    context it runs in."""
    if path == "dask":
        da = pytest.importorskip("dask.array")
        import dask

        return da.from_array(X, chunks=(N // 3, D)), None, dask.config.set(scheduler="synchronous")
    data = {"float64": X, "float32": X.astype(np.float32), "weighted": X, "nan": with_holes(X)}[path]
    return data, (WEIGHTS if path == "weighted" else None), contextlib.nullcontext()


def scenario_params(scenario):
    """(estimator parameters, whether the fit is a warm-started second call)."""
    if scenario == "n_init=2":
        return dict(n_init=2, max_iter=100), False
    if scenario == "warm_start":
        return dict(warm_start=True, max_iter=6), True
    return dict(n_init=2, max_iter=0), False


def fit_scenario(cls, path, scenario, capsys, progress=None, **params):
    """(the fitted model, the lower bound it continued from or None, what
    the measured fit printed). A warm start's first fit (6 iterations)
    prints and reports nothing; the measured fit continues from it."""
    data, sample_weight, context = fit_input(path)
    extra, warm = scenario_params(scenario)
    model = cls(K, tol=TOL, **START, **extra, **params)
    # Only gaussmix takes sample weights and a progress callback.
    keywords = {} if sample_weight is None else {"sample_weight": sample_weight}
    reporting = {} if progress is None else {"progress": progress}
    previous = None
    with context, warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if warm:
            model.set_params(verbose=0).fit(data, **keywords)
            previous = model.lower_bound_
            model.set_params(verbose=params.get("verbose", 0))
        capsys.readouterr()
        model.fit(data, **keywords, **reporting)
    return model, previous, capsys.readouterr().out


def without_time_lapses(text):
    return re.sub(r"time lapse \d+\.\d{5}s", "time lapse <t>s", text)


def expected_lines(model, n_init, verbose, interval, previous):
    """scikit-learn's verbose output (sklearn/mixture/_base.py,
    _print_verbose_msg_*) of n_init identical runs with model's iterations,
    the time lapses masked."""
    out = []
    for init in range(n_init):
        out.append(f"Initialization {init}")
        if model.max_iter == 0:
            continue
        before = -math.inf if previous is None else previous
        for n_iter, lower_bound in enumerate(model.lower_bounds_, start=1):
            if n_iter % interval == 0:
                out.append(f"  Iteration {n_iter}" if verbose == 1 else
                           f"  Iteration {n_iter}\t time lapse <t>s\t ll change {lower_bound - before:.5f}")
            before = lower_bound
        status = "converged" if model.converged_ else "did not converge"
        out.append(f"Initialization {status}." if verbose == 1 else
                   f"Initialization {status}. time lapse <t>s\t lower bound {model.lower_bounds_[-1]:.5f}.")
    return out


@pytest.mark.parametrize("verbose, interval", VERBOSITY)
@pytest.mark.parametrize("scenario", ("n_init=2", "warm_start"))
@pytest.mark.parametrize("path", ("float64", "float32"))
def test_in_memory_verbose_lines_are_scikit_learns(path, scenario, verbose, interval, capsys):
    """The same lines as scikit-learn's fit from the same start, time lapses aside."""
    params = dict(verbose=verbose, verbose_interval=interval)
    ours = fit_scenario(GaussianMixture, path, scenario, capsys, **params)[2]
    theirs = fit_scenario(SkGaussianMixture, path, scenario, capsys, **params)[2]
    assert "Iteration" in theirs
    assert without_time_lapses(ours).splitlines() == without_time_lapses(theirs).splitlines()


@pytest.mark.parametrize("verbose, interval", VERBOSITY)
@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("path", PATHS)
def test_verbose_lines_report_the_iterations_of_the_fit(path, scenario, verbose, interval, capsys):
    """Every path prints one line per verbose_interval iterations, the
    changes of lower_bounds_ with verbose=2, and the end of each
    initialisation with converged_ and the lower bound."""
    model, previous, out = fit_scenario(GaussianMixture, path, scenario, capsys, verbose=verbose,
                                        verbose_interval=interval)
    n_init = 1 if scenario == "warm_start" else model.n_init
    if model.max_iter:
        assert model.n_iter_ >= 3 and len(model.lower_bounds_) == model.n_iter_
    assert without_time_lapses(out).splitlines() == expected_lines(model, n_init, verbose, interval, previous)


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("path", PATHS)
def test_progress_reports_every_iteration_of_every_initialisation(path, scenario, capsys):
    """One FitProgress per iteration per initialisation: its initialisation,
    n_init, iteration 1..n_iter_, max_iter, the lower bound of lower_bounds_
    and its change from the one before (NaN at a fresh start, the last fit's
    lower bound on a warm start); nothing when max_iter = 0."""
    reports = []
    model, previous, out = fit_scenario(GaussianMixture, path, scenario, capsys, progress=reports.append)
    assert out == ""
    n_init = 1 if scenario == "warm_start" else model.n_init
    if model.max_iter == 0:
        assert reports == []
        return
    assert [(p.init, p.iteration) for p in reports] == [
        (init, iteration) for init in range(n_init) for iteration in range(1, model.n_iter_ + 1)]
    assert {(p.n_init, p.max_iter) for p in reports} == {(n_init, model.max_iter)}
    for init in range(n_init):
        run = [p for p in reports if p.init == init]
        np.testing.assert_allclose([p.lower_bound for p in run], model.lower_bounds_, rtol=1e-12)
        before = math.nan if previous is None else previous
        want = np.diff([before, *model.lower_bounds_])
        np.testing.assert_allclose([p.change for p in run], want, rtol=1e-9, atol=1e-12)
    elapsed = [p.elapsed for p in reports]
    assert elapsed[0] >= 0 and elapsed == sorted(elapsed)
