"""Kernels over term indices for gpytorch.

Inputs to every kernel here are float tensors of shape (n, 1) holding integer indices of terms
in a :class:`PointSet` (indices ``0..n_train-1`` are the training terms, then the current query
block). Features live in *sources* that compute what is fixed once per fit (raw WL inner
products, NASBOT distances, numeric values); the gpytorch kernels only apply the learnable part
(weights, lengthscales), so an optimiser step costs one lookup, never a feature computation.

* :class:`WLKernel` — cosine-normalised WL-subtree kernel of one graph component at depth h.
* :class:`HierarchicalWLKernel` — ``sum_j softmax(w)_j * k~_j`` over graph components (REFERENCE §5).
* :class:`NASBOTKernel` — ``exp(-d / l)`` with the cheap OTMANN-like distance of NASBOT as adapted
  to cells by White et al. (BANANAS): ``d = |op counts|_1 + |sorted in-degrees|_1 +
  |sorted out-degrees|_1`` between flat graphs (degree profiles zero-padded to equal length,
  which is the 1-D optimal transport between the degree multisets with empty slots of degree
  0), lengthscale l learned.
* :class:`ValueKernel` — any stationary gpytorch kernel on the numeric placeholder values;
  combine with a graph kernel by ``+`` / ``*`` (gpytorch's Additive/ProductKernel).
"""

from __future__ import annotations

from typing import Optional, Sequence

import gpytorch
import numpy as np
import torch
from scipy.spatial.distance import cdist

from algebraic_nas.grammar.term import Term
from algebraic_nas.surrogate.graphs import TermGraphs, term_values
from algebraic_nas.surrogate.wl import WLFeatures, WLFeaturizer, cross_inner


class PointSet:
    """The terms a GP talks about: training terms then an exchangeable query block.

    Sources register here and are told when the training set or the query block changes.
    """

    def __init__(self, graphs: TermGraphs) -> None:
        self.graphs = graphs
        self.train: list[Term] = []
        self.query: list[Term] = []
        self.sources: list["Source"] = []

    @property
    def n_train(self) -> int:
        return len(self.train)

    def set_train(self, terms: Sequence[Term]) -> None:
        self.train = list(terms)
        self.query = []
        for s in self.sources:
            s.fit(self.train)

    def set_query(self, terms: Sequence[Term]) -> None:
        self.query = list(terms)
        for s in self.sources:
            s.set_query(self.query)

    def train_x(self, dtype: torch.dtype = torch.float64, device=None) -> torch.Tensor:
        return torch.arange(self.n_train, dtype=dtype, device=device).unsqueeze(-1)

    def query_x(self, dtype: torch.dtype = torch.float64, device=None) -> torch.Tensor:
        return torch.arange(self.n_train, self.n_train + len(self.query), dtype=dtype, device=device).unsqueeze(-1)


def _indices(x: torch.Tensor) -> torch.Tensor:
    if x.dim() != 2 or x.shape[-1] != 1:
        raise ValueError(f"kernel inputs must be (n, 1) tensors of term indices, got shape {tuple(x.shape)}")
    return x[:, 0].round().long()


def _take(g: torch.Tensor, i1: torch.Tensor, i2: torch.Tensor, diag: bool) -> torch.Tensor:
    """``g[i1, i2]`` (diag) or ``g[i1][:, i2]``, without copying when the indices are 0..len-1."""
    if diag:
        return g[i1, i2]
    ident = lambda i, size: len(i) == size and bool((i == torch.arange(size, device=i.device)).all())
    rows = g if ident(i1, g.shape[0]) else g[i1]
    return rows if ident(i2, g.shape[1]) else rows[:, i2]


def _split(idx: torch.Tensor, n_train: int, n_total: int) -> bool:
    """Check that ``idx`` lies in ``[0, n_total)``; return whether all of it is training terms."""
    if len(idx) and (int(idx.min()) < 0 or int(idx.max()) >= n_total):
        raise IndexError(f"term index out of range [0, {n_total}) in kernel input")
    return bool(len(idx) == 0 or int(idx.max()) < n_train)


