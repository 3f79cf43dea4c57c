"""The ASGI 1 "HTTP & WebSocket" message format: its shapes, builders and checks.

Every message that travels between an interface server and the consumers
has its shape here, once:

- :mod:`channels_test.interface` builds ``http.request`` and ``websocket.*``
  messages from the connections Daphne hands it (:func:`http_request_from_scope`,
  :func:`websocket_connect_from_scope`, ...) and checks the consumers' replies
  (:func:`check_http_reply`, :func:`check_websocket_reply`);
- :mod:`channels_test.handler` reads ``http.request`` into a Django request
  (:func:`http_request_scope`);
- :mod:`channels_test.test.client` builds what tests send with the same
  builders (:func:`websocket_connect`), filling in :data:`TEST_CLIENT`,
  :data:`TEST_SERVER` and the ``ws`` scheme where a server would give real ones.

A check returns a sentence saying what is wrong (or None), so each caller
chooses what to do with it (log and close, raise, warn) while the words are
the same everywhere.

It is one module of some 440 lines on purpose: the format is one thing, and
its shapes, builders and checks are read side by side.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any, TypedDict

from .deprecation import ChannelsTestDeprecationWarning

__all__ = [
    "TEST_CLIENT",
    "TEST_SERVER",
    "HttpDisconnect",
    "HttpRequest",
    "HttpRequestBodyChunk",
    "HttpResponse",
    "MalformedMessage",
    "MissingKey",
    "WebsocketConnect",
    "WebsocketDisconnect",
    "WebsocketReceive",
    "WebsocketReply",
    "check_http_reply",
    "check_websocket_reply",
    "header_pairs",
    "headers_problem",
    "http_body_chunk",
    "http_disconnect",
    "http_request",
    "http_request_from_scope",
    "http_request_scope",
    "websocket_connect",
    "websocket_connect_from_scope",
    "websocket_disconnect",
    "websocket_receive",
]

#: ``client`` of the messages test clients send: Django's test client's address.
TEST_CLIENT = ["127.0.0.1", 0]
#: ``server`` of the messages test clients send: Django's test server name and port.
TEST_SERVER = ["testserver", 80]

HTTP_RESPONSE_KEYS = frozenset({"status", "headers", "content", "more_content"})
WEBSOCKET_REPLY_KEYS = frozenset({"accept", "text", "bytes", "close"})
#: Close codes a consumer may ask for besides 3000-4999.
CLOSE_CODES = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014})


# -- shapes ---------------------------------------------------------------------


class HttpRequest(TypedDict, total=False):
    """``http.request``: one HTTP request (``path``, ``method``, ``reply_channel`` required)."""

    reply_channel: str
    http_version: str
    method: str
    scheme: str
    path: str
    query_string: bytes
    root_path: str
    headers: list[list[bytes]]
    body: bytes
    body_channel: str
    client: list | None
    server: list | None


class HttpRequestBodyChunk(TypedDict):
    """A piece of a long request body, on the request's ``body_channel``."""

    content: bytes
    closed: bool
    more_content: bool


class HttpResponse(TypedDict, total=False):
    """``http.response!…``: the first carries ``status``; the last has no ``more_content``."""

    status: int
    headers: list
    content: bytes
    more_content: bool


class HttpDisconnect(TypedDict):
    """``http.disconnect``: the client left before its response was complete."""

    reply_channel: str
    path: str


class WebsocketConnect(TypedDict, total=False):
    """``websocket.connect``: a handshake awaiting the consumer's verdict."""

    reply_channel: str
    path: str
    order: int
    headers: list[list[bytes]]
    query_string: bytes
    root_path: str
    scheme: str
    client: list | None
    server: list | None


class WebsocketReceive(TypedDict, total=False):
    """``websocket.receive``: one frame, ``text`` or ``bytes``."""

    reply_channel: str
    path: str
    order: int
    text: str
    bytes: bytes


class WebsocketDisconnect(TypedDict):
    """``websocket.disconnect``: the socket closed with ``code``."""

    reply_channel: str
    path: str
    order: int
    code: int


class WebsocketReply(TypedDict, total=False):
    """``websocket.send!…``: ``accept``, a ``text`` or ``bytes`` frame, ``close``."""

    accept: bool
    text: str
    bytes: bytes
    close: bool | int


# -- builders -------------------------------------------------------------------


def header_pairs(headers: Iterable) -> list[list[bytes]]:
    """Return ``headers`` as ``[name, value]`` byte pairs, names lower-case."""
    return [[bytes(name).lower(), bytes(value)] for name, value in headers]


def _address(value: Any) -> list | None:
    return None if value is None else list(value)


