"""``algebraic-nas export``: a search's best evaluation, or any term, as a standalone PyTorch module file.

    algebraic-nas export RUN_DIR [-o OUT] [--program] [--no-preprocess]
    algebraic-nas export GRAMMAR TERM [--dataset cifar10] [--protocol quick] [--seed 0] [--weights FILE] [-o OUT]

RUN_DIR: the best evaluation at the highest fidelity (the report's), with its trained weights
when its checkpoint was kept (config key ``checkpoints``; ``RUN_DIR/checkpoints/<eval_id>.pt``);
otherwise the architecture with initial weights, and a note saying so. GRAMMAR TERM: ``--weights``
is a state dict of the framework's network (``torch.save(build_network(...).state_dict())``)
or a checkpoint file. Output (default ``RUN_DIR/export`` or ``./export``): ``network.py``,
``weights.pt`` and, with ``--program``, ``network.pt2`` (:mod:`algebraic_nas.interop.export`).

Preprocessing (on by default): the exported network takes raw images (uint8 pixels or floats in
[0, 1]) and normalises them as the run's protocol did, with the training split's per-channel mean
and std (the dataset is loaded to read them; a run directory whose dataset cannot be loaded here is
an error naming ``--no-preprocess``, which leaves the normalisation to the caller).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Optional, Union

import torch

from algebraic_nas.errors import ConfigError
from algebraic_nas.evaluation.checkpoint import CheckpointError, load_checkpoint
from algebraic_nas.evaluation.data import get_dataset_spec
from algebraic_nas.interop.export import ExportResult, Normalisation, dataset_normalisation, export_term

from algebraic_nas.search.store import STORE_FILENAME, Store

__all__ = ["export_run", "add_arguments", "run_from_args"]


def export_run(run_dir: Union[str, os.PathLike], out_dir: Optional[Union[str, os.PathLike]] = None, *,
               program: bool = False, preprocess: bool = True) -> ExportResult:
    """Export the best evaluation of the search in ``run_dir`` (into ``run_dir/export`` unless
    ``out_dir``), with its trained weights when its checkpoint was kept; ``preprocess``: the
    network normalises raw images as the run's protocol did (see the module docstring)."""
    run = Path(run_dir)
    if not (run / STORE_FILENAME).is_file():
        if not run.exists() and _is_grammar(str(run_dir)):
            raise ConfigError(f"{run_dir} is a grammar: give the term to export after it (GRAMMAR TERM)")
        raise ConfigError(f"{run} is no run directory (no {STORE_FILENAME}); give a run directory or GRAMMAR TERM")
    with Store(run, readonly=True) as store:
        best = store.summary().best
        evaluation = store.get_meta("evaluation", {}) or {}
        config = store.get_meta("config", {}) or {}
    if best is None:
        raise ConfigError(f"{run} has no successful evaluation to export")
    grammar, dataset, seed = evaluation.get("grammar"), evaluation.get("dataset"), int(evaluation.get("seed") or 0)
    if not grammar or not dataset:
        raise ConfigError(f"{run}: the store does not say the grammar and dataset of its evaluations")
    state_dict, weights_from, notes = None, None, []
    path = best.saved_checkpoint
    if path and not os.path.isabs(path) and not os.path.exists(path):
        path = str(run / path)
    if path and os.path.exists(path):
        try:
            state = load_checkpoint(path, term=best.term, grammar=grammar, dataset=dataset, seed=seed)
        except CheckpointError as e:
            raise ConfigError(f"the checkpoint of the best evaluation {best.id} cannot be exported: {e}") from e
        state_dict = state.model
        weights_from = f"checkpoint {path} (evaluation {best.id}, valid_error {best.valid_error})"
    else:
        notes.append(f"evaluation {best.id} kept no checkpoint (config key checkpoints): "
                     "weights.pt holds the network's initial weights")
    normalisation = None
    if preprocess:
        data_root = (config.get("dataset") or {}).get("data_root")
        normalisation = _normalisation(dataset, evaluation.get("protocol") or "quick", data_root, required=True)
    result = export_term(grammar, best.term, out_dir if out_dir is not None else run / "export",
                         spec=get_dataset_spec(dataset), dataset=dataset, seed=seed, state_dict=state_dict,
                         program=program, weights_from=weights_from, preprocess=normalisation)
    result.notes = notes or result.notes
    return result


