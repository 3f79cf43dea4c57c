"""Django channels in the 1.x model: interface server, channel layers, workers,
consumers, and a unittest-style toolkit to test them."""

from .channel import DEFAULT_CHANNEL_LAYER, Channel, Group
from .asgi import channel_layers  # noqa: E402 (needs DEFAULT_CHANNEL_LAYER first)
from .routing import include, route, route_class  # noqa: E402

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
