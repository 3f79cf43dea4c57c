"""What only the SQLite layer promises: many processes, killed receivers, its file."""

from __future__ import annotations

import contextlib
import marshal
import multiprocessing
import os
import queue
import select
import shutil
import signal
import socket
import sqlite3
import stat
import tempfile
import threading
import time
import uuid
from unittest import mock

from django.core.exceptions import ImproperlyConfigured
from django.test import SimpleTestCase

from channels_test.layers.base import ChannelFull
from channels_test.layers.sqlite import SQLiteChannelLayer, default_path
from channels_test.layers.sqlite.direct import encode_datagram
from channels_test.layers.sqlite.layer import TRY_RECEIVE_LIMIT
from channels_test.layers.sqlite.wake import (
    DATAGRAM_LIMIT,
    MESSAGE,
    OFFERS,
    WakeDirectory,
    WakeSockets,
    drain,
    key_directory,
)

SPAWN = multiprocessing.get_context("spawn")
WORK_CHANNELS = ["work.a", "work.b"]
LOG_TABLE = "CREATE TABLE IF NOT EXISTS test_received (receiver INTEGER, message_id TEXT)"


# -- code run in child processes (module level, so "spawn" can import it) ------------


def send_many(path: str, sender: int, count: int) -> None:
    """Send ``count`` messages, ids ``"<sender>-<n>"``, across the work channels."""
    layer = SQLiteChannelLayer(path=path, capacity=100000)
    for number in range(count):
        layer.send(WORK_CHANNELS[number % 2], {"id": f"{sender}-{number}"})


def receive_until_stop(path: str, results, hand_offs: bool = False) -> None:
    """Receive (blocking) until a stop message; put the list of ids received on ``results``.

    ``hand_offs``: receive as a worker does, within ``take_hand_offs()``;
    then the stop message, from another sender, may come before messages
    stored earlier, so the receiver goes on until it finds nothing more.
    """
    layer = SQLiteChannelLayer(path=path, blocking_timeout=0.2)
    received = []
    deadline = time.monotonic() + 60
    with layer.take_hand_offs() if hand_offs else contextlib.nullcontext():
        stopping = False
        while time.monotonic() < deadline:
            channel, message = layer.receive(WORK_CHANNELS + ["stop"], block=True)
            if channel == "stop":
                if not hand_offs:
                    break
                stopping = True
            elif channel is not None:
                received.append(message["id"])
            elif stopping:
                break
    results.put(received)


def send_many_some_large(path: str, sender: int, count: int) -> None:
    """As :func:`send_many`, every fifth message too large for a datagram (so stored)."""
    layer = SQLiteChannelLayer(path=path, capacity=100000)
    for number in range(count):
        body = b"x" * DATAGRAM_LIMIT if number % 5 == 4 else b""
        layer.send(WORK_CHANNELS[number % 2], {"id": f"{sender}-{number}", "body": body})


def receive_until_stop_keeping_logs(path: str, results) -> None:
    """As :func:`receive_until_stop`, putting ``(ids, layer log lines)`` on ``results``."""
    import logging

    lines: list = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    logger = logging.getLogger("channels_test.layers.sqlite")
    logger.addHandler(handler)
    logger.propagate = False
    inner = SPAWN.Queue()
    receive_until_stop(path, inner)
    results.put((inner.get(timeout=10), lines))


def receive_and_log(path: str, receiver: int, pause: float) -> None:
    """Take messages one by one, logging each in the same transaction that takes it.

    Killed at any moment, a message is either logged or still in the layer.
    """
    layer = SQLiteChannelLayer(path=path)
    connection = layer._connection()
    connection.execute(LOG_TABLE)
    while True:
        connection.execute("BEGIN IMMEDIATE")
        channel, message = layer.receive(WORK_CHANNELS)
        if channel is not None:
            connection.execute("INSERT INTO test_received VALUES (?, ?)", (receiver, message["id"]))
        connection.execute("COMMIT")
        time.sleep(pause if channel is not None else 0.005)


def send_until_full(path: str, attempts: int, results) -> None:
    """Try ``attempts`` sends to a channel of capacity 100; put how many were accepted."""
    from channels_test.layers import ChannelFull

    layer = SQLiteChannelLayer(path=path, capacity=100)
    accepted = 0
    for number in range(attempts):
        try:
            layer.send("bounded", {"n": number})
            accepted += 1
        except ChannelFull:
            pass
    results.put(accepted)


def take_and_hang(path: str, taken) -> None:
    """Take a message inside a transaction, report it, and hang before committing."""
    layer = SQLiteChannelLayer(path=path)
    layer._connection().execute("BEGIN IMMEDIATE")
    taken.put(layer.receive(["hang"]))
    time.sleep(60)


def block_forever(path: str, ready) -> None:
    """Block on a channel nobody sends to, after saying so."""
    layer = SQLiteChannelLayer(path=path, blocking_timeout=60)
    ready.put(os.getpid())
    layer.receive(["never"], block=True)


def offer_and_wait(path: str, ready) -> None:
    """Wait, as a worker does, offering to be handed a message, after saying so; never take one."""
    layer = SQLiteChannelLayer(path=path, blocking_timeout=0.05)
    with layer.take_hand_offs():
        layer.receive(["work"], block=True)  # times out, leaving the offer up
        ready.put(os.getpid())
        time.sleep(60)


def watch_and_collect(path: str, count: int, ready, results) -> None:
    """Watch ``replies!`` as an event loop would; put the first ``count`` messages' ``n`` on ``results``."""
    layer = SQLiteChannelLayer(path=path)
    wake_socket = layer.watch(["replies!"])
    assert wake_socket is not None
    received: list = []
    found = layer.try_receive(["replies!"])
    ready.put(os.getpid())
    deadline = time.monotonic() + 60
    while len(received) < count and time.monotonic() < deadline:
        if found is not None:
            received += [message["n"] for _, message in found[0]]
        if found is None or found[1]:
            time.sleep(0.001)
        else:
            select.select([wake_socket], [], [], 0.1)
        found = layer.try_receive(["replies!"])
    results.put(received)


def watch_forever(path: str, ready) -> None:
    """Watch ``replies!`` and never read the socket, after saying so."""
    layer = SQLiteChannelLayer(path=path)
    layer.watch(["replies!"])
    ready.put(os.getpid())
    time.sleep(60)


def send_from_child(layer: SQLiteChannelLayer) -> None:
    """Send with a layer object inherited through fork."""
    layer.send("from.child", {"pid": os.getpid()})


def open_as_nobody(path: str, results) -> None:
    """As the user 'nobody' (uid 65534), open a layer at ``path``; put the error text on ``results``."""
    os.setgid(65534)
    os.setuid(65534)
    try:
        SQLiteChannelLayer(path=path)
    except ImproperlyConfigured as error:
        results.put(str(error))
    else:
        results.put("opened")


def probe_locks(path: str, results) -> None:
    """Put on ``results`` which of SQLite's shared locks on ``path`` some process holds.

    Every process with the database open in WAL mode holds a shared lock on
    the database file's shared range (510 bytes from 2**30 + 2) and on byte
    128 of the -shm file (the "dead man switch"). A process that can lock
    the latter exclusively concludes it is alone and rebuilds the shared
    index under the others' feet.
    """
    import fcntl

    found = []
    for name, length, start in ((path, 510, 2**30 + 2), (path + "-shm", 1, 128)):
        descriptor = os.open(name, os.O_RDWR)
        try:
            fcntl.lockf(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB, length, start)
            found.append("free")
        except OSError:
            found.append("held")
        finally:
            os.close(descriptor)
    results.put(found)


# -- helpers -------------------------------------------------------------------------


def poked(wake_socket) -> bool:
    """Read every datagram waiting on ``wake_socket``; return True if one came, failing on a message."""
    messages: list = []
    read = drain(wake_socket, messages)
    assert not messages, f"expected pokes only, found messages: {messages!r}"
    return read > 0


