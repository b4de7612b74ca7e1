"""Per-epoch progress: a tqdm bar on an interactive terminal, one log line per epoch otherwise."""

from __future__ import annotations

import logging
import sys
import time
from typing import Optional

log = logging.getLogger("algebraic_nas.evaluation")


class EpochProgress:
    """``mode``: ``"auto"`` (bar when stderr is a terminal, else log), ``"bar"``, ``"log"``, ``"none"``."""

    def __init__(self, epochs: int, mode: str = "auto", label: str = "") -> None:
        if mode == "auto":
            mode = "bar" if _interactive() else "log"
        self.mode, self.epochs, self.label = mode, epochs, label or "train"
        self.start = time.perf_counter()
        self.bar = None
        if mode == "bar":
            from tqdm.auto import tqdm

            self.bar = tqdm(total=epochs, desc=self.label[:40], unit="epoch", leave=False, file=sys.stderr)

    def update(self, epoch: int, loss: float, valid_error: Optional[float] = None) -> None:
        if self.mode == "bar" and self.bar is not None:
            post = {"loss": f"{loss:.3f}"}
            if valid_error is not None:
                post["val_err"] = f"{valid_error:.3f}"
            self.bar.set_postfix(post, refresh=False)
            self.bar.update(1)
        elif self.mode == "log":
            extra = f" val_err {valid_error:.4f}" if valid_error is not None else ""
            log.info("%s epoch %d/%d loss %.4f%s %.1fs", self.label, epoch, self.epochs, loss, extra,
                     time.perf_counter() - self.start)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _interactive() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
