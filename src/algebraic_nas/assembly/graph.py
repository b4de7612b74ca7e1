"""Term → one flattened, pruned DAG (networkx only, no torch), and the graphs the surrogate reads.

Two graph forms:

* :func:`term_graph` — the *op-edge DAG* the assembler executes: nodes are feature maps (integer
  ids; ``G.graph["input"]``, ``G.graph["output"]``), every edge carries one operation
  (attributes ``op``, ``label``, ``term``, ``path``, ``attrs``, ``order``, and ``occurrence``:
  how many edges with the same ``op`` precede it in the term, e.g. "Block i of Linear3"). Topologies are spliced
  in (argument i onto the template's edge i); ``zero`` edges and every edge on no input→output path
  are removed (``prune="paths"``, the default). With ``prune="none"`` (a grammar's ``%prune none``,
  NAS-Bench-201's semantics) every non-zero edge stays, and each ``zero`` edge stays too, with
  ``op`` :data:`ZERO_EDGE` and ``attrs`` ``{}``: the assembler uses it only to give a node fed by
  nothing else a zero tensor of the right shape. A node combines its incoming edges with its ``merge`` attribute (a merge name:
  ``"sum"``, or e.g. ``"concat"`` in ``order``); a node with another merge than sum has exactly
  one edge per branch and ``branch_orders``, the ``order`` of every branch it had before pruning
  (a pruned branch is a zero tensor, so a concatenation keeps its channel count).
  Nodes remember the ``path`` of the topology that created them. Topologies come from the
  registry (:mod:`algebraic_nas.grammar.topology`); a generator topology at path p gets the seed
  ``position_seed(seed, p, instance)`` of the network ``seed``, where ``instance`` says which copy
  of its subterm this is when an enclosing template places that subterm on several edges (every
  cell of a NAGO network, every node of a cell, draws its own graph).
* :func:`flat_graph` / :func:`fold_graphs` — node-labelled op graphs for the WL kernel
  (Schrodi et al., Sec. 3): one node per operation with attribute ``label``, one node ``"input"`` and one
  ``"output"``; edges follow the data flow; ``id`` operations are contracted; topology names are
  never labels, except for the collapsed subterms of a fold, which are one node each labelled
  ``"NONTERMINAL TOPOLOGY"``.

Positions in error messages are paths of child indices from the root (transparent unit
productions included, as in :meth:`Term.walk`) plus the character offset in ``str(term)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

import networkx as nx

from algebraic_nas.grammar.term import Term

from algebraic_nas.grammar.loading import PRUNE_MODES
from algebraic_nas.grammar.topology import repeated_arguments, term_template
from algebraic_nas.grammar.topology_template import SUM, split_arg_merge
from algebraic_nas.grammar.topology_zero import IDENTITY_OPS, ZERO_OPS

from .registry import AssemblyError

if TYPE_CHECKING:
    from algebraic_nas.grammar import Grammar

Path = tuple[int, ...]

#: The ``op`` of a ``zero`` edge kept by ``prune="none"`` (never a registered primitive's name).
ZERO_EDGE = "<zero>"

__all__ = ["ZERO_EDGE", "PRUNE_MODES", "term_graph", "flat_graph", "fold_graphs", "op_graph", "describe_position", "leaf_args"]


# --- positions -----------------------------------------------------------------------------------


def _char_offset(root: Term, path: Path) -> int:
    off, t = 0, root
    for i in path:
        if t.is_transparent:
            t = t.children[0]
            continue
        off += len(t.symbol) + 1 + sum(len(str(c)) + 2 for c in t.children[:i])
        t = t.children[i]
    return off


def describe_position(root: Term, path: Path) -> str:
    """Human-readable position of the subterm at ``path``: ``'conv9x9' at path 0.2 (character 31)``."""
    sub = str(root.at(path))
    if len(sub) > 48:
        sub = sub[:45] + "..."
    dotted = ".".join(map(str, path)) or "(root)"
    return f"'{sub}' at path {dotted} (character {_char_offset(root, path)} of the term)"


# --- flattening ----------------------------------------------------------------------------------


def leaf_args(t: Term) -> tuple:
    """Argument values of a terminal with plain arguments: numbers, symbol strings, else the Term."""
    out = []
    for c in t.children:
        c = c.resolve()
        if c.value is not None:
            out.append(c.value)
        elif not c.children and not c.collapsed:
            out.append(c.symbol)
        else:
            out.append(c)
    return tuple(out)


class _Flattener:
    def __init__(self, root: Term, collapsed_as_ops: bool, seed: int, values_root: Optional[Term],
                 keep_zero: bool = False) -> None:
        self.root = root
        self.keep_zero = keep_zero  # record zero edges as ZERO_EDGE (prune="none")
        self.values_root = values_root  # the unfolded term of a fold graph (generator values)
        self.collapsed_as_ops = collapsed_as_ops
        self.seed = seed
        self.g = nx.MultiDiGraph()
        self.order = 0
        self.seen: dict[str, int] = {}

    def node(self, path: Path, merge: str = SUM) -> int:
        n = self.g.number_of_nodes()
        self.g.add_node(n, merge=merge, path=path)
        if merge != SUM:
            self.g.nodes[n]["branch_orders"] = []  # one entry per branch, pruned or not
        return n

    def edge(self, u: int, v: int, *, op: str, label: str, term: Optional[Term], path: Path,
             attrs: dict[str, Any]) -> None:
        occurrence = self.seen.get(op, 0)  # how many edges with this op came before (pre-order)
        self.seen[op] = occurrence + 1
        self.g.add_edge(u, v, op=op, label=label, term=term, path=path, attrs=attrs, order=self.order,
                        occurrence=occurrence)
        if self.g.nodes[v]["merge"] != SUM:
            self.g.nodes[v]["branch_orders"].append(self.order)
        self.order += 1

    def argument(self, t: Term, path: Path, arg: tuple[int, ...]) -> tuple[Term, Path]:
        """The subterm reached from ``t`` by argument indices ``arg`` (skipping transparent nodes)."""
        for i in arg:
            while t.is_transparent:
                t, path = t.children[0], path + (0,)
            if t.collapsed and self.collapsed_as_ops:
                return t, path  # a fold graph: the collapsed group stands on each of its edges
            if t.collapsed or i >= len(t.children):
                raise AssemblyError(f"expected an argument {i} in {describe_position(self.root, path)}")
            t, path = t.children[i], path + (i,)
        return t, path

    def merge_name(self, t: Term, path: Path, name: str) -> str:
        """The merge ``name`` of a node of topology ``t``, read from ``t``'s child when the template says so."""
        ref = split_arg_merge(name)
        if ref is None:
            return name
        index, default = ref
        if index >= len(t.children):
            return default
        child = t.children[index]
        child = child if child.collapsed else child.resolve()
        if child.value is not None or child.children or not child.symbol:
            raise AssemblyError(f"argument {index} must name a merge (e.g. wsum, cat, attention): "
                                f"{describe_position(self.root, path + (index,))}")
        return child.symbol

    def splice(self, t: Term, u: int, v: int, path: Path, attrs: dict[str, Any], inst: Path = ()) -> None:
        """Place subterm ``t`` (at ``path``, copy ``inst``: see ``position_seed``) between feature-map nodes ``u`` and ``v``."""
        while t.is_transparent:
            t, path = t.children[0], path + (0,)
        if t.collapsed:
            if not self.collapsed_as_ops:
                raise AssemblyError(f"a folded term cannot be built: collapsed {describe_position(self.root, path)}")
            if t.symbol in ZERO_OPS:
                if self.keep_zero:  # a collapsed zero still feeds a node nothing else feeds
                    self.edge(u, v, op=ZERO_EDGE, label=t.label, term=t, path=path, attrs={})
                return
            self.edge(u, v, op=t.label, label=t.label, term=t, path=path, attrs=attrs)
            return
        if t.value is not None:
            raise AssemblyError(f"a number stands where an operation is expected: {describe_position(self.root, path)}")
        if t.symbol in ZERO_OPS:
            if self.keep_zero:
                self.edge(u, v, op=ZERO_EDGE, label=t.symbol, term=t, path=path, attrs={})
            return
        if not t.children:
            self.edge(u, v, op=t.symbol, label=t.symbol, term=t, path=path, attrs=attrs)
            return
        try:
            values_from = self.values_root.at(path) if self.values_root is not None else None
            tmpl = term_template(t, self.seed, path, values_from, inst)
        except ValueError as e:  # a generator topology rejecting its values
            raise AssemblyError(f"{e}: {describe_position(self.root, path)}") from e
        if tmpl is None:  # a terminal with plain arguments (MBConv(5, 6, 0.25)): one operation
            self.edge(u, v, op=t.symbol, label=str(t), term=t, path=path, attrs=attrs)
            return
        if attrs:
            raise AssemblyError(
                f"edge attributes {attrs} cannot be applied to the topology {describe_position(self.root, path)}")
        # Template node k -> graph node; an output that does not sum gets its own node (joined
        # to v by an identity) so that it never mixes with the merge at v.
        out_merge = self.merge_name(t, path, tmpl.merge(tmpl.n_nodes))
        nodes: dict[int, int] = {1: u}
        for k in range(2, tmpl.n_nodes):
            nodes[k] = self.node(path, self.merge_name(t, path, tmpl.merge(k)))
        nodes[tmpl.n_nodes] = v if out_merge == SUM else self.node(path, out_merge)
        repeated = repeated_arguments(tmpl)
        copies: dict[Any, int] = {}  # argument -> copies placed so far (its instance index)
        for e in tmpl.edges:
            a, b = nodes[e.src], nodes[e.dst]
            if e.arg is not None:
                sub, sub_path = self.argument(t, path, (e.arg,) if isinstance(e.arg, int) else e.arg)
                sub_inst = inst
                if e.arg in repeated:  # one copy of the argument per edge: each draws its own graphs
                    copies[e.arg] = copies.get(e.arg, -1) + 1
                    sub_inst = inst + (copies[e.arg],)
                if self.g.nodes[b]["merge"] != SUM:
                    # Exactly one edge per branch of a merge: a composite argument sums into its
                    # own node first.
                    mid = self.node(sub_path)
                    self.splice(sub, a, mid, sub_path, dict(e.attrs), sub_inst)
                    self.edge(mid, b, op="id", label="id", term=None, path=path, attrs={})
                else:
                    self.splice(sub, a, b, sub_path, dict(e.attrs), sub_inst)
            else:
                self.edge(a, b, op=e.op, label=e.op, term=None, path=path, attrs=dict(e.attrs))
        if out_merge != SUM:
            self.edge(nodes[tmpl.n_nodes], v, op="id", label="id", term=None, path=path, attrs={})


