"""Acquisition functions of the model-based strategies: the piece that changes with the number
of objectives (BoTorch's split of model -> acquisition -> optimiser).

One objective: expected improvement, plain and log, for *minimisation* of ``f`` = the log of the
objective (the validation error). With the GP posterior ``N(mu, sigma^2)`` at a candidate and the
best observed value ``f*``, the improvement ``z = (f* - mu - xi) / sigma`` gives

    EI(x)    = sigma * h(z),            h(z) = phi(z) + z * Phi(z)
    logEI(x) = log(sigma) + log h(z)

``log h`` is computed without cancellation for very negative ``z`` through the scaled
complementary error function (the approach of Ament et al. 2023, "Unexpected improvements to
expected improvement", used by BoTorch's ``LogExpectedImprovement``): plain EI underflows to
exactly 0 for most of a 10^400-term space once the GP is confident, which leaves an
evolutionary optimiser with no gradient of fitness to follow; log-EI keeps ranking them.

Several objectives: expected hypervolume improvement (:func:`ehvi_scorer`, graph GPs) or BoTorch's
qLogNEHVI (:mod:`.qlognehvi`, generator spaces). Each builder returns a *scorer*
``candidates -> (N,) values`` (higher is better) that the evolutionary optimiser maximises.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np
from scipy.special import erfcx, ndtr

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_SQRT_HALF_PI = math.sqrt(0.5 * math.pi)
_SQRT2 = math.sqrt(2.0)


def _sigma_z(mean: np.ndarray, var: np.ndarray, best: float, xi: float) -> tuple[np.ndarray, np.ndarray]:
    """Posterior standard deviation and standardised improvement ``z = (f* - mu - xi) / sigma``."""
    sigma = np.sqrt(np.clip(np.asarray(var, dtype=float), 1e-18, None))
    return sigma, (best - np.asarray(mean, dtype=float) - xi) / sigma


def expected_improvement(mean: np.ndarray, var: np.ndarray, best: float, xi: float = 0.0) -> np.ndarray:
    """EI for minimisation. ``mean``, ``var``: posterior of shape ``(n,)``; ``best``: ``f*``."""
    sigma, z = _sigma_z(mean, var, best, xi)
    pdf = np.exp(-0.5 * z * z - _LOG_SQRT_2PI)
    return sigma * (pdf + z * ndtr(z))


def log_h(z: np.ndarray) -> np.ndarray:
    """``log(phi(z) + z * Phi(z))``, accurate for every finite ``z``."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    hi = z > -1.0
    zh = z[hi]
    out[hi] = np.log(np.exp(-0.5 * zh * zh - _LOG_SQRT_2PI) + zh * ndtr(zh))
    zl = z[~hi]
    # phi(z) + z Phi(z) = phi(z) * (1 + z sqrt(pi/2) erfcx(-z/sqrt2)); the bracket is
    # 1 - |z| sqrt(pi/2) erfcx(|z|/sqrt2) ~ 1/z^2 for z -> -inf, computed with log1p.
    # Beyond |z| ~ 1e4 the bracket loses its digits (at |z| > ~1e8 it rounds to exactly 0, and
    # log1p(-1) divides by zero: a near-zero posterior variance gives such z): there only the
    # asymptote log(1/z^2) is evaluated.
    far = zl < -1e4
    inner = np.empty_like(zl)
    zn = zl[~far]
    inner[~far] = np.log1p(zn * _SQRT_HALF_PI * erfcx(-zn / _SQRT2))
    inner[far] = -2.0 * np.log(-zl[far])
    out[~hi] = -0.5 * zl * zl - _LOG_SQRT_2PI + inner
    return out


def log_expected_improvement(mean: np.ndarray, var: np.ndarray, best: float, xi: float = 0.0) -> np.ndarray:
    """log EI for minimisation (same arguments as :func:`expected_improvement`)."""
    sigma, z = _sigma_z(mean, var, best, xi)
    return np.log(sigma) + log_h(z)


ACQUISITIONS: dict[str, Callable[..., np.ndarray]] = {
    "ei": expected_improvement,
    "log_ei": log_expected_improvement,
}


Scorer = Callable[[list], np.ndarray]


def ei_scorer(model: Any, kind: str, best_log: float, xi: float = 0.0,
              admissible: Optional[Callable[[list], np.ndarray]] = None) -> Scorer:
    """``candidates -> (N,)`` EI or log-EI (``kind``: a key of :data:`ACQUISITIONS`) of ``model``'s
    posterior of the log objective over ``best_log`` (the best *real* observation); candidates
    that ``admissible`` rejects (pre-training bounds) score ``-inf``."""
    acquisition = ACQUISITIONS[kind]

    def score(candidates: list) -> np.ndarray:
        mean, var = model.predict(candidates)
        out = acquisition(np.asarray(mean, float).reshape(-1), np.asarray(var, float).reshape(-1), best_log, xi)
        return out if admissible is None else np.where(admissible(candidates), out, -math.inf)

    return score


