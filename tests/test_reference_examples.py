"""Every example of the "Testing Consumers" chapter, written as the chapter writes it.

Only ``channels`` is renamed ``channels_test``. The project the chapter
assumes (the ``values`` app, ``my_consumer``, ``MyConsumer``,
``RoomConsumer``, the data binding) is in ``tests/reference``; its routing is
the layer's ROUTING, as in a project's settings. Where the chapter slips, the
corrected form is tested, and the slip itself is shown to fail clearly.
"""

import contextlib
import shutil
import tempfile
import urllib.error
import urllib.request
import warnings
from importlib.util import find_spec
from unittest import skipUnless

from django.contrib.auth.models import User
from django.test import override_settings, tag
from websocket import create_connection

from channels_test import Channel, Group
from channels_test.binding.base import CREATE
from channels_test.routing import route
from channels_test.test import ChannelLiveServerTestCase, ChannelTestCase, Client, WSClient, apply_routes
from tests.reference.consumers import (
    Demultiplexer,
    IntegerValueBinding,
    MyConsumer,
    RoomConsumer,
    my_consumer,
)
from tests.reference.models import IntegerValue
from tests.support.live import (
    CHROMEDRIVER,
    CHROMIUM,
    NO_CHROMIUM,
    chromedriver_service,
    chromium_options,
    live_settings,
    needs_interface,
    quit_browser,
)
from tests.support.processes import descendants

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # the 1.0 name, kept working
    from channels_test.test import HttpClient

REFERENCE_LAYERS = {
    "default": {
        "BACKEND": "channels_test.layers.inmemory.InMemoryChannelLayer",
        "ROUTING": "tests.reference.routing.channel_routing",
    },
}


@override_settings(CHANNEL_LAYERS=REFERENCE_LAYERS)
class ChannelTestCaseExamples(ChannelTestCase):
    def test_send_goes_to_the_captive_layer(self):
        # This goes onto an in-memory channel, not the real backend.
        Channel("some-channel-name").send({"foo": "bar"})

        self.assertEqual(self.get_next_message("some-channel-name").content, {"foo": "bar"})

    def test_a_thing(self):
        # Inject a message onto the channel to use in a consumer
        Channel("input").send({"value": 33})
        # Run the consumer with the new Message object
        my_consumer(self.get_next_message("input", require=True))
        # Verify there's a result and that it's accurate
        result = self.get_next_message("result", require=True)
        self.assertEqual(result["value"], 1089)

    def test_require_fails_the_test_without_a_message(self):
        with self.assertRaisesMessage(AssertionError, "No message on channel 'result'"):
            self.get_next_message("result", require=True)
        self.assertIsNone(self.get_next_message("result"))

    def test_generic_consumer(self):
        # The chapter's input message has no reply_channel, so
        # message.reply_channel would be None: the reply needs one to go to.
        Channel("input").send({"value": 33, "reply_channel": "test.reply.result"})
        # Run the consumer with the new Message object
        message = self.get_next_message("input", require=True)
        MyConsumer(message)
        # Verify there's a reply and that it's accurate
        result = self.get_next_message(message.reply_channel.name, require=True)
        self.assertEqual(result["value"], 1089)

    def test_groups(self):
        # Add a test channel to a test group
        Group("test-group").add("test-channel")
        # Send to the group
        Group("test-group").send({"value": 42})
        # Verify the message got into the destination channel
        result = self.get_next_message("test-channel", require=True)
        self.assertEqual(result["value"], 42)


@override_settings(CHANNEL_LAYERS=REFERENCE_LAYERS)
class ClientExamples(ChannelTestCase):
    def test_my_consumer(self):
        client = Client()
        client.send_and_consume("my_internal_channel", {"value": "my_value"})
        self.assertEqual(client.receive(), {"all is": "done"})


