"""Clients and layers for tests of the interface application (served by Daphne or driven in-process)."""

import asyncio
import http.client
import os
import shutil
import tempfile
import time

import websocket
from asgiref.testing import ApplicationCommunicator
from django.test import SimpleTestCase, override_settings

from channels_test.interface import InterfaceApplication
from channels_test.layers.sqlite import SQLiteChannelLayer

CLIENT_TIMEOUT = 20.0


def get(port: int, path: str) -> tuple[int, bytes]:
    """GET ``path`` from the server on ``port``; return the status and body."""
    status, body, _ = get_with_headers(port, path)
    return status, body


def get_with_headers(port: int, path: str) -> tuple[int, bytes, dict[str, str]]:
    """GET ``path`` from the server on ``port``; return the status, body and headers (lower-case names)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=CLIENT_TIMEOUT)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return response.status, response.read(), headers
    finally:
        connection.close()


def make_layer_directory(testcase) -> str:
    directory = tempfile.mkdtemp(prefix="channels-interface-")
    testcase.addClassCleanup(shutil.rmtree, directory, ignore_errors=True)
    return os.path.join(directory, "layer.sqlite3")


def close_code(socket: websocket.WebSocket) -> int:
    """Read frames until the server's close frame; return its code.

    Frames are read as they come (``recv_frame``), without answering the
    close: a server that drops the connection right after its close frame
    would make the answer fail with a reset, and only the code is asked for.
    """
    while True:
        frame = socket.recv_frame()
        if frame.opcode == websocket.ABNF.OPCODE_CLOSE:
            return int.from_bytes(frame.data[:2], "big")


class InProcessTestCase(SimpleTestCase):
    """The interface application driven directly over ASGI, the test acting as the workers.

    The application serves a SQLite layer in a temp file; the test opens the
    same file with a layer of its own, as a worker process would.
    """

    def setUp(self):
        path = make_layer_directory(self)
        # A short blocking receive: the reply thread notices app.close() at once.
        layers = {
            "default": {
                "BACKEND": "channels_test.layers.sqlite.SQLiteChannelLayer",
                "CONFIG": {"path": path, "blocking_timeout": 0.1},
                "ROUTING": [],
            }
        }
        layer_settings = override_settings(CHANNEL_LAYERS=layers)
        layer_settings.enable()
        self.addCleanup(layer_settings.disable)
        self.app = InterfaceApplication(connect_timeout=10, http_timeout=10)
        self.addCleanup(self.app.close)
        self.worker_layer = SQLiteChannelLayer(path=path, blocking_timeout=0.2)
        self.addCleanup(self.worker_layer.close)

    async def take(self, channel: str, timeout: float = 10.0) -> dict:
        """Return the next message on ``channel``, waiting up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            name, message = await asyncio.to_thread(self.worker_layer.receive, [channel], True)
            if name is not None:
                return message
        self.fail(f"No message on {channel!r} within {timeout:g} s")

    async def reply(self, channel: str, message: dict) -> None:
        await asyncio.to_thread(self.worker_layer.send, channel, message)

    def websocket(self, path: str = "/ws/") -> ApplicationCommunicator:
        scope = {
            "type": "websocket",
            "path": path,
            "headers": [(b"host", b"testserver")],
            "query_string": b"",
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
        }
        communicator = ApplicationCommunicator(self.app, scope)
        self.addCleanup(communicator.stop, exceptions=False)
        return communicator

    async def open_websocket(self, path: str = "/ws/") -> tuple[ApplicationCommunicator, str]:
        """Connect a socket and accept it as a consumer would; return it and its reply channel."""

        communicator = self.websocket(path)
        await communicator.send_input({"type": "websocket.connect"})
        reply_channel = (await self.take("websocket.connect"))["reply_channel"]
        await self.reply(reply_channel, {"accept": True})
        self.assertEqual(await communicator.receive_output(10), {"type": "websocket.accept"})
        return communicator, reply_channel
