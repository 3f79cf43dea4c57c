"""The test toolkit: test cases with captive layers, clients, routes, a live server.

Importing it needs neither Daphne, Redis nor a browser driver: the live
server imports what it runs when a live test class starts.
"""

from typing import Any

from .base import ChannelTestCase, ChannelTestCaseMixin, TransactionChannelTestCase
from .client import Client, WSClient
from .live import ChannelLiveServerTestCase
from .routes import apply_routes

__all__ = [
    "ChannelTestCase",
    "TransactionChannelTestCase",
    "ChannelTestCaseMixin",
    "Client",
    "WSClient",
    "HttpClient",
    "apply_routes",
    "ChannelLiveServerTestCase",
]


def __getattr__(name: str) -> Any:
    # HttpClient is WSClient under its Channels 1.0 name.
    if name == "HttpClient":
        from ..deprecation import warn_renamed

        warn_renamed("channels_test.test.HttpClient", "channels_test.test.WSClient")
        return WSClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
