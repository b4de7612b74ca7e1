"""``evaluate``: term text in, :class:`EvaluationRecord` out; never raises for a bad architecture.

All arguments are plain picklable values, so ``evaluate`` can be submitted to Dask worker
processes as is. The model construction is injectable: :func:`evaluate_model` runs the same
pipeline for any ``factory(spec) -> nn.Module`` (tests use a tiny fixed CNN).

CPU threads: an evaluation runs with the protocol's ``cpu_threads``, else
:data:`DEFAULT_CPU_THREADS` (one), and restores the caller's setting afterwards. A search uses the
same default (its ``executor.threads`` becomes the protocol's ``cpu_threads``): these networks
gain little from intra-op threads, and on a loaded machine two threads made an evaluation 2-20x
slower (spinning).

:func:`check_buildable` is the search's fail-fast check of a space: it builds a few sampled terms.

Multi-fidelity: the override :data:`SCHEDULE_EPOCHS` (``{"epochs": 2, "schedule_epochs": 8}``)
trains 2 epochs of an 8-epoch learning-rate schedule, so that a later evaluation can continue
the run (``checkpoint_in``) and end where training straight through 8 epochs would;
``checkpoint_out`` saves the trained state (:mod:`.checkpoint`). A checkpoint that cannot be
continued from (missing, unreadable, of another run) makes the evaluation train from scratch,
with the reason in the record's ``retrain_reason``.
"""

from __future__ import annotations

import copy
import functools
import logging
import time
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Union

import torch
import torch.nn as nn

from algebraic_nas.assembly.shapes import InputSpec
from algebraic_nas.threads import torch_threads

from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .data import canonical_name, get_dataset, get_dataset_spec
from .devices import describe_device, resolve_device
from .objectives import MeasureContext, measure_objectives
from .protocols import Protocol, get_protocol
from .record import FAILED, EvaluationRecord
from .train_state import TrainState
from .trainer import OUT_OF_MEMORY, fits_on_device, is_oom, train

log = logging.getLogger("algebraic_nas.evaluation")


if TYPE_CHECKING:
    from algebraic_nas.grammar import Grammar, Term

# A factory gets the dataset's input spec (channels, resolution, classes) and returns the network.
ModelFactory = Callable[[InputSpec], nn.Module]
StatsFn = Callable[[nn.Module, InputSpec], Mapping[str, Any]]

# torch CPU threads of an evaluation whose protocol leaves cpu_threads unset (also a search's)
DEFAULT_CPU_THREADS = 1
# the override giving the learning-rate schedule's length when ``epochs`` only says where to stop
SCHEDULE_EPOCHS = "schedule_epochs"


def cpu_threads(protocol: Protocol) -> int:
    """The torch CPU threads an evaluation under ``protocol`` runs with: its ``cpu_threads``,
    else :data:`DEFAULT_CPU_THREADS`."""
    return DEFAULT_CPU_THREADS if protocol.cpu_threads is None else int(protocol.cpu_threads)


def evaluate(
    term: str,
    grammar: str,
    dataset: str,
    protocol: Union[str, Mapping[str, Any], Protocol],
    seed: int = 0,
    device: str = "cpu",
    data_root: Optional[str] = None,
    overrides: Optional[Mapping[str, Any]] = None,
    checkpoint_in: Optional[str] = None,
    checkpoint_out: Optional[str] = None,
) -> EvaluationRecord:
    """Train the network of ``term`` (text in ``grammar``) on ``dataset`` under ``protocol``.

    ``protocol`` is a preset name (``"nb201"``, ``"cvprnas"``, ``"quick"``), a mapping with a
    ``"name"`` and overrides, or a :class:`Protocol`; ``overrides`` replaces protocol fields
    (``{"epochs": 3}``). ``device``: ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or ``"auto"``. Runs with
    :func:`cpu_threads` torch threads (one unless the protocol sets ``cpu_threads``).
    The record's ``outcome`` is ``"failed"`` with a ``reason`` for an unparsable term, a network
    that cannot be built, divergence, out-of-memory, or any other exception.
    ``checkpoint_in``: a checkpoint (path) of this term to continue training from;
    ``checkpoint_out``: where to save the trained state (see the module docstring).
    """
    network = functools.partial(build_from_term, term, grammar, seed=seed if isinstance(seed, int) else 0)
    return evaluate_model(
        network, dataset, protocol, seed=seed, device=device,
        data_root=data_root, overrides=overrides, term=term, grammar=grammar, stats=term_network_stats,
        checkpoint_in=checkpoint_in, checkpoint_out=checkpoint_out,
    )


