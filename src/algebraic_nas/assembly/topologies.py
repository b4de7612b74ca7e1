"""Built-in topologies beyond the grammar package's edge lists (filled in as the grammars land)."""

from __future__ import annotations
