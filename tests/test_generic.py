"""Class-based consumers over real messages on an in-memory layer."""

import datetime
import decimal
import json

from django.test import SimpleTestCase

from channels_test import Channel, Group
from channels_test.exceptions import SendNotAvailableOnDemultiplexer
from channels_test.generic import BaseConsumer
from channels_test.generic.websockets import (
    JsonWebsocketConsumer,
    WebsocketConsumer,
    WebsocketDemultiplexer,
    WebsocketMultiplexer,
)
from channels_test.message import Message
from channels_test.routing import route
from tests.support.layers import REPLY, LayerMixin


class Squarer(BaseConsumer):
    method_mapping = {"input": "square"}

    def square(self, message, **kwargs):
        message.reply_channel.send({"value": message["value"] ** 2})


class BaseConsumerTests(LayerMixin, SimpleTestCase):
    def test_constructing_handles_the_message(self):
        Channel("input").send({"value": 33, "reply_channel": "result"})
        channel, content = self.layer.receive(["input"])
        message = Message(content, channel, self.wrapper)
        Squarer(message)
        self.assertEqual(self.replies("result"), [{"value": 1089}])

    def test_channel_names_and_as_route(self):
        self.assertEqual(Squarer.channel_names(), {"input"})
        entry = Squarer.as_route(attrs={"flag": 1}, value=r"^\d")
        self.assertEqual(entry.channels, ["input"])
        self.assertEqual(entry.consumer.flag, 1)
        self.assertTrue(issubclass(entry.consumer, Squarer))
        with self.assertRaisesMessage(TypeError, "attrs"):
            Squarer.as_route(attrs=[1])

    def test_unmapped_channel_names_the_mapping(self):
        with self.assertRaisesMessage(ValueError, "['input']"):
            Squarer(self.message("other", reply_channel="x"))


class Echo(WebsocketConsumer):
    groups = ["lobby"]

    def receive(self, text=None, bytes=None, **kwargs):
        if text == "close":
            self.close(status=4001)
        elif text is not None:
            self.send(text=text.upper())
        else:
            self.send(bytes=bytes[::-1])

    def disconnect(self, message, **kwargs):
        Channel("gone").send({"path": self.path, **kwargs})


class Room(WebsocketConsumer):
    def connection_groups(self, room, **kwargs):
        return [f"room-{room}"]


