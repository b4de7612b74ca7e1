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
        if children.__class__ is not tuple:
            children = tuple(children)
        _set_nonterminal(self, nonterminal)
        _set_production(self, production)
        _set_symbol(self, symbol)
        _set_children(self, children)
        _set_value(self, value)
        _set_collapsed(self, collapsed)
        _set_hash(self, hash((nonterminal, production, symbol, value, collapsed, children)))
        _set_str(self, None)
        _set_aux(self, None)

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
        pairs = [(self, other)]  # an explicit stack: terms of any depth compare without recursion
        while pairs:
            a, b = pairs.pop()
            if a is b:
                continue
            if (
                a._hash != b._hash
                or a.nonterminal != b.nonterminal
                or a.production != b.production
                or a.symbol != b.symbol
                or a.value != b.value
                or a.collapsed != b.collapsed
                or len(a.children) != len(b.children)
            ):
                return False
            pairs.extend(zip(a.children, b.children))
        return True

    def __str__(self) -> str:
        s = self._str
        if s is None:
            parts: list[str] = []
            self._write(parts)
            s = "".join(parts)
            object.__setattr__(self, "_str", s)
        return s

    def _write(self, out: list[str]) -> None:
        # an explicit stack of pending nodes and separators: terms of any depth print without recursion
        todo: list = [self]
        while todo:
            t = todo.pop()
            if isinstance(t, str):
                out.append(t)
            elif t._str is not None:
                out.append(t._str)
            elif t.collapsed:
                out.append(t.nonterminal or t.symbol)
            elif t.value is not None:
                out.append(repr(t.value) if isinstance(t.value, float) else str(t.value))
            elif not t.symbol:  # transparent unit production
                todo.append(t.children[0])
            elif not t.children:
                out.append(t.symbol)
            else:
                out.append(t.symbol + "(")
                todo.append(")")
                for i in range(len(t.children) - 1, -1, -1):
                    todo.append(t.children[i])
                    if i:
                        todo.append(", ")

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


# The slots' own setters: they bypass Term.__setattr__ (which forbids mutation) at the cost of a
# C call each, about twice as fast as object.__setattr__ with an attribute name.
(_set_nonterminal, _set_production, _set_symbol, _set_children, _set_value, _set_collapsed,
 _set_hash, _set_str, _set_aux) = [Term.__dict__[name].__set__ for name in Term.__slots__]
_new = object.__new__


def new_term(nonterminal: Optional[str], production: int, symbol: str, children: tuple, value: Optional[Number] = None) -> Term:
    """``Term(nonterminal, production, symbol, children, value)`` (not collapsed), the fast path of
    samplers and the parser: ``children`` must already be a tuple of Terms."""
    t = _new(Term)
    _set_nonterminal(t, nonterminal)
    _set_production(t, production)
    _set_symbol(t, symbol)
    _set_children(t, children)
    _set_value(t, value)
    _set_collapsed(t, False)
    _set_hash(t, hash((nonterminal, production, symbol, value, False, children)))
    _set_str(t, None)
    _set_aux(t, None)
    return t
