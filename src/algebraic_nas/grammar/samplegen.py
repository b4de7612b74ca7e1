"""Samplers compiled to Python source: the closures of :mod:`.sampling` flattened into one function.

A sampler built by :class:`~.sampling.Samplers` is a closure that calls the closures of its
alternatives and arguments: for ``hnb201`` a term costs about 1,000 Python calls. Each closure
carries a small description of itself (``_ir``, see :func:`describe`); :func:`compile_sampler`
turns that description into the source of one function in which the samplers of small
subterms (leaves, choices among leaves, interned units, small operators) are inlined, and the
larger ones are called. The compiled function makes *the same random draws in the same order*
and returns equal terms (interned ones are the very same objects: the memo dictionaries are
shared with the closures), so seeded samples do not change.

IR nodes (tuples, first item the kind):

* ``("leaf", term)``; ``("int_table", ints, span)`` (``ints[randint(0, span)]``);
* ``("choice", items, cum, n)``: one ``random()`` picks ``items[i]`` (a Term, returned as is,
  or a sampler), uniformly (``cum`` None) or by ``bisect_right(cum, u)``;
* ``("unit", child, nonterminal, idx, memo)``: a transparent node over ``child`` (interned by the
  id of the child when ``memo`` is a dict);
* ``("op", owner, idx, symbol, args, memo)``: a node whose arguments are drawn left to right;
* ``("opz", owner, idx, symbol, steps, valid, zero, memo)``: the same under the ``%zero``
  connectivity constraint (``steps``: ``(sampler, nonzero sampler, can_be_zero, bit, later_forced)``).
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any, Callable, Optional

from .patterns import is_zero
from .term import Term, new_term

Post = Callable[[int, Any], None]
INLINE_LINES = 40  # a sampler whose body is at most this many lines is inlined into its callers
MAX_NESTING = 12  # inlining depth (Python allows 100 indentation levels)
MAX_BRANCHES = 16  # a choice among more alternatives (not all leaves) looks its sampler up in a table
MAX_LINES = 20_000  # a sampler whose function would be longer stays a closure (compile time, memory)


def describe(fn: Callable, ir: tuple) -> Callable:
    """Attach the IR ``ir`` to the sampler closure ``fn`` (returned)."""
    fn._ir = ir  # type: ignore[attr-defined]
    return fn


class _Source:
    """The lines and constants of one generated function."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.consts: dict[str, Any] = {}
        self._ids: dict[int, str] = {}
        self._n = 0

    def const(self, obj: Any) -> str:
        name = self._ids.get(id(obj))
        if name is None:
            name = self._ids[id(obj)] = f"K{len(self.consts)}"
            self.consts[name] = obj
        return name

    def var(self, prefix: str = "v") -> str:
        self._n += 1
        return f"{prefix}{self._n}"

    def line(self, ind: int, text: str) -> None:
        self.lines.append("    " * ind + text)


def _lines(s: Callable, active: set) -> int:
    """Lines of ``s``'s inlined body (cached on the sampler); a huge number for one that cannot be
    inlined (no IR, or a recursive reference through itself)."""
    cost = getattr(s, "_lines", None)
    if cost is not None:
        return cost
    ir = getattr(s, "_ir", None)
    if ir is None or id(s) in active:
        return 1 << 30
    active.add(id(s))
    try:
        src = _Source()
        _emit(src, ir, 1, "v0", 0, active)
        cost = len(src.lines)
    finally:
        active.discard(id(s))
    try:
        s._lines = cost  # type: ignore[attr-defined]
    except AttributeError:  # a builtin or bound method: never inlined anyway
        pass
    return cost


def _sub(src: _Source, item: Any, ind: int, target: str, depth: int, active: set, post: Optional[Post] = None) -> None:
    """``target = <a term drawn by item>`` (a Term constant or a sampler, inlined when small), then
    ``post(ind, what)`` with what the branch drew (for a choice: in each of its branches)."""
    if item.__class__ is Term:
        src.line(ind, f"{target} = {src.const(item)}")
    else:
        ir = getattr(item, "_ir", None)
        if ir is not None and depth < MAX_NESTING and id(item) not in active and _lines(item, active) <= INLINE_LINES:
            active.add(id(item))
            try:
                _emit(src, ir, ind, target, depth + 1, active, post)
            finally:
                active.discard(id(item))
            return
        src.line(ind, f"{target} = {src.const(item)}(ctx)")
    if post is not None:
        post(ind, item)


