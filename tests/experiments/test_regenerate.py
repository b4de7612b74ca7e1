"""The experiments' analyses regenerate their committed tables from committed raw data only.

One experiment end to end (strategy_comparison: its analysis reads the committed per-evaluation
``results.csv``, ~2 s): every derived text file comes out byte for byte as committed, the README's
generated blocks equal those files, the raw data are left untouched, and the step that rebuilds
raw data refuses without run stores instead of truncating them. ``make results`` checks every
experiment, figures included.
"""

from __future__ import annotations

import hashlib
import importlib.util
import struct
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = ROOT / "experiments"
NAME = "strategy_comparison"
HERE = EXPERIMENTS / NAME


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("regenerated")
    raw_before = _sha(HERE / "results.csv")
    done = subprocess.run([sys.executable, str(HERE / "analyse.py"), "--out", str(out)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert _sha(HERE / "results.csv") == raw_before, "the analysis changed its raw data"
    return out


def test_text_outputs_are_byte_identical(regenerated: Path) -> None:
    regen = _load(EXPERIMENTS / "regenerate.py", "regenerate_under_test")
    texts = [f for f in regen.EXPERIMENTS[NAME] if not f.endswith(".png")]
    assert texts, "no text outputs registered"
    for f in texts:
        assert (regenerated / f).read_bytes() == (HERE / f).read_bytes(), f"{NAME}/{f} does not regenerate"


def test_figure_is_written_at_the_committed_size(regenerated: Path) -> None:
    # bytes may differ with another matplotlib/freetype build; `make results` compares them byte for byte
    assert _png_size(regenerated / "anytime.png") == _png_size(HERE / "anytime.png")


def test_readme_blocks_are_the_generated_files() -> None:
    reporting = _load(EXPERIMENTS / "reporting.py", "reporting_under_test")
    blocks = reporting.readme_blocks(HERE / "README.md")
    assert {f for f, _ in blocks} >= {"summary.md", "comparisons.md", "facts.md"}
    for f, text in blocks:
        assert text == (HERE / f).read_text(), f"README block of {f} is stale"


def test_rebuilding_raw_data_without_run_stores_refuses(tmp_path: Path) -> None:
    sys.path.insert(0, str(EXPERIMENTS))
    try:
        analyse = _load(HERE / "analyse.py", "strategy_comparison_analyse_under_test")
    finally:
        sys.path.remove(str(EXPERIMENTS))
    target = tmp_path / "results.csv"
    target.write_text("kept\n")
    with pytest.raises(SystemExit, match="no run stores"):
        analyse.rebuild_csv(tmp_path / "runs", target)
    assert target.read_text() == "kept\n"


def test_paired_rule_words() -> None:
    reporting = _load(EXPERIMENTS / "reporting.py", "reporting_rule_under_test")
    a = {s: 0.10 + 0.001 * s for s in range(5)}
    b = {s: 0.20 + 0.002 * s + (0.004 if s % 2 else 0.0) for s in range(5)}
    assert reporting.paired(a, b)["verdict"] == "better"
    assert reporting.paired(b, a)["verdict"] == "worse"
    assert reporting.paired({0: 0.1, 1: 0.2, 2: 0.3}, {0: 0.2, 1: 0.3, 2: 0.4})["verdict"] == "too few seeds"
    noisy = reporting.paired({s: 0.1 + (0.05 if s % 2 else -0.05) for s in range(6)}, {s: 0.1 for s in range(6)})
    assert noisy["verdict"] == "no significant difference" and noisy["p"] > 0.05
