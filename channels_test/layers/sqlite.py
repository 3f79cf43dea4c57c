"""A channel layer in one SQLite file: the embedded cross-process default.

Daphne, the workers and a test process on one machine share a layer through
a file, with no server to run.
"""

from __future__ import annotations

import logging
import os
import secrets
import select
import socket
import sqlite3
import stat
import tempfile
import threading
import time
import weakref

from django.core.exceptions import ImproperlyConfigured

from .base import BaseChannelLayer, ChannelFull

__all__ = ["SQLiteChannelLayer"]

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS channels_test_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    prefix TEXT NOT NULL,
    channel TEXT NOT NULL,
    local TEXT,
    expires REAL NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS channels_test_messages_channel
    ON channels_test_messages (prefix, channel, id);
CREATE INDEX IF NOT EXISTS channels_test_messages_local
    ON channels_test_messages (prefix, local, id) WHERE local IS NOT NULL;
CREATE TABLE IF NOT EXISTS channels_test_groups (
    prefix TEXT NOT NULL,
    grp TEXT NOT NULL,
    channel TEXT NOT NULL,
    local TEXT,
    capacity INTEGER NOT NULL,
    expires REAL NOT NULL,
    PRIMARY KEY (prefix, grp, channel)
);
"""

_COUNT = (
    "SELECT COUNT(*) FROM channels_test_messages "
    "WHERE prefix = ? AND channel = ? AND expires > ?"
)
# Process-local channels (prefix!suffix) share their prefix's capacity.
_COUNT_LOCAL = (
    "SELECT COUNT(*) FROM channels_test_messages "
    "WHERE prefix = ? AND local = ? AND expires > ?"
)
_INSERT = (
    "INSERT INTO channels_test_messages (prefix, channel, local, expires, data) "
    "VALUES (?, ?, ?, ?, ?)"
)
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

# How long a statement retries while other connections hold the write lock.
LOCK_TIMEOUT = 30.0

# Sleeps between polls of ``PRAGMA data_version`` while blocking.
_FAST_POLL = 0.001
_SLOW_POLL = 0.025
_ACTIVE_WINDOW = 2.0
# With wake-up sockets, the version is still checked this often, in case a poke is lost.
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
    takes the oldest matching message in one ``DELETE ... RETURNING``
    statement, a transaction of its own: each message reaches exactly one
    receiver, and a receiver that dies before the commit leaves it in place.
    A send counts the channel's messages and inserts in one ``BEGIN
    IMMEDIATE`` transaction, so capacity holds under concurrency.

    Waking up: each thread that blocks in ``receive`` binds a Unix datagram
    socket in ``<path>.wake/`` (a directory only its owner may enter), and
    every send pokes the sockets there after its commit; a socket whose
    process died is removed by the next send. A woken receiver takes a
    message only if ``PRAGMA data_version`` (which changes when another
    connection commits, at no disk cost) says something changed, and it
    checks that version every 0.1 s even without a poke. So a message from
    another process arrives within a fraction of a millisecond and an idle
    receiver costs next to nothing. Where such sockets cannot be used (no
    Unix sockets, too long a path, a shared directory) the receiver polls the
    version instead: every 1 ms for two seconds after the layer was last
    busy, backing off to every 25 ms.
    """

    logger = logger

    def __init__(self, *, path: str | None = None, blocking_timeout: float = 1.0, **config):
        super().__init__(**config)
        if not isinstance(blocking_timeout, (int, float)) or blocking_timeout < 0:
            raise ValueError(
                f"blocking_timeout must be a number of seconds >= 0, not {blocking_timeout!r}."
            )
        if path is None:
            path = default_path(self.prefix)
            _create_private_file(path)
        elif not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a str or path-like, not {type(path).__name__}: {path!r}")
        self.path = os.fspath(path)
        _make_files_private(self.path)
        self.blocking_timeout = blocking_timeout
        self._local = threading.local()
        self._opened: list = []  # (weakref to thread, _ThreadState)
        self._wake_directory = self.path + ".wake"
        self._wake_usable = hasattr(socket, "AF_UNIX") and hasattr(os, "getuid")
        self._opened_lock = threading.Lock()
        self._pid = os.getpid()
        self._last_activity = 0.0
        self._next_sweep = 0.0
        self._take_cache: tuple | None = None  # (channels, _Take) of the last receive
        # Close what this layer opened when it is garbage collected (not at
        # exit, when daemon threads may still be using their connections).
        weakref.finalize(self, _close_states, self._opened).atexit = False
        self._connection()  # create the schema now, so errors show at startup

    def __repr__(self) -> str:
        return f"<{type(self).__name__} prefix={self.prefix!r} path={self.path!r}>"

    # -- connections --------------------------------------------------------

    def _state(self) -> _ThreadState:
        """Return this thread's connection and wake-up socket, opening them (again after a fork)."""
        state = getattr(self._local, "state", None)
        if state is not None and state.pid == os.getpid():
            return state
        if state is not None:
            _INHERITED.append(state)  # the parent's: never close it here
        if self._pid != os.getpid():
            # A fork may have copied the lock while another thread held it.
            self._opened_lock, self._pid = threading.Lock(), os.getpid()
        state = self._local.state = _ThreadState(self._open())
        with self._opened_lock:
            self._close_orphans()
            self._opened.append((weakref.ref(threading.current_thread()), state))
        return state

    def _connection(self) -> sqlite3.Connection:
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

    def _open(self) -> sqlite3.Connection:
        try:
            connection = sqlite3.connect(
                self.path, timeout=0, isolation_level=None, check_same_thread=False,
                factory=_Connection,
            )
        except sqlite3.OperationalError as error:
            raise ImproperlyConfigured(
                f"Cannot open the SQLite channel layer file {self.path!r}: {error}. "
                "Set 'path' in the layer CONFIG to a writable file."
            ) from error
        connection.path = self.path
        try:
            if connection.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                _retry_locked(lambda: connection.execute("PRAGMA journal_mode = WAL"))
            connection.execute("PRAGMA synchronous = NORMAL")
            exists = connection.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'channels_test_groups'"
            ).fetchone()
            if exists is None:
                _retry_locked(lambda: connection.executescript(_SCHEMA))
        except sqlite3.DatabaseError as error:
            connection.close()
            if isinstance(error, sqlite3.OperationalError):
                raise
            raise ImproperlyConfigured(_damaged(self.path, error)) from error
        return connection

    def close(self) -> None:
        """Close this thread's connection and those of threads that have ended.

        Threads still running keep theirs; the layer stays usable (a later
        call opens a new connection).
        """
        state = getattr(self._local, "state", None)
        with self._opened_lock:
            if state is not None and state.pid == os.getpid():
                self._opened[:] = [entry for entry in self._opened if entry[1] is not state]
                state.close()
            self._local.state = None
            self._close_orphans()

    # -- sending ------------------------------------------------------------

    def _send(self, channel: str, message: dict) -> None:
        data = self.encode(message)
        local = self._local_part(channel)
        counted = local or channel
        capacity = self.get_capacity(counted)
        connection = self._connection()
        now = time.time()
        connection.execute("BEGIN IMMEDIATE")
        try:
            (count,) = connection.execute(_COUNT_LOCAL if local else _COUNT, (self.prefix, counted, now)).fetchone()
            if count >= capacity:
                raise ChannelFull(
                    f"Channel {counted!r} holds {count} messages, its capacity; retry later, "
                    "or raise 'capacity'/'channel_capacity' in the layer CONFIG."
                )
            connection.execute(_INSERT, (self.prefix, channel, local, now + self.expiry, data))
            if now > self._next_sweep:
                self._sweep(connection, now)
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
        self._wake_receivers()

    def _send_group(self, group: str, message: dict) -> None:
        data = self.encode(message)
        now = time.time()
        self._connection().execute(
            _SEND_GROUP, (now + self.expiry, data, self.prefix, group, now, now)
        )
        self._wake_receivers()

    # -- receiving ----------------------------------------------------------

    def _receive(self, channels: tuple, block: bool) -> tuple:
        connection = self._connection()
        cached = self._take_cache
        if cached is not None and cached[0] is channels:
            take = cached[1]
        else:
            take = _Take(self.prefix, channels)
            self._take_cache = (channels, take)
        if not block:
            return self._take(connection, take)
        wake_socket = self._wake_socket()
        # Listen and read the version before the first attempt: a send
        # committed after it is then seen, by a poke or by the version.
        version = connection.execute("PRAGMA data_version").fetchone()[0]
        found = self._take(connection, take)
        deadline = time.monotonic() + self.blocking_timeout
        while found[0] is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if wake_socket is not None:
                select.select([wake_socket], [], [], min(_BACKUP_POLL, remaining))
                _drain(wake_socket)
            else:
                time.sleep(min(self._poll_interval(), remaining))
            current = connection.execute("PRAGMA data_version").fetchone()[0]
            if current != version:
                version = current
                self._last_activity = time.monotonic()
                found = self._take(connection, take)
        return found

    def _take(self, connection: sqlite3.Connection, take: _Take) -> tuple:
        while True:
            rows = take.run(connection, time.time())
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

    # -- wake-ups -------------------------------------------------------------------

    def _wake_socket(self) -> socket.socket | None:
        """Return this thread's bound wake-up socket, or None to poll instead."""
        state = self._state()
        if state.wake_socket is not None or not self._wake_usable:
            return state.wake_socket
        name = f"{os.getpid()}-{threading.get_ident()}-{secrets.token_hex(4)}"
        path = os.path.join(self._wake_directory, name)
        wake_socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            os.makedirs(self._wake_directory, mode=0o700, exist_ok=True)
            if not _private_directory(self._wake_directory):
                raise OSError(f"{self._wake_directory!r} is not a private directory")
            wake_socket.bind(path)
            wake_socket.setblocking(False)
        except OSError:
            # Too long a path, a shared directory, no permission: poll instead.
            wake_socket.close()
            self._wake_usable = False
            return None
        state.wake_socket, state.wake_path = wake_socket, path
        return wake_socket

    def _wake_receivers(self) -> None:
        """Poke every blocked receiver's socket (after a commit); remove dead ones."""
        if not self._wake_usable:
            return
        try:
            names = os.listdir(self._wake_directory)
        except OSError:
            return  # no receiver has blocked yet
        if not names:
            return
        state = self._state()
        if state.poke_socket is None:
            private = _private_directory(self._wake_directory)
            if not private:
                if private is False:
                    self._wake_usable = False  # another user could read our pokes
                return
            state.poke_socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            state.poke_socket.setblocking(False)
        for name in names:
            path = os.path.join(self._wake_directory, name)
            try:
                state.poke_socket.sendto(b"!", path)
            except ConnectionRefusedError:
                _unlink(path)  # its process has died
            except OSError:
                pass  # already poked (queue full), or gone

    # -- groups ---------------------------------------------------------------

    def group_add(self, group: str, channel: str) -> None:
        self._check_membership_args(group, channel)
        self._connection().execute(
            "INSERT OR REPLACE INTO channels_test_groups "
            "(prefix, grp, channel, local, capacity, expires) VALUES (?, ?, ?, ?, ?, ?)",
            (self.prefix, group, channel, self._local_part(channel),
             self.get_capacity(channel), time.time() + self.group_expiry),
        )

    def group_discard(self, group: str, channel: str) -> None:
        self._check_membership_args(group, channel)
        self._connection().execute(
            "DELETE FROM channels_test_groups WHERE prefix = ? AND grp = ? AND channel = ?",
            (self.prefix, group, channel),
        )

    def group_channels(self, group: str) -> list[str]:
        self.validate_group_name(group)
        rows = self._connection().execute(
            "SELECT channel FROM channels_test_groups "
            "WHERE prefix = ? AND grp = ? AND expires > ? ORDER BY rowid",
            (self.prefix, group, time.time()),
        ).fetchall()
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
        rows = self._connection().execute(
            "SELECT channel, COUNT(*) FROM channels_test_messages "
            "WHERE prefix = ? AND expires > ? GROUP BY channel",
            (self.prefix, time.time()),
        ).fetchall()
        return dict(rows)

    def _channel_exists(self, channel: str) -> bool:
        row = self._connection().execute(
            "SELECT 1 FROM channels_test_messages WHERE prefix = ? AND channel = ? LIMIT 1",
            (self.prefix, channel),
        ).fetchone()
        return row is not None

    def _sweep(self, connection: sqlite3.Connection, now: float) -> None:
        """Delete this layer's expired messages and memberships (every ``expiry`` seconds)."""
        self._next_sweep = now + min(self.expiry, 60)
        connection.execute(
            "DELETE FROM channels_test_messages WHERE prefix = ? AND expires <= ?",
            (self.prefix, now),
        )
        connection.execute(
            "DELETE FROM channels_test_groups WHERE prefix = ? AND expires <= ?",
            (self.prefix, now),
        )

    def _local_part(self, channel: str) -> str | None:
        index = channel.find("!")
        return None if index < 0 else channel[: index + 1]


