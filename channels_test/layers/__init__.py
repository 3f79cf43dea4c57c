"""Channel layer backends; see :mod:`channels_test.layers.base` for the contract."""

from .base import BaseChannelLayer, ChannelFull, MessageTooLarge

__all__ = ["BaseChannelLayer", "ChannelFull", "MessageTooLarge"]
