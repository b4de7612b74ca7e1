"""The GPU figures of issue 13, in one command: ``python -m benchmarks gpu [--quick]``.

1. Wall time of one full ``nb201``-protocol evaluation (CIFAR-10 shape: 25,000 training and
   25,000 validation images of 3x32x32, random tensors made on the GPU; 200 epochs, batch 256)
   of the all-``conv3x3`` ``nb201_cell`` network and two sampled ``hnb201`` terms, for each
   execution variant of the trainer (``Protocol``: ``bf16``, ``channels_last``, ``compile``,
   ``compile="reduce-overhead"``, which is torch.compile with CUDA graphs). Each run trains the
   first epochs of the real 200-epoch schedule and validates on all 25,000 images; the full
   evaluation is extrapolated: setup and validation + first epoch (compilation) + 199 steady epochs.
2. Evaluations per hour of the ``quick`` protocol (``digits``, sampled ``hnb201`` terms) through
   the search's own local executor with k = 1, 2, 4 evaluations per GPU
   (``executor.evaluations_per_gpu``), after each worker's first evaluation (CUDA start-up).
3. GPU utilisation and memory during 2 (``nvidia-smi`` sampled every 0.5 s; ``pynvml`` if present).

Without CUDA it prints one record saying it was skipped and why. Target (the issue): under a
minute per nb201 evaluation on an H100 (the paper: about an hour on a 2080 Ti).
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from typing import Iterable, Optional

import torch

from benchmarks import record

NB201_TRAIN = NB201_VALID = 25_000
NB201_EPOCHS = 200
TARGET_S = 60.0
C3 = "Linear3(relu, conv3x3, batch)"
ALL_CONV3X3 = "Linear5({s}, down, {s}, down, {s})".format(
    s="Linear5({c}, {c}, {c}, {c}, {c})".format(c=f"Cell({', '.join([C3] * 6)})"))

VARIANTS = {
    "eager_fp32": {},
    "bf16": {"bf16": True},
    "channels_last": {"channels_last": True},
    "bf16_channels_last": {"bf16": True, "channels_last": True},
    "compile_bf16_channels_last": {"bf16": True, "channels_last": True, "compile": True},
    "cuda_graphs_bf16_channels_last": {"bf16": True, "channels_last": True, "compile": "reduce-overhead"},
}


def run(quick: bool) -> Iterable[dict]:
    if not torch.cuda.is_available():
        yield record("gpu.skipped", None, None, reason="no CUDA GPU visible (torch.cuda.is_available() is False): "
                     "run `python -m benchmarks gpu` on a machine with one")
        return
    gpu = torch.cuda.get_device_name(0)
    # two epochs: the first holds compilation and warm-up, the second is the steady rate
    yield from nb201_evaluation_times("cuda", gpu, epochs=2, train_images=256 * 20 if quick else None)
    yield from evaluations_per_hour("cuda", gpu, ks=(1, 2, 4), seconds=30.0 if quick else 90.0)


# --- 1. one nb201 evaluation ---------------------------------------------------------------------


def networks(n_sampled: int = 2) -> dict[str, tuple[str, str]]:
    """``label -> (grammar, term)``: the all-conv3x3 NB201 network and ``n_sampled`` hnb201 terms."""
    from algebraic_nas.grammar import load_grammar

    g = load_grammar("hnb201")
    out = {"nb201_cell_all_conv3x3": ("nb201_cell", ALL_CONV3X3)}
    for i in range(n_sampled):
        out[f"hnb201_sample{i}"] = ("hnb201", str(g.sample(i)))
    return out


def cifar_shaped(train: int, valid: int, device: str, test: int = 10_000):
    """Random CIFAR-10-shaped uint8 images made on ``device`` (no real data offline); the test
    split (CIFAR-10's 10,000) is the first ``test`` validation images."""
    from algebraic_nas.evaluation import ImageDataset, Split

    g = torch.Generator(device=device).manual_seed(0)
    n = train + valid
    x = torch.randint(0, 256, (n, 3, 32, 32), generator=g, device=device, dtype=torch.uint8)
    y = torch.randint(0, 10, (n,), generator=g, device=device)
    tr, va = Split(x[:train], y[:train]), Split(x[train:], y[train:])
    te = Split(va.x[:test], va.y[:test])
    return ImageDataset("cifar10-shaped", 3, 32, 10, tr, va, te, (0.49, 0.48, 0.45), (0.25, 0.24, 0.26))


def projected_evaluation(grammar: str, term: str, data, device: str, variant: dict, epochs: int,
                         full_epochs: int = NB201_EPOCHS) -> dict:
    """Train ``epochs`` epochs of the ``nb201`` schedule (``full_epochs`` long) and validate;
    returns the measured parts and ``projected_s``, the extrapolated full evaluation (seconds)."""
    from algebraic_nas.assembly import InputSpec
    from algebraic_nas.evaluation import get_protocol, train
    from algebraic_nas.evaluation.evaluate import build_from_term

    protocol = get_protocol("nb201", epochs=full_epochs, progress="none", eval_batch_size=1024, **variant)
    spec = InputSpec(3, 32, 10)
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    result = train(lambda: build_from_term(term, grammar, spec), data, protocol, seed=0, device=device, stop_epoch=epochs)
    wall = time.perf_counter() - start
    if result.outcome != "ok" or len(result.epoch_times_s) < epochs:
        return {"error": result.reason or "no epochs"}
    times = result.epoch_times_s
    steady = min(times[1:]) if len(times) > 1 else times[0]
    other = wall - sum(times)  # building, moving, validating the 25k images, the test split
    scale = NB201_TRAIN / len(data.train)  # a smaller training split (--quick): per-image rate
    projected = other + (times[0] - steady) + full_epochs * steady * scale
    return {"projected_s": projected, "steady_epoch_s": steady * scale, "first_epoch_s": times[0],
            "validation_and_setup_s": other, "micro_batch": result.micro_batch, "peak_memory_mb": result.peak_memory_mb}


def nb201_evaluation_times(device: str, gpu: str, epochs: int = 3, train_images: Optional[int] = None,
                           valid_images: int = NB201_VALID, variants: Optional[dict] = None,
                           nets: Optional[dict] = None) -> Iterable[dict]:
    """Figure 1: one record per network and variant (``.error`` records for variants that fail);
    ``train_images`` fewer than 25,000 (``--quick``) are extrapolated per image."""
    data = cifar_shaped(train_images or NB201_TRAIN, valid_images, device, test=min(10_000, valid_images))
    for label, (grammar, term) in (nets or networks()).items():
        for name, variant in (variants or VARIANTS).items():
            base = dict(device=gpu, network=label, grammar=grammar, variant=name, epochs_measured=epochs,
                        batch=256, train_images=len(data.train), valid_images=len(data.valid))
            try:
                m = projected_evaluation(grammar, term, data, device, variant, epochs)
            except Exception as exc:  # noqa: BLE001 - e.g. torch.compile unavailable: report it and go on
                m = {"error": f"{type(exc).__name__}: {exc}"}
            if "error" in m:
                yield record(f"gpu.nb201_evaluation.{label}.{name}.error", None, None, **base, reason=str(m["error"])[:300])
                continue
            yield record(f"gpu.nb201_evaluation.{label}.{name}", m.pop("projected_s"), "s", **base, **m,
                         target_s=TARGET_S)
        if device == "cuda":
            torch.cuda.empty_cache()


# --- 2 and 3. quick-protocol evaluations per hour with k per GPU ------------------------------


class UtilisationSampler:
    """GPU utilisation (%) and memory used (MiB) of device ``index``, sampled every ``period`` s in a
    thread, from pynvml when importable, else ``nvidia-smi``; ``summary()`` is ``{}`` without either."""

    def __init__(self, index: int = 0, period: float = 0.5) -> None:
        self.index, self.period = index, period
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._read = self._reader()

    def _reader(self):
        try:
            import pynvml

            pynvml.nvmlInit()
            handle = pynvml.nvmlDeviceGetHandleByIndex(self.index)

            def read() -> tuple[float, float]:
                return (float(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu),
                        pynvml.nvmlDeviceGetMemoryInfo(handle).used / 2**20)
            return read
        except Exception:  # noqa: BLE001 - no pynvml or no NVML: try nvidia-smi
            pass
        if shutil.which("nvidia-smi") is None:
            return None

        def read_smi() -> tuple[float, float]:
            out = subprocess.run(["nvidia-smi", f"--id={self.index}", "--query-gpu=utilization.gpu,memory.used",
                                  "--format=csv,noheader,nounits"], capture_output=True, text=True, timeout=10)
            util, mem = out.stdout.strip().splitlines()[0].split(",")
            return float(util), float(mem)
        return read_smi

    def _loop(self) -> None:
        while not self._stop.wait(self.period):
            try:
                self.samples.append(self._read())
            except Exception:  # noqa: BLE001 - a missed sample is not a failure
                continue

    def __enter__(self) -> "UtilisationSampler":
        if self._read is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=15)

    def summary(self) -> dict:
        if not self.samples:
            return {}
        util = [u for u, _ in self.samples]
        return {"utilisation_mean_pct": sum(util) / len(util), "utilisation_max_pct": max(util),
                "memory_max_mib": max(m for _, m in self.samples), "samples": len(self.samples)}


