"""``BaseConsumer``: a class-based consumer that handles a message when built."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..auth import channel_session_user
from ..routing import route_class
from ..sessions import channel_session

__all__ = ["BaseConsumer"]


class BaseConsumer:
    """Handle one message per instance: ``MyConsumer(message, **kwargs)`` runs it.

    ``method_mapping`` maps channel names to method names; those channels are
    what :meth:`channel_names` (and so ``route_class``) listen on. Set
    ``channel_session = True`` or ``channel_session_user = True`` to wrap the
    handler in the decorator of that name.
    """

    # The calls below that pass the route's kwargs on pass them only when
    # there are some: before Python 3.13, a call with ``**kwargs`` leaves the
    # interpreter's fast path even when they are empty, and costs three
    # times a plain call; most routes have no kwargs, and every message
    # makes several such calls.

    method_mapping: dict[str, str] = {}
    channel_session = False
    channel_session_user = False

    def __init__(self, message: Any, **kwargs: Any):
        self.message = message
        self.reply_channel = message.reply_channel
        self.kwargs = kwargs
        if kwargs:
            self.dispatch(message, **kwargs)
        else:
            self.dispatch(message)

    @classmethod
    def channel_names(cls) -> set[str]:
        """Return the channels this consumer handles (the keys of ``method_mapping``)."""
        return set(cls.method_mapping)

    @classmethod
    def as_route(cls, attrs: dict | None = None, **filters: Any) -> Any:
        """Return a ``route_class`` for this consumer, optionally a subclass with ``attrs`` set.

        ``filters`` are the route's regex filters, e.g. ``path=r"^/chat/$"``.
        """
        consumer = cls
        if attrs is not None:
            if not isinstance(attrs, dict):
                raise TypeError(f"as_route(attrs=...) takes a dict of class attributes, not {attrs!r}")
            consumer = type(cls.__name__, (cls,), dict(attrs))
        return route_class(consumer, **filters)

    def get_handler(self, message: Any, **kwargs: Any) -> Callable:
        """Return the bound method for the message's channel, with session decorators applied."""
        channel = message.channel.name
        try:
            method_name = self.method_mapping[channel]
        except KeyError:
            raise ValueError(
                f"{type(self).__qualname__} has no method for channel {channel!r}; its "
                f"method_mapping covers {sorted(self.method_mapping)}."
            ) from None
        handler = getattr(self, method_name)
        if self.channel_session_user:
            return channel_session_user(handler)
        if self.channel_session:
            return channel_session(handler)
        return handler

    def dispatch(self, message: Any, **kwargs: Any) -> Any:
        """Run the handler for ``message``."""
        if kwargs:
            return self.get_handler(message, **kwargs)(message, **kwargs)
        return self.get_handler(message)(message)