def http_request(
    *,
    reply_channel: str,
    method: str,
    path: str,
    query_string: bytes = b"",
    root_path: str = "",
    headers: Iterable = (),
    body: bytes = b"",
    scheme: str = "http",
    http_version: str = "1.1",
    client: Iterable | None = None,
    server: Iterable | None = None,
) -> HttpRequest:
    """Return an ``http.request`` message (``body_channel`` is added by whoever sends the rest)."""
    return {
        "reply_channel": reply_channel,
        "http_version": http_version,
        "method": method,
        "scheme": scheme,
        "path": path,
        "query_string": query_string,
        "root_path": root_path,
        "headers": header_pairs(headers),
        "body": body,
        "client": _address(client),
        "server": _address(server),
    }


def http_request_from_scope(scope: dict, reply_channel: str, body: bytes) -> HttpRequest:
    """Return the ``http.request`` message for an ASGI 3 HTTP ``scope``."""
    return http_request(
        reply_channel=reply_channel,
        method=scope["method"],
        path=scope["path"],
        query_string=scope.get("query_string", b""),
        root_path=scope.get("root_path", ""),
        headers=scope.get("headers", []),
        body=body,
        scheme=scope.get("scheme", "http"),
        http_version=scope.get("http_version", "1.1"),
        client=scope.get("client"),
        server=scope.get("server"),
    )


def http_body_chunk(content: bytes, *, more_content: bool, closed: bool = False) -> HttpRequestBodyChunk:
    """Return a body chunk; ``closed`` says the client left mid-body."""
    return {"content": content, "closed": closed, "more_content": more_content}


def http_disconnect(reply_channel: str, path: str) -> HttpDisconnect:
    return {"reply_channel": reply_channel, "path": path}


def websocket_connect(
    *,
    reply_channel: str,
    path: str,
    order: int = 0,
    headers: Iterable = (),
    query_string: bytes = b"",
    root_path: str = "",
    scheme: str = "ws",
    client: Iterable | None = None,
    server: Iterable | None = None,
) -> WebsocketConnect:
    """Return a ``websocket.connect`` message."""
    return {
        "reply_channel": reply_channel,
        "path": path,
        "order": order,
        "headers": header_pairs(headers),
        "query_string": query_string,
        "root_path": root_path,
        "scheme": scheme,
        "client": _address(client),
        "server": _address(server),
    }


def websocket_connect_from_scope(scope: dict, reply_channel: str, order: int) -> WebsocketConnect:
    """Return the ``websocket.connect`` message for an ASGI 3 WebSocket ``scope``."""
    return websocket_connect(
        reply_channel=reply_channel,
        path=scope["path"],
        order=order,
        headers=scope.get("headers", []),
        query_string=scope.get("query_string", b""),
        root_path=scope.get("root_path", ""),
        scheme=scope.get("scheme", "ws"),
        client=scope.get("client"),
        server=scope.get("server"),
    )


def websocket_receive(
    reply_channel: str,
    path: str,
    order: int,
    *,
    text: str | None = None,
    data: bytes | None = None,
) -> WebsocketReceive:
    """Return a ``websocket.receive`` message: ``text`` if given, else ``bytes`` (``data`` or b"")."""
    message: WebsocketReceive = {"reply_channel": reply_channel, "path": path, "order": order}
    if text is not None:
        message["text"] = text
    else:
        message["bytes"] = data or b""
    return message


def websocket_disconnect(reply_channel: str, path: str, order: int, code: int) -> WebsocketDisconnect:
    return {"reply_channel": reply_channel, "path": path, "order": order, "code": code}


# -- checks ---------------------------------------------------------------------


def headers_problem(headers: Any, example: str = "[b'host', b'example.com']") -> str | None:
    """Return what is wrong with a ``headers`` list of ``[name, value]`` byte pairs, or None."""
    if not isinstance(headers, (list, tuple)):
        return f"'headers' must be a list of [name, value] byte pairs, not {type(headers).__name__}: {headers!r}"
    for index, pair in enumerate(headers):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2 or not all(isinstance(part, bytes) for part in pair):
            return f"'headers' item {index} must be a [name, value] pair of bytes, e.g. {example}, not {pair!r}"
    return None


def check_http_reply(reply: Any, *, first: bool) -> str | None:
    """Return what is wrong with an ``http.response`` message, or None if it is valid.

    The first message of a response must carry ``status``; ``headers`` is a
    list of ``[name, value]`` (or ``(name, value)``) byte pairs, names in any
    case, ``content`` bytes, ``more_content`` a bool.
    """
    if not isinstance(reply, dict):
        return f"a response message must be a dict, not {type(reply).__name__}"
    unknown = sorted(set(reply) - HTTP_RESPONSE_KEYS)
    if unknown:
        return f"unknown key(s) {', '.join(map(repr, unknown))} (allowed: {', '.join(sorted(HTTP_RESPONSE_KEYS))})"
    status = reply.get("status")
    if first and status is None:
        return "the first response message has no 'status'"
    if status is not None and (isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 999):
        return f"'status' must be an int from 100 to 999, not {status!r}"
    problem = headers_problem(reply.get("headers", []), "[b'content-type', b'text/plain']")
    if problem:
        return problem
    if not isinstance(reply.get("content", b""), bytes):
        return f"'content' must be bytes, not {type(reply['content']).__name__}"
    if not isinstance(reply.get("more_content", False), bool):
        return f"'more_content' must be a bool, not {reply['more_content']!r}"
    return None