class ObjectivePoints:
    """Points in objective space from modelled and computed objectives.

    Args:
        objectives: every objective, in order.
        modelled: those modelled by a GP (log values).
        computed: those computed from the term (``params``, ``flops``) by ``stats``.
        stats: ``term -> {name: value}`` (cached counts).
    """

    def __init__(self, objectives: Sequence[str], modelled: Sequence[str], computed: Sequence[str],
                 stats: Optional[Callable[[Any], Mapping[str, float]]]) -> None:
        self.objectives, self.modelled, self.computed = tuple(objectives), tuple(modelled), tuple(computed)
        self.stats = stats

    def values(self, terms: list, models: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per term: posterior mean and sd of each modelled objective's log value ``(n, k)``, and
        the transformed computed objectives ``(n, c)`` (NaN when the network cannot be built)."""
        from algebraic_nas.search.pareto import transform
        from algebraic_nas.search.strategies.banat.model import posterior

        mean, var = posterior(models, self.modelled, terms)
        sd = np.sqrt(np.clip(var, 0.0, None))
        comp = np.full((len(terms), len(self.computed)), math.nan)
        for j, k in enumerate(self.computed):  # counted once per term (cached), only when an objective
            comp[:, j] = transform(k, [self.stats(t).get(k, math.nan) for t in terms])
        return mean, sd, comp

    def assemble(self, modelled: np.ndarray, computed: np.ndarray) -> np.ndarray:
        """Points ``(..., m)`` in objective order from modelled log values ``(..., k)`` and
        transformed computed values ``(..., c)`` (broadcast)."""
        from algebraic_nas.search.pareto import transform

        shape = np.broadcast_shapes(modelled.shape[:-1], computed.shape[:-1])
        out = np.empty(shape + (len(self.objectives),))
        for j, k in enumerate(self.modelled):
            out[..., self.objectives.index(k)] = transform(k, np.exp(modelled[..., j]))
        for j, k in enumerate(self.computed):
            out[..., self.objectives.index(k)] = np.broadcast_to(computed[..., j], shape)
        return out


_FLAT = -1e3  # log-EHVI stand-in for candidates with zero EHVI (minus their distance to the front)


def ehvi_scorer(models: Mapping[str, Any], space: ObjectivePoints, y_obs: np.ndarray, fake: list,
                z: np.ndarray, admissible: Callable[[list], np.ndarray]) -> Scorer:
    """``candidates -> (N,)`` log expected hypervolume improvement over the front of the observed
    points ``y_obs`` ``(n, m)`` and the believed pending terms ``fake`` (at their posterior mean),
    by quasi-Monte-Carlo with the common standard normal draws ``z`` ``(S, k)``; candidates with zero
    EHVI are ordered by their additive epsilon distance to the front; inadmissible ones or those
    whose network cannot be built score ``-inf``."""
    from algebraic_nas.search.pareto import HypervolumeImprovement, pareto_mask, reference_point

    if fake:
        mean, _, comp = space.values(fake, models)
        y_fake = space.assemble(mean, comp)
        y_front = np.vstack([y_obs, y_fake[~np.isnan(y_fake).any(axis=1)]])
    else:
        y_front = y_obs
    front = y_front[pareto_mask(y_front, deduplicate=True)]
    hvi = HypervolumeImprovement(front, reference_point(y_front))

    def score(candidates: list) -> np.ndarray:
        mean, sd, comp = space.values(candidates, models)
        ok = ~np.isnan(comp).any(axis=1) & admissible(candidates)
        draws = mean[None, :, :] + sd[None, :, :] * z[:, None, :]  # (S, N, k)
        points = space.assemble(draws, np.nan_to_num(comp)[None, :, :])  # (S, N, m)
        ehvi = hvi(points).mean(axis=0)  # (N,)
        at_mean = space.assemble(mean, np.nan_to_num(comp))
        gap = np.max(at_mean[:, None, :] - front[None, :, :], axis=-1).min(axis=1)  # additive epsilon
        with np.errstate(divide="ignore"):
            out = np.where(ehvi > 0, np.log(np.maximum(ehvi, 1e-300)), _FLAT - np.maximum(gap, 0.0))
        return np.where(ok, out, -math.inf)

    return score


def normal_draws(samples: int, k: int, seed: int) -> np.ndarray:
    """``(samples, k)`` scrambled-Sobol standard normal draws (``(1, 0)`` for ``k = 0``)."""
    import torch

    if k == 0:
        return np.zeros((1, 0))
    sobol = torch.quasirandom.SobolEngine(dimension=k, scramble=True, seed=seed)
    u = sobol.draw(samples, dtype=torch.double).clamp(1e-6, 1 - 1e-6)
    return torch.distributions.Normal(0.0, 1.0).icdf(u).numpy()
