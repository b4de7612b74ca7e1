"""Compute the behaviour pinned by ``test_pins.py``: seeded samples, sizes, mutations, crossovers,
folds, surrogate graphs, network sizes and BANAT proposals of the shipped grammars.

Regenerate (only when a change of behaviour is intended, and say so in the commit):
    python tests/regression/pins.py > tests/regression/pins.json
"""

from __future__ import annotations

import json
import random
import sys

from algebraic_nas.grammar import load_grammar, shipped_grammars

SEEDS = range(4)
#: NAGO's random-graph spaces: pinned since every cell and node draws its own graph (issue 24).
GENERATOR_SPACES = ("nago_hnag", "nago_faithful", "rnag")


def grammar_pins(name: str) -> dict:
    g = load_grammar(name)
    out: dict = {"size": str(g.size()), "samples": [], "mutants": [], "crossovers": [],
                 "self_crossovers": [], "folds": []}
    for s in SEEDS:
        t = g.sample(s)
        u = g.sample(100 + s)
        out["samples"].append(str(t))
        out["mutants"].append(str(g.mutate(t, random.Random(s))))
        pair = g.crossover(t, u, random.Random(s))
        out["crossovers"].append(None if pair is None else [str(x) for x in pair])
        sc = g.self_crossover(t, random.Random(s))
        out["self_crossovers"].append(None if sc is None else str(sc))
        out["folds"].append([str(g.fold(t, lvl)) for lvl in (1, 2)])
    return out


def graph_pins(name: str) -> list:
    """Node and edge counts of the flat graph and fold graphs of the first samples."""
    from algebraic_nas.surrogate.graphs import TermGraphs

    g = load_grammar(name)
    tg = TermGraphs(g)
    out = []
    for s in range(2):
        graphs = tg(g.sample(s))
        out.append([[gr.n_nodes, sorted(gr.labels), sorted(zip(gr.src.tolist(), gr.dst.tolist()))]
                    for gr in graphs])
    return out


def network_pins(name: str) -> list:
    from algebraic_nas.assembly import InputSpec, build_network, network_stats

    g = load_grammar(name)
    spec = InputSpec(channels=3, resolution=32, classes=10)
    out = []
    for s in range(2):
        net = build_network(g.sample(s), spec, prune=g.prune)
        stats = network_stats(net, spec)
        out.append([stats["params"], stats["flops"]])
    return out


def banat_pins() -> list:
    """BANAT (hWL, small acquisition budget) on hnb201 with a deterministic synthetic error."""
    import zlib

    from algebraic_nas.search.strategies.banat.optimiser import EvolutionConfig
    from algebraic_nas.search.strategies import make_strategy

    g = load_grammar("hnb201")
    s = make_strategy("banat", g, seed=1, n_initial=4,
                      evolution=EvolutionConfig(pool_size=30, min_generations=2, max_generations=3, patience=1))
    out = []
    for _ in range(7):
        (proposal,) = s.propose(n=1)
        t = proposal.term
        out.append(str(t))
        err = 0.1 + (zlib.crc32(str(t).encode()) % 1000) / 2000
        s.observe(t, {"outcome": "ok", "valid_error": err})
    return out


def all_pins() -> dict:
    names = [n for n in shipped_grammars()]
    return {
        "grammars": {n: grammar_pins(n) for n in names},
        "graphs": {n: graph_pins(n) for n in ("hnb201", "nb201_cell", "hierarchical_cell", *GENERATOR_SPACES)},
        "networks": {n: network_pins(n) for n in ("hnb201", "nb201_cell", "darts", *GENERATOR_SPACES)},
        "banat": banat_pins(),
    }


if __name__ == "__main__":
    json.dump(all_pins(), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
