"""Sessions for consumers: per-connection channel sessions, HTTP sessions, ordering.

* :func:`channel_session` gives ``message.channel_session``, a session that
  lives as long as the connection (keyed by the reply channel).
* :func:`http_session` gives ``message.http_session``, the user's Django
  session found from the session cookie or a ``session_key`` query parameter.
* :func:`channel_and_http_session` does both, remembering the HTTP session
  key at connect so later messages (which carry no cookies) find it.
* :func:`enforce_ordering` runs a connection's messages strictly in their
  ``order``.

Why one module of some 400 lines: it is Channels 1.x's ``channels.sessions``,
whose import path 1.x code uses; its decorators build on one another.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import weakref
from collections.abc import Callable
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import (
    VALID_KEY_CHARS,
    CreateError,
    SessionBase,
)
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import request_started
from django.dispatch import receiver
from django.http import QueryDict, parse_cookie
from django.utils.crypto import salted_hmac

from . import compat
from .exceptions import ConfigurationError, ConsumeLater
from .layers.base import MAX_NAME_LENGTH, random_string
from .message import Message

__all__ = [
    "new_saved_session",
    "new_unsaved_session",
    "save_unsaved_session",
    "session_for_reply_channel",
    "channel_session_key",
    "wait_channel_name",
    "requeue_messages",
    "channel_session",
    "http_session",
    "channel_and_http_session",
    "enforce_ordering",
]

logger = logging.getLogger("channels_test.sessions")

NEXT_ORDER_KEY = "__channels_next_order"
_CHANNEL_KEY_SALT = "channels_test.sessions.channel_session_key"
WORKING_ENGINES = "django.contrib.sessions.backends.db, .cache, .cached_db or .file"


def _engine_path(for_channels: bool) -> str:
    if for_channels:
        return getattr(settings, "CHANNEL_SESSION_ENGINE", None) or settings.SESSION_ENGINE
    return settings.SESSION_ENGINE


def session_store_class(*, for_channels: bool = False) -> type[SessionBase]:
    """Return the configured SessionStore class (``CHANNEL_SESSION_ENGINE`` for channel sessions).

    Raises ImproperlyConfigured for an engine with no server-side storage
    (signed cookies), which cannot hold a channel session.
    """
    path = _engine_path(for_channels)
    try:
        store = import_module(path).SessionStore
    except (ImportError, AttributeError) as error:
        raise ImproperlyConfigured(f"Cannot load the session engine {path!r}: {error}") from error
    if for_channels:
        from django.contrib.sessions.backends.signed_cookies import (
            SessionStore as Signed,
        )

        if issubclass(store, Signed):
            setting = (
                "CHANNEL_SESSION_ENGINE" if getattr(settings, "CHANNEL_SESSION_ENGINE", None) else "SESSION_ENGINE"
            )
            raise ConfigurationError(
                f"{setting} is {path!r}, which keeps sessions in cookies and cannot store "
                "a channel session (a connection has no cookie to write). Use an engine "
                f"with server-side storage: {WORKING_ENGINES}; you may set "
                "CHANNEL_SESSION_ENGINE to one of them and keep SESSION_ENGINE as it is."
            )
    return store


def channel_session_key(reply_channel: str) -> str:
    """Return the session key of a reply channel's session.

    It is an HMAC of the name with ``SECRET_KEY``: knowing a connection's
    reply channel name does not give its session key (which would work as
    a ``sessionid`` cookie). Changing ``SECRET_KEY`` starts channel sessions
    afresh, as they live only as long as a connection anyway.
    """
    digest = salted_hmac(_CHANNEL_KEY_SALT, reply_channel, algorithm="sha256").hexdigest()
    return "chn" + digest[:29]


def new_saved_session() -> SessionBase:
    """Return a new, empty session of ``SESSION_ENGINE``, saved so a consumer can load it by its key.

    What ``SessionStore().save()`` gives, for less: the key (32 characters,
    as Django makes them) comes from one read of the system's random source,
    and no query looks for a clash first, since saving with
    ``must_create=True`` refuses a key that is taken (then another is drawn).
    """
    store = session_store_class()
    while True:
        session = store()
        compat.set_session_key(session, _new_session_key())
        try:
            session.save(must_create=True)
        except CreateError:
            continue
        return session


# Sessions made by new_unsaved_session() and not saved yet, by key. They
# are held weakly: a session its owner dropped is never saved.
_unsaved: weakref.WeakValueDictionary[str, SessionBase] = weakref.WeakValueDictionary()


def new_unsaved_session() -> SessionBase:
    """Return a new, empty session of ``SESSION_ENGINE`` with a fresh key, saved on first load.

    A test client sends such a session's key in its cookie from its first
    message, but a database write costs more than the rest of a typical
    consumer test: the session is saved only when something in this process
    loads it by its key (:func:`http_session` and the decorators built on
    it, the views behind ``AsgiHandler``), or when its owner calls
    :func:`save_unsaved_session`. Until then no row exists, as with
    Channels 1.x's test client, whose session was never saved.
    """
    session = session_store_class()()
    compat.set_session_key(session, _new_session_key())
    _unsaved[session.session_key] = session
    return session


def save_unsaved_session(session_key: str | None) -> None:
    """Save the :func:`new_unsaved_session` of ``session_key`` if it is not saved yet; else nothing."""
    if not _unsaved or session_key is None:
        return
    session = _unsaved.pop(session_key, None)
    if session is None:
        return
    try:
        session.save(must_create=True)
    except CreateError:
        # About 165 random bits make a clash with another session
        # practically impossible; the row that holds the key is then kept.
        logger.warning("Session key %.8s... was taken already; the stored session is kept.", session_key)


@receiver(request_started, dispatch_uid="channels_test.sessions.save_unsaved_session")
def _save_unsaved_session_of_request(sender: Any, message: Any = None, **kwargs: Any) -> None:
    """Before a view behind ``AsgiHandler`` runs, save the unsaved session its cookie names.

    Django's ``SessionMiddleware`` then loads it by that key.
    """
    if _unsaved and message is not None:
        cookie = _header(message, b"cookie")
        if cookie:
            save_unsaved_session(parse_cookie(cookie).get(settings.SESSION_COOKIE_NAME))


def _load_http_session(session_key: str) -> SessionBase:
    """Return the ``SESSION_ENGINE`` session of ``session_key`` (saving a test client's first)."""
    save_unsaved_session(session_key)
    return session_store_class()(session_key=session_key)


SESSION_KEY_LENGTH = 32


def _new_session_key() -> str:
    """Return a random session key of Django's length and alphabet (about 165 random bits)."""
    return random_string(SESSION_KEY_LENGTH, VALID_KEY_CHARS)


def session_for_reply_channel(reply_channel: str) -> SessionBase:
    """Return the session tied to a reply channel name (loaded, maybe empty)."""
    session_key = channel_session_key(reply_channel)
    session = session_store_class(for_channels=True)(session_key=session_key)
    session.keys()  # Load now: a store may replace an unknown key when it loads.
    compat.set_session_key(session, session_key)
    return session


def _require_reply_channel(message: Any, decorator: str) -> None:
    if getattr(message, "reply_channel", None) is None:
        raise ValueError(
            f"@{decorator} needs a message with a 'reply_channel'; the message on "
            f"{message.channel.name!r} has none (keys: {sorted(message.content)})."
        )


def channel_session(func: Callable) -> Callable:
    """Give the consumer ``message.channel_session``, kept per reply channel.

    The session is created on first use and saved after the consumer runs if
    it was changed. Nested uses share one session. It decorates functions
    and methods alike (``def connect(self, message, **kwargs)``).
    """

    @functools.wraps(func)
    def inner(*args: Any, **kwargs: Any) -> Any:
        message = _find_message(args, "channel_session")
        if hasattr(message, "channel_session"):
            try:
                return func(*args, **kwargs)
            finally:
                if message.channel_session.modified:
                    message.channel_session.save()
        _require_reply_channel(message, "channel_session")
        session = session_for_reply_channel(message.reply_channel.name)
        if not session.exists(session.session_key):
            try:
                session.save(must_create=True)
            except CreateError:
                # Another worker is creating it at the same moment: try again later.
                raise ConsumeLater() from None
        message.channel_session = session
        try:
            return func(*args, **kwargs)
        finally:
            if session.modified and not session.is_empty():
                session.save()

    return inner


class NoMessageError(ValueError, TypeError):
    """A session decorator was called without a Message (a ValueError, as in Channels 1.x)."""


def _find_message(args: tuple, decorator: str) -> Any:
    """Return the Message among a consumer's first two arguments (a function's, or a method's)."""
    for argument in args[:2]:
        if isinstance(argument, Message):
            return argument
    raise NoMessageError(
        f"{decorator} called without Message instance: the consumer's first argument (or "
        f"the second, after self) must be a Message, not "
        f"{', '.join(type(a).__name__ for a in args[:2]) or 'nothing'}."
    )


WAIT_PREFIX = "__wait__."


def wait_channel_name(reply_channel: str) -> str:
    """Return the channel where a connection's early messages wait.

    As in Channels 1.x, ``__wait__.`` plus the reply channel name with ``!``
    made ``?`` (a single-reader channel); a name that would be too long is
    hashed to stay under the layer's name length limit.
    """
    name = WAIT_PREFIX + reply_channel.replace("!", "?")
    if len(name) < MAX_NAME_LENGTH:
        return name
    return WAIT_PREFIX + hashlib.sha256(reply_channel.encode("utf-8")).hexdigest()


def _message_order(message: Any) -> int:
    if "order" not in message.content:
        raise ValueError(
            f"@enforce_ordering needs an 'order' in each message; the message on "
            f"{message.channel.name!r} has none (keys: {sorted(message.content)}). "
            "Interface servers number WebSocket messages; websocket.connect is order 0."
        )
    try:
        return int(message.content["order"])
    except (TypeError, ValueError):
        raise ValueError(f"Message 'order' must be an integer, not {message.content['order']!r}") from None


def _send_raw(message: Any, channel: str, content: dict, what: str) -> None:
    try:
        message.channel_layer.send(channel, content)
    except message.channel_layer.ChannelFull:
        raise message.channel_layer.ChannelFull(
            f"Cannot {what} for {message.reply_channel.name!r}: channel {channel!r} is full."
        ) from None


def requeue_messages(message: Any) -> None:
    """Put every message waiting for this connection back on its original channel."""
    wait_channel = wait_channel_name(message.reply_channel.name)
    while True:
        channel, content = message.channel_layer.receive([wait_channel], block=False)
        if channel is None:
            return
        original = content.pop("original_channel")
        _send_raw(message, original, content, "put a waiting message back")


def _stored_next_order(message: Any) -> int:
    """Return the next expected order as stored now (another worker may have moved it)."""
    return message.channel_session.load().get(NEXT_ORDER_KEY, 0)


def enforce_ordering(func: Callable | None = None, *, slight: bool = False) -> Callable:
    """Run each connection's messages strictly in ``order`` (0, 1, 2, ...).

    The next expected order is kept in the channel session. A message that
    comes early waits on a per-connection wait channel; each time a message
    is handled in turn, every waiting message goes back on its own channel to
    be tried again (Channels 1.x's scheme). If the expected order reached the
    early message while it was being set aside, it is put back at once. A
    message whose order has already been handled (a duplicate) is dropped
    with a warning. Use the decorator on every consumer of the connection's
    channels (connect, receive, disconnect). ``slight=True`` was removed in
    Channels 1.0 and raises ValueError.
    """
    if slight:
        raise ValueError(
            "enforce_ordering(slight=True) is gone: slight ordering is always on now. "
            "Remove the decorator, or use @enforce_ordering for strict ordering."
        )

    def decorator(func: Callable) -> Callable:
        @channel_session
        @functools.wraps(func)
        def inner(message: Any, *args: Any, **kwargs: Any) -> Any:
            order = _message_order(message)
            next_order = message.channel_session.get(NEXT_ORDER_KEY, 0)
            if order < next_order:
                logger.warning(
                    "Dropping message %d on %r for %r: messages up to %d were handled already (a duplicate order).",
                    order,
                    message.channel.name,
                    message.reply_channel.name,
                    next_order - 1,
                )
                return None
            if order > next_order:
                _set_aside(message, order, next_order)
                if _stored_next_order(message) == order:
                    requeue_messages(message)
                return None
            result = func(message, *args, **kwargs)
            message.channel_session[NEXT_ORDER_KEY] = order + 1
            message.channel_session.save()
            message.channel_session.modified = False
            requeue_messages(message)
            return result

        return inner

    return decorator(func) if func is not None else decorator


def _set_aside(message: Any, order: int, next_order: int) -> None:
    logger.debug(
        "Message %d on %r for %r is early (expecting %d); it waits for its turn.",
        order,
        message.channel.name,
        message.reply_channel.name,
        next_order,
    )
    content = dict(message.content, original_channel=message.channel.name)
    _send_raw(message, wait_channel_name(message.reply_channel.name), content, "set aside an early message")


def _header(message: Any, wanted: bytes) -> str | None:
    """Return header ``wanted`` (lower-case bytes) of a message, or None.

    ``headers`` is a list of ``[name, value]`` byte pairs (the ASGI 1 spec)
    or, as Channels 1.x also accepted, a dict of ``{name: value}``.
    """
    headers = message.content.get("headers") or []
    pairs = headers.items() if isinstance(headers, dict) else headers
    values = []
    for pair in pairs:
        if len(pair) != 2:
            continue
        name, value = pair
        if isinstance(name, str):
            name = name.encode("latin-1")
        if isinstance(name, bytes) and name.lower() == wanted:
            values.append(value.decode("latin-1") if isinstance(value, bytes) else str(value))
    return "; ".join(values) if values else None


def http_session_key(message: Any) -> str | None:
    """Return the session key a message carries (``session_key`` parameter, then cookie)."""
    query_string = message.content.get("query_string") or ""
    if not getattr(settings, "CHANNELS_SESSION_KEY_QUERY", True):
        query_string = ""  # the parameter is switched off: the cookie only
    if isinstance(query_string, bytes):
        query_string = query_string.decode("latin-1")
    session_key = QueryDict(query_string).get("session_key")
    if session_key:
        return session_key
    cookie = _header(message, b"cookie")
    if cookie:
        return parse_cookie(cookie).get(settings.SESSION_COOKIE_NAME) or None
    return None


def http_session(func: Callable) -> Callable:
    """Give the consumer ``message.http_session``: the user's Django session, or None.

    The session key comes from a ``session_key`` query parameter or the
    session cookie in the message's headers (``http.request`` and
    ``websocket.connect`` carry them). No session is created here; changes
    the consumer makes are saved after it returns.
    """

    @functools.wraps(func)
    def inner(message: Any, *args: Any, **kwargs: Any) -> Any:
        if hasattr(message, "http_session"):
            try:
                return func(message, *args, **kwargs)
            finally:
                if message.http_session is not None and message.http_session.modified:
                    message.http_session.save()
        session_key = http_session_key(message)
        session = _load_http_session(session_key) if session_key else None
        message.http_session = session
        result = func(message, *args, **kwargs)
        if session is not None and session.modified:
            session.save()
        return result

    return inner


def channel_and_http_session(func: Callable) -> Callable:
    """Give both ``message.channel_session`` and ``message.http_session``.

    At connect the HTTP session key is stored in the channel session; later
    messages of the connection, which carry no cookies, load the HTTP
    session from it.
    """

    @http_session
    @channel_session
    @functools.wraps(func)
    def inner(message: Any, *args: Any, **kwargs: Any) -> Any:
        cookie_name = settings.SESSION_COOKIE_NAME
        if message.http_session is not None:
            if message.channel_session.get(cookie_name) != message.http_session.session_key:
                message.channel_session[cookie_name] = message.http_session.session_key
        elif message.channel_session.get(cookie_name):
            message.http_session = _load_http_session(message.channel_session[cookie_name])
        return func(message, *args, **kwargs)

    return inner
