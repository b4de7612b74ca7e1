"""Asynchronous Hyperband: successive halving over a fidelity, promoting as soon as a rung allows.

Fidelities (rungs). With ``min_fidelity`` m, ``max_fidelity`` M and ``eta`` η, the rungs are
``r_k = M · η^(k - s_max)`` for ``k = 0 .. s_max``, ``s_max = ⌊log_η(M / m)⌋`` (rounded to
integers for ``epochs``): the top rung is M, the bottom the smallest at least m
(:func:`rung_fidelities`). Example: m = 1, M = 27, η = 3 → 1, 3, 9, 27.

Brackets (Hyperband, Li et al. 2018). Bracket ``s`` (``s = s_max .. 0`` halvings) starts
``n_s = ⌈(s_max + 1) / (s + 1) · η^s⌉`` terms at rung ``s_max - s`` and keeps ``⌊n_s η^-i⌋`` of them
at its ``i``-th rung (:func:`hyperband_brackets`; the example above: 27/9/3/1, 12/4/1, 6/2, 4).
``brackets`` keeps the most aggressive ones only (1: plain successive halving from m).

Asynchrony (ASHA, Li et al. 2020). Each bracket is a ladder of rungs that never waits: whenever a
worker is free, the best term of a rung that is in the top ``⌊m_k / η⌋`` of the ``m_k`` results
of its rung and not yet promoted moves up one rung (highest rungs first); when no term can be
promoted, a new term starts at the bottom rung of the bracket furthest behind its Hyperband
share ``n_s``. The state is a function of the observed results and the pending proposals only,
so a run resumed after a kill (results replayed in any order) has the same rungs and promotions.

Continuation (``continue_training``, on by default, fidelity ``epochs`` only). A promoted term
continues the training its lower rung saved (the proposal's ``checkpoint``), with the learning
rate schedule of the top rung (the fidelity is ``{"epochs": r_k, "schedule_epochs": M}``), so
reaching the top rung costs M epochs in all, not the sum over rungs. A checkpoint that is gone
makes the evaluation retrain (recorded in the row). Off: classic Hyperband, every rung trained
from scratch with its own schedule (fidelity ``{"epochs": r_k}``). Any other numeric protocol
field can be the fidelity (``fidelity_key``), without continuation.

Checkpoints of terms that can no longer be promoted are not kept (see
:meth:`Hyperband.live_checkpoints` and :mod:`algebraic_nas.search.checkpoints`). The incumbent is
the best term at the highest rung reached (:mod:`algebraic_nas.search.incumbent`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from algebraic_nas.errors import ConfigError
from algebraic_nas.grammar.canonical_values import canonical_set
from algebraic_nas.grammar.term import Term
from algebraic_nas.search.proposal import Proposal, Result, as_proposal, fidelity_key
from algebraic_nas.search.strategies.base import Observation, PendingItem, Strategy
from algebraic_nas.search.strategies.registry import register_strategy

SCHEDULE_KEY = "schedule_epochs"  # evaluation.evaluate.SCHEDULE_EPOCHS (grammar-free import here)


@dataclass
class HyperbandConfig:
    """Hyperband's settings.

    eta: the halving rate η (keep the best 1/η of a rung; BOHB's default 3, NAGO's 2).
    min_fidelity, max_fidelity: the fidelity range (epochs by default).
    brackets: how many brackets (``null``: all, ``s_max + 1``; 1: successive halving only).
    fidelity_key: the protocol field the fidelity sets (``epochs``; any numeric protocol field).
    integer: round fidelities to integers (epochs).
    continue_training: promoted terms continue their lower rung's training from its
        checkpoint (``epochs`` only); ``false``: classic Hyperband, every rung from scratch.
    """

    eta: int = 3
    min_fidelity: float = 1
    max_fidelity: float = 9
    brackets: Optional[int] = None
    fidelity_key: str = "epochs"
    integer: bool = True
    continue_training: bool = True


def rung_fidelities(min_fidelity: float, max_fidelity: float, eta: float, integer: bool = True) -> list[float]:
    """The rungs' fidelities, lowest first: ``max · η^(k - s_max)`` (see the module docstring)."""
    if not (min_fidelity > 0 and max_fidelity >= min_fidelity):
        raise ConfigError(f"strategy.min_fidelity={min_fidelity!r}, strategy.max_fidelity={max_fidelity!r}: "
                          "need 0 < min_fidelity <= max_fidelity")
    if not eta >= 2:
        raise ConfigError(f"strategy.eta={eta!r}: must be >= 2")
    s_max = int(math.floor(math.log(max_fidelity / min_fidelity) / math.log(eta) + 1e-9))
    values = [max_fidelity * eta ** (k - s_max) for k in range(s_max + 1)]
    if integer:
        values = [int(round(v)) for v in values]
        if len(set(values)) < len(values) or values[0] < 1:
            raise ConfigError(f"strategy.min_fidelity={min_fidelity!r}: integer rungs {values} repeat or reach 0; "
                              "raise min_fidelity or eta")
    return values