def evaluate_model(
    factory: ModelFactory,
    dataset: str,
    protocol: Union[str, Mapping[str, Any], Protocol],
    seed: int = 0,
    device: str = "cpu",
    data_root: Optional[str] = None,
    overrides: Optional[Mapping[str, Any]] = None,
    term: str = "",
    grammar: str = "",
    stats: Optional[StatsFn] = None,
    checkpoint_in: Optional[str] = None,
    checkpoint_out: Optional[str] = None,
) -> EvaluationRecord:
    """:func:`evaluate` for any model factory; ``stats(net, spec)`` gives params/FLOPs (default: counted here)."""
    start = time.perf_counter()
    rec = EvaluationRecord(term=str(term), grammar=str(grammar), dataset=str(dataset), protocol=_label(protocol),
                           seed=seed if isinstance(seed, int) else -1, device=str(device))
    try:
        if not isinstance(seed, int):
            raise TypeError(f"seed must be an int, not {type(seed).__name__}")
        proto, stop = _protocol_and_stop(protocol, overrides)
        rec.protocol, rec.config = proto.name, proto.to_dict()
        with torch_threads(cpu_threads(proto)):
            resume = _resume_state(rec, checkpoint_in, dataset, seed, proto, stop)
            state = _train_and_measure(rec, factory, dataset, proto, seed, device, data_root, stats, stop, resume,
                                       keep_state=checkpoint_out is not None)
        if state is not None and rec.ok and checkpoint_out is not None:
            rec.checkpoint = save_checkpoint(checkpoint_out, state, term=rec.term, grammar=rec.grammar,
                                             dataset=rec.dataset, seed=seed, protocol=rec.config)
    except Exception as exc:  # never crash the caller: the record says what happened
        rec.outcome, rec.reason = FAILED, (OUT_OF_MEMORY if is_oom(exc) else f"{type(exc).__name__}: {exc}")
        log.info("evaluation failed (%s): %s", term[:60] or "model", rec.reason)
    rec.wall_time_s = time.perf_counter() - start
    return rec


def _protocol_and_stop(protocol: Any, overrides: Optional[Mapping[str, Any]]) -> tuple[Protocol, Optional[int]]:
    """The protocol to train under and the epoch to stop at (``None``: its last): with the
    :data:`SCHEDULE_EPOCHS` override, the protocol's ``epochs`` is that schedule length and the
    stop is the ``epochs`` asked for."""
    ov = dict(overrides or {})
    schedule = ov.pop(SCHEDULE_EPOCHS, None)
    if schedule is None:
        return get_protocol(protocol, **ov), None
    stop = get_protocol(protocol, **ov).epochs
    if isinstance(schedule, bool) or not isinstance(schedule, int) or schedule < stop:
        raise ValueError(f"overrides[{SCHEDULE_EPOCHS!r}]={schedule!r}: must be an integer >= epochs ({stop})")
    return get_protocol(protocol, **{**ov, "epochs": schedule}), stop


def _resume_state(rec: EvaluationRecord, path: Optional[str], dataset: str, seed: int,
                  proto: Protocol, stop: Optional[int]) -> Optional[TrainState]:
    """The state to continue from, or ``None`` (no checkpoint, or one that cannot be continued:
    the reason goes into ``rec.retrain_reason``)."""
    if path is None:
        return None
    try:
        state = load_checkpoint(path, term=rec.term, grammar=rec.grammar, dataset=canonical_name(dataset),
                                seed=seed, protocol=proto.to_dict())
        if stop is not None and state.epochs_done > stop:
            raise CheckpointError(f"checkpoint {path} has {state.epochs_done} epochs, more than {stop}")
    except CheckpointError as exc:
        rec.retrain_reason = str(exc)
        log.info("training %s from scratch: %s", rec.term[:60] or "model", exc)
        return None
    rec.continued_from = str(path)
    return state


def _train_and_measure(rec: EvaluationRecord, factory: ModelFactory, dataset: str, proto: Protocol, seed: int,
                       device: str, data_root: Optional[str], stats: Optional[StatsFn], stop: Optional[int] = None,
                       resume: Optional[TrainState] = None, keep_state: bool = False) -> Optional[TrainState]:
    """The body of :func:`evaluate_model`: fills ``rec`` (raises on failure); returns the
    trained state with ``keep_state``."""
    dev = resolve_device(device)
    rec.device = describe_device(dev)
    rec.dataset = canonical_name(dataset)
    spec = get_dataset_spec(dataset)
    # Build once on the CPU for the counts and the objectives known before training (a
    # separate instance: counting runs a forward pass, latency may move it to the device).
    with torch.random.fork_rng(devices=[]):  # building draws initial weights: keep the caller's RNG
        probe = factory(spec)
        counted = (stats or count_stats)(probe, spec)
        rec.params, rec.flops = int(counted["params"]), int(counted["flops"])
        rec.objectives = measure_objectives(MeasureContext(rec, probe, spec, dev, proto), trained=False)
    del probe
    data = get_dataset(dataset, data_root, device="cpu")
    if dev.type == "cuda" and fits_on_device(data, dev):
        data = get_dataset(dataset, data_root, device=dev)  # a cached device copy, reused by later runs
    result = train(lambda: factory(spec), data, proto, seed=seed, device=dev,
                   label=f"{rec.dataset}/{rec.term[:30] or 'model'}/s{seed}", stop_epoch=stop, resume=resume,
                   keep_state=keep_state)
    rec.outcome, rec.reason = result.outcome, result.reason
    rec.valid_error, rec.test_error = result.valid_error, result.test_error
    rec.train_losses, rec.valid_errors = list(result.train_losses), list(result.valid_errors)
    rec.epoch_times_s = list(result.epoch_times_s)
    rec.epochs, rec.micro_batch, rec.epochs_trained = result.epochs, result.micro_batch, result.epochs_trained
    rec.train_time_s, rec.peak_memory_mb = result.train_time_s, result.peak_memory_mb
    if rec.ok:
        rec.objectives.update(measure_objectives(MeasureContext(rec, None, spec, dev, proto), trained=True))
    return result.state