@override_settings(CHANNEL_LAYERS=REFERENCE_LAYERS)
class RoomsTests(ChannelTestCase):
    def test_rooms(self):
        client = WSClient()
        user = User.objects.create_user(username="test", email="test@test.com", password="123456")
        client.login(username="test", password="123456")

        client.send_and_consume("websocket.connect", path="/rooms/")
        # check that there is nothing to receive
        self.assertIsNone(client.receive())

        # test that the client in the group
        Group(RoomConsumer.groups[0]).send({"text": "ok"}, immediately=True)
        self.assertEqual(client.receive(json=False), "ok")

        client.session["rooms"] = ["test", "1"]
        client.session.save()

        client.send_and_consume("websocket.receive", text={"message": "hey"}, path="/rooms/")
        # test 'response'
        self.assertEqual(client.receive(), {"rooms": ["test", "1"]})

        self.assertEqual(self.get_next_message("rooms_receive").content, {"user": user.id, "message": "hey"})

        # There is nothing to receive
        self.assertIsNone(client.receive())

    def test_rooms_with_force_login(self):
        client = WSClient()
        user = User.objects.create_user(username="test", password="123456")
        client.force_login(user)
        client.send_and_consume("websocket.connect", path="/rooms/")
        client.send_and_consume("websocket.receive", text={"message": "hey"}, path="/rooms/")
        self.assertEqual(client.receive(), {"rooms": []})
        self.assertEqual(self.get_next_message("rooms_receive").content, {"user": user.id, "message": "hey"})


@override_settings(CHANNEL_LAYERS=REFERENCE_LAYERS)
class OrderingExamples(ChannelTestCase):
    def handled(self):
        texts = []
        while (message := self.get_next_message("ordered")) is not None:
            texts.append((message["text"], message["order"]))
        return texts

    def test_ordered_client(self):
        client = HttpClient(ordered=True)
        client.send_and_consume("websocket.receive", text="1", path="/ws")  # order = 0
        client.send_and_consume("websocket.receive", text="2", path="/ws")  # order = 1
        client.send_and_consume("websocket.receive", text="3", path="/ws")  # order = 2

        self.assertEqual(self.handled(), [("1", 0), ("2", 1), ("3", 2)])

    def test_manual_order(self):
        # manually
        client = HttpClient()
        client.send("websocket.receive", content={"order": 0}, text="1")
        client.send("websocket.receive", content={"order": 2}, text="2")
        client.send("websocket.receive", content={"order": 1}, text="3")

        # calling consume 4 time for `waiting` message with order 1
        client.consume("websocket.receive")
        client.consume("websocket.receive")
        client.consume("websocket.receive")
        client.consume("websocket.receive")

        self.assertEqual(self.handled(), [("1", 0), ("3", 1), ("2", 2)])

    def test_http_client_is_ws_client(self):
        self.assertIs(HttpClient, WSClient)


class ApplyRoutesExamples(ChannelTestCase):
    def test_myconsumer(self):
        client = WSClient()

        with apply_routes([MyConsumer.as_route(path="/new")]):
            client.send_and_consume("websocket.connect", path="/new")
            self.assertEqual(client.receive(), {"key": "value"})

    def test_path_passed_as_content_says_what_to_write(self):
        # The chapter writes send_and_consume('websocket.connect', '/new').
        client = WSClient()
        with apply_routes([MyConsumer.as_route(path="/new")]):
            with self.assertRaisesMessage(TypeError, "content must be a dict; to set the path use path='/new'"):
                client.send_and_consume("websocket.connect", "/new")


