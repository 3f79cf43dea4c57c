"""Test clients: send messages, run the routed consumers, read the replies.

:class:`Client` plays an interface server on one reply channel;
:class:`WSClient` adds what a WebSocket browser brings: JSON text frames,
headers, cookies, the Django session and its login. The messages
themselves are built by :mod:`channels_test.asgi1`, as the interface builds
them.

(A little over 400 lines on purpose: ``WSClient`` overrides most of
``Client``'s methods, and the two read best side by side.)
"""

from __future__ import annotations

import re
import warnings
from http.cookies import SimpleCookie
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from ..asgi import channel_layers
from ..asgi1 import (
    TEST_CLIENT,
    TEST_SERVER,
    check_websocket_reply,
    headers_problem,
    websocket_connect,
)
from ..channel import DEFAULT_CHANNEL_LAYER, Channel, Group
from ..deprecation import ChannelsTestDeprecationWarning
from ..jsoncodec import decode_json, encode_json
from ..layers.base import random_letters
from ..message import Message
from ..sessions import new_unsaved_session, save_unsaved_session
from ..worker import run_consumer
from .base import ConnectionGuard, describe_waiting, next_message

__all__ = ["Client", "WSClient"]

ACCEPT = {"accept": True}


def _check_content(content: Any, path_hint: bool = False) -> dict:
    """Return a new dict from ``content`` (None: empty); refuse anything but a dict."""
    if content is None:
        return {}
    if isinstance(content, dict):
        return dict(content)
    if path_hint and isinstance(content, str) and content.startswith("/"):
        raise TypeError(f"content must be a dict; to set the path use path={content!r}")
    raise TypeError(f"content must be a dict, not {type(content).__name__}: {content!r}")


