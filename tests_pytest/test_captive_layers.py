"""The captive_layers fixture: in-memory layers per test, ChannelTestCase's assertions."""

import inspect
import re

import pytest
from django.contrib.auth.models import User
from django.db import close_old_connections
from django.test import SimpleTestCase

from channels_test import Channel, Group, channel_layers, compat
from channels_test.layers.inmemory import InMemoryChannelLayer
from channels_test.message import Message
from channels_test.pytest_plugin import CaptiveLayers, _marked_aliases
from channels_test.signals import consumer_finished
from channels_test.test import ChannelTestCaseMixin, Client
from tests_pytest.helpers import run_inner


@pytest.fixture
def layers_before():
    """The layers in place before captive_layers (request it first); checks they are back after."""
    before = {alias: channel_layers[alias] for alias in ("default", "other")}
    yield before
    after = {alias: channel_layers[alias] for alias in ("default", "other")}
    assert after == before, "captive_layers did not put the previous layers back"


def test_the_default_alias_gets_an_empty_in_memory_layer(layers_before, captive_layers):
    captive = captive_layers["default"]
    assert captive_layers.aliases == ["default"]
    assert channel_layers["default"] is captive
    assert captive is not layers_before["default"]
    assert isinstance(captive.channel_layer, InMemoryChannelLayer)
    assert captive.channel_layer.message_counts() == {}
    # The alias keeps its routing; the other alias is left alone.
    assert captive.routing == layers_before["default"].routing
    assert channel_layers["other"] is layers_before["other"]


def test_messages_sent_in_the_test_stay_on_the_captive_layer(layers_before, captive_layers):
    Channel("captive.only").send({"n": 1})
    assert captive_layers.get_next_message("captive.only")["n"] == 1
    Channel("captive.only").send({"n": 2})
    received, _ = layers_before["default"].receive(["captive.only"], block=False)
    assert received is None


def test_asking_for_an_alias_that_is_not_captive_names_the_marker(captive_layers):
    with pytest.raises(KeyError, match=r"mark the test @pytest.mark.channel_aliases\('default', 'other'\)"):
        captive_layers["other"]


def test_flushed_between_tests_1_leave_messages_and_a_group(captive_layers):
    Channel("left.behind").send({"n": 1})
    Group("left-group").add("some.channel")


def test_flushed_between_tests_2_nothing_left(captive_layers):
    captive_layers.assert_no_messages()
    captive_layers.assert_group_members("left-group", [])


@pytest.mark.channel_aliases("default", "other")
def test_the_marker_chooses_the_aliases(layers_before, captive_layers):
    assert captive_layers.aliases == ["default", "other"]
    assert channel_layers["other"] is captive_layers["other"] is not layers_before["other"]
    # The other alias keeps its own routing; the consumer replies on the default layer.
    client = Client("other")
    client.send_and_consume("other.square", {"value": 4, "reply_to": "other.result"})
    captive_layers.assert_no_messages(alias="other")
    captive_layers.assert_message("other.result", value=16)


@pytest.mark.channel_aliases(["other"])
def test_the_marker_takes_a_list_too(layers_before, captive_layers):
    assert captive_layers.aliases == ["other"]
    assert channel_layers["default"] is layers_before["default"]


@pytest.mark.channel_aliases()
def test_the_marker_without_aliases_is_refused(request):
    with pytest.raises(TypeError, match=r"needs one or more alias names"):
        _marked_aliases(request)


# -- reading and asserting ----------------------------------------------------------


def test_get_next_message_returns_a_message_or_none(captive_layers):
    assert captive_layers.get_next_message("nothing.here") is None
    Channel("something.here").send({"value": 3})
    message = captive_layers.get_next_message(Channel("something.here"))
    assert isinstance(message, Message)
    assert (message.channel.name, message.content) == ("something.here", {"value": 3})


def test_get_next_message_require_fails_naming_where_messages_wait(captive_layers):
    Channel("elsewhere").send({"value": 1})
    with pytest.raises(AssertionError) as caught:
        captive_layers.get_next_message("nothing.here", require=True)
    assert str(caught.value) == (
        "No message on channel 'nothing.here' of layer 'default'; messages are waiting on: 'elsewhere' (1)."
    )


def test_assert_message_checks_a_subset_and_returns_the_message(captive_layers):
    Channel("result").send({"value": 9, "extra": True})
    message = captive_layers.assert_message("result", {"value": 9})
    assert message["extra"] is True
    Channel("result").send({"value": 10})
    with pytest.raises(AssertionError) as caught:
        captive_layers.assert_message("result", value=11)
    assert "The message on 'result' does not match:\n  'value': expected 11, found 10" in str(caught.value)


