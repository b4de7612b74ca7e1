"""Building blocks of the other shipped grammars (DARTS, Liu et al., MobileNet, Auto-DeepLab)."""

from __future__ import annotations
