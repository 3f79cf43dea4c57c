"""A fresh in-memory layer per test, for tests that drive consumers by hand."""

from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from channels_test.asgi import ChannelLayerWrapper, channel_layers
from channels_test.layers.inmemory import InMemoryChannelLayer
from channels_test.message import Message
from channels_test.signals import consumer_finished, consumer_started
from channels_test.worker import Worker, run_consumer

REPLY = "websocket.send.one"


class LayerMixin:
    """A fresh in-memory layer as 'default' per test, with helpers to drive it."""

    routing: list = []
    layer_class = InMemoryChannelLayer

    def setUp(self):
        super().setUp()
        self.layer = self.layer_class()
        self.wrapper = ChannelLayerWrapper(self.layer, "default", list(self.routing))
        old = channel_layers.set("default", self.wrapper)
        self.addCleanup(channel_layers.set, "default", old)
        # As Django's test client does for requests: keep the test's transaction open.
        for signal in (consumer_started, consumer_finished, request_started, request_finished):
            if signal.disconnect(close_old_connections):
                self.addCleanup(signal.connect, close_old_connections)

    def use_routing(self, routing):
        self.wrapper = ChannelLayerWrapper(self.layer, "default", routing)
        channel_layers.set("default", self.wrapper)

    def message(self, channel, **content):
        return Message(content, channel, self.wrapper)

    def ws(self, channel, *, reply=REPLY, path="/", order=None, **content):
        """Return a websocket.* message as an interface server would send it."""
        content = {"reply_channel": reply, "path": path, **content}
        if order is not None:
            content["order"] = order
        if channel == "websocket.connect":
            content.setdefault("headers", [[b"host", b"testserver"]])
            content.setdefault("query_string", b"")
            content.setdefault("client", ["127.0.0.1", 50000])
            content.setdefault("server", ["127.0.0.1", 80])
        return self.message(channel, **content)

    def consume(self, consumer, message, **kwargs):
        run_consumer(consumer, message, kwargs, sender=type(self))

    def handle(self, message):
        """Dispatch ``message`` through the routing the way a worker does (errors are logged)."""

        Worker(self.wrapper, signal_handlers=False).handle(message.channel.name, message.content)

    def replies(self, channel=REPLY):
        found = []
        while True:
            name, content = self.layer.receive([channel])
            if name is None:
                return found
            found.append(content)