class LayerFileMixin:
    def make_path(self) -> str:
        directory = tempfile.mkdtemp(prefix="channels_test_sqlite_")
        self.addCleanup(shutil.rmtree, directory, ignore_errors=True)
        return os.path.join(directory, "layer.sqlite3")

    def start(self, target, *args, context=SPAWN):
        """Start a child process, registering its end right away."""
        process = context.Process(target=target, args=args, daemon=True)
        process.start()
        self.addCleanup(self.stop, process)
        return process

    @staticmethod
    def stop(process) -> None:
        if process.is_alive():
            process.kill()
        process.join(10)

    def join_all(self, processes, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        for process in processes:
            process.join(max(0.1, deadline - time.monotonic()))
            if process.is_alive():
                raise AssertionError(f"Child process {process.pid} still running after {timeout} s.")
            self.assertEqual(process.exitcode, 0, f"child process {process.pid} failed")


# -- tests ---------------------------------------------------------------------------


class MultiProcessTests(LayerFileMixin, SimpleTestCase):
    senders, per_sender, receivers = 3, 300, 3

    def expected_ids(self) -> list[str]:
        return sorted(f"{s}-{n}" for s in range(self.senders) for n in range(self.per_sender))

    def test_every_message_delivered_exactly_once(self):
        self.check_delivered_exactly_once(hand_offs=False)

    def test_every_message_delivered_exactly_once_to_workers_taking_hand_offs(self):
        self.check_delivered_exactly_once(hand_offs=True)

    def check_delivered_exactly_once(self, *, hand_offs: bool) -> None:
        path = self.make_path()
        layer = SQLiteChannelLayer(path=path)
        results = SPAWN.Queue()
        receivers = [self.start(receive_until_stop, path, results, hand_offs) for _ in range(self.receivers)]
        senders = [self.start(send_many, path, sender, self.per_sender) for sender in range(self.senders)]
        self.join_all(senders)
        received = self.stop_receivers(layer, receivers, results)
        while hand_offs:  # what a receiver stopping first stored again for the others
            channel, message = layer.receive(WORK_CHANNELS)
            if channel is None:
                break
            received.append(message["id"])
        self.assertEqual(len(received), len(self.expected_ids()), "messages lost or duplicated")
        self.assertEqual(sorted(received), self.expected_ids())
        self.assertEqual(layer.receive(WORK_CHANNELS + ["stop"]), (None, None))

    def test_each_senders_messages_reach_one_worker_in_order_stored_or_handed_over(self):
        path = self.make_path()
        layer = SQLiteChannelLayer(path=path)
        results = SPAWN.Queue()
        receiver = self.start(receive_until_stop, path, results, True)
        senders = [self.start(send_many_some_large, path, sender, self.per_sender) for sender in range(self.senders)]
        self.join_all(senders)
        received = self.stop_receivers(layer, [receiver], results)
        self.assertEqual(sorted(received), self.expected_ids(), "messages lost or duplicated")
        for sender in range(self.senders):
            for channel in range(2):  # in order on each channel
                numbers = [int(id_.split("-")[1]) for id_ in received if id_.startswith(f"{sender}-")]
                numbers = [number for number in numbers if number % 2 == channel]
                self.assertEqual(numbers, sorted(numbers), f"sender {sender}'s messages out of order")

    def stop_receivers(self, layer, receivers, results) -> list:
        """Send each receiver a stop message; return every id they received."""
        for _ in receivers:
            layer.send("stop", {})
        received = []
        for _ in receivers:
            try:
                received += results.get(timeout=60)
            except queue.Empty:
                raise AssertionError("A receiver process sent no results within 60 s.") from None
        self.join_all(receivers)
        return received

    def test_killed_receiver_loses_nothing(self):
        path = self.make_path()
        layer = SQLiteChannelLayer(path=path, capacity=100000)
        layer._connection().execute(LOG_TABLE)
        for sender in range(self.senders):
            send_many(path, sender, self.per_sender)
        victim = self.start(receive_and_log, path, 0, 0.001)
        survivor = self.start(receive_and_log, path, 1, 0.001)
        self.wait_for_log(layer, receiver=0, count=20)
        os.kill(victim.pid, signal.SIGKILL)
        victim.join(10)
        self.assertEqual(victim.exitcode, -signal.SIGKILL)
        self.wait_for_log(layer, receiver=None, count=len(self.expected_ids()))
        rows = layer._connection().execute("SELECT message_id FROM test_received").fetchall()
        self.assertEqual(sorted(message_id for (message_id,) in rows), self.expected_ids())
        self.assertTrue(survivor.is_alive())

    def wait_for_log(self, layer, *, receiver, count, timeout: float = 60) -> None:
        query, params = "SELECT COUNT(*) FROM test_received", ()
        if receiver is not None:
            query, params = query + " WHERE receiver = ?", (receiver,)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            (found,) = layer._connection().execute(query, params).fetchone()
            if found >= count:
                return
            time.sleep(0.01)
        raise AssertionError(
            f"Expected {count} messages logged by receiver {receiver}, found {found} after {timeout} s."
        )

    def test_capacity_holds_across_processes(self):
        path = self.make_path()
        layer = SQLiteChannelLayer(path=path)
        results = SPAWN.Queue()
        senders = [self.start(send_until_full, path, 60, results) for _ in range(4)]
        self.join_all(senders)
        accepted = sum(results.get(timeout=10) for _ in senders)
        self.assertEqual(accepted, 100, "4 processes x 60 sends to a channel of capacity 100")
        self.assertEqual(layer.message_counts(), {"bounded": 100})

    def test_receiver_dying_before_commit_leaves_the_message(self):
        path = self.make_path()
        layer = SQLiteChannelLayer(path=path)
        layer.send("hang", {"n": 1})
        taken = SPAWN.Queue()
        child = self.start(take_and_hang, path, taken)
        self.assertEqual(taken.get(timeout=60), ("hang", {"n": 1}))
        os.kill(child.pid, signal.SIGKILL)
        child.join(10)
        self.assertEqual(layer.receive(["hang"]), ("hang", {"n": 1}))

    def test_blocked_receiver_wakes_on_a_send_from_another_process(self):
        path = self.make_path()
        layer = SQLiteChannelLayer(path=path, blocking_timeout=30)
        child = self.start(send_many, path, 0, 1)
        started = time.monotonic()
        channel, message = layer.receive(WORK_CHANNELS, block=True)
        self.assertEqual((channel, message), ("work.a", {"id": "0-0"}))
        self.assertLess(time.monotonic() - started, 29, "receive returned by timing out")
        self.join_all([child])

    def test_idle_blocking_receive_does_not_spin(self):
        layer = SQLiteChannelLayer(path=self.make_path(), blocking_timeout=1.0)
        layer.receive(["warm.up"], block=False)
        cpu_before, wall_before = time.thread_time(), time.monotonic()
        self.assertEqual(layer.receive(["never"], block=True), (None, None))
        cpu, wall = time.thread_time() - cpu_before, time.monotonic() - wall_before
        self.assertGreaterEqual(wall, 0.9, "receive(block=True) returned before blocking_timeout")
        self.assertLess(cpu, 0.1 * wall, f"a blocked receive used {cpu:.3f} s of CPU in {wall:.3f} s")

    def test_killed_blocked_receiver_leaves_no_socket_behind_after_a_send(self):
        path = self.make_path()
        layer = SQLiteChannelLayer(path=path)
        ready = SPAWN.Queue()
        child = self.start(block_forever, path, ready)
        ready.get(timeout=60)
        wake_directory = path + ".wake"
        waiting_on_never = os.path.join(wake_directory, key_directory("never"))

        def links() -> list:
            return os.listdir(waiting_on_never) if os.path.isdir(waiting_on_never) else []

        deadline = time.monotonic() + 10
        while not links():
            self.assertLess(time.monotonic(), deadline, f"no socket was linked in {waiting_on_never}")
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
        child.join(10)
        layer.send("never", {})  # pokes the sockets waiting on "never": the dead one is removed
        self.assertEqual(os.listdir(wake_directory), [])

    def test_layer_reopens_its_connection_after_fork(self):
        if "fork" not in multiprocessing.get_all_start_methods():
            self.skipTest("this platform cannot fork processes")
        path = self.make_path()
        layer = SQLiteChannelLayer(path=path)
        layer.send("warm.up", {})  # the parent's connection exists before the fork
        child = self.start(send_from_child, layer, context=multiprocessing.get_context("fork"))
        self.join_all([child])
        self.assertEqual(layer.receive(["from.child"]), ("from.child", {"pid": child.pid}))


class FileTests(LayerFileMixin, SimpleTestCase):
    def default_layer(self, **config) -> SQLiteChannelLayer:
        prefix = config.setdefault("prefix", f"test-{uuid.uuid4().hex[:12]}")
        self.addCleanup(self.remove_files, default_path(prefix))
        return SQLiteChannelLayer(**config)

    @staticmethod
    def remove_files(path: str) -> None:
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        shutil.rmtree(path + ".wake", ignore_errors=True)

    def test_a_file_of_an_earlier_schema_gets_the_newest_part(self):
        path = self.make_path()
        SQLiteChannelLayer(path=path).send("a", {"kept": True})
        with sqlite3.connect(path) as connection:
            connection.execute("DROP INDEX channels_test_groups_local")
        layer = SQLiteChannelLayer(path=path)
        layer.send("a", {"new": True})
        with sqlite3.connect(path) as connection:
            found = connection.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'channels_test_groups_local'"
            ).fetchone()
        self.assertIsNotNone(found)
        self.assertEqual(layer.receive(["a"]), ("a", {"kept": True}))

    def test_default_path_comes_from_the_prefix(self):
        layer = self.default_layer(prefix="test-derived-path")
        expected = os.path.join(tempfile.gettempdir(), "channels_test-test-derived-path.sqlite3")
        self.assertEqual(layer.path, expected)
        self.assertEqual(stat.S_IMODE(os.stat(expected).st_mode), 0o600)
        layer.send("a", {})
        self.assertEqual(stat.S_IMODE(os.stat(expected + "-wal").st_mode), 0o600)
        layer.blocking_timeout = 0.01
        layer.receive(["nothing"], block=True)
        self.assertEqual(stat.S_IMODE(os.stat(expected + ".wake").st_mode), 0o700)

    def test_shared_wake_directory_is_not_used(self):
        path = self.make_path()
        os.mkdir(path + ".wake")
        os.chmod(path + ".wake", 0o777)
        layer = SQLiteChannelLayer(path=path, blocking_timeout=10)
        sender = threading.Timer(0.05, layer.send, ("later", {"n": 1}))
        sender.start()
        self.addCleanup(sender.join, 5)
        self.assertEqual(layer.receive(["later"], block=True), ("later", {"n": 1}))
        self.assertEqual(os.listdir(path + ".wake"), [])

    def test_default_file_is_made_private(self):
        prefix = f"test-{uuid.uuid4().hex[:12]}"
        path = default_path(prefix)
        descriptor = os.open(path, os.O_CREAT | os.O_WRONLY, 0o644)
        os.close(descriptor)
        os.chmod(path, 0o644)
        with self.assertLogs("channels_test.layers.sqlite", "WARNING") as logs:
            self.default_layer(prefix=prefix)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertIn("had mode 0644", logs.output[0])

    def test_default_file_of_another_user_is_refused(self):
        if not hasattr(os, "chown") or os.getuid() != 0:
            self.skipTest("needs root to make a file owned by another user")
        prefix = f"test-{uuid.uuid4().hex[:12]}"
        path = default_path(prefix)
        self.addCleanup(self.remove_files, path)
        descriptor = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(descriptor)
        os.chown(path, 65534, 65534)
        with self.assertRaisesRegex(ImproperlyConfigured, r"belongs to another user.*'path'"):
            SQLiteChannelLayer(prefix=prefix)

    def test_explicit_path_is_used(self):
        path = self.make_path()
        layer = SQLiteChannelLayer(path=path)
        self.assertEqual(layer.path, path)
        self.assertEqual(sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0], "wal")

    def file_modes(self, path: str) -> dict:
        return {
            suffix: stat.S_IMODE(os.stat(path + suffix).st_mode)
            for suffix in ("", "-wal", "-shm")
            if os.path.exists(path + suffix)
        }

    def set_umask(self, umask: int) -> None:
        self.addCleanup(os.umask, os.umask(umask))

    def test_explicit_path_files_are_private_whatever_the_umask(self):
        for umask in (0o022, 0o002, 0o000):
            with self.subTest(umask=f"{umask:04o}"):
                self.set_umask(umask)
                path = self.make_path()
                layer = SQLiteChannelLayer(path=path, blocking_timeout=0.01)
                self.addCleanup(layer.close)
                layer.send("a", {"cookie": "sessionid=secret"})
                sender = self.start(send_many, path, 0, 10)  # another process writes too
                self.join_all([sender])
                layer.receive(["nothing"], block=True)
                self.assertEqual(self.file_modes(path), {"": 0o600, "-wal": 0o600, "-shm": 0o600})

    def test_existing_files_others_can_read_are_narrowed_with_a_warning(self):
        self.set_umask(0o022)
        path = self.make_path()
        other = sqlite3.connect(path)  # another program made the file, and keeps it open
        self.addCleanup(other.close)
        other.execute("PRAGMA journal_mode = WAL")
        other.execute("CREATE TABLE other (x)")
        os.chmod(path + "-wal", 0o664)
        self.assertEqual(self.file_modes(path), {"": 0o644, "-wal": 0o664, "-shm": 0o644})
        with self.assertLogs("channels_test.layers.sqlite", "WARNING") as logs:
            layer = SQLiteChannelLayer(path=path)
        self.addCleanup(layer.close)
        self.assertEqual(self.file_modes(path), {"": 0o600, "-wal": 0o600, "-shm": 0o600})
        self.assertEqual(len(logs.output), 3)
        self.assertIn(
            f"file {path!r} had mode 0644, which let other users read the messages in it; it now has mode 0600.",
            logs.output[0],
        )
        self.assertIn(f"{path + '-wal'!r} had mode 0664", logs.output[1])

    def test_private_existing_file_is_left_alone(self):
        path = self.make_path()
        SQLiteChannelLayer(path=path).close()
        os.chmod(path, 0o700)  # the owner's choice, private already
        with self.assertNoLogs("channels_test.layers.sqlite", "WARNING"):
            SQLiteChannelLayer(path=path).close()
        self.assertEqual(self.file_modes(path)[""], 0o700)

    def test_file_others_can_read_that_cannot_be_narrowed_is_refused(self):
        if os.getuid() == 0:
            # Make such a file, and open it as the user 'nobody' in another process.
            path = self.make_path()
            os.chmod(os.path.dirname(path), 0o755)
            descriptor = os.open(path, os.O_CREAT | os.O_WRONLY, 0o644)
            os.close(descriptor)
            os.chmod(path, 0o644)
            results = SPAWN.Queue()
            child = self.start(open_as_nobody, path, results)
            try:
                error = results.get(timeout=60)
            except queue.Empty:
                raise AssertionError("The process running as 'nobody' sent no result within 60 s.") from None
            self.join_all([child])
        else:
            # Not root: a system file root owns and everybody may read is such a file.
            path = "/etc/passwd"
            info = os.stat(path)
            if info.st_uid == os.getuid() or stat.S_IMODE(info.st_mode) != 0o644:
                self.skipTest(f"needs root, or a {path} that root owns with mode 0644")
            with self.assertRaises(ImproperlyConfigured) as caught:
                SQLiteChannelLayer(path=path)
            error = str(caught.exception)
        self.assertIn(
            f"The SQLite channel layer file {path!r} has mode 0644, so other users "
            "could read the messages in it (they carry cookies), and it cannot be made "
            "private",
            error,
        )
        self.assertIn("its owner is uid 0). Run 'chmod 600' on it as its owner", error)
        self.assertEqual(self.file_modes(path)[""], 0o644)

    def test_opening_the_file_again_keeps_the_locks_of_open_connections(self):
        prefix = f"test-{uuid.uuid4().hex[:12]}"
        for config in ({"path": self.make_path()}, {"prefix": prefix}):
            with self.subTest(config=config):
                first = self.default_layer(**config) if "prefix" in config else SQLiteChannelLayer(**config)
                self.addCleanup(first.close)
                first.send("a", {})
                results = SPAWN.Queue()
                for _ in range(2):
                    # Closing any descriptor of the file here would drop this process's locks.
                    self.addCleanup(SQLiteChannelLayer(**config).close)
                    probe = self.start(probe_locks, first.path, results)
                    try:
                        self.assertEqual(results.get(timeout=60), ["held", "held"])
                    except queue.Empty:
                        raise AssertionError("The probing process sent no result within 60 s.") from None
                    self.join_all([probe])
                self.assertEqual(first.receive(["a"]), ("a", {}))

    def test_a_file_that_is_not_a_database_is_named(self):
        path = self.make_path()
        with open(path, "wb") as garbage:
            garbage.write(b"this is not a database\n" * 500)
        with self.assertRaises(ImproperlyConfigured) as caught:
            SQLiteChannelLayer(path=path)
        self.assertIn(
            f"The SQLite channel layer file {path!r} is damaged or is not a SQLite "
            "database (file is not a database). Stop every process using the layer, "
            "then delete the file",
            str(caught.exception),
        )

    def test_a_file_damaged_while_in_use_is_named(self):
        path = self.make_path()
        layer = SQLiteChannelLayer(path=path, capacity=1000)
        for number in range(300):
            layer.send("work.a", {"n": number, "padding": "x" * 500})
        layer.close()
        with open(path, "r+b") as damaged:
            damaged.seek(3 * 4096)
            damaged.write(b"\xff" * 10 * 4096)
        layer = SQLiteChannelLayer(path=path)
        self.addCleanup(layer.close)
        with self.assertRaises(sqlite3.DatabaseError) as caught:
            for _ in range(300):
                layer.receive(["work.a"])
        self.assertIn(
            f"The SQLite channel layer file {path!r} is damaged or is not a SQLite "
            "database (database disk image is malformed)",
            str(caught.exception),
        )

    def test_unwritable_path_is_a_configuration_error(self):
        with self.assertRaisesRegex(ImproperlyConfigured, r"'/nonexistent-dir/x\.sqlite3'"):
            SQLiteChannelLayer(path="/nonexistent-dir/x.sqlite3")

    def test_bad_blocking_timeout(self):
        with self.assertRaisesRegex(ValueError, "blocking_timeout .* not -1"):
            SQLiteChannelLayer(path=self.make_path(), blocking_timeout=-1)

    def test_prefixes_in_one_file_are_separate(self):
        path = self.make_path()
        first = SQLiteChannelLayer(path=path, prefix="first")
        second = SQLiteChannelLayer(path=path, prefix="second")
        first.send("shared.name", {"from": "first"})
        first.group_add("grp", "member")
        self.assertEqual(second.receive(["shared.name"]), (None, None))
        self.assertEqual(second.group_channels("grp"), [])
        second.send("shared.name", {"from": "second"})
        second.flush()
        self.assertEqual(first.receive(["shared.name"]), ("shared.name", {"from": "first"}))
        self.assertEqual(first.group_channels("grp"), ["member"])

    def test_different_files_are_separate(self):
        first = SQLiteChannelLayer(path=self.make_path())
        second = SQLiteChannelLayer(path=self.make_path())
        first.send("shared.name", {"from": "first"})
        self.assertEqual(second.receive(["shared.name"]), (None, None))
        self.assertEqual(first.receive(["shared.name"]), ("shared.name", {"from": "first"}))

    def test_two_layer_objects_on_one_file_share_messages(self):
        path = self.make_path()
        SQLiteChannelLayer(path=path).send("shared", {"n": 1})
        self.assertEqual(SQLiteChannelLayer(path=path).receive(["shared"]), ("shared", {"n": 1}))

    def test_message_counts(self):
        layer = SQLiteChannelLayer(path=self.make_path())
        layer.send("a", {})
        layer.send("a", {})
        layer.send("b", {})
        self.assertEqual(layer.message_counts(), {"a": 2, "b": 1})