class Source:
    """Fixed per-fit quantities of some representation of the terms of a :class:`PointSet`."""

    def __init__(self, points: PointSet) -> None:
        self.points = points
        points.sources.append(self)

    def fit(self, terms: Sequence[Term]) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def set_query(self, terms: Sequence[Term]) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class WLSource(Source):
    """WL features of graph component ``component`` (0 = flat) for the terms of a PointSet.

    Keeps the training features, the per-iteration raw training Gram (h_max+1, n, n) and, per h,
    the normalised training Gram as a torch tensor; query features are computed against the
    frozen vocabulary.
    """

    def __init__(self, points: PointSet, component: int, h_max: int, direction: str = "successors") -> None:
        super().__init__(points)
        self.component = component
        self.h_max = h_max
        self.direction = direction
        self.featurizer = WLFeaturizer(h_max, direction)  # type: ignore[arg-type]
        self.train_feats: Optional[WLFeatures] = None
        self.query_feats: Optional[WLFeatures] = None
        self._train_cum: Optional[np.ndarray] = None  # (h_max+1, n, n) cumulative raw kernel
        self._train_self: Optional[np.ndarray] = None  # (h_max+1, n) cumulative self kernel
        self._query_self: Optional[np.ndarray] = None
        self._gram_cache: dict[tuple, torch.Tensor] = {}

    def fit(self, terms: Sequence[Term]) -> None:
        # features cached per term in the shared TermGraphs (one growing vocabulary per component)
        self.featurizer, self.train_feats = self.points.graphs.wl_features(terms, self.component, self.h_max, self.direction)
        self._train_cum = np.cumsum(cross_inner(self.train_feats, self.train_feats), axis=0)
        self._train_self = np.cumsum(self.train_feats.self_inner(), axis=0)
        self.query_feats, self._query_self = None, None
        self._gram_cache = {}

    def set_query(self, terms: Sequence[Term]) -> None:
        if not terms:
            self.query_feats, self._query_self = None, None
            return
        self.query_feats = self.featurizer.transform(self.points.graphs.component(terms, self.component), grow=False)
        self._query_self = np.cumsum(self.query_feats.self_inner(), axis=0)
        self._gram_cache = {k: v for k, v in self._gram_cache.items() if k[0] == "train"}

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

    def _check_h(self, h: int) -> None:
        if self._train_cum is None:
            raise RuntimeError("WL source used before fit()")
        if not 0 <= h <= self.h_max:
            raise ValueError(f"WL depth h={h} outside 0..{self.h_max} of component {self.component}")

    def full_gram(self, h: int, dtype: torch.dtype, device) -> torch.Tensor:
        """Normalised Gram of all points (train then query), (n+m, n+m), cached until the query changes."""
        key = ("full", h, dtype, str(device))
        g = self._gram_cache.get(key)
        if g is None:
            self._check_h(h)
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
        key = ("qt", h, dtype, str(device))
        g = self._gram_cache.get(key)
        if g is None:
            self._check_h(h)
            qt = cross_inner(self.query_feats, self.train_feats, h).sum(axis=0)
            g = torch.as_tensor(
                qt / np.outer(np.sqrt(self._query_self[h]), np.sqrt(self._train_self[h])), dtype=dtype, device=device
            )
            self._gram_cache[key] = g
        return g

    def gram(self, h: int, i1: torch.Tensor, i2: torch.Tensor, diag: bool, dtype: torch.dtype, device) -> torch.Tensor:
        """Normalised kernel values between index sets (diag: only k(i1[k], i2[k]))."""
        n, m = self.points.n_train, len(self.points.query)
        tr1 = _split(i1, n, n + m)
        tr2 = _split(i2, n, n + m)
        if diag and torch.equal(i1, i2):
            return torch.ones(len(i1), dtype=dtype, device=device)  # cosine-normalised: k(a, a) = 1
        if tr1 and tr2:
            return _take(self.train_gram(h, dtype, device), i1, i2, diag)
        if not diag and (i2.max() < n) and (i1.min() >= n):  # the prediction path: query x train
            return _take(self.query_train(h, dtype, device), i1 - n, i2, False)
        return _take(self.full_gram(h, dtype, device), i1, i2, diag)


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
        return self.source.gram(self.h, _indices(x1), _indices(x2), diag, x1.dtype, x1.device)


