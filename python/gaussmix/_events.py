"""What a fit reports while it runs: scikit-learn's verbose lines and the
``progress`` callback, both from the engine's one per-iteration event
(gaussmix/_engine.py), so every data source prints and reports the same."""
from __future__ import annotations

import math
import time
from typing import NamedTuple


class FitProgress(NamedTuple):
    """What ``fit(X, progress=...)`` reports after each EM iteration."""

    init: int            #: the initialisation, 0 .. n_init - 1
    n_init: int
    iteration: int       #: iterations done in this initialisation, 1 .. max_iter
    max_iter: int
    lower_bound: float   #: mean log-likelihood (per unit of weight) of the parameters the iteration started from
    change: float        #: lower_bound minus the previous one (NaN at a fresh start's first iteration)
    elapsed: float       #: seconds since fit began


class FitEvents:
    """The events of one fit call: ``begin(init)`` and ``end(run)`` around each
    initialisation's run, and ``iterations(init, previous)``, the
    per-iteration event of that run (None when nothing listens, so the
    engine's loop pays nothing). verbose and verbose_interval as
    scikit-learn's (its lines, to the letter); progress: a callable taking
    a :class:`FitProgress`, or None."""

    def __init__(self, verbose: int, verbose_interval: int, progress, n_init: int, max_iter: int):
        if progress is not None and not callable(progress):
            raise TypeError(f"progress must be a callable taking a FitProgress, got {type(progress).__name__}")
        self.verbose, self.verbose_interval, self.progress = int(verbose), int(verbose_interval), progress
        self.n_init, self.max_iter = n_init, max_iter
        self.fit_start = time.perf_counter()
        self.init_start = self.iteration_start = time.time()

    def begin(self, init: int) -> None:
        if self.verbose >= 1:
            print(f"Initialization {init}")
        if self.verbose >= 2:
            self.init_start = self.iteration_start = time.time()

    def iterations(self, init: int, previous: float):
        """on_iteration(index, lower_bound) for the run of initialisation init,
        whose previous lower bound is previous (NaN for a fresh start)."""
        if not self.verbose and self.progress is None:
            return None
        last = {"printed": previous if math.isfinite(previous) else -math.inf, "reported": previous}

        def on_iteration(index: int, lower_bound: float) -> None:
            n_iter = index + 1
            if self.verbose:
                change, last["printed"] = lower_bound - last["printed"], lower_bound
                self._print_iteration(n_iter, change)
            if self.progress is not None:
                change, last["reported"] = lower_bound - last["reported"], lower_bound
                self.progress(FitProgress(init, self.n_init, n_iter, self.max_iter, float(lower_bound),
                                          float(change), time.perf_counter() - self.fit_start))

        return on_iteration

    def _print_iteration(self, n_iter: int, change: float) -> None:
        if n_iter % self.verbose_interval != 0:
            return
        if self.verbose == 1:
            print(f"  Iteration {n_iter}")
        else:
            now = time.time()
            print(f"  Iteration {n_iter}\t time lapse {now - self.iteration_start:.5f}s\t ll change {change:.5f}")
            self.iteration_start = now

    def end(self, run) -> None:
        status = "converged" if run.converged else "did not converge"
        if self.verbose == 1:
            print(f"Initialization {status}.")
        elif self.verbose >= 2:
            print(f"Initialization {status}. time lapse {time.time() - self.init_start:.5f}s\t lower bound "
                  f"{run.lower_bound:.5f}.")
