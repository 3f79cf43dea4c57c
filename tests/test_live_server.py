"""ChannelLiveServerTestCase: real Daphne and worker processes, a real browser.

Every class here that starts a live server is tagged "live"
(``runtests.py --fast`` leaves them out); the browser test also "browser".
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from unittest import mock, skipUnless

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import SimpleTestCase, TransactionTestCase, modify_settings, override_settings, tag
from websocket import create_connection

from channels_test import Channel, Group
from channels_test.asgi import channel_layers
from channels_test.layers.base import BaseChannelLayer
from channels_test.test import ChannelLiveServerTestCase
from channels_test.test._livesetup import settings_overrides
from channels_test.test.live import DaphneProcess, LiveServerError, WorkerProcess
from tests.live import consumers
from tests.support.live import (
    CHROMEDRIVER,
    CHROMIUM,
    HERE,
    LIVE_LAYERS,
    NO_CHROMIUM,
    NO_POSTGRES,
    POSTGRES_UP,
    live_settings,
    needs_interface,
    start_browser,
)
from tests.support.processes import gone, wait_gone
from tests.support.redis import require_redis
from tests.testapp.models import IntegerValue

ROOT = os.path.dirname(HERE)


@needs_interface
@tag("live")
@live_settings
class LiveServerTests(ChannelLiveServerTestCase):
    def connect(self, path="/ws/echo/"):
        ws = create_connection(self.live_server_ws_url + path, timeout=10)
        self.addCleanup(ws.close)
        return ws

    def test_urls(self):
        port = self._live_daphne.listening_port
        self.assertEqual(self.live_server_url, f"http://localhost:{port}")
        self.assertEqual(self.live_server_ws_url, f"ws://localhost:{port}")

    def test_http_reaches_views_through_daphne_and_a_worker(self):
        IntegerValue.objects.create(name="created-in-the-test", value=1)
        with urllib.request.urlopen(self.live_server_url + "/values/", timeout=10) as response:
            self.assertEqual(response.read().decode(), "created-in-the-test")

    def test_websocket_echo(self):
        ws = self.connect()
        ws.send("hi")
        self.assertEqual(ws.recv(), "echo: hi")

    def test_group_send_in_the_test_reaches_live_sockets(self):
        ws = self.connect()
        ws.send("joined")  # the reply proves the connect consumer ran
        self.assertEqual(ws.recv(), "echo: joined")
        Group(consumers.ROOM).send({"text": "from the test"}, immediately=True)
        self.assertEqual(ws.recv(), "from the test")

    def test_binding_in_the_test_reaches_live_sockets(self):
        ws = self.connect("/values/")
        deadline = time.monotonic() + 10
        while not Group(consumers.VALUES).channel_names():
            self.assertLess(time.monotonic(), deadline, "the /values/ socket never joined its group")
            time.sleep(0.01)
        IntegerValue.objects.create(name="bound", value=7)
        frame = json.loads(ws.recv())
        self.assertEqual(frame["stream"], "values")
        self.assertEqual(frame["payload"]["action"], "create")
        self.assertEqual(frame["payload"]["data"], {"name": "bound", "value": 7})

    def test_workers_see_the_test_database_and_class_settings(self):
        IntegerValue.objects.create(name="seen", value=1)
        Channel("live.inspect").send({"reply_to": "live.answer"})
        answer = self.get_next_message("live.answer", require=True).content
        self.assertEqual(answer["marker"], "set by the test class")
        self.assertIs(answer["debug"], False)
        self.assertEqual(answer["database"], str(connection.settings_dict["NAME"]))
        self.assertEqual(answer["values"], ["seen"])
        self.assertIn(answer["pid"], [process.pid for process in self._live_processes])

    def test_sqlite_test_database_skips_fsync_here_and_in_the_workers(self):
        Channel("live.inspect").send({"reply_to": "live.answer"})
        answer = self.get_next_message("live.answer", require=True).content
        expected = 0 if connection.vendor == "sqlite" else None  # 0: OFF
        self.assertEqual((consumers.sqlite_synchronous(), answer["sqlite_synchronous"]), (expected, expected))

    def test_channel_test_case_assertions_read_the_live_layer(self):
        Channel("live.inspect").send({"reply_to": "live.answer"})
        message = self.assertMessage("live.answer", marker="set by the test class")  # waits for the worker
        self.assertIn(message["pid"], [process.pid for process in self._live_processes])
        self.assertNoMessages("live.answer")
        Group("live.members").add("live.member")
        self.assertGroupMembers("live.members", ["live.member"])
        Channel("live.unexpected").send({"n": 1})
        with self.assertRaisesMessage(AssertionError, "Expected no message on 'live.unexpected', found {'n': 1}"):
            self.assertNoMessages("live.unexpected")
        self.receive_timeout = 0.1  # this test only: assertMessage waits as long as get_next_message
        with self.assertRaisesMessage(AssertionError, "Expected a message on channel 'live.nothing' within 0.1 s"):
            self.assertMessage("live.nothing", n=1)

    def test_layer_flushed_before_each_test_1_leave_a_message(self):
        Channel("live.leftover").send({"n": 1})

    def test_layer_flushed_before_each_test_2_nothing_left(self):
        self.assertIsNone(self.get_next_message("live.leftover", timeout=0))

    def test_get_next_message_require_says_what_it_waited_for(self):
        Channel("live.elsewhere").send({"n": 1})
        with self.assertRaisesMessage(
            AssertionError,
            "Expected a message on channel 'live.nothing' within 0.1 s; none came "
            "(messages are waiting on: 'live.elsewhere' (1)).",
        ):
            self.get_next_message(Channel("live.nothing"), require=True, timeout=0.1)

    def test_other_alias_is_refused_here_and_in_the_workers(self):
        with self.assertRaisesMessage(ImproperlyConfigured, "serve only 'default'"):
            Channel("x", alias="other").send({"a": 1})
        Channel("live.use-other-alias").send({"reply_to": "live.answer"})
        answer = self.get_next_message("live.answer")
        self.assertIsNotNone(answer, self.live_server_output())
        outcome = answer["outcome"]
        self.assertIn("Channel layer 'other' is not available under ChannelLiveServerTestCase", outcome)

    def test_static_files_are_served(self):
        with urllib.request.urlopen(self.live_server_url + "/static/live/echo.js", timeout=10) as response:
            self.assertIn(b"new WebSocket", response.read())

    def test_consumer_errors_reach_the_live_output(self):
        Channel("live.fail").send({})
        deadline = time.monotonic() + 10
        while "consumer broke on purpose" not in self.live_server_output():
            self.assertLess(time.monotonic(), deadline, self.live_server_output())
            time.sleep(0.05)
        self.assertIn("Traceback (most recent call last)", self.live_server_output())
        # The worker goes on.
        Channel("live.inspect").send({"reply_to": "live.answer"})
        self.assertIsNotNone(self.get_next_message("live.answer", require=True))

    def test_worker_death_is_reported_with_output_then_restarted(self):
        worker = self._live_processes[1]
        old_pid = worker.pid
        ws = self.connect()
        ws.send("exit 7")
        # Wait until the exit can be collected, not merely until the pid looks
        # gone: /proc shows a multi-threaded process as a zombie while its
        # other threads still exit, and until then waitpid() finds nothing.
        deadline = time.monotonic() + 10
        while worker.is_alive():
            self.assertLess(time.monotonic(), deadline, "the worker did not exit within 10 s")
            time.sleep(0.02)
        with self.assertRaises(LiveServerError) as caught:
            self._check_live_processes()
        message = str(caught.exception)
        self.assertIn(f"The worker process 1 (pid {old_pid}) exited with code 7 during this test", message)
        self.assertIn("Its last output", message)
        # The next test gets a fresh worker; the death is not reported twice.
        self._prepare_live_test()
        self.assertTrue(worker.is_alive())
        self.assertNotEqual(worker.pid, old_pid)
        self._check_live_processes()
        ws = self.connect()
        ws.send("back")
        self.assertEqual(ws.recv(), "echo: back")


# The reference document's settings, as written but for the routing: a Redis
# layer whose CONFIG names a server that does not exist here, and a TEST_CONFIG.
REFERENCE_REDIS_LAYERS = {
    **LIVE_LAYERS,
    "default": {
        "BACKEND": "asgi_redis.RedisChannelLayer",
        "ROUTING": "tests.live.routing.channel_routing",
        "CONFIG": {
            "hosts": [("redis-server-name", 6379)],
        },
        "TEST_CONFIG": {
            "hosts": [("localhost", 6379)],
        },
    },
}


@needs_interface
@tag("live")
@override_settings(CHANNEL_LAYERS=REFERENCE_REDIS_LAYERS)
@live_settings
class ReferenceRedisSettingsTests(ChannelLiveServerTestCase):
    """The reference document's Redis settings: the live server uses TEST_CONFIG, never CONFIG.

    (tests/test_live_redis.py covers the live server over Redis in depth.)
    """

    @classmethod
    def setUpClass(cls):
        require_redis("redis://localhost:6379/0")
        # The 1.x BACKEND path works, with a DeprecationWarning naming ours.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DeprecationWarning)
            super().setUpClass()
        cls.deprecations = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]

    def test_the_1x_backend_path_warns(self):
        self.assertIn(
            "BACKEND 'asgi_redis.RedisChannelLayer' is deprecated; use 'channels_test.layers.redis.RedisChannelLayer'.",
            self.deprecations,
        )

    def test_test_config_is_served_never_config(self):
        layer = channel_layers["default"].channel_layer
        self.assertEqual(type(layer).__name__, "RedisChannelLayer")
        self.assertTrue(layer.prefix.endswith(f"-live{os.getpid()}"), layer.prefix)
        ws = create_connection(self.live_server_ws_url + "/ws/echo/", timeout=10)
        self.addCleanup(ws.close)
        ws.send("over redis")
        self.assertEqual(ws.recv(), "echo: over redis")
        Group(consumers.ROOM).send({"text": "to the room"}, immediately=True)
        self.assertEqual(ws.recv(), "to the room")


class SettingsForChildrenTests(SimpleTestCase):
    """What the children are told about settings (no process started)."""

    def test_overrides_and_runner_changes_are_passed(self):
        with override_settings(LIVE_ONLY_HERE=[1, 2]), modify_settings(ALLOWED_HOSTS={"append": "example.org"}):
            module, overrides, deleted = settings_overrides()
        self.assertEqual(module, os.environ["DJANGO_SETTINGS_MODULE"])
        self.assertEqual(overrides["LIVE_ONLY_HERE"], [1, 2])
        self.assertIn("example.org", overrides["ALLOWED_HOSTS"])
        # Set by the test runner, not the settings module:
        self.assertEqual(overrides["EMAIL_BACKEND"], "django.core.mail.backends.locmem.EmailBackend")
        self.assertNotIn("SECRET_KEY", overrides)  # unchanged settings come from the module
        self.assertEqual(deleted, [])

    def test_deleted_settings_are_passed(self):
        with override_settings():
            del settings.STATIC_URL
            _, overrides, deleted = settings_overrides()
        self.assertEqual(deleted, ["STATIC_URL"])
        self.assertNotIn("STATIC_URL", overrides)


class NetworkishLayer(BaseChannelLayer):
    """Stands for any cross-process layer that is neither in-memory nor SQLite."""


class MarkedWorkerProcess(WorkerProcess):
    """A project's own worker process class: its workers see one more setting."""

    def child_config(self):
        config = super().child_config()
        return {**config, "overrides": {**config["overrides"], "LIVE_MARKER": "set by MarkedWorkerProcess"}}


