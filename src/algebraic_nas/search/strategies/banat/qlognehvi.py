"""BoTorch's qLogNEHVI as BANAT's acquisition for several objectives in generator spaces (``nago_hnag``, ``rnag``).

In a space whose terms differ only in their numbers, a term is a point of the unit cube: its
varying numbers in pre-order, each scaled by its declared range (the value kernel's features:
inert values canonicalised first, fixed literals left out; :func:`unit_features`). There the
modelled objectives get BoTorch's own models (a ``SingleTaskGP`` each: Matern-5/2 with ARD and
the dimension-scaled lengthscale prior, i.e. the value kernel; outcomes standardised; fitted by
``fit_gpytorch_mll``) and the acquisition is BoTorch's
``qLogNoisyExpectedHypervolumeImprovement``: it integrates over the noise of the observed front
as well (measured memory and error are noisy), and takes the pending terms as ``X_pending``
(sampled jointly, instead of the Kriging believer's posterior means).

It is *evaluated* on the terms the evolutionary optimiser proposes (mutation and numeric
perturbation), not optimised by gradients over the relaxed cube: mapping a relaxed point back to
a term would have to round coupled integers, pick between number literals (another production),
keep the copies of a shared subterm equal and satisfy Python constraints, which the grammar's
own operators already do. Objectives computed from the term (params, FLOPs) are not functions
the GP can differentiate or sample either; with one of them BANAT uses its own EHVI.

Objective space: the outcomes are the negated :func:`~algebraic_nas.search.pareto.transform`
of the objectives (BoTorch maximises), the reference point the negated
:func:`~algebraic_nas.search.pareto.reference_point` of the observed points.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import torch

from algebraic_nas.grammar.term import Term
from algebraic_nas.search.pareto import objective_matrix, reference_point
from algebraic_nas.threads import torch_threads


def unit_features(grammar: Any, terms: Sequence[Term]) -> torch.Tensor:
    """``(n, d)`` the varying numbers of each term scaled to [0, 1] (the value kernel's features)."""
    from algebraic_nas.grammar.canonical_values import canonical_term
    from algebraic_nas.grammar.sites import value_sites

    rows = []
    for t in terms:
        c = canonical_term(grammar, t)
        rows.append([(s.value - s.span[0]) / (s.span[1] - s.span[0])
                     for s in value_sites(grammar, c) if s.span[1] > s.span[0]])
    width = max((len(r) for r in rows), default=0)
    if any(len(r) != width for r in rows):
        raise ValueError("terms with different numbers of values: not a generator space")
    return torch.tensor(rows, dtype=torch.double).reshape(len(rows), width)


def qlognehvi_acquisition(grammar: Any, terms: Sequence[Term], objectives: Sequence[dict], names: Sequence[str],
                          pending: Sequence[Term] = (), mc_samples: int = 64, seed: int = 0
                          ) -> Callable[[list[Term]], np.ndarray]:
    """Fit one ``SingleTaskGP`` per objective in ``names`` on ``terms`` (their ``objectives``
    mappings) and return ``candidates -> (N,) log EHVI`` (BoTorch's qLogNEHVI with q = 1)."""
    from botorch.acquisition.multi_objective.logei import qLogNoisyExpectedHypervolumeImprovement
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import ModelListGP, SingleTaskGP
    from botorch.models.transforms.outcome import Standardize
    from botorch.sampling.normal import SobolQMCNormalSampler
    from gpytorch.mlls import ExactMarginalLogLikelihood

    x = unit_features(grammar, terms)
    y_min = objective_matrix(objectives, names)  # (n, m), minimised
    y = -torch.as_tensor(y_min, dtype=torch.double)
    models = [SingleTaskGP(x, y[:, j:j + 1], outcome_transform=Standardize(m=1)) for j in range(len(names))]
    # one torch thread, as GraphGP: on a shared CPU more threads spin (a 6 x 6 Cholesky took 13 ms with 2)
    with torch_threads(1):
        for m in models:  # one at a time: a joint fit of the model list runs the slowest model's iterations for all
            fit_gpytorch_mll(ExactMarginalLogLikelihood(m.likelihood, m))
    model = ModelListGP(*models)
    ref = (-torch.as_tensor(reference_point(y_min), dtype=torch.double)).tolist()
    x_pending = unit_features(grammar, list(pending)) if pending else None
    acq = qLogNoisyExpectedHypervolumeImprovement(
        model, ref_point=ref, X_baseline=x, X_pending=x_pending, prune_baseline=True,
        sampler=SobolQMCNormalSampler(torch.Size([mc_samples]), seed=seed),
    )

    def score(candidates: list[Term]) -> np.ndarray:
        xc = unit_features(grammar, candidates).unsqueeze(-2)  # (N, 1, d): q = 1
        out = []
        with torch.no_grad(), torch_threads(1):
            for chunk in torch.split(xc, 256):
                out.append(acq(chunk))
        return torch.cat(out).numpy()

    return score
