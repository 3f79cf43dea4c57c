"""The per-thread outbox that holds what a consumer sends until it returns."""

from __future__ import annotations

import threading
from typing import Any

from .layers.base import decode_message, encode_message, validate_message

__all__ = ["PendingMessageStore", "pending_message_store"]


class PendingMessageStore:
    """Holds what a consumer sends until it returns (per thread).

    While a consumer runs, ``Channel.send()`` and ``Group.send()`` without
    ``immediately=True`` append here; the caller of the consumer sends them
    in order once it returns, or drops them if it raised. Nested consumer
    calls share the outermost call's store.
    """

    _local = threading.local()

    @property
    def active(self) -> bool:
        return getattr(self._local, "depth", 0) > 0

    def begin(self) -> None:
        local = self._local
        if getattr(local, "depth", 0) == 0:
            local.messages = []
        local.depth = getattr(local, "depth", 0) + 1

    def append(self, sender: Any, content: dict) -> None:
        """Hold ``content`` as it is now, to send with ``sender`` (a Channel or Group) later.

        Our layers encode it now, once (``encode_for_later``); for a layer
        without that method, a copy of the dict is held and sent with
        ``sender.send``.
        """
        try:
            encode = sender.channel_layer.encode_for_later
        except AttributeError:
            held: Any = decode_message(encode_message(validate_message(content)))
        else:
            held = encode(content)
        self._local.messages.append((sender, held))

    def end(self, *, send: bool) -> None:
        """Leave a consumer; in the outermost one, send (or drop) what it held."""
        local = self._local
        local.depth -= 1
        if local.depth:
            return
        messages, local.messages = local.messages, []
        if send:
            for sender, held in messages:
                if type(held) is bytes:
                    sender._send_encoded(held)
                else:
                    sender.send(held, immediately=True)


pending_message_store = PendingMessageStore()
