"""Fast term -> WL graph conversion with memoised subterm blocks (same graphs as the assembler).

``assembly.graph.flat_graph`` / ``fold_graphs`` build a networkx multigraph of feature maps,
prune it and take its line graph: about 17 ms per hnb201 term (flat + 5 folds), too slow for
the ~10,000 candidates the evolutionary acquisition optimiser scores per proposal. This module
builds the *same* node-labelled graphs (up to node numbering; the tests check isomorphism on
sampled terms) directly as :class:`CompactGraph` arrays, composing one *block* per subterm and
memoising blocks by subterm, since candidates share most of their subterms.

A block is the op graph of a subterm between its input and output: its ops (labels), the
op->op edges, the ops reading the block's input (``entry``), the ops feeding its output
(``exit``) and whether the input reaches the output through identities alone (``through``).
Ops on no input->output path are pruned inside each block, which equals the assembler's global
pruning because a block's interior is reachable only through its input and output. Anything
this module does not model (templates with merges other than sum, fixed-op edges with
attributes, nested argument indices, numbers in op positions, a term that computes nothing)
raises :class:`Unsupported`; :class:`FastGraphFn` then falls back to the assembler for that term.

Templates come from the topology registry. Fixed topologies (and functions of the arity) are
cached by ``(symbol, arity)``; a generator topology's template depends on its value arguments
and its position seed, so it is cached by ``(symbol, values, seed)``, and a block containing one
is memoised under its path and instance path as well (blocks without generators keep the
path-free key).
"""

from __future__ import annotations

from operator import itemgetter
from typing import TYPE_CHECKING, Any, Optional, Sequence

import numpy as np

from algebraic_nas.grammar.term import Term
from algebraic_nas.grammar.topology import argument_values, get_topology, position_seed, repeated_arguments
from algebraic_nas.grammar.topology_zero import IDENTITY_OPS, ZERO_OPS
from algebraic_nas.surrogate.graphs import assembly_graph_fn
from algebraic_nas.surrogate.wl import CompactGraph

if TYPE_CHECKING:
    from algebraic_nas.grammar import Grammar


class Unsupported(Exception):
    """The fast path does not model this term; use the assembler."""


class Block:
    __slots__ = ("labels", "edges", "entry", "exit", "through")

    def __init__(self, labels: tuple, edges: np.ndarray, entry: tuple, exit: tuple, through: bool) -> None:
        self.labels = labels  # op labels, ops numbered 0..k-1
        self.edges = edges  # int64 (E, 2): op i feeds op j
        self.entry = entry  # ops fed by the block input
        self.exit = exit  # ops feeding the block output
        self.through = through  # input reaches output with no op in between

    @property
    def empty(self) -> bool:
        return not self.labels and not self.through


_NO_EDGES = np.zeros((0, 2), dtype=np.int64)
EMPTY = Block((), _NO_EDGES, (), (), False)
THROUGH = Block((), _NO_EDGES, (), (), True)
_IN = -1  # marker for the block input in the "arriving" sets
FLAT = -1  # fold level meaning "not folded"
_GENERATOR = object()  # template-cache marker: the symbol is a generator topology
_SRC, _DST = itemgetter(0), itemgetter(1)


def _op(label: str) -> Block:
    return Block((label,), _NO_EDGES, (0,), (0,), False)