class HierarchicalWLKernel(gpytorch.kernels.Kernel):
    """``k(a, b) = sum_j softmax(w)_j * k~_j(a, b)``, k~_j cosine-normalised WL kernels.

    ``sources[j]`` and ``hs[j]`` give component j's source and depth; ``w`` (raw weights,
    shape (J,)) is learned with the GP's marginal likelihood, initialised to 0 (equal weights).
    """

    has_lengthscale = False

    def __init__(self, sources: Sequence[WLSource], hs: Sequence[int], **kwargs) -> None:
        super().__init__(**kwargs)
        if len(sources) != len(hs) or not sources:
            raise ValueError("HierarchicalWLKernel needs one depth h per source, and at least one source")
        self.sources = list(sources)
        self.hs = list(hs)
        self.register_parameter("raw_weights", torch.nn.Parameter(torch.zeros(len(sources), dtype=torch.float64)))

    @property
    def weights(self) -> torch.Tensor:
        return torch.softmax(self.raw_weights, dim=0)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, diag: bool = False, last_dim_is_batch: bool = False, **params):
        if last_dim_is_batch:
            raise NotImplementedError("HierarchicalWLKernel does not support last_dim_is_batch")
        i1, i2 = _indices(x1), _indices(x2)
        w = self.weights.to(dtype=x1.dtype, device=x1.device)
        out = None
        for j, (s, h) in enumerate(zip(self.sources, self.hs)):
            term = w[j] * s.gram(h, i1, i2, diag, x1.dtype, x1.device)
            out = term if out is None else out + term
        return out


class NASBOTSource(Source):
    """Op-label counts and sorted in/out degree profiles of graph component ``component`` (flat)."""

    def __init__(self, points: PointSet, component: int = 0) -> None:
        super().__init__(points)
        self.component = component
        self.labels: dict[str, int] = {}
        self._train: Optional[np.ndarray] = None
        self._query: Optional[np.ndarray] = None
        self._dist_cache: dict[str, np.ndarray] = {}

    def _profiles(self, terms: Sequence[Term]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        out = []
        for g in self.points.graphs.component(terms, self.component):
            for lab in g.labels:
                self.labels.setdefault(lab, len(self.labels))
            ops = np.bincount([self.labels[l] for l in g.labels], minlength=0)
            indeg = np.sort(np.bincount(g.dst, minlength=g.n_nodes))
            outdeg = np.sort(np.bincount(g.src, minlength=g.n_nodes))
            out.append((ops, indeg, outdeg))
        return out

    @staticmethod
    def _matrix(profiles, n_labels: int, width: int) -> np.ndarray:
        # [op counts | in-degrees sorted, left-padded with 0 | out-degrees likewise]
        m = np.zeros((len(profiles), n_labels + 2 * width))
        for k, (ops, ind, outd) in enumerate(profiles):
            m[k, : len(ops)] = ops
            m[k, n_labels + width - len(ind) : n_labels + width] = ind
            m[k, n_labels + 2 * width - len(outd) :] = outd
        return m

    def fit(self, terms: Sequence[Term]) -> None:
        self.labels = {}
        self._train_prof = self._profiles(terms)
        self._query_prof: list = []
        self._dist_cache = {}
        self._rebuild()

    def set_query(self, terms: Sequence[Term]) -> None:
        self._query_prof = self._profiles(terms)
        self._dist_cache = {k: v for k, v in self._dist_cache.items() if k == "train"}
        self._rebuild()

    def _rebuild(self) -> None:
        width = max((len(p[1]) for p in self._train_prof + self._query_prof), default=0)
        nl = len(self.labels)
        self._train = self._matrix(self._train_prof, nl, width)
        self._query = self._matrix(self._query_prof, nl, width)
        if "train" not in self._dist_cache:
            self._dist_cache["train"] = cdist(self._train, self._train, "cityblock")

    def distance(self, i1: torch.Tensor, i2: torch.Tensor, diag: bool, dtype, device) -> torch.Tensor:
        n, m = self.points.n_train, len(self.points.query)
        tr1 = _split(i1, n, n + m)
        tr2 = _split(i2, n, n + m)
        if diag and torch.equal(i1, i2):
            return torch.zeros(len(i1), dtype=dtype, device=device)
        if tr1 and tr2:
            t = torch.as_tensor(self._dist_cache["train"], dtype=dtype, device=device)
            return _take(t, i1, i2, diag)
        allp = np.concatenate([self._train, self._query])
        a, b = allp[i1.cpu().numpy()], allp[i2.cpu().numpy()]
        d = np.abs(a - b).sum(axis=1) if diag else cdist(a, b, "cityblock")
        return torch.as_tensor(d, dtype=dtype, device=device)

    def median_distance(self) -> float:
        d = self._dist_cache.get("train")
        if d is None or d.size <= 1:
            return 1.0
        off = d[~np.eye(len(d), dtype=bool)]
        med = float(np.median(off)) if off.size else 1.0
        return med if med > 0 else 1.0


class NASBOTKernel(gpytorch.kernels.Kernel):
    """``exp(-d(a, b) / l)`` with the NASBOT-like distance of :class:`NASBOTSource`; l learned."""

    has_lengthscale = True

    def __init__(self, source: NASBOTSource, **kwargs) -> None:
        super().__init__(**kwargs)
        self.source = source

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, diag: bool = False, last_dim_is_batch: bool = False, **params):
        if last_dim_is_batch:
            raise NotImplementedError("NASBOTKernel does not support last_dim_is_batch")
        d = self.source.distance(_indices(x1), _indices(x2), diag, x1.dtype, x1.device)
        return torch.exp(-d / self.lengthscale.reshape(()))


