"""Evaluation benchmarks: what one architecture evaluation costs, on the CPU and on a GPU.

CPU (always; one torch thread, as a search worker runs): for sampled ``hnb201`` networks under
the ``quick`` protocol on ``digits`` and ``clutterdigits``: seconds per epoch, seconds per whole
evaluation, and how well the task separates architectures (the spread of validation error across
networks next to the spread across seeds of the same network); what measuring the
``latency_ms`` objective adds to an evaluation (seconds, and as a fraction of the evaluation).

GPU (only when CUDA is available): for the median-FLOPs network of a sample, training images/s
at batch 256 on CIFAR-shaped data made on the device (the real data is not available offline),
and the projected wall time of one full ``nb201`` evaluation (25k images × 200 epochs) in eager
fp32, bf16 + channels_last, ``torch.compile`` and ``torch.compile(mode="reduce-overhead")``;
then how many evaluations can share one GPU (k processes training at once; per-process speed
relative to one alone). Target: ≤ 5 minutes per projected evaluation on one H100.

    python -m benchmarks evaluation [--quick]
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Iterable, Optional

import numpy as np
import torch
from scipy.stats import spearmanr

from benchmarks import record

NB201_IMAGES, NB201_EPOCHS = 25_000, 200
TARGET_S = 300.0


def _terms(n: int, seed0: int = 0) -> list[str]:
    from algebraic_nas.grammar import load_grammar

    g = load_grammar("hnb201")
    return [str(g.sample(seed0 + i)) for i in range(n)]


def _cells(term: str) -> int:
    return term.count("Cell(")


def _latency_cost_s(term: str, dataset: str) -> tuple[float, float]:
    """(seconds the ``latency_ms`` measurement takes, its value in ms) for ``term`` on the CPU,
    measured as ``evaluate`` does it (on a freshly built network, warm-up included)."""
    from algebraic_nas.evaluation import EvaluationRecord, get_dataset_spec, get_protocol
    from algebraic_nas.evaluation.evaluate import build_from_term
    from algebraic_nas.evaluation.objectives import MeasureContext, latency_ms

    spec = get_dataset_spec(dataset)
    ctx = MeasureContext(EvaluationRecord(term, "hnb201", dataset, "quick", 0), build_from_term(term, "hnb201", spec),
                         spec, torch.device("cpu"), get_protocol("quick"))
    start = time.perf_counter()
    value = latency_ms(ctx)
    return time.perf_counter() - start, value


def run(quick: bool) -> Iterable[dict]:
    yield from cpu_benchmarks(quick)
    if torch.cuda.is_available():
        yield from gpu_benchmarks(quick)


# ----------------------------------------------------------------------------------------- CPU


def cpu_benchmarks(quick: bool) -> Iterable[dict]:
    from algebraic_nas.evaluation import evaluate

    old_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        n_nets, seeds = (3, 1) if quick else (16, 2)
        by_dataset: dict[str, np.ndarray] = {}
        epochs = 1 if quick else None  # None: the quick protocol's own (4)
        terms = _terms(n_nets, seed0=1000)
        for dataset in ("digits", "clutterdigits"):
            overrides = {"progress": "none", **({"epochs": epochs} if epochs else {})}
            errors = np.full((n_nets, seeds), np.nan)
            per_epoch, per_eval, cpu_eval, latency_cost = [], [], [], []
            evaluate(terms[0], "hnb201", dataset, "quick", overrides={**overrides, "epochs": 0})  # load data, grammar
            for i, term in enumerate(terms):
                for s in range(seeds):
                    cpu0 = time.process_time()
                    rec = evaluate(term, "hnb201", dataset, "quick", seed=s, device="cpu", overrides=overrides)
                    cpu_s = time.process_time() - cpu0
                    if rec.outcome != "ok":
                        continue
                    errors[i, s] = rec.valid_error
                    per_epoch.extend(rec.epoch_times_s)
                    per_eval.append(rec.wall_time_s)
                    cpu_eval.append(cpu_s)
                    if s == 0:
                        latency_cost.append(_latency_cost_s(term, dataset)[0])
            settings = dict(dataset=dataset, protocol="quick", epochs=epochs or 4, networks=n_nets, seeds=seeds,
                            threads=1, grammar="hnb201",
                            cells_median=statistics.median(_cells(t) for t in terms))
            if per_epoch:
                yield record("evaluation.cpu.seconds_per_epoch", statistics.median(per_epoch), "s", **settings,
                             min=min(per_epoch), max=max(per_epoch))
                yield record("evaluation.cpu.seconds_per_evaluation", statistics.median(per_eval), "s", **settings,
                             min=min(per_eval), max=max(per_eval))
                # CPU seconds of the process: what the evaluation costs without other load on the machine
                yield record("evaluation.cpu.cpu_seconds_per_evaluation", statistics.median(cpu_eval), "s", **settings,
                             min=min(cpu_eval), max=max(cpu_eval), load_average_1min=os.getloadavg()[0])
                cost = statistics.median(latency_cost)
                yield record("evaluation.cpu.latency_objective_seconds", cost, "s", **settings,
                             min=min(latency_cost), max=max(latency_cost), batch=1)
                yield record("evaluation.cpu.latency_objective_fraction", cost / statistics.median(per_eval), "fraction",
                             **settings, meaning="median latency_ms measurement time / median evaluation wall time")
            means = np.nanmean(errors, axis=1)
            yield record("evaluation.cpu.valid_error_best", float(np.nanmin(means)), "fraction", **settings)
            yield record("evaluation.cpu.valid_error_median", float(np.nanmedian(means)), "fraction", **settings)
            yield record("evaluation.cpu.valid_error_std_across_networks", float(np.nanstd(means)), "fraction", **settings)
            by_dataset[dataset] = means
            if seeds > 1:
                ok = ~np.isnan(errors[:, :2]).any(axis=1)
                rho = spearmanr(errors[ok, 0], errors[ok, 1]).statistic
                yield record("evaluation.cpu.seed_rank_correlation", float(rho), "spearman", **settings,
                             meaning="rank agreement of the networks' errors between seed 0 and seed 1")
                within = float(np.nanmean(np.nanstd(errors, axis=1)))
                yield record("evaluation.cpu.valid_error_std_across_seeds", within, "fraction", **settings)
                yield record("evaluation.cpu.separation_ratio", float(np.nanstd(means)) / max(within, 1e-9), "ratio",
                             **settings, meaning="std across networks / mean std across seeds")
        if len(by_dataset) == 2 and n_nets > 2:
            a, b = by_dataset.values()
            ok = ~(np.isnan(a) | np.isnan(b))
            yield record("evaluation.cpu.dataset_rank_correlation", float(spearmanr(a[ok], b[ok]).statistic), "spearman",
                         datasets=list(by_dataset), networks=n_nets, protocol="quick",
                         meaning="rank agreement of the networks' mean errors on digits and clutterdigits")
    finally:
        torch.set_num_threads(old_threads)


# ----------------------------------------------------------------------------------------- GPU


def _synthetic_cifar(n: int, device: str):
    """CIFAR-shaped uint8 data made on ``device``: (n, 3, 32, 32) images, 10 classes."""
    from algebraic_nas.evaluation import ImageDataset, Split

    g = torch.Generator(device=device).manual_seed(0)
    x = torch.randint(0, 256, (n, 3, 32, 32), generator=g, device=device, dtype=torch.uint8)
    y = torch.randint(0, 10, (n,), generator=g, device=device)
    small = Split(x[:512], y[:512])
    return ImageDataset("synthetic-cifar", 3, 32, 10, Split(x, y), small, small, (0.49, 0.48, 0.45), (0.25, 0.24, 0.26))


def _median_network(n: int) -> tuple[str, int]:
    from algebraic_nas.assembly import build_network, network_stats
    from algebraic_nas.grammar import load_grammar

    g = load_grammar("hnb201")
    terms = _terms(n, seed0=2000)
    flops = [network_stats(build_network(g.parse(t), (3, 32, 10)), (3, 32, 10))["flops"] for t in terms]
    i = int(np.argsort(flops)[len(flops) // 2])
    return terms[i], flops[i]


def _factory(term: str):
    from algebraic_nas.assembly import InputSpec
    from algebraic_nas.evaluation.evaluate import build_from_term

    return lambda: build_from_term(term, "hnb201", InputSpec(3, 32, 10))


def throughput(term: str, device: str, images: int, mode: dict) -> tuple[float, float, Optional[str]]:
    """(training images/s in the last epoch, seconds of the first epoch, failure reason) for ``mode``."""
    from algebraic_nas.evaluation import get_protocol, train

    data = _synthetic_cifar(images, device)
    protocol = get_protocol("nb201", epochs=2, progress="none", eval_batch_size=512, **mode)
    result = train(_factory(term), data, protocol, seed=0, device=device)
    if result.outcome != "ok" or len(result.epoch_times_s) < 2:
        return float("nan"), float("nan"), result.reason or "no epochs"
    return images / result.epoch_times_s[-1], result.epoch_times_s[0], None


MODES = {
    "eager_fp32": {},
    "bf16_channels_last": {"bf16": True, "channels_last": True},
    "compile_bf16_channels_last": {"bf16": True, "channels_last": True, "compile": True},
    "compile_reduce_overhead_bf16_channels_last": {"bf16": True, "channels_last": True, "compile": "reduce-overhead"},
}


def gpu_benchmarks(quick: bool, device: str = "cuda", batches: Optional[int] = None) -> Iterable[dict]:
    term, flops = _median_network(5 if quick else 15)
    # full batches only: no recompilation for a ragged last batch
    images = 256 * (batches or (8 if quick else 40))
    gpu = torch.cuda.get_device_name(0) if device == "cuda" else device
    base = dict(device=gpu, batch=256, network_flops=flops, cells=_cells(term), images_per_epoch=images)
    best = None
    for name, mode in MODES.items():
        try:
            ips, first_epoch_s, reason = throughput(term, device, images, mode)
        except Exception as exc:  # e.g. torch.compile unavailable: report, go on
            ips, first_epoch_s, reason = float("nan"), float("nan"), f"{type(exc).__name__}: {exc}"
        if reason:
            yield record(f"evaluation.gpu.{name}.error", None, None, **base, reason=reason[:300])
            continue
        warmup = max(0.0, first_epoch_s - images / ips)  # compilation / autotuning in the first epoch
        projected = NB201_IMAGES * NB201_EPOCHS / ips + warmup
        yield record(f"evaluation.gpu.{name}.images_per_s", ips, "images/s", **base)
        yield record(f"evaluation.gpu.{name}.projected_nb201_evaluation", projected, "s", **base,
                     warmup_s=warmup, target_s=TARGET_S, meets_target=projected <= TARGET_S)
        if best is None or ips > best[1]:
            best = (name, ips)
    if best is not None:
        yield from gpu_sharing(term, device, MODES[best[0]], best[0], base, quick, batches=batches or 10)


def _share_worker(term: str, device: str, mode: dict, seconds: float, batches: int, barrier, out) -> None:
    """One of k concurrent evaluations: train until ``seconds`` have passed after the barrier.

    Reports training images/s to ``out`` (NaN if anything failed, so the parent never waits in vain).
    """
    try:
        torch.set_num_threads(1)
        from algebraic_nas.evaluation import get_protocol
        from algebraic_nas.evaluation.trainer import train

        data = _synthetic_cifar(256 * batches, device)
        protocol = get_protocol("nb201", epochs=1, progress="none", **mode)
        train(_factory(term), data, protocol, seed=0, device=device)  # warm-up (and compilation)
        barrier.wait(timeout=900)
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            r = train(_factory(term), data, protocol, seed=0, device=device)
            done += 256 * batches if r.outcome == "ok" else 0
        out.put(done / (time.perf_counter() - start))
    except Exception:
        barrier.abort()
        out.put(float("nan"))


def gpu_sharing(term: str, device: str, mode: dict, mode_name: str, base: dict, quick: bool,
                batches: int = 10, seconds: Optional[float] = None, ks: Optional[tuple[int, ...]] = None) -> Iterable[dict]:
    """Per-process and total images/s with k processes training at once on one GPU."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    seconds = seconds or (10.0 if quick else 30.0)
    solo = None
    fits = 1
    for k in ks or ((1, 2, 4) if quick else (1, 2, 4, 8)):
        barrier, out = ctx.Barrier(k), ctx.Queue()
        procs = [ctx.Process(target=_share_worker, args=(term, device, mode, seconds, batches, barrier, out)) for _ in range(k)]
        for p in procs:
            p.start()
        rates = []
        for _ in procs:
            try:
                rates.append(out.get(timeout=seconds + 600))
            except Exception:
                break
        for p in procs:
            p.join(timeout=60)
            if p.is_alive():
                p.kill()
        if len(rates) < k or not np.isfinite(rates).all():
            yield record("evaluation.gpu.sharing.error", None, None, **base, processes=k,
                         reason="a worker failed or did not report")
            break
        per = float(np.mean(rates))
        solo = solo or per
        yield record("evaluation.gpu.sharing.images_per_s_per_process", per, "images/s", **base, processes=k, mode=mode_name)
        yield record("evaluation.gpu.sharing.images_per_s_total", float(np.sum(rates)), "images/s", **base,
                     processes=k, mode=mode_name, relative_per_process=per / solo)
        if per >= 0.9 * solo:
            fits = k
    yield record("evaluation.gpu.sharing.evaluations_per_gpu", fits, "processes", **base, mode=mode_name,
                 meaning="largest k tried whose per-process speed stays >= 90% of one alone")


if __name__ == "__main__":
    # A dry run of the GPU code path on the CPU (tiny sizes; compile modes left out):
    #   BENCH_GPU_PATH_ON_CPU=1 python -m benchmarks.bench_evaluation
    import json

    if os.environ.get("BENCH_GPU_PATH_ON_CPU"):
        torch.set_num_threads(1)
        MODES = {k: v for k, v in MODES.items() if "compile" not in k}
        term, flops = _median_network(3)
        base = dict(device="cpu", batch=256, network_flops=flops)
        for name, mode in MODES.items():
            print(name, throughput(term, "cpu", 256, mode))
        for r in gpu_sharing(term, "cpu", {}, "eager_fp32", base, quick=True, batches=1, seconds=1.0, ks=(1, 2)):
            print(json.dumps(r))
