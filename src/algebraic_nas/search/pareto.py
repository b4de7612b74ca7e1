"""Pareto fronts, hypervolume, non-dominated sorting and crowding distance (all minimisation).

Built on BoTorch's multi-objective utilities (which maximise: values are negated on the way in):
:func:`botorch.utils.multi_objective.pareto.is_non_dominated` for fronts and sorting,
:class:`botorch.utils.multi_objective.box_decompositions.DominatedPartitioning` for the
hypervolume and :class:`~botorch.utils.multi_objective.box_decompositions.NondominatedPartitioning`
for hypervolume improvements.

Objective space. Hypervolumes compare runs, so every objective is first mapped by a fixed
transform (:func:`transform`): fractions (``valid_error``) as they are, everything else
(parameters, FLOPs, milliseconds, MiB: positive numbers spanning orders of magnitude) as
``log10``. An objective registered with ``direction="max"`` is negated (see :func:`objective_matrix`).

Reference point rule (:func:`reference_point`): in the transformed space, per objective,
``nadir + 0.1 * (nadir - ideal)`` of the points given (all evaluations of the runs compared, not
only the front), i.e. BoTorch's ``infer_reference_point`` rule with the 0.1 margin Ishibuchi et
al. (2011) found robust; where every point has the same value the margin is 0.1 of its size (or
0.1). The same reference point must be used for every run that is compared: the experiment
computes it once over all runs; a run's own report uses its own evaluations.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Optional, Sequence

import numpy as np
import torch
from botorch.utils.multi_objective.box_decompositions import DominatedPartitioning, NondominatedPartitioning
from botorch.utils.multi_objective.pareto import is_non_dominated

from algebraic_nas.threads import torch_threads

REFERENCE_MARGIN = 0.1
LINEAR_UNITS = ("fraction",)  # objectives kept linear; all others are log10-scaled


def direction_and_unit(name: str) -> tuple[str, str]:
    """The registered objective's direction and unit (an unknown name: ``min``, a fraction if
    it ends in ``error``)."""
    try:
        from algebraic_nas.evaluation import get_objective

        o = get_objective(name)
        return o.direction, o.unit
    except Exception:  # noqa: BLE001 - an objective of an older run no longer registered
        return "min", "fraction" if name.endswith("error") else ""


def transform(name: str, values: Any) -> np.ndarray:
    """``values`` of objective ``name`` in the space fronts and hypervolumes are computed in:
    negated for ``direction="max"``, then ``log10`` unless the unit is a fraction (non-positive
    values of a log-scaled objective are clamped to 1e-12 first)."""
    direction, unit = direction_and_unit(name)
    v = np.asarray(values, dtype=float)
    if direction == "max":
        v = -v
    if unit not in LINEAR_UNITS and direction == "min":
        v = np.log10(np.clip(v, 1e-12, None))
    return v


def objective_matrix(objectives: Sequence[Mapping[str, float]], names: Sequence[str],
                     transformed: bool = True) -> np.ndarray:
    """``(n, m)`` array of the ``names`` of each mapping (NaN where missing), transformed for
    minimisation (:func:`transform`) unless ``transformed=False``."""
    y = np.array([[float(o.get(k, math.nan)) if o.get(k) is not None else math.nan for k in names]
                  for o in objectives], dtype=float).reshape(len(objectives), len(names))
    if transformed:
        for j, k in enumerate(names):
            y[:, j] = transform(k, y[:, j])
    return y


def _t(y: Any) -> torch.Tensor:
    return torch.as_tensor(np.asarray(y, dtype=float), dtype=torch.double)


def pareto_mask(y: Any, deduplicate: bool = False) -> np.ndarray:
    """``(n,)`` bool: the points of ``y`` (``(n, m)``, minimised) no other point dominates.
    Rows with NaN are never on the front; equal points are all on it unless ``deduplicate``."""
    y = np.asarray(y, dtype=float)
    if y.shape[0] == 0:
        return np.zeros(0, dtype=bool)
    ok = ~np.isnan(y).any(axis=1)
    out = np.zeros(y.shape[0], dtype=bool)
    if ok.any():
        out[ok] = is_non_dominated(-_t(y[ok]), deduplicate=deduplicate).numpy()
    return out


def non_dominated_sort(y: Any) -> np.ndarray:
    """``(n,)`` int: the front index of each point (0 = the Pareto front, 1 = the front once
    front 0 is removed, ...); rows with NaN get the last index + 1."""
    y = np.asarray(y, dtype=float)
    rank = np.full(y.shape[0], -1, dtype=int)
    left = np.flatnonzero(~np.isnan(y).any(axis=1)) if y.size else np.zeros(0, dtype=int)
    r = 0
    while left.size:
        front = pareto_mask(y[left])
        rank[left[front]] = r
        left = left[~front]
        r += 1
    rank[rank < 0] = r
    return rank


def crowding_distance(y: Any) -> np.ndarray:
    """``(n,)`` NSGA-II crowding distance of points of one front (``(n, m)``): per objective,
    the gap between a point's two neighbours in sorted order over the objective's range,
    summed over objectives; the two extremes of each objective get ``inf``."""
    y = np.asarray(y, dtype=float)
    n, m = y.shape if y.ndim == 2 else (0, 0)
    d = np.zeros(n)
    if n <= 2:
        return np.full(n, math.inf)
    for j in range(m):
        order = np.argsort(y[:, j], kind="stable")
        col = y[order, j]
        span = col[-1] - col[0]
        d[order[0]] = d[order[-1]] = math.inf
        if span > 0:
            d[order[1:-1]] += (col[2:] - col[:-2]) / span
    return d


def nsga2_order(y: Any) -> np.ndarray:
    """Indices of ``y``'s rows best first: by front (:func:`non_dominated_sort`), then by
    crowding distance within the front (larger first): NSGA-II's crowded-comparison order."""
    y = np.asarray(y, dtype=float)
    rank = non_dominated_sort(y)
    crowd = np.zeros(y.shape[0])
    for r in np.unique(rank):
        idx = np.flatnonzero(rank == r)
        if not np.isnan(y[idx]).any():
            crowd[idx] = crowding_distance(y[idx])
    return np.lexsort((-crowd, rank))


