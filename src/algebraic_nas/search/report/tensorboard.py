"""Optional TensorBoard logging of a search (config key ``logger: tensorboard``).

When the user has the ``tensorboard`` package, the driver writes into ``RUN_DIR/tensorboard/``
after every finished evaluation (step = the evaluation's number in finishing order):

* ``evaluation/<objective>`` — each measured objective of the evaluation (``valid_error``,
  ``params``, ...; failed evaluations have none);
* ``incumbent/valid_error`` — the best validation error so far (at the highest fidelity seen);
* ``evaluation/eval_time_s`` and ``evaluation/failed`` (1 for a failure, else 0).

``tensorboard --logdir RUN_DIR/tensorboard`` shows them. Without the package nothing changes
unless the logger is asked for: then :func:`tensorboard_logger` raises a
:class:`~algebraic_nas.errors.ConfigError` naming the key and the package before the search starts.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Callable

from algebraic_nas.errors import ConfigError
from algebraic_nas.search.proposal import fidelity_rank

#: The config key and its values.
LOGGER_KEY = "logger"
LOGGERS = ("none", "tensorboard")
LOG_DIR = "tensorboard"


def make_logger(name: Any, run_dir: str | os.PathLike) -> Callable[[Any], None] | None:
    """The driver hook of ``logger: NAME`` (``None`` for ``none``/null)."""
    if name in (None, "", "none"):
        return None
    if name != "tensorboard":
        raise ConfigError(f"{LOGGER_KEY}={name!r}: unknown logger; choose one of {', '.join(LOGGERS)}")
    return tensorboard_logger(run_dir)


def tensorboard_logger(run_dir: str | os.PathLike) -> Callable[[Any], None]:
    """A hook called with each finished store row that logs it to ``RUN_DIR/tensorboard``."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as exc:  # torch's module needs the tensorboard package
        raise ConfigError(f"{LOGGER_KEY}=tensorboard needs the tensorboard package, which is not installed "
                          f"(pip install tensorboard), or {LOGGER_KEY}=none") from exc
    writer = SummaryWriter(log_dir=str(Path(run_dir) / LOG_DIR))
    state = {"n": 0, "best": math.inf, "rank": None}

    def log(row: Any) -> None:
        state["n"] += 1
        step = state["n"]
        failed = row.status == "failed"
        writer.add_scalar("evaluation/failed", float(failed), step)
        if row.eval_time_s is not None:
            writer.add_scalar("evaluation/eval_time_s", float(row.eval_time_s), step)
        for name, value in sorted((row.objectives or {}).items()):
            if isinstance(value, (int, float)) and math.isfinite(value):
                writer.add_scalar(f"evaluation/{name}", float(value), step)
        if not failed and row.valid_error is not None and math.isfinite(row.valid_error):
            rank = fidelity_rank(row.fidelity)
            if state["rank"] is None or rank > state["rank"]:  # a higher fidelity: a new, comparable series
                state["rank"], state["best"] = rank, row.valid_error
            elif rank == state["rank"]:
                state["best"] = min(state["best"], row.valid_error)
        if math.isfinite(state["best"]):
            writer.add_scalar("incumbent/valid_error", state["best"], step)
        writer.flush()

    return log