def evaluations_per_hour(device: str, gpu: str, ks: Iterable[int] = (1, 2, 4), seconds: float = 120.0,
                         dataset: str = "digits", overrides: Optional[dict] = None) -> Iterable[dict]:
    """Figures 2 and 3: for each k, k local workers share GPU 0 (``evaluations_per_gpu=k``; on the
    CPU: k CPU workers); evaluations finished per hour over ``seconds`` after every worker
    finished its first one, and the GPU's utilisation meanwhile."""
    from algebraic_nas.grammar import load_grammar
    from algebraic_nas.search.executors import DaskExecutor
    from algebraic_nas.search.proposal import Proposal
    from algebraic_nas.search.worker import EvaluationTask

    g = load_grammar("hnb201")
    settings = EvaluationTask(grammar="hnb201", dataset=dataset, protocol={"name": "quick", "progress": "none"},
                              device=device, overrides=dict(overrides or {}), threads=1)
    gpus = ["0"] if device == "cuda" else []
    for k in ks:
        base = dict(device=gpu, evaluations_per_gpu=k, protocol="quick", dataset=dataset, window_s=seconds)
        executor = DaskExecutor(n_workers=k, gpus=gpus, evaluations_per_gpu=k, gpu_headroom_mb=1024)
        n = 0
        try:
            def submit() -> None:
                nonlocal n
                executor.submit(settings.for_proposal(n, Proposal(g.sample(10_000 + n))))
                n += 1

            for _ in range(k):
                submit()
            warm: set = set()
            failed = 0
            deadline = time.perf_counter() + 900
            while len(warm) < k:  # every worker has started CUDA and trained once
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"only {len(warm)} of {k} workers finished a first evaluation in 900 s")
                for task, rec in executor.wait(timeout=5):
                    warm.add(rec.get("worker"))
                    failed += rec.get("outcome") != "ok"
                    submit()
            done, start = 0, time.perf_counter()
            with UtilisationSampler() as sampler:
                while time.perf_counter() - start < seconds:
                    for task, rec in executor.wait(timeout=1):
                        done += 1
                        failed += rec.get("outcome") != "ok"
                        submit()
            elapsed = time.perf_counter() - start
            yield record("gpu.quick_evaluations_per_hour", done / elapsed * 3600, "evaluations/h", **base,
                         finished=done, failed=failed, **{f"gpu_{k_}": v for k_, v in sampler.summary().items()})
        except Exception as exc:  # noqa: BLE001 - report, try the next k
            yield record("gpu.quick_evaluations_per_hour.error", None, None, **base, reason=f"{type(exc).__name__}: {exc}"[:300])
        finally:
            executor.cancel_all()
            executor.close()
