"""Routing: which consumer handles a message, chosen by channel and content.

A routing is a list of :func:`route`, :func:`route_class` and
:func:`include` entries (or a dotted path to such a list). The first entry
that matches a message wins.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .exceptions import ConfigurationError
from .utils import name_that_thing

__all__ = [
    "Router",
    "Route",
    "RouteClass",
    "Include",
    "route",
    "route_class",
    "include",
    "null_consumer",
    "connect_consumer",
]


def _compile_filters(filters: dict, owner: str) -> dict:
    compiled = {}
    for name, pattern in filters.items():
        if isinstance(pattern, bytes):
            pattern = pattern.decode("ascii")
        try:
            regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        except re.error as error:
            raise ImproperlyConfigured(f"{owner}: filter {name}={pattern!r} is not a valid regex: {error}") from error
        if not hasattr(regex, "match"):
            raise ImproperlyConfigured(
                f"{owner}: filter {name}={pattern!r} must be a regex string or a compiled regex."
            )
        if regex.groups != len(regex.groupindex):
            raise ConfigurationError(
                f"{owner}: filter {name}={regex.pattern!r} has unnamed groups; name them "
                "(e.g. (?P<room>\\w+)) so they become consumer keyword arguments, or use (?:...)."
            )
        compiled[name] = regex
    return compiled


# The values no include stripped a prefix from: none (never written to).
_NO_REMAINDER: dict = {}


def _filter_value(message: Any, name: str, remainder: dict) -> str | None:
    """Return the value a filter matches against: a prefix-stripped one, or the message's."""
    if name in remainder:
        return remainder[name]
    value = message.content.get(name)
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value if isinstance(value, str) else None


class Route:
    """Send messages on ``channels`` whose content matches ``filters`` to ``consumer``.

    Each filter is a regex matched (``re.match``) against the message key of
    the same name; its named groups become keyword arguments of the consumer.
    """

    def __init__(self, channels: str | bytes | list, consumer: Callable | str, **filters: Any):
        if isinstance(channels, (str, bytes)):
            channels = [channels]
        self.channels = [c.decode("ascii") if isinstance(c, bytes) else c for c in channels]
        if isinstance(consumer, str):
            try:
                consumer = import_string(consumer)
            except ImportError as error:
                raise ImproperlyConfigured(
                    f"Route for {self.channels}: cannot import consumer {consumer!r}: {error}"
                ) from error
        self.consumer = consumer
        if not callable(consumer):
            raise ImproperlyConfigured(
                f"{self}: the consumer {consumer!r} is not callable; pass a function or a consumer class."
            )
        if not self.channels or not all(isinstance(c, str) for c in self.channels):
            raise ImproperlyConfigured(f"{self}: channels must be channel names (str).")
        self.filters = _compile_filters(filters, str(self))

    def match(self, message: Any, remainder: dict | None = None) -> tuple | None:
        """Return ``(consumer, kwargs)`` if this route takes ``message``, else None."""
        if message.channel.name not in self.channels:
            return None
        kwargs: dict = {}
        if remainder is None:
            remainder = _NO_REMAINDER
        for name, regex in self.filters.items():
            value = _filter_value(message, name, remainder)
            if value is None:
                return None
            found = regex.match(value)
            if found is None:
                return None
            if regex.groups:
                kwargs.update(found.groupdict())
        return self.consumer, kwargs

    def channel_names(self) -> set[str]:
        return set(self.channels)

    def __str__(self) -> str:
        filters = "".join(f" {name}={regex.pattern!r}" for name, regex in getattr(self, "filters", {}).items())
        return f"route({', '.join(map(repr, self.channels))} -> {name_that_thing(self.consumer)}{filters})"


class RouteClass(Route):
    """A route to a consumer class, on the channels its ``channel_names()`` gives."""

    def __init__(self, consumer: Any, channels: list | None = None, **filters: Any):
        if isinstance(consumer, str):
            consumer = import_string(consumer)
        if not callable(getattr(consumer, "channel_names", None)):
            raise ConfigurationError(
                f"route_class({name_that_thing(consumer)}): a class consumer needs a channel_names() "
                "classmethod (subclass channels_test.generic.BaseConsumer); for a function use route()."
            )
        super().__init__(channels or sorted(consumer.channel_names()), consumer, **filters)


