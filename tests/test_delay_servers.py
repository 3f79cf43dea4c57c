"""The delay server as real processes: two ``rundelay`` on one database, ``runserver``, the live server.

Every class here is tagged "live" (``runtests.py --fast`` leaves them out).
"""

import collections
import functools
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid

import websocket
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import SimpleTestCase, TransactionTestCase, modify_settings, tag

from channels_test import Channel
from channels_test.delay.models import DelayedMessage
from channels_test.layers.sqlite import SQLiteChannelLayer
from channels_test.test import ChannelLiveServerTestCase
from channels_test.test.live import LiveServer, LiveServerError, WorkerProcess
from tests.live.delay_faults import BROKEN
from tests.support.interface import CLIENT_TIMEOUT
from tests.support.processes import REPO_ROOT, Child, gone, project_env, start_runserver

TABLE = DelayedMessage._meta.db_table
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


def wait_until(condition, timeout: float, what: str, describe=lambda: "") -> None:
    """Return once ``condition()`` is true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout:g} s waiting for {what}. {describe()}")
        time.sleep(0.02)


class DelayProject:
    """A project directory for delay processes: a SQLite layer file and a migrated database."""

    def __init__(self, test: SimpleTestCase, database: str):
        self.directory = tempfile.mkdtemp(prefix="channels-delay-")
        test.addCleanup(shutil.rmtree, self.directory, ignore_errors=True)
        self.layer_path = os.path.join(self.directory, "layer.sqlite3")
        if database == "postgres":
            self.pg_name = f"channels_delay_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
            create_pg_database(self.pg_name)
            test.addCleanup(drop_pg_database, self.pg_name)
            setting = f"postgres:{self.pg_name}"
        else:
            self.pg_name = None
            self.sqlite_path = os.path.join(self.directory, "db.sqlite3")
            setting = self.sqlite_path
        self.env = project_env(self.layer_path, delay_db=setting)
        self.env["DJANGO_SETTINGS_MODULE"] = "tests.delay_settings"
        result = subprocess.run(
            [sys.executable, "-m", "django", "migrate", "--noinput", "-v", "0"],
            cwd=REPO_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        test.assertEqual(result.returncode, 0, f"migrate failed:\n{result.stdout}\n{result.stderr}")
        self.layer = SQLiteChannelLayer(path=self.layer_path, channel_capacity={"asgi.delay": 1000})
        test.addCleanup(self.layer.close)

    def waiting_rows(self) -> int:
        """Return how many delayed messages the database holds."""
        if self.pg_name:
            import psycopg

            with psycopg.connect(dbname=self.pg_name, **PG) as db:
                return db.execute(f'SELECT COUNT(*) FROM "{TABLE}"').fetchone()[0]
        with sqlite3.connect(self.sqlite_path, timeout=30) as db:
            return db.execute(f'SELECT COUNT(*) FROM "{TABLE}"').fetchone()[0]

    def start_rundelay(self, test: SimpleTestCase, *options: str) -> Child:
        child = Child("rundelay", [sys.executable, "-m", "django", "rundelay", *options], self.env)
        test.addCleanup(child.stop)
        child.wait_for(r"^Delay server ready\.")
        return child


def require_postgres() -> None:
    try:
        import psycopg

        psycopg.connect(dbname="postgres", connect_timeout=3, **PG).close()
    except Exception as error:  # noqa: BLE001
        raise AssertionError(f"These tests need PostgreSQL on 127.0.0.1:5432 (user postgres): {error}") from error


def create_pg_database(name: str) -> None:
    import psycopg

    require_postgres()
    with psycopg.connect(dbname="postgres", autocommit=True, **PG) as db:
        db.execute(f'CREATE DATABASE "{name}"')


def drop_pg_database(name: str) -> None:
    import psycopg

    with psycopg.connect(dbname="postgres", autocommit=True, **PG) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class TwoDelayServersMixin:
    """Two ``rundelay`` processes on one database and one layer: every message once."""

    database = "sqlite"
    messages = 300  # a round: three times the target channel's capacity
    #: Rounds to send while one server sent everything: which server claims
    #: the due rows first is up to the scheduler, and a busy machine may
    #: let one of them win a whole round.
    max_rounds = 5

    def test_every_message_is_sent_exactly_once(self):
        project = DelayProject(self, self.database)
        servers = [project.start_rundelay(self, "--sleep", "0.05", "-v", "2") for _ in range(2)]
        layer = project.layer
        bad = [
            {"channel": "delayed.out", "delay": 10},
            {"channel": "not valid!", "content": {}, "delay": 10},
            {"channel": "delayed.out", "content": {}, "delay": -1},
        ]
        for content in bad:
            layer.send("asgi.delay", content)

        def output(lines: int = 30):
            return "\n\n".join(
                f"Server {server.pid}, last lines:\n" + "\n".join(server.output().splitlines()[-lines:])
                for server in servers
            )

        def sent_by() -> list[int]:
            return [server.output().count("Sent a delayed message") for server in servers]

        received = collections.Counter()

        def take_all() -> None:
            while True:
                channel, content = layer.receive(["delayed.out"])
                if channel is None:
                    return
                received[content["n"]] += 1

        def all_arrived(count: int) -> bool:
            take_all()
            return len(received) == count

        sent = 0
        for round_number in range(self.max_rounds):
            for number in range(sent, sent + self.messages):
                layer.send("asgi.delay", {"channel": "delayed.out", "content": {"n": number}, "delay": 500})
            sent += self.messages
            if round_number == 0:
                self.check_full_channel_waits(project, servers, output)
            wait_until(
                functools.partial(all_arrived, sent),
                60,
                f"all {sent} messages",
                lambda: f"{len(received)} came.\n{output()}",
            )
            if all(sent_by()):
                break
        wait_until(lambda: project.waiting_rows() == 0, 30, "the table to empty", output)
        for server in servers:
            server.signal(signal.SIGTERM)
            self.assertEqual(server.wait(10), 0, server.output())
        take_all()
        duplicates = {number: count for number, count in received.items() if count > 1}
        self.assertEqual(duplicates, {}, "messages sent more than once")
        self.assertEqual(sorted(received), list(range(sent)))
        self.assertEqual(sum(sent_by()), sent)
        self.assertTrue(all(sent_by()), f"both servers sent messages in {self.max_rounds} rounds (counts {sent_by()})")
        dropped = sum(server.output().count("Dropped a message on asgi.delay") for server in servers)
        self.assertEqual(dropped, len(bad), output())

    def check_full_channel_waits(self, project: DelayProject, servers: list, output) -> None:
        """Check that the servers fill 'delayed.out' and keep the rest in the table."""
        layer = project.layer
        capacity = layer.get_capacity("delayed.out")
        wait_until(
            lambda: layer.message_counts().get("delayed.out") == capacity,
            30,
            f"the servers to fill 'delayed.out' ({capacity} messages)",
            output,
        )
        wait_until(
            lambda: any("Channel 'delayed.out' is full" in server.output() for server in servers),
            30,
            "a server to find 'delayed.out' full",
            output,
        )
        self.assertGreater(project.waiting_rows(), 0, "messages beyond the capacity wait in the table")


@tag("live")
class TwoDelayServersOnSQLiteTests(TwoDelayServersMixin, SimpleTestCase):
    database = "sqlite"


@tag("live")
class TwoDelayServersOnPostgreSQLTests(TwoDelayServersMixin, SimpleTestCase):
    database = "postgres"


@tag("live")
class RundelayTests(SimpleTestCase):
    def test_stops_cleanly_on_sigterm_and_sigint(self):
        project = DelayProject(self, "sqlite")
        for signum in (signal.SIGTERM, signal.SIGINT):
            with self.subTest(signal=signum.name):
                server = project.start_rundelay(self)
                server.signal(signum)
                self.assertEqual(server.wait(10), 0, server.output())
                self.assertIn("Delay server stopped.", server.output())
                self.assertIn(f"Received {signum.name}", server.output())

    def test_shows_its_layer_and_interval(self):
        project = DelayProject(self, "sqlite")
        server = project.start_rundelay(self, "--sleep", "2.5")
        self.assertIn("Running the delay server on channel layer 'default' (<SQLiteChannelLayer", server.output())
        self.assertIn("checking for due messages every 2.5 s", server.output())


@tag("live")
class RunserverDelayTests(SimpleTestCase):
    """runserver runs the delay server in its process when channels_test.delay is installed."""

    def test_a_delayed_message_reaches_the_websocket(self):
        project = DelayProject(self, "sqlite")
        env = dict(project.env)
        del env["CHANNELS_INTERFACE_TEST_LAYER"]  # runserver: the in-memory layer
        server, port = start_runserver(env, self.addCleanup, "--threads", "1")
        self.assertIn("Delay server: on channel layer 'default', listening on asgi.delay", server.output())
        socket = websocket.create_connection(f"ws://127.0.0.1:{port}/delay/", timeout=CLIENT_TIMEOUT)
        self.addCleanup(socket.close)
        sent = time.monotonic()
        socket.send(json.dumps({"text": "after 300 ms", "delay": 300}))
        self.assertEqual(socket.recv(), "after 300 ms")
        self.assertGreaterEqual(time.monotonic() - sent, 0.3, "it came after its delay, not before")

    def test_without_the_app_no_delay_server_runs(self):
        server, _ = start_runserver(project_env(None), self.addCleanup, "--threads", "1")
        self.assertNotIn("Delay server", server.output())


class FailingDelayWorkerProcess(WorkerProcess):
    """A worker process whose delay server raises before it listens."""

    entry = "tests.live.delay_faults.run_worker_whose_delay_server_fails_to_start"


class BreakableDelayWorkerProcess(WorkerProcess):
    """A worker process whose delay server raises on the request ``{"break": True}``."""

    entry = "tests.live.delay_faults.run_worker_whose_delay_server_fails_on_request"


def delayed_message_arrives(test: ChannelLiveServerTestCase, delay: int = 400) -> None:
    """Send a message to ``asgi.delay``; check that the live server sends it on, after its delay."""
    sent = time.monotonic()
    Channel("asgi.delay").send({"channel": "delayed.live", "content": {"text": "later"}, "delay": delay})
    message = test.get_next_message("delayed.live", require=True, timeout=10)
    test.assertEqual(message.content, {"text": "later"})
    test.assertGreaterEqual(time.monotonic() - sent, delay / 1000, "it came after its delay, not before")


@tag("live")
class LiveServerDelayTests(ChannelLiveServerTestCase):
    """The live server runs the delay server when channels_test.delay is installed."""

    worker_processes = 2

    def test_a_delayed_message_arrives(self):
        delayed_message_arrives(self)

    def test_the_table_is_the_test_database(self):
        Channel("asgi.delay").send({"channel": "delayed.live", "content": {}, "delay": 60_000})
        wait_until(
            lambda: DelayedMessage.objects.exists(),
            10,
            "the delay server to store the request",
            self.live_server_output,
        )

    def test_it_runs_in_the_first_worker_process(self):
        processes = type(self)._live_processes
        # Daphne and the worker processes: the delay server has no process of its own.
        self.assertEqual(len(processes), 1 + self.worker_processes)
        self.assertEqual(
            [(process.label, process.ready_info) for process in processes[1:]],
            [
                ("worker process 1", {"threads": 1, "delay": True}),
                ("worker process 2", {"threads": 1, "delay": False}),
            ],
        )


@tag("live")
class LiveServerWithoutDelayTests(ChannelLiveServerTestCase):
    delay_server = False

    def test_no_delay_server_runs(self):
        processes = type(self)._live_processes
        self.assertEqual(len(processes), 1 + self.worker_processes)
        self.assertFalse(any(process.ready_info.get("delay") for process in processes[1:]))
        Channel("asgi.delay").send({"channel": "delayed.live", "content": {}, "delay": 0})
        self.assertIsNone(self.get_next_message("delayed.live", timeout=1))
        self.assertIsNotNone(self.get_next_message("asgi.delay", timeout=0))


@tag("live")
class LiveServerDelayFailureTests(ChannelLiveServerTestCase):
    """A delay server that fails takes its worker process down; the restarted one brings it back."""

    worker_process_class = BreakableDelayWorkerProcess

    def test_a_failure_is_reported_and_the_restart_brings_the_delay_server_back(self):
        worker = type(self)._live_processes[1]
        old_pid = worker.pid
        Channel("asgi.delay").send({"break": True})
        deadline = time.monotonic() + 10
        while worker.is_alive():
            self.assertLess(time.monotonic(), deadline, "the worker process did not exit within 10 s")
            time.sleep(0.02)
        with self.assertRaises(LiveServerError) as caught:
            self._check_live_processes()
        message = str(caught.exception)
        self.assertIn(f"The worker process 1 (pid {old_pid}) exited with code 1 during this test", message)
        self.assertIn(f"RuntimeError: {BROKEN}", message)
        # What the next test's set-up does: worker 1 comes back, with the delay server.
        self._prepare_live_test()
        self.assertNotEqual(worker.pid, old_pid)
        self.assertEqual(worker.ready_info, {"threads": 1, "delay": True})
        delayed_message_arrives(self)


@tag("live")
class LiveServerDelaySetUpTests(TransactionTestCase):
    def test_delay_server_true_needs_the_app(self):
        server = LiveServer(delay_server=True, owner="DelayTest")
        allowed_hosts = list(settings.ALLOWED_HOSTS)
        with modify_settings(INSTALLED_APPS={"remove": ["channels_test.delay"]}):
            try:
                with self.assertRaisesMessage(
                    ImproperlyConfigured,
                    "DelayTest.delay_server is True, but 'channels_test.delay' is not in INSTALLED_APPS",
                ):
                    server.start()
                # Refused before it changed anything (ALLOWED_HOSTS is the first change).
                self.assertEqual(settings.ALLOWED_HOSTS, allowed_hosts)
            finally:
                # Within the override, so that what stop() restores nests inside it.
                server.stop()
        self.assertEqual(server.processes, [])

    def test_delay_server_true_needs_the_app_in_available_apps(self):
        server = LiveServer(delay_server=True, owner="DelayTest")
        apps.set_available_apps([app for app in settings.INSTALLED_APPS if app != "channels_test.delay"])
        try:
            with self.assertRaisesMessage(
                ImproperlyConfigured,
                "DelayTest.delay_server is True, but the test class's available_apps leaves out "
                "'channels_test.delay': add it there",
            ):
                server.start()
        finally:
            apps.unset_available_apps()
            server.stop()
        self.assertEqual(server.processes, [])

    def test_a_delay_server_that_fails_to_start_fails_the_start(self):
        klass = type(
            "Live",
            (ChannelLiveServerTestCase,),
            {"__module__": __name__, "worker_process_class": FailingDelayWorkerProcess},
        )
        self.addCleanup(klass.doClassCleanups)
        with self.assertRaises(LiveServerError) as caught:
            klass.setUpClass()
        message = str(caught.exception)
        self.assertIn("The worker process 1 (pid", message)
        self.assertIn("failed to start (exited with code 1)", message)
        self.assertIn(f"RuntimeError: {BROKEN}", message)
        self.assertIn("RuntimeError: The delay server failed to start.", message)
        klass.doClassCleanups()
        self.assertTrue(all(gone(process.pid) for process in klass._live_processes))
