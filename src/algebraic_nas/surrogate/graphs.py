"""`TermGraphs`: the labelled graphs of a term (flat graph + fold-level graphs), cached per term.

Component 0 is the flat op graph (``assembly.graph.flat_graph``); components 1.. are the graphs
of the fold levels (``assembly.graph.fold_graphs``, Schrodi et al., Sec. 3: the parse tree cut at depths
0..4, each collapsed subtree one node labelled ``"NONTERMINAL TOPOLOGY"``). The term -> graphs
function is injectable (``graph_fn``), so the surrogate works with any representation and can be
tested without the assembler.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Callable, Optional, Sequence, Union

import networkx as nx
import numpy as np
import scipy.sparse as sp

from algebraic_nas.grammar.term import Term
from algebraic_nas.surrogate.wl import CompactGraph, WLFeatures, WLFeaturizer, cross_inner
from algebraic_nas.surrogate.wl_hash import HashWLFeaturizer

if TYPE_CHECKING:
    from algebraic_nas.grammar import Grammar

GraphFn = Callable[[Term], Sequence[Union[nx.DiGraph, CompactGraph]]]
DEFAULT_LEVELS: tuple[int, ...] = (0, 1, 2, 3, 4)
# WL labelling schemes (same kernel values): hashed (vectorised) or sorted signatures
WL_LABELS: dict[str, type[WLFeaturizer]] = {"hash": HashWLFeaturizer, "sorted": WLFeaturizer}


def assembly_graph_fn(grammar: Grammar, levels: Sequence[int] = DEFAULT_LEVELS, seed: int = 0) -> GraphFn:
    """term -> [flat_graph(term), *fold_graphs(grammar, term, levels)] via the assembler.

    ``seed`` is the network seed of generator topologies (the one the networks are built with).
    """
    from algebraic_nas.assembly.graph import flat_graph, fold_graphs  # networkx only, no torch

    levels = tuple(levels)

    def fn(term: Term) -> list[nx.DiGraph]:
        flat = flat_graph(term, seed=seed)
        return [flat, *fold_graphs(grammar, term, levels=levels, seed=seed)] if levels else [flat]

    return fn


def term_values(term: Term) -> tuple[float, ...]:
    """The numeric placeholder values of a term in pre-order (a fixed order for one structure)."""
    return tuple(float(node.value) for _, node in term.walk() if node.value is not None)


class TermGraphs:
    """Cache of the graphs of terms, as :class:`CompactGraph` tuples (flat first, then folds).

    Args:
        grammar: the grammar of the terms (needed by the default graph function for folding).
        graph_fn: term -> sequence of node-labelled DiGraphs (or CompactGraphs); default: the
            assembler's flat graph followed by the fold-level graphs of ``levels``, built by
            :class:`~algebraic_nas.surrogate.fastgraph.FastGraphFn` (same graphs, ~10x faster).
        levels: fold levels of the default graph function.
        seed: network seed of generator topologies for the default graph function.
        max_terms: least-recently-used terms beyond this many are forgotten (the evolutionary
            optimiser makes ~10,000 candidates per proposal).
    """

    def __init__(
        self,
        grammar: Optional[Grammar] = None,
        graph_fn: Optional[GraphFn] = None,
        levels: Sequence[int] = DEFAULT_LEVELS,
        max_terms: int = 200_000,
        seed: int = 0,
    ) -> None:
        if graph_fn is None:
            if grammar is None:
                raise ValueError("TermGraphs needs a grammar (for the fold graphs) or a graph_fn")
            from algebraic_nas.surrogate.fastgraph import FastGraphFn

            graph_fn = FastGraphFn(grammar, levels, seed)
        self.graph_fn = graph_fn
        self.max_terms = max_terms
        self._cache: "OrderedDict[Term, tuple[CompactGraph, ...]]" = OrderedDict()
        self.n_components: Optional[int] = None
        # (component, h_max, direction) -> persistent featuriser and per-term WL count rows
        self._featurizers: dict[tuple, WLFeaturizer] = {}
        self._rows: dict[tuple, "OrderedDict[Term, list[tuple[np.ndarray, np.ndarray]]]"] = {}
        # (component, h_max, direction, labels) -> (term -> row, cumulative raw Gram) of the last fit
        self._grams: dict[tuple, tuple[dict, np.ndarray]] = {}

    def __call__(self, term: Term) -> tuple[CompactGraph, ...]:
        """The graphs of ``term`` (computed once, then cached)."""
        got = self._cache.get(term)
        if got is not None:
            self._cache.move_to_end(term)
            return got
        try:
            graphs = self.graph_fn(term)
        except Exception as exc:  # name the term: graph construction errors are otherwise opaque
            raise ValueError(f"could not build the graphs of term {str(term)[:200]!r}: {exc}") from exc
        got = tuple(g if isinstance(g, CompactGraph) else CompactGraph.from_networkx(g) for g in graphs)
        if not got:
            raise ValueError(f"graph_fn returned no graphs for term {str(term)[:200]!r}")
        if self.n_components is None:
            self.n_components = len(got)
        elif len(got) != self.n_components:
            raise ValueError(
                f"graph_fn returned {len(got)} graphs for term {str(term)[:200]!r}, expected {self.n_components}"
            )
        self._cache[term] = got
        if len(self._cache) > self.max_terms:
            self._cache.popitem(last=False)
        return got

    def wl_features(
        self, terms: Sequence[Term], component: int, h_max: int, direction: str = "successors", labels: str = "hash"
    ) -> tuple[WLFeaturizer, WLFeatures]:
        """WL features of graph ``component`` of ``terms``, computed once per term and cached.

        One featuriser (vocabulary) per (component, h_max, direction) lives as long as this
        cache and only grows, so cached rows stay valid: a column no term of a later fit uses
        contributes nothing to its kernel values. Returns the featuriser (for featurising new
        terms against the vocabulary with ``grow=False``) and the features of ``terms`` in order.
        ``labels``: ``"hash"`` (:class:`~.wl_hash.HashWLFeaturizer`, the default) or ``"sorted"``
        (:class:`~.wl.WLFeaturizer`); both give the same kernel values.
        """
        if labels not in WL_LABELS:
            raise ValueError(f"labels must be one of {sorted(WL_LABELS)}, got {labels!r}")
        key = (component, h_max, direction, labels)
        f = self._featurizers.get(key)
        if f is None:
            f = self._featurizers[key] = WL_LABELS[labels](h_max, direction)  # type: ignore[arg-type]
            self._rows[key] = OrderedDict()
        rows = self._rows[key]
        todo = list(dict.fromkeys(t for t in terms if t not in rows))
        if todo:
            x = f.transform(self.component(todo, component), grow=True)
            for k, t in enumerate(todo):
                rows[t] = [(c.indices[c.indptr[k] : c.indptr[k + 1]].copy(), c.data[c.indptr[k] : c.indptr[k + 1]].copy())
                           for c in x.counts]
            while len(rows) > self.max_terms:
                rows.popitem(last=False)
        got = [rows[t] for t in terms]
        counts = []
        for i in range(h_max + 1):
            lens = np.fromiter((len(r[i][0]) for r in got), dtype=np.int64, count=len(got))
            indptr = np.concatenate([[0], np.cumsum(lens)])
            idx = np.concatenate([r[i][0] for r in got]) if got else np.zeros(0, dtype=np.int32)
            dat = np.concatenate([r[i][1] for r in got]) if got else np.zeros(0)
            counts.append(sp.csr_matrix((dat, idx, indptr), shape=(len(got), len(f.vocab[i]))))
        return f, WLFeatures(counts, np.zeros((h_max + 1, len(got))))

    def wl_grams(
        self, terms: Sequence[Term], component: int, h_max: int, direction: str = "successors", labels: str = "hash"
    ) -> tuple[WLFeaturizer, WLFeatures, np.ndarray, np.ndarray]:
        """:meth:`wl_features` plus the cumulative raw Gram ``(h_max+1, n, n)`` and self kernel
        ``(h_max+1, n)`` of ``terms``; the entries between terms of the previous call (same
        component, depth, direction, labels) are copied from it, only rows of new terms are
        computed (BANAT's training set grows by a term or two per fit). Label counts are
        integers, so the copied entries equal recomputed ones exactly."""
        f, feats = self.wl_features(terms, component, h_max, direction, labels)
        key = (component, h_max, direction, labels)
        n = len(terms)
        old = self._grams.get(key)
        index = old[0] if old is not None else {}
        pos = np.fromiter((index.get(t, -1) for t in terms), dtype=np.int64, count=n)
        known = np.flatnonzero(pos >= 0)
        new = np.flatnonzero(pos < 0)
        if old is None or len(known) < n // 2:
            cum = np.cumsum(cross_inner(feats, feats), axis=0)
        else:
            cum = np.empty((h_max + 1, n, n))
            p = pos[known]
            if len(known) and np.array_equal(p, np.arange(len(p))) and np.array_equal(known, p):
                cum[:, : len(p), : len(p)] = old[1][:, : len(p), : len(p)]  # a prefix: plain slices
            else:
                cum[:, known[:, None], known[None, :]] = old[1][:, p[:, None], p[None, :]]
            if len(new):
                rows = np.cumsum(cross_inner(feats.rows(new), feats), axis=0)  # (h+1, m, n)
                cum[:, new, :] = rows
                cum[:, :, new] = rows.transpose(0, 2, 1)
        self_cum = np.cumsum(feats.self_inner(), axis=0)
        self._grams[key] = ({t: k for k, t in enumerate(terms)}, cum)
        return f, feats, cum, self_cum

    def component(self, terms: Sequence[Term], j: int) -> list[CompactGraph]:
        """Graph j (0 = flat) of each term."""
        return [self(t)[j] for t in terms]

    def __len__(self) -> int:
        return len(self._cache)
