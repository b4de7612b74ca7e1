"""Which torch device an evaluation runs on: the one ``resolve_device`` of the project.

The search worker resolves ``"auto"`` with it too (``str(resolve_device("auto"))``), so a task
and the evaluation it runs agree on the device.
"""

from __future__ import annotations

from typing import Union

import torch


def resolve_device(device: Union[str, torch.device] = "auto") -> torch.device:
    """``"auto"`` → ``cuda`` when a GPU is visible to this process, else ``cpu``; other names as given.

    Raises :class:`RuntimeError` for a CUDA device when CUDA is not available (rather than
    failing later, inside the first ``.to(device)``).
    """
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {str(device)!r} requested but CUDA is not available")
    return dev


def describe_device(dev: torch.device) -> str:
    """``"cuda:0 (NVIDIA H100 ...)"`` for a GPU (its index and name), ``str(dev)`` otherwise."""
    if dev.type == "cuda":
        index = dev.index if dev.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return str(dev)
