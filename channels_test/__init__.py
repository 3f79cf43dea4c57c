"""Django channels in the 1.x model: interface server, channel layers, workers,
consumers, and a unittest-style toolkit to test them."""

from .asgi import channel_layers
from .channel import Channel, Group
from .defaults import DEFAULT_CHANNEL_LAYER
from .routing import include, route, route_class

__version__ = "0.1.0"
__all__ = [
    "DEFAULT_CHANNEL_LAYER",
    "Channel",
    "Group",
    "channel_layers",
    "route",
    "route_class",
    "include",
]
