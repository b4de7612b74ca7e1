"""Benchmarks: `make bench` (= `python -m benchmarks`) prints one JSON object per line.

Each `benchmarks/bench_*.py` module defines ``run(quick: bool) -> Iterable[dict]`` yielding
records made with :func:`record`.
"""

from __future__ import annotations

import time
from typing import Any, Callable


def record(name: str, value: float, unit: str, **settings: Any) -> dict:
    """One benchmark figure: ``{"name", "value", "unit", "settings"}``."""
    return {"name": name, "value": value, "unit": unit, "settings": settings}


def timeit(fn: Callable[[], Any], repeat: int = 5, min_time: float = 0.0) -> list[float]:
    """Wall times in seconds of ``repeat`` calls of ``fn`` (continues until ``min_time`` is spent)."""
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < repeat or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times
