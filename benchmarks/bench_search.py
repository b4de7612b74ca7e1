"""Search benchmarks: wall time of one BANAT proposal on ``hnb201``, fast path against the
straightforward one in the same run.

One proposal = GP fit on n observed terms (hyperparameters by marginal likelihood) + the
evolutionary acquisition optimiser of Schrodi et al., App. J (pool 200, 10–50 generations, about 10,000
candidate terms scored). The observed validation errors are synthetic (a smooth function of the
term's operations plus noise), which does not change the cost. Both paths see the same data and
start their proposal from the same random state:

* **baseline** — the straightforward path: sorted-signature WL labels, every candidate's graphs
  composed and featurised from scratch, training Grams from scratch, the GP's hyperparameters
  from their defaults (``surrogate: {fast: false}, warm_start: false``);
* **fast** — BANAT's defaults: hashed WL labels, coarse fold graphs shared by key, each
  distinct graph of a batch featurised once, the training Gram extended from the previous fit
  (on the first n - 1 terms, as in a search); the same model as the baseline;
* **warm** — fast plus ``warm_start: true``: the GP's hyperparameter optimisation starts from
  the previous fit's optimum (the same objective, a slightly different optimum).

Before timing, the graphs of the observed terms are cached in all three (a search has them from
earlier proposals). Each record's value is the fast path's; its settings carry the baseline's
and warm start's figures and the ratios baseline / fast and baseline / warm.
``search.banat_acq_value`` compares the best log-EI the acquisition optimiser found, per seed
(fast minus baseline: 0 when the model is the same; warm minus baseline). Targets on a 2-core CPU: ≤ 1 s per proposal at n = 100, ≤ 5 s at n = 1000, GP fit at
n = 1000 ≤ 3 s (issue 16).

    python -m benchmarks search            # n = 100 (3 proposals) and n = 1000 (2 proposals)
    python -m benchmarks search --quick    # n = 30, one proposal
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Any, Iterable

import benchmarks


def synthetic_error(text: str, rng: random.Random) -> float:
    """A plausible validation error: more convolutions and fewer ``zero`` ops help, plus noise."""
    convs = text.count("conv")
    zeros = text.count("zero")
    ops = max(1, convs + zeros + text.count("avg_pool") + text.count("id"))
    return max(0.02, 0.6 - 0.4 * convs / ops + 0.2 * zeros / ops + rng.gauss(0.0, 0.02))


def _data(g: Any, n: int) -> tuple[list, list[float]]:
    rng = random.Random(n)
    terms, seen = [], set()
    while len(terms) < n:
        t = g.sample(rng)
        if t not in seen:
            seen.add(t)
            terms.append(t)
    return terms, [synthetic_error(str(t), rng) for t in terms]


VARIANTS = ("baseline", "fast", "warm")


def _proposal(g: Any, terms: list, errors: list[float], seed: int, variant: str) -> dict:
    """One timed proposal after n observations; returns its timings and acquisition value."""
    from algebraic_nas.search.proposal import Proposal, Result
    from algebraic_nas.search.strategies import BANAT
    from algebraic_nas.search.strategies.banat import _pinned_graph_cache

    fast = variant != "baseline"
    options = {} if fast else {"surrogate": {"fast": False}}
    s = BANAT(g, kernel="hwl", seed=seed, warm_start=variant == "warm", **options)
    for t, e in zip(terms[:-1], errors[:-1]):
        s.observe(Result(Proposal(t), {"valid_error": e}))
    if fast:
        s.fit(s.training_data())  # the previous proposal's fit: Gram and graph caches, warm start
    else:
        s.models.graphs = _pinned_graph_cache(g, s.kernel, s.models.max_cached_candidates, s.network_seed)
        s.models.graphs.pin(terms)
    s.observe(Result(Proposal(terms[-1]), {"valid_error": errors[-1]}))
    s.rng = random.Random(10_000 + seed)
    c0, t0 = time.process_time(), time.perf_counter()
    s.propose(n=1)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if s.last.random:
        raise RuntimeError("BANAT fell back to a random proposal: the GP fit failed (see log)")
    r = s.last.results[0]
    return dict(wall=wall, cpu=cpu, fit=s.last.fit_time_s, opt=s.last.optimise_time_s, value=r.value,
                generations=r.generations, scored=r.n_scored)


def _cold_fit(g: Any, terms: list, errors: list[float], fast: bool) -> float:
    """Seconds of one GP fit from default hyperparameters (WL rows of the terms cached, and with
    ``fast`` the Gram of a previous fit on the same terms)."""
    from algebraic_nas.search.strategies.banat import _pinned_graph_cache
    from algebraic_nas.surrogate import GraphGP

    graphs = _pinned_graph_cache(g, "hwl", 2000)
    graphs.pin(terms)
    GraphGP(kernel="hwl", grammar=g, graphs=graphs, fast=fast, steps=1).fit(terms, errors)
    t0 = time.perf_counter()
    GraphGP(kernel="hwl", grammar=g, graphs=graphs, fast=fast).fit(terms, errors)
    return time.perf_counter() - t0


def run(quick: bool) -> Iterable[dict]:
    import torch

    from algebraic_nas.grammar import load_grammar

    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    torch.optim.LBFGS([torch.zeros(1, requires_grad=True)])  # its first use imports torch._dynamo (seconds)
    g = load_grammar("hnb201")
    settings = [(30, 1)] if quick else [(100, 3), (1000, 2)]
    med = statistics.median
    for n, repeats in settings:
        terms, errors = _data(g, n)
        runs: dict[str, list[dict]] = {v: [] for v in VARIANTS}
        for r in range(repeats):
            for v in VARIANTS:
                runs[v].append(_proposal(g, terms, errors, r, v))
        common = dict(grammar="hnb201", kernel="hwl", n_observed=n, repeats=repeats, threads=torch.get_num_threads())
        for key, name, target in (("wall", "banat_proposal_s", 1 if n <= 100 else 5),
                                  ("fit", "banat_gp_fit_s", 3 if n >= 1000 else None),
                                  ("opt", "banat_acquisition_opt_s", None)):
            m = {v: med(x[key] for x in runs[v]) for v in VARIANTS}
            extra = {"target_s": target} if target is not None else {}
            if key == "wall":  # CPU seconds of this process: less sensitive to other jobs on the machine
                cpu = {v: med(x["cpu"] for x in runs[v]) for v in VARIANTS}
                extra.update(cpu_s=cpu["fast"], baseline_cpu_s=cpu["baseline"], warm_cpu_s=cpu["warm"],
                             cpu_ratio=round(cpu["baseline"] / cpu["fast"], 2),
                             warm_cpu_ratio=round(cpu["baseline"] / cpu["warm"], 2))
            yield benchmarks.record(f"search.{name}.n{n}", m["fast"], "s", **common, **extra,
                                    baseline_s=m["baseline"], ratio=round(m["baseline"] / m["fast"], 2),
                                    warm_s=m["warm"], warm_ratio=round(m["baseline"] / m["warm"], 2),
                                    **{f"{v}_all_s": [round(x[key], 3) for x in runs[v]] for v in VARIANTS})
        value = {v: [x["value"] for x in runs[v]] for v in VARIANTS}
        diff = {v: [a - b for a, b in zip(value[v], value["baseline"])] for v in ("fast", "warm")}
        yield benchmarks.record(f"search.banat_acq_value.n{n}", min(diff["fast"]), "log_ei", **common,
                                meaning="min over seeds of (fast - baseline) best log-EI found; >= 0 (up to "
                                        "float rounding, 1e-8): no loss",
                                fast_equals_baseline=all(abs(d) <= 1e-8 for d in diff["fast"]),
                                warm_minus_baseline=diff["warm"], **value,
                                generations=[x["generations"] for x in runs["fast"]],
                                terms_scored=[x["scored"] for x in runs["fast"]])
        if n >= 1000:
            cold = {fast: _cold_fit(g, terms, errors, fast) for fast in (False, True)}
            yield benchmarks.record(f"search.gp_fit_cold_s.n{n}", cold[True], "s", **common, baseline_s=cold[False],
                                    ratio=round(cold[False] / cold[True], 2),
                                    meaning="one GP fit from default hyperparameters, features cached")