class RecordsStops:
    """Record in ``events`` each terminate() and stop() of the live server's children."""

    events: list = []

    def terminate(self):
        self.events.append(("terminate", self.slug))
        super().terminate()

    def stop(self, timeout=5.0):
        self.events.append(("stop", self.slug))
        super().stop(timeout)


class RecordingDaphneProcess(RecordsStops, DaphneProcess):
    pass


class RecordingWorkerProcess(RecordsStops, WorkerProcess):
    pass


class StubbornWorkerProcess(WorkerProcess):
    """A worker process that ignores SIGTERM: only SIGKILL ends it."""

    entry = "tests.live.stubborn.run_worker_ignoring_sigterm"


class UnstartableWorkerProcess(WorkerProcess):
    """A worker process whose program does not exist: start() raises."""

    def command(self, config_path, ready_fd):
        return [os.path.join(HERE, "no-such-program")]


@needs_interface
@tag("live")
@live_settings
class LiveServerSetUpTests(TransactionTestCase):
    """Set-up failures, refusals and teardown, by running live classes' set-up here."""

    def run_class(self, klass):
        """Run klass.setUpClass(), registering its class cleanups to run after this test."""
        self.addCleanup(klass.doClassCleanups)
        klass.setUpClass()
        return klass

    def make(self, **attributes):
        return live_settings(type("Live", (ChannelLiveServerTestCase,), {"__module__": __name__, **attributes}))

    def test_teardown_ends_every_child(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        klass = self.run_class(self.make(worker_processes=2, worker_threads=2, port=port))
        self.assertEqual(klass.live_server_url, f"http://localhost:{port}")
        pids = [process.pid for process in klass._live_processes]
        self.assertEqual(len(pids), 3)  # Daphne and two workers, the first running the delay server
        self.assertFalse(any(gone(pid) for pid in pids))
        klass.doClassCleanups()
        self.assertTrue(all(gone(pid) for pid in pids), pids)

    def test_teardown_signals_every_child_before_waiting_for_any(self):
        events = []
        klass = self.run_class(
            self.make(
                worker_processes=2,
                daphne_process_class=type("Daphne", (RecordingDaphneProcess,), {"events": events}),
                worker_process_class=type("Worker", (RecordingWorkerProcess,), {"events": events}),
            )
        )
        klass.doClassCleanups()
        first_stop = events.index(next(event for event in events if event[0] == "stop"))
        self.assertEqual(
            sorted(events[:first_stop]),
            [("terminate", "daphne"), ("terminate", "worker-1"), ("terminate", "worker-2")],
            events,
        )
        self.assertEqual(
            [process.exit_description() for process in klass._live_processes], ["was killed by SIGTERM"] * 3
        )
        klass._live_server.stop()  # a second stop does nothing

    def test_a_start_that_fails_half_way_stops_what_it_started(self):
        events = []
        klass = self.make(
            daphne_process_class=type("Daphne", (RecordingDaphneProcess,), {"events": events}),
            worker_process_class=UnstartableWorkerProcess,
        )
        with self.assertRaises(FileNotFoundError):
            self.run_class(klass)
        daphne = klass._live_processes[0]
        klass.doClassCleanups()
        self.assertEqual(events[:2], [("terminate", "daphne"), ("stop", "daphne")])
        self.assertTrue(gone(daphne.pid))
        klass._live_server.stop()  # a second stop does nothing

    def test_a_child_that_ignores_sigterm_is_killed_after_shutdown_timeout(self):
        klass = self.run_class(
            self.make(worker_processes=2, worker_process_class=StubbornWorkerProcess, shutdown_timeout=0.5)
        )
        pids = [process.pid for process in klass._live_processes]
        klass.doClassCleanups()
        self.assertEqual(
            [process.exit_description() for process in klass._live_processes],
            ["was killed by SIGTERM", "was killed by SIGKILL", "was killed by SIGKILL"],
        )
        self.assertTrue(all(gone(pid) for pid in pids), pids)

    def test_serve_static_false_serves_no_static_files(self):
        klass = self.run_class(self.make(serve_static=False))
        with self.assertRaises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(klass.live_server_url + "/static/live/echo.js", timeout=10)
        self.assertEqual(caught.exception.code, 404)

    def test_child_that_fails_to_start_shows_its_traceback(self):
        layers = {**LIVE_LAYERS, "default": {**LIVE_LAYERS["default"], "ROUTING": "tests.live.no_such_routing"}}
        klass = override_settings(CHANNEL_LAYERS=layers)(self.make())
        with self.assertRaises(LiveServerError) as caught:
            self.run_class(klass)
        message = str(caught.exception)
        self.assertIn("The worker process 1 (pid", message)
        self.assertIn("failed to start (exited with code 1)", message)
        self.assertIn("Traceback (most recent call last)", message)
        self.assertIn("Cannot import the routing 'tests.live.no_such_routing'", message)
        klass.doClassCleanups()
        self.assertTrue(all(gone(process.pid) for process in klass._live_processes))

    def test_startup_timeout_names_what_it_waited_for(self):
        with self.assertRaises(LiveServerError) as caught:
            self.run_class(self.make(startup_timeout=0.01))
        self.assertIn("did not report ready within 0.01 s (startup_timeout)", str(caught.exception))

    def test_in_memory_sqlite_is_refused_showing_the_setting_to_add(self):
        from django.db.backends.sqlite3.base import DatabaseWrapper

        in_memory = DatabaseWrapper({**connection.settings_dict, "NAME": ":memory:"}, alias="default")
        with mock.patch("channels_test.test._livesetup.connections", {"default": in_memory}):
            with self.assertRaises(ImproperlyConfigured) as caught:
                self.run_class(self.make())
        self.assertIn("cannot use the in-memory SQLite test database of 'default'", str(caught.exception))
        self.assertIn("'TEST': {'NAME': 'test_default.sqlite3'}", str(caught.exception))

    def test_network_layer_without_test_config_is_refused(self):
        layers = {"default": {"BACKEND": f"{__name__}.NetworkishLayer", "ROUTING": []}}
        with self.assertRaises(ImproperlyConfigured) as caught:
            self.run_class(override_settings(CHANNEL_LAYERS=layers)(self.make()))
        self.assertIn("has no 'TEST_CONFIG'", str(caught.exception))
        self.assertIn("could wipe real data", str(caught.exception))

    def test_unknown_alias_is_refused(self):
        with self.assertRaisesMessage(
            ImproperlyConfigured, "channel_layer_alias is 'nope', which is not in CHANNEL_LAYERS"
        ):
            self.run_class(self.make(channel_layer_alias="nope"))

    def test_sqlite_synchronous_is_restored_after_the_class(self):
        before = consumers.sqlite_synchronous()
        klass = self.run_class(self.make(sqlite_synchronous="NORMAL"))
        during = consumers.sqlite_synchronous()
        klass.doClassCleanups()
        expected = (1, before) if connection.vendor == "sqlite" else (None, None)  # 1: NORMAL
        self.assertEqual((during, consumers.sqlite_synchronous()), expected)

    def test_bad_sqlite_synchronous_is_refused(self):
        with self.assertRaisesMessage(ImproperlyConfigured, "sqlite_synchronous must be one of 'OFF', 'NORMAL'"):
            self.run_class(self.make(sqlite_synchronous="fast"))

    def test_bad_worker_count_is_refused(self):
        with self.assertRaisesMessage(ImproperlyConfigured, "worker_processes must be an int >= 1, not 0"):
            self.run_class(self.make(worker_processes=0))

    def test_allowed_hosts_gain_the_live_host(self):
        klass = self.run_class(override_settings(ALLOWED_HOSTS=["example.invalid"])(self.make()))
        with urllib.request.urlopen(klass.live_server_url + "/values/", timeout=10) as response:
            self.assertEqual((response.status, response.read()), (200, b"(none)"))

    def test_process_classes_can_be_swapped(self):
        klass = self.run_class(self.make(worker_process_class=MarkedWorkerProcess))
        self.assertIsInstance(klass._live_processes[1], MarkedWorkerProcess)
        Channel("live.inspect").send({"reply_to": "live.answer"})
        self.assertEqual(self.receive_live("live.answer")["marker"], "set by MarkedWorkerProcess")

    def receive_live(self, channel, timeout=10):
        """Return the next message the live workers sent to ``channel``, waiting up to ``timeout`` s."""
        layer = channel_layers["default"]
        deadline = time.monotonic() + timeout
        while True:
            received, message = layer.receive([channel], block=False)
            if received is not None:
                return message
            self.assertLess(time.monotonic(), deadline, f"no message on {channel!r} from the live workers")
            time.sleep(0.01)

    def test_test_config_prefix_is_made_unique_to_this_process(self):
        path = os.path.join(tempfile.mkdtemp(), "layer.sqlite3")
        self.addCleanup(shutil.rmtree, os.path.dirname(path))
        layers = {
            **LIVE_LAYERS,
            "default": {
                "BACKEND": "channels_test.layers.sqlite.SQLiteChannelLayer",
                "ROUTING": "tests.live.routing.channel_routing",
                "CONFIG": {"path": "/nonexistent/never-used.sqlite3"},
                "TEST_CONFIG": {"path": path, "prefix": "suite"},
            },
        }
        klass = self.run_class(override_settings(CHANNEL_LAYERS=layers)(self.make()))
        layer = channel_layers["default"].channel_layer
        self.assertEqual((layer.path, layer.prefix), (path, f"suite-live{os.getpid()}"))
        Channel("live.inspect").send({"reply_to": "live.answer"})
        self.receive_live("live.answer")
        klass.doClassCleanups()


@needs_interface
@tag("live")
class LiveServerProcessTests(TransactionTestCase):
    """Whole test runs in a subprocess: interruption and --parallel."""

    def run_tests(self, *args, env=None, postgres=None, timeout=120):
        """Run runtests.py with ``args`` on test databases of its own; return (exit code, output).

        The run gets a process group of its own: on timeout the whole group
        (its --parallel workers included) is killed.
        """
        postgres = connection.vendor == "postgresql" if postgres is None else postgres
        directory = tempfile.mkdtemp(prefix="live-subprocess-")
        self.addCleanup(shutil.rmtree, directory, ignore_errors=True)
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.live.subprocess_settings", **(env or {})}
        if postgres:
            env.update(
                CHANNELS_TEST_DATABASE="postgres", LIVE_DB_NAME=f"test_channels_live_subprocess_{settings.RUN_ID}"
            )
        else:
            env.update(CHANNELS_TEST_DATABASE="sqlite", LIVE_DB_NAME=os.path.join(directory, "test.sqlite3"))
        run = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "runtests.py"), "--noinput", *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            output, _ = run.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
            output, _ = run.communicate()
            self.fail(f"runtests.py {' '.join(args)} did not finish within {timeout} s. Its output:\n{output}")
        return run.returncode, output

    def test_failed_or_interrupted_run_leaves_no_process(self):
        for signal_name in ("FAIL", "SIGINT", "SIGTERM", "SIGKILL"):
            with self.subTest(signal_name):
                record = tempfile.NamedTemporaryFile("r", suffix=".json", delete=False)
                self.addCleanup(os.unlink, record.name)
                returncode, output = self.run_tests(
                    "tests.live.interrupted",
                    env={"LIVE_RECORD": record.name, "LIVE_SIGNAL": signal_name},
                )
                self.assertNotEqual(returncode, 0, output)
                if signal_name == "FAIL":
                    self.assertIn("this live test fails on purpose", output)
                recorded = json.load(record)
                pids = recorded["pids"]
                self.assertEqual(len(pids), 2, pids)  # Daphne, a worker (running the delay server)
                self.assertTrue(wait_gone(pids), f"still running after {signal_name}: {pids}")
                if signal_name != "SIGKILL":  # nothing runs in a killed process to clean up
                    self.assertFalse(os.path.exists(recorded["directory"]), f"left behind after {signal_name}")
                else:
                    shutil.rmtree(recorded["directory"], ignore_errors=True)

    @skipUnless(POSTGRES_UP, NO_POSTGRES)
    def test_parallel_with_the_spawn_start_method(self):
        # Spawned test processes rebuild Django from scratch, as Python 3.14's default
        # (forkserver) would. On PostgreSQL: Django's spawn mode cannot clone a SQLite
        # test database kept in a file.
        record = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, record)
        returncode, output = self.run_tests(
            "tests.live.parallel",
            "--parallel",
            "2",
            postgres=True,
            env={"LIVE_RECORD": record, "LIVE_START_METHOD": "spawn"},
        )
        self.assertEqual(returncode, 0, output)
        self.assertIn("4 passed, 0 failed, 0 skipped", output)
        recorded = sorted(name for name in os.listdir(record) if name.endswith(".json"))
        self.assertEqual(recorded, ["FirstLiveClass.json", "SecondLiveClass.json"])

    def test_parallel_test_processes_get_their_own_ports_and_layers(self):
        record = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, record)
        returncode, output = self.run_tests("tests.live.parallel", "--parallel", "2", env={"LIVE_RECORD": record})
        self.assertEqual(returncode, 0, output)
        self.assertIn("4 passed, 0 failed, 0 skipped", output)
        names = ["FirstLiveClass.json", "SecondLiveClass.json"]
        first, second = (json.load(open(os.path.join(record, name))) for name in names)
        self.assertNotEqual(first["port"], second["port"])
        for seen in (first, second):
            self.assertTrue(seen["layer"].endswith(f"-live{seen['test_process']}"), seen)


@needs_interface
@tag("live", "browser")
@skipUnless(CHROMIUM and CHROMEDRIVER, NO_CHROMIUM)
@live_settings
class BrowserTests(ChannelLiveServerTestCase):
    """Headless Chromium opens a page whose JavaScript talks to the live server."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.browser, _ = start_browser(cls)

    def text_of(self, element_id):
        from selenium.webdriver.common.by import By

        return self.browser.find_element(By.ID, element_id).text

    def wait_for_text(self, element_id, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.text_of(element_id)
            if text:
                return text
            time.sleep(0.05)
        self.fail(f"#{element_id} stayed empty for {timeout} s; the page's #status says {self.text_of('status')!r}")

    def test_page_javascript_talks_to_the_live_server_over_a_websocket(self):
        self.browser.get(self.live_server_url + "/echo/")
        self.assertEqual(self.wait_for_text("reply"), "echo: hello from the browser")
        self.assertEqual(self.text_of("status"), "open")

    def test_quitting_ends_the_browser_and_driver_processes(self):
        browser, pids = start_browser(type(self))
        self.assertGreater(len(pids), 1, "chromedriver started no browser process")
        browser.quit()
        self.assertTrue(wait_gone(pids), [pid for pid in pids if not gone(pid)])
