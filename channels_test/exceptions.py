"""Exceptions consumers raise to steer the worker, and the layer's own errors."""

from django.core.exceptions import ImproperlyConfigured


class ConfigurationError(ImproperlyConfigured, ValueError):
    """A configuration mistake (a route, a binding, a channel layer setting).

    It is Django's ``ImproperlyConfigured`` and, since Channels 1.x raised
    ``ValueError`` for the same mistakes, a ``ValueError`` too, so
    ``except ValueError`` clauses written for 1.x keep working.
    """


class ConsumeLater(Exception):
    """Put the message back on its channel to be consumed again later.

    Raised by a consumer that cannot handle a message yet (for example one that
    arrived out of order). The worker re-queues it, at most
    ``CHANNELS_CONSUME_LATER_RETRIES`` times (default 10), then drops it with a
    logged error.
    """


class ResponseLater(Exception):
    """The view will answer later on the reply channel; send nothing now."""


class RequestTimeout(Exception):
    """Reading the request body from its body channel took too long."""


class RequestAborted(Exception):
    """The client went away while its request body was being read."""


class ChannelSocketException(Exception):
    """Base of exceptions that act on the connection when a consumer raises them.

    The worker catches it and calls :meth:`run` with the message being handled.
    """

    def run(self, message) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define run(message) to act on the connection.")


class DenyConnection(ChannelSocketException):
    """Refuse a WebSocket connection; raise it from a ``websocket.connect`` consumer."""

    def run(self, message) -> None:
        if message.channel.name != "websocket.connect":
            raise ValueError(
                "DenyConnection can only be raised while handling 'websocket.connect', "
                f"not {message.channel.name!r}; to end an open socket use "
                "WebsocketCloseException or message.reply_channel.send({'close': True})."
            )
        message.reply_channel.send({"accept": False}, immediately=True)


class WebsocketCloseException(ChannelSocketException):
    """Close the WebSocket, optionally with a close code (1000 or 3000-4999)."""

    def __init__(self, code: int | None = None):
        if code is not None and not (code == 1000 or 3000 <= code <= 4999):
            raise ValueError(f"Invalid close code {code!r}: use 1000 or a code from 3000 to 4999.")
        super().__init__(code)
        self.code = code

    def run(self, message) -> None:
        if message.reply_channel is None:
            raise ValueError("Cannot close a connection: the message has no reply_channel.")
        message.reply_channel.send({"close": self.code or True}, immediately=True)


class SendNotAvailableOnDemultiplexer(Exception):
    """A demultiplexer does not send by itself; send from the stream's consumer."""
