"""Grammar benchmarks on hnb201: sampling, mutation, crossover, self-crossover, parsing, size.

Targets (2-core machine): sampling >= 2,000 terms/s; mutation and crossover >= 5,000 children/s;
parsing a sampled hnb201 term <= 20 ms median. Operators are measured as the evolutionary
optimiser uses them: children of parents drawn from a population of sampled terms.
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Iterable

from benchmarks import record


def _rate(fn, n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        fn(i)
    return n / (time.perf_counter() - t0)


def run(quick: bool = False) -> Iterable[dict]:
    from algebraic_nas.grammar import load_grammar

    t0 = time.perf_counter()
    g = load_grammar("hnb201")
    yield record("grammar.load_hnb201", (time.perf_counter() - t0) * 1000, "ms")

    t0 = time.perf_counter()
    g._size_cache = None
    g.size()
    yield record("grammar.size_hnb201", (time.perf_counter() - t0) * 1000, "ms")

    rng = random.Random(0)
    n = 500 if quick else 5000
    g.sample(rng)  # build the samplers
    rate = _rate(lambda i: g.sample(rng), n)
    yield record("grammar.sample_hnb201", rate, "terms/s", n=n, target=">= 2000")

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
    t6 = []
    for _ in range(11):
        t0 = time.perf_counter()
        g.parse(big6)
        t6.append((time.perf_counter() - t0) * 1000)
    yield record("grammar.parse_hnb201_6kB", statistics.median(t6), "ms", chars=len(big6), target="<= 20")

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
