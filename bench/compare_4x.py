"""Run live-server workloads on Channels 4.x's stack and on ours, side by side.

Channels 4 has no channel layer between Daphne and the consumers: Daphne
runs them itself. Ours runs Daphne, a worker process and the embedded SQLite
layer between them. Channels 4 needs a virtualenv of its own (never add it
to this project's dependencies)::

    python3 -m venv /tmp/venv4x
    /tmp/venv4x/bin/pip install "channels==4.3.*" "Django>=5.2,<5.3" daphne websocket-client
    python bench/compare_4x.py --python-4x /tmp/venv4x/bin/python

(or set CHANNELS_TEST_PYTHON_4X). The script writes one small project for
both sides into a temporary directory: a view answering ``GET /hello/``, a
synchronous WebSocket consumer echoing text frames on ``/echo/``, an SQLite
test database in a file, the ``auth``, ``contenttypes``, ``sessions`` and
``staticfiles`` apps (both live servers serve static files). Each side
runs in its own process, and the two take turns, ``--rounds`` times
(default 3), each keeping its best round:

- live test: one ``GET /hello/`` plus a WebSocket connect, one echo and a
  close per test, in Channels 4's ``ChannelsLiveServerTestCase`` and in our
  ``ChannelLiveServerTestCase``, the class started once for all the tests
  (its start-up is printed apart); the figure is the median time of a test
  as the runner runs it, database flush included;
- WebSocket echo p50 and p95: round trips of a text frame on one open
  socket to that live server (Channels 4: Daphne runs the consumer; ours:
  Daphne -> SQLite layer -> worker -> layer -> Daphne);
- WebSocket echo CPU: the processor time the benchmark's process and every
  process below it (the live server's) spend per echo, read from ``/proc``
  (Linux only), which a busy machine moves less than the times.

This script only prints figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

PROJECT = {
    "bench4x_settings.py": """
        import os

        SIDE = os.environ["BENCH4X_SIDE"]
        DIRECTORY = os.path.dirname(os.path.abspath(__file__))
        SECRET_KEY = "bench-4x-not-secret"
        DEBUG = False
        USE_TZ = True
        ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
        INSTALLED_APPS = [
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.staticfiles",
            "channels" if SIDE == "4x" else "channels_test",
        ]
        MIDDLEWARE = [
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
        ]
        ROOT_URLCONF = "bench4x_project"
        DATABASES = {
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": os.path.join(DIRECTORY, "db.sqlite3"),
                "TEST": {"NAME": os.path.join(DIRECTORY, "test_db.sqlite3")},
            }
        }
        DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
        SESSION_ENGINE = "django.contrib.sessions.backends.db"
        STATIC_URL = "/static/"
        ASGI_APPLICATION = "bench4x_project.application"
        if SIDE == "ours":  # Channels 4 wants none: its consumers here use no layer
            CHANNEL_LAYERS = {
                "default": {
                    "BACKEND": "channels_test.layers.inmemory.InMemoryChannelLayer",
                    "ROUTING": "bench4x_project.channel_routing",
                }
            }
    """,
    "bench4x_project.py": """
        from django.http import HttpResponse
        from django.urls import path

        from bench4x_settings import SIDE


        def hello(request):
            return HttpResponse("hello")


        urlpatterns = [path("hello/", hello)]

        if SIDE == "4x":
            from channels.generic.websocket import WebsocketConsumer
            from channels.routing import ProtocolTypeRouter, URLRouter
            from django.core.asgi import get_asgi_application

            class Echo(WebsocketConsumer):
                def receive(self, text_data=None, bytes_data=None):
                    self.send(text_data=text_data)

            application = ProtocolTypeRouter({
                "http": get_asgi_application(),
                "websocket": URLRouter([path("echo/", Echo.as_asgi())]),
            })
        else:
            from channels_test.generic.websockets import WebsocketConsumer

            class Echo(WebsocketConsumer):
                def receive(self, text=None, bytes=None, **kwargs):
                    self.send(text=text)

            channel_routing = [Echo.as_route(path=r"^/echo/$")]
    """,
}


def write_project(directory: str) -> None:
    for name, source in PROJECT.items():
        with open(os.path.join(directory, name), "w") as module:
            module.write(textwrap.dedent(source).lstrip())


def child(side: str, tests: int, round_trips: int) -> dict:
    """Run both workloads on ``side`` ("ours" or "4x"); return name -> seconds."""
    import unittest
    import urllib.request

    import django
    import websocket

    django.setup()
    from django.test.utils import setup_databases, setup_test_environment, teardown_databases

    if side == "4x":
        from channels.testing import ChannelsLiveServerTestCase as LiveTestCase
    else:
        from channels_test.test import ChannelLiveServerTestCase as LiveTestCase

    def test_it(self):
        with urllib.request.urlopen(self.live_server_url + "/hello/", timeout=10) as response:
            if response.read() != b"hello":
                raise AssertionError("GET /hello/ did not answer 'hello'")
        socket = websocket.create_connection(self.live_server_ws_url + "/echo/", timeout=10)
        try:
            socket.send("ping")
            if socket.recv() != "ping":
                raise AssertionError("the echo did not come back")
        finally:
            socket.close()

    setup_test_environment()
    old_config = setup_databases(verbosity=0, interactive=False)
    klass = type("LiveBench", (LiveTestCase,), {"__module__": __name__, "test_it": test_it})
    result = unittest.TestResult()
    try:
        began = time.perf_counter()
        klass.setUpClass()
        startup = time.perf_counter() - began
        try:
            for _ in range(3):  # warm up: imports, first connections
                klass("test_it")(result)
            times = []
            for _ in range(tests):
                test = klass("test_it")
                began = time.perf_counter()
                test(result)
                times.append(time.perf_counter() - began)
            # Channels 4's URL is an instance property, ours a class one.
            echoes, echo_cpu = echo_times(klass("test_it").live_server_ws_url + "/echo/", round_trips)
        finally:
            klass.tearDownClass()
            klass.doClassCleanups()
    finally:
        teardown_databases(old_config, verbosity=0)
    if not result.wasSuccessful():
        raise RuntimeError(f"a benchmark test failed: {result.errors + result.failures}")
    figures = {
        "Python": sys.version.split()[0],
        "Django": django.get_version(),
        "class start-up (ms)": startup * 1000,
        "live test, per test (ms)": statistics.median(times) * 1000,
        "WebSocket echo p50 (ms)": echoes[len(echoes) // 2] * 1000,
        "WebSocket echo p95 (ms)": echoes[int(len(echoes) * 0.95)] * 1000,
    }
    if echo_cpu is not None:
        figures["WebSocket echo CPU (µs)"] = echo_cpu * 1e6
    return figures


def echo_times(url: str, round_trips: int) -> tuple[list, float | None]:
    """Time ``round_trips`` text echoes on one socket (after 50 unmeasured).

    Returns their sorted times and the processor time spent per echo by
    every process of the benchmark (None where ``/proc`` cannot tell).
    """
    import websocket

    socket = websocket.create_connection(url, timeout=10)
    try:
        times = []
        for number in range(round_trips + 50):
            if number == 50:
                cpu_before = tree_cpu_seconds()
            text = str(number)
            began = time.perf_counter()
            socket.send(text)
            if socket.recv() != text:
                raise RuntimeError("the echo did not come back")
            times.append(time.perf_counter() - began)
        cpu_after = tree_cpu_seconds()
    finally:
        socket.close()
    per_echo = None if cpu_before is None or cpu_after is None else (cpu_after - cpu_before) / round_trips
    return sorted(times[50:]), per_echo


def tree_cpu_seconds() -> float | None:
    """Return the processor time this process and every process below it have used (Linux), or None."""
    if not os.path.isdir("/proc/self/task"):
        return None
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # gone meanwhile
            children.setdefault(parent, []).append(int(entry))
    total, todo = 0, [os.getpid()]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{pid}/task/{task}/schedstat") as schedstat:
                    total += int(schedstat.read().split()[0])  # nanoseconds on a core
            except (OSError, IndexError, ValueError):
                continue
    return total / 1e9


def run_side(python: str, side: str, directory: str, options: argparse.Namespace) -> dict:
    """Run ``side`` with ``python`` in a child process on the project in ``directory``."""
    paths = [directory] + ([ROOT] if side == "ours" else [])
    env = {
        **os.environ,
        "BENCH4X_SIDE": side,
        "DJANGO_SETTINGS_MODULE": "bench4x_settings",
        # The live server's own children import the project too.
        "PYTHONPATH": os.pathsep.join(paths),
    }
    result = subprocess.run(
        [
            python,
            os.path.abspath(__file__),
            "--child",
            side,
            "--tests",
            str(options.tests),
            "--round-trips",
            str(options.round_trips),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
        cwd=directory,
    )
    if result.returncode != 0:
        raise SystemExit(f"The {side} run with {python} failed:\n{result.stderr[-5000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def keep_best(best: dict, figures: dict) -> None:
    """Fold ``figures`` into ``best``, keeping the lowest time of each."""
    for name, figure in figures.items():
        if name not in best or not isinstance(figure, float):
            best[name] = figure
        else:
            best[name] = min(best[name], figure)


def print_table(title: str, old: dict, ours: dict) -> None:
    """Print both sides' figures and, where both have one, how many times faster ours is."""
    print(f"{title:32} {'Channels 4.x':>14} {'channels_test':>14} {'4.x / ours':>11}")
    for name, figure in ours.items():
        before, ratio = old.get(name, "-"), ""
        if isinstance(figure, float):
            if name in old:
                ratio = f"{before / figure:.2f}x"
            before, figure = (f"{before:,.2f}" if name in old else "-"), f"{figure:,.2f}"
        print(f"{name:32} {before:>14} {figure:>14} {ratio:>11}")
    print("(4.x / ours above 1.00x: ours is faster; below: slower)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--python-4x",
        default=os.environ.get("CHANNELS_TEST_PYTHON_4X"),
        help="python of a virtualenv with channels 4.3, Django 5.2, daphne and websocket-client "
        "(default: $CHANNELS_TEST_PYTHON_4X)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="turns each side takes (default 3)")
    parser.add_argument("--tests", type=int, default=30, help="timed live tests per round (default 30)")
    parser.add_argument("--round-trips", type=int, default=1000, help="echoes per round (default 1000)")
    parser.add_argument("--child", choices=["ours", "4x"], help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        print(json.dumps(child(options.child, options.tests, options.round_trips)))
        return
    if hasattr(os, "getloadavg"):
        print(f"{os.cpu_count()} CPUs, load average {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
    directory = tempfile.mkdtemp(prefix="bench-4x-")
    try:
        write_project(directory)
        ours, old = {}, {}
        for _ in range(options.rounds):
            keep_best(ours, run_side(sys.executable, "ours", directory, options))
            if options.python_4x:
                keep_best(old, run_side(options.python_4x, "4x", directory, options))
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    if not options.python_4x:
        print("No 4.x python given (--python-4x or CHANNELS_TEST_PYTHON_4X); see --help.\n")
    print_table(f"live server, best of {options.rounds}", old, ours)


if __name__ == "__main__":
    main()
