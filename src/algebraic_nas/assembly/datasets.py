"""Input shapes of the known datasets (REFERENCE §3, §6), for building networks without data.

The evaluation package owns datasets (``algebraic_nas.evaluation.get_dataset_spec``); this small
table lets the assembler and its CLI commands work without importing it (imports flow
grammar → assembly → evaluation).
"""

from __future__ import annotations

from .shapes import InputSpec

DATASETS: dict[str, InputSpec] = {
    "cifar10": InputSpec(3, 32, 10),
    "cifar100": InputSpec(3, 32, 100),
    "imagenet16-120": InputSpec(3, 16, 120),
    "addnist": InputSpec(3, 28, 20),
    "cifartile": InputSpec(3, 64, 4),
    "digits": InputSpec(1, 8, 10),
}


def dataset_spec(name: str) -> InputSpec:
    """``InputSpec(channels, resolution, classes)`` of dataset ``name``.

    Asks the evaluation package first (it knows every dataset it can load); falls back to the
    table above. Raises ``ValueError`` naming the known datasets for an unknown name.
    """
    try:
        from algebraic_nas.evaluation import get_dataset_spec
    except ImportError:
        get_dataset_spec = None
    if get_dataset_spec is not None:
        try:
            return InputSpec(*get_dataset_spec(name))
        except (KeyError, ValueError):
            pass
    key = name.strip().lower()
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}")
    return DATASETS[key]