class WebsocketConsumerTests(LayerMixin, SimpleTestCase):
    def test_connect_accepts_and_joins_groups(self):
        self.consume(Echo, self.ws("websocket.connect"))
        self.assertEqual(self.replies(), [{"accept": True}])
        self.assertEqual(self.layer.group_channels("lobby"), [REPLY])

    def test_receive_text_and_bytes_and_close(self):
        self.consume(Echo, self.ws("websocket.receive", text="hi"))
        self.consume(Echo, self.ws("websocket.receive", bytes=b"abc"))
        self.consume(Echo, self.ws("websocket.receive", text="close"))
        self.assertEqual(self.replies(), [{"text": "HI"}, {"bytes": b"cba"}, {"close": 4001}])

    def test_disconnect_leaves_groups(self):
        self.consume(Echo, self.ws("websocket.connect"))
        self.consume(Echo, self.ws("websocket.disconnect", path="/chat/", code=1000))
        self.assertEqual(self.layer.group_channels("lobby"), [])
        self.assertEqual(self.replies("gone"), [{"path": "/chat/"}])

    def test_route_kwargs_reach_connection_groups(self):
        self.use_routing([Room.as_route(path=r"^/room/(?P<room>\w+)/$")])
        self.handle(self.ws("websocket.connect", path="/room/blue/"))
        self.assertEqual(self.layer.group_channels("room-blue"), [REPLY])
        self.handle(self.ws("websocket.disconnect", path="/room/blue/"))
        self.assertEqual(self.layer.group_channels("room-blue"), [])

    def test_route_kwargs_reach_every_handler(self):
        class Plain(WebsocketConsumer):
            def connect(self, message, **kwargs):
                Channel("seen").send({"connect": kwargs})

            def receive(self, text=None, bytes=None, **kwargs):
                Channel("seen").send({"receive": kwargs, "frame": text or bytes})

            def disconnect(self, message, **kwargs):
                Channel("seen").send({"disconnect": kwargs})

        class Json(JsonWebsocketConsumer):
            def receive(self, content, **kwargs):
                Channel("seen").send({"receive": kwargs, "frame": content})

        self.use_routing(
            [Plain.as_route(path=r"^/plain/(?P<room>\w+)/$"), Json.as_route(path=r"^/json/(?P<room>\w+)/$")]
        )
        self.handle(self.ws("websocket.connect", path="/plain/blue/"))
        self.handle(self.ws("websocket.receive", path="/plain/blue/", text="hi"))
        self.handle(self.ws("websocket.receive", path="/plain/blue/", bytes=b"hi"))
        self.handle(self.ws("websocket.disconnect", path="/plain/blue/"))
        self.handle(self.ws("websocket.receive", path="/json/red/", text='{"n": 1}'))
        self.assertEqual(
            self.replies("seen"),
            [
                {"connect": {"room": "blue"}},
                {"receive": {"room": "blue"}, "frame": "hi"},
                {"receive": {"room": "blue"}, "frame": b"hi"},
                {"disconnect": {"room": "blue"}},
                {"receive": {"room": "red"}, "frame": {"n": 1}},
            ],
        )

    def test_connection_groups_without_kwargs_still_works_with_named_groups(self):
        class Plain(WebsocketConsumer):
            def connection_groups(self):
                return ["plain"]

        self.use_routing([Plain.as_route(path=r"^/room/(?P<room>\w+)/$")])
        self.handle(self.ws("websocket.connect", path="/room/blue/"))
        self.assertEqual(self.layer.group_channels("plain"), [REPLY])

    def test_group_send_and_send_validation(self):
        self.layer.group_add("g", "websocket.send.two")
        WebsocketConsumer.group_send("g", text="all", close=True)
        self.assertEqual(self.replies("websocket.send.two"), [{"text": "all", "close": True}])
        with self.assertRaisesMessage(ValueError, "text="):
            WebsocketConsumer.group_send("g")

    def test_groups_as_a_string_is_refused(self):
        class Bad(WebsocketConsumer):
            groups = "lobby"

        with self.assertRaisesMessage(TypeError, "groups = ['lobby']"):
            self.consume(Bad, self.ws("websocket.connect"))

    def test_slight_ordering_is_refused(self):
        class Slight(WebsocketConsumer):
            slight_ordering = True

        with self.assertRaisesMessage(ValueError, "strict_ordering"):
            self.consume(Slight, self.ws("websocket.connect"))


class JsonEcho(JsonWebsocketConsumer):
    def receive(self, content, **kwargs):
        self.send({"got": content, "when": datetime.date(2020, 1, 2), "price": decimal.Decimal("1.50")})


class JsonConsumerTests(LayerMixin, SimpleTestCase):
    def test_json_round_trip_with_django_types(self):
        self.consume(JsonEcho, self.ws("websocket.receive", text='{"a": 1}'))
        [reply] = self.replies()
        self.assertEqual(json.loads(reply["text"]), {"got": {"a": 1}, "when": "2020-01-02", "price": "1.50"})

    def test_bad_json_is_logged_and_socket_stays_usable(self):
        with self.assertLogs("channels_test.generic.websockets", "ERROR") as logs:
            self.consume(JsonEcho, self.ws("websocket.receive", text="{nope"))
        self.assertIn("JsonEcho", logs.output[0])
        self.assertIn(REPLY, logs.output[0])
        self.assertEqual(self.replies(), [])
        self.consume(JsonEcho, self.ws("websocket.receive", text="[1]"))
        self.assertEqual(json.loads(self.replies()[0]["text"])["got"], [1])

    def test_binary_frame_is_logged_and_skipped(self):
        with self.assertLogs("channels_test.generic.websockets", "ERROR") as logs:
            self.consume(JsonEcho, self.ws("websocket.receive", bytes=b"\x00"))
        self.assertIn("binary frame", logs.output[0])
        self.assertEqual(self.replies(), [])

    def test_group_send_encodes(self):
        self.layer.group_add("g", REPLY)
        JsonWebsocketConsumer.group_send("g", {"at": datetime.date(2021, 5, 6)})
        self.assertEqual(self.replies(), [{"text": '{"at": "2021-05-06"}'}])