class Client:
    """A client of the channel layer ``alias``, with a reply channel of its own.

    ``send`` puts messages on channels (adding ``reply_channel``), ``consume``
    runs the routed consumer for the next message the way a worker does
    (held sends go out when it returns; its exceptions reach the test), and
    ``receive`` reads what came back on the reply channel.
    """

    #: Start of the reply channel name; random letters make it unique per client.
    #: A plain name (not process-local), as in Channels 1.x, so tests can read
    #: it with ``get_next_message``.
    reply_channel_prefix = "test.reply."

    def __init__(self, alias: str = DEFAULT_CHANNEL_LAYER):
        self.alias = alias
        self.reply_channel = self.reply_channel_prefix + random_letters(12)
        self._reply_channels = (self.reply_channel,)

    @property
    def channel_layer(self) -> Any:
        """The layer wrapper of ``alias`` now (a test case swaps it per test)."""
        wrapper = channel_layers.backends.get(self.alias)  # made already, as a rule
        return wrapper if wrapper is not None else channel_layers[self.alias]

    def get_next_message(self, channel: Channel | str, require: bool = False) -> Message | None:
        """Take the next message on ``channel`` of this client's layer (see ChannelTestCase)."""
        return next_message(channel, self.alias, require)

    def send(self, to: str, content: dict | None = None) -> None:
        """Send ``content`` (plus this client's ``reply_channel``) to channel ``to``."""
        self.channel_layer.send(to, self._content(content))

    def _content(self, content: dict | None) -> dict:
        content = _check_content(content)
        content.setdefault("reply_channel", self.reply_channel)
        return content

    def consume(self, channel: str, fail_on_none: bool = True) -> Any:
        """Run the routed consumer for the next message on ``channel``; return what it returned.

        A class-based consumer returns its instance, so a test can read its
        attributes. Without a message, or without a route for it, fail the
        test (AssertionError saying what was found), or with
        ``fail_on_none=False`` return None. ``consumer_started``/
        ``consumer_finished`` are sent; what the consumer sends goes out when
        it returns; what it raises propagates (``DenyConnection`` too, as in
        Channels 1.x; a :class:`~channels_test.exceptions.ChannelSocketException`
        runs its action instead).
        """
        return self._consume(channel, fail_on_none)[1]

    def _consume(self, channel: str, fail_on_none: bool) -> tuple[bool, Any]:
        """Consume as :meth:`consume` does; return (whether a consumer ran, its result)."""
        wrapper = self.channel_layer
        received, content = wrapper.receive((channel,), block=False)
        return self._run(wrapper, channel, fail_on_none, received, content)

    def _send_and_consume(self, wrapper: Any, channel: str, message: dict, fail_on_none: bool) -> tuple[bool, Any]:
        """Send ``message`` to ``channel`` and consume as :meth:`_consume` does, in one step on the layer."""
        try:
            plain = wrapper._plain
        except AttributeError:  # not our wrapper
            plain = False
        if not plain:  # a layer of another package, or a send a test replaced: called as in 1.x
            wrapper.send(channel, message)
            return self._consume(channel, fail_on_none)
        received, content = wrapper.send_and_receive(channel, message)
        return self._run(wrapper, channel, fail_on_none, received, content)

    def _run(
        self, wrapper: Any, channel: str, fail_on_none: bool, received: str | None, content: Any
    ) -> tuple[bool, Any]:
        """Run the routed consumer for ``content``, taken off ``received`` (None: nothing was waiting on ``channel``)."""
        if received is None:
            if fail_on_none:
                raise AssertionError(
                    f"No message to consume on {channel!r} (layer {self.alias!r}); {describe_waiting(wrapper)}."
                )
            return False, None
        message = Message(content, received, wrapper)
        match = (wrapper._router or wrapper.router).match(message)
        if match is None:
            if fail_on_none:
                raise AssertionError(
                    f"No route matches the message on {channel!r} (layer {self.alias!r}): {content!r}. "
                    "Add a route for it, e.g. with apply_routes([route(...)])."
                )
            return False, None
        consumer, kwargs = match
        ConnectionGuard.recheck()
        return True, run_consumer(consumer, message, kwargs, sender=type(self), refuse_denied=False)

    def _overridden(self, send: Any, consume: Any) -> bool:
        """True unless ``send`` and ``consume`` are the ones this client runs (none overridden or patched).

        ``send_and_consume`` then sends and consumes in one step on the
        layer; otherwise it calls ``send`` and ``consume``, as in Channels 1.x.
        """
        cls = type(self)
        return (
            cls.send is not send or cls.consume is not consume or "send" in self.__dict__ or "consume" in self.__dict__
        )

    def send_and_consume(self, channel: str, content: dict | None = None, fail_on_none: bool = True) -> Any:
        """Send ``content`` to ``channel``, then consume it; return what the consumer returned."""
        if self._overridden(_CLIENT_SEND, _CLIENT_CONSUME):
            self.send(channel, content)
            return self.consume(channel, fail_on_none=fail_on_none)
        return self._send_and_consume(self.channel_layer, channel, self._content(content), fail_on_none)[1]

    def receive_content(self) -> dict | None:
        """Take the next message on the reply channel: its content, or None."""
        _, content = self.channel_layer.receive(self._reply_channels, block=False)
        return content

    def receive(self) -> dict | None:
        """Take the next message on the reply channel: its content, or None."""
        return self.receive_content()

    def get_consumer_by_channel(self, channel: str) -> Any:
        """Return the consumer routed for an empty message on ``channel``, or None."""
        wrapper = self.channel_layer
        match = wrapper.router.match(Message({"text": ""}, channel, wrapper))
        return match[0] if match is not None else None

    def join_group(self, group: str) -> None:
        """Add this client's reply channel to ``group``."""
        Group(group, alias=self.alias).add(self.reply_channel)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.reply_channel!r} on {self.alias!r}>"