class BlockBuilder:
    """Memoised (subterm, remaining fold depth) -> :class:`Block`.

    ``remaining`` follows ``Grammar.fold``: a nonterminal node met with ``remaining == 0``
    becomes one op labelled ``"NONTERMINAL SYMBOL"``; non-transparent nonterminal nodes take one
    level; :data:`FLAT` never folds. Folding here avoids building the folded terms at all.
    ``seed`` is the network seed of generator topologies (as in ``term_graph``).
    """

    def __init__(self, max_cache: int = 500_000, seed: int = 0) -> None:
        self.seed = seed
        self._cache: dict[tuple, Block] = {}
        self._tmpl_cache: dict[tuple, Any] = {}
        self._positional: set[tuple[Term, int]] = set()  # (subterm, depth) whose block depends on its path
        self._generated = 0  # generator templates expanded or positional blocks used so far
        self.max_cache = max_cache

    def block(self, t: Term, remaining: int = FLAT, path: tuple[int, ...] = (), inst: tuple[int, ...] = ()) -> Block:
        key = (t, remaining)
        b = self._cache.get(key)
        if b is not None:
            return b
        if key in self._positional:
            self._generated += 1
            pkey = (t, remaining, path, inst)
            b = self._cache.get(pkey)
            if b is None:
                b = self._store(pkey, self._make(t, remaining, path, inst))
            return b
        before = self._generated
        b = self._make(t, remaining, path, inst)
        if self._generated == before:
            return self._store(key, b)
        self._positional.add(key)
        return self._store((t, remaining, path, inst), b)

    def _store(self, key: tuple, b: Block) -> Block:
        if len(self._cache) >= self.max_cache:
            self._cache.clear()
        self._cache[key] = b
        return b

    def _template_of(self, t: Term, path: tuple[int, ...], inst: tuple[int, ...] = ()):
        key = (t.symbol, len(t.children))
        got = self._tmpl_cache.get(key)
        if got is None and key not in self._tmpl_cache:
            spec = get_topology(t.symbol)
            got = _GENERATOR if spec is not None and spec.is_generator else (
                spec.template(len(t.children)) if spec is not None else None)
            self._tmpl_cache[key] = got
        if got is not _GENERATOR:
            return got
        self._generated += 1
        pos, vals = argument_values(t)
        seed = position_seed(self.seed, path, inst)
        gkey = (t.symbol, len(t.children), vals, pos, seed)
        if gkey not in self._tmpl_cache:
            try:
                got = get_topology(t.symbol).template(len(t.children), vals, seed, pos)  # type: ignore[union-attr]
            except ValueError as e:  # the assembler raises it with the term position
                raise Unsupported(str(e)) from e
            self._tmpl_cache[gkey] = got
        return self._tmpl_cache[gkey]

    def _make(self, t: Term, r: int, path: tuple[int, ...], inst: tuple[int, ...] = ()) -> Block:
        if t.collapsed:
            if r == FLAT:
                raise Unsupported("collapsed term in a flat graph")
            return EMPTY if t.symbol in ZERO_OPS else _op(t.label)
        if t.nonterminal is not None and r != FLAT:
            if r == 0:
                sym = t.symbol or t.resolve().symbol
                return EMPTY if sym in ZERO_OPS else _op(f"{t.nonterminal} {sym}")
            if not t.is_transparent:
                r -= 1
        if t.is_transparent:
            return self.block(t.children[0], r, path + (0,), inst)
        if t.value is not None:
            raise Unsupported("a number where an operation is expected")
        if t.symbol in ZERO_OPS:
            return EMPTY
        if not t.children:
            return THROUGH if t.symbol in IDENTITY_OPS else _op(t.symbol)
        tmpl = self._template_of(t, path, inst)
        if tmpl is None:
            if r != FLAT and any(c.nonterminal is not None for c in t.children):
                raise Unsupported("a terminal with plain arguments inside a fold")
            return _op(str(t))  # a terminal with plain arguments is one operation
        if tmpl.merges:
            raise Unsupported("a template with merges other than sum")
        parts: list[Block] = []
        repeated, copies = repeated_arguments(tmpl), {}  # one instance per copy, as the assembler
        for e in tmpl.edges:
            if e.attrs or not (e.arg is None or isinstance(e.arg, int)):
                raise Unsupported("template edge with attributes or a nested argument")
            if e.arg is None:
                parts.append(THROUGH if e.op in IDENTITY_OPS else EMPTY if e.op in ZERO_OPS else _op(e.op))
            else:
                copies[e.arg] = copies.get(e.arg, -1) + 1
                sub_inst = inst + (copies[e.arg],) if e.arg in repeated else inst
                parts.append(self.block(t.children[e.arg], r, path + (e.arg,), sub_inst))
        return compose(tmpl.n_nodes, [(e.src, e.dst) for e in tmpl.edges], parts)


