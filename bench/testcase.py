"""Test toolkit benchmarks: print figures, assert nothing.

    python bench/testcase.py
    python bench/testcase.py --tests 5000 --round-trips 20000

Figures are CPU time of this process, so that other work on the machine
weighs least: times are the best of ``--repeat`` runs, the overhead the
median of ``--repeat`` paired differences; on the suite's settings with a test database of its own, in
memory for SQLite):

- per-test overhead: an empty test in a ``ChannelTestCase`` minus an empty
  test in Django's ``TestCase`` (the captive layer swap, restore and checks);
- round trip: ``WSClient.send_and_consume("websocket.receive", text=...)``
  plus ``receive()`` through a ``JsonWebsocketConsumer`` that echoes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def empty_test_seconds(base: type, tests: int) -> float:
    """Return the seconds ``tests`` empty tests of a class on ``base`` take to run."""

    def test_nothing(self):
        pass

    klass = type(f"Empty{base.__name__}", (base,), {"__module__": __name__, "test_nothing": test_nothing})
    suite = unittest.TestSuite(klass("test_nothing") for _ in range(tests))
    result = unittest.TestResult()
    klass.setUpClass()
    try:
        began = time.process_time()
        suite.run(result)  # the class is set up already: runs only the tests
        elapsed = time.process_time() - began
    finally:
        klass.tearDownClass()
        klass.doClassCleanups()
    if not result.wasSuccessful():
        raise RuntimeError(f"the empty tests failed: {result.errors + result.failures}")
    return elapsed


def per_test_overhead_us(tests: int, repeat: int) -> tuple[float, float, float]:
    """Return µs per empty test: (ChannelTestCase, TestCase, difference), medians."""
    from django.test import TestCase

    from channels_test.test import ChannelTestCase

    channel, django_ = [], []
    for _ in range(repeat):  # in pairs, so both sides of a pair see the same machine load
        django_.append(empty_test_seconds(TestCase, tests) / tests * 1e6)
        channel.append(empty_test_seconds(ChannelTestCase, tests) / tests * 1e6)
    differences = [mine - theirs for mine, theirs in zip(channel, django_)]
    return min(channel), min(django_), statistics.median(differences)


def round_trip_us(round_trips: int, repeat: int) -> float:
    """Return µs per send_and_consume + receive through a JSON echo consumer (median)."""
    from channels_test.generic.websockets import JsonWebsocketConsumer
    from channels_test.test import ChannelTestCase, WSClient, apply_routes

    class Echo(JsonWebsocketConsumer):
        def receive(self, content, **kwargs):
            self.send(content)

    figures: list[float] = []

    class RoundTrip(ChannelTestCase):
        @apply_routes([Echo.as_route(path=r"^/echo/$")])
        def test_round_trips(self):
            client = WSClient()
            client.send_and_consume("websocket.connect", path="/echo/")
            for _ in range(repeat):
                began = time.process_time()
                for number in range(round_trips):
                    client.send_and_consume("websocket.receive", text={"n": number}, path="/echo/")
                    if client.receive() != {"n": number}:
                        raise RuntimeError("the echo did not come back")
                figures.append((time.process_time() - began) / round_trips * 1e6)

    result = unittest.TestResult()
    unittest.TestSuite([RoundTrip("test_round_trips")]).run(result)
    if not result.wasSuccessful():
        raise RuntimeError(f"the round trip test failed: {result.errors + result.failures}")
    return min(figures)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tests", type=int, default=300, help="empty tests per run (default 300)")
    parser.add_argument("--round-trips", type=int, default=2000, help="round trips per run (default 2000)")
    parser.add_argument("--repeat", type=int, default=41, help="runs per figure (default 41)")
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
        channel, plain, overhead = per_test_overhead_us(args.tests, args.repeat)
        trip = round_trip_us(args.round_trips, args.repeat)
    finally:
        teardown_databases(old_config, verbosity=0)

    print(f"empty test, Django TestCase         {plain:8.1f} µs")
    print(f"empty test, ChannelTestCase         {channel:8.1f} µs")
    print(f"per-test overhead                   {overhead:8.1f} µs   (target <= 20; Channels 1.1.8 ~35)")
    print(f"WSClient round trip, JSON echo      {trip:8.1f} µs   (target <= 70; Channels 1.1.8 ~220)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
