"""The executor interface: where evaluations run. The driver submits tasks and collects the
finished ones; it never has more tasks in flight than ``executor.slots``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Optional

from algebraic_nas.search.worker import EvaluationTask

Finished = tuple[EvaluationTask, dict]


class Executor(ABC):
    """Runs :class:`EvaluationTask`s; ``slots`` of them at a time."""

    slots: int = 1

    @abstractmethod
    def submit(self, task: EvaluationTask) -> None:
        """Start (or queue) ``task``; the driver submits at most ``slots`` unfinished tasks."""

    @abstractmethod
    def wait(self, timeout: Optional[float] = None) -> list[Finished]:
        """Block until at least one task finished (or ``timeout`` seconds passed: maybe ``[]``);
        return every finished task with its record dict."""

    @abstractmethod
    def in_flight(self) -> int:
        """Number of submitted tasks not yet returned by :meth:`wait`."""

    def cancel_all(self) -> list[EvaluationTask]:
        """Abandon unfinished tasks (at the end of a wall-time budget); returns them."""
        return []

    def close(self) -> None:
        """Release workers and connections (only those the executor created)."""

    def describe(self) -> str:
        return type(self).__name__

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
