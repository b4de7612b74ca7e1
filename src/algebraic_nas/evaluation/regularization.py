"""DARTS's training regularisation as protocol options: the auxiliary head's loss and drop path.

A network offers them through three members (DARTS's ``DartsNetwork`` has them; other networks
do not, and these functions then do nothing):

* ``enable_auxiliary()`` — add the auxiliary head (before the optimiser sees the parameters);
* ``auxiliary_logits`` — the head's logits of the last training-mode forward (``(N, classes)``);
* ``set_drop_path(p)`` — the drop path probability of the next training-mode forwards.

``protocol.auxiliary_weight`` w adds ``w · cross_entropy(auxiliary_logits, y)`` to the loss;
``protocol.drop_path`` p sets ``p · epoch / epochs`` at the start of each epoch (0-based), as
DARTS's ``train.py`` does.
"""

from __future__ import annotations

from typing import Union

import torch
import torch.nn.functional as F
from torch import nn

from .protocols import Protocol

__all__ = ["with_auxiliary_head", "set_drop_path", "auxiliary_loss"]


def with_auxiliary_head(model: nn.Module, protocol: Protocol) -> nn.Module:
    """``model``, with its auxiliary head added when the protocol weighs one and the model has one."""
    if protocol.auxiliary_weight and hasattr(model, "enable_auxiliary"):
        model.enable_auxiliary()
    return model


def set_drop_path(model: nn.Module, protocol: Protocol, epoch: int) -> None:
    """Set the drop path probability of (0-based) ``epoch`` on a model that has drop path."""
    if protocol.drop_path and hasattr(model, "set_drop_path"):
        model.set_drop_path(protocol.drop_path * epoch / max(protocol.epochs, 1))


def auxiliary_loss(model: nn.Module, y: torch.Tensor, protocol: Protocol) -> Union[torch.Tensor, float]:
    """The weighted auxiliary loss of the last forward (0.0 without one)."""
    logits = getattr(model, "auxiliary_logits", None) if protocol.auxiliary_weight else None
    if logits is None:
        return 0.0
    return protocol.auxiliary_weight * F.cross_entropy(logits.float(), y, label_smoothing=protocol.label_smoothing)
