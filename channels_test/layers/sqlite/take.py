"""How a receive on the SQLite layer takes one message: the oldest unexpired of its channels."""

from __future__ import annotations

import sqlite3

__all__ = ["Take"]

_DELETE_BY_ID = "DELETE FROM channels_test_messages WHERE id = ? RETURNING channel, data"


class Take:
    """Take the oldest unexpired message on some channels, atomically.

    The message is found with a read and then deleted by id (ids are never
    reused: the table's AUTOINCREMENT); if another receiver deleted it
    first, the next one is looked for. A ``DELETE`` takes the file's write
    lock even when it deletes nothing, and many takes find nothing (a
    blocking receive may look once before it waits): finding first keeps
    those off the lock senders need.

    For a few channels, one ``SELECT ... IN (...)`` per column finds the
    message. For many, looking up each name costs more than reading the
    oldest few messages of the layer and keeping those asked for.
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
            "ORDER BY id LIMIT ?)"
            for column, names in branches
        )
        self.query = f"SELECT id FROM ({oldest}) ORDER BY id LIMIT ?"
        self.branches = [names for _, names in branches]
        self.scan = len(channels) > self.SCAN_ABOVE

    def run(self, connection: sqlite3.Connection, now: float) -> tuple[list, bool]:
        """Take the oldest message; return ``(rows, more)``.

        ``rows`` is ``[(channel, data)]``, or ``[]`` if none is waiting;
        ``more`` says whether others were waiting.
        """
        while True:
            ids = self._find(connection, now, 2)
            if not ids:
                return [], False
            taken = connection.execute(_DELETE_BY_ID, (ids[0],)).fetchall()
            if taken:
                return taken, len(ids) > 1
            # Another receiver took it first: look again.

    def _find(self, connection: sqlite3.Connection, now: float, count: int) -> list:
        """Return the ids of up to ``count`` of the oldest messages wanted."""
        if self.scan:
            rows = connection.execute(
                "SELECT id, channel, local FROM channels_test_messages "
                "WHERE prefix = ? AND expires > ? ORDER BY id LIMIT ?",
                (self.prefix, now, self.SCAN_ROWS),
            ).fetchall()
            wanted = self.wanted
            ids = [
                message_id
                for message_id, channel, local in rows
                if channel in wanted or (local is not None and local in wanted)
            ]
            if len(ids) >= count or len(rows) < self.SCAN_ROWS:
                return ids[:count]
        params: list = []
        for names in self.branches:
            params += (self.prefix, now, *names, count)
        return [message_id for (message_id,) in connection.execute(self.query, (*params, count))]
