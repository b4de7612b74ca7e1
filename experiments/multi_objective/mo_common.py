"""One evaluation of the multi-objective experiment: issue 10's cached NAGO evaluation plus the
memory per sample.

The evaluation is ``experiments/nago_generators/common.py``'s: ``evaluate(term, grammar,
"clutterdigits", quick protocol with 1 epoch, seed)`` on one torch thread, cached by (term,
grammar, dataset, resolved protocol, seed) in ``eval_cache.sqlite`` of *this* directory (not
committed), so a term that several strategies propose is trained once. To its record this adds
``objectives["memory_per_sample_mb"]`` (:mod:`mps`), measured on the untrained network of the
same term and network seed (deterministic; also for records that came from the cache).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("NAGO_EXPERIMENT_CACHE", str(HERE / "eval_cache.sqlite"))


def _load(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


nago_common = _load("nago_common", HERE.parent / "nago_generators" / "common.py")
import mps  # noqa: E402  (registers the objective in this process)

DATASET = nago_common.DATASET
# issue 10's protocol (quick, 1 epoch, one thread) as a search passes it (with its progress
# setting): the cache key is the resolved protocol, so Optuna's trials and searches share records
PROTOCOL = {**nago_common.PROTOCOL, "progress": "none"}


@functools.lru_cache(maxsize=4096)
def memory_per_sample(term: str, grammar: str, dataset: str, seed: int) -> Optional[float]:
    """:func:`mps.memory_per_sample_mb` of the untrained network of ``term`` (``None`` if it does not build)."""
    import torch

    from algebraic_nas.evaluation import get_dataset_spec
    from algebraic_nas.evaluation.evaluate import build_from_term
    from algebraic_nas.threads import torch_threads

    spec = get_dataset_spec(dataset)
    try:
        with torch_threads(1), torch.random.fork_rng(devices=[]):
            net = build_from_term(term, grammar, spec, seed=seed)
            return mps.memory_per_sample_mb(net, spec.channels, spec.resolution)
    except Exception:  # noqa: BLE001 - the evaluation itself says why it failed
        return None


def evaluate(term: str, grammar: str, dataset: str = DATASET, protocol: Any = None, seed: int = 0,
             device: str = "cpu", data_root: Optional[str] = None, overrides: Optional[dict] = None) -> dict:
    """The search's ``evaluation_function``: the cached evaluation with ``memory_per_sample_mb``."""
    protocol = PROTOCOL if protocol is None else protocol
    rec = dict(nago_common.evaluate(term, grammar, dataset, protocol, seed, device, data_root, overrides))
    objectives = dict(rec.get("objectives") or {})
    value = memory_per_sample(term, grammar, dataset, seed)
    if value is not None:
        objectives[mps.NAME] = value
    rec["objectives"] = objectives
    return rec
