"""Channels 1.x's module path of :class:`~channels_test.test.WSClient`."""

from .client import WSClient

__all__ = ["WSClient"]
