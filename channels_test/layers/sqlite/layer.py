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
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from .._local import ForkSafeLocal
from ..base import BaseChannelLayer, ChannelFull
from .connection import RetryingConnection, open_connection
from .direct import (
    HandOff,
    Inbox,
    StoredChannels,
    StoredIds,
    encode_datagram,
    encode_hand_off,
    parse_datagram,
    parse_hand_off,
)
from .files import create_private_file, make_files_private
from .take import Take
from .wake import HAND_OFF, WakeDirectory, WakeSockets, drain

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
# The group's process-local members, which a group send marks as stored on (see StoredChannels).
_GROUP_LOCAL_MEMBERS = """
SELECT channel FROM channels_test_groups WHERE prefix = ? AND grp = ? AND local IS NOT NULL AND expires > ?
"""
# Whether a message of the channel up to a hand-off's bound may still wait (see StoredIds).
_STORED_UP_TO = """
SELECT 1 FROM channels_test_messages WHERE prefix = ? AND channel = ? AND id <= ? AND expires > ? LIMIT 1
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
# How long a worker that stops taking hand-offs waits for one a sender claimed its offer for.
_CLAIMED_HAND_OFF_WAIT = 1.0


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
    the write lock (but for one after a receive that found a message, which
    skips the read). A send counts the channel's messages and inserts in one
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
    A message for a process-local channel whose prefix such a loop watches
    travels in the datagram instead of the file (see ``direct``).

    For a worker: within :meth:`take_hand_offs`, a thread idle in a blocking
    receive offers to be handed its next message, which then travels in the
    datagram too (see ``wake``).
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
        self._inbox = Inbox()  # messages that came in datagrams (see direct.py)
        self._stored = StoredChannels()  # process-local channels this object stored messages on
        self._stored_ids = StoredIds()  # the last message this object stored on each other channel
        self._watched: dict[socket.socket, WakeSockets] = {}  # watch()'s sockets, for unwatch()
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
            # A fork may have copied the lock while another thread held it;
            # the inbox and the watched sockets are the parent's.
            self._opened_lock, self._pid = threading.Lock(), os.getpid()
            self._inbox, self._watched = Inbox(), {}
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
                self._close_state(state)
            else:
                kept.append((thread, state))
        self._opened[:] = kept

    def close(self) -> None:
        """Close this thread's connection and those of threads that have ended.

        Threads still running keep theirs; the layer stays usable (a later
        call opens a new connection).
        """
        state = self._threads.peek()
        if state is not None and (state.takes_hand_offs or state.handed):
            # Stored through this thread's connection, before it closes.
            state.takes_hand_offs = False
            self._release_hand_offs(state)
        with self._opened_lock:
            state = self._threads.forget()
            if state is not None:
                self._opened[:] = [entry for entry in self._opened if entry[1] is not state]
                self._close_state(state)
            self._close_orphans()

    def _close_state(self, state: _ThreadState) -> None:
        """Close a thread's state, first moving the messages its watched socket holds to the inbox."""
        self._stop_watching(state.watch_sockets)
        state.close()

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
        """Store one message and wake its receivers; False if ``wait`` is off and the file is locked.

        A message for a process-local channel goes in a datagram to the
        event loop watching it, where it can (see ``direct``); one for any
        other channel to a worker that offered to take one, where one did
        (see ``wake``). Neither is stored.
        """
        state = self._state()
        local = self._local_part(channel)
        now = self.clock()
        if local is not None:
            if self._send_direct(state, channel, local, data, now):
                return True
        elif self._hand_off(state, channel, data, now):
            return True
        counted = local or channel
        capacity = self.get_capacity(counted)
        connection = state.connection
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
        if local is not None:
            self._stored.add(channel, now + self.expiry, now)
        else:
            self._stored_ids.add(channel, cursor.lastrowid, now + self.expiry, now)
        self._wake.poke(state.sockets, counted)
        if wait and now > self._next_sweep:
            self._sweep(connection, now)
        return True

    def _send_direct(self, state: _ThreadState, channel: str, local: str, data: bytes, now: float) -> bool:
        """Send a message for a process-local channel in a datagram, if it can go that way; True if sent.

        Not if this object stored a message on the channel that may still
        wait (it would be overtaken: see ``StoredChannels``), nor if the
        datagram would be too large, nor where ``WakeDirectory.deliver``
        declines. The socket's queue is the back-pressure: when it is full,
        the message is stored, and the channel's capacity applies there.
        """
        if not self._wake.usable or self._stored.holds(channel, now):
            return False
        datagram = encode_datagram(channel, now + self.expiry, data)
        if datagram is None:
            return False
        return self._wake.deliver(state.sockets, local, datagram)

    def _hand_off(self, state: _ThreadState, channel: str, data: bytes, now: float) -> bool:
        """Hand a message to a worker that offered to take one, if one did and it fits a datagram; True if sent.

        The datagram carries this sender's bound (see ``StoredIds``).
        """
        if not self._wake.usable:
            return False
        datagram = encode_hand_off(channel, now + self.expiry, self._stored_ids.bound(channel, now), data)
        return datagram is not None and self._wake.hand_off(state.sockets, channel, datagram)

    def _send_group(self, group: str, data: bytes) -> None:
        now = self.clock()
        expires = now + self.expiry
        connection = self._connection()
        cursor = connection.execute(_SEND_GROUP, (expires, data, self.prefix, group, now, now))
        if cursor.rowcount:
            self._stored_ids.add_group(cursor.lastrowid, expires)
        # Marked after the send (a full member too, which only sends its next messages
        # through the file for a while): a query of the few local members costs far less
        # than reading back a row for every member the send stored.
        for (channel,) in connection.execute(_GROUP_LOCAL_MEMBERS, (self.prefix, group, now)).fetchall():
            self._stored.add(channel, expires, now)
        self._wake.poke_all(self._state().sockets)

    # -- receiving ----------------------------------------------------------

    def watch(self, channels: Iterable[str]) -> socket.socket | None:
        """Return a socket that turns readable when a message may have come for ``channels``.

        For a receiver that waits in an event loop instead of in
        ``receive(block=True)``: call :meth:`try_receive` once now, and again
        each time the socket is readable, until it says no more wait. The socket
        is the calling thread's; make both calls from that thread, and call
        :meth:`unwatch` when the socket will not be read any more. Returns
        None where this layer cannot wake receivers (see the class
        docstring): receive in a thread then.

        Messages for the process-local channels of ``channels`` (names
        ending in ``!``) may come in the socket's datagrams rather than
        through the file (see ``direct``).
        """
        names = self._receive_names(channels)
        sockets = self._state().watch_sockets
        wake_socket = self._wake.listen(sockets, frozenset(names))
        if wake_socket is not None:
            self._watched[wake_socket] = sockets
        return wake_socket

    def unwatch(self, wake_socket: socket.socket) -> None:
        """Stop sending messages to ``wake_socket``, a socket :meth:`watch` gave; keep those it holds.

        Call it, from any thread, when the event loop stops reading the
        socket. The messages that came in its datagrams stay in this layer
        object until a receive (of any kind, in any thread) asks for them.
        """
        sockets = self._watched.get(wake_socket)
        if sockets is not None:
            self._stop_watching(sockets)

    def _stop_watching(self, sockets: WakeSockets) -> None:
        # Links first: a send that finds none stores its message; then what came before.
        sockets.unlink_all()
        wake_socket = sockets.wake_socket
        if wake_socket is not None:
            self._watched.pop(wake_socket, None)
            self._read_socket(wake_socket)

    def try_receive(self, channels: Iterable[str]) -> tuple[list, bool] | None:
        """Take the messages waiting on ``channels``, oldest first, never waiting for the lock.

        For an event loop (see :meth:`watch`, whose datagrams this reads
        first, so a message sent after it pokes the socket again). Returns
        ``(messages, more)``: up to ``TRY_RECEIVE_LIMIT`` ``(channel,
        message)`` pairs (and any that came in datagrams while it took
        them), and whether more may be waiting (call again then); None, with
        nothing taken, if another connection holds the file's lock. Like
        :meth:`try_send_encoded`, it leaves checkpoints to other connections.

        The messages that came in datagrams come first: one sender's
        messages to a channel come that way only until one was stored (see
        ``StoredChannels``).
        """
        names = self._receive_names(channels)
        state = self._never_waiting_state()
        wake_socket = state.watch_sockets.wake_socket
        read, pokes = self._read_socket(wake_socket) if wake_socket is not None else (0, 0)
        if not names:
            return [], False
        take = self._take_for(names)
        now = self.clock()
        taken = self._inbox.take(take.wanted, now, TRY_RECEIVE_LIMIT)
        rows: list = []
        more = len(taken) == TRY_RECEIVE_LIMIT
        # Only a message came (one datagram, no poke): nothing new in the file.
        # Any other wake-up, or none (the event loop's regular look), looks
        # there: a poke says a message was stored, and a queue read with
        # several datagrams may have been full, dropping a poke.
        if not more and (pokes or read != 1):
            found = take.try_run(state.connection, now, TRY_RECEIVE_LIMIT - len(taken), expected=pokes > 0)
            if found is None:
                if not taken:
                    return None
                found, more = ([], False), True  # locked: look again
            rows, more = found[0], more or found[1]
        if rows and wake_socket is not None and self._read_socket(wake_socket)[0]:
            # A datagram sent before one of these rows was stored is queued by
            # now: it comes first. Any other datagram read here is seen to
            # with the next call.
            taken += self._inbox.take(take.wanted, now, TRY_RECEIVE_LIMIT)
            more = True
        if not taken and not rows:
            return [], more
        self._last_activity = time.monotonic()
        decoded = [(channel, self.decode(channel, data)) for channel, data in taken + rows]
        return [(channel, message) for channel, message in decoded if message is not None], more

    def _read_socket(self, wake_socket: socket.socket) -> tuple[int, int]:
        """Read every datagram waiting on ``wake_socket``, messages into the inbox; return ``(datagrams, pokes)``."""
        datagrams: list[bytes] = []
        read = drain(wake_socket, datagrams)
        if datagrams:
            self._take_in(datagrams)
        return read, read - len(datagrams)

    def _take_in(self, datagrams: list[bytes], state: _ThreadState | None = None) -> None:
        """Keep the messages ``datagrams`` carry: hand-offs in ``state`` (a blocking receive's), others in the inbox.

        A malformed datagram is logged and dropped, and so is a hand-off to
        a socket an event loop watches (no sender of this layer sends one).
        """
        now = self.clock()
        for datagram in datagrams:
            try:
                if datagram[:1] == HAND_OFF and state is not None:
                    state.handed.append(parse_hand_off(datagram))
                    state.sockets.offered = state.sockets.claimed = False  # the offer was claimed for it
                    continue
                channel, expires, data = parse_datagram(datagram)
            except ValueError as error:
                self.logger.error(
                    "Dropped a datagram of %d bytes on a wake-up socket of %s: it is not a message (%s). "
                    "Only this layer's sends should write to its wake-up directory.",
                    len(datagram),
                    self._wake.path,
                    error,
                )
                continue
            self._inbox.put(channel, expires, data, now)

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
        if state.sockets.offered or state.sockets.claimed:
            # A message handed over while this thread was busy came before any
            # its sender stored after it: read it before looking in the file.
            self._read_hand_offs(state)
        if not block:
            # A receive that found a message is most likely followed by one
            # that finds another (a worker busy on its channels, a send then
            # a receive in turn): take in one statement, without looking
            # first. Once a receive finds nothing, the next looks first again.
            return self._take(state, take, expected=state.found_last is take)
        sockets = state.sockets
        wake_socket = self._wake.listen(sockets, take.wanted)
        if wake_socket is None:
            return self._receive_polling(state, take)
        # Linked before looking: a send committed after the look pokes the
        # socket. If this thread's last look, linked as now, saw nothing more
        # waiting, whatever came since has poked it: no need to look first.
        if sockets.caught_up and not self._inbox and not state.handed:
            found: tuple = (None, None)
        else:
            found = self._take(state, take)
        deadline = time.monotonic() + self.blocking_timeout
        while found[0] is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return found  # an offer stays up: a worker receives again at once
            if state.takes_hand_offs:
                self._wake.offer(sockets)
            # Messages of process-local channels are sent only to watched
            # sockets, but one read here is taken in all the same, never dropped.
            datagrams: list[bytes] = []
            if self._wake.wait(wake_socket, min(_BACKUP_POLL, remaining), datagrams) > len(datagrams):
                sockets.caught_up = False  # poked: a message was stored, even if a handed one comes first
            if datagrams:
                self._take_in(datagrams, state)
            found = self._take(state, take)
        # Busy from now on: a message handed over meanwhile waits in the socket for the next receive.
        self._wake.withdraw(sockets)
        return found

    def _read_hand_offs(self, state: _ThreadState) -> None:
        """Read what came on the thread's blocking socket while it was not waiting (it never blocks)."""
        sockets = state.sockets
        assert sockets.wake_socket is not None  # an offer needs one
        datagrams: list[bytes] = []
        if drain(sockets.wake_socket, datagrams) > len(datagrams):
            sockets.caught_up = False  # poked: a message was stored
        if datagrams:
            self._take_in(datagrams, state)

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

    def _take(self, state: _ThreadState, take: Take, *, expected: bool = False) -> tuple:
        if state.handed:
            found = self._take_handed(state, take)
            if found is not None:
                return found
        if self._inbox:
            for channel, data in self._inbox.take(take.wanted, self.clock(), 1):
                message = self.decode(channel, data)
                if message is not None:
                    return channel, message
        sockets = state.sockets
        while True:
            offered = sockets.offered or sockets.claimed  # a message may be handed over while this takes
            rows, more = take.run(state.connection, self.clock(), expected=expected)
            # Caught up: nothing else waited on the keys the socket is linked under.
            sockets.caught_up = not more and sockets.keys == take.wanted
            state.found_last = take if rows else None
            if not rows:
                return None, None
            self._last_activity = time.monotonic()
            message_id, channel, data = rows[0]
            if offered and self._handed_first(state, take, message_id, channel, data):
                found = self._take_handed(state, take)
                return found if found is not None else (None, None)  # it was damaged: the next comes next time
            message = self.decode(channel, data)
            if message is not None:
                return channel, message

    def _handed_first(self, state: _ThreadState, take: Take, message_id: int, channel: str, data: bytes) -> bool:
        """Return True if a message handed over while this thread took ``message_id`` must come before it.

        Its sender may have stored its next messages meanwhile, this one among
        them (see ``_receive``): the handed one comes first unless its sender
        had stored this one before it (its bound). This one then waits in the
        thread's hand-offs, next in line.
        """
        known = len(state.handed)
        self._read_hand_offs(state)
        for index in range(known, len(state.handed)):
            item = state.handed[index]
            if item.channel in take.wanted and not (item.channel == channel and message_id <= item.bound):
                state.handed.insert(index + 1, HandOff(channel, self.clock() + self.expiry, 0, data))
                return True
        return False

    def _take_handed(self, state: _ThreadState, take: Take) -> tuple | None:
        """Return the oldest message for ``take`` handed to this thread; None if there is none.

        Where a message its sender stored on that channel before may still
        wait in the file (see ``StoredIds``), the oldest message waiting in
        the file comes first, and the handed one waits its turn.
        """
        now = self.clock()
        handed = state.handed
        while handed and handed[0].expires <= now:
            handed.popleft()
        for index, item in enumerate(handed):
            if item.channel not in take.wanted or item.expires <= now:
                continue
            connection = state.connection
            if (
                item.bound
                and connection.execute(_STORED_UP_TO, (self.prefix, item.channel, item.bound, now)).fetchone()
            ):
                rows, _ = take.run(connection, now)
                if rows:  # else another receiver took it meanwhile
                    _, channel, data = rows[0]
                    message = self.decode(channel, data)
                    return None if message is None else (channel, message)
            del handed[index]
            self._last_activity = time.monotonic()
            message = self.decode(item.channel, item.data)
            return None if message is None else (item.channel, message)
        return None

    @contextmanager
    def take_hand_offs(self) -> Iterator[None]:
        """Within it, this thread's blocking receives may be handed their messages directly.

        For a worker's loop, which receives again as soon as it has handled
        a message: while such a receive waits with nothing to take, it
        offers to take the next message sent to one of its channels, and a
        sender that claims the offer sends that message in the datagram that
        would have woken it, not through the file (see ``wake``). A message
        handed over while the thread was busy waits for its next receive.
        On leaving, the offer is withdrawn, and the messages handed over but
        not taken yet are stored in the file for any receiver. A worker
        process killed while a message is handed to it loses that message,
        as one killed right after taking a message from the file would.
        """
        state = self._state()
        state.takes_hand_offs = True
        try:
            yield
        finally:
            state.takes_hand_offs = False
            self._release_hand_offs(state)

    def _release_hand_offs(self, state: _ThreadState) -> None:
        """Withdraw the thread's offer and store the messages handed to it but not taken."""
        sockets = state.sockets
        wake_socket = sockets.wake_socket
        if wake_socket is not None:
            self._wake.withdraw(sockets)
            datagrams: list[bytes] = []
            read = drain(wake_socket, datagrams)
            # A sender sends right after claiming the offer (or, failing, stores the message and pokes).
            deadline = time.monotonic() + _CLAIMED_HAND_OFF_WAIT
            while sockets.claimed and not read and (remaining := deadline - time.monotonic()) > 0:
                read = self._wake.wait(wake_socket, remaining, datagrams)
            sockets.claimed = False
            if datagrams:
                self._take_in(datagrams, state)
        handed, state.handed = state.handed, deque()
        now = self.clock()
        for item in handed:
            if item.expires <= now:
                continue
            try:
                self._insert(item.channel, item.data, wait=True)
            except Exception:
                self.logger.exception(
                    "Could not store a message handed to this thread on %r as it stopped taking messages; "
                    "that message is lost.",
                    item.channel,
                )

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
        """Delete this prefix's messages and groups, and the messages this object's inbox holds."""
        for wake_socket in list(self._watched):
            drain(wake_socket, [])  # what came before the flush goes with it
        self._inbox.clear()
        self._stored.clear()
        self._stored_ids.clear()
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
        self._stored.prune(now)
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
        self.sockets = WakeSockets()  # for receive(block=True)
        self.watch_sockets = WakeSockets(watched=True)  # for watch() and try_receive()
        self.never_waits = False  # set by try_send_encoded: no checkpoints on this connection
        self.found_last: Take | None = None  # the take of this thread's last receive, if it found a message
        self.takes_hand_offs = False  # within take_hand_offs()
        self.handed: deque[HandOff] = deque()  # messages handed to this thread, not taken yet

    def close(self) -> None:
        self.connection.close()
        self.sockets.close()
        self.watch_sockets.close()


def _close_states(opened: list) -> None:
    """Close every thread state in ``opened`` made by this process."""
    for _, state in opened:
        if state.pid == os.getpid():
            state.close()
    opened.clear()