class DamagedMessageTests(LayerFileMixin, SimpleTestCase):
    """A row that does not decode is logged and skipped; the receiver goes on."""

    DAMAGED = (
        b"\xc1 not msgpack",  # a byte msgpack never writes
        b"\x81\xa4text",  # cut short
        b"\x93\x01\x02\x03",  # a list, not a message
        b"\x81\xa1a\xc7\x01\x07x",  # an extension type the layer never writes
        marshal.dumps({"old": "format"}, 4),  # what earlier versions stored
        "text, not bytes",
    )

    def write_rows(self, path: str, channel: str, payloads: list, prefix: str = "channels_test") -> None:
        """Insert rows straight into the file, as damage or another program would."""
        connection = sqlite3.connect(path)
        self.addCleanup(connection.close)
        with connection:
            for payload in payloads:
                connection.execute(
                    "INSERT INTO channels_test_messages (prefix, channel, local, expires, data) VALUES (?, ?, ?, ?, ?)",
                    (prefix, channel, None, time.time() + 60, payload),
                )

    def test_damaged_rows_are_logged_and_skipped(self):
        path = self.make_path()
        layer = SQLiteChannelLayer(path=path)
        self.write_rows(path, "work.a", self.DAMAGED)
        layer.send("work.a", {"id": "good"})
        with self.assertLogs("channels_test.layers.sqlite", "ERROR") as logs:
            self.assertEqual(layer.receive(["work.a"]), ("work.a", {"id": "good"}))
        self.assertEqual(len(logs.records), len(self.DAMAGED))
        for line in logs.output:
            self.assertIn("Skipped a message on channel 'work.a' that cannot be decoded", line)
            self.assertIn("That message is lost; receiving goes on.", line)
        self.assertEqual(layer.receive(["work.a"]), (None, None))

    def test_blocking_receive_goes_on_past_a_damaged_row(self):
        path = self.make_path()
        layer = SQLiteChannelLayer(path=path, blocking_timeout=10)
        self.write_rows(path, "work.a", [b"\xc1"])
        sender = threading.Timer(0.05, layer.send, ("work.a", {"id": "later"}))
        sender.start()
        self.addCleanup(sender.join, 5)
        with self.assertLogs("channels_test.layers.sqlite", "ERROR"):
            self.assertEqual(layer.receive(["work.a"], block=True), ("work.a", {"id": "later"}))

    def test_receiver_process_survives_damaged_rows(self):
        path = self.make_path()
        layer = SQLiteChannelLayer(path=path)
        results = SPAWN.Queue()
        self.write_rows(path, "work.a", self.DAMAGED)
        receiver = self.start(receive_until_stop_keeping_logs, path, results)
        layer.send("work.b", {"id": "after"})
        layer.send("stop", {})
        try:
            received, lines = results.get(timeout=60)
        except queue.Empty:
            raise AssertionError("The receiver process sent no results within 60 s.") from None
        self.join_all([receiver])
        self.assertEqual(received, ["after"])
        self.assertEqual(len(lines), len(self.DAMAGED), lines)
        self.assertIn("Skipped a message on channel 'work.a' that cannot be decoded", lines[0])