class Include:
    """Routes from another routing, tried only when ``prefixes`` match.

    Each prefix regex is matched against the start of its message key; the
    matched part is stripped before the included routes see the key, and its
    named groups are passed on to the consumer.
    """

    def __init__(self, routing: list | tuple | dict | str, **prefixes: Any):
        self.routing = Router.resolve_routing(routing)
        self.prefixes = _compile_filters(prefixes, f"include({routing!r})")

    def match(self, message: Any, remainder: dict | None = None) -> tuple | None:
        if not self.prefixes:
            # Nothing to strip (the router's own root): the entries decide alone.
            remainder = remainder or _NO_REMAINDER
            for entry in self.routing:
                matched = _match_entry(entry, message, remainder)
                if matched is not None:
                    return matched
            return None
        remainder = dict(remainder or {})
        kwargs = {}
        for name, regex in self.prefixes.items():
            value = _filter_value(message, name, remainder)
            if value is None:
                return None
            found = regex.match(value)
            if found is None:
                return None
            kwargs.update(found.groupdict())
            remainder[name] = value[found.end() :]
        for entry in self.routing:
            matched = _match_entry(entry, message, remainder)
            if matched is not None:
                consumer, entry_kwargs = matched
                return consumer, {**kwargs, **entry_kwargs}
        return None

    def channel_names(self) -> set[str]:
        names: set[str] = set()
        for entry in self.routing:
            names.update(entry.channel_names())
        return names


def _match_entry(entry: Any, message: Any, remainder: dict) -> tuple | None:
    """Match one routing entry; a routable of the user's own sees the stripped values.

    As in Channels 1.x, any object with ``match(message)`` and
    ``channel_names()`` can stand in a routing; under an :class:`Include`
    with prefixes it gets a copy of the message with the prefixes removed.
    """
    if isinstance(entry, (Route, Include)):
        return entry.match(message, remainder)
    if remainder:
        message = message.copy()
        for name, value in remainder.items():
            message.content[name] = value
    return entry.match(message)


def _filtered_keys(entry: Any) -> set | None:
    """Return the message keys ``entry`` filters on, or None if its match may depend on more."""
    kind = type(entry)
    if kind is Route or kind is RouteClass:
        filters = entry.filters
    elif kind is Include:
        filters = entry.prefixes
    else:
        return None
    if not all(type(regex) is re.Pattern for regex in filters.values()):
        return None  # a matcher of the user's own may keep state
    keys = set(filters)
    if kind is Include:
        for included in entry.routing:
            included_keys = _filtered_keys(included)
            if included_keys is None:
                return None
            keys |= included_keys
    return keys


def _is_routable(entry: Any) -> bool:
    return callable(getattr(entry, "match", None)) and callable(getattr(entry, "channel_names", None))


def null_consumer(*args: Any, **kwargs: Any) -> None:
    """Consume a message and do nothing (the default for WebSocket frames and disconnects)."""


def connect_consumer(message: Any, *args: Any, **kwargs: Any) -> None:
    """Accept a WebSocket connection (the default ``websocket.connect`` consumer)."""
    message.reply_channel.send({"accept": True})


