"""The SQLite layer's connection: retries briefly while another process holds the lock.

Each thread of each process opens its own (see :meth:`SQLiteChannelLayer._state`).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured

__all__ = [
    "LOCK_TIMEOUT",
    "RetryingConnection",
    "damaged",
    "is_busy",
    "open_connection",
    "retry_locked",
]

# How long a statement retries while other connections hold the write lock.
LOCK_TIMEOUT = 30.0

# AUTOINCREMENT: an id is never given twice, so a receive that found a
# message by id and deletes it by id cannot delete a newer message that took
# the id of one another receiver deleted meanwhile.
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
CREATE INDEX IF NOT EXISTS channels_test_groups_local
    ON channels_test_groups (prefix, grp) WHERE local IS NOT NULL;
"""
# The schema's newest part: a file without it gets the rest of the schema too.
_LAST_SCHEMA_PART = "channels_test_groups_local"


def open_connection(path: str) -> RetryingConnection:
    """Open ``path`` in WAL mode with the layer's tables, for one thread (errors name the file)."""
    try:
        connection = sqlite3.connect(
            path,
            timeout=0,
            isolation_level=None,
            check_same_thread=False,
            factory=RetryingConnection,
        )
    except sqlite3.OperationalError as error:
        raise ImproperlyConfigured(
            f"Cannot open the SQLite channel layer file {path!r}: {error}. "
            "Set 'path' in the layer CONFIG to a writable file."
        ) from error
    connection.path = path
    try:
        if connection.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            retry_locked(lambda: connection.execute("PRAGMA journal_mode = WAL"))
        connection.execute("PRAGMA synchronous = NORMAL")
        exists = connection.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (_LAST_SCHEMA_PART,)).fetchone()
        if exists is None:
            retry_locked(lambda: connection.executescript(_SCHEMA))
    except sqlite3.DatabaseError as error:
        connection.close()
        if isinstance(error, sqlite3.OperationalError):
            raise
        raise ImproperlyConfigured(damaged(path, error)) from error
    return connection


class RetryingConnection(sqlite3.Connection):
    """A connection whose ``execute`` retries while the database is locked.

    SQLite's own busy handler sleeps whole milliseconds, growing to 100 ms;
    the write lock of this layer is held for microseconds, so retrying after
    0.1 ms, doubling up to 5 ms, keeps many processes moving.
    """

    path = ""  # the layer's file, for error messages

    def execute_unless_locked(self, sql: str, parameters=()):
        """Run ``sql`` once, returning its cursor, or None if another connection holds the lock."""
        try:
            return super().execute(sql, parameters)
        except sqlite3.OperationalError as error:
            if is_busy(error):
                return None
            raise
        except sqlite3.DatabaseError as error:
            raise sqlite3.DatabaseError(damaged(self.path, error)) from error

    def execute(self, sql: str, parameters=()):
        delay, deadline = 0.0001, None
        while True:
            try:
                return super().execute(sql, parameters)
            except sqlite3.OperationalError as error:
                if not is_busy(error):
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
                raise sqlite3.DatabaseError(damaged(self.path, error)) from error


def damaged(path: str, error: sqlite3.DatabaseError) -> str:
    return (
        f"The SQLite channel layer file {path!r} is damaged or is not a SQLite database "
        f"({error}). Stop every process using the layer, then delete the file (and its "
        "-wal and -shm files, if any; the messages in it are lost, and the layer makes a "
        "new file), or set 'path' in the layer CONFIG to another file."
    )


# SQLite's primary result codes (sqlite3 names them only from Python 3.11 on).
SQLITE_BUSY, SQLITE_LOCKED = 5, 6


def is_busy(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (SQLITE_BUSY, SQLITE_LOCKED)
    return "locked" in str(error) or "busy" in str(error)


# Nothing here opens a file the layer may already have open in this process:


def retry_locked(action: Callable[[], object]) -> None:
    """Run ``action``, retrying while another process holds the database lock."""
    deadline = time.monotonic() + LOCK_TIMEOUT
    while True:
        try:
            action()
            return
        except sqlite3.OperationalError as error:
            if not is_busy(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