class ExpiryTests(LayerFileMixin, SimpleTestCase):
    """Expiry on the file: measured on the layer's clock, here a fake one moved by hand."""

    def setUp(self):
        from .test_layers import FakeClock

        self.clock = FakeClock()
        self.path = self.make_path()

    def layer(self, **config) -> SQLiteChannelLayer:
        layer = SQLiteChannelLayer(path=self.path, clock=self.clock, **config)
        self.addCleanup(layer.close)
        return layer

    def stored_rows(self) -> list:
        connection = sqlite3.connect(self.path)
        self.addCleanup(connection.close)
        return connection.execute("SELECT channel FROM channels_test_messages ORDER BY id").fetchall()

    def test_a_message_expired_for_one_process_is_expired_for_another(self):
        sender, receiver = self.layer(expiry=5), self.layer(expiry=5)
        sender.send("short", {"n": 1})
        self.clock.advance(4.9)
        self.assertEqual(receiver.message_counts(), {"short": 1})
        self.clock.advance(0.2)
        self.assertEqual(receiver.receive(["short"]), (None, None))
        self.assertEqual(receiver.receive(["short"], block=False), (None, None))

    def test_a_send_sweeps_expired_messages_and_memberships_out_of_the_file(self):
        layer = self.layer(expiry=5, group_expiry=5)
        layer.send("old", {"n": 1})
        layer.group_add("grp", "old")
        self.clock.advance(6)
        layer.send("new", {"n": 2})
        self.assertEqual(self.stored_rows(), [("new",)], "the expired message is still stored")
        self.assertEqual(layer.group_channels("grp"), [])


