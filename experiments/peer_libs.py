"""Peer libraries (Optuna, SMAC3) for the experiments only: installed with ``pip install --target``
into an ignored folder under ``experiments/`` and appended to ``sys.path``, never into the
project's virtual environment or its dependencies.

    from peer_libs import ensure
    ensure(["optuna>=3.6"])          # then: import optuna
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

# `runs/` folders are ignored by git (the project's .gitignore)
TARGET = Path(__file__).resolve().parent / "runs" / "peers-lib"


def activate(target: Path = TARGET) -> None:
    """Make the installed peers importable; appended, so the project's own numpy, torch, ... win."""
    if str(target) not in sys.path:
        sys.path.append(str(target))


def read_requirements(path: Path) -> list[str]:
    """The requirement lines of a requirements file (comments and blank lines dropped)."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def ensure(requirements: list[str], module: str = "optuna", target: Path = TARGET) -> None:
    """Install ``requirements`` into ``target`` unless ``module`` is importable (from there or the
    venv), then put ``target`` on ``sys.path``."""
    activate(target)
    if importlib.util.find_spec(module) is None:
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--target", str(target), *requirements], check=True)
        importlib.invalidate_caches()
