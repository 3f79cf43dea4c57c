"""The message a consumer receives.

``pending_message_store`` (the store that holds a consumer's sends) lives in
:mod:`channels_test.outbox`; it is importable from here as in 1.x.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .asgi import ChannelLayerWrapper
from .channel import Channel
from .layers.base import decode_message, encode_message, validate_message
from .outbox import PendingMessageStore, pending_message_store

_new = object.__new__

__all__ = ["Message", "PendingMessageStore", "pending_message_store"]


class Message:
    """A message taken off a channel, as a consumer sees it.

    Reads like a dict over ``content``; also carries the ``channel`` it came
    on, the ``channel_layer`` it came from and, when the content names one,
    the ``reply_channel`` (a :class:`~channels_test.Channel`, else None).
    Decorators attach ``channel_session``, ``http_session`` and ``user``.
    """

    reply_channel: Channel | None

    def __init__(self, content: dict, channel_name: str | None, channel_layer: Any):
        self.content = content
        reply_channel = content.get("reply_channel")
        if (
            type(channel_name) is str
            and (reply_channel is None or type(reply_channel) is str)
            and isinstance(channel_layer, ChannelLayerWrapper)
        ):
            # A message a layer handed out (the workers' and test clients' every message): its
            # Channels are made without Channel.__init__'s checks, which are for names from user code.
            alias = channel_layer.alias
            self.channel = channel = _new(Channel)
            channel.name, channel.alias, channel.channel_layer = channel_name, alias, channel_layer
            self.channel_layer = channel_layer
            reply: Channel | None = None
            if reply_channel:
                reply = _new(Channel)
                reply.name, reply.alias, reply.channel_layer = reply_channel, alias, channel_layer
            self.reply_channel = reply
            return
        # As in Channels 1.x, a None name or layer is allowed (tests build
        # messages by hand to call consumers); a None layer means the default one.
        self.channel = Channel(channel_name, channel_layer=channel_layer)
        self.channel_layer = channel_layer if channel_layer is not None else self.channel.channel_layer
        self.reply_channel = Channel(reply_channel, channel_layer=self.channel_layer) if reply_channel else None

    def __getitem__(self, key: str) -> Any:
        return self.content[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.content[key] = value

    def __contains__(self, key: object) -> bool:
        return key in self.content

    def __iter__(self) -> Iterator[str]:
        return iter(self.content)

    def __len__(self) -> int:
        return len(self.content)

    def keys(self):
        return self.content.keys()

    def values(self):
        return self.content.values()

    def items(self):
        return self.content.items()

    def get(self, key: str, default: Any = None) -> Any:
        return self.content.get(key, default)

    def copy(self) -> Message:
        """Return a new Message over a deep copy of the content."""
        return type(self)(
            decode_message(encode_message(validate_message(self.content))),
            self.channel.name,
            self.channel_layer,
        )

    def __repr__(self) -> str:
        return f"<Message on {self.channel.name!r}: {self.content!r}>"
