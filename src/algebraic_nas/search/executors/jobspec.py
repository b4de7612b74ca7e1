"""What a batch job asks for, checked and written the way SLURM and PBS read it.

* ``walltime``: ``HH:MM:SS``, ``MM:SS``, SLURM's ``D-HH[:MM[:SS]]`` or units (``4h``, ``90m``,
  ``1h30m``, ``2d``, ``45s``), written as ``HH:MM:SS`` (hours may exceed 24). A bare number is
  refused: SLURM reads it as minutes, PBS as seconds.
* ``memory``: a number with a unit, ``K``/``M``/``G``/``T`` with or without ``B``/``iB``, each
  counted in powers of 1024 as SLURM and PBS count them, and written with the user's figure:
  ``32GB`` books ``--mem=32G`` (``mem=32GB`` on PBS), not the ``30G`` that 32e9 bytes round up
  to. A bare number is refused: SLURM would read ``32`` as 32 MB.
* The workers' interpreter: the driver's, or with a ``prologue`` (which may activate another
  environment) the ``python`` found after it when that one imports algebraic_nas.
"""

from __future__ import annotations

import re
import shlex
import sys
from typing import Any, Optional

from algebraic_nas.errors import ConfigError

_UNIT_S = {"d": 86400, "h": 3600, "m": 60, "min": 60, "s": 1}
_UNITS = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|min|m|s)", re.IGNORECASE)
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT])(?:i?B)?\s*$", re.IGNORECASE)
WALLTIME_FORMS = "HH:MM:SS, MM:SS, D-HH:MM:SS or units such as 4h, 90m, 1h30m"
PYTHON_VAR = "ALGEBRAIC_NAS_PYTHON"


def _clock_seconds(text: str) -> Optional[int]:
    """Seconds of ``[D-]HH:MM:SS``, ``MM:SS`` or ``D-HH[:MM]`` (``None``: not that form)."""
    days = 0
    m = re.fullmatch(r"(\d+)-(\d+(?::\d+){0,2})", text)
    if m:  # SLURM: D-HH, D-HH:MM, D-HH:MM:SS
        days, text = int(m.group(1)), m.group(2)
        parts = [int(p) for p in text.split(":")] + [0] * (2 - text.count(":"))
    elif re.fullmatch(r"\d+:\d+(:\d+)?", text):
        parts = [int(p) for p in text.split(":")]
        parts = [0] * (3 - len(parts)) + parts  # MM:SS -> 0:MM:SS
    else:
        return None
    h, mi, s = parts
    if mi >= 60 or s >= 60:
        return -1
    return ((days * 24 + h) * 60 + mi) * 60 + s


def walltime_hms(value: Any) -> str:
    """``value`` as ``HH:MM:SS`` (ConfigError naming ``executor.walltime`` when it is not a time
    both SLURM and PBS read the same way)."""
    text = str(value).strip() if isinstance(value, str) else None
    bad = ConfigError(f"executor.walltime={value!r}: not a wall time ({WALLTIME_FORMS}; a bare number is "
                      "ambiguous: SLURM reads minutes, PBS seconds)")
    if not text:
        raise bad
    seconds = _clock_seconds(text)
    if seconds is None:
        pieces = _UNITS.findall(text)
        if not pieces or _UNITS.sub("", text).strip():
            raise bad
        seconds = round(sum(float(n) * _UNIT_S[u.lower()] for n, u in pieces))
    if seconds <= 0:
        raise bad
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def memory_figure(value: Any) -> tuple[int, str]:
    """``value`` as ``(amount, unit)`` in the batch systems' 1024-based units, the unit the
    user wrote unless the amount is fractional (``"32GB"`` -> ``(32, "G")``, ``"1.5G"`` ->
    ``(1536, "M")``); ConfigError naming ``executor.memory`` otherwise."""
    m = _MEMORY.match(value) if isinstance(value, str) else None
    if m is None or float(m.group(1)) <= 0:
        raise ConfigError(f"executor.memory={value!r}: not an amount of memory with a unit (16GB, 4000MB; "
                          "K/M/G/T count in powers of 1024 as in SLURM and PBS; SLURM would read a bare 32 as 32 MB)")
    amount, unit = float(m.group(1)), m.group(2).upper()
    units = "KMGT"
    while amount != int(amount) and unit != "K":
        amount, unit = amount * 1024, units[units.index(unit) - 1]
    return max(1, round(amount)), unit


def batch_memory(value: Any) -> str:
    """``value`` in Dask's spelling (``"32GB"`` -> ``"32GiB"``: the workers' memory limit)."""
    amount, unit = memory_figure(value)
    return f"{amount}{unit}iB"


def python_lines(python: Optional[str], prologue: list[str]) -> tuple[str, list[str]]:
    """``(interpreter for the worker command, job-script lines choosing it)``.

    ``executor.python`` when set; without a prologue, the driver's interpreter (the job shares
    the driver's file system and, on SLURM, its environment); with one, ``python`` as found
    after the prologue when it imports algebraic_nas (the environment the prologue activated),
    else the driver's interpreter. The job's log says which one runs the workers."""
    if python:
        return python, []
    if not prologue:
        return sys.executable, []
    driver = shlex.quote(sys.executable)
    return f"\"${PYTHON_VAR}\"", [
        f"{PYTHON_VAR}=$(command -v python || command -v python3 || true)",
        f'if [ -z "${PYTHON_VAR}" ] || ! "${PYTHON_VAR}" -c "import algebraic_nas" 2>/dev/null; '
        f"then {PYTHON_VAR}={driver}; fi",
        f'echo "algebraic-nas workers run ${PYTHON_VAR}" >&2',
    ]
