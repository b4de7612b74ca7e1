"""Published architectures of the shipped spaces, as terms (issue 14): what each paper reports,
written in the framework's grammar, with the parameter count the paper prints where it prints one.

    from algebraic_nas.grammars.published import published, published_names
    p = published("mnasnet_a1_stages_2_4")
    p.grammar, p.term, p.spec, p.published_params

``spec`` is the input the paper's count refers to, ``(channels, resolution, classes)``;
``published_params`` the paper's figure (``None`` where it gives none for this part of the
network), and ``note`` says how the term relates to the paper's network. The README lists them
with the framework's counts; ``tests/assembly/test_published.py`` builds every one and checks the counts.
Plain data: no torch, no grammar loading here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

__all__ = ["Published", "published", "published_names"]


@dataclass(frozen=True)
class Published:
    """One published architecture (see the module docstring)."""

    name: str
    grammar: str
    term: str
    spec: tuple[int, int, int]
    published_params: Optional[int]
    source: str
    note: str = ""


# Schrodi et al., App. "Best architectures" (hnb201), converted with `algebraic-nas convert reference`.
_HNB201_CIFAR10 = (
    "Linear4(Residual3(Residual2(Cell(id, zero, Linear3(hardswish, conv1x1, layer), Linear3(hardswish, "
    "conv3x3, layer), zero, Linear3(mish, conv3x3, instance)), Cell(Linear3(relu, dconv3x3, layer), "
    "id, avg_pool, Linear3(relu, dconv3x3, layer), id, zero), Cell(zero, Linear3(relu, conv1x1, "
    "layer), id, Linear3(hardswish, conv1x1, instance), Linear3(hardswish, conv3x3, layer), "
    "Linear3(hardswish, dconv3x3, layer))), Residual2(Cell(id, zero, Linear3(relu, conv1x1, layer), "
    "Linear3(mish, conv1x1, layer), Linear3(hardswish, conv3x3, layer), zero), Cell(id, zero, id, "
    "Linear3(relu, conv3x3, batch), id, id), Cell(Linear3(hardswish, conv3x3, layer), "
    "Linear3(hardswish, conv1x1, layer), Linear3(relu, conv1x1, layer), Linear3(relu, conv3x3, layer), "
    "zero, id)), Residual2(Cell(Linear3(hardswish, conv1x1, instance), Linear3(hardswish, dconv3x3, "
    "batch), Linear3(mish, dconv3x3, instance), Linear3(relu, conv1x1, batch), id, id), down, down), "
    "Residual2(Cell(Linear3(hardswish, conv1x1, layer), Linear3(hardswish, dconv3x3, batch), "
    "Linear3(relu, conv1x1, batch), Linear3(hardswish, conv3x3, layer), id, avg_pool), down, down)), "
    "Residual3(Residual2(Cell(id, zero, Linear3(hardswish, conv1x1, layer), Linear3(hardswish, "
    "conv3x3, layer), id, Linear3(mish, conv3x3, instance)), Cell(Linear3(relu, dconv3x3, layer), id, "
    "avg_pool, Linear3(relu, dconv3x3, layer), id, zero), Cell(zero, Linear3(relu, conv1x1, layer), "
    "id, Linear3(hardswish, conv1x1, instance), Linear3(hardswish, conv1x1, layer), Linear3(hardswish, "
    "dconv3x3, layer))), Residual2(Cell(id, zero, Linear3(mish, conv1x1, layer), Linear3(mish, "
    "conv3x3, layer), Linear3(hardswish, dconv3x3, batch), zero), Cell(id, zero, id, Linear3(relu, "
    "conv3x3, batch), id, id), Cell(Linear3(hardswish, conv3x3, layer), Linear3(hardswish, conv1x1, "
    "layer), Linear3(mish, conv1x1, batch), Linear3(relu, conv3x3, instance), zero, id)), "
    "Residual2(Cell(Linear3(relu, conv1x1, batch), Linear3(hardswish, dconv3x3, batch), id, "
    "Linear3(relu, conv1x1, batch), id, id), down, down), Residual2(Cell(Linear3(hardswish, conv1x1, "
    "layer), Linear3(hardswish, dconv3x3, batch), Linear3(relu, conv1x1, batch), Linear3(hardswish, "
    "conv3x3, layer), id, avg_pool), down, down)), Linear3(Residual2(Cell(Linear3(hardswish, conv3x3, "
    "batch), Linear3(relu, conv1x1, instance), Linear3(relu, conv1x1, layer), Linear3(relu, conv1x1, "
    "layer), Linear3(relu, conv1x1, layer), id), Cell(Linear3(relu, conv1x1, batch), id, id, "
    "Linear3(relu, conv1x1, layer), id, id), Cell(id, Linear3(relu, conv1x1, instance), Linear3(relu, "
    "conv1x1, instance), Linear3(relu, conv1x1, layer), zero, Linear3(hardswish, conv3x3, batch))), "
    "Residual2(Cell(Linear3(hardswish, conv3x3, layer), Linear3(relu, conv3x3, instance), "
    "Linear3(mish, conv1x1, layer), Linear3(relu, conv1x1, layer), Linear3(relu, conv3x3, layer), id), "
    "Cell(Linear3(relu, conv1x1, batch), id, id, Linear3(relu, conv3x3, batch), id, id), Cell(id, "
    "Linear3(relu, conv1x1, instance), Linear3(relu, conv1x1, instance), Linear3(relu, dconv3x3, "
    "layer), zero, Linear3(hardswish, dconv3x3, layer))), Cell(Linear3(relu, dconv3x3, instance), "
    "zero, zero, id, zero, id)), Linear4(Residual2(Cell(Linear3(hardswish, conv3x3, layer), "
    "Linear3(relu, conv3x3, layer), Linear3(relu, conv1x1, layer), Linear3(relu, conv1x1, layer), "
    "Linear3(relu, conv3x3, layer), id), Cell(Linear3(relu, conv1x1, batch), id, id, Linear3(relu, "
    "conv3x3, batch), id, id), Cell(id, Linear3(relu, conv1x1, instance), Linear3(relu, conv1x1, "
    "instance), Linear3(relu, conv1x1, layer), zero, Linear3(hardswish, conv3x3, batch))), "
    "Residual2(Cell(Linear3(hardswish, conv3x3, layer), Linear3(relu, conv3x3, layer), Linear3(relu, "
    "conv1x1, layer), Linear3(relu, conv1x1, layer), Linear3(relu, conv3x3, layer), id), "
    "Cell(Linear3(relu, conv1x1, batch), id, id, Linear3(relu, conv3x3, batch), id, id), Cell(id, "
    "Linear3(relu, conv1x1, instance), Linear3(relu, conv1x1, instance), Linear3(relu, conv1x1, "
    "layer), zero, Linear3(hardswish, conv3x3, layer))), Residual2(Cell(Linear3(hardswish, conv3x3, "
    "layer), Linear3(relu, conv3x3, layer), Linear3(relu, conv1x1, layer), Linear3(relu, conv1x1, "
    "layer), Linear3(relu, conv3x3, layer), id), Cell(Linear3(relu, conv1x1, batch), id, id, "
    "Linear3(relu, conv3x3, batch), id, id), Cell(id, Linear3(relu, conv1x1, instance), Linear3(relu, "
    "conv1x1, instance), Linear3(relu, conv1x1, layer), zero, Linear3(hardswish, conv3x3, layer))), "
    "Cell(id, Linear3(hardswish, conv1x1, layer), Linear3(mish, conv1x1, batch), id, zero, id)))"
)

_HNB201_CIFAR100 = (
    "Linear3(Residual3(Linear3(Cell(Linear3(mish, conv3x3, layer), avg_pool, Linear3(hardswish, "
    "conv1x1, instance), zero, Linear3(mish, conv3x3, batch), zero), Cell(Linear3(hardswish, dconv3x3, "
    "batch), zero, Linear3(hardswish, dconv3x3, batch), Linear3(relu, dconv3x3, batch), id, id), "
    "Cell(Linear3(mish, conv3x3, batch), zero, id, zero, Linear3(hardswish, dconv3x3, batch), id)), "
    "Linear2(Cell(id, zero, Linear3(mish, conv3x3, batch), zero, zero, Linear3(mish, conv1x1, batch)), "
    "Cell(zero, zero, zero, id, zero, avg_pool)), Cell(Linear3(relu, conv3x3, batch), zero, "
    "Linear3(hardswish, conv3x3, instance), id, id, avg_pool), Cell(id, id, zero, zero, id, id)), "
    "Residual3(Linear3(Cell(Linear3(mish, conv3x3, layer), id, Linear3(hardswish, dconv3x3, layer), "
    "Linear3(hardswish, dconv3x3, batch), Linear3(mish, conv3x3, instance), Linear3(mish, conv3x3, "
    "batch)), Cell(Linear3(hardswish, conv1x1, layer), id, Linear3(hardswish, dconv3x3, batch), "
    "Linear3(relu, conv3x3, layer), id, id), Cell(Linear3(relu, conv3x3, instance), zero, id, zero, "
    "Linear3(mish, conv3x3, batch), avg_pool)), Linear3(Cell(zero, id, Linear3(hardswish, conv1x1, "
    "layer), Linear3(mish, conv3x3, instance), Linear3(mish, conv3x3, instance), zero), "
    "Cell(Linear3(hardswish, conv1x1, layer), id, Linear3(hardswish, dconv3x3, batch), Linear3(relu, "
    "conv3x3, batch), id, id), Cell(Linear3(relu, conv3x3, instance), zero, id, zero, Linear3(mish, "
    "conv3x3, layer), avg_pool)), Residual2(Cell(zero, id, zero, Linear3(mish, conv3x3, layer), "
    "avg_pool, Linear3(mish, conv3x3, layer)), down, down), Residual2(Cell(zero, id, zero, "
    "Linear3(mish, conv3x3, batch), avg_pool, Linear3(mish, conv3x3, layer)), down, down)), "
    "Residual3(Linear3(Cell(Linear3(mish, conv3x3, layer), id, Linear3(hardswish, dconv3x3, layer), "
    "Linear3(hardswish, dconv3x3, batch), Linear3(mish, conv3x3, instance), Linear3(mish, conv3x3, "
    "batch)), Cell(Linear3(hardswish, conv1x1, layer), id, Linear3(hardswish, dconv3x3, batch), "
    "Linear3(relu, conv3x3, layer), id, id), Cell(Linear3(relu, conv3x3, instance), zero, id, zero, "
    "Linear3(mish, conv3x3, batch), avg_pool)), Linear3(Cell(Linear3(mish, conv3x3, batch), id, "
    "Linear3(hardswish, conv1x1, batch), Linear3(mish, conv3x3, instance), Linear3(mish, conv3x3, "
    "instance), zero), Cell(Linear3(hardswish, conv1x1, layer), id, Linear3(hardswish, dconv3x3, "
    "batch), Linear3(hardswish, dconv3x3, batch), id, id), Cell(Linear3(relu, conv3x3, instance), "
    "zero, id, zero, Linear3(mish, conv3x3, layer), avg_pool)), Residual2(Cell(zero, id, zero, "
    "Linear3(mish, conv3x3, layer), avg_pool, Linear3(mish, conv3x3, layer)), down, down), "
    "Residual2(Cell(zero, id, zero, Linear3(mish, conv3x3, batch), avg_pool, Linear3(mish, conv3x3, "
    "layer)), down, down)))"
)

_HNB201_CIFARTILE = (
    "Linear4(Residual3(Residual2(Cell(Linear3(hardswish, conv3x3, instance), id, zero, Linear3(relu, "
    "dconv3x3, instance), Linear3(mish, conv1x1, instance), avg_pool), Cell(avg_pool, avg_pool, id, "
    "zero, Linear3(hardswish, conv3x3, batch), avg_pool), Cell(Linear3(relu, dconv3x3, instance), "
    "zero, id, Linear3(relu, dconv3x3, layer), id, id)), Residual2(Cell(zero, zero, Linear3(mish, "
    "conv1x1, instance), Linear3(mish, conv3x3, batch), zero, id), Cell(Linear3(mish, conv3x3, "
    "instance), zero, Linear3(relu, dconv3x3, batch), id, Linear3(mish, conv3x3, batch), id), "
    "Cell(Linear3(hardswish, dconv3x3, batch), Linear3(relu, conv3x3, batch), Linear3(relu, conv1x1, "
    "batch), zero, Linear3(relu, conv3x3, batch), id)), Linear2(Cell(Linear3(relu, dconv3x3, layer), "
    "Linear3(mish, conv1x1, layer), id, zero, Linear3(mish, conv3x3, batch), Linear3(relu, dconv3x3, "
    "layer)), down), Linear2(Cell(id, Linear3(hardswish, conv1x1, layer), id, Linear3(relu, conv1x1, "
    "instance), avg_pool, Linear3(relu, conv1x1, layer)), down)), Residual3(Residual2(Cell(id, "
    "avg_pool, avg_pool, Linear3(hardswish, dconv3x3, instance), Linear3(mish, conv1x1, layer), "
    "Linear3(hardswish, dconv3x3, instance)), Cell(id, id, Linear3(relu, dconv3x3, layer), id, id, "
    "zero), Cell(Linear3(relu, conv3x3, layer), id, avg_pool, Linear3(mish, dconv3x3, instance), "
    "Linear3(relu, conv1x1, layer), zero)), Residual2(Cell(Linear3(mish, conv3x3, batch), "
    "Linear3(mish, conv3x3, instance), zero, avg_pool, avg_pool, Linear3(mish, conv1x1, batch)), "
    "Cell(Linear3(mish, conv1x1, batch), Linear3(relu, dconv3x3, layer), zero, id, avg_pool, "
    "avg_pool), Cell(avg_pool, Linear3(hardswish, conv1x1, instance), id, avg_pool, avg_pool, "
    "Linear3(hardswish, conv1x1, instance))), Residual2(Cell(Linear3(relu, dconv3x3, batch), avg_pool, "
    "id, avg_pool, id, zero), down, down), Residual2(Cell(zero, zero, Linear3(relu, dconv3x3, batch), "
    "avg_pool, Linear3(hardswish, conv1x1, instance), avg_pool), down, down)), "
    "Linear4(Linear3(Cell(Linear3(hardswish, conv3x3, batch), Linear3(hardswish, conv3x3, batch), "
    "Linear3(relu, conv1x1, instance), id, Linear3(relu, conv1x1, layer), Linear3(relu, conv3x3, "
    "layer)), Cell(id, Linear3(relu, conv3x3, instance), Linear3(hardswish, conv1x1, instance), "
    "Linear3(relu, conv3x3, layer), avg_pool, Linear3(mish, conv1x1, layer)), Cell(zero, zero, id, "
    "Linear3(relu, conv3x3, batch), id, Linear3(relu, conv1x1, layer))), "
    "Linear3(Cell(Linear3(hardswish, conv3x3, batch), Linear3(hardswish, conv3x3, batch), "
    "Linear3(relu, conv1x1, instance), Linear3(relu, dconv3x3, layer), Linear3(mish, conv1x1, layer), "
    "Linear3(relu, conv3x3, batch)), Cell(id, Linear3(relu, conv3x3, instance), Linear3(hardswish, "
    "conv1x1, instance), Linear3(relu, dconv3x3, instance), avg_pool, Linear3(mish, conv1x1, layer)), "
    "Cell(zero, zero, id, Linear3(relu, conv3x3, batch), id, avg_pool)), Linear3(Cell(id, id, "
    "avg_pool, Linear3(mish, conv1x1, layer), Linear3(mish, conv3x3, batch), zero), Cell(id, "
    "Linear3(relu, conv1x1, batch), avg_pool, Linear3(relu, conv1x1, layer), avg_pool, zero), "
    "Cell(zero, Linear3(relu, conv1x1, batch), Linear3(mish, dconv3x3, batch), Linear3(mish, conv1x1, "
    "batch), id, id)), Cell(id, Linear3(hardswish, conv1x1, layer), zero, id, zero, id)), "
    "Linear3(Linear2(Cell(id, zero, Linear3(mish, dconv3x3, instance), Linear3(mish, conv3x3, batch), "
    "Linear3(mish, dconv3x3, instance), Linear3(relu, conv1x1, instance)), Cell(Linear3(relu, "
    "dconv3x3, instance), avg_pool, Linear3(mish, conv1x1, instance), Linear3(hardswish, dconv3x3, "
    "instance), id, Linear3(hardswish, conv1x1, layer))), Linear2(Cell(zero, zero, Linear3(mish, "
    "dconv3x3, instance), Linear3(relu, conv3x3, instance), Linear3(hardswish, conv3x3, batch), "
    "avg_pool), Cell(id, id, Linear3(hardswish, conv1x1, instance), avg_pool, zero, Linear3(hardswish, "
    "conv3x3, batch))), Cell(avg_pool, Linear3(mish, dconv3x3, layer), zero, avg_pool, avg_pool, "
    "zero)))"
)

_MNASNET_A1_STAGES = ("Linear3(Block(MBConv(3, 6, 0.0), skip, 1.0, 0), Block(MBConv(5, 3, 0.25), skip, 1.0, 0), "
                      "Block(MBConv(3, 6, 0.0), skip, 1.0, 0))")

# Auto-DeepLab's cell (DeepLab's nas_network: operations and hidden-state indices), blocks 1-4 of 5
# as the space's four DARTS nodes; inputs in the order s0 (cell k-2), s1 (cell k-1), node 3, node 4, ...
_ADL_CELL = ("Darts(Node3(sep_conv_3x3, dil_conv_5x5), Node4(dil_conv_3x3, sep_conv_3x3, none), "
             "Node5(none, sep_conv_3x3, none, sep_conv_3x3), Node6(none, none, sep_conv_5x5, none, sep_conv_5x5))")
# Auto-DeepLab's network path (resolution level of cells 1..12: 0 = 1/4 ... 3 = 1/32):
# 0 0 0 1 2 1 2 2 3 3 2 1, i.e. Same Same Same Down Down Up Down Same Down Same Up Up.
_ADL_STEPS = ("Same", "Same", "Same", "Down", "Down", "Up", "Down", "Same", "Down", "Same", "Up", "Up")


def _adl_path() -> str:
    term = f"{_ADL_STEPS[-1]}({_ADL_CELL})"
    for step in reversed(_ADL_STEPS[:-1]):
        term = f"Linear2({step}({_ADL_CELL}), {term})"
    return term


# DARTS's genotypes.py (Liu, Simonyan, Yang, ICLR 2019), converted with `algebraic-nas convert darts_eval`:
# DARTS_V2 (second order, the paper's result) and DARTS_V1 (first order), in the evaluation network
# (C = 36, L = 20). A node's two pairs are written in input order, so the term's nodes are DARTS's.
_DARTS_V2 = ("DartsCIFAR(36, 20, Darts(Node2(sep_conv_3x3, sep_conv_3x3), Node3(sep_conv_3x3, sep_conv_3x3, none), "
             "Node4(skip_connect, sep_conv_3x3, none, none), Node5(skip_connect, none, dil_conv_3x3, none, none)), "
             "Darts(Node2(max_pool_3x3, max_pool_3x3), Node3(none, max_pool_3x3, skip_connect), "
             "Node4(max_pool_3x3, none, skip_connect, none), Node5(none, max_pool_3x3, skip_connect, none, none)))")
_DARTS_V1 = ("DartsCIFAR(36, 20, Darts(Node2(sep_conv_3x3, sep_conv_3x3), Node3(skip_connect, sep_conv_3x3, none), "
             "Node4(skip_connect, sep_conv_3x3, none, none), Node5(sep_conv_3x3, none, skip_connect, none, none)), "
             "Darts(Node2(max_pool_3x3, max_pool_3x3), Node3(max_pool_3x3, none, skip_connect), "
             "Node4(max_pool_3x3, none, skip_connect, none), Node5(avg_pool_3x3, none, skip_connect, none, none)))")

_LIU_MOTIF = "DAG4(id, zero, zero, id, zero, id)"  # edges (1,2), (2,3), (3,4) of DAG4's lexicographic order

_PUBLISHED = (
    Published("hnb201_cifar10", "hnb201", "".join(_HNB201_CIFAR10), (3, 32, 10), 2_204_000,
              "Schrodi et al., best architecture on CIFAR-10 (#params 2.204 MB, i.e. million)",
              "printed with the reference's Linear1 wrappers; params agree to the printed three decimals"),
    Published("hnb201_cifar100", "hnb201", "".join(_HNB201_CIFAR100), (3, 32, 100), 962_000,
              "Schrodi et al., best architecture on CIFAR-100 (#params 0.962 MB)"),
    Published("hnb201_cifartile", "hnb201", "".join(_HNB201_CIFARTILE), (3, 64, 4), 2_356_000,
              "Schrodi et al., best architecture on CIFARTile (#params 2.356 MB)"),
    Published("mnasnet_a1_stages_2_4", "mobilenet", _MNASNET_A1_STAGES, (3, 224, 1000), None,
              "Tan et al., MnasNet-A1 (Fig. 7): stages 2-4, MBConv6 k3 x2 (24), MBConv3 k5 SE x3 (40), "
              "MBConv6 k3 x4 (80)",
              "the space has three blocks over a 16-channel stem, so only stages 2-4 of MnasNet-A1 fit; their "
              "334,746 parameters equal the count from the paper's layer table; the whole MnasNet-A1 "
              "(stem, seven stages, 1280-wide head) has 3.9 M"),
    Published("autodeeplab_cityscapes", "autodeeplab", _adl_path(), (3, 1024, 19), None,
              "Liu et al. (CVPR 2019), Auto-DeepLab's network path on Cityscapes and its cell",
              "the path is the published one; the cell is its first four of five blocks (the space's cell is "
              "DARTS's, four nodes, and takes one input); no stem, no ASPP, so the count is not comparable to "
              "Auto-DeepLab-L's 44.42 M"),
    Published("darts_v2", "darts_eval", _DARTS_V2, (3, 32, 10), 3_300_000,
              "Liu et al. (ICLR 2019), DARTS (second order) on CIFAR-10: genotypes.py's DARTS_V2, \"3.3 M\" params",
              "3,349,342 parameters without the auxiliary head, as DARTS counts (3,825,768 with it)"),
    Published("darts_v1", "darts_eval", _DARTS_V1, (3, 32, 10), None,
              "Liu et al. (ICLR 2019), DARTS (first order) on CIFAR-10: genotypes.py's DARTS_V1",
              "3,169,414 parameters in the same evaluation network; the paper's \"3.3 M\" is DARTS_V2's count, "
              "so no separate published figure is given here"),
    Published("liu2018_trivial_genotype", "hierarchical_cell",
              f"DAG5({_LIU_MOTIF}, zero, zero, zero, {_LIU_MOTIF}, zero, zero, {_LIU_MOTIF}, zero, {_LIU_MOTIF})",
              (3, 32, 10), None,
              "Liu et al. (ICLR 2018), the trivial genotype (identity chains at every level) their evolution starts "
              "from",
              "their evolved cell is published only as a drawing, so it is not transcribed here"),
)
_BY_NAME = {p.name: p for p in _PUBLISHED}


def published_names() -> list[str]:
    """The names of the shipped published architectures."""
    return list(_BY_NAME)


def published(name: str) -> Published:
    """The published architecture ``name``; ``KeyError`` naming the known ones otherwise."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no published architecture {name!r} (known: {', '.join(_BY_NAME)})") from None
