"""Django users for consumers, from the HTTP session or the channel session.

Each decorator sets ``message.user``: the logged-in user, or Django's
``AnonymousUser`` when nobody is logged in.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib import auth
from django.contrib.auth.models import AnonymousUser

from .sessions import channel_and_http_session, channel_session, http_session

__all__ = [
    "transfer_user",
    "http_session_user",
    "channel_session_user",
    "channel_session_user_from_http",
    "channel_and_http_session_user_from_http",
]

USER_SESSION_KEYS = (auth.SESSION_KEY, auth.BACKEND_SESSION_KEY, auth.HASH_SESSION_KEY)


class _SessionRequest:
    """The little of a request that ``django.contrib.auth.get_user`` reads."""

    def __init__(self, session: Any):
        self.session = session


def user_from_session(session: Any) -> Any:
    """Return the user logged in to ``session`` (AnonymousUser for None or nobody)."""
    if session is None:
        return AnonymousUser()
    return auth.get_user(_SessionRequest(session))


def transfer_user(from_session: Any, to_session: Any) -> None:
    """Copy the login (or its absence) from one session to another.

    Keys the source lacks are removed from the target, so logging out in the
    HTTP session is seen by the channel session on the next connect.
    """
    for key in USER_SESSION_KEYS:
        if key in from_session:
            to_session[key] = from_session[key]
        elif key in to_session:
            del to_session[key]


def http_session_user(func: Callable) -> Callable:
    """Give the consumer ``message.http_session`` and ``message.user`` from it."""

    @http_session
    @functools.wraps(func)
    def inner(message: Any, *args: Any, **kwargs: Any) -> Any:
        message.user = user_from_session(message.http_session)
        return func(message, *args, **kwargs)

    return inner


def channel_session_user(func: Callable) -> Callable:
    """Give the consumer ``message.channel_session`` and ``message.user`` from it."""

    @channel_session
    @functools.wraps(func)
    def inner(message: Any, *args: Any, **kwargs: Any) -> Any:
        message.user = user_from_session(message.channel_session)
        return func(message, *args, **kwargs)

    return inner


def channel_session_user_from_http(func: Callable) -> Callable:
    """On connect, copy the HTTP session's login into the channel session.

    Use it on ``websocket.connect``; use :func:`channel_session_user` on the
    connection's other consumers to read ``message.user`` back.
    """

    @http_session_user
    @channel_session
    @functools.wraps(func)
    def inner(message: Any, *args: Any, **kwargs: Any) -> Any:
        # As in Channels 1.x, a message that carries the HTTP session (its
        # cookie) brings its login over; a connect without one starts logged out.
        if message.http_session is not None:
            transfer_user(message.http_session, message.channel_session)
        elif message.channel.name == "websocket.connect":
            transfer_user({}, message.channel_session)
        return func(message, *args, **kwargs)

    return inner


def channel_and_http_session_user_from_http(func: Callable) -> Callable:
    """Like :func:`channel_session_user_from_http`, keeping ``message.http_session`` too."""

    @http_session_user
    @channel_and_http_session
    @functools.wraps(func)
    def inner(message: Any, *args: Any, **kwargs: Any) -> Any:
        if message.http_session is not None:
            transfer_user(message.http_session, message.channel_session)
        return func(message, *args, **kwargs)

    return inner
