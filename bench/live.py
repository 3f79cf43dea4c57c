"""Live benchmarks: the interface server and ChannelLiveServerTestCase. Print figures, assert nothing.

    python bench/live.py                # every section
    python bench/live.py live-server    # one section

Each section is a function in SECTIONS that prints its own figures.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# -- live server (ChannelLiveServerTestCase) --------------------------------------------


def live_server_figures(classes: int = 5, tests: int = 50) -> dict:
    """Time live-server class start-up and per-test overhead on the suite's settings.

    Start-up: ``setUpClass()`` until Daphne listens and the worker is ready
    (and teardown). Per test: running an empty test, which is the layer flush
    before it plus the database flush after it; with and without
    ``available_apps`` (without it, Django re-creates content types and
    permissions after each flush), and with SQLite's sync to disk at each
    commit left on (``sqlite_synchronous = None``).
    """
    import unittest

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    import tempfile

    from django.db import connections
    from django.test.utils import setup_databases, setup_test_environment, teardown_databases

    from channels_test.test.live import ChannelLiveServerTestCase

    # A test database of our own, never the one a running test suite uses.
    directory = tempfile.mkdtemp(prefix="bench-live-")
    database = connections["default"].settings_dict
    database["TEST"]["NAME"] = (
        os.path.join(directory, "test.sqlite3")
        if database["ENGINE"].endswith("sqlite3")
        else "test_channels_live_bench"
    )
    setup_test_environment()
    old_config = setup_databases(verbosity=0, interactive=False)
    try:

        def make(**attributes):
            def test_nothing(self):
                pass

            return type(
                "BenchLive",
                (ChannelLiveServerTestCase,),
                {
                    "__module__": __name__,
                    "test_nothing": test_nothing,
                    **attributes,
                },
            )

        starts, stops = [], []
        for _ in range(classes):
            klass = make()
            began = time.perf_counter()
            klass.setUpClass()
            starts.append(time.perf_counter() - began)
            began = time.perf_counter()
            klass.doClassCleanups()
            stops.append(time.perf_counter() - began)
        per_test = {}
        for label, attributes in (
            ("per test", {}),
            ("per test, available_apps", {"available_apps": ["tests.testapp"]}),
            ("per test, SQLite fsync on", {"sqlite_synchronous": None}),
        ):
            klass = make(**attributes)
            klass.setUpClass()
            try:
                result = unittest.TestResult()
                cases = [klass("test_nothing") for _ in range(tests)]
                cases[0](result)  # warm up
                began = time.perf_counter()
                for case in cases[1:]:
                    case(result)
                per_test[label] = (time.perf_counter() - began) / (tests - 1)
                if result.errors or result.failures:
                    raise RuntimeError(f"benchmark test failed: {result.errors or result.failures}")
            finally:
                klass.doClassCleanups()
        # The live server's own share of each test: restart check, layer re-install and flush.
        klass = make()
        klass.setUpClass()
        try:
            case = klass("test_nothing")
            began = time.perf_counter()
            for _ in range(tests):
                case._prepare_live_test()
                case._check_live_processes()
            per_test["per test, live server's own part"] = (time.perf_counter() - began) / tests
        finally:
            klass.doClassCleanups()
        return {
            "class start-up (median)": statistics.median(starts),
            "class start-up (max)": max(starts),
            "class teardown (median)": statistics.median(stops),
            **per_test,
        }
    finally:
        teardown_databases(old_config, verbosity=0)
        import shutil

        shutil.rmtree(directory, ignore_errors=True)


def print_live_server_figures() -> None:
    print("Live server (ChannelLiveServerTestCase, 1 Daphne + 1 worker process)")
    for name, seconds in live_server_figures().items():
        print(f"  {name:<34} {seconds * 1000:8.2f} ms")


# -- serving: Daphne -> layer -> worker -> Daphne ------------------------------------------


def _serving_layers() -> list[str]:
    """Return the cross-process layers to measure: SQLite, and Redis when its backend exists."""
    from importlib.util import find_spec

    layers = ["sqlite"]
    if find_spec("channels_test.layers.redis") is not None:
        layers.append("redis")
    return layers


def _serve(stack, layer: str, *, worker: bool = True, application: str | None = None, with_daphne: bool = False):
    """Start Daphne (and a worker) for ``layer``; register their ends on ``stack``; return the port.

    With ``with_daphne``, return ``(port, daphne_child)``.
    """
    import shutil
    import tempfile

    from tests.support.processes import project_env, start_daphne, start_worker

    directory = tempfile.mkdtemp(prefix="bench-serving-")
    stack.callback(shutil.rmtree, directory, ignore_errors=True)
    env = project_env(os.path.join(directory, "layer.sqlite3"))
    if layer == "redis":
        env["CHANNELS_INTERFACE_TEST_REDIS"] = "1"
    options = {} if application is None else {"application": application}
    daphne, port = start_daphne(env, stack.callback, **options)
    if worker:
        start_worker(env, stack.callback, "--threads", "2")
    return (port, daphne) if with_daphne else port


def websocket_echo_figures(layer: str, round_trips: int = 1000) -> dict:
    """Time JSON echo round trips on one socket: client -> Daphne -> layer -> worker -> back."""
    import contextlib
    import json

    import websocket

    with contextlib.ExitStack() as stack:
        port = _serve(stack, layer)
        socket = websocket.create_connection(f"ws://127.0.0.1:{port}/echo/", timeout=10)
        stack.callback(socket.close)
        times = []
        for number in range(round_trips + 50):
            began = time.perf_counter()
            socket.send(json.dumps(number))
            socket.recv()
            times.append(time.perf_counter() - began)
        times = sorted(times[50:])
        return {"p50": times[len(times) // 2], "p95": times[int(len(times) * 0.95)]}


def idle_connections_cpu(layer: str, connections: int = 1000, seconds: float = 5.0) -> dict:
    """Daphne's processor use while ``connections`` accepted WebSockets send nothing, against none."""
    import contextlib

    import websocket

    def cpu_seconds(pid: int) -> float:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def cpu_share(pid: int) -> float:
        time.sleep(1.0)  # let the connection work settle
        before, began = cpu_seconds(pid), time.monotonic()
        time.sleep(seconds)
        return (cpu_seconds(pid) - before) / (time.monotonic() - began)

    with contextlib.ExitStack() as stack:
        port, daphne = _serve(stack, layer, with_daphne=True)
        figures = {"no connection": cpu_share(daphne.pid)}
        for _ in range(connections):
            socket = websocket.create_connection(f"ws://127.0.0.1:{port}/echo/", timeout=30)
            stack.callback(socket.close)
        figures[f"{connections} idle connections"] = cpu_share(daphne.pid)
        return figures