class Router:
    """Match messages to consumers, given a routing (list, dict or dotted path).

    The router holds the routing's own entries only: :meth:`match` returns
    None for a message none of them takes. Servers that consume every
    message (``runworker``, ``runserver``, the live server's workers) call
    :meth:`check_default` first, as in Channels 1.x, so that ``http.request``
    goes to Django's views, ``websocket.connect`` is accepted, and
    ``websocket.receive`` and ``websocket.disconnect`` are consumed doing
    nothing, wherever no route of the routing took them.
    """

    #: How many messages' routes :meth:`match` remembers (forgotten all at once when full).
    remembered_matches = 256

    def __init__(self, routing: list | dict | str | None):
        self.root = Include(routing if routing is not None else [])
        self.channels = self.root.channel_names()
        self._forget_matches()

    def _forget_matches(self) -> None:
        """Start remembering matches afresh, if the routing's choice depends on filters alone.

        It does when every entry is one of ours (a route, route_class or
        include) filtering with compiled regular expressions: then the
        channel and the values of the filtered keys decide the match, and a
        message that repeats them gets the same consumer and keyword
        arguments. A routable of the user's own may decide by anything, so
        with one anywhere nothing is remembered.
        """
        filtered = _filtered_keys(self.root)
        self._filtered_keys = tuple(sorted(filtered)) if filtered is not None else None
        self._matches: dict = {}
        self._entry_count = len(self.root.routing)

    def add_route(self, entry: Any) -> None:
        """Add ``entry`` (a route, include or other routable) at the end of the routing."""
        if not _is_routable(entry):
            raise TypeError(
                f"add_route() takes a route: route('channel', consumer), route_class(...) "
                f"or include(...), not {entry!r}."
            )
        self.root.routing.append(entry)
        self.channels = self.root.channel_names()
        self._forget_matches()

    def check_default(self, http_consumer: Callable | None = None) -> None:
        """Add Django's default consumers after the routing's own entries.

        ``http.request`` goes to ``http_consumer`` (default: a
        :class:`~channels_test.handler.ViewConsumer` running Django's views),
        ``websocket.connect`` is accepted and ``websocket.receive`` and
        ``websocket.disconnect`` are consumed doing nothing. Routes of the
        routing come first, so they win wherever they match.
        """
        if http_consumer is None:
            from .handler import ViewConsumer

            http_consumer = ViewConsumer()
        self.add_route(Route("http.request", http_consumer))
        self.add_route(Route("websocket.connect", connect_consumer))
        self.add_route(Route("websocket.receive", null_consumer))
        self.add_route(Route("websocket.disconnect", null_consumer))

    def match(self, message: Any) -> tuple | None:
        """Return ``(consumer, kwargs)`` for ``message``, or None if no route takes it."""
        if len(self.root.routing) != self._entry_count:
            self._forget_matches()  # entries were appended to the routing
        names = self._filtered_keys
        if names is None:
            return self.root.match(message)
        content = message.content
        if len(names) == 1:  # the usual one filter (path)
            key = (message.channel.name, content.get(names[0]))
        else:
            key = (message.channel.name, *[content.get(name) for name in names])
        try:
            matched = self._matches[key]
        except KeyError:
            matched = self._matches[key] = self.root.match(message)
            if len(self._matches) > self.remembered_matches:
                self._matches = {key: matched}
        except TypeError:  # an unhashable value (a list where a path should be)
            return self.root.match(message)
        if matched is None:
            return None
        consumer, kwargs = matched
        return consumer, dict(kwargs)  # the consumer's own copy

    @staticmethod
    def resolve_routing(routing: Any) -> list:
        """Turn a routing (list, tuple, dict, single entry or dotted path) into a list of entries."""
        if isinstance(routing, str):
            try:
                routing = import_string(routing)
            except ImportError as error:
                raise ImproperlyConfigured(
                    f"Cannot import the routing {routing!r}: {error}. ROUTING must be the "
                    "dotted path of a list, e.g. 'myproject.routing.channel_routing'."
                ) from error
        if _is_routable(routing):
            return [routing]
        if isinstance(routing, dict):
            # The oldest form: {"channel.name": consumer, ...}.
            return [Route(channel, consumer) for channel, consumer in routing.items()]
        if not isinstance(routing, (list, tuple)):
            raise ImproperlyConfigured(
                f"A routing must be a list of route()/route_class()/include() entries "
                f"(or a dict of channel -> consumer), not {type(routing).__name__}: {routing!r}"
            )
        entries = []
        for entry in routing:
            if isinstance(entry, (list, tuple)):
                entries.extend(Router.resolve_routing(entry))
            elif _is_routable(entry):
                entries.append(entry)
            else:
                raise ImproperlyConfigured(
                    f"Routing entry {entry!r} is not a route: use route('channel', consumer), "
                    "route_class(ConsumerClass) or include('dotted.path')."
                )
        return entries


route = Route
route_class = RouteClass
include = Include
