"""The report of a bench script: each line printed as it is measured, and the
whole written to the script's committed results file only when asked with
``--out DIR`` (so that running a bench does not change the clone)."""
from __future__ import annotations

import argparse
import os
from pathlib import Path


class Report:
    def __init__(self, title: str, script: str, filename: str):
        self.title, self.script, self.filename = title, script, filename
        self.lines: list[str] = []

    def __call__(self, text: str) -> None:
        """Print text and keep it for the results file."""
        print(text, flush=True)
        self.lines.append(text)

    def add_out_option(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--out", type=Path, default=None,
                            help=f"directory to write {self.filename} to (default: print only; --out bench/ "
                                 "updates it)")

    def write(self, out_dir: Path | None) -> None:
        """The title, the command, the load average now, and the lines, to out_dir / filename (None: nothing)."""
        if out_dir is None:
            return
        (out_dir / self.filename).write_text(
            f"# {self.title}\n\n`python bench/{self.script}` (see its docstring for the method), load "
            f"{os.getloadavg()[0]:.2f} at the end.\n\n" + "\n".join(self.lines) + "\n")