def check_websocket_reply(reply: Any) -> str | None:
    """Return what is wrong with a ``websocket.send!`` reply, or None if it is valid.

    Allowed keys: ``accept`` (bool), ``text`` (str), ``bytes`` (bytes), not
    both ``text`` and ``bytes``, ``close`` (bool or a close code).
    """
    if not isinstance(reply, dict):
        return f"a reply must be a dict, not {type(reply).__name__}"
    unknown = sorted(set(reply) - WEBSOCKET_REPLY_KEYS)
    if unknown:
        return f"unknown key(s) {', '.join(map(repr, unknown))} (allowed: accept, bytes, close, text)"
    if not reply:
        return "the reply is empty (send accept, text, bytes or close)"
    if "accept" in reply and not isinstance(reply["accept"], bool):
        return f"'accept' must be True or False, not {reply['accept']!r}"
    text, data = reply.get("text"), reply.get("bytes")
    if text is not None and not isinstance(text, str):
        return f"'text' must be a str, not {type(text).__name__} {text!r}"
    if data is not None and not isinstance(data, bytes):
        return f"'bytes' must be bytes, not {type(data).__name__}"
    if text is not None and data is not None:
        return "a reply carries 'text' or 'bytes', not both"
    close = reply.get("close", False)
    if not isinstance(close, bool) and not (isinstance(close, int) and (close in CLOSE_CODES or 3000 <= close <= 4999)):
        return f"'close' must be True, False or a close code (1000, 1001-1014, 3000-4999), not {close!r}"
    return None


# -- reading http.request ---------------------------------------------------------


class MalformedMessage(ValueError):
    """An ``http.request`` message lacks a key or has a value of the wrong type."""


class MissingKey(MalformedMessage, KeyError):
    """An ``http.request`` message lacks a required key.

    Channels 1.x raised ``KeyError`` here; this is both, so old ``except``
    clauses keep working.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def _text(value: Any, key: str) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, str):
        return value
    raise MalformedMessage(f"http.request key {key!r} must be str or bytes, not {type(value).__name__}: {value!r}")


def _path(value: Any, stacklevel: int) -> str:
    if isinstance(value, bytes):
        warnings.warn(
            f"http.request key 'path' is bytes ({value!r}); send it as str, e.g. "
            f"{value.decode('utf-8', 'replace')!r}. Bytes are decoded as UTF-8 for now.",
            ChannelsTestDeprecationWarning,
            stacklevel=stacklevel,
        )
    return _text(value, "path")


def _request_headers(value: Any, stacklevel: int) -> list[tuple[bytes, bytes]]:
    if isinstance(value, dict):
        warnings.warn(
            "http.request key 'headers' is a dict; send a list of [name, value] byte pairs, "
            "e.g. [[b'host', b'example.com']]. Dicts were accepted by Channels 1.x for a "
            "transition period and still are, for now.",
            ChannelsTestDeprecationWarning,
            stacklevel=stacklevel,
        )
        value = [
            [name.encode("latin1") if isinstance(name, str) else name, header_value]
            for name, header_value in value.items()
        ]
    problem = headers_problem(value)
    if problem:
        raise MalformedMessage(f"http.request key {problem}")
    return [(name.lower(), header_value) for name, header_value in value]


def _request_address(value: Any, key: str) -> tuple | None:
    if not value:  # missing, None or empty: unknown, as in 1.x
        return None
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise MalformedMessage(f"http.request key {key!r} must be [host, port], not {value!r}")
    return (_text(value[0], key), value[1])


def http_request_scope(content: Any, *, stacklevel: int = 2) -> dict:
    """Return the ASGI 3 HTTP scope equivalent to an ``http.request`` message.

    ``path`` and ``method`` are required (a missing one raises
    :class:`MissingKey`); a 1.x-style dict of ``headers`` or a bytes
    ``path`` is read with a :class:`ChannelsTestDeprecationWarning` pointing
    ``stacklevel`` frames up; any other malformed value raises
    :class:`MalformedMessage` naming the key.
    """
    for key in ("path", "method"):
        if key not in content:
            raise MissingKey(
                f"http.request message has no {key!r} key (keys: {sorted(content)}); "
                "an interface server must send 'path', 'method' and 'reply_channel'."
            )
    return {
        "type": "http",
        "path": _path(content["path"], stacklevel + 1),
        "root_path": _text(content.get("root_path") or "", "root_path"),
        "method": _text(content["method"], "method").upper(),
        "query_string": _text(content.get("query_string") or b"", "query_string"),
        "headers": _request_headers(content.get("headers") or [], stacklevel + 1),
        "client": _request_address(content.get("client"), "client"),
        "server": _request_address(content.get("server"), "server"),
        "scheme": _text(content.get("scheme") or "http", "scheme"),
    }
