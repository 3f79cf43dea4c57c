"""``manage.py runworker`` and ``manage.py runserver``, run as real processes."""

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import websocket
from django.core.management import CommandError, call_command
from django.test import SimpleTestCase, tag

from channels_test.layers.redis import RedisChannelLayer
from tests.support.interface import CLIENT_TIMEOUT, get, make_layer_directory
from tests.support.processes import (
    REPO_ROOT,
    SLOW_VIEW_STARTED,
    Child,
    descendants,
    project_env,
    start_daphne,
    start_runserver,
    start_worker,
    wait_gone,
)
from tests.support.redis import require_redis

from .interface_settings import redis_layer_config


def run_command(env: dict, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "django", *argv],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


class RunworkerErrorTests(SimpleTestCase):
    def test_refuses_the_in_memory_layer(self):
        with self.assertRaisesMessage(CommandError, "Channel layer 'default' is in-memory"):
            call_command("runworker")

    def test_names_unknown_layer(self):
        with self.assertRaisesMessage(CommandError, "No channel layer 'nope' in CHANNEL_LAYERS"):
            call_command("runworker", "--layer", "nope")

    def test_threads_must_be_positive(self):
        with self.assertRaisesMessage(CommandError, "--threads must be at least 1, not 0"):
            call_command("runworker", "--threads", "0")


@tag("live")
class RunworkerTests(SimpleTestCase):
    def setUp(self):
        self.env = project_env(make_layer_directory(self))

    def test_channel_filters_and_threads_are_shown(self):
        worker = start_worker(
            self.env,
            self.addCleanup,
            "--only-channels",
            "websocket.*",
            "--exclude-channels",
            "websocket.disconnect",
            "--threads",
            "3",
        )
        self.assertIn("Running 3 worker threads on channel layer 'default'", worker.output())
        worker.wait_for(r"^Listening on channels: websocket\.connect, websocket\.receive$", timeout=1)

    def test_filters_that_leave_nothing_are_an_error(self):
        result = run_command(self.env, "runworker", "--only-channels", "nothing.*")
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn("No channels to listen on", result.stderr)

    def test_only_channels_serves_only_those(self):
        env = project_env(self.env["CHANNELS_INTERFACE_TEST_LAYER"], http_timeout="1")
        _, port = start_daphne(env, self.addCleanup)
        start_worker(env, self.addCleanup, "--only-channels", "websocket.*")
        socket = websocket.create_connection(f"ws://127.0.0.1:{port}/echo/", timeout=CLIENT_TIMEOUT)
        self.addCleanup(socket.close)
        socket.send(json.dumps("hi"))
        self.assertEqual(json.loads(socket.recv())["echo"], "hi")
        self.assertEqual(get(port, "/hello/")[0], 504, "no worker listens on http.request")

    def test_sigterm_finishes_the_message_in_hand(self):
        _, port = start_daphne(self.env, self.addCleanup)
        worker = start_worker(self.env, self.addCleanup)
        result = {}
        client = threading.Thread(target=lambda: result.update(reply=get(port, "/slow/?seconds=1.5")))
        client.start()
        self.addCleanup(client.join, CLIENT_TIMEOUT)
        self.wait_for_view(worker)
        worker.signal(signal.SIGTERM)
        self.assertEqual(worker.wait(10), 0, worker.output())
        client.join(CLIENT_TIMEOUT)
        self.assertEqual(result.get("reply"), (200, b"finally"))
        self.assertIn("Worker stopped.", worker.output())

    def wait_for_view(self, worker, timeout: float = 10.0) -> None:
        """Return once the worker runs the /slow/ view (its output says so)."""
        worker.wait_for(re.escape(SLOW_VIEW_STARTED), timeout=timeout)


@tag("live")
class StopOnSignalTests(SimpleTestCase):
    """SIGTERM stops the worker's and the delay server's loops wherever it lands in them.

    A ``threading.Event`` set by the handler deadlocked the delay server
    when the signal came while its ``wait()`` held the Event's lock: one
    SIGTERM in a thousand in a 1 ms wait, one in a few in a 0 s wait, as
    the storm's loops make.
    """

    signals = 1000

    def test_worker_stops_on_every_sigterm(self):
        self.storm("worker", self.signals)

    def test_delay_server_stops_on_every_sigterm(self):
        self.storm("delay", self.signals)

    def storm(self, kind: str, signals: int) -> None:
        env = project_env(None)
        env["DJANGO_SETTINGS_MODULE"] = "tests.settings"
        argv = [sys.executable, "-m", "tests.live.signal_storm", kind, str(signals)]
        child = Child(f"signal_storm {kind}", argv, env)
        self.addCleanup(child.stop)
        seen = 0  # lines read so far; the child prints "running" and "stopped" by turns
        for number in range(signals):
            seen = self.next_line(child, "running", seen)
            time.sleep(random.uniform(0, 0.001))  # anywhere in the loop's waits
            child.signal(signal.SIGTERM)
            try:
                seen = self.next_line(child, "stopped", seen)
            except AssertionError:
                child.signal(signal.SIGUSR1)  # its stack, to the output
                child.wait_for(r"most recent call first", timeout=10, start=seen)
                raise AssertionError(
                    f"The {kind} loop did not stop within 10 s of SIGTERM number {number + 1}. "
                    f"Its stack:\n{child.output()}"
                ) from None
        self.assertEqual(child.wait(10), 0, child.output())

    @staticmethod
    def next_line(child: Child, text: str, seen: int) -> int:
        """Wait for ``text`` as the child's next line after the first ``seen``; return the lines read."""
        child.wait_for(f"^{text}$", timeout=10, start=seen)
        if child.lines[seen] != text:
            raise AssertionError(f"Expected {text!r} after line {seen}, got:\n{child.output()}")
        return seen + 1


