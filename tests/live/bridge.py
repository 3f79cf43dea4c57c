"""Consumers and page for the WebSocketBridge browser tests (tests/test_websocketbridge.py).

Sockets on /bridge/echo/ get back every JSON frame they send: ``{"echo":
frame, "socket": reply channel name}``, or, for a stream frame, the same
inside ``{"stream": name, "payload": ...}``. ``{"command": "close"}`` makes
the consumer close the socket. Sockets on /bridge/refuse/ are refused.
``DroppingProxy`` stands between the browser and Daphne to cut connections.
"""

import json
import socket
import struct
import threading

from django.shortcuts import render

from channels_test import Group

SOCKETS = "bridge-sockets"


def echo_connect(message):
    Group(SOCKETS).add(message.reply_channel)
    message.reply_channel.send({"accept": True})


def echo_receive(message):
    frame = json.loads(message["text"])
    if frame == {"command": "close"}:
        message.reply_channel.send({"close": True})
        return
    if isinstance(frame, dict) and "stream" in frame:
        reply = {"stream": frame["stream"], "payload": {"echo": frame["payload"], "socket": message.reply_channel.name}}
    else:
        reply = {"echo": frame, "socket": message.reply_channel.name}
    message.reply_channel.send({"text": json.dumps(reply)})


def echo_disconnect(message):
    Group(SOCKETS).discard(message.reply_channel)


def refuse_connect(message):
    message.reply_channel.send({"accept": False})


def bridge_page(request):
    return render(request, "live/bridge.html")


class DroppingProxy:
    """A TCP forwarder to ``target_port`` whose connections the test can cut, as a failing network would.

    ``drop()`` cuts every connection passing through at the TCP level (a
    reset; no WebSocket closing handshake), and keeps accepting new ones. ``stop()`` ends it; the test registers it as a cleanup.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.lock = threading.Lock()
        self.accepting = threading.Thread(target=self._accept, daemon=True)
        self.accepting.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # stop() closed the listener
            try:
                server = socket.create_connection(("127.0.0.1", self.target_port), timeout=10)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.connections += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass  # dropped or stopped
        try:
            sink.shutdown(socket.SHUT_WR)  # pass an orderly end on
        except OSError:
            pass

    def drop(self) -> int:
        """Reset every open connection; return how many there were."""
        with self.lock:
            connections, self.connections = self.connections, []
        for connection in connections:
            try:
                # Linger 0: the close sends a reset instead of a FIN. Shutting the
                # reading side first wakes the pump blocked in recv() on it.
                connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                connection.shutdown(socket.SHUT_RD)
            except OSError:
                pass  # the peer had closed it already
            connection.close()
        return len(connections)

    def stop(self) -> None:
        self.listener.close()
        self.drop()
        self.accepting.join(timeout=5)