class TakeTests(LayerFileMixin, SimpleTestCase):
    def test_a_receive_that_finds_nothing_does_not_wait_for_the_write_lock(self):
        path = self.make_path()
        layer = SQLiteChannelLayer(path=path)
        self.addCleanup(layer.close)
        layer.send("other", {"n": 1})
        writer = sqlite3.connect(path, isolation_level=None)
        self.addCleanup(writer.close)
        writer.execute("BEGIN IMMEDIATE")
        # A take that wanted the lock would retry until LOCK_TIMEOUT, then raise.
        with mock.patch("channels_test.layers.sqlite.connection.LOCK_TIMEOUT", 0.2):
            self.assertEqual(layer.receive(["empty"]), (None, None))
        writer.execute("COMMIT")
        self.assertEqual(layer.receive(["other"]), ("other", {"n": 1}))

    def test_a_receive_after_one_that_found_a_message_takes_in_one_statement(self):
        layer = SQLiteChannelLayer(path=self.make_path())
        self.addCleanup(layer.close)
        statements: list = []
        layer._connection().set_trace_callback(statements.append)
        for number in range(2):
            layer.send("work", {"n": number})

        def statements_of_a_receive() -> list:
            statements.clear()
            layer.receive(["work"])
            return [statement.split()[0] for statement in statements]

        self.assertEqual(statements_of_a_receive(), ["SELECT", "DELETE"])  # looks first
        self.assertEqual(statements_of_a_receive(), ["DELETE"])  # the last one found a message
        self.assertEqual(statements_of_a_receive(), ["DELETE"])  # ... and this one finds none
        self.assertEqual(statements_of_a_receive(), ["SELECT"])  # so this one looks first again


class WakeUpTests(LayerFileMixin, SimpleTestCase):
    """A send pokes the receivers of its channel only; a receiver relies on the pokes."""

    def setUp(self):
        self.wake = WakeDirectory(self.make_path() + ".wake")

    def listening(self, *keys: str) -> WakeSockets:
        sockets = WakeSockets()
        self.addCleanup(sockets.close)
        self.assertIsNotNone(self.wake.listen(sockets, frozenset(keys)))
        return sockets

    def test_a_send_pokes_only_the_receivers_waiting_on_its_channel(self):
        on_a, on_b, on_both, sender = self.listening("a"), self.listening("b"), self.listening("a", "b"), WakeSockets()
        self.addCleanup(sender.close)
        self.wake.poke(sender, "a")
        self.assertEqual([poked(s.wake_socket) for s in (on_a, on_b, on_both)], [True, False, True])

    def test_a_receiver_waiting_on_other_channels_is_poked_for_those_only(self):
        receiver, sender = self.listening("a"), WakeSockets()
        self.addCleanup(sender.close)
        self.wake.listen(receiver, frozenset({"b"}))
        self.wake.poke(sender, "a")
        self.assertFalse(poked(receiver.wake_socket))
        self.wake.poke(sender, "b")
        self.assertTrue(poked(receiver.wake_socket))
        self.assertFalse(os.path.exists(os.path.join(self.wake.path, key_directory("a"))), "emptied directory left")

    def test_a_group_send_pokes_every_receiver(self):
        on_a, on_b, sender = self.listening("a"), self.listening("b"), WakeSockets()
        self.addCleanup(sender.close)
        self.wake.poke_all(sender)
        self.assertEqual([poked(on_a.wake_socket), poked(on_b.wake_socket)], [True, True])

    def test_a_send_lists_a_channel_again_only_once_it_changed(self):
        receiver, sender = self.listening("a"), WakeSockets()
        self.addCleanup(sender.close)
        directory = os.path.join(self.wake.path, key_directory("a"))
        long_ago = time.time_ns() - 10_000_000_000
        os.utime(directory, ns=(long_ago, long_ago))
        with mock.patch.object(os, "listdir", wraps=os.listdir) as listdir:
            for _ in range(3):
                self.wake.poke(sender, "a")
        self.assertEqual(listdir.call_count, 1)
        self.assertTrue(poked(receiver.wake_socket))
        newcomer = self.listening("a")
        self.wake.poke(sender, "a")
        self.assertEqual([poked(receiver.wake_socket), poked(newcomer.wake_socket)], [True, True])

    def test_a_message_sent_between_two_receives_arrives_without_polling(self):
        path = self.make_path()
        receiver = SQLiteChannelLayer(path=path, blocking_timeout=10)
        sender = SQLiteChannelLayer(path=path)
        self.addCleanup(receiver.close)
        sender.send("work", {"n": 1})
        # The second receive does not look before it waits (the first saw
        # nothing more): only the poke of the send in between can wake it.
        with mock.patch("channels_test.layers.sqlite.layer._BACKUP_POLL", 60):
            self.assertEqual(receiver.receive(["work"], block=True), ("work", {"n": 1}))
            later = threading.Timer(0.05, sender.send, ("work", {"n": 2}))
            later.start()
            self.addCleanup(later.join, 10)
            self.assertEqual(receiver.receive(["work"], block=True), ("work", {"n": 2}))

    def test_a_receive_after_one_that_left_messages_waiting_looks_first(self):
        path = self.make_path()
        receiver = SQLiteChannelLayer(path=path, blocking_timeout=10)
        sender = SQLiteChannelLayer(path=path)
        self.addCleanup(receiver.close)
        for number in (1, 2):
            sender.send("work", {"n": number})
        with mock.patch("channels_test.layers.sqlite.layer._BACKUP_POLL", 60):
            self.assertEqual(receiver.receive(["work"], block=True), ("work", {"n": 1}))
            self.assertEqual(receiver.receive(["work"], block=True), ("work", {"n": 2}))