def compose(n_nodes: int, edges: Sequence[tuple[int, int]], parts: Sequence[Block]) -> Block:
    """The block of a topology (nodes 1..n_nodes, edge k carries ``parts[k]``).

    Parts are already pruned, so only parts on no input->output path of the *template* (through
    non-empty parts) can be dead: prune at template level, then splice.
    """
    # (hot: ~15 calls per acquisition candidate) plain loops, one sort, no per-part closures
    live = [(a, b, p) for (a, b), p in zip(edges, parts) if p.labels or p.through]
    live.sort(key=_SRC)
    fwd = {1}
    for a, b, _ in live:
        if a in fwd:
            fwd.add(b)
    bwd = {n_nodes}
    for a, b, _ in sorted(live, key=_DST, reverse=True):
        if b in bwd:
            bwd.add(a)
    labels: tuple = ()
    chunks: list[np.ndarray] = []
    cross: list[int] = []  # flat (op, op) pairs made at this level, converted once
    entry: list[int] = []
    arriving: dict[int, set[int]] = {1: {_IN}}
    for a, b, part in live:
        if a not in fwd or b not in bwd:
            continue
        src = arriving[a]
        off = len(labels)
        if off:
            labels += part.labels
            if len(part.edges):
                chunks.append(part.edges + off)
            ent = [e + off for e in part.entry]
            ex = [x + off for x in part.exit]
        else:
            labels = part.labels
            if len(part.edges):
                chunks.append(part.edges)
            ent, ex = part.entry, part.exit
        if ent:
            for x in src:  # every op arriving at node a feeds every entry op of the part
                if x == _IN:
                    entry.extend(ent)
                else:
                    for e in ent:
                        cross.append(x)
                        cross.append(e)
        dst = arriving.get(b)
        if dst is None:
            dst = arriving[b] = set()
        dst.update(ex)
        if part.through:
            dst.update(src)
    if cross:
        chunks.append(np.array(cross, dtype=np.int64).reshape(-1, 2))
    out = arriving.get(n_nodes, set())
    through = _IN in out
    if not labels:
        return THROUGH if through else EMPTY
    e = np.concatenate(chunks) if len(chunks) > 1 else chunks[0] if chunks else _NO_EDGES
    return Block(labels, e, tuple(entry), tuple(x for x in out if x != _IN), through)


def block_graph(b: Block) -> CompactGraph:
    """The WL graph of a whole term's block: node 0 ``"input"``, the ops, then ``"output"``."""
    if b.empty:
        raise Unsupported("the term computes nothing")
    k = len(b.labels)
    ent = np.asarray(b.entry, dtype=np.int64) + 1
    ex = np.asarray(b.exit, dtype=np.int64) + 1
    src = [np.zeros(len(ent), dtype=np.int64), b.edges[:, 0] + 1, ex]
    dst = [ent, b.edges[:, 1] + 1, np.full(len(ex), k + 1, dtype=np.int64)]
    if b.through:
        src.append(np.zeros(1, dtype=np.int64))
        dst.append(np.full(1, k + 1, dtype=np.int64))
    return CompactGraph(("input", *b.labels, "output"), np.concatenate(src), np.concatenate(dst))


_NO_KEY = object()  # FoldKeys memo marker: the subterm has no key (path-dependent block)


