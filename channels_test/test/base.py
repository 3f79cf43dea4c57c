"""``ChannelTestCase``: Django test cases that run against captive in-memory layers.

Before each test, every alias in ``test_channel_aliases`` is swapped for an
empty in-memory layer that keeps the alias's routing; after the test (also
when set-up or the test fails) the previous layer is back. While the class
runs, ``close_old_connections`` is kept away from the consumer and request
signals, so consumers run by the test share its database transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import TestCase, TransactionTestCase

from .. import compat
from ..asgi import _MISSING, ChannelLayerWrapper, channel_layers
from ..channel import DEFAULT_CHANNEL_LAYER, Channel
from ..layers.inmemory import InMemoryChannelLayer
from ..message import Message
from ..routing import Router
from ..signals import consumer_finished, consumer_started
from .assertions import (  # noqa: F401  (channel_name, describe_waiting: imported from here by clients)
    ChannelAssertionsMixin,
    channel_name,
    describe_waiting,
    message_counts,
    next_message,
    show_messages,
)

__all__ = [
    "ChannelTestCaseMixin",
    "ChannelTestCase",
    "TransactionChannelTestCase",
    "next_message",
    "describe_waiting",
    "LayerSwap",
]

# Settings every backend shares; the captive layer takes them from the alias's
# TEST_CONFIG (or CONFIG) so capacities and size limits behave as configured.
SHARED_LAYER_OPTIONS = ("expiry", "group_expiry", "capacity", "channel_capacity", "max_message_size")
REQUEST_SIGNALS = (request_started, request_finished)
#: Messages a captive layer's channel holds unless the alias's settings say otherwise.
CAPTIVE_CAPACITY = 10
CONNECTION_SIGNALS = (consumer_started, consumer_finished, *REQUEST_SIGNALS)


# -- swapping layers --------------------------------------------------------------


class LayerSwap:
    """Captive layers installed for some aliases, and what to put back afterwards."""

    def __init__(self, layer_class: type, aliases: Iterable[str]):
        self.layer_class = layer_class
        self.installed: list[tuple] = []  # (alias, captive, previous wrapper)
        backends = channel_layers.backends
        try:
            for alias in aliases:
                current = backends.get(alias)
                captive = _layer_pool.take(layer_class, alias, current)
                self.installed.append((alias, captive, channel_layers.set(alias, captive.wrapper)))
        except BaseException:
            self.restore()
            raise

    def wrappers(self) -> dict[str, Any]:
        return {alias: captive.wrapper for alias, captive, _ in self.installed}

    def restore(self) -> None:
        """Put the previous layers back (idempotent); keep the captive ones for reuse."""
        installed, self.installed = self.installed, []
        for alias, captive, previous in reversed(installed):
            channel_layers.set(alias, previous)
            _layer_pool.give_back(self.layer_class, alias, captive)


class _Captive:
    """A captive layer's wrapper, with the settings it was made from."""

    __slots__ = ("config", "options", "wrapper", "router", "router_routing", "route_count")

    def __init__(self, config: dict, options: dict, wrapper: Any):
        self.config = config
        self.options = options
        self.wrapper = wrapper
        self.router: Router | None = None  # a pristine Router built from router_routing
        self.router_routing: Any = None
        self.route_count = 0