def _normalisation(dataset: str, protocol: Any, data_root: Optional[str], required: bool) -> Optional[Normalisation]:
    """:func:`dataset_normalisation`, or (dataset not loadable) a :class:`ConfigError` naming
    ``--no-preprocess`` when ``required``, else ``None``."""
    try:
        return dataset_normalisation(dataset, protocol, data_root)
    except (OSError, ValueError) as e:  # DatasetFileNotFoundError, DatasetError, an unknown protocol
        if required:
            raise ConfigError(f"the exported network normalises its input with dataset {dataset!r}'s statistics, "
                              f"which cannot be read here ({e}); give its data_root or --no-preprocess") from e
        return None


def _is_grammar(name: str) -> bool:
    from algebraic_nas.grammar.loading import shipped_grammars

    return name.endswith(".ebnf") or name in shipped_grammars()


def _weights(path: str) -> Any:
    if not os.path.isfile(path):
        raise ConfigError(f"--weights {path}: no such file")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises several types for a file it cannot read
        raise ConfigError(f"--weights {path}: not a state dict or checkpoint that torch.load reads with "
                          f"weights_only=True ({type(e).__name__})") from e
    if isinstance(data, dict) and "format_version" in data and "model" in data:  # a training checkpoint
        return data["model"]
    return data


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", metavar="RUN_DIR|GRAMMAR", help="a search run directory, or a grammar followed by TERM")
    p.add_argument("term", metavar="TERM", nargs="?", default=None,
                   help="the term to export (with GRAMMAR; @FILE reads a file, - standard input)")
    p.add_argument("-o", "--out", default=None, help="output directory (default RUN_DIR/export or ./export)")
    p.add_argument("--dataset", default="digits", help="with GRAMMAR TERM: the dataset whose input shape and "
                   "classes the network is built for (default digits, as in build and a search)")
    p.add_argument("--seed", type=int, default=0, help="with GRAMMAR TERM: the network seed (default 0)")
    p.add_argument("--weights", default=None, help="with GRAMMAR TERM: a state dict or checkpoint file of the network")
    p.add_argument("--program", action="store_true", help="also write network.pt2, a torch.export program")
    p.add_argument("--protocol", default="quick", help="with GRAMMAR TERM: the training protocol whose normalisation "
                   "the network starts with (default quick: the dataset's per-channel mean and std)")
    p.add_argument("--no-preprocess", dest="preprocess", action="store_false",
                   help="no normalisation in the exported network: it takes images normalised as in training")


def run_from_args(args: argparse.Namespace, term: Optional[str] = None) -> int:
    """The ``export`` subcommand; ``term`` is ``args.term`` as read by the console script."""
    if args.term is None:
        if args.weights is not None:
            raise ConfigError("--weights goes with GRAMMAR TERM; a run directory's weights come from its checkpoint")
        result = export_run(args.target, args.out, program=args.program, preprocess=args.preprocess)
    else:
        state = _weights(args.weights) if args.weights else None
        norm = _normalisation(args.dataset, args.protocol, None, required=False) if args.preprocess else None
        result = export_term(args.target, term if term is not None else args.term, args.out or "export",
                             spec=get_dataset_spec(args.dataset), dataset=args.dataset, seed=args.seed,
                             state_dict=state, program=args.program, preprocess=norm,
                             weights_from=f"file {args.weights}" if args.weights else None)
        if args.preprocess and norm is None:
            result.notes.append(f"dataset {args.dataset} cannot be loaded here: network.py takes normalised images "
                                "(no preprocessing)")
    for line in (result.module_file, result.weights_file, result.program_file):
        if line:
            print(line)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    return 0
