"""Origin checks for WebSocket connections.

Browsers send an ``Origin`` header with every WebSocket handshake; checking it
stops other sites' pages from opening sockets with your users' cookies.
Wrap a connect consumer (function or method) with :data:`allowed_hosts_only`
to accept only origins whose host is in ``ALLOWED_HOSTS``.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import validate_host

__all__ = ["BaseOriginValidator", "AllowedHostsOnlyOriginValidator", "allowed_hosts_only"]

logger = logging.getLogger("channels_test.security")


def origin_of(message: Any) -> str | None:
    """Return the message's ``Origin`` header as text, or None."""
    for pair in message.content.get("headers") or []:
        if len(pair) == 2 and isinstance(pair[0], bytes) and pair[0].lower() == b"origin":
            try:
                return pair[1].decode("ascii") if isinstance(pair[1], bytes) else str(pair[1])
            except UnicodeDecodeError:
                return None
    return None


class BaseOriginValidator:
    """Wrap a consumer; on ``websocket.connect`` let it run only for a valid Origin.

    A missing, unparsable or refused Origin gets ``{"accept": False}`` on the
    reply channel and the consumer does not run. Other channels pass through.
    Subclasses implement :meth:`validate_origin`.
    """

    def __init__(self, consumer: Callable):
        self.inner = consumer
        functools.update_wrapper(self, consumer)

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        validator = type(self)(self.inner.__get__(instance, owner))
        return validator

    def __call__(self, message: Any, *args: Any, **kwargs: Any) -> Any:
        if message.channel.name != "websocket.connect" or self.check(message):
            return self.inner(message, *args, **kwargs)
        return self.deny(message)

    def check(self, message: Any) -> bool:
        """Return True if the message's Origin passes :meth:`validate_origin`."""
        origin = origin_of(message)
        if origin is None:
            logger.warning("Refused a WebSocket to %s: no Origin header.", message.get("path"))
            return False
        try:
            parts = urlsplit(origin)
            hostname, port = parts.hostname, parts.port
        except ValueError:
            hostname = port = None
        if not hostname:
            logger.warning("Refused a WebSocket to %s: unparsable Origin %r.", message.get("path"), origin)
            return False
        if ":" in hostname:
            hostname = f"[{hostname}]"
        if self.validate_origin(message, hostname, port):
            return True
        logger.warning("Refused a WebSocket to %s from Origin %r.", message.get("path"), origin)
        return False

    def validate_origin(self, message: Any, hostname: str, port: int | None = None) -> bool:
        """Return True to allow an Origin with ``hostname`` (and explicit ``port``, if any)."""
        raise NotImplementedError(f"{type(self).__qualname__} must implement validate_origin().")

    def deny(self, message: Any) -> None:
        """Refuse the connection."""
        message.reply_channel.send({"accept": False})


class AllowedHostsOnlyOriginValidator(BaseOriginValidator):
    """Allow Origins whose host matches ``ALLOWED_HOSTS`` (``.example.com``, ``host:port``, ``*``).

    With ``DEBUG`` on and ``ALLOWED_HOSTS`` empty, localhost origins are allowed,
    as Django does for requests.
    """

    def validate_origin(self, message: Any, hostname: str, port: int | None = None) -> bool:
        allowed_hosts = list(settings.ALLOWED_HOSTS)
        if settings.DEBUG and not allowed_hosts:
            allowed_hosts = [".localhost", "127.0.0.1", "[::1]"]
        if validate_host(hostname, allowed_hosts):
            return True
        return port is not None and validate_host(f"{hostname}:{port}", allowed_hosts)


allowed_hosts_only = AllowedHostsOnlyOriginValidator