@dataclass(frozen=True)
class Bracket:
    """One Hyperband bracket: it starts terms at rung ``first`` and keeps ``sizes[i]`` of them at
    rung ``first + i`` (its share of new terms is ``sizes[0]``)."""

    first: int
    sizes: tuple[int, ...]


def hyperband_brackets(n_rungs: int, eta: int, brackets: Optional[int] = None) -> list[Bracket]:
    """Hyperband's brackets over ``n_rungs`` rungs, most aggressive first (see the module docstring)."""
    s_max = n_rungs - 1
    count = s_max + 1 if brackets is None else int(brackets)
    if not 1 <= count <= s_max + 1:
        raise ConfigError(f"strategy.brackets={brackets!r}: must be between 1 and {s_max + 1} (the rungs)")
    out = []
    for s in range(s_max, s_max - count, -1):
        n = int(math.ceil((s_max + 1) / (s + 1) * eta ** s - 1e-9))
        out.append(Bracket(first=s_max - s, sizes=tuple(int(n // eta ** i) for i in range(s + 1))))
    return out


@dataclass
class Trial:
    """A term's way up its bracket: ``results[k]`` is its observation at rung ``k``;
    ``pending`` the rungs it is being evaluated at now."""

    term: Term
    bracket: int  # the rung it started at (brackets are told apart by their first rung)
    results: dict[int, Observation] = field(default_factory=dict)
    pending: set[int] = field(default_factory=set)

    def top(self) -> int:
        """The highest rung it was proposed at."""
        return max([*self.results, *self.pending])


@register_strategy("hyperband", config=HyperbandConfig)
class Hyperband(Strategy):
    """Asynchronous Hyperband (ASHA brackets) with random terms, continuing promoted terms'
    training from checkpoints."""

    name = "hyperband"
    config_class = HyperbandConfig
    propose_ahead = False  # fast: the driver proposes when a worker is free

    def __init__(self, grammar: Any, config: Any = None, seed: int = 0, *, network_seed: int = 0,
                 **settings: Any) -> None:
        super().__init__(grammar, config, seed, network_seed=network_seed, **settings)
        c = self.config
        if not isinstance(c.eta, int) or isinstance(c.eta, bool) or c.eta < 2:
            raise ConfigError(f"strategy.eta={c.eta!r}: must be an integer >= 2")
        if not isinstance(c.fidelity_key, str) or not c.fidelity_key:
            raise ConfigError(f"strategy.fidelity_key={c.fidelity_key!r}: must be a protocol field name")
        if c.continue_training and c.fidelity_key != "epochs":
            raise ConfigError(f"strategy.continue_training=true needs strategy.fidelity_key=epochs, not "
                              f"{c.fidelity_key!r} (only training can be continued); set continue_training=false")
        self.eta = c.eta
        self.rungs = rung_fidelities(float(c.min_fidelity), float(c.max_fidelity), c.eta, bool(c.integer))
        self.brackets = hyperband_brackets(len(self.rungs), c.eta, c.brackets)
        self.continues = bool(c.continue_training)  # the contract's flag: promotions continue checkpoints
        self._fidelities = [self._fidelity_at(k) for k in range(len(self.rungs))]
        self._rung_of = {fidelity_key(f): k for k, f in enumerate(self._fidelities)}
        self.trials: dict[Term, Trial] = {}
        self.fidelity = self._fidelities[0]

    # --- fidelities ----------------------------------------------------------------------------

    def _fidelity_at(self, k: int) -> dict[str, Any]:
        f: dict[str, Any] = {self.config.fidelity_key: self.rungs[k]}
        if self.continues:  # the schedule of the top rung, so that continuing = training straight through
            f[SCHEDULE_KEY] = self.rungs[-1]
        return f

    def rung_of(self, fidelity: Any) -> Optional[int]:
        """The rung of a fidelity (``None``: not one of this run's rungs)."""
        return self._rung_of.get(fidelity_key(fidelity))

    # --- what happened -------------------------------------------------------------------------

    def _trial(self, term: Term, rung: int) -> Trial:
        trial = self.trials.get(term)
        if trial is None:  # first seen: it started its bracket at this rung
            trial = self.trials[term] = Trial(term, bracket=rung)
        return trial

    def observe(self, result: Any, record: Any = None) -> None:
        if not isinstance(result, Result):
            result = Result.from_record(result, record if record is not None else {})
        rung = self.rung_of(result.fidelity)
        if rung is not None:
            trial = self._trial(result.term, rung)
            trial.results[rung] = Observation(result, len(self.observations))  # the one observe() appends
            trial.pending.discard(rung)
        super().observe(result)

    def mark_proposed(self, proposal: PendingItem) -> None:
        super().mark_proposed(proposal)
        p = as_proposal(proposal)
        rung = self.rung_of(p.fidelity)
        if rung is not None:
            self._trial(p.term, rung).pending.add(rung)

    # --- rungs ---------------------------------------------------------------------------------

    def rung_members(self, bracket: int, rung: int) -> list[Trial]:
        """The trials of ``bracket`` with a result at ``rung``, best first (failed last)."""
        members = [t for t in self.trials.values() if t.bracket == bracket and rung in t.results]
        return sorted(members, key=lambda t: (t.results[rung].error is None, t.results[rung].error or 0.0,
                                              t.results[rung].order))

    def _promotable(self, bracket: int, rung: int) -> list[Trial]:
        """ASHA: the trials in the top ⌊m/η⌋ of the rung's m results, succeeded, not yet moved up."""
        members = self.rung_members(bracket, rung)
        quota = len(members) // self.eta
        return [t for t in members[:quota] if t.results[rung].error is not None and t.top() == rung]

    def _promotion(self) -> Optional[tuple[Trial, int]]:
        for rung in range(len(self.rungs) - 2, -1, -1):  # highest rungs first (ASHA)
            for b in self.brackets:
                if b.first <= rung:
                    ready = self._promotable(b.first, rung)
                    if ready:
                        return ready[0], rung
        return None

    def _next_bracket(self) -> Bracket:
        """The bracket furthest behind its Hyperband share of new terms (most aggressive on ties)."""
        started = {b.first: 0 for b in self.brackets}
        for t in self.trials.values():
            if t.bracket in started:
                started[t.bracket] += 1
        return min(self.brackets, key=lambda b: (started[b.first] / b.sizes[0], b.first))

    # --- proposals -----------------------------------------------------------------------------

    def propose(self, pending: Sequence[PendingItem] = (), n: int = 1) -> list[Proposal]:
        pending_proposals = [as_proposal(p) for p in pending]
        out: list[Proposal] = []
        for _ in range(n):
            promotion = self._promotion()
            if promotion is not None:
                trial, rung = promotion
                checkpoint = trial.results[rung].result.record.get("checkpoint") if self.continues else None
                p = Proposal(trial.term, self._fidelities[rung + 1], checkpoint or None)
                trial.pending.add(rung + 1)
            else:
                bracket = self._next_bracket()
                # compared by canonical form: a term equivalent to one started is not started again (issue 10)
                exclude = canonical_set(self.grammar, [*self.trials, *(q.term for q in pending_proposals),
                                                       *(q.term for q in out)])
                term = self._new_term(exclude, pending_proposals + out, bracket.first)
                p = Proposal(term, self._fidelities[bracket.first])
                self._trial(term, bracket.first).pending.add(bracket.first)
            self.seen.add(p.key)
            self.n_proposed += 1
            out.append(self.stamp(p))
        return out

    def _new_term(self, exclude: set[Term], pending: list[Proposal], rung: int) -> Term:
        """A term to start at ``rung`` (random here; BOHB asks its model)."""
        return self._new_random(exclude)

    # --- results -------------------------------------------------------------------------------

    def live_checkpoints(self) -> set[str]:
        """Checkpoints a promotion may still continue from: those of a promotion under way, and
        of terms at the top of their rung that were not moved up yet and rank within η places of
        the promotion quota ``⌊m/η⌋`` (further down, the rung would have to grow by η² worse
        results first; such a later promotion retrains, which the row records)."""
        live: set[str] = set()
        if not self.continues:
            return live
        ranked: dict[tuple[int, int], list[Trial]] = {}  # each rung sorted once, not once per trial
        for trial in self.trials.values():
            rung = max(trial.results, default=None)
            if rung is None or rung == len(self.rungs) - 1:
                continue
            path = trial.results[rung].result.record.get("checkpoint")
            if not path:
                continue
            if rung + 1 in trial.pending:
                live.add(path)
            elif trial.top() == rung:
                members = ranked.get((trial.bracket, rung))
                if members is None:
                    members = ranked[trial.bracket, rung] = self.rung_members(trial.bracket, rung)
                rank = members.index(trial)
                if rank < len(members) // self.eta + self.eta:
                    live.add(path)
        return live