def reference_point(y: Any, margin: float = REFERENCE_MARGIN) -> np.ndarray:
    """``(m,)`` reference point of the points ``y`` (``(n, m)``, minimised; NaN rows ignored):
    ``nadir + margin * (nadir - ideal)`` per objective (see the module docstring)."""
    y = np.asarray(y, dtype=float)
    y = y[~np.isnan(y).any(axis=1)]
    if y.shape[0] == 0:
        raise ValueError("no point without NaN to take a reference point from")
    nadir, ideal = y.max(axis=0), y.min(axis=0)
    span = nadir - ideal
    flat = span <= 0
    span[flat] = np.maximum(np.abs(nadir[flat]), 1.0)
    return nadir + margin * span


def hypervolume(y: Any, ref: Any) -> float:
    """The volume dominated by the points ``y`` (``(n, m)``, minimised) and bounded by ``ref``
    (``(m,)``); points not better than ``ref`` in every objective add nothing."""
    y = np.asarray(y, dtype=float)
    ref = np.asarray(ref, dtype=float)
    y = y[~np.isnan(y).any(axis=1)] if y.size else y.reshape(0, ref.size)
    if y.shape[0] == 0:
        return 0.0
    part = DominatedPartitioning(ref_point=-_t(ref), Y=-_t(y))
    return float(part.compute_hypervolume())


def hypervolume_trace(y: Any, ref: Any, feasible: Optional[Sequence[bool]] = None) -> np.ndarray:
    """``(n,)`` hypervolume of the first ``i + 1`` points of ``y`` for each ``i`` (points in
    evaluation order; infeasible and NaN rows add nothing)."""
    y = np.asarray(y, dtype=float)
    keep = ~np.isnan(y).any(axis=1) if y.size else np.zeros(0, dtype=bool)
    if feasible is not None:
        keep &= np.asarray(feasible, dtype=bool)
    out = np.zeros(y.shape[0])
    hv = 0.0
    front = np.zeros((0, y.shape[1] if y.ndim == 2 else 0))
    for i in range(y.shape[0]):
        if keep[i]:
            front = np.vstack([front, y[i]])
            front = front[pareto_mask(front, deduplicate=True)]
            hv = hypervolume(front, ref)
        out[i] = hv
    return out


class HypervolumeImprovement:
    """The hypervolume improvement of new points over a fixed set ``y`` (minimised), from
    BoTorch's box decomposition of the region ``y`` does not dominate: for a point ``p`` it is
    the volume of the box ``[p, ref]`` inside that region, summed over the decomposition's cells.

    Args:
        y: ``(n, m)`` the current points (typically the observed front).
        ref: ``(m,)`` the reference point.
    """

    def __init__(self, y: Any, ref: Any) -> None:
        ref_t = -_t(ref)
        y = np.asarray(y, dtype=float)
        y = y[~np.isnan(y).any(axis=1)] if y.size else np.zeros((0, ref_t.numel()))
        part = NondominatedPartitioning(ref_point=ref_t, Y=-_t(y)) if y.shape[0] else None
        if part is None:  # nothing observed: the whole box below ref is one cell
            lower = ref_t.unsqueeze(0)
            upper = torch.full_like(lower, math.inf)
        else:
            bounds = part.get_hypercell_bounds()  # (2, cells, m), maximisation
            lower, upper = bounds[0], bounds[1]
        self.lower, self.upper = lower, upper  # cells (maximisation), (cells, m) each

    def __call__(self, points: Any) -> np.ndarray:
        """``(...,)`` improvement of each point of ``points`` (``(..., m)``, minimised)."""
        p = -_t(points).unsqueeze(-2)  # (..., 1, m), maximisation
        with torch_threads(1):  # small tensors: more threads only spin on a shared CPU
            lengths = (torch.minimum(p, self.upper) - self.lower).clamp_min(0.0)
            return lengths.prod(dim=-1).sum(dim=-1).numpy()


def front_table(names: Sequence[str], objectives: Sequence[Mapping[str, float]], extra: Iterable[Mapping[str, Any]],
                mask: np.ndarray) -> list[dict[str, Any]]:
    """Rows of the front (``mask``), sorted by the first objective: the ``extra`` fields of each
    point (term, id, ...) and its raw objective values."""
    rows = [{**e, **{k: o.get(k) for k in names}} for e, o, on in zip(extra, objectives, mask) if on]
    return sorted(rows, key=lambda r: tuple(math.inf if r[k] is None else r[k] for k in names))
