"""``DelayedMessage``: a message waiting in the database until it is due."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from typing import Any

from django.db import models
from django.utils import timezone

from ..layers.base import decode_message, encode_message

__all__ = ["DelayedMessage", "DelayedMessageQuerySet", "encode_content", "decode_content"]

# Content holding bytes (which JSON cannot carry) is stored as this prefix
# plus the layers' own encoding in base64. JSON text never starts with it.
BINARY_PREFIX = "msgpack:"


def encode_content(content: dict) -> str:
    """Return ``content`` as the text stored in ``DelayedMessage.content``.

    JSON, as Channels 1.x stored it, unless the message holds bytes.
    """
    try:
        return json.dumps(content, separators=(",", ":"))
    except TypeError:
        return BINARY_PREFIX + base64.b64encode(encode_message(content)).decode("ascii")


def decode_content(text: str) -> dict:
    """Return the message stored as ``text`` (by :func:`encode_content` or by Channels 1.x)."""
    if text.startswith(BINARY_PREFIX):
        return decode_message(base64.b64decode(text[len(BINARY_PREFIX) :]))
    return json.loads(text)


class DelayedMessageQuerySet(models.QuerySet):
    def is_due(self, now: datetime | None = None) -> DelayedMessageQuerySet:
        """Return the messages due at ``now`` (default: the current time)."""
        return self.filter(due_date__lte=timezone.now() if now is None else now)


class DelayedMessage(models.Model):
    """A message for ``channel_name``, to be sent at ``due_date``.

    ``content`` is the message as text (see :func:`encode_content`). Setting
    ``delay`` (milliseconds) sets ``due_date`` to that long from now.
    """

    due_date = models.DateTimeField(db_index=True)
    channel_name = models.CharField(max_length=512)
    content = models.TextField()

    objects = DelayedMessageQuerySet.as_manager()

    def __str__(self) -> str:
        return f"message for {self.channel_name!r} due {self.due_date}"

    @property
    def delay(self) -> int | float | None:
        """The delay last set on this instance, in milliseconds (None if never set)."""
        return getattr(self, "_delay", None)

    @delay.setter
    def delay(self, milliseconds: int | float) -> None:
        self._delay = milliseconds
        self.due_date = timezone.now() + timedelta(milliseconds=milliseconds)

    @property
    def message(self) -> dict:
        """The stored message, decoded."""
        return decode_content(self.content)

    def send(self, channel_layer: Any = None, requeue_delay: int = 1000) -> bool:
        """Send the message to its channel now and delete this row; return True if sent.

        ``channel_layer`` defaults to the default alias's layer. If the channel
        is full, the message stays, due ``requeue_delay`` milliseconds from now,
        and False is returned. (This is Channels 1.x's method; the delay server
        itself sends through :class:`~channels_test.delay.worker.Worker`, which
        also guards against other servers sending the same row.)
        """
        if channel_layer is None:
            from ..asgi import channel_layers
            from ..channel import DEFAULT_CHANNEL_LAYER

            channel_layer = channel_layers[DEFAULT_CHANNEL_LAYER]
        try:
            channel_layer.send(self.channel_name, self.message)
        except channel_layer.ChannelFull:
            self.delay = requeue_delay
            self.save(update_fields=["due_date"])
            return False
        self.delete()
        return True
