"""Multi-objective benchmark: wall time of one MO-BANAT proposal on ``hnb201`` against one
single-objective BANAT proposal on the same data, in the same run (issue 12).

n terms are "observed" with a synthetic validation error (``bench_search.synthetic_error``),
their real parameter count (the assembler's, as an evaluation records it) and a synthetic peak
memory (a smooth function of the term plus noise). Three strategies propose once after them,
each from the same random state, with their default settings:

* ``banat`` — BANAT on the error (the baseline: one GP, log-EI, pool 200 / 10-50 generations);
* ``mo_banat`` on ``(valid_error, params)`` — one GP; the parameters of every candidate the
  acquisition optimiser scores are counted by building its network (cached for the search,
  cold here for the candidates: the realistic worst case of a proposal);
* ``mo_banat`` on ``(valid_error, peak_memory_mb)`` — two GPs, nothing computed.

Each record carries the ratio to BANAT's time (>1: slower than BANAT).

    python -m benchmarks multiobjective           # n = 100, 2 repeats
    python -m benchmarks multiobjective --quick   # n = 30, 1 repeat
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Any, Iterable

import benchmarks
from benchmarks.bench_search import _data


def _memory(text: str, rng: random.Random) -> float:
    """A synthetic peak memory (MiB): convolutions and fewer downsamplings cost memory."""
    return 200.0 + 15.0 * text.count("conv") - 10.0 * text.count("down") + rng.gauss(0.0, 5.0)


def _propose(g: Any, name: str, objectives: list[str], terms: list, values: list[dict], seed: int) -> dict:
    from algebraic_nas.search import make_strategy
    from algebraic_nas.search.proposal import Proposal, Result

    extra = {} if name == "banat" else {"objectives": objectives, "dataset": "digits"}
    s = make_strategy(name, g, seed=seed, kernel="hwl", **extra)
    if name != "banat":  # the observed terms' counts are known from earlier proposals
        for t in terms:
            s.stats(t)
    for t, v in zip(terms, values):
        s.observe(Result(Proposal(t), v))
    s.rng = random.Random(10_000 + seed)
    t0 = time.perf_counter()
    s.propose(n=1)
    wall = time.perf_counter() - t0
    if s.last.random:
        raise RuntimeError(f"{name} fell back to a random proposal (see log)")
    r = s.last.results[0]
    return dict(wall=wall, fit=s.last.fit_time_s, opt=s.last.optimise_time_s, scored=r.n_scored)


def run(quick: bool) -> Iterable[dict]:
    import torch

    from algebraic_nas.grammar import load_grammar
    from algebraic_nas.search.feasibility import TermStats

    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    g = load_grammar("hnb201")
    n, repeats = (30, 1) if quick else (100, 2)
    terms, errors = _data(g, n)
    rng = random.Random(7)
    stats = TermStats("digits", flops=False)
    values = [{"valid_error": e, "params": stats(t)["params"], "peak_memory_mb": _memory(str(t), rng)}
              for t, e in zip(terms, errors)]
    cases = [("banat", ["valid_error"]), ("mo_banat", ["valid_error", "params"]),
             ("mo_banat", ["valid_error", "peak_memory_mb"])]
    runs: dict[int, list[dict]] = {i: [] for i in range(len(cases))}
    for r in range(repeats):
        for i, (name, objectives) in enumerate(cases):
            runs[i].append(_propose(g, name, objectives, terms, values, r))
    med = statistics.median
    base = med(x["wall"] for x in runs[0])
    for i, (name, objectives) in enumerate(cases):
        wall = med(x["wall"] for x in runs[i])
        label = "banat" if name == "banat" else f"mo_banat_{objectives[1]}"
        yield benchmarks.record(
            f"multiobjective.{label}_proposal_s.n{n}", wall, "s", grammar="hnb201", kernel="hwl", n_observed=n,
            repeats=repeats, objectives=objectives, threads=torch.get_num_threads(),
            ratio_to_banat=round(wall / base, 2), banat_s=base,
            fit_s=med(x["fit"] for x in runs[i]), optimise_s=med(x["opt"] for x in runs[i]),
            terms_scored=[x["scored"] for x in runs[i]], all_s=[round(x["wall"], 3) for x in runs[i]])