def term_graph(term: Term, *, collapsed_as_ops: bool = False, prune: Union[bool, str] = True, seed: int = 0,
               unfolded: Optional[Term] = None) -> nx.MultiDiGraph:
    """The op-edge DAG of ``term`` (see the module docstring).

    ``prune``: ``True`` or ``"paths"`` keeps only the edges on input→output paths (Schrodi et al.'s code);
    ``"none"`` keeps every edge, ``zero`` ones as :data:`ZERO_EDGE` (NAS-Bench-201's InferCell);
    ``False`` returns the spliced graph as it is (no ``zero`` edges, nothing checked).
    ``seed`` is the network seed; generator topologies derive their seed from it and their path.
    ``unfolded``: for a folded ``term``, the term it was folded from (generator topologies read
    their numeric arguments there, as a fold may collapse them).

    Raises :class:`AssemblyError` when nothing connects the input to the output (every path cut
    by ``zero``), when a folded (collapsed) term is given without ``collapsed_as_ops``, or for an
    unknown ``prune`` mode.
    """
    if not isinstance(prune, bool) and prune not in PRUNE_MODES:
        raise AssemblyError(f"unknown prune mode {prune!r} (known: {', '.join(PRUNE_MODES)})")
    f = _Flattener(term, collapsed_as_ops, seed, unfolded, keep_zero=prune == "none")
    src = f.node(())
    dst = f.node(())
    f.splice(term, src, dst, (), {})
    g = f.g
    g.graph.update(input=src, output=dst, term=term, seed=seed)
    if prune is False:
        return g
    live = g if prune != "none" else g.edge_subgraph(
        [(a, b, k) for a, b, k, op in g.edges(keys=True, data="op") if op != ZERO_EDGE])
    if src not in live or dst not in live or not nx.has_path(live, src, dst):
        text = str(term)
        text = text if len(text) <= 200 else text[:197] + "..."
        raise AssemblyError(f"the term computes nothing: every input→output path is cut by zero in '{text}'")
    if prune == "none":
        # every edge stays; only nodes that no edge (zero ones included) reaches from the input go
        keep = nx.descendants(g, src) | {src}
    else:
        keep = (nx.descendants(g, src) | {src}) & (nx.ancestors(g, dst) | {dst})
    g.remove_nodes_from([n for n in list(g.nodes) if n not in keep])
    return g


