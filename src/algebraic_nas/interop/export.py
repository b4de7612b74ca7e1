"""Export of a found architecture: a standalone PyTorch module file, its weights, a ``torch.export`` program.

    from algebraic_nas.interop.export import export_term
    result = export_term("darts", term, "out/", spec=InputSpec(3, 32, 10))   # out/network.py, out/weights.pt

The command line (``algebraic-nas export RUN_DIR | GRAMMAR TERM``) and the export of a search's
best evaluation are :mod:`algebraic_nas.search.report.export` (it reads the store and the checkpoint).

``network.py`` imports only ``torch`` (:mod:`.export_source`) and defines ``Network``; load it with::

    from network import Network
    net = Network(); net.load_state_dict(torch.load("weights.pt", weights_only=True)); net.eval()

Weights: the given ``state_dict`` (a trained network's, e.g. a checkpoint's ``model``), else the
freshly initialised network's (said in the result and in the file's docstring). ``--program`` also writes
``network.pt2`` (``torch.export.save`` of the network in eval mode, any batch size).
"""

from __future__ import annotations

import copy
import os
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Union

import torch

from algebraic_nas.assembly import InputSpec, build_network
from algebraic_nas.assembly.stats import count_params
from algebraic_nas.errors import AlgebraicNASError
from algebraic_nas.grammar import load_grammar

from .export_source import ExportError, export_state_dict, network_source

__all__ = ["ExportResult", "ExportError", "export_network", "export_term", "MODULE_FILE", "WEIGHTS_FILE", "PROGRAM_FILE"]

MODULE_FILE, WEIGHTS_FILE, PROGRAM_FILE = "network.py", "weights.pt", "network.pt2"


@dataclass
class ExportResult:
    """What an export wrote (paths as strings) and where the weights came from."""

    module_file: str
    weights_file: str
    program_file: Optional[str] = None
    weights_from: str = "initialisation"  # "checkpoint PATH", "state_dict" or "initialisation"
    term: str = ""
    notes: list[str] = field(default_factory=list)


def export_network(net: torch.nn.Module, out_dir: Union[str, os.PathLike], *, header: str = "",
                   program: bool = False, weights_from: str = "initialisation") -> ExportResult:
    """Write ``net`` (built by ``build_network``) to ``out_dir``: :data:`MODULE_FILE`,
    :data:`WEIGHTS_FILE` and, with ``program``, :data:`PROGRAM_FILE`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    net = copy.deepcopy(net).cpu().eval()  # the caller's network stays where and as it is
    source = network_source(net, header=header)
    module_file, weights_file = out / MODULE_FILE, out / WEIGHTS_FILE
    module_file.write_text(source, encoding="utf-8")
    torch.save(export_state_dict(net), weights_file)
    result = ExportResult(str(module_file), str(weights_file), weights_from=weights_from, term=getattr(net, "term", ""))
    if program:
        spec = net.spec
        example = torch.zeros(2, spec.channels, spec.resolution, spec.resolution)
        batch = torch.export.Dim("batch")  # any batch size
        with torch.no_grad():
            exported = torch.export.export(net, (example,), dynamic_shapes=({0: batch},))
        torch.export.save(exported, out / PROGRAM_FILE)
        result.program_file = str(out / PROGRAM_FILE)
    return result


def _header(term: str, grammar: str, dataset: str, spec: InputSpec, seed: int, weights_from: str, params: int) -> str:
    return "\n".join([
        "A network exported by algebraic-nas (standalone: it imports only torch).",
        "",
        f"grammar   {grammar}",
        textwrap.fill(term, 100, initial_indent="term      ", subsequent_indent=" " * 10, break_long_words=True,
                      break_on_hyphens=False),
        f"dataset   {dataset}: inputs (N, {spec.channels}, {spec.resolution}, {spec.resolution}), {spec.classes} classes",
        f"seed      {seed} (network seed)",
        f"params    {params:,}",
        f"weights   {WEIGHTS_FILE}: {weights_from}",
        "",
        "    net = Network()",
        f'    net.load_state_dict(torch.load("{WEIGHTS_FILE}", weights_only=True))',
        "    net.eval()",
    ])


def export_term(grammar: str, term: str, out_dir: Union[str, os.PathLike], *, spec: InputSpec, dataset: str = "",
                seed: int = 0, state_dict: Optional[Mapping[str, Any]] = None, program: bool = False,
                weights_from: Optional[str] = None) -> ExportResult:
    """Export the network of ``term`` (text) of ``grammar`` for input ``spec`` (``dataset``: its
    name, for the file's docstring); ``seed`` is the network seed (generator topologies).

    ``state_dict``: the framework network's weights (e.g. ``build_network(...).state_dict()`` or
    a checkpoint's ``model``), loaded strictly; without it the network keeps its initial weights.
    """
    g = load_grammar(grammar)
    t = g.parse(term)
    spec = InputSpec(*spec)
    net = build_network(t, spec, seed=seed, prune=g.prune)
    params = count_params(net)  # the exported (inference) network's
    source = "initialisation"
    if state_dict is not None:
        if hasattr(net, "enable_auxiliary") and set(state_dict) - set(net.state_dict()):
            # trained with DARTS's auxiliary head (protocol.auxiliary_weight): its weights are in the
            # state dict; the network takes them, and the export leaves the head out
            try:
                net.enable_auxiliary()
            except AlgebraicNASError:
                pass  # no head fits this input: the strict load below names the keys
        try:
            net.load_state_dict(state_dict, strict=True)
        except RuntimeError as e:
            # torch's first line only names the class; the next ones name the keys and shapes
            details = [line.strip() for line in str(e).splitlines()[1:] if line.strip()]
            shown = "; ".join(d[:200] for d in details[:3]) + ("; ..." if len(details) > 3 else "")
            hint = (f" built for input {tuple(spec)} (channels, resolution, classes; is it the dataset they were "
                    f"trained on?)") if "size mismatch" in str(e) else ""
            raise ExportError(f"the weights do not fit the network of the term{hint}: {shown or str(e)}") from e
        source = weights_from or "state_dict"
    header = _header(str(t), grammar, dataset or "-", spec, seed, source, params)
    result = export_network(net, out_dir, header=header, program=program, weights_from=source)
    if state_dict is None:
        result.notes.append("no trained weights: weights.pt holds the network's initial weights")
    return result
