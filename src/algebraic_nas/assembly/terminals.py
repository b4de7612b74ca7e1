"""Does every terminal of a grammar have an implementation? (torch-free until primitives load)

A grammar names terminals; the assembler's registries implement them: primitives (terminals
without subterm arguments, e.g. ``conv3x3`` or ``MBConv(5, 6, 0.25)``), topologies (terminals
whose arguments are subterms, e.g. ``Linear3(a, b, c)``, with the arities they accept), merges
(named by generator topologies, e.g. NAGO's ``wsum``) and the ``zero`` names. The grammar layer
knows none of these (it is torch-free and has no assembler), so the check lives here and is run by
the commands that load a grammar for a network: ``algebraic-nas info|sample|check|draw|build``
and the search's pre-run check, after plugins have registered their terminals.

:func:`check_terminals` raises one :class:`~algebraic_nas.grammar.GrammarError` naming file,
line and column of each unknown terminal (or wrong arity), a registered name close to it, and how
to register one. :func:`describe_terminals` is the listing of ``algebraic-nas primitives``.
"""

from __future__ import annotations

import difflib
import inspect
from typing import Iterator, Optional

from algebraic_nas.grammar import GrammarError
from algebraic_nas.grammar.meta import Expr, Loc
from algebraic_nas.grammar.topology import get_topology, list_topologies

from . import registry

_HOW = {
    "primitive": "register one with @register_primitive(\"{name}\") (algebraic_nas.assembly)",
    "topology": "register one with register_topology(\"{name}\", edges=...) (algebraic_nas.assembly)",
}


# The built-in primitives and merges by name, so that the grammar commands (info, sample) check
# terminals without importing torch (the built-in modules register on import, and import torch).
# tests/assembly/test_terminals.py checks these lists against what the modules register.
BUILTIN_PRIMITIVES = (
    "Block", "Conv", "DConv", "MBConv", "adl_down", "adl_up", "avg_pool", "avg_pool_3x3", "batch", "conv",
    "conv1x1", "conv1x1_bn_relu", "conv3x3", "conv_7x1_1x7", "darts_factorized_reduce", "darts_preprocess",
    "dconv3x3", "dconv3x3_bn_relu", "dil_conv_3x3", "dil_conv_5x5", "down", "fc", "hardswish", "id", "instance",
    "layer", "max_pool", "max_pool_3x3", "mish", "nago_transition", "nor_conv_1x1", "nor_conv_3x3", "relu",
    "sep_conv3x3", "sep_conv_3x3", "sep_conv_5x5", "skip_connect",
)
BUILTIN_MERGES = ("attention", "cat", "concat", "mean", "sum", "wsum")


def _primitive_names(load: bool) -> set[str]:
    """The registered primitives; without ``load``, the built-ins by name plus those registered so far."""
    loaded = registry.primitive_names() if load else registry.PRIMITIVE_REGISTRY.names()
    return set(BUILTIN_PRIMITIVES) | set(loaded)


def _known_leaves(primitives: set[str]) -> set[str]:
    """Every name a nullary terminal may have: primitives, zero names and merges."""
    return primitives | set(registry.ZERO_OPS) | set(BUILTIN_MERGES) | set(registry.MERGE_REGISTRY.names())


def _walk(expr: Expr) -> Iterator[Expr]:
    stack = [expr]
    while stack:
        e = stack.pop()
        yield e
        stack.extend(e.args)


def _similar(name: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.6)
    return f"; registered under a similar name: {', '.join(close)}" if close else ""


def _topology_problem(e: Expr, primitives: set[str]) -> Optional[str]:
    """Why the terminal with arguments ``e`` has no implementation, or ``None`` if it has one."""
    spec = get_topology(e.name)
    arity = len(e.args)
    if spec is not None:
        if spec.is_generator:
            return None  # its arity depends on the values it is given: checked when built
        if spec.template(arity) is not None:
            return None
        accepted = [k for k in range(1, 17) if spec.template(k) is not None]
        takes = ", ".join(map(str, accepted[:6])) + ("..." if len(accepted) > 6 else "") or "no"
        return f"topology {e.name} does not take {arity} arguments (it takes {takes})"
    names = list_topologies() + [f"Linear{arity}"] + sorted(primitives)
    return (f"unknown terminal {e.name}({', '.join('...' for _ in e.args)}): no topology or primitive of that name"
            + _similar(e.name, names) + "; " + _HOW["topology"].format(name=e.name))


def _group_positions(e: Expr) -> frozenset:
    """Children of the fixed topology ``e`` that are groups: the template reads their children
    (a ``(k, j)`` argument, as ``Darts(Node2(op, op), ...)``), so their own name is free."""
    spec = get_topology(e.name) if e.kind == "op" else None
    if spec is None or spec.is_generator:
        return frozenset()
    template = spec.template(len(e.args))
    if template is None:
        return frozenset()
    return frozenset(edge.arg[0] for edge in template.edges if isinstance(edge.arg, tuple))


