"""Weisfeiler-Lehman subtree features with a growing vocabulary, batched with numpy.

Convention (identical to grakel's ``WeisfeilerLehman(n_iter=h, base_graph_kernel=VertexHistogram)``
when its ``Graph`` is built from the *directed* edge dictionary ``{u: {v: 1.0}}`` of the DiGraph,
see ``tests/surrogate/test_wl.py``):

* iteration 0 counts the original node labels;
* iteration i >= 1 relabels every node by the pair (its label at i-1, the sorted multiset of the
  labels at i-1 of its *neighbours*), where the neighbours are the successors (out-edges, the
  reference's direction and grakel's for a directed edge dictionary), the predecessors, or both
  (``direction="undirected"``, i.e. grakel on the symmetrised edge dictionary);
* every iteration has its own label space and the raw kernel is the sum over iterations
  0..h of the inner products of the label-count vectors; the normalised kernel is
  ``K(a, b) / sqrt(K(a, a) K(b, b))``.

A fitted vocabulary (one dict per iteration, signature -> column) lets new graphs be featurised
without refitting (``grow=False``): a label never seen during fitting has no column, because no
fitted graph can share it, so it contributes nothing to a cross kernel value; it only adds its
squared count to the graph's own norm (kept in :attr:`WLFeatures.extra`). That is exactly what
grakel's ``transform`` does, so normalised cross-kernel values stay exact. Unseen labels get
temporary ids within one call so that the next iteration's signatures stay consistent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional, Sequence

import networkx as nx
import numpy as np
import scipy.sparse as sp

Direction = Literal["successors", "predecessors", "undirected"]
DIRECTIONS: tuple[str, ...] = ("successors", "predecessors", "undirected")


@dataclass(frozen=True)
class CompactGraph:
    """A node-labelled directed graph as arrays: nodes 0..n-1.

    ``labels``: tuple of n node labels (str); ``src``, ``dst``: int64 arrays of shape (E,).
    """

    labels: tuple[str, ...]
    src: np.ndarray
    dst: np.ndarray

    @property
    def n_nodes(self) -> int:
        return len(self.labels)

    @classmethod
    def from_networkx(cls, g: nx.DiGraph, label_attr: str = "label") -> "CompactGraph":
        """Convert a DiGraph whose nodes carry a ``label`` attribute (clear error if one does not)."""
        if not isinstance(g, nx.DiGraph):
            raise TypeError(f"expected a networkx.DiGraph, got {type(g).__name__}")
        index = {v: i for i, v in enumerate(g.nodes)}
        labels = []
        for v, data in g.nodes(data=True):
            if label_attr not in data:
                raise ValueError(f"graph node {v!r} has no {label_attr!r} attribute")
            labels.append(str(data[label_attr]))
        if g.number_of_edges():
            e = np.array([(index[u], index[v]) for u, v in g.edges], dtype=np.int64)
            src, dst = e[:, 0].copy(), e[:, 1].copy()
        else:
            src = dst = np.zeros(0, dtype=np.int64)
        return cls(tuple(labels), src, dst)


@dataclass
class WLFeatures:
    """WL label counts of a batch of graphs.

    ``counts[i]``: CSR matrix (n_graphs, n_columns_i) of label counts at iteration i over the
    vocabulary known when it was computed (pad with :meth:`padded` as the vocabulary grows);
    ``extra``: array (h+1, n_graphs), sum of squared counts of labels outside the vocabulary;
    ``unseen[i]``: CSR counts of those labels over ids shared *within the one call* that made
    the block (so kernel values between graphs of one query batch stay exact too), or None.
    """

    counts: list[sp.csr_matrix]
    extra: np.ndarray
    unseen: Optional[list[sp.csr_matrix]] = None

    @property
    def n_graphs(self) -> int:
        return self.extra.shape[1]

    @property
    def h(self) -> int:
        return len(self.counts) - 1

    def self_inner(self) -> np.ndarray:
        """Per-iteration raw self kernel values, shape (h+1, n_graphs)."""
        out = self.extra.copy()
        for i, x in enumerate(self.counts):
            out[i] += np.asarray(x.multiply(x).sum(axis=1)).ravel()
        return out

    def rows(self, index: Sequence[int] | np.ndarray) -> "WLFeatures":
        """The features of a subset of the graphs (in the given order)."""
        idx = np.asarray(index, dtype=np.int64)
        unseen = None if self.unseen is None else [u[idx] for u in self.unseen]
        return WLFeatures([x[idx] for x in self.counts], self.extra[:, idx], unseen)

    @staticmethod
    def concat(parts: Sequence["WLFeatures"], keep_unseen: bool = False) -> "WLFeatures":
        """Stack feature blocks row-wise (columns padded to the widest).

        Unseen-label ids of different calls are unrelated, so by default the concatenation
        keeps only their norms; ``keep_unseen``: the blocks share their unseen-label ids (made
        with one ``overlay`` vocabulary, see :meth:`~.wl_hash.HashWLFeaturizer.transform`),
        and their unseen counts are stacked too."""
        if not parts:
            raise ValueError("nothing to concatenate")
        h = parts[0].h
        if any(p.h != h for p in parts):
            raise ValueError("feature blocks with different numbers of iterations")
        counts = [_vstack([p.counts[i] for p in parts]) for i in range(h + 1)]
        unseen = None
        if keep_unseen and all(p.unseen is not None for p in parts):
            unseen = [_vstack([p.unseen[i] for p in parts]) for i in range(h + 1)]  # type: ignore[index]
        return WLFeatures(counts, np.concatenate([p.extra for p in parts], axis=1), unseen)


def _vstack(blocks: Sequence[sp.csr_matrix]) -> sp.csr_matrix:
    """Row-wise stack of CSR blocks, columns padded to the widest."""
    width = max(b.shape[1] for b in blocks)
    return sp.vstack([_pad(b, width) for b in blocks], format="csr")


def _pad(x: sp.csr_matrix, width: int) -> sp.csr_matrix:
    if x.shape[1] == width:
        return x
    return sp.csr_matrix((x.data, x.indices, x.indptr), shape=(x.shape[0], width))


def cross_inner(a: WLFeatures, b: WLFeatures, h: int | None = None) -> np.ndarray:
    """Raw per-iteration inner products, shape (h+1, n_a, n_b) (dense float64).

    Labels outside the vocabulary never match a fitted graph, so they enter only when ``a`` and
    ``b`` are the same block (``a is b``), whose unseen-label ids are consistent.
    """
    h = min(a.h, b.h) if h is None else h
    out = np.empty((h + 1, a.n_graphs, b.n_graphs))
    for i in range(h + 1):
        xa, xb = a.counts[i], b.counts[i]
        width = min(xa.shape[1], xb.shape[1])  # columns beyond the narrower block are zero there
        if xa.shape[1] != width:
            xa = xa[:, :width]
        if xb.shape[1] != width:
            xb = xb[:, :width]
        out[i] = (xa @ xb.T).toarray()
        if a is b and a.unseen is not None:
            out[i] += (a.unseen[i] @ a.unseen[i].T).toarray()
    return out


def normalised_kernel(cross: np.ndarray, self_a: np.ndarray, self_b: np.ndarray) -> np.ndarray:
    """Cosine-normalised cumulative kernel for h = len(cross)-1.

    ``cross``: (h+1, n_a, n_b) per-iteration inner products; ``self_a``: (h+1, n_a); ``self_b``: (h+1, n_b).
    Returns (n_a, n_b) with ``K_h(a, b) / sqrt(K_h(a, a) K_h(b, b))``.
    """
    k = cross.sum(axis=0)
    da = self_a[: cross.shape[0]].sum(axis=0)
    db = self_b[: cross.shape[0]].sum(axis=0)
    return k / np.sqrt(np.outer(da, db))


_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93],
                dtype=np.uint64)


def _unique_rows(sig: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(sig, axis=0, return_inverse=True)``, faster: rows are grouped by a 64-bit
    hash, then every row is compared with its group's representative; on any collision the
    exact (slower) ``np.unique`` is used, so the result is always exact."""
    n, w = sig.shape
    if n == 0:
        return sig, np.zeros(0, dtype=np.int64)
    with np.errstate(over="ignore"):
        u = sig.astype(np.uint64)
        h = np.zeros(n, dtype=np.uint64)
        for c in range(w):
            h = (h ^ (u[:, c] + _MIX[c % 4])) * _MIX[(c + 1) % 4]
            h ^= h >> np.uint64(29)
    _, first, inv = np.unique(h, return_index=True, return_inverse=True)
    inv = inv.ravel()
    rep = first[inv]
    if not np.array_equal(sig, sig[rep]):
        usig, inv = np.unique(sig, axis=0, return_inverse=True)
        return usig, inv.ravel()
    return sig[first], inv


