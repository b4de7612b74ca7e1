"""WL features with hashed labels: the same kernel as :class:`~.wl.WLFeaturizer`, vectorised.

:class:`~.wl.WLFeaturizer` names the label of a node at iteration i by its signature (its label
at i-1, the *sorted* labels of its neighbours) and looks every distinct signature up in a Python
dict: sorting the neighbour rows, grouping equal rows and the per-signature lookup dominate its
cost (about 60 % of a BANAT proposal's featurisation on ``hnb201``, 10,000 candidates of about
220 nodes each). Here a label is a 64-bit hash instead:

    x_0(v) = H(label string)
    x_i(v) = mix(x_{i-1}(v) * P + sum over neighbours u of mix(x_{i-1}(u) + i))     (mod 2^64)

The neighbour sum is order-free, so it needs no sort, and one ``np.add.at`` computes it for a
whole batch; the vocabulary of iteration i is a sorted array of hashes searched with
``np.searchsorted``. Two nodes get the same hash iff their WL labels (unfolding trees of depth
i) are equal, unless two different labels collide: with a 64-bit hash the probability is about
``L^2 / 2^65`` for ``L`` distinct labels (3e-8 for a million). Label counts are integers, so the
inner products, hence the kernel values, are bit-for-bit those of the sorted-signature
featuriser whatever the column order (``tests/surrogate/test_wl_hash.py`` checks both, and
grakel).
"""

from __future__ import annotations

import hashlib
from itertools import chain
from typing import Optional, Sequence

import networkx as nx
import numpy as np
import scipy.sparse as sp

from algebraic_nas.surrogate.wl import CompactGraph, Direction, WLFeatures, WLFeaturizer

