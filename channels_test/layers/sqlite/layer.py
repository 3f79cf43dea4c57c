"""A channel layer in one SQLite file: the embedded cross-process default.

Daphne, the workers and a test process on one machine share a layer through
a file, with no server to run.
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import tempfile
import threading
import time
import weakref
from collections.abc import Iterable

from .._local import ForkSafeLocal
from ..base import BaseChannelLayer, ChannelFull
from .connection import RetryingConnection, open_connection
from .files import create_private_file, make_files_private
from .take import Take
from .wake import WakeDirectory, WakeSockets, drain

__all__ = ["SQLiteChannelLayer"]

logger = logging.getLogger(__package__)

# One statement, so one transaction and one round of locks: the message goes
# in only while the channel holds fewer than its capacity (the last parameter).
# Process-local channels (prefix!suffix) share their prefix's capacity.
_SEND = """
INSERT INTO channels_test_messages (prefix, channel, local, expires, data)
SELECT ?, ?, ?, ?, ? WHERE (
    SELECT COUNT(*) FROM channels_test_messages WHERE prefix = ? AND channel = ? AND expires > ?
) < ?
"""
_SEND_LOCAL = _SEND.replace("AND channel = ?", "AND local = ?")
# One statement: members below their capacity get the message, full ones miss it.
_SEND_GROUP = """
INSERT INTO channels_test_messages (prefix, channel, local, expires, data)
SELECT g.prefix, g.channel, g.local, ?, ? FROM channels_test_groups AS g
WHERE g.prefix = ? AND g.grp = ? AND g.expires > ?
  AND (SELECT COUNT(*) FROM channels_test_messages AS m
       WHERE m.prefix = g.prefix AND m.channel = g.channel AND m.expires > ?) < g.capacity