class WSClient(Client):
    """A WebSocket client: JSON text frames, headers, cookies, session and login.

    ``send(to, content=None, text=None, path='/')`` fills in ``path`` and
    ``headers`` (with the cookies, and the session cookie when
    ``django.contrib.sessions`` is installed). On ``websocket.connect`` it
    sends what the interface sends (:func:`channels_test.asgi1.websocket_connect`):
    the ``query_string`` from ``path``, ``root_path`` ``""``, ``scheme``
    ``"ws"``, and as ``client`` and ``server`` the addresses Django's test
    client uses, :data:`~channels_test.asgi1.TEST_CLIENT` (``["127.0.0.1", 0]``)
    and :data:`~channels_test.asgi1.TEST_SERVER` (``["testserver", 80]``);
    ``websocket.disconnect`` gets ``code`` 1000 (a normal close). Keys in
    ``content`` win over all of these. A ``text`` that is not a str is sent
    as JSON. With ``ordered=True`` messages are numbered in ``order`` from 0.
    """

    def __init__(self, alias: str = DEFAULT_CHANNEL_LAYER, *, ordered: bool = False):
        super().__init__(alias)
        self.ordered = ordered
        self.order = 0
        self._headers: dict[str, bytes] = {}
        self._cookies: dict[str, str] = {}
        self._session: Any = None
        self._header_cache: tuple | None = None
        self._with_session = _sessions_installed()

    # -- headers, cookies, session ------------------------------------------

    def set_header(self, name: str, value: str | bytes) -> None:
        """Send header ``name`` (case-insensitive) with every message."""
        name = name.lower()
        if name == "cookie":
            raise ValueError(
                "Set cookies with set_cookie(name, value), not set_header('cookie', ...): "
                "the client builds the cookie header from them and the session."
            )
        self._headers[name] = value.encode("latin-1") if isinstance(value, str) else bytes(value)
        self._header_cache = None

    def set_cookie(self, name: str, value: str) -> None:
        """Send cookie ``name`` with every message."""
        self._cookies[name] = value
        self._header_cache = None

    def get_cookies(self) -> dict[str, str]:
        """Return the cookies sent, the session cookie included (the session is then saved)."""
        if self._with_session:
            save_unsaved_session(self._session_key())
        return self._cookies_sent()

    @property
    def headers(self) -> dict[str, bytes]:
        """The headers sent, by lower-case name (``cookie`` built from the cookies)."""
        if self._with_session:
            save_unsaved_session(self._session_key())
        return self._headers_sent()

    def _cookies_sent(self) -> dict[str, str]:
        cookies = dict(self._cookies)
        if self._with_session:
            cookies[settings.SESSION_COOKIE_NAME] = self._session_key()
        return cookies

    def _headers_sent(self) -> dict[str, bytes]:
        headers = dict(self._headers)
        cookies = self._cookies_sent()
        if cookies:
            headers["cookie"] = _encode_cookies(cookies)
        return headers

    def _header_list(self) -> list:
        """Return the ``headers`` of a message: ``[[name, value], ...]`` byte pairs (cached)."""
        session_key = self._session_key() if self._with_session else None
        cache = self._header_cache
        if cache is None or cache[0] != session_key:
            headers = [[name.encode("latin-1"), value] for name, value in self._headers_sent().items()]
            cache = self._header_cache = (session_key, headers)
        return cache[1]

    @property
    def session(self) -> Any:
        """The client's Django session (a SESSION_ENGINE store, saved so consumers can load it)."""
        session_key = self._session_key()
        save_unsaved_session(session_key)
        return self._session

    def _session_key(self) -> str:
        """Return the key of the client's session, made (not saved) on first use.

        The messages carry the key from the start; the session is saved when
        a consumer or view of this process loads it, when the test reads
        :attr:`session`, or before a message goes to a layer other
        processes read (see :func:`channels_test.sessions.new_unsaved_session`).
        """
        session = self._session
        if session is None:
            if not _sessions_installed():
                raise ImproperlyConfigured("WSClient.session needs 'django.contrib.sessions' in INSTALLED_APPS.")
            session = self._session = new_unsaved_session()
        return session.session_key

    def login(self, **credentials: Any) -> bool:
        """Log a user in as ``django.test.Client.login`` does; return False if the credentials fail."""
        from django.contrib.auth import authenticate

        user = authenticate(**credentials)
        if user is None:
            return False
        self._login(user)
        return True

    def force_login(self, user: Any, backend: str | None = None) -> None:
        """Log ``user`` in without credentials, as ``django.test.Client.force_login`` does."""
        if backend is None:
            backend = _first_backend_with_get_user()
        user.backend = backend
        self._login(user, backend)

    def logout(self) -> None:
        """Log out and start a new, empty session."""
        from django.contrib.auth import get_user, logout
        from django.http import HttpRequest

        request = HttpRequest()
        request.session = self.session
        request.user = get_user(request)
        logout(request)
        self._session = None

    def _login(self, user: Any, backend: str | None = None) -> None:
        from django.contrib.auth import login
        from django.http import HttpRequest

        request = HttpRequest()
        request.session = self.session
        login(request, user, backend)
        request.session.save()

    # -- messages -------------------------------------------------------------

    def send(self, to: str, content: dict | None = None, text: Any = None, path: str = "/") -> None:
        """Send a message to ``to`` as a WebSocket interface server would (see the class)."""
        wrapper = self.channel_layer
        wrapper.send(to, self._message(to, content, text, path, wrapper))

    def _message(self, to: str, content: Any, text: Any, path: str, wrapper: Any = None) -> dict:
        """Return the message :meth:`send` sends to ``to`` (on ``wrapper``'s layer, when given)."""
        path, _, query_string = path.partition("?")
        if content is None:  # the usual case: what the else branch makes of {}
            content = {"reply_channel": self.reply_channel, "path": path, "headers": self._header_list()}
        else:
            content = _check_content(content, path_hint=True)
            content.setdefault("reply_channel", self.reply_channel)
            content.setdefault("path", path)
            if "headers" in content:
                _warn_if_malformed_headers(content["headers"])
            else:
                content["headers"] = self._header_list()
        if to == "websocket.connect":
            connect = websocket_connect(
                reply_channel=content["reply_channel"],
                path=content["path"],
                query_string=query_string.encode("latin-1"),
                client=TEST_CLIENT,
                server=TEST_SERVER,
            )
            del connect["order"], connect["headers"]  # numbered below if ordered; headers as given
            content = {**connect, **content}
        elif to == "websocket.disconnect":
            content.setdefault("code", 1000)
        if self.ordered:
            if "order" in content:
                raise ValueError(
                    f"This client numbers messages itself (ordered=True) but content has "
                    f"'order': {content['order']!r}; drop one of the two."
                )
            content["order"] = self.order
            self.order += 1
        if text is None:
            text = content.get("text")
        if text is not None:
            content["text"] = text if isinstance(text, str) else encode_json(text)
        if self._session is not None and wrapper is not None and not wrapper._local_only:
            # Consumers in other processes (a live server's workers) load the session from the database.
            save_unsaved_session(self._session.session_key)
        return content

    # Channels 1.x's WSClient took text and path before fail_on_none, positionally
    # too: kept for compatibility, though Client's signature differs.
    def send_and_consume(  # type: ignore[override]
        self,
        channel: str,
        content: dict | None = None,
        text: Any = None,
        path: str = "/",
        fail_on_none: bool = True,
        check_accept: bool = True,
    ) -> Any:
        """Send a message to ``channel``, then consume it; return what the consumer returned."""
        if self._overridden(_WSCLIENT_SEND, _WSCLIENT_CONSUME):
            self.send(channel, content, text, path)
            return self.consume(channel, fail_on_none=fail_on_none, check_accept=check_accept)
        wrapper = self.channel_layer
        message = self._message(channel, content, text, path, wrapper)
        ran, result = self._send_and_consume(wrapper, channel, message, fail_on_none)
        if ran and check_accept and channel == "websocket.connect":
            self._check_accepted()
        return result

    def consume(self, channel: str, fail_on_none: bool = True, check_accept: bool = True) -> Any:
        """Run the routed consumer for the next message on ``channel``; return what it returned.

        For ``websocket.connect`` with ``check_accept``, the consumer's reply
        must be ``{"accept": True}`` (taken off the reply channel); anything
        else fails the test, showing what came instead. Pass
        ``check_accept=False`` for a consumer meant to refuse or close.
        """
        ran, result = self._consume(channel, fail_on_none)
        if ran and check_accept and channel == "websocket.connect":
            self._check_accepted()
        return result

    def _check_accepted(self) -> None:
        """Take the reply to a ``websocket.connect``; fail the test unless it accepts the connection."""
        reply = self.receive_content()
        if reply is None or reply.get("accept") is not True:
            found = "nothing" if reply is None else repr(reply)
            problem = None if reply is None else check_websocket_reply(reply)
            malformed = f" The interface would close the connection: {problem}." if problem else ""
            raise AssertionError(
                f"websocket.connect was not accepted: the consumer sent {found} on "
                f"{self.reply_channel!r} instead of {ACCEPT!r}.{malformed} For a consumer meant to "
                "refuse or close the connection, pass check_accept=False."
            )

    def _get_content(self, content: dict | None = None, text: Any = None, path: str = "/") -> dict:
        """Return a message as Channels 1.x's WSClient built it (for tests written against it).

        Unlike :meth:`send`, ``headers`` is a dict of ``{name: bytes}`` and a
        query string is kept, as a str, whatever the channel.
        """
        path, _, query_string = path.partition("?")
        message = self._message("", content, text, path)
        if query_string:
            message.setdefault("query_string", query_string)
        if isinstance(message.get("headers"), list):
            message["headers"] = {name.decode("latin-1"): value for name, value in message["headers"]}
        return message

    def receive_text(self) -> str:
        """Take the next reply, which must be a text frame, and return its text."""
        content = self.receive_content()
        if content is None or not isinstance(content.get("text"), str):
            found = "nothing" if content is None else repr(content)
            raise AssertionError(f"Expected a text frame on {self.reply_channel!r}, found {found}.")
        return content["text"]

    def receive_json(self) -> Any:
        """Take the next reply, which must be a JSON text frame, and return it decoded."""
        text = self.receive_text()
        try:
            return decode_json(text)
        except ValueError as error:
            raise AssertionError(f"The text frame on {self.reply_channel!r} is not JSON ({error}): {text!r}") from error

    def receive(self, json: bool = True) -> Any:
        """Take the next reply, the Channels 1.x way (prefer receive_json/receive_text).

        Return None if there is none. A ``text`` that is a str is decoded as
        JSON unless ``json=False``; any other ``text`` value is returned as
        it is; a reply without ``text`` (``{"close": True}``,
        ``{"bytes": ...}``, ``{"accept": True}``) is returned whole.
        """
        content = self.receive_content()
        if content is None:
            return None
        if "text" not in content:
            return content
        text = content["text"]
        if json and isinstance(text, str):
            return decode_json(text)
        return text


