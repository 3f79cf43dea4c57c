"""``Channel`` and ``Group``: named destinations on a channel layer."""

from __future__ import annotations

from typing import Any

from .asgi import channel_layers
from .defaults import DEFAULT_CHANNEL_LAYER
from .outbox import pending_message_store

__all__ = ["Channel", "Group", "DEFAULT_CHANNEL_LAYER"]


def _layer_for(alias: str, channel_layer: Any) -> Any:
    if channel_layer is not None:
        return channel_layer
    return channel_layers[alias]


def _check_content(content: Any, what: str) -> None:
    if not isinstance(content, dict):
        raise TypeError(
            f"{what}.send() takes a dict, not {type(content).__name__}: wrap the value, e.g. {{'text': ...}}."
        )


class Channel:
    """A channel by name on a layer (by ``alias``, or a given ``channel_layer``).

    ``send(content)`` inside a consumer is held until the consumer returns
    (and dropped if it raises); elsewhere, or with ``immediately=True``, it
    goes at once.
    """

    def __init__(self, name: str | None, alias: str = DEFAULT_CHANNEL_LAYER, channel_layer: Any = None):
        if type(name) is not str:
            if isinstance(name, bytes):
                name = name.decode("ascii")
            elif not isinstance(name, str) and name is not None:
                raise TypeError(f"Channel name must be a str, not {type(name).__name__}: {name!r}")
        # None is allowed, as in Channels 1.x (tests build Message(content, None, None));
        # the layer refuses to send to it.
        self.name = name
        self.alias = getattr(channel_layer, "alias", alias)
        self.channel_layer = _layer_for(alias, channel_layer)

    def send(self, content: dict, immediately: bool = False) -> None:
        if type(content) is not dict:
            _check_content(content, "Channel")
        if not immediately and pending_message_store.active:
            pending_message_store.append(self, content)
        else:
            self.channel_layer.send(self.name, content)

    def _send_encoded(self, data: bytes) -> None:
        """Send what this layer's ``encode_for_later`` made (the outbox's held sends)."""
        self.channel_layer.send_encoded(self.name, data)

    def __str__(self) -> str:
        if self.name is None:
            # As before: str() of a nameless Channel(None) raises TypeError.
            raise TypeError("__str__ returned non-string (type NoneType)")
        return self.name

    def __repr__(self) -> str:
        return f"<Channel {self.name!r} on {self.alias!r}>"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Channel):
            return self.name == other.name and self.channel_layer is other.channel_layer
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.name)


class Group:
    """A group of channels by name; sends reach every member channel."""

    def __init__(self, name: str, alias: str = DEFAULT_CHANNEL_LAYER, channel_layer: Any = None):
        if isinstance(name, bytes):
            name = name.decode("ascii")
        self.name = name
        self.alias = getattr(channel_layer, "alias", alias)
        self.channel_layer = _layer_for(alias, channel_layer)

    def add(self, channel: Channel | str) -> None:
        """Add a channel (a :class:`Channel` or its name); renews its membership."""
        self.channel_layer.group_add(self.name, _channel_name(channel))

    def discard(self, channel: Channel | str) -> None:
        """Remove a channel from the group; a non-member is ignored."""
        self.channel_layer.group_discard(self.name, _channel_name(channel))

    def channel_names(self) -> list[str]:
        """Return the names of the channels in the group now."""
        return self.channel_layer.group_channels(self.name)

    def send(self, content: dict, immediately: bool = False) -> None:
        _check_content(content, "Group")
        if not immediately and pending_message_store.active:
            pending_message_store.append(self, content)
        else:
            self.channel_layer.send_group(self.name, content)

    def _send_encoded(self, data: bytes) -> None:
        """Send what this layer's ``encode_for_later`` made (the outbox's held sends)."""
        self.channel_layer.send_group_encoded(self.name, data)

    def __repr__(self) -> str:
        return f"<Group {self.name!r} on {self.alias!r}>"


def _channel_name(channel: Channel | str) -> str | None:
    return channel.name if isinstance(channel, Channel) else channel
