"""Evaluation records and metadata as strict JSON text, the form the store keeps them in."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any


def _json_default(obj: Any) -> Any:
    # numpy scalars / arrays and paths end up in records; store them as plain JSON
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, (Path, os.PathLike)):
        return str(obj)
    return repr(obj)


def strict_json(obj: Any) -> str:
    """``obj`` as strict JSON text: numpy values and paths made plain, NaN and infinities written as
    ``null`` (they are not JSON), so that every reader can parse a stored record."""

    def clean(x: Any) -> Any:
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if isinstance(x, dict):
            return {str(k): clean(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [clean(v) for v in x]
        return x

    return json.dumps(clean(json.loads(json.dumps(obj, default=_json_default))), allow_nan=False)