# --- node-labelled graphs for the WL kernel --------------------------------------------------------


def op_graph(g: nx.MultiDiGraph, contract_identity: bool = True) -> nx.DiGraph:
    """Line graph of an op-edge DAG: one node per operation, ``id`` contracted, plus input/output.

    Node ids are integers: 0 is ``"input"``, then the operations in ``order``, the last is ``"output"``.
    """
    src, dst = g.graph["input"], g.graph["output"]
    ops = sorted(g.edges(keys=True, data=True), key=lambda e: e[3]["order"])
    out = nx.DiGraph()
    out.add_node(0, label="input")
    idx = {}
    for i, (a, b, k, d) in enumerate(ops, start=1):
        idx[(a, b, k)] = i
        out.add_node(i, label=d["label"], identity=d["op"] in IDENTITY_OPS and not d["attrs"])
    last = len(ops) + 1
    out.add_node(last, label="output")
    for n in g.nodes:
        ins = [idx[(a, n, k)] for a, _, k in g.in_edges(n, keys=True)]
        outs = [idx[(n, b, k)] for _, b, k in g.out_edges(n, keys=True)]
        if n == src:
            ins.append(0)
        if n == dst:
            outs.append(last)
        out.add_edges_from((a, b) for a in ins for b in outs)
    for i in range(1, last):
        if contract_identity and out.nodes[i].get("identity"):
            out.add_edges_from((p, s) for p in out.predecessors(i) for s in out.successors(i))
            out.remove_node(i)
    for _, d in out.nodes(data=True):
        d.pop("identity", None)
    return out


def flat_graph(term: Term, seed: int = 0) -> nx.DiGraph:
    """Node-labelled op graph of ``term`` for the WL kernel (Schrodi et al., Sec. 3; component j = 0).

    One node per primitive operation (``label`` = its name, or the whole subterm for a terminal
    with plain arguments such as ``MBConv(5, 6, 0.25)``), ``id`` contracted, ``zero`` removed,
    dead parts pruned; one node labelled ``"input"`` and one ``"output"``.
    """
    return op_graph(term_graph(term, seed=seed))


def fold_graphs(grammar: Grammar, term: Term, levels: Sequence[int] = (0, 1, 2, 3, 4), seed: int = 0) -> list[nx.DiGraph]:
    """One op graph per fold level: ``grammar.fold(term, level)`` with each collapsed subterm one
    node labelled ``"NONTERMINAL TOPOLOGY"`` (e.g. ``"D1 Residual3"``); same format as :func:`flat_graph`.

    A collapsed ``zero`` is removed like a ``zero``; edges of a fold graph are the data flow between
    the collapsed blocks.
    """
    return [op_graph(term_graph(grammar.fold(term, level), collapsed_as_ops=True, seed=seed, unfolded=term))
            for level in levels]

