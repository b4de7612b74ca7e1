"""The in-process executor: one evaluation at a time in the driver's process (the default
with one worker: no extra processes, easy to debug)."""

from __future__ import annotations

from collections import deque
from typing import Optional

from algebraic_nas.search.executors.base import Executor, Finished
from algebraic_nas.search.worker import EvaluationTask, run_task


class InProcessExecutor(Executor):
    """Evaluates in the calling process, one task at a time, when :meth:`wait` is called.

    A wall-time budget can only be checked between evaluations here: a running evaluation is
    not interrupted.
    """

    def __init__(self) -> None:
        self.slots = 1
        self._queue: deque[EvaluationTask] = deque()

    def submit(self, task: EvaluationTask) -> None:
        self._queue.append(task)

    def wait(self, timeout: Optional[float] = None) -> list[Finished]:
        if not self._queue:
            return []
        task = self._queue.popleft()
        return [(task, run_task(task))]

    def in_flight(self) -> int:
        return len(self._queue)

    def cancel_all(self) -> list[EvaluationTask]:
        tasks = list(self._queue)
        self._queue.clear()
        return tasks

    def describe(self) -> str:
        return "in-process (1 worker)"