class ValueSource(Source):
    """Numeric placeholder values of the terms, scaled to [0, 1] by the training range.

    Terms with fewer values than the widest are zero-padded at the end (generator spaces whose
    structure fixes the number of placeholders never need this).
    """

    def __init__(self, points: PointSet) -> None:
        super().__init__(points)
        self._train = np.zeros((0, 0))
        self._query = np.zeros((0, 0))
        self.lo: Optional[np.ndarray] = None
        self.scale: Optional[np.ndarray] = None

    @staticmethod
    def _raw(terms: Sequence[Term], width: Optional[int] = None) -> np.ndarray:
        vals = [term_values(t) for t in terms]
        w = max((len(v) for v in vals), default=0) if width is None else width
        m = np.zeros((len(vals), w))
        for k, v in enumerate(vals):
            m[k, : min(len(v), w)] = v[:w]
        return m

    def fit(self, terms: Sequence[Term]) -> None:
        raw = self._raw(terms)
        if raw.shape[1] == 0:
            raise ValueError("the value kernel needs terms with numeric placeholders; these have none")
        self.lo = raw.min(axis=0)
        span = raw.max(axis=0) - self.lo
        self.scale = np.where(span > 0, span, 1.0)
        self._train = (raw - self.lo) / self.scale
        self._query = np.zeros((0, raw.shape[1]))

    def set_query(self, terms: Sequence[Term]) -> None:
        if self.lo is None:
            raise RuntimeError("value source used before fit()")
        self._query = (self._raw(terms, len(self.lo)) - self.lo) / self.scale

    @property
    def dim(self) -> int:
        return self._train.shape[1]

    def values(self, idx: torch.Tensor, dtype, device) -> torch.Tensor:
        n, m = self.points.n_train, len(self.points.query)
        _split(idx, n, n + m)
        allv = torch.as_tensor(np.concatenate([self._train, self._query]), dtype=dtype, device=device)
        return allv[idx]


class ValueKernel(gpytorch.kernels.Kernel):
    """A stationary gpytorch kernel (default Matern-5/2 with ARD) on the numeric values of terms."""

    has_lengthscale = False

    def __init__(self, source: ValueSource, base: Optional[gpytorch.kernels.Kernel] = None, dim: Optional[int] = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.base = base if base is not None else gpytorch.kernels.MaternKernel(nu=2.5, ard_num_dims=dim)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, diag: bool = False, last_dim_is_batch: bool = False, **params):
        v1 = self.source.values(_indices(x1), x1.dtype, x1.device)
        v2 = self.source.values(_indices(x2), x2.dtype, x2.device)
        return self.base.forward(v1, v2, diag=diag, **params)