class _LayerPool:
    """One idle captive layer per (class, alias): emptied and reused by the next test.

    Reuse keeps the layer's built router too, unless the routing changed or
    a test added routes to it. A layer in use is out of the pool, so a test
    case run inside another test gets a layer of its own. The layer takes
    the alias's shared settings (capacities, expiry, size limit) from its
    TEST_CONFIG or CONFIG.

    Why a pool, now that routers are cheap: measured with bench/testcase.py
    (lower deciles, Django 5.2), a fresh layer and wrapper per test, with
    the settings checked each time, costs ChannelTestCase's per-test
    overhead 24 µs instead of 12 µs for an empty test, and 39 µs instead of
    16 µs for a test that routes a message: 7% and 14% of a whole empty
    test's time. Reuse saves checking the alias's settings, building the
    layer, and building the router.
    """

    def __init__(self):
        self._idle: dict[tuple, _Captive] = {}

    def take(self, layer_class: type, alias: str, current: Any) -> _Captive:
        """Return an empty captive layer for ``alias``, routed as ``current`` (or its settings)."""
        captive = self._idle.pop((layer_class, alias), None)
        config = channel_layers.configs.get(alias)
        if captive is None or captive.config is not config:
            config = channel_layers.config(alias)  # checked, or an error naming the fix
            source = config.get("TEST_CONFIG") or config.get("CONFIG") or {}
            options = {key: source[key] for key in SHARED_LAYER_OPTIONS if key in source}
            # Channels 1.x's captive layer (asgiref's in-memory one) held 10
            # messages per channel; tests written for it may count on that.
            options.setdefault("capacity", CAPTIVE_CAPACITY)
            if captive is None or captive.options != options:
                routing = current.routing if current is not None else config.get("ROUTING", _MISSING)
                wrapper = ChannelLayerWrapper(layer_class(**options), alias, routing)
                return _Captive(config, options, wrapper)
            captive.config = config
        wrapper = captive.wrapper
        routing = current.routing if current is not None else config.get("ROUTING", _MISSING)
        wrapper.set_routing(routing, captive.router if captive.router_routing is routing else None)
        wrapper.channel_layer.flush()
        return captive

    def give_back(self, layer_class: type, alias: str, captive: _Captive) -> None:
        # Idle, the layer keeps its routing (take() sets it again); what
        # matters is the router the test built or used, if any.
        routing, router = captive.wrapper.set_routing(captive.wrapper.routing)
        if router is captive.router and router is not None:
            if len(router.root.routing) != captive.route_count:
                captive.router = None  # the test added routes: build afresh next time
        elif router is not None:
            # Built during this test, which may have added routes: keep a pristine one.
            try:
                captive.router = Router(routing)
            except Exception:  # noqa: BLE001  (the next test gets the error when it routes)
                captive.router = None
            else:
                captive.router_routing = routing
                captive.route_count = len(captive.router.root.routing)
        self._idle[(layer_class, alias)] = captive


_layer_pool = _LayerPool()


# -- database connections -----------------------------------------------------------


class ConnectionGuard:
    """Keep ``close_old_connections`` off the consumer and request signals.

    A consumer run in a test sends ``consumer_started``/``consumer_finished``
    (and a Django view ``request_started``/``request_finished``); their
    ``close_old_connections`` receiver would end the test's transaction.
    :meth:`engage` disconnects it and remembers where; :meth:`release`
    reconnects it there. Django's test client puts it back on the request
    signals after each request; :meth:`recheck`, called before a test client
    runs a consumer, takes it off again.
    """

    active = 0
    # The last entries of request_started's and request_finished's receivers when recheck()
    # last looked. Connecting appends a new entry: while the last one is the one seen, nothing
    # was connected since.
    _seen_started: Any = None
    _seen_finished: Any = None

    def __init__(self):
        self.disconnected: list[Any] = []

    def engage(self) -> None:
        type(self).active += 1
        for signal in CONNECTION_SIGNALS:
            if signal.disconnect(close_old_connections):
                self.disconnected.append(signal)

    def release(self) -> None:
        type(self).active -= 1
        for signal in self.disconnected:
            signal.connect(close_old_connections)
        self.disconnected = []

    @classmethod
    def recheck(cls) -> None:
        if cls.active:
            started, finished = request_started.receivers, request_finished.receivers
            if not (started and finished and started[-1] is cls._seen_started and finished[-1] is cls._seen_finished):
                cls._take_off_request_signals()

    @classmethod
    def _take_off_request_signals(cls) -> None:
        for signal in REQUEST_SIGNALS:
            if compat.receiver_is_connected(signal, close_old_connections):
                signal.disconnect(close_old_connections)
        started, finished = request_started.receivers, request_finished.receivers
        cls._seen_started = started[-1] if started else None
        cls._seen_finished = finished[-1] if finished else None


# -- the test cases ------------------------------------------------------------


