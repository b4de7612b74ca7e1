"""``torch_threads``: run a block with a given number of torch intra-op threads.

Shared by the trainer and the GP: on small CPU workloads one thread is often far faster than
several (thread spinning on a loaded 2-core machine made GP fits 40× and training epochs 23×
slower), so both pin their thread count for the duration of their work and restore it after.
"""

from __future__ import annotations

import contextlib
from typing import Iterator, Optional

import torch


@contextlib.contextmanager
def torch_threads(n: Optional[int]) -> Iterator[None]:
    """Temporarily run torch with ``n`` intra-op threads (``None``: leave the setting as it is)."""
    if n is None or n == torch.get_num_threads():
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)
