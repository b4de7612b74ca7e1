"""Which training checkpoints a search keeps: the top-level config key ``checkpoints``.

Evaluations save their trained state to ``RUN_DIR/checkpoints/<eval_id>.pt`` (see
``search/worker.py``). After every finished evaluation (and each one replayed on resume) the
driver's :class:`CheckpointKeeper` removes the files nobody needs any more:

* ``best`` (default): keep the checkpoints a promotion may still continue from (the strategy's
  ``live_checkpoints()``, e.g. Hyperband's) and the incumbent's (:mod:`algebraic_nas.search.incumbent`:
  the best evaluation at the highest fidelity reached, the model to export); remove the others.
* ``all``: keep every checkpoint.
* ``none``: keep only those a promotion may still continue from; with a strategy that never
  continues training, evaluations save nothing at all.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any, Callable

from algebraic_nas.errors import ConfigError
from algebraic_nas.search.incumbent import incumbent
from algebraic_nas.search.proposal import Result

log = logging.getLogger(__name__)

POLICIES = ("best", "all", "none")


def check_policy(value: Any) -> str:
    """``value`` if it is a policy, else a :class:`ConfigError` naming the key."""
    if value not in POLICIES:
        raise ConfigError(f"checkpoints={value!r}: must be one of {', '.join(POLICIES)}")
    return str(value)


def accepts_checkpoints(function: Callable[..., Any]) -> bool:
    """Whether an evaluation function takes ``checkpoint_out`` (by name or ``**kwargs``): only
    then does a search ask it to save checkpoints."""
    try:
        params = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "checkpoint_out" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def saves_checkpoints(policy: str, strategy: Any) -> bool:
    """Whether evaluations of a search should save checkpoints: always unless the policy is
    ``none`` and the strategy never continues training."""
    return policy != "none" or bool(strategy.continues)


class CheckpointKeeper:
    """Removes the checkpoint files of finished evaluations that the policy does not keep; the
    driver calls :meth:`update` with every result.

    Args:
        policy: ``best``, ``all`` or ``none`` (see the module docstring).
        objectives: the search's objectives (the first decides the incumbent).
    """

    def __init__(self, policy: str = "best", objectives: tuple[str, ...] = ("valid_error",)) -> None:
        self.policy = check_policy(policy)
        self.objectives = objectives
        self.removed: set[str] = set()
        self.results: list[Result] = []  # the finished evaluations, in finishing order

    def keep(self, strategy: Any) -> set[str]:
        """The checkpoint paths to keep now: the strategy's live ones (only a strategy that
        ``continues`` training has any) and, for ``best``, the incumbent's."""
        keep = set(strategy.live_checkpoints()) if strategy.continues else set()
        if self.policy == "best":
            best = incumbent(self.results, objectives=self.objectives, fidelity=lambda r: r.fidelity,
                             value=lambda r, k: r.error if k == "valid_error" else r.objectives.get(k))
            path = best.record.get("checkpoint") if best is not None else None
            if path:
                keep.add(str(path))
        return keep

    def update(self, result: Result, strategy: Any) -> list[str]:
        """Note ``result`` (after the strategy observed it), then remove every checkpoint not
        kept; returns the paths removed now."""
        from algebraic_nas.evaluation.checkpoint import remove_checkpoint

        if self.policy == "all":
            return []
        self.results.append(result)
        keep = self.keep(strategy)
        removed = []
        for r in self.results:
            path = r.record.get("checkpoint")
            if not path or path in keep or path in self.removed:
                continue
            self.removed.add(path)
            try:
                if remove_checkpoint(path):
                    removed.append(path)
            except OSError as exc:  # a file we cannot remove must not stop the search
                log.warning("cannot remove checkpoint %s: %s", path, exc)
        return removed
