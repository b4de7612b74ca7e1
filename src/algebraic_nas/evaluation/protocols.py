"""Training protocols as configuration: one frozen dataclass, a registry of named presets
(:func:`register_protocol`; each preset is an option of the ``protocol`` config group).

* ``nb201`` — NAS-Bench-201 (Dong & Yang 2020), used for CIFAR-10/100 and ImageNet16-120:
  SGD lr 0.1, Nesterov momentum 0.9, weight decay 5e-4, cosine annealing to 0 updated every
  iteration, batch 256, 200 epochs, random flip + random crop with 4 px zero padding at 32×32
  (2 px at 16×16), per-channel normalisation.
* ``cvprnas`` — CVPR-NAS 2021 competition, used for AddNIST and CIFARTile: SGD lr 0.01,
  momentum 0.9 (no Nesterov), weight decay 3e-4, cosine annealing updated once per epoch,
  batch 64, 64 epochs, no augmentation, no normalisation (the ``.npy`` data is used as given).
* ``quick`` — for searches on the embedded offline tasks (``digits``, ``clutterdigits``) on a CPU:
  SGD lr 0.1, Nesterov momentum 0.9, weight decay 5e-4, cosine per iteration, batch 32,
  4 epochs, random crop with 1 px padding at 8×8, no flip (digits are not mirror-symmetric),
  normalisation. Chosen so that one typical ``hnb201`` network trains in a few seconds on one
  CPU thread while architectures still differ clearly (``benchmarks/bench_evaluation.py``,
  16 sampled networks × 2 seeds, busy 2-core machine: median 4.7 CPU s per evaluation on
  ``digits``, 5–7 on ``clutterdigits``; error spread across networks 8–10× that across seeds).
  ``epochs=2`` halves the cost (3.4 CPU s on ``clutterdigits``) and keeps a 7.5× spread, with
  higher errors (best 0.23 instead of 0.14).

* ``tiny`` — smoke tests and trying out a setup: ``quick`` for one epoch.

Every field can be overridden: ``get_protocol("nb201", epochs=12, batch_size=128)``; a new
preset is one call: ``register_protocol("short201", base="nb201", epochs=12)``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Union

from algebraic_nas.registry import Registry


# --- the one rule table: what each field of Protocol accepts ------------------------------------
# (checked by Protocol itself and, naming the config key, by the search's pre-run check)

Rule = tuple[Callable[[Any], bool], str]


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _number(ok: Callable[[float], bool], text: str) -> Rule:
    return (lambda v: _is_number(v) and ok(v), text)


def _integer(low: int) -> Rule:
    return (lambda v: _is_int(v) and v >= low, f"must be an integer >= {low}")


def _optional(rule: Rule, none_means: str) -> Rule:
    return (lambda v: v is None or rule[0](v), f"{rule[1]} or null ({none_means})")


def _choice(*values: Any) -> Rule:
    return (lambda v: any(v == x and type(v) is type(x) for x in values),
            "must be one of " + ", ".join(str(x) for x in values))


_POSITIVE = _number(lambda v: v > 0, "must be a number > 0")
_NON_NEGATIVE = _number(lambda v: v >= 0, "must be a number >= 0")
_FRACTION = _number(lambda v: 0 <= v < 1, "must be a number in [0, 1)")
PROGRESS_MODES = ("auto", "bar", "log", "none")
COMPILE_MODES = (False, True, "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")

#: field -> (accepts(value), what it accepts in words); fields not listed accept any value of their type
PROTOCOL_RULES: dict[str, Rule] = {
    "optimizer": _choice("sgd", "adamw"),
    "lr": _POSITIVE,
    "momentum": _FRACTION,
    "nesterov": _choice(True, False),
    "weight_decay": _NON_NEGATIVE,
    "schedule": _choice("cosine", "constant"),
    "schedule_step": _choice("iteration", "epoch"),
    "min_lr": _NON_NEGATIVE,
    "batch_size": _integer(1),
    "epochs": _integer(1),
    "train_fraction": _number(lambda v: 0 < v <= 1, "must be a number in (0, 1]"),
    "crop_padding": _integer(0),
    "grad_clip": _optional(_POSITIVE, "no clipping"),
    "label_smoothing": _FRACTION,
    "auxiliary_weight": _optional(_NON_NEGATIVE, "off"),
    "drop_path": (lambda v: v is None or (_is_number(v) and 0 <= v < 1), "must be in [0, 1) or null (off)"),
    "eval_batch_size": _integer(1),
    "cpu_threads": _optional(_integer(1), "one thread"),
    "max_oom_retries": _integer(0),
    "min_micro_batch": _integer(1),
    "divergence_check_every": _integer(1),
    "progress": _choice(*PROGRESS_MODES),
    "latency_batch_size": _integer(1),
    "compile": _choice(*COMPILE_MODES),
}


def protocol_problems(fields: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any, str]]:
    """``(field, value, what it accepts)`` for every field of ``fields`` (a protocol as a
    mapping) that breaks :data:`PROTOCOL_RULES`, then ``min_lr`` above ``lr``; ``[]`` when none.
    ``prefix`` goes before a field named in the text (``"protocol."`` in a search config)."""
    out = [(k, fields[k], text) for k, (ok, text) in PROTOCOL_RULES.items() if k in fields and not ok(fields[k])]
    if not out and fields.get("min_lr", 0) > fields.get("lr", math.inf):
        out.append(("min_lr", fields["min_lr"], f"must be <= {prefix}lr ({fields['lr']})"))
    return out


@dataclass(frozen=True)
class Protocol:
    """How to train and evaluate one network.

    Optimisation: ``optimizer`` is ``"sgd"`` (the papers') or ``"adamw"``; ``lr`` is the peak
    learning rate; ``momentum``: SGD's momentum (AdamW ignores it); ``nesterov``: Nesterov momentum
    (SGD); ``weight_decay``: the L2 penalty (decoupled for AdamW); ``schedule`` is ``"cosine"``
    (annealed to min_lr over all epochs) or ``"constant"``; ``min_lr``: the rate the cosine
    schedule ends at; ``schedule_step`` is ``"iteration"`` (the rate changes after every
    optimiser step) or ``"epoch"`` (once per epoch); ``epochs``: passes over the training split;
    ``grad_clip``: the largest gradient norm (null: no clipping); ``label_smoothing``: the cross
    entropy's label smoothing. ``batch_size`` is the effective batch; the trainer may split it
    into micro-batches with gradient accumulation after a CUDA out-of-memory error:
    ``max_oom_retries``: at most this many halvings; ``min_micro_batch``: never below this many
    examples.

    Data: ``flip`` (horizontal, p = 0.5), ``crop_padding`` (random crop after zero padding, in
    pixels *at 32×32*: scaled with the input resolution and rounded, at least 1 if non-zero,
    so 4 gives 4 px at 32×32, 2 px at 16×16, 8 px at 64×64), ``normalize`` (per-channel mean/std
    of the dataset). Augmentation runs on the training device, in batch. ``train_fraction`` (1:
    all) trains on that stratified, nested share of the training split (a fidelity other than
    epochs; a checkpoint of another fraction is not continued).

    Execution: ``bf16`` (autocast on CUDA), ``channels_last`` (CUDA memory format), ``compile``
    (``False``, ``True`` or a ``torch.compile`` mode such as ``"reduce-overhead"``),
    ``cpu_threads`` (``torch.set_num_threads`` for the run; ``None`` leaves it),
    ``eval_batch_size`` (examples per forward pass when measuring the validation error), ``eval_every_epoch`` (also record the validation error after every
    epoch), ``divergence_check_every`` (optimiser steps between NaN/inf checks of the loss, which
    synchronise a GPU), ``progress`` (``"auto"``: a tqdm bar on an interactive terminal, log lines
    otherwise; ``"bar"``, ``"log"`` or ``"none"``).

    DARTS's regularisation (networks with an auxiliary head position and drop path, i.e.
    ``DartsCIFAR`` terms; other networks ignore it; ``None``: off): ``auxiliary_weight`` (DARTS:
    0.4) adds that multiple of the auxiliary head's loss; ``drop_path`` (DARTS: 0.2) is the drop
    path probability of the last epoch, raised linearly from 0 as in DARTS (epoch e of E: p·e/E).

    Measurement: ``latency_batch_size`` is the batch whose forward time is the ``latency_ms``
    objective (1: the latency of serving one input; see :mod:`.objectives`).
    """

    name: str = "custom"
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    schedule: str = "cosine"
    schedule_step: str = "iteration"
    min_lr: float = 0.0
    batch_size: int = 256
    epochs: int = 200
    train_fraction: float = 1.0
    flip: bool = True
    crop_padding: int = 4
    normalize: bool = True
    grad_clip: Optional[float] = None
    label_smoothing: float = 0.0
    auxiliary_weight: Optional[float] = None
    drop_path: Optional[float] = None
    eval_batch_size: int = 1024
    eval_every_epoch: bool = False
    bf16: bool = False
    channels_last: bool = False
    compile: Union[bool, str] = False
    cpu_threads: Optional[int] = None
    max_oom_retries: int = 4
    min_micro_batch: int = 4
    divergence_check_every: int = 20
    progress: str = "auto"
    latency_batch_size: int = 1

    def __post_init__(self) -> None:
        for key, value, text in protocol_problems(dataclasses.asdict(self)):
            raise ValueError(f"protocol {self.name!r}: {key} {text} (got {value!r})")

    def crop_padding_for(self, resolution: int) -> int:
        """Padding in pixels for an input of ``resolution`` (``crop_padding`` is given at 32×32)."""
        if self.crop_padding == 0:
            return 0
        return max(1, round(self.crop_padding * resolution / 32))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


PROTOCOL_REGISTRY: Registry[Protocol] = Registry("protocol", key="protocol.name")
PROTOCOLS: Mapping[str, Protocol] = PROTOCOL_REGISTRY.view()  # read-only, live: name -> Protocol


def register_protocol(protocol_or_name: Union[Protocol, str], *, base: Optional[str] = None, **fields: Any) -> Protocol:
    """Register a preset (a ``protocol`` config group option; :func:`get_protocol` finds it).

    Either a :class:`Protocol` (registered under its ``name``, ``fields`` applied), or a name
    with the preset's ``fields``, starting from the preset ``base`` if given, else from the
    :class:`Protocol` defaults: ``register_protocol("tiny", base="quick", epochs=1)``.
    Registering a name again warns and replaces it. Returns the registered protocol.
    """
    if isinstance(protocol_or_name, Protocol):
        protocol = _replace(protocol_or_name, fields)
    elif isinstance(protocol_or_name, str):
        start = PROTOCOL_REGISTRY.get(base) if base is not None else Protocol()
        protocol = _replace(start, {**fields, "name": protocol_or_name})
    else:
        raise TypeError(f"expected a Protocol or a name, not {type(protocol_or_name).__name__}")
    PROTOCOL_REGISTRY.add(protocol.name, protocol, stacklevel=3)
    return protocol


def protocol_names() -> list[str]:
    """The registered presets, sorted."""
    return PROTOCOL_REGISTRY.names()


def get_protocol(name: Union[str, Protocol, Mapping[str, Any]], **overrides: Any) -> Protocol:
    """The named preset with ``overrides`` applied (unknown field names are an error).

    ``name`` may also be a :class:`Protocol` or a mapping; a mapping's ``"name"`` picks the
    preset it starts from (a name that is no preset starts from the :class:`Protocol` defaults)
    and its other keys are overrides, e.g. ``{"name": "quick", "epochs": 2}``.
    """
    if isinstance(name, Protocol):
        base = name
    elif isinstance(name, Mapping):
        d = dict(name)
        base_name = d.pop("name", "custom")
        base = PROTOCOLS.get(base_name, Protocol(name=str(base_name)))
        overrides = {**d, **overrides}
    elif isinstance(name, str):
        base = PROTOCOL_REGISTRY.get(name)  # ConfigError (a ValueError) naming the known presets
    else:
        raise TypeError(f"protocol must be a name, a mapping or a Protocol, not {type(name).__name__}")
    return _replace(base, overrides)


def _replace(base: Protocol, overrides: Mapping[str, Any]) -> Protocol:
    """``base`` with ``overrides`` (unknown field names are an error naming the fields)."""
    if not overrides:
        return base
    fields = {f.name for f in dataclasses.fields(Protocol)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(f"unknown protocol field(s) {unknown} for {base.name!r}; fields: {', '.join(sorted(fields))}")
    return dataclasses.replace(base, **overrides)


# the built-in presets (see the module docstring)
register_protocol(
    "nb201", optimizer="sgd", lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4,
    schedule="cosine", schedule_step="iteration", batch_size=256, epochs=200,
    flip=True, crop_padding=4, normalize=True,
)
register_protocol(
    "cvprnas", optimizer="sgd", lr=0.01, momentum=0.9, nesterov=False, weight_decay=3e-4,
    schedule="cosine", schedule_step="epoch", batch_size=64, epochs=64,
    flip=False, crop_padding=0, normalize=False,
)
register_protocol(
    "quick", optimizer="sgd", lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4,
    schedule="cosine", schedule_step="iteration", batch_size=32, epochs=4,
    flip=False, crop_padding=4, normalize=True, eval_batch_size=500,
)
register_protocol("tiny", base="quick", epochs=1)
