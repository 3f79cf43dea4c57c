"""Consumers the live workers run for tests/test_live_server.py."""

import os

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from channels_test import Channel, Group
from channels_test.binding.websockets import WebsocketBinding
from tests.testapp.models import IntegerValue

ROOM = "live-room"
VALUES = "live-values"


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


def values_connect(message):
    """Sockets on /values/ hear about IntegerValue changes."""
    Group(VALUES).add(message.reply_channel)
    message.reply_channel.send({"accept": True})


def values_disconnect(message):
    Group(VALUES).discard(message.reply_channel)


def inspect(message):
    """Answer on ``reply_to`` with what this worker process sees."""
    Channel(message["reply_to"]).send(
        {
            "pid": os.getpid(),
            "marker": getattr(settings, "LIVE_MARKER", None),
            "debug": settings.DEBUG,
            "database": str(connection.settings_dict["NAME"]),
            "values": sorted(IntegerValue.objects.values_list("name", flat=True)),
            "sqlite_synchronous": sqlite_synchronous(),
        }
    )


def sqlite_synchronous():
    """Return this process's PRAGMA synchronous on the default database (None if not SQLite)."""
    if connection.vendor != "sqlite":
        return None
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous")
        return cursor.fetchone()[0]


def use_other_alias(message):
    """Answer on ``reply_to`` with what sending on the layer alias 'other' does here."""
    try:
        Channel("live.anywhere", alias="other").send({"n": 1}, immediately=True)
        outcome = "sent"
    except ImproperlyConfigured as error:
        outcome = str(error)
    Channel(message["reply_to"]).send({"outcome": outcome})


def fail(message):
    """Raise, so the worker logs a traceback to its output."""
    raise ValueError("consumer broke on purpose")


class LiveValueBinding(WebsocketBinding):
    """Sends IntegerValue changes to the sockets on /values/."""

    model = IntegerValue
    stream = "values"
    fields = ["name", "value"]

    @classmethod
    def group_names(cls, instance):
        return [VALUES]

    def has_permission(self, user, action, pk):
        return False