class NeverWaitingTests(LayerFileMixin, SimpleTestCase):
    """What an event loop calls: watch, try_receive, try_send_encoded."""

    def setUp(self):
        self.path = self.make_path()
        self.loop_side = SQLiteChannelLayer(path=self.path)
        self.other = SQLiteChannelLayer(path=self.path)
        self.addCleanup(self.loop_side.close)
        self.addCleanup(self.other.close)

    def hold_the_lock(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        self.addCleanup(connection.close)
        return connection

    def test_the_watched_socket_turns_readable_when_a_message_comes(self):
        wake_socket = self.loop_side.watch(["replies!"])
        self.assertEqual(self.loop_side.try_receive(["replies!"]), ([], False))
        self.other.send("replies!one", {"n": 1})
        self.assertEqual(select.select([wake_socket], [], [], 10)[0], [wake_socket])
        self.assertEqual(self.loop_side.try_receive(["replies!"]), ([("replies!one", {"n": 1})], False))
        self.assertEqual(select.select([wake_socket], [], [], 0)[0], [], "the poke was not swallowed")

    def test_try_receive_takes_a_batch_and_says_when_more_wait(self):
        for number in range(TRY_RECEIVE_LIMIT + 2):
            self.other.send("batch", {"n": number})
        messages, more = self.loop_side.try_receive(["batch"])
        self.assertEqual([message["n"] for _, message in messages], list(range(TRY_RECEIVE_LIMIT)))
        self.assertTrue(more)
        messages, more = self.loop_side.try_receive(["batch"])
        self.assertEqual([message["n"] for _, message in messages], [TRY_RECEIVE_LIMIT, TRY_RECEIVE_LIMIT + 1])
        self.assertFalse(more)

    def test_a_locked_file_answers_none_and_keeps_every_message(self):
        self.other.send("waiting", {"n": 1})
        data = self.loop_side.encode_for_later({"n": 2})
        lock = self.hold_the_lock()
        self.assertIsNone(self.loop_side.try_receive(["waiting"]))
        self.assertFalse(self.loop_side.try_send_encoded("waiting", data))
        lock.execute("COMMIT")
        self.assertTrue(self.loop_side.try_send_encoded("waiting", data))
        self.assertEqual(
            self.loop_side.try_receive(["waiting"]), ([("waiting", {"n": 1}), ("waiting", {"n": 2})], False)
        )

    def test_try_send_encoded_checks_the_channel_and_the_capacity(self):
        layer = SQLiteChannelLayer(path=self.path, capacity=1)
        self.addCleanup(layer.close)
        data = layer.encode_for_later({"n": 1})
        with self.assertRaises(ValueError):
            layer.try_send_encoded("replies!", data)
        self.assertTrue(layer.try_send_encoded("one", data))
        with self.assertRaises(ChannelFull):
            layer.try_send_encoded("one", data)

    def test_a_never_waiting_connection_leaves_checkpoints_to_the_others(self):
        self.loop_side.try_send_encoded("c", self.loop_side.encode_for_later({}))
        connection = self.loop_side._connection()
        self.assertEqual(connection.execute("PRAGMA wal_autocheckpoint").fetchone(), (0,))
        self.assertNotEqual(self.other._connection().execute("PRAGMA wal_autocheckpoint").fetchone(), (0,))

    def test_a_poked_try_receive_takes_a_batch_too(self):
        self.loop_side.watch(["batch"])
        for number in range(TRY_RECEIVE_LIMIT + 2):
            self.other.send("batch", {"n": number})  # each send pokes the watched socket
        messages, more = self.loop_side.try_receive(["batch"])
        self.assertEqual([message["n"] for _, message in messages], list(range(TRY_RECEIVE_LIMIT)))
        self.assertTrue(more)
        self.assertEqual(len(self.loop_side.try_receive(["batch"])[0]), 2)


class DirectDeliveryTests(LayerFileMixin, SimpleTestCase):
    """A message for a process-local channel an event loop watches travels in the datagram."""

    def setUp(self):
        from .test_layers import FakeClock

        self.clock = FakeClock()
        self.path = self.make_path()
        self.loop_side = self.layer()
        self.sender = self.layer()

    def layer(self, **config) -> SQLiteChannelLayer:
        config.setdefault("capacity", 1000)
        layer = SQLiteChannelLayer(path=self.path, clock=self.clock, **config)
        self.addCleanup(layer.close)
        return layer

    def stored(self) -> list:
        """Return the channels of the messages in the file, oldest first."""
        connection = sqlite3.connect(self.path)
        self.addCleanup(connection.close)
        return [channel for (channel,) in connection.execute("SELECT channel FROM channels_test_messages ORDER BY id")]

    def take_all(self, layer: SQLiteChannelLayer, names: list, expected: int) -> list:
        """Call try_receive until ``expected`` messages came (10 s at most); return their ``n``."""
        received: list = []
        deadline = time.monotonic() + 10
        while len(received) < expected and time.monotonic() < deadline:
            found = layer.try_receive(names)
            if found is not None:
                received += [message["n"] for _, message in found[0]]
        return received

    def test_a_message_for_a_watched_channel_is_not_stored(self):
        wake_socket = self.loop_side.watch(["replies!"])
        self.assertEqual(self.loop_side.try_receive(["replies!"]), ([], False))
        self.sender.send("replies!one", {"n": 1})
        self.sender.send_encoded("replies!two", self.sender.encode_for_later({"n": 2}))
        self.assertTrue(self.sender.try_send_encoded("replies!one", self.sender.encode_for_later({"n": 3})))
        self.assertEqual(self.stored(), [])
        self.assertEqual(select.select([wake_socket], [], [], 10)[0], [wake_socket])
        self.assertEqual(
            self.loop_side.try_receive(["replies!"]),
            ([("replies!one", {"n": 1}), ("replies!two", {"n": 2}), ("replies!one", {"n": 3})], False),
        )
        self.assertEqual(select.select([wake_socket], [], [], 0)[0], [], "a datagram was left unread")

    def test_messages_reach_a_watching_process_in_order(self):
        results, ready = SPAWN.Queue(), SPAWN.Queue()
        child = self.start(watch_and_collect, self.path, 200, ready, results)
        ready.get(timeout=60)
        sender = SQLiteChannelLayer(path=self.path, capacity=1000)  # the real clock: the child's
        self.addCleanup(sender.close)
        for number in range(200):
            sender.send(f"replies!{'ab'[number % 2]}", {"n": number})
        received = results.get(timeout=60)
        self.assertEqual(sorted(received), list(range(200)), "messages lost or duplicated")
        # In order on each channel (across the two, a stored one may come after later direct ones).
        self.assertEqual([n for n in received if n % 2 == 0], list(range(0, 200, 2)))
        self.assertEqual([n for n in received if n % 2 == 1], list(range(1, 200, 2)))
        self.join_all([child])

    def test_nothing_watching_stores_the_message(self):
        self.sender.send("replies!one", {"n": 1})
        self.assertEqual(self.stored(), ["replies!one"])
        self.assertEqual(self.loop_side.receive(["replies!"]), ("replies!one", {"n": 1}))

    def test_a_blocking_receiver_gets_messages_through_the_file(self):
        receiving = threading.Thread(target=lambda: found.put(self.loop_side.receive(["replies!"], block=True)))
        found: queue.Queue = queue.Queue()
        self.loop_side.blocking_timeout = 10
        receiving.start()
        self.addCleanup(receiving.join, 10)
        directory = os.path.join(self.path + ".wake", key_directory("replies!"))
        deadline = time.monotonic() + 10
        while not (os.path.isdir(directory) and os.listdir(directory)):
            self.assertLess(time.monotonic(), deadline, "the blocking receive linked no socket")
            time.sleep(0.01)
        self.sender.send("replies!one", {"n": 1})
        self.assertEqual(found.get(timeout=10), ("replies!one", {"n": 1}))

    def test_once_a_channel_fell_back_to_the_file_its_later_messages_follow(self):
        self.sender.send("replies!one", {"n": 1})  # nobody watches: stored
        self.loop_side.watch(["replies!"])
        self.sender.send("replies!one", {"n": 2})
        self.sender.send("replies!other", {"n": 3})  # another channel goes directly
        self.assertEqual(self.stored(), ["replies!one", "replies!one"])
        self.assertEqual(self.take_all(self.loop_side, ["replies!"], 3), [3, 1, 2])
        self.clock.advance(self.sender.expiry + 1)  # the stored ones have expired: directly again
        self.sender.send("replies!one", {"n": 4})
        self.assertEqual(self.stored(), [])
        self.assertEqual(self.take_all(self.loop_side, ["replies!"], 1), [4])

    def test_a_message_too_large_for_a_datagram_is_stored_and_not_overtaken(self):
        self.loop_side.watch(["replies!"])
        self.sender.send("replies!one", {"n": 1})
        self.sender.send("replies!one", {"n": 2, "body": b"x" * DATAGRAM_LIMIT})
        self.sender.send("replies!one", {"n": 3})
        self.assertEqual(self.stored(), ["replies!one", "replies!one"])
        self.assertEqual(self.take_all(self.loop_side, ["replies!"], 3), [1, 2, 3])

    def test_a_full_queue_falls_back_to_the_file_in_order(self):
        self.loop_side.watch(["replies!"])
        for number in range(300):
            self.sender.send("replies!one", {"n": number, "padding": "x" * 1000})
        self.assertGreater(len(self.stored()), 0, "the socket queued 300 datagrams of 1 kB")
        self.assertEqual(self.take_all(self.loop_side, ["replies!"], 300), list(range(300)))
        self.assertEqual(self.stored(), [])

    def test_a_poke_a_full_queue_dropped_is_not_missed(self):
        wake_socket = self.loop_side.watch(["replies!"])
        sent = 0
        while not self.stored():  # direct until the queue is full; the next is stored, its poke dropped
            self.sender.send("replies!one", {"n": sent})
            sent += 1
        self.assertEqual(select.select([wake_socket], [], [], 10)[0], [wake_socket])
        received: list = []
        more = True
        while more:  # as the event loop calls it: until it says no more wait
            messages, more = self.loop_side.try_receive(["replies!"])
            received += [message["n"] for _, message in messages]
        self.assertEqual(received, list(range(sent)))

    def test_the_file_keeps_the_capacity_when_the_queue_is_full(self):
        loop_side, sender = self.layer(), self.layer(capacity=5)
        loop_side.watch(["small!"])
        sent = 0
        with self.assertRaises(ChannelFull):
            for number in range(1000):
                sender.send("small!one", {"n": number})
                sent += 1
        self.assertEqual(len(self.stored()), 5)
        self.assertEqual(self.take_all(loop_side, ["small!"], sent), list(range(sent)))

    def test_a_dead_receiver_is_removed_and_the_message_stored(self):
        ready = SPAWN.Queue()
        child = self.start(watch_forever, self.path, ready)
        ready.get(timeout=60)
        os.kill(child.pid, signal.SIGKILL)
        child.join(10)
        self.sender.send("replies!one", {"n": 1})
        self.assertEqual(self.stored(), ["replies!one"])
        self.assertEqual(os.listdir(self.path + ".wake"), [], "the dead receiver's socket is left")

    def test_two_sockets_on_a_channel_get_no_message(self):
        self.loop_side.watch(["replies!"])
        other = self.layer()
        watching = threading.Thread(target=other.watch, args=(["replies!"],))
        watching.start()
        watching.join(10)
        self.sender.send("replies!one", {"n": 1})
        self.assertEqual(self.stored(), ["replies!one"])

    def test_a_shared_wake_directory_gets_no_message(self):
        self.loop_side.watch(["replies!"])
        os.chmod(self.path + ".wake", 0o755)
        self.sender.send("replies!one", {"n": 1})
        self.assertEqual(self.stored(), ["replies!one"])

    def test_a_group_send_is_stored_and_not_overtaken(self):
        self.loop_side.watch(["replies!"])
        self.sender.group_add("room", "replies!one")
        self.sender.send_group("room", {"n": 1})
        self.sender.send("replies!one", {"n": 2})
        self.assertEqual(self.stored(), ["replies!one", "replies!one"])
        self.assertEqual(self.take_all(self.loop_side, ["replies!"], 2), [1, 2])

    def test_a_malformed_datagram_is_logged_and_dropped(self):
        wake_socket = self.loop_side.watch(["replies!"])
        self.sender.send("replies!one", {"n": 1})
        writer = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(writer.close)
        for garbage in (b"?", MESSAGE, MESSAGE + b"\0" * 8 + b"\x50replies!", MESSAGE + b"\0" * 8 + b"\x01x"):
            writer.sendto(garbage, wake_socket.getsockname())
        self.sender.send("replies!one", {"n": 2})
        with self.assertLogs("channels_test.layers.sqlite", "ERROR") as logs:
            self.assertEqual(self.take_all(self.loop_side, ["replies!"], 2), [1, 2])
        self.assertEqual(len(logs.output), 4)
        self.assertIn("not a message", logs.output[0])

    def test_a_damaged_message_in_a_datagram_is_logged_and_skipped(self):
        wake_socket = self.loop_side.watch(["replies!"])
        writer = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(writer.close)
        writer.sendto(encode_datagram("replies!one", self.clock() + 60, b"\xc1damaged"), wake_socket.getsockname())
        self.sender.send("replies!one", {"n": 2})
        with self.assertLogs("channels_test.layers.sqlite", "ERROR"):
            self.assertEqual(self.take_all(self.loop_side, ["replies!"], 1), [2])

    def test_a_message_nobody_asks_for_waits_then_expires(self):
        self.loop_side.watch(["a!", "b!"])
        self.sender.send("a!one", {"n": 1})
        self.sender.send("b!one", {"n": 2})
        self.assertEqual(self.take_all(self.loop_side, ["a!", "b!"][:1], 1), [1])
        self.assertEqual(self.stored(), [])
        self.assertEqual(self.loop_side.receive(["b!"]), ("b!one", {"n": 2}), "held in the inbox")
        self.sender.send("b!one", {"n": 3})
        self.assertEqual(self.loop_side.try_receive(["a!"]), ([], False))  # reads the datagram, keeps it
        self.clock.advance(self.sender.expiry + 1)
        self.assertEqual(self.loop_side.receive(["b!"]), (None, None))

    def test_flush_empties_the_inbox_and_the_socket(self):
        self.loop_side.watch(["a!", "b!"])
        self.sender.send("a!one", {"n": 1})
        self.assertEqual(self.loop_side.try_receive(["b!"]), ([], False))  # a!one is in the inbox now
        self.sender.send("a!one", {"n": 2})  # and this one in the socket
        self.loop_side.flush()
        self.assertEqual(self.loop_side.try_receive(["a!", "b!"]), ([], False))

    def test_unwatch_keeps_what_came_for_the_next_receive(self):
        wake_socket = self.loop_side.watch(["replies!"])
        self.sender.send("replies!one", {"n": 1})
        self.loop_side.unwatch(wake_socket)
        self.sender.send("replies!one", {"n": 2})
        self.assertEqual(self.stored(), ["replies!one"])
        self.loop_side.blocking_timeout = 10
        found: queue.Queue = queue.Queue()
        for _ in range(2):
            receiving = threading.Thread(target=lambda: found.put(self.loop_side.receive(["replies!"], block=True)))
            receiving.start()
            receiving.join(10)
        self.assertEqual(
            [found.get(timeout=1) for _ in range(2)], [("replies!one", {"n": 1}), ("replies!one", {"n": 2})]
        )

    def test_closing_the_watching_thread_keeps_what_came(self):
        self.loop_side.watch(["replies!"])
        self.sender.send("replies!one", {"n": 1})
        self.loop_side.close()
        self.assertEqual(self.loop_side.receive(["replies!"]), ("replies!one", {"n": 1}))


class HandOffTests(LayerFileMixin, SimpleTestCase):
    """A worker idle in a blocking receive may be handed its next message in the datagram."""

    def setUp(self):
        self.path = self.make_path()
        self.worker_side = self.layer(blocking_timeout=0.05)
        self.sender = self.layer()

    def layer(self, **config) -> SQLiteChannelLayer:
        layer = SQLiteChannelLayer(path=self.path, **config)
        self.addCleanup(layer.close)
        return layer

    def inserted(self) -> int:
        """Return how many messages were ever stored in the file (ids are never given twice)."""
        connection = sqlite3.connect(self.path)
        self.addCleanup(connection.close)
        row = connection.execute("SELECT seq FROM sqlite_sequence WHERE name = 'channels_test_messages'").fetchone()
        return 0 if row is None else row[0]

    def offers(self) -> list:
        directory = os.path.join(self.path + ".wake", OFFERS)
        return os.listdir(directory) if os.path.isdir(directory) else []

    def offering(self) -> contextlib.ExitStack:
        """Enter take_hand_offs() on the worker side and wait once, leaving its offer up."""
        stack = contextlib.ExitStack()
        self.addCleanup(stack.close)
        stack.enter_context(self.worker_side.take_hand_offs())
        self.assertEqual(self.worker_side.receive(["work"], block=True), (None, None))
        self.assertEqual(len(self.offers()), 1, "the idle receive made no offer")
        return stack

    def sending_during(self, owner: type, name: str, *messages: dict) -> contextlib.AbstractContextManager:
        """Patch ``owner.name`` so that its first call sends ``messages`` to "work" first, then runs as usual."""
        original = getattr(owner, name)
        sent: list = []

        def sends_first(*args, **kwargs):
            if not sent:
                sent.append(True)
                for message in messages:
                    self.sender.send("work", message)
            return original(*args, **kwargs)

        return mock.patch.object(owner, name, autospec=True, side_effect=sends_first)

    def test_a_message_is_handed_to_an_idle_worker_without_the_file(self):
        self.offering()
        self.sender.send("work", {"n": 1})
        self.assertEqual(self.offers(), [], "the send did not claim the offer")
        self.assertEqual(self.inserted(), 0)
        self.assertEqual(self.worker_side.receive(["work"], block=True), ("work", {"n": 1}))

    def test_a_worker_busy_with_a_message_gets_the_next_through_the_file(self):
        self.offering()
        self.sender.send("work", {"n": 1})  # claims the offer
        self.sender.send("work", {"n": 2})
        self.assertEqual(self.inserted(), 1)
        self.assertEqual(self.worker_side.receive(["work"], block=True), ("work", {"n": 1}))
        self.assertEqual(self.worker_side.receive(["work"], block=True), ("work", {"n": 2}))

    def test_a_receive_outside_take_hand_offs_makes_no_offer(self):
        self.assertEqual(self.worker_side.receive(["work"], block=True), (None, None))
        self.assertEqual(self.offers(), [])
        self.sender.send("work", {"n": 1})
        self.assertEqual(self.inserted(), 1)
        self.assertEqual(self.worker_side.receive(["work"], block=True), ("work", {"n": 1}))

    def test_a_message_stored_while_one_was_handed_over_is_looked_for_first_thing(self):
        self.offering()
        self.sender.send("work", {"n": 1})  # handed over
        self.sender.send("work", {"n": 2})  # stored: its poke is read with the hand-off
        self.assertEqual(self.worker_side.receive(["work"], block=True), ("work", {"n": 1}))
        with mock.patch.object(WakeDirectory, "wait", side_effect=AssertionError("waited for a poke read already")):
            self.assertEqual(self.worker_side.receive(["work"], block=True), ("work", {"n": 2}))

    def test_a_message_its_sender_stored_before_comes_first(self):
        self.offering()
        self.sender.send("work", {"n": 1, "body": b"x" * DATAGRAM_LIMIT})  # too large: stored
        self.sender.send("work", {"n": 2})  # handed over, after the stored one
        self.assertEqual(self.inserted(), 1)
        self.assertEqual(self.worker_side.receive(["work"], block=True)[1]["n"], 1)
        self.assertEqual(self.worker_side.receive(["work"], block=True), ("work", {"n": 2}))

    def test_a_message_its_sender_stored_by_a_group_send_before_comes_first(self):
        self.sender.group_add("everyone", "work")
        self.offering()
        self.sender.send_group("everyone", {"n": 1})  # stored: a group send pokes, hands nothing over
        self.sender.send("work", {"n": 2})
        self.assertEqual(self.inserted(), 1)
        self.assertEqual(self.worker_side.receive(["work"], block=True), ("work", {"n": 1}))
        self.assertEqual(self.worker_side.receive(["work"], block=True), ("work", {"n": 2}))

    def test_a_message_handed_over_while_the_worker_was_busy_comes_before_its_senders_later_ones(self):
        self.offering()
        large = b"x" * DATAGRAM_LIMIT
        for number in (1, 2):
            self.sender.send("work", {"n": number, "body": large})  # stored
        # While it withdraws its offer after taking the first: the third claims it, the fourth is stored.
        with self.sending_during(WakeDirectory, "withdraw", {"n": 3}, {"n": 4}):
            self.assertEqual(self.worker_side.receive(["work"], block=True)[1]["n"], 1)
        self.assertEqual(self.inserted(), 3, "the third message was not handed over")
        received = [self.worker_side.receive(["work"], block=True)[1]["n"] for _ in range(3)]
        self.assertEqual(received, [2, 3, 4])

    def test_a_message_handed_over_while_the_worker_was_busy_is_taken_without_waiting(self):
        self.offering()
        self.sender.send("work", {"n": 1, "body": b"x" * DATAGRAM_LIMIT})  # stored
        with self.sending_during(WakeDirectory, "withdraw", {"n": 2}):  # claims the offer still up
            self.assertEqual(self.worker_side.receive(["work"], block=True)[1]["n"], 1)
        self.assertEqual(self.worker_side.receive(["work"]), ("work", {"n": 2}))

    def test_a_message_handed_over_while_the_worker_takes_from_the_file_comes_before_its_senders_next(self):
        from channels_test.layers.sqlite.take import Take

        self.offering()
        # The first claims the offer still up; the second is stored, and found by that very take.
        with self.sending_during(Take, "run", {"n": 1}, {"n": 2}):
            self.assertEqual(self.worker_side.receive(["work"], block=True), ("work", {"n": 1}))
        self.assertEqual(self.inserted(), 1)
        self.assertEqual(self.worker_side.receive(["work"], block=True), ("work", {"n": 2}))

    def test_a_message_its_sender_stored_before_the_one_handed_over_meanwhile_comes_first(self):
        from channels_test.layers.sqlite.take import Take

        self.offering()
        # The first is stored, and found by the take; the second is handed over after it.
        with self.sending_during(Take, "run", {"n": 1, "body": b"x" * DATAGRAM_LIMIT}, {"n": 2}):
            self.assertEqual(self.worker_side.receive(["work"], block=True)[1]["n"], 1)
        self.assertEqual(self.worker_side.receive(["work"], block=True), ("work", {"n": 2}))

    def test_messages_handed_over_and_not_taken_are_stored_when_the_worker_stops(self):
        stack = self.offering()
        self.sender.send("work", {"n": 1})
        self.assertEqual(self.inserted(), 0)
        stack.close()
        self.assertEqual(self.offers(), [])
        self.assertEqual(self.sender.receive(["work"]), ("work", {"n": 1}))

    def test_a_worker_stopping_waits_for_the_message_of_a_claimed_offer(self):
        stack = self.offering()
        # A sender has claimed the offer and sends a moment later.
        os.unlink(os.path.join(self.path + ".wake", OFFERS, self.offers()[0]))
        later = threading.Timer(0.2, self.sender.send, ("work", {"n": 1}))
        later.start()
        self.addCleanup(later.join, 10)
        stack.close()
        self.assertEqual(self.inserted(), 1, "the message was not stored for another receiver")
        self.assertEqual(self.sender.receive(["work"]), ("work", {"n": 1}))

    def test_closing_the_layer_stores_what_was_handed_over(self):
        self.offering()
        self.sender.send("work", {"n": 1})
        self.worker_side.close()
        self.assertEqual(self.sender.receive(["work"]), ("work", {"n": 1}))

    def test_the_offer_of_a_killed_worker_gets_no_message(self):
        ready = SPAWN.Queue()
        child = self.start(offer_and_wait, self.path, ready)
        ready.get(timeout=60)
        self.assertEqual(len(self.offers()), 1)
        os.kill(child.pid, signal.SIGKILL)
        child.join(10)
        self.sender.send("work", {"n": 1})  # claims the dead one's offer, finds it dead, stores
        self.assertEqual(self.inserted(), 1)
        self.assertEqual(self.sender.receive(["work"]), ("work", {"n": 1}))
        self.assertEqual(os.listdir(self.path + ".wake"), [OFFERS], "the dead one's socket was left")

    def test_an_event_loop_watching_a_channel_is_handed_nothing(self):
        self.worker_side.watch(["work"])
        self.assertEqual(self.worker_side.try_receive(["work"]), ([], False))
        self.sender.send("work", {"n": 1})
        self.assertEqual(self.inserted(), 1)

    def test_a_worker_takes_hand_offs(self):
        from channels_test.asgi import ChannelLayerWrapper
        from channels_test.routing import route
        from channels_test.worker import Worker

        done: queue.Queue = queue.Queue()
        wrapper = ChannelLayerWrapper(
            self.worker_side, "default", [route("work", lambda message: done.put(message["n"]))]
        )
        worker = Worker(wrapper, signal_handlers=False)
        thread = threading.Thread(target=worker.run)
        thread.start()
        self.addCleanup(thread.join, 10)
        self.addCleanup(worker.stop)
        deadline = time.monotonic() + 10
        while not self.offers():
            self.assertLess(time.monotonic(), deadline, "the worker made no offer")
            time.sleep(0.01)
        self.sender.send("work", {"n": 1})
        self.assertEqual(done.get(timeout=10), 1)
        self.assertEqual(self.inserted(), 0)
        worker.stop()
        thread.join(10)
        self.assertEqual(self.offers(), [], "the worker left its offer up")
