"""A synthetic multi-fidelity objective with checkpoints, for the Hyperband/BOHB tests.

``mf_toy_evaluate`` takes ``evaluate``'s keyword arguments: its error is the toy error plus
``0.3 / epochs`` (longer training is better); ``checkpoint_out`` is a small JSON file holding
the epochs trained; ``checkpoint_in`` continues from one (a missing one: retrain, with the
reason), so ``epochs_trained`` is what this call cost. ``delay_s`` per epoch trained makes two
workers overlap.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, Optional

from search_fakes import toy_error

def mf_toy_evaluate(term: str, grammar: str = "", dataset: str = "", protocol: Any = None, seed: int = 0,
                    device: str = "cpu", data_root: Any = None, overrides: Any = None,
                    checkpoint_in: Optional[str] = None, checkpoint_out: Optional[str] = None,
                    delay_s: float = 0.0) -> dict:
    overrides = dict(overrides or {})
    epochs = int(overrides.get("epochs", 4))
    start, continued, reason = 0, None, ""
    if checkpoint_in is not None:
        try:
            with open(checkpoint_in) as f:
                saved = json.load(f)
            if saved["term"] != term:
                raise ValueError("another term's checkpoint")
            start, continued = int(saved["epochs"]), checkpoint_in
        except (OSError, ValueError, KeyError) as exc:
            reason = f"checkpoint {checkpoint_in}: {type(exc).__name__}"
    time.sleep(delay_s * (epochs - start))
    record = {"term": term, "outcome": "ok", "valid_error": toy_error(term) + 0.3 / epochs, "params": 1000,
              "flops": 2000, "wall_time_s": 0.0, "device": device, "epochs": epochs, "epochs_trained": epochs - start,
              "continued_from": continued, "retrain_reason": reason, "overrides": overrides, "checkpoint": None}
    if checkpoint_out is not None:
        os.makedirs(os.path.dirname(checkpoint_out), exist_ok=True)
        with open(checkpoint_out, "w") as f:
            json.dump({"term": term, "epochs": epochs}, f)
        record["checkpoint"] = checkpoint_out
    return record


def slow_mf_toy_evaluate(term: str, **kwargs: Any) -> dict:
    """``mf_toy_evaluate`` taking 0.05 s per epoch trained (two workers overlap)."""
    return mf_toy_evaluate(term, delay_s=0.05, **kwargs)


class PromotionGate:
    """Makes "a promotion starts while a first-rung evaluation still runs" happen for certain in a
    two-worker run (threads of one process), instead of hoping the timing gives it: one first-rung
    evaluation at a time holds its worker until a promoted evaluation (``epochs > 1``) has started,
    while the other worker goes on; ``timed_out`` says whether the wait had to give up (then the
    scheduler did not promote without waiting)."""

    def __init__(self, timeout_s: float = 20.0) -> None:
        import threading

        self.promoted = threading.Event()
        self.holding = threading.Lock()
        self.timeout_s = timeout_s
        self.timed_out = False
        self.held = 0

    def wait_if_first_rung(self, epochs: int) -> None:
        if epochs > 1:
            self.promoted.set()
        elif not self.promoted.is_set() and self.holding.acquire(blocking=False):
            try:
                self.held += 1
                self.timed_out = not self.promoted.wait(self.timeout_s)
            finally:
                self.holding.release()


GATE = PromotionGate()


def gated_mf_toy_evaluate(term: str, **kwargs: Any) -> dict:
    """``slow_mf_toy_evaluate`` that first passes :data:`GATE` (reset it before each run)."""
    GATE.wait_if_first_rung(int(dict(kwargs.get("overrides") or {}).get("epochs", 4)))
    return slow_mf_toy_evaluate(term, **kwargs)