def test_assert_no_messages_shows_what_it_found(captive_layers):
    captive_layers.assert_no_messages()
    Channel("stray").send({"n": 1})
    with pytest.raises(AssertionError, match=r"Expected no message on 'stray', found \{'n': 1\}"):
        captive_layers.assert_no_messages("stray")
    Channel("stray").send({"n": 2})
    with pytest.raises(AssertionError, match=r"Expected no messages on layer 'default', found:\n  'stray' \(1\)"):
        captive_layers.assert_no_messages()


def test_assert_group_members(captive_layers):
    Group("g").add("a.channel")
    captive_layers.assert_group_members("g", ["a.channel"])
    with pytest.raises(AssertionError, match=r"Group 'g' has members \['a.channel'\], expected \[\] "):
        captive_layers.assert_group_members("g", [])


class Case(ChannelTestCaseMixin, SimpleTestCase):
    __test__ = False  # a helper, not a test class

    def runTest(self):
        pass


@pytest.mark.parametrize(
    "plugin_call, case_call",
    [
        (
            lambda layers: layers.get_next_message("none", require=True),
            lambda case: case.get_next_message("none", require=True),
        ),
        (lambda layers: layers.assert_message("full", value=2), lambda case: case.assertMessage("full", value=2)),
        (lambda layers: layers.assert_no_messages(), lambda case: case.assertNoMessages()),
        (lambda layers: layers.assert_group_members("g", ["x"]), lambda case: case.assertGroupMembers("g", ["x"])),
    ],
)
def test_failures_read_as_channel_test_case_s(captive_layers, plugin_call, case_call):
    failures = []
    for call in (lambda: plugin_call(captive_layers), lambda: case_call(Case())):
        Channel("full").send({"value": 1})
        Group("g").add("y")
        with pytest.raises(AssertionError) as caught:
            call()
        failures.append(str(caught.value))
        captive_layers["default"].flush()
    assert failures[0] == failures[1]


def test_every_channel_test_case_helper_has_a_pytest_twin():
    # Assertions and helpers ChannelTestCase gains must reach the fixture too.
    names = [
        name
        for klass in ChannelTestCaseMixin.__mro__
        if klass.__module__.startswith("channels_test.test")
        for name, value in vars(klass).items()
        if inspect.isfunction(value) and not name.startswith("_")
    ]
    assert {"assertMessage", "get_next_message"} <= set(names)
    for name in names:
        twin = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
        assert callable(getattr(CaptiveLayers, twin, None)), f"CaptiveLayers has no {twin} for {name}"


# -- the database ------------------------------------------------------------------


@pytest.mark.django_db
def test_consumers_share_the_test_s_transaction(captive_layers, django_user_model):
    assert not compat.receiver_is_connected(consumer_finished, close_old_connections)
    Client().send_and_consume("create-user", {"username": "made-by-a-consumer", "reply_to": "created"})
    pk = captive_layers.assert_message("created")["pk"]
    assert User.objects.get(pk=pk).username == "made-by-a-consumer"


def test_close_old_connections_is_back_after_the_test():
    assert compat.receiver_is_connected(consumer_finished, close_old_connections)


def test_fail_on_unread_messages_fails_a_passing_test_that_left_messages(tmp_path):
    process, _ = run_inner("unread.py", tmp_path)
    output = process.stdout + process.stderr
    assert "1 failed, 2 passed, 1 error" in output, output
    assert "ERROR at teardown of test_leaves_a_message" in output
    assert "The test left messages unread (fail_on_unread_messages is on):" in output
    assert "'forgotten' (1): first {'n': 1}" in output
    assert "first {'n': 2}" not in output  # a test that failed already is not checked


def test_check_unread_messages(captive_layers):
    captive_layers.check_unread_messages()
    Channel("forgotten").send({"n": 1})
    with pytest.raises(AssertionError, match=r"layer 'default':\n  'forgotten' \(1\): first \{'n': 1\}"):
        captive_layers.check_unread_messages()


@pytest.mark.django_db
def test_advance_delay_clock_sends_what_falls_due(captive_layers):
    Channel("asgi.delay").send({"channel": "later", "content": {"n": 1}, "delay": 2000})
    assert captive_layers.advance_delay_clock(1) == 0
    captive_layers.assert_no_messages("later")
    assert captive_layers.advance_delay_clock(milliseconds=1000) == 1
    captive_layers.assert_message("later", n=1)
