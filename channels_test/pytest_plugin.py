"""The pytest plugin: the test toolkit as fixtures, beside pytest-django.

Installing channels_test registers it (the ``pytest11`` entry point
``channels_test``); ``-p no:channels_test`` turns it off. It gives:

* ``captive_layers``: captive in-memory layers for the test, as
  ``ChannelTestCase`` installs them, with its message assertions;
* ``channels_client`` (a ``Client``) and ``ws_client`` (a ``WSClient``)
  on those layers;
* ``channels_live_server``: Daphne and workers shared by a module's tests;
* the marker ``channel_aliases("default", "other")`` choosing the aliases
  made captive, and ``fail_on_unread_messages``.

The database stays pytest-django's: mark tests ``django_db`` or request
``db``/``transactional_db`` as usual. The plugin only marks the tests whose
fixtures need it: ``channels_live_server``'s ``django_db(transaction=True)``
(as pytest-django's ``live_server`` does), ``ws_client``'s ``django_db``.
Django and the toolkit are imported when a fixture runs, never when pytest
loads the plugin (pytest-django has not configured settings then).
"""

from __future__ import annotations

import functools
from collections.abc import Generator, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import pluggy

    from .channel import Channel
    from .message import Message
    from .test.base import LayerSwap
    from .test.client import Client, WSClient
    from .test.live import LiveServer

__all__ = ["CaptiveLayers"]

DEFAULT_ALIAS = "default"  # channels_test.DEFAULT_CHANNEL_LAYER, without importing Django here
ALIASES_MARKER = "channel_aliases"
UNREAD_MARKER = "fail_on_unread_messages"
call_failed_key = pytest.StashKey[bool]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{ALIASES_MARKER}(*aliases): the CHANNEL_LAYERS aliases the captive_layers fixture "
        "swaps for in-memory layers (default: 'default').",
    )
    config.addinivalue_line(
        "markers",
        f"{UNREAD_MARKER}: fail a test that leaves messages unread on its captive layers "
        "(ChannelTestCase.fail_on_unread_messages).",
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo
) -> Generator[None, pluggy.Result[pytest.TestReport], None]:
    # Remember whether the test itself failed: the unread-messages check keeps quiet then.
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.stash[call_failed_key] = report.failed


# -- captive layers -----------------------------------------------------------------


class CaptiveLayers:
    """The captive in-memory layers of one test, and ``ChannelTestCase``'s assertions on them.

    ``captive_layers["other"]`` is the layer wrapper installed for an alias.
    The assertions take the same arguments as ``ChannelTestCase``'s
    (``assert_message`` is ``assertMessage``, and so on) and fail with the
    same ``AssertionError`` messages.
    """

    def __init__(self, swap: LayerSwap):
        self._wrappers = swap.wrappers()
        self._assertions = _channel_assertions()
        self._assertions._channel_layer_swap = swap

    def __repr__(self) -> str:
        return f"<CaptiveLayers {', '.join(map(repr, self._wrappers))}>"

    @property
    def aliases(self) -> list[str]:
        """The aliases made captive for this test."""
        return list(self._wrappers)

    def __getitem__(self, alias: str) -> Any:
        try:
            return self._wrappers[alias]
        except KeyError:
            raise KeyError(
                f"Layer {alias!r} is not captive in this test (captive: {', '.join(map(repr, self._wrappers))}); "
                f"mark the test @pytest.mark.{ALIASES_MARKER}({', '.join(map(repr, [*self._wrappers, alias]))})."
            ) from None

    def get_next_message(
        self, channel: Channel | str, alias: str = DEFAULT_ALIAS, require: bool = False
    ) -> Message | None:
        """Take the next message on ``channel`` (None if there is none).

        With ``require=True`` a missing message fails the test, naming the
        channel and the channels that do hold messages.
        """
        __tracebackhide__ = True
        return self._assertions.get_next_message(channel, alias, require)

    def assert_message(
        self, channel: Channel | str, expected: dict | None = None, /, *, alias: str = DEFAULT_ALIAS, **items: Any
    ) -> Message:
        """Take the next message on ``channel``, check it holds ``expected`` (a subset); return it."""
        __tracebackhide__ = True
        return self._assertions.assertMessage(channel, expected, alias=alias, **items)

    def assert_no_messages(self, channel: Channel | str | None = None, *, alias: str = DEFAULT_ALIAS) -> None:
        """Check ``channel`` (None: every channel of the layer) holds no message."""
        __tracebackhide__ = True
        self._assertions.assertNoMessages(channel, alias=alias)

    def assert_group_members(
        self, group: str, channels: Iterable[Channel | str], *, alias: str = DEFAULT_ALIAS
    ) -> None:
        """Check group ``group`` holds exactly ``channels`` (in any order)."""
        __tracebackhide__ = True
        self._assertions.assertGroupMembers(group, channels, alias=alias)

    def advance_delay_clock(self, seconds: float = 0, *, milliseconds: float = 0, alias: str = DEFAULT_ALIAS) -> int:
        """Move the test's delay clock forward and send the delayed messages now due; return how many.

        ``ChannelTestCase.advance_delay_clock``: needs ``channels_test.delay``
        installed and database access.
        """
        __tracebackhide__ = True
        return self._assertions.advance_delay_clock(seconds, milliseconds=milliseconds, alias=alias)

    def check_unread_messages(self) -> None:
        """Fail if a captive layer still holds messages, listing them (as fail_on_unread_messages does)."""
        __tracebackhide__ = True
        self._assertions._check_unread_messages()


