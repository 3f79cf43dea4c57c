"""Test toolkit benchmarks: print figures, assert nothing.

    python bench/testcase.py
    python bench/testcase.py --tests 50000 --round-trips 50000

On the suite's settings, with a test database of its own (in memory for
SQLite), it prints:

- per-test overhead: an empty test in a ``ChannelTestCase`` minus an empty
  test in Django's ``TestCase`` (the captive layers swapped in and out),
  and the same for a test that uses the layer's router (as the first
  message a test sends does);
- round trip: ``WSClient.send_and_consume("websocket.receive", text=...)``
  plus ``receive()`` through a ``JsonWebsocketConsumer`` that echoes.

Each test and each round trip is timed on its own and the figures are the
lower deciles (10% of the runs were faster): on a machine busy with other
work most runs are slowed by it, and the lower decile still shows what the
code costs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def lower_decile(times: list[float]) -> float:
    return statistics.quantiles(times, n=10)[0]


def empty_test_class(base: type, *, routes: bool = False) -> type:
    """Return a test class of ``base`` whose ``test_nothing`` does nothing (or only builds the router)."""

    def test_nothing(self):
        if routes:
            from channels_test import channel_layers

            _ = channel_layers["default"].router  # builds the router, as the first message a test sends does

    name = f"{'Routing' if routes else 'Empty'}{base.__name__}"
    return type(name, (base,), {"__module__": __name__, "test_nothing": test_nothing})


def per_test_overhead_us(tests: int, *, routes: bool = False) -> tuple[float, float, float]:
    """Return µs per empty test: (ChannelTestCase, TestCase, difference).

    With ``routes``, the ChannelTestCase test builds (or reuses) the layer's router.

    Tests of the two classes run alternately, so other work on the machine
    hits both sides alike.
    """
    from django.test import TestCase

    from channels_test.test import ChannelTestCase

    classes = [empty_test_class(ChannelTestCase, routes=routes), empty_test_class(TestCase)]
    timings: list[list[float]] = [[], []]
    result = unittest.TestResult()
    for klass in classes:
        klass.setUpClass()
    try:
        for _ in range(tests):
            for klass, times in zip(classes, timings):
                test = klass("test_nothing")
                began = time.perf_counter()
                test(result)  # the class is set up already: runs only the test
                times.append(time.perf_counter() - began)
    finally:
        for klass in classes:
            klass.tearDownClass()
            klass.doClassCleanups()
    if not result.wasSuccessful():
        raise RuntimeError(f"the empty tests failed: {result.errors + result.failures}")
    channel, plain = (lower_decile(times) * 1e6 for times in timings)
    return channel, plain, channel - plain


def round_trip_us(round_trips: int) -> float:
    """Return µs per send_and_consume + receive through a JSON echo consumer."""
    from channels_test.generic.websockets import JsonWebsocketConsumer
    from channels_test.test import ChannelTestCase, WSClient, apply_routes

    class Echo(JsonWebsocketConsumer):
        def receive(self, content, **kwargs):
            self.send(content)

    times: list[float] = []

    class RoundTrip(ChannelTestCase):
        @apply_routes([Echo.as_route(path=r"^/echo/$")])
        def test_round_trips(self):
            client = WSClient()
            client.send_and_consume("websocket.connect", path="/echo/")
            for number in range(round_trips):
                began = time.perf_counter()
                client.send_and_consume("websocket.receive", text={"n": number}, path="/echo/")
                received = client.receive()
                times.append(time.perf_counter() - began)
                if received != {"n": number}:
                    raise RuntimeError(f"the echo did not come back: {received!r}")

    result = unittest.TestResult()
    unittest.TestSuite([RoundTrip("test_round_trips")]).run(result)
    if not result.wasSuccessful():
        raise RuntimeError(f"the round trip test failed: {result.errors + result.failures}")
    return lower_decile(times) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tests", type=int, default=20000, help="empty tests of each class (default 20000)")
    parser.add_argument("--round-trips", type=int, default=20000, help="round trips (default 20000)")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.db import connections
    from django.test.utils import setup_databases, setup_test_environment, teardown_databases

    # A test database of our own, never the one a running test suite uses; for
    # SQLite in memory, so disk writes of other processes do not blur the figures.
    database = connections["default"].settings_dict
    database["TEST"]["NAME"] = None if database["ENGINE"].endswith("sqlite3") else "test_channels_testcase_bench"
    setup_test_environment()
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        channel, plain, overhead = per_test_overhead_us(args.tests)
        routing, _, routing_overhead = per_test_overhead_us(args.tests, routes=True)
        trip = round_trip_us(args.round_trips)
    finally:
        teardown_databases(old_config, verbosity=0)

    print(f"empty test, Django TestCase         {plain:8.1f} µs")
    print(f"empty test, ChannelTestCase         {channel:8.1f} µs")
    print(f"per-test overhead                   {overhead:8.1f} µs   (target <= 20; Channels 1.1.8 ~35)")
    print(f"per-test overhead, test that routes {routing_overhead:8.1f} µs")
    print(f"WSClient round trip, JSON echo      {trip:8.1f} µs   (target <= 70; Channels 1.1.8 ~220)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