def zero_kind(item: Any, zero: Optional[str], depth: int = 0) -> Optional[bool]:
    """Whether what ``item`` (a Term, a sampler or an IR tuple) draws is always (True) or never
    (False) the zero terminal; None when it depends on the draw (or is not known)."""
    if item.__class__ is Term:
        return is_zero(item, zero)
    ir = item if item.__class__ is tuple else getattr(item, "_ir", None)
    if ir is None or depth > MAX_NESTING:
        return None
    kind = ir[0]
    if kind == "leaf":
        return is_zero(ir[1], zero)
    if kind == "int_table" or (kind == "op" and ir[4]) or kind == "opz":
        return False  # a node with arguments, or a number, is never the zero terminal
    if kind == "unit":
        return zero_kind(ir[1], zero, depth + 1)
    if kind == "choice":
        kinds = {zero_kind(it, zero, depth + 1) for it in ir[1]}
        return kinds.pop() if len(kinds) == 1 else None
    return None


def _make(src: _Source, ind: int, target: str, owner: Optional[str], idx: int, symbol: str, args: list[str], memo: Optional[dict]) -> None:
    tup = "(" + ", ".join(args) + ("," if len(args) == 1 else "") + ")"
    mk = f"new_term({src.const(owner)}, {idx}, {src.const(symbol)}, {tup})"
    if memo is None:
        src.line(ind, f"{target} = {mk}")
        return
    key = src.var("k")
    m = src.const(memo)
    src.line(ind, f"{key} = " + "(" + ", ".join(f"id({a})" for a in args) + ("," if len(args) == 1 else "") + ")")
    src.line(ind, f"{target} = {m}.get({key})")
    src.line(ind, f"if {target} is None:")
    src.line(ind + 1, f"{target} = {m}[{key}] = {mk}")


