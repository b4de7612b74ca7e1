"""The Kriging-believer batch engine: one fit, fantasies, no term twice; its picks equal the
straightforward loop that refits at fixed hyperparameters after each member."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from algebraic_nas.surrogate import GraphGP
from algebraic_nas.surrogate.batch import kriging_believer_batch
from algebraic_nas.surrogate.pool import PoolPosterior

from surrogate_fakes import count_target, fake_terms


def lower_confidence(mean, var):
    """A simple acquisition for minimisation (higher is better): -(mean - 2 sd)."""
    return -(np.asarray(mean) - 2.0 * np.sqrt(np.asarray(var)))


def scorer_of(pool, seeds, believed_log=None):
    """The engine's scorer: lower confidence bound of the pool's posterior; records the believed terms."""

    def scorer(believed):
        if believed_log is not None:
            believed_log.append(list(believed))
        return (lambda terms: lower_confidence(*pool.predict(terms))), list(seeds)

    return scorer


@dataclass
class Found:
    term: object
    value: float


def exhaustive(candidates):
    """An optimiser that scores every candidate and returns the best one not excluded."""

    def optimise(acq, seeds, exclude, local):
        values = acq(list(candidates))
        best = max((v, -k) for k, (t, v) in enumerate(zip(candidates, values)) if t not in exclude)
        return Found(candidates[-best[1]], best[0])

    return optimise


def test_batch_equals_sequential_refits_at_fixed_hyperparameters():
    terms, table, fn = fake_terms(seed=7, n=110, n_folds=2)
    y = [count_target(table[t]) for t in terms]
    train, ytrain = terms[:40], y[:40]
    pending, candidates = terms[40:43], terms[43:]
    gp = GraphGP("hwl", graph_fn=fn, steps=5).fit(train, ytrain)
    exclude = set(train) | set(pending)
    pool = PoolPosterior(gp)
    told = []
    picks, session = kriging_believer_batch([pool], 6, scorer_of(pool, train, told), exhaustive(candidates),
                                          set(exclude), pending=pending + [train[0]])
    assert len(set(picks)) == 6 and not set(picks) & exclude
    assert told[0] == pending and told[-1] == pending + picks[:5]  # a training term is not believed
    assert len(pool.fantasies) == 3 + 5 and session.members == 6  # the pending terms, every member but the last

    # the straightforward loop: refit at the same hyperparameters on train + fantasies each time
    fant, fant_y, expected = list(pending), [], []
    believed = gp.predict(pending)[0]
    fant_y = [float(np.exp(v)) for v in believed]
    for _ in range(6):
        ref = gp.refit_fixed(train + fant, ytrain + fant_y)
        mean, var = ref.predict(candidates)
        values = lower_confidence(mean, var)
        order = [k for k in np.argsort(-values, kind="stable") if candidates[k] not in exclude | set(expected)]
        t = candidates[order[0]]
        expected.append(t)
        fant.append(t)
        fant_y.append(float(np.exp(mean[order[0]])))
    assert picks == expected


def test_later_members_are_seeded_from_the_conditioned_pool():
    terms, table, fn = fake_terms(seed=8, n=80, n_folds=2)
    y = [count_target(table[t]) for t in terms]
    gp = GraphGP("wl", graph_fn=fn, steps=3).fit(terms[:30], y[:30])
    seen = []

    def optimise(acq, seeds, exclude, local):
        seen.append((list(seeds), local))
        return exhaustive(terms[30:])(acq, seeds, exclude, local)

    pool = PoolPosterior(gp)
    picks, _ = kriging_believer_batch([pool], 3, scorer_of(pool, terms[:30]), optimise, set(terms[:30]), n_seeds=5)
    assert [local for _, local in seen] == [False, True, True]
    assert seen[0][0] == terms[:30]  # the first member starts from the observed terms
    assert all(len(s) == 5 for s, _ in seen[1:])  # later ones from the pool's best 5
    assert len(set(picks)) == 3