@tag("live")
class RunworkerOnRedisTests(SimpleTestCase):
    """Daphne and runworker as separate processes sharing the Redis layer."""

    def test_serves_a_view_and_a_websocket(self):
        require_redis("redis://127.0.0.1:6379/0")
        env = project_env(make_layer_directory(self), redis="1")
        layer = RedisChannelLayer(**redis_layer_config(env["CHANNELS_INTERFACE_TEST_LAYER"]))
        self.addCleanup(layer.flush)  # leave nothing behind on the shared server
        _, port = start_daphne(env, self.addCleanup)
        worker = start_worker(env, self.addCleanup)
        self.assertIn("RedisChannelLayer", worker.output())
        status, body = get(port, "/hello/?name=redis")
        self.assertEqual((status, body.decode().rsplit(" ", 1)[1]), (200, str(worker.pid)))
        socket = websocket.create_connection(f"ws://127.0.0.1:{port}/echo/", timeout=CLIENT_TIMEOUT)
        self.addCleanup(socket.close)
        socket.send(json.dumps("over redis"))
        self.assertEqual(json.loads(socket.recv())["echo"], "over redis")


@tag("live")
class RunserverTests(SimpleTestCase):
    """runserver with the in-memory layer: Daphne and worker threads in one process."""

    def test_serves_a_view_and_a_websocket(self):
        server, port = start_runserver(project_env(None), self.addCleanup)
        status, body = get(port, "/hello/?name=runserver")
        self.assertEqual(status, 200)
        self.assertEqual(body.decode().rsplit(" ", 1)[1], str(server.pid), "the view runs in runserver's process")
        socket = websocket.create_connection(f"ws://127.0.0.1:{port}/echo/", timeout=CLIENT_TIMEOUT)
        self.addCleanup(socket.close)
        socket.send(json.dumps({"via": "runserver"}))
        self.assertEqual(json.loads(socket.recv())["echo"], {"via": "runserver"})
        self.assertIn("InMemoryChannelLayer", server.output())

    def test_serves_static_files_in_debug(self):
        _, port = start_runserver(project_env(None, debug="1"), self.addCleanup, "--threads", "1")
        status, body = get(port, "/static/live/echo.js")
        self.assertEqual(status, 200)
        with open(f"{REPO_ROOT}/tests/live/static/live/echo.js", "rb") as source:
            self.assertEqual(body, source.read())

    def test_noworker_leaves_requests_to_other_workers(self):
        _, port = start_runserver(project_env(None, http_timeout="1"), self.addCleanup, "--noworker")
        self.assertEqual(get(port, "/hello/")[0], 504)

    def test_reloads_on_code_changes(self):
        directory = tempfile.mkdtemp(prefix="runserver-reload-")
        self.addCleanup(shutil.rmtree, directory, ignore_errors=True)
        module = os.path.join(directory, "reload_probe.py")
        with open(module, "w") as source:
            source.write('VALUE = "before"\n')
        env = project_env(None, probe="reload_probe")
        env["PYTHONPATH"] = os.pathsep.join([directory, env["PYTHONPATH"]])
        server, port = start_runserver(env, self.addCleanup, "--threads", "1", reload=True)
        self.assertEqual(get(port, "/probe/"), (200, b"before"))
        with open(module, "w") as source:
            source.write('VALUE = "after"\n')
        second, start = None, len(server.lines)
        for attempt in range(1, 11):
            # Newer each time: the reloader may not have looked at the file before the first change.
            os.utime(module, (time.time() + attempt, time.time() + attempt))
            try:
                second = server.wait_for(r"^Listening on 127\.0\.0\.1:(\d+)", timeout=2, start=start)
                break
            except AssertionError:
                continue
        self.assertIsNotNone(second, f"runserver did not restart within 20 s of the change:\n{server.output()}")
        self.assertEqual(get(int(second.group(1)), "/probe/"), (200, b"after"))
        serving = descendants(server.pid)
        self.assertTrue(serving, "the reloader runs the server in a child process")
        server.stop()
        self.assertTrue(wait_gone([server.pid, *serving]), "runserver's reloader child outlived it")

    def test_is_the_runserver_django_picks(self):
        result = run_command(project_env(None), "help", "runserver")
        self.assertIn("--noworker", result.stdout, result.stderr)