_P = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, elementwise on uint64 (a bijection with good avalanche)."""
    x = (x ^ (x >> _S30)) * _M1
    x = (x ^ (x >> _S27)) * _M2
    return x ^ (x >> _S31)


_STRING_HASH: dict[str, int] = {}


def _string_hash(s: str) -> int:
    """A process-independent 64-bit hash of a label string (cached)."""
    got = _STRING_HASH.get(s)
    if got is None:
        got = _STRING_HASH[s] = int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "little")
    return got


def _label_hashes(gs: Sequence[CompactGraph], n_nodes: int) -> np.ndarray:
    """uint64 hashes of the node labels of ``gs``, concatenated (C-level loops: ~200 nodes per
    candidate graph)."""
    labels = list(chain.from_iterable(g.labels for g in gs))
    for s in set(labels).difference(_STRING_HASH):
        _string_hash(s)
    return np.fromiter(map(_STRING_HASH.__getitem__, labels), dtype=np.uint64, count=n_nodes)


class _HashVocab:
    """Columns of one iteration: hashes in first-seen order, plus a sorted copy for lookup."""

    def __init__(self) -> None:
        self.sorted_hashes = np.zeros(0, dtype=np.uint64)
        self.sorted_cols = np.zeros(0, dtype=np.int64)
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def lookup(self, hashes: np.ndarray, grow: bool) -> np.ndarray:
        """Columns of ``hashes``; unseen ones get new columns (grow: ``hashes`` must then be
        distinct) or -1."""
        pos = np.searchsorted(self.sorted_hashes, hashes)
        found = np.zeros(len(hashes), dtype=bool)
        ok = pos < self.size
        found[ok] = self.sorted_hashes[pos[ok]] == hashes[ok]
        cols = np.full(len(hashes), -1, dtype=np.int64)
        cols[found] = self.sorted_cols[pos[found]]
        if grow and not found.all():
            new = np.flatnonzero(~found)
            cols[new] = self.size + np.arange(len(new))
            self.size += len(new)
            h = np.concatenate([self.sorted_hashes, hashes[new]])
            c = np.concatenate([self.sorted_cols, cols[new]])
            order = np.argsort(h, kind="stable")
            self.sorted_hashes, self.sorted_cols = h[order], c[order]
        return cols


class UnseenOverlay:
    """Ids for labels outside a :class:`HashWLFeaturizer`'s vocabulary, consistent across calls.

    Query terms are featurised against a frozen vocabulary; a label it lacks adds to a term's
    own norm only, and its id is private to one call. A featurised candidate pool grows by
    several calls, and the kernel between two pool members (a fantasy and a candidate) needs
    their shared unseen labels to match: featurising with one overlay gives them one id space
    (columns after the vocabulary's). Valid while the featuriser's vocabulary does not grow.
    """

    def __init__(self, featurizer: "HashWLFeaturizer") -> None:
        self.sizes = tuple(len(v) for v in featurizer.vocab)
        self.vocab = [_HashVocab() for _ in featurizer.vocab]

    def check(self, featurizer: "HashWLFeaturizer") -> None:
        if tuple(len(v) for v in featurizer.vocab) != self.sizes:
            raise RuntimeError("the WL vocabulary grew since this overlay was made (a new fit): make a new overlay")


class HashWLFeaturizer(WLFeaturizer):
    """WL-subtree featuriser with hashed labels (see the module docstring); same interface,
    same kernel values as :class:`~.wl.WLFeaturizer`."""

    def __init__(self, h_max: int = 4, direction: Direction = "successors") -> None:
        super().__init__(h_max, direction)
        self.vocab = [_HashVocab() for _ in range(h_max + 1)]  # type: ignore[misc]
        self._overlay: Optional[UnseenOverlay] = None  # of the transform in progress

    def overlay(self) -> "UnseenOverlay":
        """A vocabulary for the labels this featuriser's vocabulary does not hold, shared by
        several ``transform(..., grow=False, overlay=...)`` calls (see :class:`UnseenOverlay`)."""
        return UnseenOverlay(self)

    def transform(self, graphs: Sequence[CompactGraph | nx.DiGraph], grow: bool = True,
                  h: Optional[int] = None, overlay: Optional["UnseenOverlay"] = None) -> WLFeatures:
        """Features of ``graphs`` for iterations 0..h (default ``h_max``); with ``grow`` new
        labels join the vocabulary, else they only count towards each graph's own norm.
        ``overlay`` (with ``grow=False``): unseen labels get ids from it, shared by every call
        given the same overlay, instead of ids private to this call."""
        h = self.h_max if h is None else h
        if not 0 <= h <= self.h_max:
            raise ValueError(f"h={h} outside 0..{self.h_max}")
        if overlay is not None:
            overlay.check(self)
        self._overlay = None if grow else overlay
        gs = [g if isinstance(g, CompactGraph) else CompactGraph.from_networkx(g) for g in graphs]
        n = len(gs)
        sizes = np.array([g.n_nodes for g in gs], dtype=np.int64)
        if n and sizes.min() == 0:
            raise ValueError(f"graph {int(np.argmin(sizes))} of the batch has no nodes")
        extra = np.zeros((h + 1, n))
        if n == 0:
            empty = [sp.csr_matrix((0, len(v))) for v in self.vocab[: h + 1]]
            return WLFeatures(empty, extra, [sp.csr_matrix((0, 0)) for _ in empty])
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        graph_of = np.repeat(np.arange(n, dtype=np.int64), sizes)
        owner, nbr = self._neighbour_pairs(gs, offsets)
        x = _label_hashes(gs, int(offsets[-1]))
        counts: list[sp.csr_matrix] = []
        unseen: list[sp.csr_matrix] = []
        for i in range(h + 1):
            if i:
                agg = np.zeros(len(x), dtype=np.uint64)
                np.add.at(agg, owner, _mix(x[nbr] + np.uint64(i)))
                x = _mix(x * _P + agg)
            c, u = self._hash_count(i, x, graph_of, n, extra, grow)
            counts.append(c)
            unseen.append(u)
        return WLFeatures(counts, extra, unseen)

    def _hash_count(self, i: int, x: np.ndarray, graph_of: np.ndarray, n: int, extra: np.ndarray,
                    grow: bool) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """Counts of iteration i over the vocabulary, and of this call's unseen labels."""
        voc = self.vocab[i]
        if grow:
            uniq, inv = np.unique(x, return_inverse=True)
            cols = voc.lookup(uniq, True)[inv.ravel()]
        else:
            cols = voc.lookup(x, False)  # -1: unseen
        v = len(voc)
        unseen = cols < 0
        if unseen.any():  # unseen labels: ids shared within this call (consistent between its graphs)
            uh, t = np.unique(x[unseen], return_inverse=True)
            if self._overlay is not None:  # ... or between the calls sharing an overlay
                cols[unseen] = v + self._overlay.vocab[i].lookup(uh, True)[t.ravel()]
            else:
                cols[unseen] = v + t.ravel()
        width = max(v, int(cols.max()) + 1) if len(cols) else v
        # one sort gives the (graph, column) pairs in CSR order with their counts
        pairs, cnt = np.unique(graph_of * width + cols, return_counts=True)
        rows, col = np.divmod(pairs, width)
        known = col < v
        m = _csr(rows[known], col[known], cnt[known], n, v)
        u = _csr(rows[~known], col[~known] - v, cnt[~known], n, width - v)
        extra[i] += np.bincount(rows[~known], weights=cnt[~known].astype(float) ** 2, minlength=n)
        return m, u


def _csr(rows: np.ndarray, cols: np.ndarray, data: np.ndarray, n: int, width: int) -> sp.csr_matrix:
    """CSR matrix (n, width) from entries sorted by row, then column (no duplicates)."""
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return sp.csr_matrix((data.astype(float), cols, indptr), shape=(n, width))
