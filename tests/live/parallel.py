"""Two live classes for a ``--parallel 2`` run: each records its port and layer namespace.

Run only by tests/test_live_server.py, in a subprocess; records go to the
directory ``LIVE_RECORD``. Both classes use one TEST_CONFIG layer file, so
the namespaces differ only by test process.
"""

import json
import os

from django.test import override_settings, tag
from websocket import create_connection

from channels_test.asgi import channel_layers
from channels_test.test.live import ChannelLiveServerTestCase
from tests.support.live import LIVE_LAYERS, live_settings

SHARED_LAYER = {
    **LIVE_LAYERS,
    "default": {
        **LIVE_LAYERS["default"],
        "BACKEND": "channels_test.layers.sqlite.SQLiteChannelLayer",
        "TEST_CONFIG": {"path": os.path.join(os.environ.get("LIVE_RECORD", ""), "shared.sqlite3")},
    },
}


class Recorder:
    def test_1_echo(self):
        socket = create_connection(self.live_server_ws_url + "/ws/", timeout=10)
        self.addCleanup(socket.close)
        socket.send("parallel")
        self.assertEqual(socket.recv(), "echo: parallel")

    def test_2_record(self):
        layer = channel_layers["default"].channel_layer
        record = {
            "test_process": os.getpid(),
            "port": self._live_daphne.listening_port,
            "layer": layer.prefix,
        }
        with open(os.path.join(os.environ["LIVE_RECORD"], f"{type(self).__name__}.json"), "w") as out:
            json.dump(record, out)


@tag("live")
@override_settings(CHANNEL_LAYERS=SHARED_LAYER)
@live_settings
class FirstLiveClass(Recorder, ChannelLiveServerTestCase):
    pass


@tag("live")
@override_settings(CHANNEL_LAYERS=SHARED_LAYER)
@live_settings
class SecondLiveClass(Recorder, ChannelLiveServerTestCase):
    pass
