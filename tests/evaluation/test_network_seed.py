"""The evaluation seed is the network seed: generator topologies draw their graphs from it, so the
network that is trained is the one ``build_network(term, spec, seed=evaluation seed)`` gives."""

from __future__ import annotations

from algebraic_nas.assembly import InputSpec, build_network, network_stats
from algebraic_nas.evaluation import evaluate
from algebraic_nas.grammar import Template, is_topology, load_grammar, register_topology

if not is_topology("EvalSeedChain"):
    # a chain whose length (1..3 edges) is drawn from the position's seed
    register_topology("EvalSeedChain", lambda values, seed: Template.chain(1 + seed % 3, arg=1), generator=True)

GRAMMAR = "NET ::= EvalSeedChain(N, OP)\nN ::= int(1, 2)\nOP ::= conv3x3\n"
DIGITS = InputSpec(1, 8, 10)


def test_the_trained_network_is_the_one_built_with_the_evaluation_seed(tmp_path):
    path = tmp_path / "seedchain.ebnf"
    path.write_text(GRAMMAR)
    term = "EvalSeedChain(1, conv3x3)"
    t = load_grammar(str(path)).parse(term)
    params = {s: network_stats(build_network(t, DIGITS, seed=s), DIGITS)["params"] for s in range(8)}
    assert len(set(params.values())) > 1  # the seed changes the graph
    for s in (0, 1, 2):
        rec = evaluate(term=term, grammar=str(path), dataset="digits", protocol="tiny", seed=s, device="cpu")
        assert rec.outcome == "ok", rec.reason
        assert rec.params == params[s]
