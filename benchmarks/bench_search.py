"""Search benchmarks: wall time of one BANAT proposal on ``hnb201``.

One proposal = GP fit on n observed terms (hyperparameters by marginal likelihood) + the
evolutionary acquisition optimiser of REFERENCE §5 (pool 200, 10–50 generations). The observed
validation errors are synthetic (a smooth function of the term's operations plus noise), which
does not change the cost. Targets on a 2-core CPU: ≤ 10 s at n = 100, ≤ 60 s at n = 1000 (the
reference implementation took 6–28 minutes per proposal at n = 30).

    python -m benchmarks search            # n = 100 (3 proposals) and n = 1000 (2 proposals)
    python -m benchmarks search --quick    # n = 30, one proposal
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Iterable

import benchmarks


def synthetic_error(text: str, rng: random.Random) -> float:
    """A plausible validation error: more convolutions and fewer ``zero`` ops help, plus noise."""
    convs = text.count("conv")
    zeros = text.count("zero")
    ops = max(1, convs + zeros + text.count("avg_pool") + text.count("id"))
    return max(0.02, 0.6 - 0.4 * convs / ops + 0.2 * zeros / ops + rng.gauss(0.0, 0.02))


def run(quick: bool) -> Iterable[dict]:
    import torch

    from algebraic_nas.grammar import load_grammar
    from algebraic_nas.search.proposal import Proposal, Result
    from algebraic_nas.search.strategies import BANAT

    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    g = load_grammar("hnb201")
    settings = [(30, 1)] if quick else [(100, 3), (1000, 2)]
    for n, repeats in settings:
        rng = random.Random(n)
        terms = []
        seen = set()
        while len(terms) < n:
            t = g.sample(rng)
            if t not in seen:
                seen.add(t)
                terms.append(t)
        errors = [synthetic_error(str(t), rng) for t in terms]
        times, fits, opts, gens, scored = [], [], [], [], []
        for r in range(repeats):
            s = BANAT(g, kernel="hwl", seed=r)
            for t, e in zip(terms, errors):
                s.observe(Result(Proposal(t), {"valid_error": e}))
            t0 = time.perf_counter()
            s.propose(n=1)
            times.append(time.perf_counter() - t0)
            if s.last.random:
                raise RuntimeError("BANAT fell back to a random proposal: the GP fit failed (see log)")
            fits.append(s.last.fit_time_s)
            opts.append(s.last.optimise_time_s)
            gens.append(s.last.results[0].generations)
            scored.append(s.last.results[0].n_scored)
        common = dict(grammar="hnb201", kernel="hwl", n_observed=n, repeats=repeats, threads=torch.get_num_threads())
        yield benchmarks.record(f"search.banat_proposal_s.n{n}", statistics.median(times), "s", **common,
                                target_s=10 if n <= 100 else 60, all_s=[round(x, 3) for x in times])
        yield benchmarks.record(f"search.banat_gp_fit_s.n{n}", statistics.median(fits), "s", **common)
        yield benchmarks.record(f"search.banat_acquisition_opt_s.n{n}", statistics.median(opts), "s", **common,
                                generations=gens, terms_scored=scored)