@functools.cache
def _assertions_class() -> type:
    import unittest

    from .test.base import ChannelTestCaseMixin

    class ChannelAssertions(ChannelTestCaseMixin, unittest.TestCase):
        """ChannelTestCase's own assertion methods, so both fail with the same messages."""

    return ChannelAssertions


def _channel_assertions() -> Any:
    return _assertions_class()()


def _marked_aliases(request: pytest.FixtureRequest) -> list[str]:
    marker = request.node.get_closest_marker(ALIASES_MARKER)
    if marker is None:
        return [DEFAULT_ALIAS]
    if marker.kwargs:
        raise TypeError(f"@pytest.mark.{ALIASES_MARKER} takes alias names only, not {marker.kwargs!r}.")
    args = marker.args
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        args = tuple(args[0])  # channel_aliases(["default", "other"]), as test_channel_aliases is written
    if not args or not all(isinstance(alias, str) for alias in args):
        raise TypeError(
            f"@pytest.mark.{ALIASES_MARKER} needs one or more alias names, like "
            f"@pytest.mark.{ALIASES_MARKER}('default', 'other'); got {args!r}."
        )
    return list(dict.fromkeys(args))


@pytest.fixture
def captive_layer_class() -> type:
    """The layer class ``captive_layers`` installs (override to swap in another)."""
    from .test.base import ChannelTestCaseMixin

    return ChannelTestCaseMixin.channel_layer_class


@pytest.fixture
def captive_layers(request: pytest.FixtureRequest, captive_layer_class: type) -> Iterator[CaptiveLayers]:
    """Captive in-memory layers for this test's aliases (``channel_aliases`` marker; default 'default').

    Each alias gets an empty layer that keeps its routing and its shared
    settings (capacities, expiry); the previous layer is back after the
    test. While the test runs, consumers share the test's database
    transaction, as under ``ChannelTestCase``. With the
    ``fail_on_unread_messages`` marker, a test that passed but left messages
    unread fails at teardown, listing them.
    """
    from .test.base import ConnectionGuard, LayerSwap

    aliases = _marked_aliases(request)
    guard = ConnectionGuard()
    guard.engage()
    try:
        swap = LayerSwap(captive_layer_class, aliases)
        try:
            layers = CaptiveLayers(swap)
            yield layers
            node = request.node
            if node.get_closest_marker(UNREAD_MARKER) and not node.stash.get(call_failed_key, True):
                layers.check_unread_messages()
        finally:
            swap.restore()
    finally:
        guard.release()


