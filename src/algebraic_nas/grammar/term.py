"""`Term`: an immutable derivation tree of a grammar, printed as an algebraic architecture term.

A node records *how* it was derived (the nonterminal and the index of the alternative used) and
*what* it is (the terminal symbol and its argument subterms):

* ``Term("D1", 2, "Residual3", (c, c2, d, d2))`` prints ``Residual3(..., ..., ..., ...)``;
* a terminal written directly inside a production's right-hand side, like ``down`` in
  ``D ::= Linear2(CL, down)``, has ``nonterminal=None`` and ``production=-1``;
* a unit production such as ``OP ::= BLOCK`` gives a *transparent* node: ``symbol == ""`` and a
  single child (the ``BLOCK`` term); it prints as its child;
* a numeric placeholder leaf has ``value`` set (an ``int`` or ``float``) and prints the number;
* a node collapsed by a fold operator has ``collapsed=True``, no children, keeps the symbol of the
  subterm it replaced (``label`` gives ``"D1 Residual3"``) and prints as its nonterminal.

Terms are hashable (the hash is cached) and copying one is free: they are never mutated, so
operators share unchanged subterms between parent and child terms.
"""

from __future__ import annotations

from typing import Iterator, Optional, Union

Number = Union[int, float]


class Term:
    """One node of a derivation tree; see the module docstring for the field meanings."""

    # ``_aux``: a cache owned by the grammar package (per-subtree counts of nonterminal nodes used by
    # the evolution operators); not part of the value, never compared, hashed or pickled.
    __slots__ = ("nonterminal", "production", "symbol", "children", "value", "collapsed", "_hash", "_str", "_aux")

    nonterminal: Optional[str]
    production: int
    symbol: str
    children: tuple["Term", ...]
    value: Optional[Number]
    collapsed: bool

    def __init__(
        self,
        nonterminal: Optional[str],
        production: int,
        symbol: str,
        children: tuple["Term", ...] = (),
        value: Optional[Number] = None,
        collapsed: bool = False,
    ) -> None:
        object.__setattr__(self, "nonterminal", nonterminal)
        object.__setattr__(self, "production", production)
        object.__setattr__(self, "symbol", symbol)
        object.__setattr__(self, "children", tuple(children))
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "collapsed", collapsed)
        object.__setattr__(
            self,
            "_hash",
            hash((nonterminal, production, symbol, value, collapsed, self.children)),
        )
        object.__setattr__(self, "_str", None)
        object.__setattr__(self, "_aux", None)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Term is immutable")

    def __reduce__(self):
        return (Term, (self.nonterminal, self.production, self.symbol, self.children, self.value, self.collapsed))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, Term) or self._hash != other._hash:
            return False
        return (
            self.nonterminal == other.nonterminal
            and self.production == other.production
            and self.symbol == other.symbol
            and self.value == other.value
            and self.collapsed == other.collapsed
            and self.children == other.children
        )

    def __str__(self) -> str:
        s = self._str
        if s is None:
            parts: list[str] = []
            self._write(parts)
            s = "".join(parts)
            object.__setattr__(self, "_str", s)
        return s

    def _write(self, out: list[str]) -> None:
        if self._str is not None:
            out.append(self._str)
        elif self.collapsed:
            out.append(self.nonterminal or self.symbol)
        elif self.value is not None:
            out.append(repr(self.value) if isinstance(self.value, float) else str(self.value))
        elif not self.symbol:  # transparent unit production
            self.children[0]._write(out)
        elif not self.children:
            out.append(self.symbol)
        else:
            out.append(self.symbol)
            out.append("(")
            for i, child in enumerate(self.children):
                if i:
                    out.append(", ")
                child._write(out)
            out.append(")")

    def __repr__(self) -> str:
        return f"Term({str(self)!r})"

    # --- structure -------------------------------------------------------------------------

    @property
    def is_transparent(self) -> bool:
        """A unit production node (``OP ::= BLOCK``): prints as, and computes as, its only child."""
        return not self.symbol and not self.collapsed and self.value is None

    def resolve(self) -> "Term":
        """The first node below (or at) this one that is not a transparent unit production."""
        t = self
        while t.is_transparent:
            t = t.children[0]
        return t

    @property
    def label(self) -> str:
        """``"NONTERMINAL SYMBOL"`` (e.g. ``"D1 Residual3"``), the label of a collapsed subterm."""
        sym = self.symbol if self.symbol else self.resolve().symbol
        return f"{self.nonterminal} {sym}" if self.nonterminal else sym

    def walk(self) -> Iterator[tuple[tuple[int, ...], "Term"]]:
        """All nodes in pre-order with their paths (tuples of child indices from the root)."""
        stack: list[tuple[tuple[int, ...], Term]] = [((), self)]
        while stack:
            path, node = stack.pop()
            yield path, node
            for i in range(len(node.children) - 1, -1, -1):
                stack.append((path + (i,), node.children[i]))

    def at(self, path: tuple[int, ...]) -> "Term":
        """The subterm at ``path``."""
        t = self
        for i in path:
            t = t.children[i]
        return t

    def replace(self, path: tuple[int, ...], new: "Term") -> "Term":
        """A new term with the subterm at ``path`` replaced by ``new`` (unchanged parts shared)."""
        if not path:
            return new
        i = path[0]
        child = self.children[i].replace(path[1:], new)
        children = self.children[:i] + (child,) + self.children[i + 1 :]
        return Term(self.nonterminal, self.production, self.symbol, children, self.value, self.collapsed)

    def size(self) -> int:
        """Number of nodes (transparent ones included)."""
        return sum(1 for _ in self.walk())
