"""Shared pieces of the NAGO generator experiment: the task, the training protocol and one
cached evaluation.

One evaluation is ``algebraic_nas.evaluation.evaluate(term, grammar, "clutterdigits",
PROTOCOL, seed=seed)``: build the term's network with network seed ``seed`` (it draws the random
graphs of every generator position *and* the initial weights) and train it. Training is
deterministic on the CPU, so records are cached by (term, grammar, dataset, protocol, seed) in
``eval_cache.sqlite`` (not committed): a term that a strategy proposes twice, or that two
strategies share, is trained once. Failed records are not cached.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("NAGO_EXPERIMENT_CACHE", HERE / "eval_cache.sqlite"))
# the cache store of experiments/strategy_comparison (same key and table), pointed at this directory
os.environ["STRATEGY_COMPARISON_CACHE"] = str(CACHE)
sys.path.insert(0, str(HERE.parent / "strategy_comparison"))
from cache_eval import evaluate as cached_evaluate  # noqa: E402

DATASET = "clutterdigits"
EPOCHS = int(os.environ.get("NAGO_EXPERIMENT_EPOCHS", "1"))
# ``quick`` (SGD 0.1 Nesterov, cosine, batch 32, crop 1 px) shortened to EPOCHS epochs, one thread
PROTOCOL: dict[str, Any] = {"name": "quick", "epochs": EPOCHS, "cpu_threads": 1}


def evaluate(term: str, grammar: str, dataset: str = DATASET, protocol: Any = None, seed: int = 0,
             device: str = "cpu", data_root: Optional[str] = None, overrides: Optional[dict] = None) -> dict:
    """``algebraic_nas.evaluation.evaluate`` through the cache, one torch thread; returns the record
    as a dict with ``cached`` (bool) added. Signature of the search's ``evaluation_function``."""
    import torch

    from algebraic_nas.evaluation.protocols import Protocol, get_protocol

    protocol = PROTOCOL if protocol is None else protocol
    # keyed by the resolved protocol, so a search's protocol config and PROTOCOL share records
    resolved = get_protocol(protocol if isinstance(protocol, (str, Protocol)) else dict(protocol),
                            **dict(overrides or {}))
    torch.set_num_threads(1)
    return cached_evaluate(term, grammar, dataset, resolved.to_dict(), seed=seed, device=device, data_root=data_root)
