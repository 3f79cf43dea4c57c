"""Test toolkit workloads written once for both stacks: Channels 1.x's ``channels`` and ours.

The code reads the same on both; only the package name differs, since a 1.x
project moves over by renaming ``channels`` to ``channels_test``. The
settings are built here too (no settings module of either project), so both
sides run the very same project: an in-memory SQLite test database, the
database session engine, an in-memory channel layer routed by ``routing``
below.

- everyday consumer test: a ``ChannelTestCase`` test in which a ``WSClient``
  connects to an echo consumer and disconnects (``send_and_consume`` of
  ``websocket.connect``, then of ``websocket.disconnect``), timed as the test
  runner runs it (set-up, test, teardown), next to an empty Django
  ``TestCase`` test on the same stack;
- JSON echo round trip: ``send_and_consume("websocket.receive", text=...)``
  plus ``receive()`` through a ``JsonWebsocketConsumer`` that echoes.

:func:`run` returns name -> microseconds (medians of individually timed
runs); this module prints nothing and asserts only that the workloads did
what they say.
"""

from __future__ import annotations

import importlib
import statistics
import sys
import time
import unittest

#: Filled by :func:`configure`; CHANNEL_LAYERS' ROUTING names it by dotted path.
routing: list = []


def configure(package: str) -> None:
    """Configure Django for ``package`` ("channels" or "channels_test") and set it up."""
    from django.conf import settings

    backend = {
        "channels": "asgiref.inmemory.ChannelLayer",
        "channels_test": "channels_test.layers.inmemory.InMemoryChannelLayer",
    }[package]
    settings.configure(
        SECRET_KEY="toolkit-bench-not-secret",
        DEBUG=False,
        USE_TZ=True,
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            package,
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        SESSION_ENGINE="django.contrib.sessions.backends.db",
        CHANNEL_LAYERS={"default": {"BACKEND": backend, "ROUTING": f"{__name__}.routing"}},
    )
    import django

    django.setup()
    websockets = importlib.import_module(f"{package}.generic.websockets")

    class Echo(websockets.WebsocketConsumer):
        def receive(self, text=None, bytes=None, **kwargs):
            self.send(text=text, bytes=bytes)

    class JsonEcho(websockets.JsonWebsocketConsumer):
        def receive(self, content, **kwargs):
            self.send(content)

    routing[:] = [Echo.as_route(path=r"^/echo/$"), JsonEcho.as_route(path=r"^/json/$")]


def _median_us(times: list) -> float:
    return statistics.median(times) * 1e6


def _run_tests(classes: list, tests: int) -> list:
    """Run ``tests`` tests of each class, alternating; return each class's times."""
    timings = [[] for _ in classes]
    result = unittest.TestResult()
    for klass in classes:
        klass.setUpClass()
    try:
        for _ in range(tests):
            for klass, times in zip(classes, timings):
                test = klass("test_it")
                began = time.perf_counter()
                test(result)  # the class is set up already: set-up, test, teardown
                times.append(time.perf_counter() - began)
    finally:
        for klass in classes:
            klass.tearDownClass()
            klass.doClassCleanups()
    if not result.wasSuccessful():
        raise RuntimeError(f"a benchmark test failed: {result.errors + result.failures}")
    return timings


def everyday_test_us(package: str, tests: int) -> tuple:
    """Return µs per (everyday consumer test, empty Django TestCase test)."""
    from django.test import TestCase

    testing = importlib.import_module(f"{package}.test")

    def connect_and_disconnect(self):
        client = testing.WSClient()
        client.send_and_consume("websocket.connect", path="/echo/")
        client.send_and_consume("websocket.disconnect", {"code": 1000}, path="/echo/")

    def nothing(self):
        pass

    everyday = type("Everyday", (testing.ChannelTestCase,), {"__module__": __name__, "test_it": connect_and_disconnect})
    empty = type("Empty", (TestCase,), {"__module__": __name__, "test_it": nothing})
    consumer, plain = _run_tests([everyday, empty], tests)
    return _median_us(consumer), _median_us(plain)


def json_echo_us(package: str, round_trips: int) -> float:
    """Return µs per send_and_consume + receive through a JSON echo consumer."""
    testing = importlib.import_module(f"{package}.test")
    times: list = []

    def round_trips_test(self):
        client = testing.WSClient()
        client.send_and_consume("websocket.connect", path="/json/")
        for number in range(round_trips):
            began = time.perf_counter()
            client.send_and_consume("websocket.receive", text={"n": number}, path="/json/")
            received = client.receive()
            times.append(time.perf_counter() - began)
            if received != {"n": number}:
                raise RuntimeError(f"the echo did not come back: {received!r}")

    klass = type("JsonEcho", (testing.ChannelTestCase,), {"__module__": __name__, "test_it": round_trips_test})
    result = unittest.TestResult()
    unittest.TestSuite([klass("test_it")]).run(result)
    if not result.wasSuccessful():
        raise RuntimeError(f"the round trip test failed: {result.errors + result.failures}")
    return _median_us(times)


def run(package: str, *, tests: int = 3000, round_trips: int = 20000) -> dict:
    """Configure Django for ``package``, run both workloads; return name -> µs."""
    configure(package)
    from django.test.utils import setup_databases, setup_test_environment, teardown_databases

    setup_test_environment()
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        consumer, plain = everyday_test_us(package, tests)
        echo = json_echo_us(package, round_trips)
    finally:
        teardown_databases(old_config, verbosity=0)
    import django

    return {
        "Django": django.get_version(),
        "empty Django TestCase test (µs)": plain,
        "everyday consumer test (µs)": consumer,
        "  less the empty TestCase test (µs)": consumer - plain,
        "JSON echo round trip (µs)": echo,
    }


if __name__ == "__main__":
    print(run(sys.argv[1]))
