"""Batch benchmarks: what a Kriging-believer batch of q BANAT proposals costs, and what it finds.

* ``batch.banat_q16_cost_ratio.n{N}`` — CPU seconds of one ``propose(n=16)`` over one
  ``propose(n=1)`` on ``hnb201`` after N observations (synthetic errors, the data of
  ``bench_search``), each from the same state: the batch engine (``batch: fantasy``, one fit,
  members by fantasy and local search) against today's path in the same run (``batch: refit``:
  every member refits the GP with the believed terms and runs the full optimiser). Target
  (issue 21): <= 2 at n = 100 and n = 1000.
* ``batch.best_error_after_k_batches`` — over several seeds, the best synthetic validation error
  after K batches of q proposals from a random start (each batch evaluated at once), fantasy
  against refit: the batch engine must find as good terms within noise (mean and per seed).

    python -m benchmarks batch            # n = 100 and 1000; 4 seeds x 4 batches of 8
    python -m benchmarks batch --quick    # n = 30; 2 seeds x 2 batches of 4, small optimiser
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Any, Iterable

import benchmarks


def _strategy(g: Any, seed: int, batch: str, **kw: Any) -> Any:
    from algebraic_nas.search.strategies import make_strategy

    return make_strategy("banat", g, seed=seed, kernel="hwl", batch=batch, **kw)


def _timed_batch(g: Any, terms: list, errors: list[float], q: int, batch: str, seed: int) -> dict:
    """CPU and wall seconds of one ``propose(n=q)`` after observing ``terms`` (caches warm as in a
    search: the previous proposal's fit on the first n - 1 terms was made)."""
    from algebraic_nas.search.proposal import Proposal, Result

    s = _strategy(g, seed, batch)
    for t, e in zip(terms[:-1], errors[:-1]):
        s.observe(Result(Proposal(t), {"valid_error": e}))
    s.fit(s.training_data())
    s.observe(Result(Proposal(terms[-1]), {"valid_error": errors[-1]}))
    s.rng = random.Random(10_000 + seed)
    c0, t0 = time.process_time(), time.perf_counter()
    out = s.propose(n=q)
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    if s.last.random:
        raise RuntimeError("BANAT fell back to a random proposal: the GP fit failed (see log)")
    return dict(cpu=cpu, wall=wall, n=len(out), values=[r.value for r in s.last.results],
                scored=sum(r.n_scored for r in s.last.results))


def cost_records(g: Any, n: int, repeats: int, refit: bool) -> Iterable[dict]:
    from benchmarks.bench_search import _data

    terms, errors = _data(g, n)
    med = statistics.median
    one = [_timed_batch(g, terms, errors, 1, "fantasy", r) for r in range(repeats)]
    q16 = [_timed_batch(g, terms, errors, 16, "fantasy", r) for r in range(repeats)]
    old = [_timed_batch(g, terms, errors, 16, "refit", r) for r in range(1)] if refit else []
    c1, c16 = med(x["cpu"] for x in one), med(x["cpu"] for x in q16)
    extra = {}
    if old:
        extra = dict(refit_q16_cpu_s=old[0]["cpu"], refit_ratio=round(old[0]["cpu"] / c1, 2),
                     speedup_vs_refit=round(old[0]["cpu"] / c16, 2))
    yield benchmarks.record(f"batch.banat_q16_cost_ratio.n{n}", round(c16 / c1, 3), "ratio", grammar="hnb201",
                            n_observed=n, repeats=repeats, one_cpu_s=c1, q16_cpu_s=c16,
                            one_wall_s=med(x["wall"] for x in one), q16_wall_s=med(x["wall"] for x in q16),
                            q16_terms_scored=[x["scored"] for x in q16], one_terms_scored=[x["scored"] for x in one],
                            target=2.0, **extra)


def _best_after(g: Any, seed: int, batch: str, k: int, q: int, n0: int, evolution: dict) -> list[float]:
    """Best synthetic error after each of ``k`` batches of ``q`` from ``n0`` random observations."""
    from algebraic_nas.search.proposal import Result
    from algebraic_nas.search.strategies.banat.optimiser import EvolutionConfig
    from benchmarks.bench_search import synthetic_error

    def error(term: Any) -> float:  # deterministic per term: both paths see the same objective
        return synthetic_error(str(term), random.Random(str(term)))

    s = _strategy(g, seed, batch, n_initial=n0, evolution=EvolutionConfig(**evolution))
    best, out = float("inf"), []
    for p in s.propose(n=n0):
        e = error(p.term)
        best = min(best, e)
        s.observe(Result(p, {"outcome": "ok", "valid_error": e}))
    for _ in range(k):
        for p in s.propose(n=q):
            e = error(p.term)
            best = min(best, e)
            s.observe(Result(p, {"outcome": "ok", "valid_error": e}))
        out.append(best)
    return out


def quality_records(g: Any, seeds: int, k: int, q: int, evolution: dict) -> Iterable[dict]:
    runs = {b: [_best_after(g, s, b, k, q, 12, evolution) for s in range(seeds)] for b in ("fantasy", "refit")}
    final = {b: [r[-1] for r in runs[b]] for b in runs}
    diff = [a - b for a, b in zip(final["fantasy"], final["refit"])]
    sd = statistics.stdev(diff) / len(diff) ** 0.5 if len(diff) > 1 else float("nan")
    yield benchmarks.record("batch.best_error_after_k_batches", statistics.mean(final["fantasy"]), "error",
                            grammar="hnb201", seeds=seeds, batches=k, q=q, n_initial=12, evolution=evolution,
                            refit_mean=statistics.mean(final["refit"]), fantasy_minus_refit=diff,
                            mean_diff=statistics.mean(diff), se_diff=sd,
                            meaning="best synthetic error after K batches; fantasy (one fit per batch) vs refit "
                                    "(today's sequential Kriging believer); mean_diff <= ~2 se_diff: no loss",
                            fantasy_curves=runs["fantasy"], refit_curves=runs["refit"])


def run(quick: bool) -> Iterable[dict]:
    import torch

    from algebraic_nas.grammar import load_grammar

    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    g = load_grammar("hnb201")
    for n, repeats in ([(30, 1)] if quick else [(100, 2), (1000, 1)]):
        yield from cost_records(g, n, repeats, refit=True)
    small = dict(pool_size=60, min_generations=3, max_generations=8, patience=2)
    yield from (quality_records(g, 2, 2, 4, small) if quick else quality_records(g, 4, 4, 8, small))
