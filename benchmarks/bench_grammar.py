"""Grammar benchmarks on hnb201: sampling, mutation, crossover, self-crossover, parsing, size.

Targets (2-core machine): sampling >= 10,000 terms/s; mutation and crossover >= 5,000 children/s;
parsing a 6 kB hnb201 term <= 1 ms median. Operators are measured as the evolutionary optimiser
uses them: children of parents drawn from a population of sampled terms.

Sampling and parsing also report their ratio against the straightforward path in the same run
(interleaved rounds, so that a loaded machine slows both alike): the sampler closures instead of
the compiled samplers (``Samplers.compile = False``), and the precise parser (regex tokenizer,
character positions, full validation: ``parse_term(..., fast=False)``).
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Iterable

from benchmarks import record

# CPU time of this (single-threaded) process: on a loaded machine wall-clock medians grow faster
# than linearly with the work (a longer call is more often preempted), which distorts ratios
CPU = time.process_time


def _rate(fn, n: int, clock=time.perf_counter) -> float:
    t0 = clock()
    for i in range(n):
        fn(i)
    return n / (clock() - t0)


def run(quick: bool = False) -> Iterable[dict]:
    from algebraic_nas.grammar import load_grammar
    from algebraic_nas.grammar.termparse import parse_term

    t0 = time.perf_counter()
    g = load_grammar("hnb201")
    yield record("grammar.load_hnb201", (time.perf_counter() - t0) * 1000, "ms")

    t0 = time.perf_counter()
    g._size_cache = None
    g.size()
    yield record("grammar.size_hnb201", (time.perf_counter() - t0) * 1000, "ms")

    rng = random.Random(0)
    n = 500 if quick else 5000
    plain = load_grammar("hnb201")
    plain._samplers.compile = False  # the closures: the straightforward path
    g.sample(rng)  # build the samplers
    plain.sample(rng)
    rates: dict[str, list[float]] = {"compiled": [], "closures": []}
    for _ in range(3):  # interleaved rounds; the best of each
        rates["compiled"].append(_rate(lambda i: g.sample(rng), n, CPU))
        rates["closures"].append(_rate(lambda i: plain.sample(rng), n, CPU))
    rate, base = max(rates["compiled"]), max(rates["closures"])
    yield record("grammar.sample_hnb201", rate, "terms/s", clock="cpu", n=n, rounds=3, straightforward=round(base),
                 ratio=round(rate / base, 2), target=">= 10000")

    pop = [g.sample(rng) for _ in range(100)]
    for t in pop:
        g.mutate(t, rng)  # warm the per-term caches, as in an evolutionary loop
    n_ops = 2000 if quick else 20000
    rate = _rate(lambda i: g.mutate(pop[i % 100], rng), n_ops)
    yield record("grammar.mutation_hnb201", rate, "children/s", n=n_ops, population=100, target=">= 5000")

    def cx(i):
        return g.crossover(pop[i % 100], pop[(i * 37 + 11) % 100], rng)

    t0 = time.perf_counter()
    made = 0
    for i in range(n_ops // 2):
        out = cx(i)
        made += 2 if out else 0
    rate = made / (time.perf_counter() - t0)
    yield record("grammar.crossover_hnb201", rate, "children/s", n=n_ops // 2, population=100, target=">= 5000")

    t0 = time.perf_counter()
    made = sum(1 for i in range(n_ops // 2) if g.self_crossover(pop[i % 100], rng) is not None)
    rate = made / (time.perf_counter() - t0)
    yield record("grammar.self_crossover_hnb201", rate, "children/s", n=n_ops // 2, population=100)

    # chained operators (every parent is a fresh child: no warm caches)
    t = pop[0]
    t0 = time.perf_counter()
    m = n_ops // 4
    for _ in range(m):
        t = g.mutate(t, rng)
    yield record("grammar.mutation_chain_hnb201", m / (time.perf_counter() - t0), "children/s", n=m)

    texts = [str(g.sample(rng)) for _ in range(30 if quick else 200)]
    times = []
    for s in texts:
        t0 = time.perf_counter()
        g.parse(s)
        times.append((time.perf_counter() - t0) * 1000)
    yield record("grammar.parse_hnb201", statistics.median(times), "ms", n=len(texts),
                 median_chars=int(statistics.median(len(s) for s in texts)), target="<= 20")
    big = max(texts, key=len)
    t_big = []
    for _ in range(5):
        t0 = time.perf_counter()
        g.parse(big)
        t_big.append((time.perf_counter() - t0) * 1000)
    yield record("grammar.parse_hnb201_largest", statistics.median(t_big), "ms", chars=len(big))

    # a 6 kB term (as long as the reference's printed terms): grown by mutations that lengthen it
    big_t = max((g.parse(s) for s in texts), key=lambda u: len(str(u)))
    while len(str(big_t)) < 6000:
        cand = g.mutate(big_t, rng)
        if len(str(cand)) >= len(str(big_t)):
            big_t = cand
    big6 = str(big_t)
    t6: list[float] = []
    t6_plain: list[float] = []
    for _ in range(11 if quick else 41):  # interleaved: fast path, then the precise path
        t0 = CPU()
        g.parse(big6)
        t6.append((CPU() - t0) * 1000)
        t0 = CPU()
        parse_term(g, big6, g.start, fast=False)
        t6_plain.append((CPU() - t0) * 1000)
    med, base = statistics.median(t6), statistics.median(t6_plain)
    yield record("grammar.parse_hnb201_6kB", med, "ms", clock="cpu", chars=len(big6), straightforward_ms=round(base, 3),
                 ratio=round(base / med, 2), target="<= 1")

    t0 = time.perf_counter()
    for s in texts:
        g.check(g.parse(s))
    yield record("grammar.check_hnb201", (time.perf_counter() - t0) * 1000 / len(texts) / 2, "ms")

    levels = []
    t0 = time.perf_counter()
    for s in texts[:50]:
        term = g.parse(s)
        for level in range(5):
            levels.append(g.fold(term, level))
    yield record("grammar.fold_hnb201_levels0to4", (time.perf_counter() - t0) * 1000 / min(50, len(texts)), "ms/term")