"""

# Connections opened before a fork, kept so the child never closes (and
# checkpoints) what its parent still uses.
_INHERITED: list = []

# Messages one try_receive takes at most, so that it holds an event loop only briefly.
TRY_RECEIVE_LIMIT = 16

# Sleeps between polls of ``PRAGMA data_version`` while blocking.
_FAST_POLL = 0.001
_SLOW_POLL = 0.025
_ACTIVE_WINDOW = 2.0
# With wake-up sockets, a blocked receiver still looks this often, in case a poke is lost.
_BACKUP_POLL = 0.1


def default_path(prefix: str) -> str:
    """Return the file a layer with ``prefix`` uses when no ``path`` is given."""
    return os.path.join(tempfile.gettempdir(), f"channels_test-{prefix}.sqlite3")


class SQLiteChannelLayer(BaseChannelLayer):
    """A channel layer stored in a SQLite file, shared by every process that opens it.

    Settings, besides the base ones (all keyword-only):

    ``path``
        The database file (default: ``channels_test-<prefix>.sqlite3`` in the
        temp directory; a default file owned by another user is refused).
        It and its ``-wal`` and ``-shm`` files are created with mode 0600
        whatever the umask, since messages carry cookies; an existing one
        that others may read is narrowed to its owner (logged as a warning),
        or refused if that cannot be done. A damaged file, or one that is
        not a SQLite database, raises an error naming it.
    ``blocking_timeout``
        Seconds ``receive(..., block=True)`` waits before ``(None, None)``
        (default 1).

    The file runs in WAL mode (a statement finding it locked retries for up
    to 30 s); each thread of each
    process has its own connection (a forked child opens new ones). A receive
    finds the oldest matching message with a read and deletes it by id in a
    ``DELETE ... RETURNING`` statement, a transaction of its own: each
    message reaches exactly one receiver, a receiver that dies before the
    commit leaves it in place, and a receive that finds nothing never takes
    the write lock. A send counts the channel's messages and inserts in one
    statement, so capacity holds under concurrency.

    Waking up: each thread that blocks in ``receive`` binds a Unix datagram
    socket in ``<path>.wake/`` (a directory only its owner may enter) and
    links it under each channel it waits on; a send pokes the sockets
    linked under its channel after its commit (a group send, all of them),
    and a socket whose process died is removed by the next send that pokes
    it. A woken receiver looks for a message; it also looks every 0.1 s
    without a poke, in case one is lost. So a message from another process
    arrives within a fraction of a millisecond, an idle receiver costs next
    to nothing, and sends to other channels do not wake it. Where such
    sockets cannot be used (no Unix sockets, too long a path, a shared
    directory) the receiver polls ``PRAGMA data_version`` (which changes
    when another connection commits, at no disk cost) instead: every 1 ms
    for two seconds after the layer was last busy, backing off to every
    25 ms.

    For an event loop, which must not block: :meth:`try_send_encoded` and
    :meth:`try_receive` send and receive without waiting for the lock (they
    say so instead), and :meth:`watch` gives a socket to wait on in the loop.
    """

    logger = logger

    def __init__(self, *, path: str | None = None, blocking_timeout: float = 1.0, **config):
        super().__init__(**config)
        if not isinstance(blocking_timeout, (int, float)) or blocking_timeout < 0:
            raise ValueError(f"blocking_timeout must be a number of seconds >= 0, not {blocking_timeout!r}.")
        if path is None:
            path = default_path(self.prefix)
            create_private_file(path)
        elif not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a str or path-like, not {type(path).__name__}: {path!r}")
        self.path = os.fspath(path)
        make_files_private(self.path)
        self.blocking_timeout = blocking_timeout
        self._threads: ForkSafeLocal[_ThreadState] = ForkSafeLocal(
            self._new_state, inherited=_INHERITED.append
        )  # the parent's: never close it here
        self._opened: list = []  # (weakref to thread, _ThreadState)
        self._wake = WakeDirectory(self.path + ".wake")
        self._opened_lock = threading.Lock()
        self._pid = os.getpid()
        self._last_activity = 0.0
        self._next_sweep = 0.0
        self._take_cache: tuple | None = None  # (channels, Take) of the last receive
        # Close what this layer opened when it is garbage collected (not at
        # exit, when daemon threads may still be using their connections).
        weakref.finalize(self, _close_states, self._opened).atexit = False
        self._connection()  # create the schema now, so errors show at startup

    def __repr__(self) -> str:
        return f"<{type(self).__name__} prefix={self.prefix!r} path={self.path!r}>"

    # -- connections --------------------------------------------------------

    def _state(self) -> _ThreadState:
        """Return this thread's connection and wake-up socket, opening them (again after a fork)."""
        return self._threads.get()

    def _new_state(self) -> _ThreadState:
        if self._pid != os.getpid():
            # A fork may have copied the lock while another thread held it.
            self._opened_lock, self._pid = threading.Lock(), os.getpid()
        state = _ThreadState(open_connection(self.path))
        with self._opened_lock:
            self._close_orphans()
            self._opened.append((weakref.ref(threading.current_thread()), state))
        return state

    def _connection(self) -> RetryingConnection:
        return self._state().connection

    def _close_orphans(self) -> None:
        """Close what threads that have ended opened; forget what a parent process opened."""
        kept = []
        for thread, state in self._opened:
            alive = thread()
            if state.pid != os.getpid():
                _INHERITED.append(state)
            elif alive is None or not alive.is_alive():
                state.close()
            else:
                kept.append((thread, state))
        self._opened[:] = kept

    def close(self) -> None:
        """Close this thread's connection and those of threads that have ended.

        Threads still running keep theirs; the layer stays usable (a later
        call opens a new connection).
        """
        with self._opened_lock:
            state = self._threads.forget()
            if state is not None:
                self._opened[:] = [entry for entry in self._opened if entry[1] is not state]
                state.close()
            self._close_orphans()

    # -- sending ------------------------------------------------------------

    def try_send_encoded(self, channel: str, data: bytes) -> bool:
        """Send like :meth:`send_encoded` if that needs no waiting; return False, having sent nothing, if not.

        For a caller that must not block, such as an event loop: sending
        waits only while another connection holds the file's write lock
        (then this returns False, and the caller sends from a thread), and
        when a commit checkpoints the file, which this thread's connection
        leaves to the others. Raises what ``send_encoded`` raises.
        """
        if type(channel) is not str or channel not in self._sendable:
            self._check_sendable(channel)
        self._never_waiting_state()
        return self._insert(channel, data, wait=False)

    def _send(self, channel: str, data: bytes) -> None:
        self._insert(channel, data, wait=True)

    def _insert(self, channel: str, data: bytes, *, wait: bool) -> bool:
        """Store one message and wake its receivers; False if ``wait`` is off and the file is locked."""
        local = self._local_part(channel)
        counted = local or channel
        capacity = self.get_capacity(counted)
        connection = self._connection()
        now = self.clock()
        execute = connection.execute if wait else connection.execute_unless_locked
        cursor = execute(
            _SEND_LOCAL if local else _SEND,
            (self.prefix, channel, local, now + self.expiry, data, self.prefix, counted, now, capacity),
        )
        if cursor is None:
            return False  # locked, and not waiting
        if not cursor.rowcount:
            raise ChannelFull(
                f"Channel {counted!r} holds {capacity} messages, its capacity; retry later, "
                "or raise 'capacity'/'channel_capacity' in the layer CONFIG."
            )
        self._wake.poke(self._state().sockets, counted)
        if wait and now > self._next_sweep:
            self._sweep(connection, now)
        return True

    def _send_group(self, group: str, data: bytes) -> None:
        now = self.clock()
        self._connection().execute(_SEND_GROUP, (now + self.expiry, data, self.prefix, group, now, now))
        self._wake.poke_all(self._state().sockets)

    # -- receiving ----------------------------------------------------------

    def watch(self, channels: Iterable[str]) -> socket.socket | None:
        """Return a socket that turns readable when a message may have come for ``channels``.

        For a receiver that waits in an event loop instead of in
        ``receive(block=True)``: call :meth:`try_receive` once now, and again
        each time the socket is readable, until it says no more wait. The socket
        is the calling thread's; make both calls from that thread. Returns
        None where this layer cannot wake receivers (see the class
        docstring): receive in a thread then.
        """
        names = self._receive_names(channels)
        return self._wake.listen(self._state().sockets, frozenset(names))

    def try_receive(self, channels: Iterable[str]) -> tuple[list, bool] | None:
        """Take the messages waiting on ``channels``, oldest first, never waiting for the lock.

        For an event loop (see :meth:`watch`, whose pokes this swallows
        first, so a message sent after it pokes the socket again). Returns
        ``(messages, more)``: up to ``TRY_RECEIVE_LIMIT`` ``(channel,
        message)`` pairs, and whether more were waiting (call again then);
        None, with nothing taken, if another connection holds the file's
        lock. Like :meth:`try_send_encoded`, it leaves checkpoints to other
        connections.
        """
        names = self._receive_names(channels)
        state = self._never_waiting_state()
        sockets = state.sockets
        sockets.caught_up = False  # pokes are swallowed here, not by a blocking receive
        poked = sockets.wake_socket is not None and drain(sockets.wake_socket)
        if not names:
            return [], False
        found = self._take_for(names).try_run(state.connection, self.clock(), TRY_RECEIVE_LIMIT, expected=poked)
        if found is None:
            return None
        rows, more = found
        if rows:
            self._last_activity = time.monotonic()
        decoded = [(channel, self.decode(channel, data)) for channel, data in rows]
        return [(channel, message) for channel, message in decoded if message is not None], more

    def _never_waiting_state(self) -> _ThreadState:
        """Return this thread's state, its connection set never to checkpoint (a checkpoint syncs to disk)."""
        state = self._state()
        if not state.never_waits:
            state.connection.execute("PRAGMA wal_autocheckpoint = 0")
            state.never_waits = True
        return state

    def _take_for(self, channels: tuple) -> Take:
        cached = self._take_cache
        if cached is not None and cached[0] is channels:
            return cached[1]
        take = Take(self.prefix, channels)
        self._take_cache = (channels, take)
        return take

    def _receive(self, channels: tuple, block: bool) -> tuple:
        state = self._state()
        take = self._take_for(channels)
        if not block:
            return self._take(state, take)
        sockets = state.sockets
        wake_socket = self._wake.listen(sockets, take.wanted)
        if wake_socket is None:
            return self._receive_polling(state, take)
        # Linked before looking: a send committed after the look pokes the
        # socket. If this thread's last look, linked as now, saw nothing more
        # waiting, whatever came since has poked it: no need to look first.
        found = (None, None) if sockets.caught_up else self._take(state, take)
        deadline = time.monotonic() + self.blocking_timeout
        while found[0] is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._wake.wait(wake_socket, min(_BACKUP_POLL, remaining))
            found = self._take(state, take)
        return found

    def _receive_polling(self, state: _ThreadState, take: Take) -> tuple:
        """Receive with no wake-up socket: look whenever ``PRAGMA data_version`` says another connection wrote."""
        connection = state.connection
        # Read the version before the first attempt: a send committed after it changes it.
        version = connection.execute("PRAGMA data_version").fetchone()[0]
        found = self._take(state, take)
        deadline = time.monotonic() + self.blocking_timeout
        while found[0] is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            time.sleep(min(self._poll_interval(), remaining))
            current = connection.execute("PRAGMA data_version").fetchone()[0]
            if current != version:
                version = current
                self._last_activity = time.monotonic()
                found = self._take(state, take)
        return found

    def _take(self, state: _ThreadState, take: Take) -> tuple:
        sockets = state.sockets
        while True:
            rows, more = take.run(state.connection, self.clock())
            # Caught up: nothing else waited on the keys the socket is linked under.
            sockets.caught_up = not more and sockets.keys == take.wanted
            if not rows:
                return None, None
            self._last_activity = time.monotonic()
            channel, data = rows[0]
            message = self.decode(channel, data)
            if message is not None:
                return channel, message

    def _poll_interval(self) -> float:
        idle = time.monotonic() - self._last_activity
        if idle < _ACTIVE_WINDOW:
            return _FAST_POLL
        # Double the sleep every 0.1 s of quiet, up to the slow poll.
        return min(_SLOW_POLL, _FAST_POLL * 2 ** min(10.0, (idle - _ACTIVE_WINDOW) * 10))

    # -- groups ---------------------------------------------------------------

    def group_add(self, group: str, channel: str) -> None:
        self._check_membership_args(group, channel)
        self._connection().execute(
            "INSERT OR REPLACE INTO channels_test_groups "
            "(prefix, grp, channel, local, capacity, expires) VALUES (?, ?, ?, ?, ?, ?)",
            (
                self.prefix,
                group,
                channel,
                self._local_part(channel),
                self.get_capacity(channel),
                self.clock() + self.group_expiry,
            ),
        )

    def group_discard(self, group: str, channel: str) -> None:
        self._check_membership_args(group, channel)
        self._connection().execute(
            "DELETE FROM channels_test_groups WHERE prefix = ? AND grp = ? AND channel = ?",
            (self.prefix, group, channel),
        )

    def group_channels(self, group: str) -> list[str]:
        self.validate_group_name(group)
        rows = (
            self._connection()
            .execute(
                "SELECT channel FROM channels_test_groups WHERE prefix = ? AND grp = ? AND expires > ? ORDER BY rowid",
                (self.prefix, group, self.clock()),
            )
            .fetchall()
        )
        return [channel for (channel,) in rows]

    # -- housekeeping -----------------------------------------------------------

    def flush(self) -> None:
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.execute("DELETE FROM channels_test_messages WHERE prefix = ?", (self.prefix,))
            connection.execute("DELETE FROM channels_test_groups WHERE prefix = ?", (self.prefix,))
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def message_counts(self) -> dict[str, int]:
        """Return ``{channel: number of unexpired messages}`` for non-empty channels."""
        rows = (
            self._connection()
            .execute(
                "SELECT channel, COUNT(*) FROM channels_test_messages "
                "WHERE prefix = ? AND expires > ? GROUP BY channel",
                (self.prefix, self.clock()),
            )
            .fetchall()
        )
        return dict(rows)

    def _channel_exists(self, channel: str) -> bool:
        row = (
            self._connection()
            .execute(
                "SELECT 1 FROM channels_test_messages WHERE prefix = ? AND channel = ? LIMIT 1",
                (self.prefix, channel),
            )
            .fetchone()
        )
        return row is not None

    def _sweep(self, connection: sqlite3.Connection, now: float) -> None:
        """Delete this layer's expired messages and memberships (every ``expiry`` seconds)."""
        self._next_sweep = now + min(self.expiry, 60)
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.execute(
                "DELETE FROM channels_test_messages WHERE prefix = ? AND expires <= ?",
                (self.prefix, now),
            )
            connection.execute(
                "DELETE FROM channels_test_groups WHERE prefix = ? AND expires <= ?",
                (self.prefix, now),
            )
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def _local_part(self, channel: str) -> str | None:
        index = channel.find("!")
        return None if index < 0 else channel[: index + 1]


class _ThreadState:
    """What one thread of one process opened: its connection and its wake-up sockets."""

    def __init__(self, connection: RetryingConnection):
        self.pid = os.getpid()
        self.connection = connection
        self.sockets = WakeSockets()
        self.never_waits = False  # set by try_send_encoded: no checkpoints on this connection

    def close(self) -> None:
        self.connection.close()
        self.sockets.close()


def _close_states(opened: list) -> None:
    """Close every thread state in ``opened`` made by this process."""
    for _, state in opened:
        if state.pid == os.getpid():
            state.close()
    opened.clear()
