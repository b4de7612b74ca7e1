"""Export of a found architecture: a standalone PyTorch module file, its weights, a ``torch.export`` program.

    from algebraic_nas.interop.export import export_term
    result = export_term("darts", term, "out/", spec=InputSpec(3, 32, 10))   # out/network.py, out/weights.pt

The command line (``algebraic-nas export RUN_DIR | GRAMMAR TERM``) and the export of a search's
best evaluation are :mod:`algebraic_nas.search.report.export` (it reads the store and the checkpoint).

``network.py`` imports only ``torch`` (:mod:`.export_source`) and defines ``Network``; load it with::

    from network import Network
    net = Network(); net.load_state_dict(torch.load("weights.pt", weights_only=True)); net.eval()
    logits = net(images)   # raw images: uint8 pixels or floats in [0, 1], (N, C, H, W)

Preprocessing (on by default): a network trained by a search saw its images normalised per channel
with the training split's mean and std (protocols with ``normalize``); the exported ``Network``
starts with that normalisation (a ``Preprocess`` module, constants in the file), so it takes raw
images. ``Network(preprocess=False)`` takes images normalised by the caller; the statistics are in
the file's docstring. ``network.pt2`` holds the same preprocessing.

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

from .export_source import PREPROCESS_SOURCE, ExportError, export_state_dict, network_source

#: Per-channel ``(mean, std)`` the exported network normalises raw images with.
Normalisation = tuple[tuple[float, ...], tuple[float, ...]]

__all__ = ["ExportResult", "ExportError", "Normalisation", "dataset_normalisation", "export_network", "export_term",
           "preprocess_module", "MODULE_FILE", "WEIGHTS_FILE", "PROGRAM_FILE"]

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
                   program: bool = False, weights_from: str = "initialisation",
                   preprocess: Optional[Normalisation] = None) -> ExportResult:
    """Write ``net`` (built by ``build_network``) to ``out_dir``: :data:`MODULE_FILE`,
    :data:`WEIGHTS_FILE` and, with ``program``, :data:`PROGRAM_FILE`; with ``preprocess``
    (per-channel mean and std) the module file's and the program's networks take raw images."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    net = copy.deepcopy(net).cpu().eval()  # the caller's network stays where and as it is
    source = network_source(net, header=header, preprocess=preprocess)
    module_file, weights_file = out / MODULE_FILE, out / WEIGHTS_FILE
    module_file.write_text(source, encoding="utf-8")
    torch.save(export_state_dict(net), weights_file)
    result = ExportResult(str(module_file), str(weights_file), weights_from=weights_from, term=getattr(net, "term", ""))
    if program:
        spec = net.spec
        example = torch.zeros(2, spec.channels, spec.resolution, spec.resolution)
        batch = torch.export.Dim("batch")  # any batch size
        whole = net if preprocess is None else torch.nn.Sequential(preprocess_module(preprocess), net).eval()
        with torch.no_grad():
            exported = torch.export.export(whole, (example,), dynamic_shapes=({0: batch},))
        torch.export.save(exported, out / PROGRAM_FILE)
        result.program_file = str(out / PROGRAM_FILE)
    return result


def preprocess_module(normalisation: Normalisation) -> torch.nn.Module:
    """The exported file's ``Preprocess`` module (the same source) for ``(mean, std)``."""
    namespace: dict[str, Any] = {"torch": torch, "nn": torch.nn}
    exec(PREPROCESS_SOURCE, namespace)  # noqa: S102 - our own constant source, so the program and the file agree
    return namespace["Preprocess"](*normalisation)


def dataset_normalisation(dataset: str, protocol: Any = "quick", data_root: Optional[Union[str, os.PathLike]] = None
                          ) -> Normalisation:
    """What ``protocol`` (a name, settings mapping or ``Protocol``) fed networks trained on
    ``dataset``: its training split's per-channel mean and std when the protocol normalises, else
    mean 0 and std 1 (uint8 pixels are still scaled to [0, 1]). Loads the dataset (cached)."""
    from algebraic_nas.evaluation.data import get_dataset, get_dataset_spec
    from algebraic_nas.evaluation.protocols import get_protocol

    if not get_protocol(protocol).normalize:
        channels = get_dataset_spec(dataset).channels
        return (0.0,) * channels, (1.0,) * channels
    data = get_dataset(dataset, data_root)
    return tuple(map(float, data.mean)), tuple(map(float, data.std))


def _preprocess_lines(preprocess: Optional[Normalisation]) -> list[str]:
    if preprocess is None:
        return ["input     images as the framework's network takes them (no preprocessing in this file)"]
    mean, std = (", ".join(f"{v:.6g}" for v in part) for part in preprocess)
    return ["input     raw images: uint8 pixels or floats in [0, 1]; Network() normalises them first",
            f"          per channel with mean ({mean}) and std ({std}), as the search did;",
            "          Network(preprocess=False) takes images already normalised that way"]


def _header(term: str, grammar: str, dataset: str, spec: InputSpec, seed: int, weights_from: str, params: int,
            preprocess: Optional[Normalisation] = None) -> str:
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
        *_preprocess_lines(preprocess),
        "",
        "    net = Network()",
        f'    net.load_state_dict(torch.load("{WEIGHTS_FILE}", weights_only=True))',
        "    net.eval()",
    ])


def export_term(grammar: str, term: str, out_dir: Union[str, os.PathLike], *, spec: InputSpec, dataset: str = "",
                seed: int = 0, state_dict: Optional[Mapping[str, Any]] = None, program: bool = False,
                weights_from: Optional[str] = None, preprocess: Optional[Normalisation] = None) -> ExportResult:
    """Export the network of ``term`` (text) of ``grammar`` for input ``spec`` (``dataset``: its
    name, for the file's docstring); ``seed`` is the network seed (generator topologies);
    ``preprocess``: per-channel ``(mean, std)`` the network normalises raw images with
    (:func:`dataset_normalisation`), ``None``: none (the file takes normalised images).

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
    header = _header(str(t), grammar, dataset or "-", spec, seed, source, params, preprocess)
    result = export_network(net, out_dir, header=header, program=program, weights_from=source, preprocess=preprocess)
    if state_dict is None:
        result.notes.append("no trained weights: weights.pt holds the network's initial weights")
    return result
