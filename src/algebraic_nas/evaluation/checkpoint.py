"""Training checkpoints: one ``torch.save`` file per evaluation, to continue its training later.

A checkpoint is a dict of tensors and plain values (read back with ``torch.load(...,
weights_only=True)``: loading one never runs code):

* ``model``, ``optimizer``: state dicts (CPU tensors); ``epochs_done``: epochs trained so far;
* ``generator``, ``torch_rng``, ``cuda_rng``: the random streams, so that a continued run is the
  run trained straight through (see :mod:`.trainer`);
* ``train_losses``, ``valid_errors``, ``epoch_times_s``: the per-epoch history so far;
* what it is a checkpoint *of*: ``term`` (text), ``grammar`` (name or path), ``dataset``,
  ``seed`` (the network/training seed), ``protocol`` (the full protocol dict; its ``epochs`` is
  the length of the learning-rate schedule), ``format_version``.

:func:`load_checkpoint` refuses (:class:`CheckpointError`, with the reason) a file that is
missing, unreadable, of another format version, or of another term, grammar, dataset, seed or
training protocol; the evaluation then trains from scratch and records the reason.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Optional

import torch

from algebraic_nas.errors import AlgebraicNASError

from .train_state import TrainState

#: Version 2: generator topologies (NAGO) draw one graph per instance of a repeated subterm, so a
#: version-1 checkpoint's weights belong to a network that no longer builds from its term.
FORMAT_VERSION = 2
#: Why a checkpoint of an older format version cannot be continued from.
_OLD_FORMATS = {
    1: "it was written before generator terms (NAGO) drew an independent graph per instance, so its "
       "term now builds a different network",
}

# protocol fields that do not change what training computes: a checkpoint may differ in them
_NOT_TRAINING = ("name", "progress", "cpu_threads", "eval_batch_size", "eval_every_epoch",
                 "divergence_check_every", "latency_batch_size", "max_oom_retries", "min_micro_batch")


class CheckpointError(AlgebraicNASError):
    """A checkpoint cannot be continued from (missing, unreadable, or of another run)."""


def _training_fields(protocol: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in protocol.items() if k not in _NOT_TRAINING}


def save_checkpoint(path: str | os.PathLike, state: TrainState, *, term: str, grammar: str, dataset: str,
                    seed: int, protocol: Mapping[str, Any]) -> str:
    """Write ``state`` and what it belongs to to ``path`` (atomically: a temporary file renamed,
    so a killed worker never leaves half a checkpoint); returns the path as a string."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format_version": FORMAT_VERSION,
        "model": state.model, "optimizer": state.optimizer, "epochs_done": int(state.epochs_done),
        "generator": state.generator, "torch_rng": state.torch_rng, "cuda_rng": state.cuda_rng,
        "train_losses": list(state.train_losses), "valid_errors": list(state.valid_errors),
        "epoch_times_s": list(state.epoch_times_s),
        "term": str(term), "grammar": str(grammar), "dataset": str(dataset), "seed": int(seed),
        "protocol": dict(protocol),
    }
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return str(path)


def load_checkpoint(path: str | os.PathLike, *, term: Optional[str] = None, grammar: Optional[str] = None,
                    dataset: Optional[str] = None, seed: Optional[int] = None,
                    protocol: Optional[Mapping[str, Any]] = None) -> TrainState:
    """The :class:`TrainState` saved at ``path``, after checking that it belongs to this run:
    every given argument must equal the stored value (``protocol``: its training fields).
    Raises :class:`CheckpointError` saying why not."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - truncated, corrupt, or not a checkpoint at all
        raise CheckpointError(f"checkpoint {path} is unreadable: {type(exc).__name__}: {exc}") from exc
    if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
        version = data.get("format_version") if isinstance(data, dict) else None
        why = _OLD_FORMATS.get(version, "not a checkpoint this version of algebraic-nas writes")  # type: ignore[arg-type]
        raise CheckpointError(f"checkpoint {path}: format_version {version!r}, expected {FORMAT_VERSION}: {why}")
    expected = {"term": term, "grammar": grammar, "dataset": dataset, "seed": seed}
    for key, want in expected.items():
        if want is not None and data.get(key) != want:
            raise CheckpointError(f"checkpoint {path} is of {key} {str(data.get(key))[:80]!r}, not {str(want)[:80]!r}")
    if protocol is not None:
        mine, stored = _training_fields(protocol), _training_fields(data.get("protocol") or {})
        diff = sorted(k for k in set(mine) | set(stored) if mine.get(k) != stored.get(k))
        if diff:
            details = ", ".join(f"{k}: {stored.get(k)!r} vs {mine.get(k)!r}" for k in diff)
            raise CheckpointError(f"checkpoint {path} was trained under another protocol ({details})")
    try:
        return TrainState(
            model=data["model"], optimizer=data["optimizer"], epochs_done=int(data["epochs_done"]),
            generator=data["generator"], torch_rng=data["torch_rng"], cuda_rng=data.get("cuda_rng"),
            train_losses=list(data.get("train_losses") or []), valid_errors=list(data.get("valid_errors") or []),
            epoch_times_s=list(data.get("epoch_times_s") or []),
        )
    except KeyError as exc:
        raise CheckpointError(f"checkpoint {path} lacks {exc.args[0]!r}") from exc


def remove_checkpoint(path: Optional[str | os.PathLike]) -> bool:
    """Delete a checkpoint file if it is there; returns whether one was deleted."""
    if not path:
        return False
    try:
        os.remove(path)
        return True
    except FileNotFoundError:
        return False