class _Take:
    """Take the oldest unexpired message on some channels, atomically.

    For a few channels, one ``DELETE ... WHERE id = (SELECT ... IN (...))
    RETURNING`` does it. For many, looking up each name costs more than
    reading the oldest few messages of the layer and keeping the first one
    asked for; that one is then deleted by id, and if another receiver took
    it first the next candidate is tried.
    """

    SCAN_ABOVE = 8  # channels
    SCAN_ROWS = 64

    def __init__(self, prefix: str, channels: tuple):
        self.prefix = prefix
        self.wanted = frozenset(channels)
        plain = [name for name in channels if name[-1] != "!"]
        local = [name for name in channels if name[-1] == "!"]
        # One branch per column, each searching its own index for its oldest match.
        branches = [(column, names) for column, names in (("channel", plain), ("local", local))
                    if names]
        oldest = " UNION ALL ".join(
            "SELECT * FROM (SELECT id FROM channels_test_messages WHERE prefix = ? "
            f"AND expires > ? AND {column} IN ({','.join('?' * len(names))}) "
            "ORDER BY id LIMIT 1)"
            for column, names in branches
        )
        self.query = (
            f"DELETE FROM channels_test_messages WHERE id = (SELECT min(id) FROM ({oldest})) "
            "RETURNING channel, data"
        )
        self.branches = [names for _, names in branches]
        self.scan = len(channels) > self.SCAN_ABOVE

    def run(self, connection: sqlite3.Connection, now: float) -> list:
        """Return ``[(channel, data)]`` for the message taken, or ``[]``."""
        if self.scan:
            rows = connection.execute(
                "SELECT id, channel, local FROM channels_test_messages "
                "WHERE prefix = ? AND expires > ? ORDER BY id LIMIT ?",
                (self.prefix, now, self.SCAN_ROWS),
            ).fetchall()
            wanted = self.wanted
            for message_id, channel, local in rows:
                if channel in wanted or (local is not None and local in wanted):
                    taken = connection.execute(
                        "DELETE FROM channels_test_messages WHERE id = ? RETURNING channel, data",
                        (message_id,),
                    ).fetchall()
                    if taken:
                        return taken
            if len(rows) < self.SCAN_ROWS:
                return []
        params = []
        for names in self.branches:
            params += (self.prefix, now, *names)
        return connection.execute(self.query, params).fetchall()


