"""The terms a GP's kernels index into, and the per-fit feature sources registered on them.

Kernel inputs are float tensors of shape (n, 1) holding integer indices into a :class:`PointSet`:
``0..n_train-1`` are the training terms, then the current query block. A :class:`Source` keeps
what is fixed once per fit (features, raw Gram matrices, distances) and is told when either set
changes; :func:`term_indices`, :func:`take` and :func:`check_indices` are the index helpers the
kernels share.
"""

from __future__ import annotations

from typing import Sequence

import torch

from algebraic_nas.grammar.term import Term
from algebraic_nas.surrogate.graphs import TermGraphs


class PointSet:
    """The terms a GP talks about: training terms then an exchangeable query block.

    Sources register here and are told when the training set or the query block changes.
    """

    def __init__(self, graphs: TermGraphs) -> None:
        self.graphs = graphs
        self.train: list[Term] = []
        self.query: list[Term] = []
        self.sources: list["Source"] = []

    @property
    def n_train(self) -> int:
        return len(self.train)

    def set_train(self, terms: Sequence[Term]) -> None:
        self.train = list(terms)
        self.query = []
        for s in self.sources:
            s.fit(self.train)

    def set_query(self, terms: Sequence[Term]) -> None:
        self.query = list(terms)
        for s in self.sources:
            s.set_query(self.query)

    def extend_query(self, terms: Sequence[Term]) -> None:
        """Append ``terms`` to the query block (the rows already there keep their indices and
        whatever their sources computed for them)."""
        new = list(terms)
        self.query = self.query + new
        for s in self.sources:
            s.extend_query(self.query, new)

    def train_x(self, dtype: torch.dtype = torch.float64, device=None) -> torch.Tensor:
        return torch.arange(self.n_train, dtype=dtype, device=device).unsqueeze(-1)

    def query_x(self, dtype: torch.dtype = torch.float64, device=None) -> torch.Tensor:
        return torch.arange(self.n_train, self.n_train + len(self.query), dtype=dtype, device=device).unsqueeze(-1)


def term_indices(x: torch.Tensor) -> torch.Tensor:
    """Integer term indices (n,) from a kernel input of shape (n, 1)."""
    if x.dim() != 2 or x.shape[-1] != 1:
        raise ValueError(f"kernel inputs must be (n, 1) tensors of term indices, got shape {tuple(x.shape)}")
    return x[:, 0].round().long()


def take(g: torch.Tensor, i1: torch.Tensor, i2: torch.Tensor, diag: bool) -> torch.Tensor:
    """``g[i1, i2]`` (diag) or ``g[i1][:, i2]``, without copying when the indices are 0..len-1."""
    if diag:
        return g[i1, i2]
    ident = lambda i, size: len(i) == size and bool((i == torch.arange(size, device=i.device)).all())
    rows = g if ident(i1, g.shape[0]) else g[i1]
    return rows if ident(i2, g.shape[1]) else rows[:, i2]


def check_indices(idx: torch.Tensor, n_train: int, n_total: int) -> bool:
    """Check that ``idx`` lies in ``[0, n_total)``; return whether all of it is training terms."""
    if len(idx) and (int(idx.min()) < 0 or int(idx.max()) >= n_total):
        raise IndexError(f"term index out of range [0, {n_total}) in kernel input")
    return bool(len(idx) == 0 or int(idx.max()) < n_train)


class Source:
    """Fixed per-fit quantities of some representation of the terms of a :class:`PointSet`."""

    def __init__(self, points: PointSet) -> None:
        self.points = points
        points.sources.append(self)

    def fit(self, terms: Sequence[Term]) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def set_query(self, terms: Sequence[Term]) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def extend_query(self, terms: Sequence[Term], new: Sequence[Term]) -> None:
        """The query block is now ``terms``, the old one followed by ``new``; by default
        everything is recomputed (sources whose query features are cheap)."""
        self.set_query(terms)

