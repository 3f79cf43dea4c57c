"""Django channels in the 1.x model: interface server, channel layers, workers,
consumers, and a unittest-style toolkit to test them."""

from .channel import DEFAULT_CHANNEL_LAYER, Channel, Group

__version__ = "0.1.0"
__all__ = ["DEFAULT_CHANNEL_LAYER", "Channel", "Group"]