@pytest.fixture
def channels_client(captive_layers: CaptiveLayers) -> Client:
    """A ``Client`` of the default layer, on this test's captive layers."""
    from .test.client import Client

    return Client()


@pytest.fixture
def ws_client(request: pytest.FixtureRequest, captive_layers: CaptiveLayers) -> WSClient:
    """A ``WSClient`` of the default layer, on this test's captive layers.

    A WSClient saves a Django session for its cookie once a consumer loads
    it, so where ``django.contrib.sessions`` is installed, tests using this
    fixture get database access: the ``django_db`` mark unless they have their own, as
    pytest-django's ``admin_client`` does.
    """
    from .test.client import WSClient

    if _sessions_installed():
        request.getfixturevalue("db")  # for a test that asks for ws_client only at run time
    return WSClient()


# -- the live server ----------------------------------------------------------------


@pytest.fixture(scope="module")
def channels_live_server_options() -> dict:
    """Keyword options for the module's ``LiveServer`` (override in a module or conftest)."""
    return {}


@pytest.fixture(scope="module")
def channels_live_server(
    request: pytest.FixtureRequest,
    django_db_setup: Any,
    django_db_blocker: Any,
    channels_live_server_options: dict,
) -> LiveServer:
    """Daphne and worker processes shared by the tests of a module.

    ``.url`` is ``http://host:port``, ``.ws_url`` ``ws://host:port``. The
    test process shares the live layer; it is flushed before each test.
    Each test using the server runs with the transactional database
    (``django_db(transaction=True)``, emptied after the test), so the
    children see what it commits. Every child is stopped after the
    module's last test, also when a test or the start failed.
    """
    from .test.live import LiveServer

    server = LiveServer(owner="channels_live_server", **channels_live_server_options)

    def stop() -> None:
        with django_db_blocker.unblock():
            server.stop()

    request.addfinalizer(stop)
    with django_db_blocker.unblock():
        server.start()
    return server


DJANGO_DB_OPTIONS = ("transaction", "reset_sequences", "databases", "serialized_rollback", "available_apps")


@pytest.hookimpl(hookwrapper=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> Iterator[None]:
    # Mark the tests whose fixtures need the database before pytest-django
    # orders the tests and chooses the test databases to create.
    if config.pluginmanager.hasplugin("django"):
        _mark_database_use(items)
    yield


def _mark_database_use(items: list[pytest.Item]) -> None:
    """Mark live tests ``django_db(transaction=True)``, ws_client tests ``django_db``."""
    sessions = _sessions_installed()
    for item in items:
        names = getattr(item, "fixturenames", ())
        marker = item.get_closest_marker("django_db")
        if "channels_live_server" in names:
            options = dict(zip(DJANGO_DB_OPTIONS, marker.args)) if marker is not None else {}
            options.update(marker.kwargs if marker is not None else {})
            if options.get("transaction") is not True:
                item.add_marker(pytest.mark.django_db(**{**options, "transaction": True}), append=False)
        elif sessions and "ws_client" in names and marker is None:
            item.add_marker(pytest.mark.django_db, append=False)


def _sessions_installed() -> bool:
    """Return True if Django is set up with django.contrib.sessions (a WSClient then saves a session)."""
    from django.apps import apps

    return apps.ready and apps.is_installed("django.contrib.sessions")


@pytest.fixture(autouse=True)
def _channels_live_server_helper(request: pytest.FixtureRequest) -> Iterator[None]:
    # Give live tests a fresh layer and the check for children that died
    # (the module-scoped fixture cannot).
    if "channels_live_server" not in request.fixturenames:
        yield
        return
    if "captive_layers" in request.fixturenames:
        pytest.fail(
            "A test cannot use both channels_live_server and captive_layers (or ws_client, "
            "channels_client): the live server's layer is the one its Daphne and workers read. "
            "Put in-memory consumer tests and live tests in separate test functions.",
            pytrace=False,
        )
    request.getfixturevalue("transactional_db")
    server = request.getfixturevalue("channels_live_server")
    server.prepare_test()
    yield
    server.check_processes()
