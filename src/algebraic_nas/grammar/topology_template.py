"""`Template`: a topology as a torch-free DAG template (nodes, edges with arguments, merges).

A template lives on nodes ``1..n_nodes`` (1 the input, ``n_nodes`` the output). Each
:class:`TemplateEdge` carries either an argument of the term (``arg``: its child index) or a fixed
operation (``op``: a primitive name, e.g. the DARTS input preprocessing). Each node combines its
incoming edges with a named *merge*: ``"sum"`` unless the template says otherwise (``"concat"``
concatenates channels in edge order; the assembler maps every merge name to a module).

A merge may also be *read from the term*: :func:`arg_merge` names a child of the topology term
whose symbol is the merge (``WattsStrogatz(8, 4, 0.5, NODE, cat)``), with a default for terms
that leave that child out; the assembler resolves it with :func:`split_arg_merge`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional, Union

#: Plain edge list ``((source, target), ...)``: argument i sits on edge i, every node sums.
Edges = tuple[tuple[int, int], ...]
#: Argument index of an edge: a child index, or a tuple reaching into an argument (``(2, 1)``).
ArgIndex = Union[int, tuple[int, ...]]

SUM = "sum"
CONCAT = "concat"
#: Prefix of a merge read from a child of the term: ``"@4|wsum"`` = child 4's symbol, else ``wsum``.
ARG_MERGE = "@"


def arg_merge(index: int, default: str) -> str:
    """The merge name "whatever child ``index`` of the term names, ``default`` if it has no such child"."""
    return f"{ARG_MERGE}{int(index)}|{default}"


def split_arg_merge(name: str) -> Optional[tuple[int, str]]:
    """``(child index, default)`` of a merge made by :func:`arg_merge`, ``None`` for a plain name."""
    if not name.startswith(ARG_MERGE):
        return None
    index, _, default = name[len(ARG_MERGE):].partition("|")
    return int(index), default


@dataclass(frozen=True)
class TemplateEdge:
    """One edge of a template: from node ``src`` to node ``dst`` (1-based, ``src < dst``).

    Exactly one of ``arg`` (index of the term argument placed on the edge) and ``op`` (name of a
    fixed primitive) is set. ``arg`` may be a tuple of indices reaching into the argument (``(2,
    1)``: argument 2's argument 1), for operators whose arguments group the edges of one node (the
    DARTS cell's ``Node5(op, op, op, op)``). ``attrs`` are keyword attributes for the operation's
    factory (``(("stride", 2),)``).
    """

    src: int
    dst: int
    arg: Optional[ArgIndex] = None
    op: Optional[str] = None
    attrs: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if (self.arg is None) == (self.op is None):
            raise ValueError("a template edge carries either an argument index or a fixed op")
        if not self.src < self.dst:
            raise ValueError(f"template edges must point forward, got ({self.src}, {self.dst})")

    @property
    def first_arg(self) -> Optional[int]:
        """The child index the edge's argument starts at (``None`` for a fixed op)."""
        return self.arg if self.arg is None or isinstance(self.arg, int) else self.arg[0]


MergeSpec = Union[Mapping[int, str], Iterable[tuple[int, str]], None]


@dataclass(frozen=True)
class Template:
    """A topology as a DAG template on nodes ``1..n_nodes`` (1 input, ``n_nodes`` output).

    ``merges`` maps nodes to merge names; nodes not named sum their inputs. It is stored as a
    sorted tuple of ``(node, name)`` pairs (templates are hashable) and may be given as a dict.
    ``concat`` is a shorthand: nodes that concatenate channels.
    """

    n_nodes: int
    edges: tuple[TemplateEdge, ...]
    merges: tuple[tuple[int, str], ...] = ()
    concat: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        merged = dict(self.merges.items() if isinstance(self.merges, Mapping) else (self.merges or ()))
        merged.update((n, CONCAT) for n in self.concat)
        merged = {n: m for n, m in merged.items() if m != SUM}  # sum is the default: one spelling
        for n, m in merged.items():
            if not 2 <= n <= self.n_nodes or not isinstance(m, str) or not m:
                raise ValueError(f"merge {m!r} of node {n}: nodes are 2..{self.n_nodes}, merges are names")
        for e in self.edges:
            if e.dst > self.n_nodes:
                raise ValueError(f"edge ({e.src}, {e.dst}) leaves the template's nodes 1..{self.n_nodes}")
        object.__setattr__(self, "edges", tuple(self.edges))
        object.__setattr__(self, "merges", tuple(sorted(merged.items())))
        object.__setattr__(self, "concat", frozenset(n for n, m in merged.items() if m == CONCAT))

    @staticmethod
    def from_edges(edges: Iterable[tuple[int, int]], merges: MergeSpec = None) -> "Template":
        """Argument i on edge i of a plain edge list; ``merges`` as in the class docstring."""
        edges = tuple(tuple(e) for e in edges)
        if not edges:
            raise ValueError("a topology needs at least one edge")
        n = max(max(e) for e in edges)
        return Template(n, tuple(TemplateEdge(a, b, arg=i) for i, (a, b) in enumerate(edges)), merges or ())

    @staticmethod
    def chain(k: int, arg: ArgIndex = 0) -> "Template":
        """``k`` edges in a row, each carrying argument ``arg`` (a chain of one repeated operation)."""
        return Template(k + 1, tuple(TemplateEdge(i, i + 1, arg=arg) for i in range(1, k + 1)))

    def merge(self, node: int) -> str:
        """The merge name of ``node`` (``"sum"`` unless declared)."""
        for n, m in self.merges:
            if n == node:
                return m
        return SUM

    @property
    def arg_indices(self) -> frozenset[int]:
        """The child indices the edges read (first index of each edge's ``arg``)."""
        return frozenset(e.first_arg for e in self.edges if e.arg is not None)

    @property
    def arity(self) -> int:
        """Number of term arguments the template reads (distinct first indices of the edges' ``arg``)."""
        return len(self.arg_indices)

    def plain_edges(self) -> Optional[Edges]:
        """The template as a plain edge list when it is one (argument i on edge i, sums only)."""
        if self.merges or any(e.op is not None or e.attrs for e in self.edges):
            return None
        if [e.arg for e in self.edges] != list(range(len(self.edges))):
            return None
        return tuple((e.src, e.dst) for e in self.edges)


def as_template(spec: Union[Template, Iterable[tuple[int, int]]]) -> Template:
    """A :class:`Template` from a template or a plain edge list."""
    return spec if isinstance(spec, Template) else Template.from_edges(spec)