def _warn_if_malformed_headers(headers: Any) -> None:
    """Warn when ``headers`` given in a test's content are no interface server's (1.x's dicts pass)."""
    if isinstance(headers, dict):
        return
    problem = headers_problem(headers)
    if problem:
        warnings.warn(
            f"WSClient message {problem}; an interface server always sends [name, value] byte "
            "pairs, so the consumer under test will never see these headers in production.",
            ChannelsTestDeprecationWarning,
            stacklevel=4,
        )


def _sessions_installed() -> bool:
    return apps.is_installed("django.contrib.sessions")


# Cookie names and values that need no quoting (http.cookies' legal characters).
_PLAIN_COOKIE = re.compile(r"[\w!#$%&'*+\-.^`|~:]*", re.ASCII)


def _encode_cookies(cookies: dict[str, str]) -> bytes:
    """Return a ``Cookie`` header value (quoted where needed, as Django parses it)."""
    if all(_PLAIN_COOKIE.fullmatch(name) and _PLAIN_COOKIE.fullmatch(value) for name, value in cookies.items()):
        return "; ".join(f"{name}={value}" for name, value in cookies.items()).encode("ascii")
    jar = SimpleCookie()
    for name, value in cookies.items():
        jar[name] = value
    return "; ".join(morsel.OutputString() for morsel in jar.values()).encode("ascii")


def _first_backend_with_get_user() -> str:
    """Return the first AUTHENTICATION_BACKENDS entry that can load users (as Django's client)."""
    from django.contrib.auth import load_backend

    for path in settings.AUTHENTICATION_BACKENDS:
        if hasattr(load_backend(path), "get_user"):
            return path
    raise ImproperlyConfigured("No AUTHENTICATION_BACKENDS entry has get_user(); force_login needs one.")


# What send_and_consume checks for overrides (see Client._overridden).
_CLIENT_SEND, _CLIENT_CONSUME = Client.send, Client.consume
_WSCLIENT_SEND, _WSCLIENT_CONSUME = WSClient.send, WSClient.consume