class _ThreadState:
    """What one thread of one process opened: its connection and sockets."""

    def __init__(self, connection: sqlite3.Connection):
        self.pid = os.getpid()
        self.connection = connection
        self.wake_socket: socket.socket | None = None
        self.wake_path: str | None = None
        self.poke_socket: socket.socket | None = None

    def close(self) -> None:
        self.connection.close()
        for open_socket in (self.wake_socket, self.poke_socket):
            if open_socket is not None:
                open_socket.close()
        if self.wake_path is not None:
            _unlink(self.wake_path)
        self.wake_socket = self.poke_socket = self.wake_path = None


def _close_states(opened: list) -> None:
    """Close every thread state in ``opened`` made by this process."""
    for _, state in opened:
        if state.pid == os.getpid():
            state.close()
    opened.clear()


def _drain(wake_socket: socket.socket) -> None:
    while True:
        try:
            wake_socket.recv(64)
        except OSError:
            return


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _private_directory(path: str) -> bool | None:
    """Return True if ``path`` is a directory only this user can enter (None: it is gone)."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return (
        stat.S_ISDIR(info.st_mode)
        and info.st_uid == os.getuid()
        and not stat.S_IMODE(info.st_mode) & 0o077
    )


class _Connection(sqlite3.Connection):
    """A connection whose ``execute`` retries while the database is locked.

    SQLite's own busy handler sleeps whole milliseconds, growing to 100 ms;
    the write lock of this layer is held for microseconds, so retrying after
    0.1 ms, doubling up to 5 ms, keeps many processes moving.
    """

    path = ""  # the layer's file, for error messages

    def execute(self, sql: str, parameters=()):  # type: ignore[override]
        delay, deadline = 0.0001, None
        while True:
            try:
                return super().execute(sql, parameters)
            except sqlite3.OperationalError as error:
                if not _is_busy(error):
                    raise
                now = time.monotonic()
                if deadline is None:
                    deadline = now + LOCK_TIMEOUT
                elif now > deadline:
                    raise sqlite3.OperationalError(
                        f"The SQLite channel layer file stayed locked for {LOCK_TIMEOUT:.0f} s "
                        f"({error}); another process holds a transaction open."
                    ) from error
                time.sleep(delay)
                delay = min(delay * 2, 0.005)
            except sqlite3.DatabaseError as error:
                # Not a busy or usage error: the file itself is damaged.
                raise sqlite3.DatabaseError(_damaged(self.path, error)) from error


def _damaged(path: str, error: sqlite3.DatabaseError) -> str:
    return (
        f"The SQLite channel layer file {path!r} is damaged or is not a SQLite database "
        f"({error}). Stop every process using the layer, then delete the file (and its "
        "-wal and -shm files, if any; the messages in it are lost, and the layer makes a "
        "new file), or set 'path' in the layer CONFIG to another file."
    )


def _is_busy(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(error) or "busy" in str(error)


# Nothing here opens a file the layer may already have open in this process:
# closing any descriptor of a SQLite file drops every POSIX lock the process
# holds on it, including those of its open connections.


def _create_private_file(path: str) -> None:
    """Create ``path`` with mode 0600 if missing; refuse a link, or a file another user owns."""
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except FileExistsError:
        pass
    except OSError as error:
        raise ImproperlyConfigured(
            f"Cannot open the SQLite channel layer file {path!r}: {error}. Set 'path' in the "
            "layer CONFIG to a file you own, or pick another 'prefix'."
        ) from error
    else:
        os.close(descriptor)  # just made, so nothing else here has it open
    info = os.lstat(path)
    if not stat.S_ISREG(info.st_mode):
        raise ImproperlyConfigured(
            f"Cannot open the SQLite channel layer file {path!r}: it is not a plain file "
            "(a symbolic link?). Set 'path' in the layer CONFIG to a file you own, or pick "
            "another 'prefix'."
        )
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise ImproperlyConfigured(
            f"The SQLite channel layer file {path!r} belongs to another user (uid "
            f"{info.st_uid}); refusing to share messages through it. Set 'path' in the "
            "layer CONFIG to a file you own, or pick another 'prefix'."
        )


def _make_files_private(path: str) -> None:
    """Create ``path`` with mode 0600 if missing; keep it and its -wal/-shm files private.

    Messages carry cookies, so no other user may read these files. An
    existing file that others can read or write is narrowed to its owner's
    bits (with a warning); one that cannot be (another user's) is refused.
    SQLite gives the -wal and -shm files it creates the database file's mode.
    """
    if path in ("", ":memory:") or path.startswith("file:"):
        return  # not a plain file name: SQLite decides
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as error:
        raise ImproperlyConfigured(
            f"Cannot open the SQLite channel layer file {path!r}: {error}. "
            "Set 'path' in the layer CONFIG to a file you can write."
        ) from error
    else:
        try:
            os.fchmod(descriptor, 0o600)  # whatever the umask took away
        finally:
            os.close(descriptor)  # just made, so nothing else here has it open
    for name in (path, path + "-wal", path + "-shm"):
        try:
            info = os.stat(name)
        except FileNotFoundError:
            continue  # no -wal or -shm file yet: SQLite makes it like the database file
        except OSError as error:
            raise ImproperlyConfigured(
                f"Cannot open the SQLite channel layer file {name!r}: {error}. "
                "Set 'path' in the layer CONFIG to a file you can write."
            ) from error
        _narrow(name, info)


def _narrow(name: str, info: os.stat_result) -> None:
    """Take every permission for others off the file ``name``, logging that it had them."""
    mode = stat.S_IMODE(info.st_mode)
    if not mode & 0o077:
        return
    wanted = mode & 0o700
    try:
        os.chmod(name, wanted)
    except OSError as error:
        raise ImproperlyConfigured(
            f"The SQLite channel layer file {name!r} has mode {mode:04o}, so other users "
            f"could read the messages in it (they carry cookies), and it cannot be made "
            f"private ({error}; its owner is uid {info.st_uid}). Run 'chmod 600' on it as "
            "its owner, or set 'path' in the layer CONFIG to a file you own."
        ) from error
    logger.warning(
        "The SQLite channel layer file %r had mode %04o, which let other users read "
        "the messages in it; it now has mode %04o.", name, mode, wanted,
    )


def _retry_locked(action) -> None:
    """Run ``action``, retrying while another process holds the database lock."""
    deadline = time.monotonic() + LOCK_TIMEOUT
    while True:
        try:
            action()
            return
        except sqlite3.OperationalError as error:
            if not _is_busy(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