def _label(protocol: Any) -> str:
    if isinstance(protocol, str):
        return protocol
    if isinstance(protocol, Protocol):
        return protocol.name
    if isinstance(protocol, Mapping):
        return str(protocol.get("name", "custom"))
    return repr(protocol)


def count_stats(net: nn.Module, spec: InputSpec) -> dict[str, int]:
    """Trainable parameters and forward FLOPs of one example (multiply-add = 2 FLOPs)."""
    from torch.utils.flop_counter import FlopCounterMode

    params = sum(p.numel() for p in net.parameters() if p.requires_grad)
    net = copy.deepcopy(net).eval()
    x = torch.zeros(1, spec.channels, spec.resolution, spec.resolution)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        net(x)
    return {"params": params, "flops": int(counter.get_total_flops())}


# --------------------------------------------------------------- the grammar + assembler pipeline


@functools.lru_cache(maxsize=8)
def _grammar(name: str) -> Grammar:
    from algebraic_nas.grammar import load_grammar

    return load_grammar(name)


@functools.lru_cache(maxsize=256)
def _parse(grammar: str, term: str) -> Term:
    return _grammar(grammar).parse(term)


def build_from_term(term: str, grammar: str, spec: InputSpec, seed: int = 0) -> nn.Module:
    """The assembler's network for ``term`` parsed with ``grammar`` (a shipped name or a path);
    ``seed`` (the evaluation seed) draws the graphs of generator topologies."""
    from algebraic_nas.assembly import build_network

    return build_network(_parse(grammar, term), spec, seed=seed, prune=_grammar(grammar).prune)


def term_network_stats(net: nn.Module, spec: InputSpec) -> Mapping[str, Any]:
    """``assembly.network_stats`` (the project's convention for params/FLOPs)."""
    from algebraic_nas.assembly import network_stats

    return network_stats(net, spec)


def check_buildable(grammar: Grammar, dataset: str, seed: int = 0, tries: int = 3) -> Term:
    """Fail fast on a space whose networks cannot be built: build the networks of up to
    ``tries`` terms sampled from ``grammar`` (a random stream from ``seed``) for ``dataset``'s
    input spec, each run in eval mode on one zero image ``(1, C, R, R)`` on the CPU, one thread,
    without touching the caller's RNG; returns the first term that builds.

    Raises :class:`~algebraic_nas.grammar.GrammarError` (file:line:col) for a terminal no registry
    implements, and :class:`~algebraic_nas.assembly.registry.AssemblyError` with the reason of the
    last failure when no sampled term builds.
    """
    import random

    from algebraic_nas.assembly import build_network
    from algebraic_nas.assembly.registry import AssemblyError
    from algebraic_nas.assembly.terminals import check_terminals

    check_terminals(grammar)  # an unknown terminal: its file:line:col, before sampling anything
    spec = get_dataset_spec(dataset)
    rng = random.Random(seed)
    reason = ""
    with torch.random.fork_rng(devices=[]), torch_threads(DEFAULT_CPU_THREADS), torch.no_grad():
        for _ in range(max(1, tries)):
            try:
                term = grammar.sample(rng)
            except Exception as exc:  # noqa: BLE001 - a space that cannot even be sampled
                raise AssemblyError(f"cannot sample a term: {type(exc).__name__}: {exc}") from exc
            try:
                net = build_network(term, spec, seed=seed, prune=grammar.prune).eval()
                net(torch.zeros(1, spec.channels, spec.resolution, spec.resolution))
                return term
            except Exception as exc:  # noqa: BLE001 - any failure means: this term cannot run
                text = str(term)
                reason = f"{type(exc).__name__}: {exc} (term {text[:80]}{'...' if len(text) > 80 else ''})"
    raise AssemblyError(f"none of {max(1, tries)} sampled terms builds for {canonical_name(dataset)} "
                        f"input {spec.channels}x{spec.resolution}x{spec.resolution}: {reason}")
