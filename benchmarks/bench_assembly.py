"""Assembly benchmarks: build time of hnb201 terms, executor overhead, GPU training throughput.

* ``assembly.build_ms``: median wall time of ``build_network`` per sampled ``hnb201`` term
  (CIFAR-10 spec), target ≤ 50 ms.
* ``assembly.overhead_ratio``: forward time of the assembled NB201-macro network divided by the
  time of the *same primitive module instances* called from a hand-unrolled straight-line function
  (which is first checked to compute the same output)
  (CPU, one thread, back-to-back pairs, median of the paired ratios; batch 1 and 32), target
  ≤ 1.05. Two cells: NB201's all-conv3×3
  and a mixed cell with cheap operations (pooling, identities), where overhead shows most.
* ``assembly.train_images_per_s`` (only with CUDA): training-step throughput of sampled
  ``hnb201`` networks, batch 256, 32×32: eager fp32, bf16 autocast + channels_last, torch.compile.
* ``assembly.nago_optimum.*``: NAGO's CIFAR-10 optimum generator (top (8, 5, 0.6), mid (1, 0.7),
  bottom (5, 4, 0.2)) in ``nago_hnag`` under its 4 M budget: ``params``, ``flops``, ``build_ms``
  (median over network seeds, the budget probe included) and ``forward_ms`` (eval, batch 64) on
  the CPU and, when there is one, on CUDA.
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Callable, Iterable

import torch
from torch import nn

from benchmarks import record

from algebraic_nas.assembly import InputSpec, build_network
from algebraic_nas.assembly.primitives import ReLUConvBN, ResNetBasicBlock
from algebraic_nas.grammar.term import Term

CIFAR10 = InputSpec(3, 32, 10)


def _leaf(s: str) -> Term:
    return Term(None, -1, s)


def _nb201_term(ops: tuple[str, ...]) -> Term:
    cell = Term("CL", 0, "Cell", tuple(_leaf(o) for o in ops))
    stage = Term(None, -1, "Linear5", (cell,) * 5)
    return Term(None, -1, "Linear5", (stage, _leaf("down"), stage, _leaf("down"), stage))


# --- hand-unrolled baselines (run the assembled network's own module instances) ---------------------


class HandConv3x3Net(nn.Module):
    """NB201 with the all-``nor_conv_3x3`` cell, every cell written out as straight-line code."""

    def __init__(self, base: int = 16, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, base, 3, padding=1, bias=False), nn.BatchNorm2d(base))
        cells = []
        for c in (base, 2 * base, 4 * base):
            cells.append(nn.ModuleList(nn.ModuleList(ReLUConvBN(c, c, 3, 1, 1) for _ in range(6)) for _ in range(5)))
        self.cells = nn.ModuleList(cells)
        self.down1 = ResNetBasicBlock(base, 2 * base)
        self.down2 = ResNetBasicBlock(2 * base, 4 * base)
        self.head = nn.Sequential(nn.BatchNorm2d(4 * base), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(1),
                                  nn.Linear(4 * base, classes))

    @staticmethod
    def cell(m: nn.ModuleList, x: torch.Tensor) -> torch.Tensor:
        n2 = m[0](x)
        n3 = m[1](x) + m[2](n2)
        return m[3](x) + m[4](n2) + m[5](n3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        s0, s1, s2 = self.cells
        x = self.cell(s0[0], x); x = self.cell(s0[1], x); x = self.cell(s0[2], x); x = self.cell(s0[3], x); x = self.cell(s0[4], x)  # noqa: E702
        x = self.down1(x)
        x = self.cell(s1[0], x); x = self.cell(s1[1], x); x = self.cell(s1[2], x); x = self.cell(s1[3], x); x = self.cell(s1[4], x)  # noqa: E702
        x = self.down2(x)
        x = self.cell(s2[0], x); x = self.cell(s2[1], x); x = self.cell(s2[2], x); x = self.cell(s2[3], x); x = self.cell(s2[4], x)  # noqa: E702
        return self.head(x)

    @classmethod
    def sharing(cls, net: nn.Module) -> "HandConv3x3Net":
        """The hand-unrolled network running *the same module instances* as the assembled ``net``.

        The assembler creates the body's operations cell by cell in edge order (identities
        create none), with each ``down`` between its stages, so the flat op list splits evenly.
        """
        hand = cls()
        ops = list(net.body.ops)
        per_cell = (len(ops) - 2) // 15
        hand.stem, hand.head = net.stem, net.head
        k = 0
        for s in range(3):
            for c in range(5):
                hand.cells[s][c] = nn.ModuleList(ops[k:k + per_cell])
                k += per_cell
            if s < 2:
                setattr(hand, f"down{s + 1}", ops[k])
                k += 1
        return hand


MIXED = ("nor_conv_3x3", "avg_pool", "id", "nor_conv_1x1", "nor_conv_3x3", "avg_pool")


class HandMixedNet(HandConv3x3Net):
    """NB201 with the cell ``MIXED``: n2 = conv3(x); n3 = pool(x) + n2; out = conv1(x) + conv3(n2) + pool(n3)."""

    def __init__(self, base: int = 16, classes: int = 10) -> None:
        super().__init__(base, classes)
        cells = []
        for c in (base, 2 * base, 4 * base):
            cells.append(nn.ModuleList(nn.ModuleList([
                ReLUConvBN(c, c, 3, 1, 1), nn.AvgPool2d(3, 1, 1, count_include_pad=False),
                ReLUConvBN(c, c, 1, 1, 0), ReLUConvBN(c, c, 3, 1, 1), nn.AvgPool2d(3, 1, 1, count_include_pad=False),
            ]) for _ in range(5)))
        self.cells = nn.ModuleList(cells)

    @staticmethod
    def cell(m: nn.ModuleList, x: torch.Tensor) -> torch.Tensor:
        n2 = m[0](x)
        n3 = m[1](x) + n2
        return m[2](x) + m[3](n2) + m[4](n3)


def _paired(fns: list[Callable[[], object]], repeats: int) -> list[list[float]]:
    """Seconds per call of each function, timed back to back in every repeat, the order reversed
    every other repeat (so that drift and cache effects hit all equally)."""
    times: list[list[float]] = [[] for _ in fns]
    for f in fns:  # warm-up
        f()
    for r in range(repeats):
        order = range(len(fns)) if r % 2 == 0 else range(len(fns) - 1, -1, -1)
        for i in order:
            t0 = time.perf_counter()
            fns[i]()
            times[i].append(time.perf_counter() - t0)
    return times


def overhead(quick: bool) -> Iterable[dict]:
    """Assembled vs hand-unrolled NB201 networks; ratios are medians of per-repeat paired ratios.

    ``assembly.overhead_noise_ratio`` compares two identical assembled networks the same way: the
    noise floor of the measurement on this machine.
    """
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        repeats = 5 if quick else 30
        for batch in ((8,) if quick else (1, 32)):
            x = torch.randn(batch, 3, 32, 32)
            for name, ops, hand_cls in (("conv3x3", ("nor_conv_3x3",) * 6, HandConv3x3Net), ("mixed", MIXED, HandMixedNet)):
                net = build_network(_nb201_term(ops), CIFAR10).eval()
                twin = build_network(_nb201_term(ops), CIFAR10).eval()
                hand = hand_cls.sharing(net).eval()
                assert sum(p.numel() for p in net.parameters()) == sum(p.numel() for p in hand.parameters())
                with torch.no_grad():
                    assert torch.allclose(net(x), hand(x), atol=1e-5), "assembled and hand-unrolled disagree"
                    t_net, t_hand, t_twin = _paired([lambda: net(x), lambda: hand(x), lambda: twin(x)], repeats)
                settings = dict(cell=name, batch=batch, threads=1, mode="eval forward", repeats=repeats)
                yield record("assembly.forward_ms.assembled", statistics.median(t_net) * 1e3, "ms", **settings)
                yield record("assembly.forward_ms.hand_unrolled", statistics.median(t_hand) * 1e3, "ms", **settings)
                yield record("assembly.overhead_ratio", statistics.median(a / b for a, b in zip(t_net, t_hand)), "ratio",
                             target=1.05, **settings)
                yield record("assembly.overhead_noise_ratio", statistics.median(a / b for a, b in zip(t_net, t_twin)),
                             "ratio", **settings)
    finally:
        torch.set_num_threads(threads)


def _hnb201_terms(n: int, seed: int = 0) -> list[Term]:
    from algebraic_nas.grammar import load_grammar

    g = load_grammar("hnb201")
    rng = random.Random(seed)
    return [g.sample(rng) for _ in range(n)]


def build_time(quick: bool) -> Iterable[dict]:
    n = 10 if quick else 50
    terms = _hnb201_terms(n)
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        build_network(terms[0], CIFAR10)  # warm-up: imports, registries
        times = []
        for t in terms:
            t0 = time.perf_counter()
            build_network(t, CIFAR10)
            times.append(time.perf_counter() - t0)
    finally:
        torch.set_num_threads(threads)
    yield record("assembly.build_ms", statistics.median(times) * 1e3, "ms", grammar="hnb201", terms=n,
                 stat="median", target=50.0, max_ms=max(times) * 1e3)


def train_throughput(device: torch.device, terms: list[Term], batch: int, steps: int,
                     modes: tuple[str, ...] = ("eager_fp32", "bf16_channels_last", "compile")) -> Iterable[dict]:
    """Training steps (SGD, cross-entropy) per second × batch on ``device`` for each term and mode."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for i, term in enumerate(terms):
        for mode in modes:
            torch.manual_seed(0)
            net = build_network(term, CIFAR10).to(device)
            x = torch.randn(batch, 3, 32, 32, device=device)
            y = torch.randint(0, 10, (batch,), device=device)
            if mode == "bf16_channels_last":
                net = net.to(memory_format=torch.channels_last)
                x = x.contiguous(memory_format=torch.channels_last)
            model = torch.compile(net) if mode == "compile" else net
            opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)

            def step() -> None:
                opt.zero_grad(set_to_none=True)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=mode == "bf16_channels_last"):
                    loss = nn.functional.cross_entropy(model(x), y)
                loss.backward()
                opt.step()

            for _ in range(3):  # warm-up (and compilation)
                step()
            sync()
            t0 = time.perf_counter()
            for _ in range(steps):
                step()
            sync()
            dt = time.perf_counter() - t0
            name = torch.cuda.get_device_name() if device.type == "cuda" else "cpu"
            yield record("assembly.train_images_per_s", batch * steps / dt, "images/s", mode=mode, term_index=i,
                         batch=batch, steps=steps, device=name)


