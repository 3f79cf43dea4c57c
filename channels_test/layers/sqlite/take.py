"""How a receive on the SQLite layer takes one message: the oldest unexpired of its channels."""

from __future__ import annotations

import sqlite3

__all__ = ["Take"]

_DELETE_BY_ID = "DELETE FROM channels_test_messages WHERE id = ? RETURNING channel, data"


class Take:
    """Take the oldest unexpired message on some channels, atomically.

    The message is found with a read and then deleted by id (ids are never
    reused: the table's AUTOINCREMENT); if another receiver deleted it
    first, the next one is looked for. A ``DELETE``
    takes the file's write lock even when it deletes nothing, and most
    takes find nothing (each blocking receive looks once before it
    waits): finding first keeps those off the lock senders need.

    For a few channels, one ``SELECT min(id) ... IN (...)`` finds the
    message. For many, looking up each name costs more than reading the
    oldest few messages of the layer and keeping the first one asked for.
    """

    SCAN_ABOVE = 8  # channels
    SCAN_ROWS = 64

    def __init__(self, prefix: str, channels: tuple):
        self.prefix = prefix
        self.wanted = frozenset(channels)
        plain = [name for name in channels if name[-1] != "!"]
        local = [name for name in channels if name[-1] == "!"]
        # One branch per column, each searching its own index for its oldest match.
        branches = [(column, names) for column, names in (("channel", plain), ("local", local)) if names]
        oldest = " UNION ALL ".join(
            "SELECT * FROM (SELECT id FROM channels_test_messages WHERE prefix = ? "
            f"AND expires > ? AND {column} IN ({','.join('?' * len(names))}) "
            "ORDER BY id LIMIT 1)"
            for column, names in branches
        )
        self.query = f"SELECT min(id) FROM ({oldest})"
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
                    taken = connection.execute(_DELETE_BY_ID, (message_id,)).fetchall()
                    if taken:
                        return taken
            if len(rows) < self.SCAN_ROWS:
                return []
        params: list = []
        for names in self.branches:
            params += (self.prefix, now, *names)
        while True:
            (oldest,) = connection.execute(self.query, params).fetchone()
            if oldest is None:
                return []
            taken = connection.execute(_DELETE_BY_ID, (oldest,)).fetchall()
            if taken:
                return taken
