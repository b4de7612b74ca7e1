"""WL-family kernels over term indices: :class:`WLKernel` and :class:`HierarchicalWLKernel`.

:class:`WLSource` holds the WL features of one graph component (0 = flat) and the raw Gram
matrices per depth, computed once per fit; the gpytorch kernels only apply the learnable part
(the hierarchical kernel's softmax weights), so an optimiser step is one lookup.

* :class:`WLKernel` — cosine-normalised WL-subtree kernel of one graph component at depth h.
* :class:`HierarchicalWLKernel` — ``sum_j softmax(w)_j * k~_j`` over graph components (Schrodi et al., Sec. 3).
"""

from __future__ import annotations

from typing import Optional, Sequence

import gpytorch
import numpy as np
import scipy.sparse as sp
import torch

from algebraic_nas.grammar.term import Term
from algebraic_nas.surrogate.points import PointSet, Source, check_indices, take, term_indices
from algebraic_nas.surrogate.wl import WLFeatures, WLFeaturizer, _pad, cross_inner


class WLSource(Source):
    """WL features of graph component ``component`` (0 = flat) for the terms of a PointSet.

    Keeps the training features, the per-iteration raw training Gram (h_max+1, n, n) and, per h,
    the normalised training Gram as a torch tensor; query features are computed against the
    frozen vocabulary, up to depth ``query_h`` (``None``: ``h_max``; a fitted GP sets it to the
    depth its kernel uses, so candidates are not refined further than any kernel value needs).
    ``fast`` (default): hashed WL labels (:mod:`.wl_hash`) and training Grams extended from
    the previous fit's (:meth:`~.graphs.TermGraphs.wl_grams`); ``False``: sorted-signature
    labels and Grams from scratch. Both give the same kernel values.
    """

    def __init__(self, points: PointSet, component: int, h_max: int, direction: str = "successors",
                 fast: bool = True) -> None:
        super().__init__(points)
        self.component = component
        self.h_max = h_max
        self.direction = direction
        self.fast = fast
        self.query_h: Optional[int] = None
        self.featurizer = WLFeaturizer(h_max, direction)  # type: ignore[arg-type]
        self.train_feats: Optional[WLFeatures] = None
        self._blocks: list[WLFeatures] = []  # the query features, one block per featurisation call
        self._starts: list[int] = []  # first query row of each block
        self._cat: Optional[WLFeatures] = None  # the blocks concatenated (made when asked for)
        self._qt: dict[tuple, GrowingRows] = {}  # normalised query x train blocks per (h, dtype, device)
        self._train_cum: Optional[np.ndarray] = None  # (h_max+1, n, n) cumulative raw kernel
        self._train_self: Optional[np.ndarray] = None  # (h_max+1, n) cumulative self kernel
        self._query_self: Optional[np.ndarray] = None
        self._gram_cache: dict[tuple, torch.Tensor] = {}
        self._split_cache: dict[tuple, tuple] = {}  # per fit: the training block split for queries
        self._overlay = None  # unseen-label ids shared by the query block's featurisations (fast path)

    @property
    def query_feats(self) -> Optional[WLFeatures]:
        """The query block's features (``None`` without one)."""
        if not self._blocks:
            return None
        if len(self._blocks) == 1:
            return self._blocks[0]
        if self._cat is None:
            self._cat = WLFeatures.concat(self._blocks, keep_unseen=True)
            self._blocks, self._starts = [self._cat], [0]
        return self._cat

    @query_feats.setter
    def query_feats(self, feats: Optional[WLFeatures]) -> None:
        self._blocks, self._starts, self._cat = ([] if feats is None else [feats]), [0], None
        self._qt = {}

    def _query_rows(self, rows: np.ndarray) -> WLFeatures:
        """The features of query rows ``rows`` (in that order), gathered from the blocks."""
        if len(self._blocks) == 1:
            return self._blocks[0].rows(rows)
        total = self._starts[-1] + self._blocks[-1].n_graphs
        if len(rows) == total and np.array_equal(rows, np.arange(total)):
            return self.query_feats  # type: ignore[return-value]  # every row: concatenated once, kept
        block = np.searchsorted(np.asarray(self._starts), rows, side="right") - 1
        if len(rows) and block.min() == block.max():  # within one block (a pool's newest)
            return self._blocks[block[0]].rows(rows - self._starts[block[0]])
        order = np.argsort(block, kind="stable")
        parts = [self._blocks[b].rows(rows[order][block[order] == b] - self._starts[b]) for b in np.unique(block)]
        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))
        return WLFeatures.concat(parts, keep_unseen=True).rows(inverse)

    def fit(self, terms: Sequence[Term]) -> None:
        # features cached per term in the shared TermGraphs (one growing vocabulary per component)
        if self.fast:
            self.featurizer, self.train_feats, self._train_cum, self._train_self = self.points.graphs.wl_grams(
                terms, self.component, self.h_max, self.direction, labels="hash")
        else:
            self.featurizer, self.train_feats = self.points.graphs.wl_features(
                terms, self.component, self.h_max, self.direction, labels="sorted")
            self._train_cum = np.cumsum(cross_inner(self.train_feats, self.train_feats), axis=0)
            self._train_self = np.cumsum(self.train_feats.self_inner(), axis=0)
        self.query_feats, self._query_self = None, None
        self._gram_cache = {}
        self._split_cache = {}
        self._overlay = self.featurizer.overlay() if self.fast else None  # type: ignore[attr-defined]

    def set_query(self, terms: Sequence[Term]) -> None:
        self.query_feats, self._query_self = None, None
        self._gram_cache = {k: v for k, v in self._gram_cache.items() if k[0] == "train"}
        self._overlay = self.featurizer.overlay() if self.fast else None  # type: ignore[attr-defined]
        if terms:
            self.extend_query(terms, terms)

    def extend_query(self, terms: Sequence[Term], new: Sequence[Term]) -> None:
        """The query block grew by ``new`` (``terms``: the whole block now). Fast path: only the
        new terms are featurised (their unseen labels share ids with the earlier rows', through
        one overlay per query block), and the cached query x train blocks grow by their rows."""
        if not self.fast:
            self.query_feats = self.featurizer.transform(self.points.graphs.component(terms, self.component), grow=False)
            self._query_self = np.cumsum(self.query_feats.self_inner(), axis=0)
            self._gram_cache = {k: v for k, v in self._gram_cache.items() if k[0] == "train"}
            return
        if not new:
            return
        graphs = self.points.graphs.component(new, self.component)
        # terms sharing a graph object (coarse fold levels: see fastgraph.FoldKeys) are
        # featurised once; their unseen-label ids are consistent through the overlay
        first: dict[int, int] = {}
        index = [first.setdefault(id(g), len(first)) for g in graphs]
        uniq = list({id(g): g for g in graphs}.values())
        feats = self.featurizer.transform(uniq, grow=False, h=self.query_h, overlay=self._overlay)  # type: ignore[call-arg]
        feats = feats if len(uniq) == len(graphs) else feats.rows(index)
        new_self = np.cumsum(feats.self_inner(), axis=0)
        if not self._blocks:
            self.query_feats = feats
            self._query_self = new_self
        else:  # a new block: no copy of the earlier ones (a pool grows by ~50 blocks)
            self._starts.append(self._starts[-1] + self._blocks[-1].n_graphs)
            self._blocks.append(feats)
            self._cat = None
            self._query_self = np.concatenate([self._query_self, new_self], axis=1)
        self._gram_cache = {k: v for k, v in self._gram_cache.items() if k[0] == "train"}
        for (h, _, _), rows in self._qt.items():
            rows.append(torch.as_tensor(self._normalised_qt(h, feats, new_self), dtype=rows.dtype, device=rows.device))

    def _normalised_qt(self, h: int, feats: WLFeatures, self_cum: np.ndarray) -> np.ndarray:
        """Normalised (m, n) kernel of query rows ``feats`` against the training terms at depth h."""
        qt = self._query_train_raw(h, feats) if self.fast else cross_inner(feats, self.train_feats, h).sum(axis=0)
        return qt / np.outer(np.sqrt(self_cum[h]), np.sqrt(self._train_self[h]))

    def query_query(self, h: int, r1: np.ndarray, r2: np.ndarray) -> np.ndarray:
        """Normalised kernel between query rows ``r1`` and ``r2`` at depth h, (len(r1), len(r2)),
        unseen labels included (their ids are consistent within the query block)."""
        self._check_h(h, query=True)
        a, b = self._query_rows(np.asarray(r1)), self._query_rows(np.asarray(r2))
        raw = np.zeros((len(r1), len(r2)))
        for i in range(h + 1):
            for x, y in ((a.counts[i], b.counts[i]), (a.unseen[i], b.unseen[i]) if a.unseen and b.unseen else (None, None)):
                if x is not None and x.shape[1] and y.shape[1]:
                    w = max(x.shape[1], y.shape[1])  # columns past the narrower block are zero there
                    x, y = _pad(x, w), _pad(y, w)
                    # the larger side stays CSR; only the smaller one is transposed and converted
                    raw += (x @ y.T).toarray() if len(r1) >= len(r2) else (y @ x.T).T.toarray()
        return raw / np.outer(np.sqrt(self._query_self[h, r1]), np.sqrt(self._query_self[h, r2]))

    def train_gram(self, h: int, dtype: torch.dtype, device) -> torch.Tensor:
        """Normalised training Gram at depth h, (n, n), cached per (h, dtype, device)."""
        key = ("train", h, dtype, str(device))
        g = self._gram_cache.get(key)
        if g is None:
            self._check_h(h)
            d = np.sqrt(self._train_self[h])
            g = torch.as_tensor(self._train_cum[h] / np.outer(d, d), dtype=dtype, device=device)
            self._gram_cache[key] = g
        return g

    def _check_h(self, h: int, query: bool = False) -> None:
        if self._train_cum is None:
            raise RuntimeError("WL source used before fit()")
        if not 0 <= h <= self.h_max:
            raise ValueError(f"WL depth h={h} outside 0..{self.h_max} of component {self.component}")
        if query and self.query_feats is not None and h > self.query_feats.h:
            raise ValueError(f"WL depth h={h} but the query terms of component {self.component} were "
                             f"featurised to depth {self.query_feats.h} (query_h)")

    def full_gram(self, h: int, dtype: torch.dtype, device) -> torch.Tensor:
        """Normalised Gram of all points (train then query), (n+m, n+m), cached until the query changes."""
        key = ("full", h, dtype, str(device))
        g = self._gram_cache.get(key)
        if g is None:
            self._check_h(h, query=True)
            if self.query_feats is None:
                return self.train_gram(h, dtype, device)
            qt = cross_inner(self.query_feats, self.train_feats, h).sum(axis=0)
            qq = cross_inner(self.query_feats, self.query_feats, h).sum(axis=0)
            ds = np.sqrt(np.concatenate([self._train_self[h], self._query_self[h]]))
            raw = np.block([[self._train_cum[h], qt.T], [qt, qq]])
            g = torch.as_tensor(raw / np.outer(ds, ds), dtype=dtype, device=device)
            self._gram_cache[key] = g
        return g

    def query_train(self, h: int, dtype: torch.dtype, device) -> torch.Tensor:
        """Normalised (m, n) block between the query terms and the training terms."""
        key = (h, dtype, str(device))
        g = self._qt.get(key)
        if g is None:
            self._check_h(h, query=True)
            g = self._qt[key] = GrowingRows(
                torch.as_tensor(self._normalised_qt(h, self.query_feats, self._query_self), dtype=dtype, device=device))
        return g.view()

    def _query_train_raw(self, h: int, query: Optional[WLFeatures] = None) -> np.ndarray:
        """Raw cumulative (m, n) kernel of the query against the training terms at depth h.

        The iterations' counts side by side make one product. A sparse product costs about
        (training terms per label)^2 / n per query row and label: labels that many training
        terms share (an op's own label, its depth-1 neighbourhood; more than n / 16 of them)
        go through a dense BLAS product instead, the rest through a sparse one (about 4x
        faster at n = 1000 on hnb201). The split training block is built once per fit. Counts
        are integers, so the result equals the sum of per-iteration sparse products exactly."""
        query = self.query_feats if query is None else query
        key = ("split", h)
        got = self._split_cache.get(key)
        train = self.train_feats.counts[: h + 1]  # type: ignore[union-attr]
        if got is None:
            t = sp.hstack(train, format="csc")  # (n, W)
            df = np.diff(t.indptr)  # training terms per column
            popular = np.flatnonzero(df > max(1, t.shape[0] // 16))
            pos = np.full(t.shape[1], -1, dtype=np.int64)
            pos[popular] = np.arange(len(popular))
            dense = np.ascontiguousarray(t[:, popular].toarray().T)  # (P, n)
            rare = t.copy()
            rare.data[np.repeat(pos >= 0, df)] = 0.0
            rare.eliminate_zeros()
            got = self._split_cache[key] = (pos, dense, rare.T.tocsr())  # (W, n): the other columns
        pos, dense, rare_t = got
        # query columns past the training block's width (labels no training term has) are zero there
        q = sp.hstack([x if x.shape[1] == t.shape[1] else _pad(x[:, : t.shape[1]], t.shape[1])
                       for x, t in zip(query.counts[: h + 1], train)], format="csr")
        p = pos[q.indices]
        hit = p >= 0
        qd = np.zeros((q.shape[0], dense.shape[0]))
        qd[np.repeat(np.arange(q.shape[0]), np.diff(q.indptr))[hit], p[hit]] = q.data[hit]  # no duplicates in CSR
        # torch's matmul follows the GP's thread setting (numpy's BLAS would spin up its own threads)
        return (torch.from_numpy(qd) @ torch.from_numpy(dense)).numpy() + (q @ rare_t).toarray()

    def gram(self, h: int, i1: torch.Tensor, i2: torch.Tensor, diag: bool, dtype: torch.dtype, device) -> torch.Tensor:
        """Normalised kernel values between index sets (diag: only k(i1[k], i2[k]))."""
        n, m = self.points.n_train, len(self.points.query)
        tr1 = check_indices(i1, n, n + m)
        tr2 = check_indices(i2, n, n + m)
        if diag and torch.equal(i1, i2):
            return torch.ones(len(i1), dtype=dtype, device=device)  # cosine-normalised: k(a, a) = 1
        if tr1 and tr2:
            return take(self.train_gram(h, dtype, device), i1, i2, diag)
        if not diag and (i2.max() < n) and (i1.min() >= n):  # the prediction path: query x train
            return take(self.query_train(h, dtype, device), i1 - n, i2, False)
        if not diag and len(i1) and len(i2) and i1.min() >= n and i2.min() >= n:  # within the query block
            g = self.query_query(h, (i1 - n).cpu().numpy(), (i2 - n).cpu().numpy())
            return torch.as_tensor(g, dtype=dtype, device=device)
        return take(self.full_gram(h, dtype, device), i1, i2, diag)


class GrowingRows:
    """A 2-d tensor that grows by rows, with room reserved (doubling) so that appending a block
    does not copy the rows already there."""

    def __init__(self, rows: torch.Tensor) -> None:
        self._buf, self._n = rows, len(rows)
        self.dtype, self.device = rows.dtype, rows.device

    def append(self, rows: torch.Tensor) -> None:
        need = self._n + len(rows)
        if need > len(self._buf):
            grown = torch.empty((max(need, 2 * len(self._buf)), self._buf.shape[1]), dtype=self.dtype, device=self.device)
            grown[: self._n] = self._buf[: self._n]
            self._buf = grown
        self._buf[self._n : need] = rows
        self._n = need

    def view(self) -> torch.Tensor:
        return self._buf[: self._n]


class WLKernel(gpytorch.kernels.Kernel):
    """Cosine-normalised WL-subtree kernel of one graph component at depth ``h`` (k(a, a) = 1)."""

    has_lengthscale = False

    def __init__(self, source: WLSource, h: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.h = h

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, diag: bool = False, last_dim_is_batch: bool = False, **params):
        if last_dim_is_batch:
            raise NotImplementedError("WLKernel does not support last_dim_is_batch")
        return self.source.gram(self.h, term_indices(x1), term_indices(x2), diag, x1.dtype, x1.device)


class HierarchicalWLKernel(gpytorch.kernels.Kernel):
    """``k(a, b) = sum_j softmax(w)_j * k~_j(a, b)``, k~_j cosine-normalised WL kernels.

    ``sources[j]`` and ``hs[j]`` give component j's source and depth; ``w`` (raw weights,
    shape (J,)) is learned with the GP's marginal likelihood, initialised to 0 (equal weights).

    With ``stacked`` (default), the training block (the marginal likelihood's only input) is one
    ``tensordot`` of the weights with the (J, n, n) stack of component Grams, built once per
    depth setting: one pass over memory forward and one backward instead of J of each.
    """

    has_lengthscale = False

    def __init__(self, sources: Sequence[WLSource], hs: Sequence[int], stacked: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        if len(sources) != len(hs) or not sources:
            raise ValueError("HierarchicalWLKernel needs one depth h per source, and at least one source")
        self.sources = list(sources)
        self.hs = list(hs)
        self.register_parameter("raw_weights", torch.nn.Parameter(torch.zeros(len(sources), dtype=torch.float64)))
        self.stacked = stacked
        self._stack: tuple[tuple, Optional[torch.Tensor]] = ((), None)

    def _train_stack(self, dtype: torch.dtype, device) -> torch.Tensor:
        key = (tuple(self.hs), dtype, str(device))
        if self._stack[0] != key:
            self._stack = (key, None)  # free the previous stack first (J n^2 doubles)
            self._stack = (key, torch.stack([s.train_gram(h, dtype, device) for s, h in zip(self.sources, self.hs)]))
        return self._stack[1]  # type: ignore[return-value]

    @property
    def weights(self) -> torch.Tensor:
        return torch.softmax(self.raw_weights, dim=0)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, diag: bool = False, last_dim_is_batch: bool = False, **params):
        if last_dim_is_batch:
            raise NotImplementedError("HierarchicalWLKernel does not support last_dim_is_batch")
        i1, i2 = term_indices(x1), term_indices(x2)
        w = self.weights.to(dtype=x1.dtype, device=x1.device)
        if self.stacked and not diag and _is_train_block(i1, self.sources[0].points.n_train) and torch.equal(i1, i2):
            return torch.tensordot(w, self._train_stack(x1.dtype, x1.device), dims=1)
        out = None
        for j, (s, h) in enumerate(zip(self.sources, self.hs)):
            term = w[j] * s.gram(h, i1, i2, diag, x1.dtype, x1.device)
            out = term if out is None else out + term
        return out


def _is_train_block(idx: torch.Tensor, n_train: int) -> bool:
    """Whether ``idx`` is exactly 0..n_train-1 (the training points, in order)."""
    return len(idx) == n_train and bool((idx == torch.arange(n_train, device=idx.device)).all())


def limit_query_depth(kernel: gpytorch.kernels.Kernel) -> None:
    """Featurise query terms of every WL source in ``kernel`` only to the depth its kernel uses."""
    for m in kernel.modules():
        if isinstance(m, HierarchicalWLKernel):
            for s, h in zip(m.sources, m.hs):
                s.query_h = h
        elif isinstance(m, WLKernel):
            m.source.query_h = m.h
