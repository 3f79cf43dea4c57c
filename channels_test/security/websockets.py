"""Origin checks for WebSocket connections.

Browsers send an ``Origin`` header with every WebSocket handshake; checking it
stops other sites' pages from opening sockets with your users' cookies.
Wrap a connect consumer (function or method) with :data:`allowed_hosts_only`
to accept only origins whose host is in ``ALLOWED_HOSTS``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import validate_host

from ..exceptions import DenyConnection

__all__ = ["BaseOriginValidator", "AllowedHostsOnlyOriginValidator", "allowed_hosts_only"]

logger = logging.getLogger("channels_test.security")


def _header(message: Any, wanted: bytes) -> bytes | None:
    """Return the raw value of header ``wanted`` (a list of byte pairs, or a dict as 1.x allowed)."""
    headers = message.content.get("headers") or []
    pairs = headers.items() if isinstance(headers, dict) else headers
    for pair in pairs:
        try:
            name, value = pair
        except (TypeError, ValueError):
            continue
        if isinstance(name, str):
            name = name.encode("latin-1")
        if isinstance(name, bytes) and name.lower() == wanted:
            return value if isinstance(value, bytes) else str(value).encode("latin-1", "replace")
    return None


class BaseOriginValidator:
    """Wrap a consumer; on ``websocket.connect`` let it run only for a valid Origin.

    A missing, empty, non-ASCII or refused Origin raises
    :class:`~channels_test.exceptions.DenyConnection`, as in Channels 1.x:
    a worker turns it into the refusal, and a test client lets it reach the
    test. Messages on other channels pass through. Subclasses implement
    :meth:`validate_origin`.
    """

    def __init__(self, func: Callable):
        functools.update_wrapper(self, func)
        self.func = func

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        return type(self)(self.func.__get__(instance, owner))

    def __call__(self, message: Any, *args: Any, **kwargs: Any) -> Any:
        if message.channel.name == "websocket.connect" or message.channel.name is None:
            origin = self.get_origin(message)
            if not self.validate_origin(message, origin):
                logger.warning("Refused a WebSocket to %s from Origin %r.", message.get("path"), origin)
                raise DenyConnection
        return self.func(message, *args, **kwargs)

    def get_header(self, message: Any, name: bytes) -> bytes:
        """Return the value of header ``name`` (lower-case bytes), or raise KeyError."""
        value = _header(message, name)
        if value is None:
            raise KeyError(f"No header named {name!r}")
        return value

    def get_origin(self, message: Any) -> str:
        """Return the message's Origin; raise DenyConnection if it is missing, empty or not ASCII."""
        try:
            header = self.get_header(message, b"origin")
        except KeyError:
            logger.warning("Refused a WebSocket to %s: no Origin header.", message.get("path"))
            raise DenyConnection from None
        try:
            origin = header.decode("ascii")
        except UnicodeDecodeError:
            logger.warning("Refused a WebSocket to %s: a non-ASCII Origin.", message.get("path"))
            raise DenyConnection from None
        if not origin:
            logger.warning("Refused a WebSocket to %s: an empty Origin header.", message.get("path"))
            raise DenyConnection
        return origin

    def validate_origin(self, message: Any, origin: str) -> bool:
        """Return True to accept a connection from ``origin`` (the whole header, e.g. ``https://example.com``)."""
        raise NotImplementedError(f"{type(self).__qualname__} must implement validate_origin(message, origin).")


class AllowedHostsOnlyOriginValidator(BaseOriginValidator):
    """Allow Origins whose host matches ``ALLOWED_HOSTS`` (``.example.com``, ``host:port``, ``*``).

    With ``DEBUG`` on and ``ALLOWED_HOSTS`` empty, localhost origins are allowed,
    as Django does for requests.
    """

    def validate_origin(self, message: Any, origin: str) -> bool:
        try:
            parts = urlsplit(origin)
            hostname, port = parts.hostname, parts.port
        except ValueError:
            return False
        if not hostname:
            return False
        if ":" in hostname:
            hostname = f"[{hostname}]"
        allowed_hosts = list(settings.ALLOWED_HOSTS)
        if settings.DEBUG and not allowed_hosts:
            allowed_hosts = [".localhost", "127.0.0.1", "[::1]"]
        if validate_host(hostname, allowed_hosts):
            return True
        return port is not None and validate_host(f"{hostname}:{port}", allowed_hosts)


allowed_hosts_only = AllowedHostsOnlyOriginValidator
