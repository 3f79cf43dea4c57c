"""Names every other module of the package may import without importing anything else."""

from __future__ import annotations

__all__ = ["DEFAULT_CHANNEL_LAYER"]

#: The ``CHANNEL_LAYERS`` alias used when none is given.
DEFAULT_CHANNEL_LAYER = "default"
