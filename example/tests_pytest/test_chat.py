"""The chat tested with pytest: channels_test's fixtures beside pytest-django's.

Installing channels_test installs its pytest plugin: ``captive_layers``,
``ws_client``, ``channels_client`` and ``channels_live_server`` need no
import. Run ``pytest`` in example/.
"""

import json
import urllib.request

import pytest
from chat.bindings import ROOM_LIST_GROUP
from chat.consumers import ChatConsumer
from chat.models import Room
from websocket import create_connection

from channels_test.test import apply_routes

# Every reply a test causes must be checked (ChannelTestCase.fail_on_unread_messages).
pytestmark = pytest.mark.fail_on_unread_messages

LOBBY = Room.group_name("lobby")
# Browsers send the page's origin with the handshake; ChatConsumer checks it.
ORIGIN = "http://localhost:8000"


@pytest.fixture
def lobby(captive_layers, db):
    # Saving a Room sends a binding message: ask for captive_layers first,
    # so that it goes to the test's in-memory layer.
    return Room.objects.create(name="lobby", title="Lobby")


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice")


@pytest.fixture
def browser(ws_client):
    """The test's WSClient, sending what a page of the site would."""
    ws_client.set_header("origin", ORIGIN)
    return ws_client


def test_logged_in_user_joins_the_room_and_is_heard(captive_layers, browser, lobby, alice):
    browser.force_login(alice)
    browser.send_and_consume("websocket.connect", path="/chat/lobby/")
    captive_layers.assert_group_members(LOBBY, [browser.reply_channel])

    browser.send_and_consume("websocket.receive", text={"message": "hello"}, path="/chat/lobby/")
    assert browser.receive() == {"room": "lobby", "user": "alice", "message": "hello"}
    captive_layers.assert_no_messages()


def test_anonymous_user_is_refused(captive_layers, browser, lobby):
    browser.send_and_consume("websocket.connect", path="/chat/lobby/", check_accept=False)
    captive_layers.assert_message(browser.reply_channel, close=True)
    captive_layers.assert_group_members(LOBBY, [])


def test_a_blank_message_gets_an_error_back(captive_layers, browser, lobby, alice):
    browser.force_login(alice)
    browser.send_and_consume("websocket.connect", path="/chat/lobby/")
    browser.send_and_consume("websocket.receive", text={"message": "  "}, path="/chat/lobby/")
    assert browser.receive() == {"error": "The message is empty."}


@apply_routes([ChatConsumer.as_route(path=r"^/(?P<room>\w+)$")])
def test_the_consumer_works_wherever_it_is_routed(browser, lobby, alice):
    browser.force_login(alice)
    browser.send_and_consume("websocket.connect", path="/lobby")
    browser.send_and_consume("websocket.receive", text={"message": "hi"}, path="/lobby")
    assert browser.receive() == {"room": "lobby", "user": "alice", "message": "hi"}


def test_the_room_list_hears_of_new_rooms(captive_layers, ws_client):
    ws_client.send_and_consume("websocket.connect", path="/chat/")
    captive_layers.assert_group_members(ROOM_LIST_GROUP, [ws_client.reply_channel])
    room = Room.objects.create(name="news", title="News")
    payload = {"action": "create", "model": "chat.room", "pk": room.pk, "data": {"name": "news", "title": "News"}}
    assert ws_client.receive() == {"stream": "rooms", "payload": payload}


# -- through a live Daphne and worker ------------------------------------------------


def test_a_room_made_in_the_test_reaches_a_live_socket(channels_live_server):
    socket = create_connection(channels_live_server.ws_url + "/chat/", timeout=10)
    try:
        room = Room.objects.create(name="news", title="News")
        data = {"name": "news", "title": "News"}
        assert json.loads(socket.recv()) == {
            "stream": "rooms",
            "payload": {"action": "create", "model": "chat.room", "pk": room.pk, "data": data},
        }
    finally:
        socket.close()


def test_the_index_lists_the_rooms_live(channels_live_server):
    Room.objects.create(name="lobby", title="Lobby")
    with urllib.request.urlopen(channels_live_server.url + "/", timeout=10) as response:
        assert "Lobby" in response.read().decode()