def http_requests_per_second(port: int, *, clients: int = 8, seconds: float = 3.0) -> float:
    """Return GET /hello/ requests per second with ``clients`` keep-alive connections."""
    import http.client
    import threading

    counts = [0] * clients
    stop = time.monotonic() + seconds

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            while time.monotonic() < stop:
                connection.request("GET", "/hello/")
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    raise RuntimeError(f"GET /hello/ answered {response.status}")
                counts[index] += 1
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(index,)) for index in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.monotonic() - began)


def http_figures(layer: str) -> dict:
    """Requests/s of a trivial view through the layer, and served by Django's ASGI handler directly."""
    import contextlib

    figures = {}
    # The two servers take turns, each measured after a warm-up, in the same run.
    with contextlib.ExitStack() as stack:
        port = _serve(stack, layer)
        http_requests_per_second(port, seconds=0.5)  # warm up
        figures["through the layer"] = http_requests_per_second(port)
    with contextlib.ExitStack() as stack:
        port = _serve(stack, layer, worker=False, application="tests.interface_asgi:django_application")
        http_requests_per_second(port, seconds=0.5)
        figures["Django ASGI handler, no layer"] = http_requests_per_second(port)
    return figures


def print_serving_figures() -> None:
    for layer in _serving_layers():
        echo = websocket_echo_figures(layer)
        print(f"Serving, {layer} layer (1 Daphne process + 1 worker process, 2 threads)")
        print(f"  WebSocket echo round trip       p50 {echo['p50'] * 1000:6.2f} ms   p95 {echo['p95'] * 1000:6.2f} ms")
        figures = http_figures(layer)
        for name, rate in figures.items():
            print(f"  HTTP GET, {name:<32} {rate:8.0f} requests/s")
        ratio = figures["through the layer"] / figures["Django ASGI handler, no layer"]
        print(f"  through the layer / direct      {ratio:6.0%}")
        for name, share in idle_connections_cpu(layer).items():
            print(f"  Daphne's CPU, {name:<28} {share:8.2%} of a core")


SECTIONS = {
    "live-server": print_live_server_figures,
    "serving": print_serving_figures,
}


def main(argv: list[str]) -> int:
    names = argv or list(SECTIONS)
    unknown = [name for name in names if name not in SECTIONS]
    if unknown:
        print(f"Unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}.")
        return 2
    if hasattr(os, "getloadavg"):
        # Figures move with the machine's load: say what it was.
        print(f"{os.cpu_count()} CPUs, load average {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
    for name in names:
        SECTIONS[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