class WLFeaturizer:
    """WL-subtree featuriser for up to ``h_max`` iterations with a growing vocabulary.

    Args:
        h_max: number of refinement iterations (features for h = 0..h_max are produced).
        direction: which neighbours a node aggregates: ``"successors"`` (default, as the
            reference), ``"predecessors"`` or ``"undirected"`` (both).
    """

    def __init__(self, h_max: int = 4, direction: Direction = "successors") -> None:
        if not isinstance(h_max, int) or h_max < 0:
            raise ValueError(f"h_max must be a non-negative int, got {h_max!r}")
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
        self.h_max = h_max
        self.direction = direction
        # vocab[0]: label str -> column; vocab[i >= 1]: signature bytes -> column
        self.vocab: list[dict] = [dict() for _ in range(h_max + 1)]

    @property
    def vocab_sizes(self) -> tuple[int, ...]:
        return tuple(len(v) for v in self.vocab)

    def transform(self, graphs: Sequence[CompactGraph | nx.DiGraph], grow: bool = True) -> WLFeatures:
        """Features of ``graphs``; with ``grow`` new labels join the vocabulary, else they only
        count towards each graph's own norm (``WLFeatures.extra``)."""
        gs = [g if isinstance(g, CompactGraph) else CompactGraph.from_networkx(g) for g in graphs]
        n = len(gs)
        sizes = np.array([g.n_nodes for g in gs], dtype=np.int64)
        if n and sizes.min() == 0:
            raise ValueError(f"graph {int(np.argmin(sizes))} of the batch has no nodes")
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        graph_of = np.repeat(np.arange(n, dtype=np.int64), sizes)
        owner, nbr = self._neighbour_pairs(gs, offsets)

        counts: list[sp.csr_matrix] = []
        unseen: list[sp.csr_matrix] = []
        extra = np.zeros((self.h_max + 1, n))

        # iteration 0: the original labels
        all_labels = np.array([l for g in gs for l in g.labels], dtype=object)
        if n == 0:
            return WLFeatures([sp.csr_matrix((0, len(v))) for v in self.vocab], extra,
                              [sp.csr_matrix((0, 0)) for _ in self.vocab])
        uniq, inv = np.unique(all_labels.astype(str), return_inverse=True)
        ids = self._lookup(0, [str(u) for u in uniq], grow)[inv.ravel()]
        counts.append(self._count(0, ids, graph_of, n, extra, unseen))

        # sort the neighbour pairs by owner once; positions within each owner's group are fixed
        order = np.argsort(owner, kind="stable")
        owner, nbr = owner[order], nbr[order]
        deg = np.bincount(owner, minlength=len(graph_of))
        width = int(deg.max()) if len(deg) and len(owner) else 0
        # column of each pair in its owner's signature row: owner stays sorted under the
        # per-iteration sort below (owner is its primary key), so this is fixed
        rank = np.arange(len(owner)) - (np.cumsum(deg) - deg)[owner]
        for i in range(1, self.h_max + 1):
            # signature row: [own label, sorted neighbour labels..., -1 padding]
            sig = np.full((len(ids), 1 + width), -1, dtype=np.int64)
            sig[:, 0] = ids
            if width:
                nl = ids[nbr]
                sig[owner, 1 + rank] = nl[np.lexsort((nl, owner))]
            usig, inv = _unique_rows(sig)
            ulen = 1 + (usig[:, 1:] >= 0).sum(axis=1)
            keys = [usig[k, : ulen[k]].tobytes() for k in range(len(usig))]
            ids = self._lookup(i, keys, grow)[inv.ravel()]
            counts.append(self._count(i, ids, graph_of, n, extra, unseen))
        return WLFeatures(counts, extra, unseen)

    def _neighbour_pairs(self, gs: Sequence[CompactGraph], offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(owner, neighbour) node pairs in the concatenated graph: owner aggregates neighbour's label."""
        if gs:
            src = np.concatenate([g.src + offsets[k] for k, g in enumerate(gs)])
            dst = np.concatenate([g.dst + offsets[k] for k, g in enumerate(gs)])
        else:
            src = dst = np.zeros(0, dtype=np.int64)
        if self.direction == "successors":
            return src, dst
        if self.direction == "predecessors":
            return dst, src
        # undirected: both directions; a pair of opposite edges u->v, v->u counts once per side
        pairs = np.unique(np.concatenate([np.stack([src, dst], 1), np.stack([dst, src], 1)]), axis=0)
        return pairs[:, 0].copy(), pairs[:, 1].copy()

    def _lookup(self, i: int, keys: list, grow: bool) -> np.ndarray:
        """Columns of ``keys`` in vocabulary i; unseen keys get new columns (grow) or temporary
        ids >= the vocabulary size (not grow)."""
        voc = self.vocab[i]
        out = np.empty(len(keys), dtype=np.int64)
        if grow:
            for k, key in enumerate(keys):
                c = voc.get(key)
                if c is None:
                    c = voc[key] = len(voc)
                out[k] = c
        else:
            nxt = len(voc)
            for k, key in enumerate(keys):
                c = voc.get(key)
                if c is None:
                    c, nxt = nxt, nxt + 1
                out[k] = c
        return out

    def _count(self, i: int, ids: np.ndarray, graph_of: np.ndarray, n: int, extra: np.ndarray,
               unseen: list[sp.csr_matrix]) -> sp.csr_matrix:
        v = len(self.vocab[i])
        known = ids < v
        x = sp.csr_matrix((np.ones(int(known.sum())), (graph_of[known], ids[known])), shape=(n, v))
        x.sum_duplicates()
        t = ids[~known] - v  # temporary ids of this call's unseen labels
        u = sp.csr_matrix((np.ones(len(t)), (graph_of[~known], t)), shape=(n, int(t.max()) + 1 if len(t) else 0))
        u.sum_duplicates()
        unseen.append(u)
        extra[i] += np.asarray(u.multiply(u).sum(axis=1)).ravel()
        return x
