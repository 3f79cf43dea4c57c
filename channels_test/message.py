"""The message a consumer receives, and the store that holds a consumer's sends."""

from __future__ import annotations

import threading
from typing import Any, Iterator

from .layers.base import decode_message, encode_message, validate_message

__all__ = ["Message", "PendingMessageStore", "pending_message_store"]


class Message:
    """A message taken off a channel, as a consumer sees it.

    Reads like a dict over ``content``; also carries the ``channel`` it came
    on, the ``channel_layer`` it came from and, when the content names one,
    the ``reply_channel`` (a :class:`~channels_test.Channel`, else None).
    Decorators attach ``channel_session``, ``http_session`` and ``user``.
    """

    def __init__(self, content: dict, channel_name: str | None, channel_layer: Any):
        Channel = _channel_class()
        self.content = content
        # As in Channels 1.x, a None name or layer is allowed (tests build
        # messages by hand to call consumers); a None layer means the default one.
        self.channel = Channel(channel_name, channel_layer=channel_layer)
        self.channel_layer = channel_layer if channel_layer is not None else self.channel.channel_layer
        reply_channel = content.get("reply_channel")
        self.reply_channel = (
            Channel(reply_channel, channel_layer=self.channel_layer) if reply_channel else None
        )

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


def _channel_class() -> type:
    """Return :class:`~channels_test.Channel` (channel.py imports this module, so look it up late)."""
    global _Channel
    if _Channel is None:
        from .channel import Channel

        _Channel = Channel
    return _Channel


_Channel = None


class _PendingLocal(threading.local):
    depth = 0  # consumer calls entered in this thread; begin() makes the list of held sends


class PendingMessageStore:
    """Holds what a consumer sends until it returns (per thread).

    While a consumer runs, ``Channel.send()`` and ``Group.send()`` without
    ``immediately=True`` append here; the caller of the consumer sends them
    in order once it returns, or drops them if it raised. Nested consumer
    calls share the outermost call's store.
    """

    _local = _PendingLocal()

    @property
    def active(self) -> bool:
        return self._local.depth > 0

    def begin(self) -> None:
        local = self._local
        if local.depth == 0:
            local.messages = []
        local.depth += 1

    def append(self, sender: Any, content: dict) -> None:
        """Hold a copy of ``content`` to send with ``sender.send`` later."""
        copy = decode_message(encode_message(validate_message(content)))
        self._local.messages.append((sender, copy))

    def end(self, *, send: bool) -> None:
        """Leave a consumer; in the outermost one, send (or drop) what it held."""
        local = self._local
        local.depth -= 1
        if local.depth:
            return
        messages, local.messages = local.messages, []
        if send:
            for sender, content in messages:
                sender.send(content, immediately=True)


pending_message_store = PendingMessageStore()
