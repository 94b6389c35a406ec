"""A one-line progress bar on stderr for the command line's long fits and
sweeps: what is running, the iteration or fit count, the change of the
log-likelihood, the time so far and an estimate of the time left. It draws
only on a terminal (a pipe or a file gets nothing), at most 10 times a
second, and erases itself when done."""
from __future__ import annotations

import sys
import time


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


class ProgressBar:
    def __init__(self, stream=None, enabled: bool | None = None, width: int = 24):
        self.stream = sys.stderr if stream is None else stream
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = (bool(isatty and isatty())) if enabled is None else enabled
        self.width = width
        self.start = time.perf_counter()
        self.last_draw = 0.0
        self.drawn = False

    def _draw(self, fraction: float, text: str, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if not force and now - self.last_draw < 0.1:
            return
        self.last_draw = now
        elapsed = now - self.start
        filled = int(round(max(0.0, min(1.0, fraction)) * self.width))
        left = f", ~{_clock(elapsed * (1 - fraction) / fraction)} left" if 0 < fraction < 1 else ""
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r[{bar}] {text}  {_clock(elapsed)} elapsed{left}\x1b[K")
        self.stream.flush()
        self.drawn = True

    def fit_iteration(self, p, label: str = "") -> None:
        """A GaussianMixture.fit progress report (FitProgress). The time left
        assumes every initialisation runs max_iter iterations: an upper bound."""
        done = p.init * p.max_iter + p.iteration
        change = "" if p.change != p.change else f" (change {p.change:+.2e})"  # NaN: no change yet
        prefix = f"{label}  " if label else ""
        self._draw(done / (p.n_init * p.max_iter),
                   f"{prefix}init {p.init + 1}/{p.n_init}  iteration {p.iteration}  "
                   f"log-likelihood per row {p.lower_bound:.5g}{change}")

    def sweep_fit(self, done: int, total: int, candidate) -> None:
        """A select_model progress report: one fit of the sweep finished."""
        self._draw(done / total, f"fit {done}/{total}  K = {candidate.n_components} {candidate.covariance_type}  "
                                 f"BIC {candidate.bic:.6g}", force=done == total)

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.drawn = False