def gpu_throughput(quick: bool) -> Iterable[dict]:
    """Training-step throughput of sampled hnb201 networks on CUDA, batch 256, 32×32 (skipped without a GPU)."""
    if not torch.cuda.is_available():
        return
    yield from train_throughput(torch.device("cuda"), _hnb201_terms(2 if quick else 3, seed=1), 256, 5 if quick else 20)


#: NAGO's CIFAR-10 optimum (BOHB; Ru et al., NeurIPS 2020) as a nago_hnag term.
NAGO_OPTIMUM = ("Budget(WattsStrogatz(8, 5, 0.6, 0.333, 0.333, 0.333, 1, 2, 4, ErdosRenyi(1, 0.7, "
                "WattsStrogatz(5, 4, 0.2, Linear3(relu, conv3x3, batch), wsum), wsum), wsum))")


def nago_optimum(quick: bool) -> Iterable[dict]:
    """Parameters, FLOPs, build and forward time (batch 64) of NAGO's CIFAR-10 optimum."""
    from algebraic_nas.assembly import network_stats
    from algebraic_nas.grammar import load_grammar

    term = load_grammar("nago_hnag").parse(NAGO_OPTIMUM)
    seeds = range(3 if quick else 10)
    torch.manual_seed(0)
    build_network(term, CIFAR10)  # warm-up: imports, registries
    builds = []
    for seed in seeds:
        t0 = time.perf_counter()
        net = build_network(term, CIFAR10, seed=seed)
        builds.append(time.perf_counter() - t0)
        stats = network_stats(net, CIFAR10)
        yield record("assembly.nago_optimum.params", stats["params"], "parameters", seed=seed, budget=4_000_000,
                     width=net.base_channels)
        yield record("assembly.nago_optimum.flops", stats["flops"], "FLOPs", seed=seed)
    yield record("assembly.nago_optimum.build_ms", statistics.median(builds) * 1e3, "ms", seeds=len(builds),
                 stat="median", max_ms=max(builds) * 1e3)
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    for device in devices:
        sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
        net = build_network(term, CIFAR10, seed=0).to(device).eval()
        x = torch.randn(64, 3, 32, 32, device=device)
        with torch.no_grad():
            net(x)  # warm-up
            sync()
            times = []
            for _ in range(3 if quick else 5):
                t0 = time.perf_counter()
                net(x)
                sync()
                times.append(time.perf_counter() - t0)
        name = torch.cuda.get_device_name() if device.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
        yield record("assembly.nago_optimum.forward_ms", statistics.median(times) * 1e3, "ms", batch=64, mode="eval",
                     device=name, stat="median", repeats=len(times))


def run(quick: bool) -> Iterable[dict]:
    yield from overhead(quick)
    yield from build_time(quick)
    yield from gpu_throughput(quick)
    yield from nago_optimum(quick)
