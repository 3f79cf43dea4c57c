"""The per-thread outbox that holds what a consumer sends until it returns."""

from __future__ import annotations

import threading
from typing import Any

from .layers.base import decode_message, encode_message, validate_message

__all__ = ["PendingMessageStore", "pending_message_store"]


class _Held(threading.local):
    """One thread's held sends, and how many consumer calls deep the thread is."""

    depth = 0
    messages: list

    def __init__(self) -> None:
        self.messages = []


class PendingMessageStore:
    """Holds what a consumer sends until it returns (per thread).

    While a consumer runs, ``Channel.send()`` and ``Group.send()`` without
    ``immediately=True`` append here; the caller of the consumer sends them
    in order once it returns, or drops them if it raised. Nested consumer
    calls share the outermost call's store.
    """

    _local = _Held()

    @property
    def active(self) -> bool:
        return self._local.depth > 0

    def begin(self) -> None:
        local = self._local
        if not local.depth:
            local.messages = []
        local.depth += 1

    def append(self, sender: Any, content: dict) -> None:
        """Hold ``content`` as it is now, to send with ``sender`` (a Channel or Group) later.

        Our layers encode it now, once (``encode_for_later``); for a layer of
        another package, or one whose ``send`` a test replaced, a copy of the
        dict is held and sent with ``sender.send``.
        """
        layer = sender.channel_layer
        try:
            plain = layer._plain  # a wrapper of our layer, its sends not replaced (layers._held)
        except AttributeError:  # a layer without its wrapper: ours, or of another package
            plain = getattr(layer, "_own_sends", False)
        if plain:
            # The layer's stored form (bytes, or the in-memory layer's copy): sent as it is.
            self._local.messages.append((sender, layer.encode_for_later(content), True))
        else:
            held = decode_message(encode_message(validate_message(content)))
            self._local.messages.append((sender, held, False))

    def end(self, *, send: bool) -> None:
        """Leave a consumer; in the outermost one, send (or drop) what it held."""
        local = self._local
        local.depth -= 1
        if local.depth:
            return
        messages, local.messages = local.messages, []
        if send:
            for sender, held, encoded in messages:
                if encoded:
                    sender._send_encoded(held)
                else:
                    sender.send(held, immediately=True)


pending_message_store = PendingMessageStore()