class Counter(JsonWebsocketConsumer):
    def connect(self, message, multiplexer, **kwargs):
        multiplexer.send({"status": "ready"})

    def receive(self, content, **kwargs):
        self.send({"double": content["n"] * 2})

    def disconnect(self, message, multiplexer, **kwargs):
        Channel("left").send({"stream": multiplexer.stream})


class Demux(WebsocketDemultiplexer):
    consumers = {"counter": Counter}
    mapping = {"relay": "relay.inbox"}


class DemultiplexerTests(LayerMixin, SimpleTestCase):
    def test_connect_is_accepted_and_forwarded(self):
        self.consume(Demux, self.ws("websocket.connect"))
        replies = self.replies()
        self.assertEqual(replies[0], {"accept": True})
        self.assertEqual(json.loads(replies[1]["text"]), {"stream": "counter", "payload": {"status": "ready"}})
        self.assertEqual(len(replies), 2)

    def test_frames_go_to_the_stream_consumer_and_replies_are_wrapped(self):
        frame = json.dumps({"stream": "counter", "payload": {"n": 21}})
        self.consume(Demux, self.ws("websocket.receive", text=frame))
        [reply] = self.replies()
        self.assertEqual(json.loads(reply["text"]), {"stream": "counter", "payload": {"double": 42}})

    def test_mapping_forwards_payload_to_a_channel(self):
        frame = json.dumps({"stream": "relay", "payload": {"action": "x"}})
        self.consume(Demux, self.ws("websocket.receive", text=frame))
        self.assertEqual(self.replies("relay.inbox"), [{"action": "x", "reply_channel": REPLY}])

    def test_unknown_stream_is_logged_with_known_streams(self):
        frame = json.dumps({"stream": "nope", "payload": {}})
        with self.assertLogs("channels_test.generic.websockets", "ERROR") as logs:
            self.consume(Demux, self.ws("websocket.receive", text=frame))
        self.assertIn("'nope'", logs.output[0])
        self.assertIn("'counter', 'relay'", logs.output[0])

    def test_frame_without_stream_is_logged(self):
        with self.assertLogs("channels_test.generic.websockets", "ERROR"):
            self.consume(Demux, self.ws("websocket.receive", text='{"payload": {}}'))

    def test_disconnect_is_forwarded(self):
        self.consume(Demux, self.ws("websocket.disconnect"))
        self.assertEqual(self.replies("left"), [{"stream": "counter"}])

    def test_demultiplexer_does_not_send_itself(self):
        with self.assertRaises(SendNotAvailableOnDemultiplexer):
            Demux.group_send("g", "counter", {})

    def test_multiplexer_group_send(self):
        Group("watchers").add(REPLY)
        WebsocketMultiplexer.group_send("watchers", "counter", {"n": 1}, close=True)
        [reply] = self.replies()
        self.assertEqual(json.loads(reply["text"]), {"stream": "counter", "payload": {"n": 1}})
        self.assertTrue(reply["close"])

    def test_routed_through_a_worker(self):
        self.use_routing([Demux.as_route(path=r"^/$"), route("relay.inbox", lambda m: Channel("seen").send(m.content))])
        self.handle(self.ws("websocket.receive", text=json.dumps({"stream": "relay", "payload": {"v": 1}})))
        channel, content = self.layer.receive(["relay.inbox"])
        self.handle(Message(content, channel, self.wrapper))
        self.assertEqual(self.replies("seen"), [{"v": 1, "reply_channel": REPLY}])
