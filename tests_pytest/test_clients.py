"""ws_client and channels_client on the captive layers; apply_routes in pytest tests."""

import pytest

from channels_test import Channel, channel_layers
from channels_test.routing import route
from channels_test.test import Client, WSClient, apply_routes
from tests_pytest import consumers


def test_channels_client_runs_the_routed_consumer_on_the_captive_layer(captive_layers, channels_client):
    assert isinstance(channels_client, Client)
    assert channels_client.channel_layer is captive_layers["default"]
    channels_client.send_and_consume("square", {"value": 3, "reply_to": "result"})
    captive_layers.assert_message("result", value=9)


def test_ws_client_talks_to_the_websocket_consumers(captive_layers, ws_client):
    assert isinstance(ws_client, WSClient)
    assert ws_client.channel_layer is captive_layers["default"]
    ws_client.send_and_consume("websocket.connect", path="/")  # fails the test unless accepted
    captive_layers.assert_group_members(consumers.ROOM, [ws_client.reply_channel])
    ws_client.send_and_consume("websocket.receive", text="hi", path="/")
    assert ws_client.receive_text() == "echo: hi"
    captive_layers.assert_no_messages()


@pytest.mark.django_db
def test_ws_client_logs_in_against_the_test_database(ws_client, django_user_model):
    user = django_user_model.objects.create_user("alice")
    ws_client.force_login(user)
    assert ws_client.session["_auth_user_id"] == str(user.pk)


def test_clients_made_in_different_tests_do_not_share_layers_1(ws_client):
    ws_client.send("websocket.connect", path="/")


def test_clients_made_in_different_tests_do_not_share_layers_2(captive_layers, ws_client):
    captive_layers.assert_no_messages()


def test_apply_routes_as_a_context_manager(captive_layers, channels_client):
    with apply_routes([route("square", consumers.double)]):
        channels_client.send_and_consume("square", {"value": 3, "reply_to": "result"})
        captive_layers.assert_message("result", value=6)
    channels_client.send_and_consume("square", {"value": 3, "reply_to": "result"})
    captive_layers.assert_message("result", value=9)


@apply_routes([route("square", consumers.double)])
def test_apply_routes_as_a_decorator(captive_layers, channels_client):
    channels_client.send_and_consume("square", {"value": 5, "reply_to": "result"})
    captive_layers.assert_message("result", value=10)


def test_routes_applied_by_a_decorator_are_gone_in_the_next_test(captive_layers, channels_client):
    channels_client.send_and_consume("square", {"value": 5, "reply_to": "result"})
    captive_layers.assert_message("result", value=25)


@pytest.mark.channel_aliases("default", "other")
@apply_routes([route("other.double", consumers.double)], aliases=["other"])
def test_apply_routes_on_another_captive_alias(captive_layers):
    assert channel_layers["other"] is captive_layers["other"]
    Client("other").send_and_consume("other.double", {"value": 2, "reply_to": "result"})
    captive_layers.assert_message("result", value=4)


def test_send_without_consuming_leaves_the_message_for_the_test(captive_layers, channels_client):
    channels_client.send("square", {"value": 1})
    message = captive_layers.assert_message("square", value=1)
    assert message.reply_channel == Channel(channels_client.reply_channel)


def test_ws_client_tests_get_the_database_for_the_session(request, ws_client):
    # No django_db mark here: the plugin adds one, so pytest-django creates the test database.
    assert request.node.get_closest_marker("django_db") is not None
    assert ws_client.session.exists(ws_client.session.session_key)


@pytest.mark.django_db(transaction=True)
def test_ws_client_keeps_a_transactional_mark(request, ws_client):
    assert request.node.get_closest_marker("django_db").kwargs == {"transaction": True}
    ws_client.send_and_consume("websocket.connect", path="/")


@apply_routes([route("square", consumers.double)])
class TestApplyRoutesOnAPytestClass:
    def test_first_method(self, captive_layers, channels_client):
        channels_client.send_and_consume("square", {"value": 4, "reply_to": "result"})
        captive_layers.assert_message("result", value=8)

    def test_second_method(self, captive_layers, channels_client):
        channels_client.send_and_consume("square", {"value": 5, "reply_to": "result"})
        captive_layers.assert_message("result", value=10)
