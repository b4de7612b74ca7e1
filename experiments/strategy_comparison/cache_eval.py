"""An evaluation function with a shared on-disk cache, for the strategy comparison.

Training is deterministic for a given (term, dataset, protocol, training seed), so two runs
that propose the same term get the same record; all strategies of one search seed start from
the same random terms (random search, BANAT's initial design of 10 and regularized evolution's
initial population of 30 draw them from identically seeded generators), so caching saves a
third of the training without changing any result. Used as
``evaluation_function=cache_eval:evaluate`` with this directory on ``sys.path``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path
from typing import Any, Optional

CACHE = Path(os.environ.get("STRATEGY_COMPARISON_CACHE", Path(__file__).with_name("eval_cache.sqlite")))


def _key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _db() -> sqlite3.Connection:
    db = sqlite3.connect(CACHE, timeout=60.0)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE IF NOT EXISTS cache (key TEXT PRIMARY KEY, record TEXT NOT NULL)")
    return db


def evaluate(term: str, grammar: str, dataset: str, protocol: Any, seed: int = 0, device: str = "cpu",
             data_root: Optional[str] = None, overrides: Optional[dict] = None) -> dict:
    """``algebraic_nas.evaluation.evaluate`` through the cache (failed records are not cached)."""
    key = _key(term, grammar, dataset, protocol, seed, overrides or {})
    with _db() as db:
        row = db.execute("SELECT record FROM cache WHERE key = ?", (key,)).fetchone()
    if row is not None:
        rec = json.loads(row[0])
        rec["cached"] = True
        return rec
    from algebraic_nas.evaluation import evaluate as real_evaluate

    rec = real_evaluate(term=term, grammar=grammar, dataset=dataset, protocol=protocol, seed=seed, device=device,
                        data_root=data_root, overrides=overrides).to_dict()
    if rec.get("outcome") == "ok":
        with _db() as db:
            db.execute("INSERT OR REPLACE INTO cache (key, record) VALUES (?, ?)", (key, json.dumps(rec)))
    rec["cached"] = False
    return rec
