"""Data binding: outbound model changes to groups, inbound actions to models."""

import json

from django.core.exceptions import ImproperlyConfigured
from django.test import TestCase

from channels_test.binding.base import CREATE, DELETE, UPDATE
from channels_test.binding.websockets import WebsocketBinding, WebsocketBindingWithMembers
from channels_test.generic.websockets import WebsocketDemultiplexer
from channels_test.routing import route
from tests.reference.consumers import Demultiplexer  # the document's inbound example: the stream to a channel
from tests.support.layers import REPLY, LayerMixin
from tests.testapp.models import IntegerValue


class IntegerValueBinding(WebsocketBinding):
    """The reference document's binding, on the test app's model, refusing one delete (pk 999)."""

    model = IntegerValue
    stream = "intval"
    fields = ["name", "value"]

    @classmethod
    def group_names(cls, instance):
        return ["intval-updates"]

    def has_permission(self, user, action, pk):
        return not (action == DELETE and pk == 999)


class ParityBinding(WebsocketBinding):
    model = "testapp.IntegerValue"
    stream = "parity"
    exclude = ["name"]

    @classmethod
    def group_names(cls, instance):
        return ["evens" if instance.value % 2 == 0 else "odds"]

    def has_permission(self, user, action, pk):
        return False


class MembersBinding(WebsocketBindingWithMembers):
    model = IntegerValue
    stream = "members"
    fields = ["__all__"]
    send_members = ["__str__", "pk"]

    @classmethod
    def group_names(cls, instance):
        return ["members"]


class ConsumersDemultiplexer(WebsocketDemultiplexer):
    """The 1.1 documentation's form: the binding runs in place."""

    consumers = {"intval": IntegerValueBinding.consumer}

    def connection_groups(self):
        return ["intval-updates"]


