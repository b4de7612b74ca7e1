"""``python -m benchmarks gpu`` without a GPU: it says it was skipped and why, and its parts run on
the CPU at toy sizes (the nb201 extrapolation, evaluations per hour through the local executor
with k workers, the utilisation sampler without a GPU)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # the benchmarks package lives next to src/

import benchmarks.bench_gpu as bench  # noqa: E402


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the record printed without CUDA")
def test_without_cuda_it_prints_one_skipped_record(tmp_path):
    out = subprocess.run([sys.executable, "-m", "benchmarks", "gpu"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    (line,) = out.stdout.splitlines()
    rec = json.loads(line)
    assert rec["name"] == "gpu.skipped" and "no CUDA GPU" in rec["settings"]["reason"]


def test_the_all_conv3x3_network_is_a_nb201_cell_term():
    from algebraic_nas.grammar import load_grammar

    term = load_grammar("nb201_cell").parse(bench.ALL_CONV3X3)
    assert str(term).count("conv3x3") == 15 * 6 and "conv1x1" not in str(term)
    assert set(bench.networks()) == {"nb201_cell_all_conv3x3", "hnb201_sample0", "hnb201_sample1"}


def test_nb201_extrapolation_and_evaluations_per_hour_run_on_the_cpu():
    torch.set_num_threads(1)
    tiny = {"tiny": ("nb201_cell", bench.ALL_CONV3X3.replace("conv3x3", "conv1x1"))}
    recs = list(bench.nb201_evaluation_times("cpu", "cpu", epochs=2, train_images=64, valid_images=64,
                                             variants={"eager_fp32": {}}, nets=tiny))
    (rec,) = recs
    s = rec["settings"]
    assert rec["name"] == "gpu.nb201_evaluation.tiny.eager_fp32" and rec["unit"] == "s"
    # 200 epochs of 25,000 images at the measured per-image rate, plus setup/validation and warm-up
    assert rec["value"] >= 200 * s["steady_epoch_s"] > 0 and s["train_images"] == 64
    recs = list(bench.evaluations_per_hour("cpu", "cpu", ks=(1,), seconds=2.0,
                                           overrides={"epochs": 1, "batch_size": 128}))
    (rate,) = recs
    assert rate["name"] == "gpu.quick_evaluations_per_hour" and rate["value"] >= 0, rate
    assert rate["settings"]["evaluations_per_gpu"] == 1


def test_the_utilisation_sampler_without_a_gpu_reports_nothing():
    sampler = bench.UtilisationSampler(period=0.05)
    sampler._read = None  # as on a machine without pynvml and nvidia-smi
    with sampler:
        pass
    assert sampler.summary() == {}