def _contexts(grammar, primitives: set[str]) -> tuple[set[str], set[str]]:
    """Nonterminals used as a primitive's arguments (their terminals are values, not modules) and
    nonterminals at a group position of a topology (their top terminal's name is free)."""
    value_nts: set[str] = set()
    group_nts: set[str] = set()
    for alternatives in grammar.rules.values():
        for alt in alternatives:
            for e in _walk(alt.expr):
                if e.kind != "op":
                    continue
                if get_topology(e.name) is None and e.name in primitives:
                    value_nts.update(a.name for a in e.args if a.kind == "nt")
                for i in _group_positions(e):
                    if i < len(e.args) and e.args[i].kind == "nt":
                        group_nts.add(e.args[i].name)
    return value_nts, group_nts


def _problem(e: Expr, leaves: set[str], primitives: set[str], free_name: bool) -> Optional[str]:
    if e.kind == "t" and e.name not in leaves:
        return f"unknown primitive {e.name}" + _similar(e.name, sorted(leaves)) + "; " + _HOW["primitive"].format(name=e.name)
    if e.kind == "op" and not free_name:
        return _topology_problem(e, primitives)
    return None


def terminal_problems(grammar, load_builtins: bool = True) -> list[str]:
    """Messages ``file:line:col: ...`` for each terminal of ``grammar`` without an implementation.

    ``load_builtins=False`` checks against the built-in names without importing torch."""
    return [str(loc.error(why)) for loc, why in _problems(grammar, load_builtins)]


def _problems(grammar, load_builtins: bool = True) -> list[tuple[Loc, str]]:
    """``(location, reason)`` of each terminal of ``grammar`` without an implementation."""
    primitives = _primitive_names(load_builtins)
    leaves = _known_leaves(primitives)
    value_nts, group_nts = _contexts(grammar, primitives)
    problems: list[tuple[Loc, str]] = []
    seen: set[tuple] = set()
    for nt, alternatives in grammar.rules.items():
        if nt in value_nts:
            continue
        for alt in alternatives:
            stack = [(alt.expr, nt in group_nts)]
            while stack:
                e, free_name = stack.pop()
                if e.kind == "op" and e.name in primitives and get_topology(e.name) is None:
                    continue  # a primitive with arguments: its arguments are values
                groups = _group_positions(e)
                stack.extend((a, i in groups) for i, a in enumerate(e.args))
                why = _problem(e, leaves, primitives, free_name)
                key = (e.name, len(e.args), e.loc.line, e.loc.column)
                if why is not None and key not in seen:
                    seen.add(key)
                    problems.append((e.loc, why))
    return problems


def check_terminals(grammar) -> None:
    """Raise a :class:`GrammarError` listing every terminal of ``grammar`` the registries lack."""
    problems = _problems(grammar)
    if problems:
        (loc, why), rest = problems[0], [str(loc.error(w)) for loc, w in problems[1:10]]
        rest += [f"... and {len(problems) - 10} more"] if len(problems) > 10 else []
        raise GrammarError(" -- also ".join([why, *rest]), loc.file, loc.line, loc.column)  # one line


def _first_line(spec: registry.PrimitiveSpec) -> str:
    """The factory's docstring's first paragraph, else the module it builds for a 16×8×8 input."""
    doc = inspect.getdoc(spec.factory) or ""
    if doc:
        return doc.strip().split("\n\n")[0].replace("\n", " ")
    try:
        module, _ = spec.build(registry.Shape(16, 8, 8))
    except Exception:  # noqa: BLE001 - a factory that needs arguments: no example
        return "(takes arguments)"
    text = " ".join(repr(module).split())
    return f"on 16x8x8: {text[:100]}{'...' if len(text) > 100 else ''}"


def describe_terminals() -> str:
    """The registered primitives, topologies (with the arities they take) and merges, one per line."""
    lines = ["primitives (terminals without subterm arguments)"]
    for name in registry.primitive_names():
        spec = registry.get_primitive(name)
        lines.append(f"  {name:<22} {_first_line(spec)}")
    lines.append("zero names (an edge that is removed)")
    lines.append("  " + ", ".join(sorted(registry.ZERO_OPS)))
    lines.append("topologies (terminals whose arguments are subterms)")
    for name in list_topologies():
        spec = get_topology(name)
        if spec is None:  # a family such as Linear<K>
            arities = "K arguments"
        elif spec.is_generator:
            arities = "generator: numeric values, then subterms"
        else:
            accepted = [k for k in range(1, 17) if spec.template(k) is not None]
            arities = f"{accepted[0]} arguments" if len(accepted) == 1 else f"{len(accepted)} arities"
        lines.append(f"  {name:<22} {arities}")
    lines.append("merges (how a generator's node combines its inputs)")
    lines.append("  " + ", ".join(sorted(registry.MERGE_REGISTRY)))
    return "\n".join(lines)