class TestIntegerValueBinding(ChannelTestCase):
    def test_outbound_create(self):
        # We use WSClient because of json encoding messages
        client = WSClient()
        client.join_group("intval-updates")  # join outbound binding

        # create target entity
        value = IntegerValue.objects.create(name="fifty", value=50)

        received = client.receive()  # receive outbound binding message
        self.assertIsNotNone(received)

        self.assertTrue("payload" in received)
        self.assertTrue("action" in received["payload"])
        self.assertTrue("data" in received["payload"])
        self.assertTrue("name" in received["payload"]["data"])
        self.assertTrue("value" in received["payload"]["data"])

        self.assertEqual(received["payload"]["action"], "create")
        self.assertEqual(received["payload"]["model"], "values.integervalue")
        self.assertEqual(received["payload"]["pk"], value.pk)

        self.assertEqual(received["payload"]["data"]["name"], "fifty")
        self.assertEqual(received["payload"]["data"]["value"], 50)

        # assert that is nothing to receive
        self.assertIsNone(client.receive())

    def test_inbound_create(self):
        # check that initial state is empty
        self.assertEqual(IntegerValue.objects.all().count(), 0)

        with apply_routes([Demultiplexer.as_route(path="/"), route("binding.intval", IntegerValueBinding.consumer)]):
            client = WSClient()
            client.send_and_consume("websocket.connect", path="/")
            client.send_and_consume(
                "websocket.receive",
                path="/",
                text={"stream": "intval", "payload": {"action": CREATE, "data": {"name": "one", "value": 1}}},
            )
            # our Demultiplexer route message to the inbound consumer,
            # so we need to call this consumer
            # (the chapter writes 'binding.users', a channel nothing was sent to)
            client.consume("binding.intval")

        self.assertEqual(IntegerValue.objects.all().count(), 1)
        value = IntegerValue.objects.all().first()
        self.assertEqual(value.name, "one")
        self.assertEqual(value.value, 1)

    def test_consuming_the_wrong_channel_names_where_messages_wait(self):
        client = WSClient()
        client.send("binding.intval", {"action": CREATE, "data": {"name": "one", "value": 1}})
        with self.assertRaisesMessage(AssertionError, "No message to consume on 'binding.users'") as caught:
            client.consume("binding.users")
        self.assertIn("'binding.intval' (1)", str(caught.exception))


class MultipleLayersExample(ChannelTestCase):
    test_channel_aliases = ["default", "other"]

    def test_alias_arguments(self):
        Channel("input", alias="other").send({"value": 1})
        self.assertIsNone(self.get_next_message("input"))
        self.assertEqual(self.get_next_message("input", alias="other").content, {"value": 1})
        client = Client(alias="other")
        client.send("input", {"value": 2})
        self.assertEqual(client.get_next_message("input")["value"], 2)


@contextlib.contextmanager
def Browser():
    """Splinter's browser on the system Chromium and chromedriver.

    The chapter calls ``Browser()``, whose default is Firefox; that needs a
    geckodriver, which Debian does not package, so the examples use splinter's
    Chrome driver on the system Chromium instead. The browser and its driver
    are ended by their process ids, also when the test fails.
    """
    from splinter import Browser as SplinterBrowser

    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    service = chromedriver_service()
    try:
        browser = SplinterBrowser("chrome", retry_count=1, options=chromium_options(profile), service=service)
        pids = [service.process.pid, *descendants(service.process.pid)]
        try:
            yield browser
        finally:
            quit_browser(browser.driver, service, pids)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@needs_interface
@tag("live", "browser")
@skipUnless(CHROMIUM and CHROMEDRIVER, NO_CHROMIUM)
@skipUnless(find_spec("splinter"), "splinter is not installed (it is in the tests extra)")
@live_settings
class IntegrationTest(ChannelLiveServerTestCase):
    def test_browse_site_index(self):

        with Browser() as browser:
            browser.visit(self.live_server_url)
            # the rest of your integration test...
            self.assertTrue(browser.url.startswith(self.live_server_url))
            self.assertIn("Not Found", browser.html)  # the live project has no index page


@needs_interface
@tag("live")
@live_settings
class StaticOffIntegrationTest(ChannelLiveServerTestCase):
    serve_static = False

    def test_websocket_message(self):
        # JS and CSS are not available in this test.
        with self.assertRaises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(self.live_server_url + "/static/live/echo.js", timeout=10)
        self.assertEqual(caught.exception.code, 404)
        ws = create_connection(self.live_server_ws_url + "/ws/", timeout=10)
        self.addCleanup(ws.close)
        ws.send("hello")
        self.assertEqual(ws.recv(), "echo: hello")
