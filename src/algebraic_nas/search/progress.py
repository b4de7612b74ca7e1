"""Live progress of a search: a tqdm bar on a terminal, one status line per event otherwise.

Shows evaluations done (and failed) out of the budget, how many are running, the incumbent's
validation error, and elapsed / estimated remaining wall time.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import Optional, TextIO

log = logging.getLogger("algebraic_nas.search")

PROGRESS_MODES = ("auto", "bar", "log", "none")  # the values of the search's ``progress`` setting


def format_seconds(s: Optional[float]) -> str:
    """``3725`` → ``"1:02:05"``; ``None`` → ``"?"``."""
    if s is None or s != s or s == float("inf"):
        return "?"
    s = int(round(max(0.0, s)))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


@dataclass
class Status:
    """A snapshot of the search for the display."""

    done: int = 0
    failed: int = 0
    running: int = 0
    total: Optional[int] = None  # evaluation budget, if any
    best: Optional[float] = None
    elapsed: float = 0.0
    remaining: Optional[float] = None

    def line(self) -> str:
        total = f"/{self.total}" if self.total else ""
        best = f"{self.best:.4f}" if self.best is not None else "-"
        failed = f" ({self.failed} failed)" if self.failed else ""
        return (
            f"{self.done}{total} done{failed}, {self.running} running | best valid error {best} | "
            f"elapsed {format_seconds(self.elapsed)}, remaining ~{format_seconds(self.remaining)}"
        )


class Progress:
    """Args:
    mode: ``"auto"`` (a bar on a TTY, lines otherwise), ``"bar"``, ``"log"`` or ``"none"``.
    stream: where the bar goes (stderr).
    """

    def __init__(self, mode: str = "auto", stream: TextIO = sys.stderr) -> None:
        if mode not in PROGRESS_MODES:
            raise ValueError(f"progress must be one of {', '.join(PROGRESS_MODES)}, not {mode!r}")
        if mode == "auto":
            mode = "bar" if getattr(stream, "isatty", lambda: False)() else "log"
        self.mode = mode
        self.stream = stream
        self._bar = None
        self._last_line = ""

    def update(self, status: Status, event: bool = True) -> None:
        """Refresh the display; ``event`` says an evaluation started or ended (log mode prints
        only then, so that a non-interactive log gets one line per event)."""
        if self.mode == "bar":
            if self._bar is None:
                from tqdm import tqdm

                self._bar = tqdm(total=status.total, initial=status.done, file=self.stream, unit="eval", dynamic_ncols=True)
            self._bar.n = status.done
            best = f"{status.best:.4f}" if status.best is not None else "-"
            self._bar.set_postfix_str(
                f"running={status.running} failed={status.failed} best={best} remaining~{format_seconds(status.remaining)}",
                refresh=True,
            )
        elif self.mode == "log" and event:
            line = status.line()
            if line != self._last_line:
                log.info(line)
                self._last_line = line

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