class FoldKeys:
    """Memoised (subterm, remaining fold depth) -> a small int naming its fold-level block.

    Two subterms get the same key iff :meth:`BlockBuilder.block` builds the same block for them
    at that depth from the same parts: the key follows ``_make`` but stops where the fold
    collapses a subterm into one op, so it depends on the top ``remaining`` levels only. A
    child of the acquisition optimiser differs from its parent deep in the term far more often
    than near the root: its coarse fold graphs are then the parent's, found by key without
    composing any block. Terms with generator topologies (whose blocks depend on their position)
    get no key (``None``).
    """

    def __init__(self, builder: BlockBuilder, max_cache: int = 500_000) -> None:
        self.builder = builder
        # (id(subterm), r) -> (subterm, key): keyed by identity (operators share unchanged
        # subterm objects; Term's hash is a Python-level call), the entry keeps the subterm alive
        # so its id cannot be reused while the entry exists
        self._memo: dict[tuple[int, int], tuple[Term, Any]] = {}
        self._ids: dict[tuple, int] = {}
        self._kind: dict[tuple[str, int], str] = {}  # (symbol, arity) -> "generator" | "plain" | "template"
        self.max_cache = max_cache

    def key(self, t: Term, r: int) -> Any:
        entry = self._memo.get((id(t), r))
        if entry is not None:
            got = entry[1]
        else:
            k = self._make(t, r)
            got = _NO_KEY if k is None else self._ids.setdefault(k, len(self._ids))
            self._memo[(id(t), r)] = (t, got)
        return None if got is _NO_KEY else got

    def __len__(self) -> int:
        return len(self._memo) + len(self._ids)

    def clear(self) -> None:
        """Forget every key (keys handed out before no longer name the same blocks)."""
        self._memo.clear()
        self._ids.clear()

    def _kind_of(self, t: Term) -> str:
        kind = self._kind.get((t.symbol, len(t.children)))
        if kind is None:
            spec = get_topology(t.symbol)
            if spec is not None and spec.is_generator:
                kind = "generator"
            else:  # a terminal with plain arguments is one op named by its text
                kind = "plain" if self.builder._template_of(t, ()) is None else "template"
            self._kind[(t.symbol, len(t.children))] = kind
        return kind

    def _make(self, t: Term, r: int) -> Optional[tuple]:
        if t.collapsed:
            return ("op", None if t.symbol in ZERO_OPS else t.label)
        if t.nonterminal is not None:
            if r == 0:
                sym = t.symbol or t.resolve().symbol
                return ("op", None if sym in ZERO_OPS else f"{t.nonterminal} {sym}")
            if not t.is_transparent:
                r -= 1
        if t.is_transparent:
            child = self.key(t.children[0], r)
            return None if child is None else ("=", child)
        if t.value is not None or not t.children or t.symbol in ZERO_OPS:
            return ("leaf", t.symbol, t.value)
        kind = self._kind_of(t)
        if kind != "template":
            return ("plain", t) if kind == "plain" else None
        parts = []
        memo = self._memo
        for c in t.children:
            entry = memo.get((id(c), r))
            k = entry[1] if entry is not None else self.key(c, r)
            if k is None or k is _NO_KEY:
                return None
            parts.append(k)
        return (t.symbol, r, tuple(parts))


class FastGraphFn:
    """term -> (flat graph, fold-level graphs) as CompactGraphs, the assembler's graphs, fast.

    Fold-level graphs are shared between terms with the same :class:`FoldKeys` key (the same
    ``CompactGraph`` object, so a batch can featurise it once); at ``max_graphs`` shared graphs
    (a few kB each) they and their keys are forgotten. Falls back to ``assembly.graph`` (exact
    same result, slower) for terms it does not model.
    """

    def __init__(self, grammar: Grammar, levels: Sequence[int] = (0, 1, 2, 3, 4), seed: int = 0,
                 max_graphs: int = 20_000) -> None:
        self.grammar = grammar
        self.levels = tuple(levels)
        self.seed = seed
        self.builder = BlockBuilder(seed=seed)
        self.keys = FoldKeys(self.builder)
        self._graphs: dict[tuple[int, int], CompactGraph] = {}
        self.max_graphs = max_graphs
        self.fallbacks = 0

    def _fold_graph(self, term: Term, level: int) -> CompactGraph:
        if len(self.keys) >= self.keys.max_cache or len(self._graphs) >= self.max_graphs:
            self.keys.clear()  # bounded memory; graphs are named by keys, so both go
            self._graphs.clear()
        key = self.keys.key(term, level)
        if key is None:
            return block_graph(self.builder.block(term, level))
        got = self._graphs.get((level, key))
        if got is None:
            got = self._graphs[(level, key)] = block_graph(self.builder.block(term, level))
        return got

    def __call__(self, term: Term) -> list[CompactGraph]:
        try:
            out = [block_graph(self.builder.block(term))]
            out += [self._fold_graph(term, lv) for lv in self.levels]
            return out
        except Unsupported:
            self.fallbacks += 1
            return [CompactGraph.from_networkx(g) for g in assembly_graph_fn(self.grammar, self.levels, self.seed)(term)]
