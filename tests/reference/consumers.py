"""The consumers the reference document's examples run."""

from channels_test import Channel
from channels_test.binding.base import CREATE, DELETE, UPDATE
from channels_test.binding.websockets import WebsocketBinding
from channels_test.generic.websockets import JsonWebsocketConsumer, WebsocketDemultiplexer
from channels_test.sessions import enforce_ordering

from .models import IntegerValue


def my_consumer(message):
    """Post the square of ``value`` to the ``result`` channel."""
    Channel("result").send({"value": message["value"] ** 2})


def internal_consumer(message):
    """The document's 'my_internal_channel' consumer: reply that all is done."""
    message.reply_channel.send({"all is": "done"})


class MyConsumer(JsonWebsocketConsumer):
    """Squares ``value`` from the ``input`` channel to the reply channel; on a
    WebSocket, accepts and greets with ``{"key": "value"}``."""

    method_mapping = {**JsonWebsocketConsumer.method_mapping, "input": "square"}

    def square(self, message, **kwargs):
        message.reply_channel.send({"value": message["value"] ** 2})

    def connect(self, message, **kwargs):
        super().connect(message, **kwargs)
        self.send({"key": "value"})


class RoomConsumer(JsonWebsocketConsumer):
    http_user = True
    groups = ["rooms_watchers"]

    def receive(self, content, **kwargs):
        self.send({"rooms": self.message.http_session.get("rooms", [])})
        Channel("rooms_receive").send({"user": self.message.user.id, "message": content["message"]})


@enforce_ordering
def ordered_receive(message):
    """Record the frames of a connection in the order they are handled."""
    Channel("ordered").send({"text": message["text"], "order": message["order"]})


class IntegerValueBinding(WebsocketBinding):
    model = IntegerValue
    stream = "intval"
    fields = ["name", "value"]

    @classmethod
    def group_names(cls, instance):
        return ["intval-updates"]

    def has_permission(self, user, action, pk):
        return action in (CREATE, UPDATE, DELETE)


class Demultiplexer(WebsocketDemultiplexer):
    mapping = {"intval": "binding.intval"}
