"""Kernels over term indices for gpytorch.

Inputs to every kernel here are float tensors of shape (n, 1) holding integer indices of terms
in a :class:`PointSet` (indices ``0..n_train-1`` are the training terms, then the current query
block). Features live in *sources* that compute what is fixed once per fit (raw WL inner
products, NASBOT distances, numeric values); the gpytorch kernels only apply the learnable part
(weights, lengthscales), so an optimiser step costs one lookup, never a feature computation.

* :class:`WLKernel`, :class:`HierarchicalWLKernel` — the WL family, in :mod:`.wl_kernels`
  (re-exported here); :class:`PointSet` and :class:`Source` live in :mod:`.points`.
* :class:`NASBOTKernel` — ``exp(-d / l)`` with the cheap OTMANN-like distance of NASBOT as adapted
  to cells by White et al. (BANANAS): ``d = |op counts|_1 + |sorted in-degrees|_1 +
  |sorted out-degrees|_1`` between flat graphs (degree profiles zero-padded to equal length,
  which is the 1-D optimal transport between the degree multisets with empty slots of degree
  0), lengthscale l learned.
* :class:`ValueKernel` — a stationary kernel on the numeric placeholder values (features: each
  value scaled to [0, 1] by its declared range, see :class:`ValueSource`; default Matern-5/2 with
  one lengthscale per placeholder under a dimension-scaled log-normal prior); combine with a
  graph kernel by ``+`` / ``*`` (gpytorch's Additive/ProductKernel). The default kernel of
  generator spaces (BANAT's ``kernel: auto``, :func:`~.kernel_spec.auto_kernel`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Optional, Sequence

import gpytorch
import numpy as np
import torch
from scipy.spatial.distance import cdist

from algebraic_nas.grammar.canonical_values import canonical_term
from algebraic_nas.grammar.sites import value_sites
from algebraic_nas.grammar.term import Term
from algebraic_nas.surrogate.graphs import term_values
from algebraic_nas.surrogate.points import PointSet, Source, check_indices, take, term_indices
from algebraic_nas.surrogate.wl_kernels import HierarchicalWLKernel, WLKernel, WLSource

if TYPE_CHECKING:
    from algebraic_nas.grammar import Grammar

__all__ = [
    "PointSet",
    "Source",
    "WLSource",
    "WLKernel",
    "HierarchicalWLKernel",
    "NASBOTSource",
    "NASBOTKernel",
    "ValueSource",
    "ValueKernel",
]


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
        tr1 = check_indices(i1, n, n + m)
        tr2 = check_indices(i2, n, n + m)
        if diag and torch.equal(i1, i2):
            return torch.zeros(len(i1), dtype=dtype, device=device)
        if tr1 and tr2:
            t = torch.as_tensor(self._dist_cache["train"], dtype=dtype, device=device)
            return take(t, i1, i2, diag)
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
        d = self.source.distance(term_indices(x1), term_indices(x2), diag, x1.dtype, x1.device)
        return torch.exp(-d / self.lengthscale.reshape(()))


class ValueSource(Source):
    """The numeric placeholder values of the terms as features in [0, 1] (pre-order of the term).

    With the grammar, the value ``v`` of a placeholder ``int(lo, hi)`` or ``float(lo, hi)`` becomes
    ``(v - lo) / (hi - lo)``: ints and floats alike span [0, 1] over their *declared* range, so a
    lengthscale is a fraction of that range whatever the data, and no query falls outside. A
    choice between numbers (``KSIZE ::= 3 | 5``) is scaled by the span of the choice; fixed
    numbers (literals) are left out. Without a grammar (terms built in code, graph kernels from a
    ``graph_fn``), each position is scaled by the range of the training values instead. Terms
    with fewer values than the widest are zero-padded at the end (a space whose structure fixes
    the placeholders, as generator spaces do, never needs this).

    Args:
        points: the :class:`PointSet` of the fit.
        grammar: the terms' grammar (for the declared ranges), or ``None``.
    """

    def __init__(self, points: PointSet, grammar: Optional[Grammar] = None) -> None:
        super().__init__(points)
        self.grammar = grammar
        self._train = np.zeros((0, 0))
        self._query = np.zeros((0, 0))
        self.lo: Optional[np.ndarray] = None
        self.scale: Optional[np.ndarray] = None

    def _row(self, term: Term) -> tuple[float, ...]:
        if self.grammar is None:
            return term_values(term)
        # inert generator values (issue 10: PMID when NMID = 1, ...) take their canonical value, so
        # that terms building the same network are one point (grammar/canonical_values.py)
        term = canonical_term(self.grammar, term)
        # fixed numbers (literals such as a channel ratio) carry nothing to model: left out
        return tuple((s.value - s.span[0]) / (s.span[1] - s.span[0])
                     for s in value_sites(self.grammar, term) if s.span[1] > s.span[0])

    def _raw(self, terms: Sequence[Term], width: Optional[int] = None) -> np.ndarray:
        vals = [self._row(t) for t in terms]
        w = max((len(v) for v in vals), default=0) if width is None else width
        m = np.zeros((len(vals), w))
        for k, v in enumerate(vals):
            m[k, : min(len(v), w)] = v[:w]
        return m

    def fit(self, terms: Sequence[Term]) -> None:
        raw = self._raw(terms)
        if raw.shape[1] == 0:
            raise ValueError("the value kernel needs terms with numeric placeholders; these have none")
        if self.grammar is not None:  # already scaled by the declared ranges
            self.lo, self.scale = np.zeros(raw.shape[1]), np.ones(raw.shape[1])
        else:
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
        check_indices(idx, n, n + m)
        allv = torch.as_tensor(np.concatenate([self._train, self._query]), dtype=dtype, device=device)
        return allv[idx]


def dim_scaled_lengthscale_prior(dim: int) -> gpytorch.priors.LogNormalPrior:
    """``LogNormal(sqrt(2) + log(dim) / 2, sqrt(3))``: the lengthscale prior of Hvarfner et al.
    (2024, "Vanilla Bayesian optimization performs great in high dimensions"), BoTorch's default
    for inputs in the unit cube; its median grows like ``sqrt(dim)``, as typical distances do."""
    return gpytorch.priors.LogNormalPrior(math.sqrt(2.0) + 0.5 * math.log(max(dim, 1)), math.sqrt(3.0))


def default_value_base(dim: int) -> gpytorch.kernels.Kernel:
    """Matern-5/2 with one lengthscale per placeholder (ARD), each >= 0.025 of its range, with
    the :func:`dim_scaled_lengthscale_prior` and started at the prior's mode.

    The prior makes the fit a MAP estimate (:func:`~.likelihood.optimise_hyperparameters` adds
    it); without it a few observations let a lengthscale collapse to 0 (a dimension that
    "explains" everything as noise) and the kernel matrix turns NaN."""
    prior = dim_scaled_lengthscale_prior(dim)
    kernel = gpytorch.kernels.MaternKernel(
        nu=2.5, ard_num_dims=dim, lengthscale_prior=prior, lengthscale_constraint=gpytorch.constraints.GreaterThan(0.025)
    )
    kernel.lengthscale = torch.full((1, dim), float(prior.mode))
    return kernel


class ValueKernel(gpytorch.kernels.Kernel):
    """A stationary gpytorch kernel on the value features of :class:`ValueSource` (default:
    :func:`default_value_base`). Its variance is 1: the GP's targets are standardised, and in a
    sum with a graph kernel both parts have unit variance."""

    has_lengthscale = False

    def __init__(self, source: ValueSource, base: Optional[gpytorch.kernels.Kernel] = None, dim: Optional[int] = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.base = base if base is not None else default_value_base(dim if dim is not None else source.dim)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, diag: bool = False, last_dim_is_batch: bool = False, **params):
        v1 = self.source.values(term_indices(x1), x1.dtype, x1.device)
        v2 = self.source.values(term_indices(x2), x2.dtype, x2.device)
        return self.base.forward(v1, v2, diag=diag, **params)