class BindingTests(LayerMixin, TestCase):
    def receive_json(self, channel):
        replies = self.replies(channel)
        return [json.loads(reply["text"]) for reply in replies]

    def test_outbound_create_as_in_the_reference(self):
        self.layer.group_add("intval-updates", "websocket.send.client")
        value = IntegerValue.objects.create(name="fifty", value=50)
        [received] = self.receive_json("websocket.send.client")
        self.assertEqual(received["stream"], "intval")
        self.assertEqual(
            received["payload"],
            {
                "action": "create",
                "model": "testapp.integervalue",
                "pk": value.pk,
                "data": {"name": "fifty", "value": 50},
            },
        )

    def test_outbound_update_and_delete(self):
        value = IntegerValue.objects.create(name="a", value=1)
        self.layer.group_add("intval-updates", "websocket.send.client")
        value.value = 5
        value.save()
        pk = value.pk
        value.delete()
        payloads = [m["payload"] for m in self.receive_json("websocket.send.client")]
        self.assertEqual([(p["action"], p["pk"]) for p in payloads], [(UPDATE, pk), (DELETE, pk)])
        self.assertEqual(payloads[0]["data"], {"name": "a", "value": 5})

    def test_moving_between_groups_deletes_and_creates(self):
        self.layer.group_add("evens", "websocket.send.even")
        self.layer.group_add("odds", "websocket.send.odd")
        value = IntegerValue.objects.create(name="n", value=2)
        value.value = 4
        value.save()
        value.value = 7
        value.save()
        evens = [m["payload"] for m in self.receive_json("websocket.send.even")]
        odds = [m["payload"] for m in self.receive_json("websocket.send.odd")]
        self.assertEqual([p["action"] for p in evens], [CREATE, UPDATE, DELETE])
        self.assertEqual([p["action"] for p in odds], [CREATE])
        self.assertEqual(odds[0]["data"], {"value": 7})

    def test_members_are_sent(self):
        self.layer.group_add("members", "websocket.send.m")
        value = IntegerValue.objects.create(name="x", value=3)
        [message] = self.receive_json("websocket.send.m")
        self.assertEqual(message["payload"]["data"], {"name": "x", "value": 3, "__str__": "x=3", "pk": value.pk})

    def frame(self, payload, stream="intval"):
        return self.ws("websocket.receive", text=json.dumps({"stream": stream, "payload": payload}))

    def test_inbound_create_as_in_the_reference(self):
        self.use_routing([Demultiplexer.as_route(path="/"), route("binding.intval", IntegerValueBinding.consumer)])
        self.handle(self.ws("websocket.connect"))
        self.handle(self.frame({"action": CREATE, "data": {"name": "one", "value": 1}}))
        channel, content = self.layer.receive(["binding.intval"])
        self.assertEqual(content["reply_channel"], REPLY)
        self.handle(self.message(channel, **content))
        self.assertEqual(list(IntegerValue.objects.values_list("name", "value")), [("one", 1)])

    def test_inbound_create_with_consumers_map_through_routing(self):
        self.use_routing(
            [ConsumersDemultiplexer.as_route(path="/"), route("binding.intval", IntegerValueBinding.consumer)]
        )
        self.handle(self.ws("websocket.connect"))
        self.assertEqual(self.layer.group_channels("intval-updates"), [REPLY])
        self.handle(self.frame({"action": CREATE, "data": {"name": "one", "value": 1}}))
        self.assertEqual(list(IntegerValue.objects.values_list("name", "value")), [("one", 1)])
        [created] = [json.loads(r["text"]) for r in self.replies() if "text" in r]
        self.assertEqual(created["payload"]["action"], CREATE)

    def test_inbound_through_consumers_map(self):
        self.consume(ConsumersDemultiplexer, self.ws("websocket.connect"))
        self.assertEqual(self.replies(), [{"accept": True}])
        self.consume(ConsumersDemultiplexer, self.frame({"action": CREATE, "data": {"name": "two", "value": 2}}))
        value = IntegerValue.objects.get(name="two")
        self.consume(ConsumersDemultiplexer, self.frame({"action": UPDATE, "pk": value.pk, "data": {"value": 3}}))
        value.refresh_from_db()
        self.assertEqual(value.value, 3)
        self.consume(ConsumersDemultiplexer, self.frame({"action": DELETE, "pk": value.pk}))
        self.assertFalse(IntegerValue.objects.exists())

    def test_unbound_fields_are_ignored(self):
        with self.assertLogs("channels_test.binding", "WARNING") as logs:
            self.consume(ConsumersDemultiplexer, self.frame({"action": CREATE, "data": {"name": "x", "id": 77}}))
        self.assertIn("['id']", logs.output[0])
        self.assertNotEqual(IntegerValue.objects.get(name="x").pk, 77)

    def test_refusals_are_logged_and_change_nothing(self):
        value = IntegerValue.objects.create(name="keep", value=1)
        cases = [
            ({"action": "explode", "pk": value.pk}, "unknown action 'explode'"),
            ({"action": DELETE, "pk": 999}, "may not delete pk=999"),
            ({"action": UPDATE, "pk": 12345, "data": {"value": 9}}, "does not exist"),
            ({"action": CREATE, "data": {"name": "bad", "value": "NaN?"}}, "nothing done"),
            ({"data": {}}, "cannot read"),
        ]
        for payload, reason in cases:
            with self.subTest(payload=payload), self.assertLogs("channels_test.binding") as logs:
                self.consume(ConsumersDemultiplexer, self.frame(payload))
            self.assertIn(reason, "\n".join(logs.output))
        self.assertEqual(list(IntegerValue.objects.values_list("name", "value")), [("keep", 1)])

    def test_default_permission_denies(self):
        value = IntegerValue.objects.create(name="p", value=2)
        with self.assertLogs("channels_test.binding", "WARNING"):
            ParityBinding.consumer(self.message("binding.parity", reply_channel=REPLY, action=DELETE, pk=value.pk))
        self.assertTrue(IntegerValue.objects.filter(pk=value.pk).exists())

    def test_configuration_errors(self):
        with self.assertRaisesMessage(ImproperlyConfigured, "must set fields"):

            class NoFields(WebsocketBinding):
                model = IntegerValue
                stream = "x"

        with self.assertRaisesMessage(ImproperlyConfigured, "testapp.Nope"):

            class BadModel(WebsocketBinding):
                model = "testapp.Nope"
                fields = ["__all__"]