def _emit(src: _Source, ir: tuple, ind: int, target: str, depth: int, active: set, post: Optional[Post] = None) -> None:
    kind = ir[0]
    if post is not None and kind != "choice":
        _emit(src, ir, ind, target, depth, active)
        post(ind, ir)
        return
    if kind == "leaf":
        src.line(ind, f"{target} = {src.const(ir[1])}")
    elif kind == "int_table":
        src.line(ind, f"{target} = {src.const(ir[1])}[ctx.randint(0, {ir[2]})]")
    elif kind == "choice":
        items, cum, n = ir[1], ir[2], ir[3]
        if post is None and all(it.__class__ is Term for it in items):
            table = src.const(items)
            if cum is None:
                src.line(ind, f"{target} = {table}[int(rnd() * {n})]")
            else:
                src.line(ind, f"{target} = {table}[bisect_right({src.const(cum)}, rnd())]")
            return
        if n > MAX_BRANCHES:  # a table lookup, not a long if/elif chain
            table = src.const(items)
            x = src.var("x")
            if cum is None:
                src.line(ind, f"{x} = {table}[int(rnd() * {n})]")
            else:
                src.line(ind, f"{x} = {table}[bisect_right({src.const(cum)}, rnd())]")
            src.line(ind, f"{target} = {x} if {x}.__class__ is Term else {x}(ctx)")
            if post is not None:
                post(ind, ir)
            return
        u = src.var("u")
        if cum is None:
            src.line(ind, f"{u} = int(rnd() * {n})")
            tests = [f"{u} == {i}" for i in range(n - 1)]
        else:  # branch i iff cum[i-1] <= u < cum[i]: exactly bisect_right(cum, u) == i
            src.line(ind, f"{u} = rnd()")
            tests = [f"{u} < {c!r}" for c in cum]
        for i, it in enumerate(items):
            if i < len(items) - 1:
                src.line(ind, ("if " if i == 0 else "elif ") + tests[i] + ":")
            else:
                src.line(ind, "else:")
            _sub(src, it, ind + 1, target, depth, active, post)
    elif kind == "unit":
        child, a_name, idx, memo = ir[1], ir[2], ir[3], ir[4]
        c = src.var("c")
        _sub(src, child, ind, c, depth, active)
        if memo is None:
            src.line(ind, f"{target} = new_term({src.const(a_name)}, {idx}, '', ({c},))")
        else:  # keyed by the child's id, like the closure's memo (they share it)
            m = src.const(memo)
            src.line(ind, f"{target} = {m}.get(id({c}))")
            src.line(ind, f"if {target} is None:")
            src.line(ind + 1, f"{target} = {m}[id({c})] = new_term({src.const(a_name)}, {idx}, '', ({c},))")
    elif kind == "op":
        owner, idx, symbol, args, memo = ir[1], ir[2], ir[3], ir[4], ir[5]
        names = []
        for f in args:
            c = src.var("c")
            _sub(src, f, ind, c, depth, active)
            names.append(c)
        _make(src, ind, target, owner, idx, symbol, names, memo)
    elif kind == "opz":
        owner, idx, symbol, steps, valid, zero, memo = ir[1:]
        mask = src.var("m")
        vt = src.const(valid)
        z = src.const(zero)
        src.line(ind, f"{mask} = 0")
        last_cz = max(i for i, st in enumerate(steps) if st[2])
        names = []
        first = True  # the mask is still 0: the table lookup is done here
        for i, (f, fnz, cz, bit, later) in enumerate(steps):
            c = src.var("c")
            names.append(c)
            if not cz:
                _sub(src, f, ind, c, depth, active)
                continue
            post = _mask_update(src, c, mask, bit, zero) if i < last_cz else None  # only later arguments read the mask
            if first:
                first = False
                if valid[bit | later]:
                    _sub(src, f, ind, c, depth, active, post)
                else:
                    _sub(src, fnz, ind, c, depth, active)
                continue
            src.line(ind, f"if {vt}[{mask} | {bit | later}]:")
            _sub(src, f, ind + 1, c, depth, active, post)
            src.line(ind, "else:")
            _sub(src, fnz, ind + 1, c, depth, active)
        _make(src, ind, target, owner, idx, symbol, names, memo)
    else:  # pragma: no cover - every kind above is produced by sampling.py
        raise ValueError(f"unknown sampler IR {kind!r}")


def _mask_update(src: _Source, c: str, mask: str, bit: int, zero: Optional[str]) -> Post:
    """The ``post`` hook that sets ``bit`` in ``mask`` when ``c`` is zero (decided at compile time
    where the branch's value is known to be, or not to be, zero)."""
    z = src.const(zero)

    def post(ind: int, what: Any) -> None:
        known = zero_kind(what, zero)
        if known is True:
            src.line(ind, f"{mask} |= {bit}")
        elif known is None:
            src.line(ind, f"if {c}.symbol == {z}:")
            src.line(ind + 1, f"if not {c}.children and {c}.value is None and not {c}.collapsed:")
            src.line(ind + 2, f"{mask} |= {bit}")
            src.line(ind, f"elif not {c}.symbol and is_zero({c}, {z}):")
            src.line(ind + 1, f"{mask} |= {bit}")

    return post


def compile_sampler(s: Callable, name: str = "sampler") -> Callable:
    """One function equivalent to the sampler closure ``s`` (same draws, equal terms); ``s`` itself
    when it has no IR. The result carries the same IR, so that callers compiled later inline it."""
    ir = getattr(s, "_ir", None)
    if ir is None or ir[0] == "leaf":
        return s
    src = _Source()
    active = {id(s)}
    _emit(src, ir, 1, "v0", 0, active)
    if len(src.lines) > MAX_LINES:
        return s
    code = "def _sampler(ctx):\n    rnd = ctx.random\n" + "\n".join(src.lines) + "\n    return v0\n"
    namespace: dict[str, Any] = {"new_term": new_term, "is_zero": is_zero, "bisect_right": bisect_right, "Term": Term}
    namespace.update(src.consts)
    exec(compile(code, f"<sampler {name}>", "exec"), namespace)
    fn = namespace["_sampler"]
    fn._ir = ir
    fn._lines = len(src.lines)
    fn._source = code  # for debugging: print(sampler._source)
    return fn