class ChannelTestCaseMixin(ChannelAssertionsMixin, compat.PerTestSetupHook):
    """Run each test against captive in-memory layers; use with any Django test case.

    * ``test_channel_aliases``: the CHANNEL_LAYERS aliases swapped per test
      (default: the default alias). Other aliases are left alone.
    * ``channel_layer_class``: the layer class swapped in.
    * ``fail_on_unread_messages``: fail a test that leaves messages unread
      on a captive layer (off by default, as in Channels 1.x).
    """

    test_channel_aliases: list[str] = [DEFAULT_CHANNEL_LAYER]
    channel_layer_class: type = InMemoryChannelLayer
    fail_on_unread_messages = False
    # Set in setUpClass on the test class itself (read from its __dict__),
    # and per test; declared here for the type checker only.
    _eager_layer_swap: ClassVar[LayerSwap | None]
    _channel_layer_swap: LayerSwap

    @classmethod
    def setUpClass(cls) -> None:
        guard = ConnectionGuard()
        guard.engage()
        cls.addClassCleanup(guard.release)
        # What class set-up sends (setUpTestData, fixtures) goes to captive
        # layers too, never to a real one.
        swap = LayerSwap(cls.channel_layer_class, cls.test_channel_aliases)
        cls.addClassCleanup(swap.restore)
        cls._eager_layer_swap = None
        try:
            super().setUpClass()
        finally:
            if compat.pre_setup_ran_eagerly(cls):
                # Django 5.2+ ran the first test's _pre_setup (its fixtures)
                # here: that test keeps these layers.
                cls._eager_layer_swap = swap
            else:
                swap.restore()

    def _around_test_setup(self, result: Any, debug: bool, proceed: Any) -> None:
        cls = type(self)
        swap = cls.__dict__.get("_eager_layer_swap")
        if swap is not None and compat.pre_setup_ran_eagerly(self):
            cls._eager_layer_swap = None
        else:
            swap = LayerSwap(self.channel_layer_class, self.test_channel_aliases)
        self._channel_layer_swap = swap
        try:
            if self.fail_on_unread_messages:
                self.addCleanup(self._check_unread_messages)
            super()._around_test_setup(result, debug, proceed)
        finally:
            swap.restore()

    # -- reading messages (assertions: ChannelAssertionsMixin) -------------

    def get_next_message(
        self, channel: Channel | str, alias: str = DEFAULT_CHANNEL_LAYER, require: bool = False
    ) -> Message | None:
        """Take the next message on ``channel`` (None if there is none).

        With ``require=True`` a missing message fails the test; the failure
        names the channel and lists the channels that do hold messages.
        """
        return next_message(channel, alias, require)

    # -- delayed messages -------------------------------------------------

    def advance_delay_clock(
        self, seconds: float = 0, *, milliseconds: float = 0, alias: str = DEFAULT_CHANNEL_LAYER
    ) -> int:
        """Move the delay server's clock forward and send the delayed messages now due.

        Messages waiting on ``asgi.delay`` are stored first (due their
        ``delay`` after the clock's time before the move); then every stored
        message due at the moved clock goes to its channel, oldest first.
        Return how many were sent. The clock reads the real time at its
        first use in a test, then moves only when this moves it. Needs ``channels_test.delay`` in
        ``INSTALLED_APPS``.
        """
        from ..delay.testing import DelayClock

        clocks = self.__dict__.setdefault("_delay_clocks", {})
        if alias not in clocks:
            clocks[alias] = DelayClock(alias)
        return clocks[alias].advance(seconds, milliseconds=milliseconds)

    def _check_unread_messages(self) -> None:
        if compat.test_has_failed(self):
            return  # the test failed already; its own failure says more
        unread = []
        for alias, wrapper in self._channel_layer_swap.wrappers().items():
            counts = message_counts(wrapper)
            if counts:
                unread.append(f"layer {alias!r}:\n{show_messages(wrapper, counts)}")
        if unread:
            self.fail(
                "The test left messages unread (fail_on_unread_messages is on):\n"
                + "\n".join(unread)
                + "\nRead them (get_next_message, assertMessage), or turn the check off for this class."
            )


class ChannelTestCase(ChannelTestCaseMixin, TestCase):
    """A Django ``TestCase`` whose tests run against captive in-memory layers."""


class TransactionChannelTestCase(ChannelTestCaseMixin, TransactionTestCase):
    """A Django ``TransactionTestCase`` whose tests run against captive in-memory layers."""
