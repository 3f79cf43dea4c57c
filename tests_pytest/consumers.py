"""Consumers of the plugin's tests, run in the test process and by the live workers."""

import os

from django.contrib.auth.models import User
from django.db import connection

from channels_test import Channel, Group

ROOM = "pytest-room"


def ws_connect(message):
    """Accept every socket and put it in the room."""
    Group(ROOM).add(message.reply_channel)
    message.reply_channel.send({"accept": True})


def ws_receive(message):
    """Echo text back; 'exit N' makes this worker process exit with code N."""
    text = message.get("text") or ""
    if text.startswith("exit "):
        os._exit(int(text.split()[1]))
    message.reply_channel.send({"text": f"echo: {text}"})


def ws_disconnect(message):
    Group(ROOM).discard(message.reply_channel)


def square(message):
    """Send the square of ``value`` to ``reply_to``."""
    Channel(message["reply_to"]).send({"value": message["value"] ** 2})


def double(message):
    """Send twice ``value`` to ``reply_to`` (routed by apply_routes in the tests)."""
    Channel(message["reply_to"]).send({"value": message["value"] * 2})


def create_user(message):
    """Create the user ``username`` and say so on ``reply_to``."""
    user = User.objects.create(username=message["username"])
    Channel(message["reply_to"]).send({"pk": user.pk})


def inspect(message):
    """Answer on ``reply_to`` with what this process sees."""
    Channel(message["reply_to"]).send(
        {
            "pid": os.getpid(),
            "database": str(connection.settings_dict["NAME"]),
            "usernames": sorted(User.objects.values_list("username", flat=True)),
        }
    )
