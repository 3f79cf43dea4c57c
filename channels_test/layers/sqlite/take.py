"""How a receive on the SQLite layer takes messages: the oldest unexpired of its channels."""

from __future__ import annotations

from collections.abc import Callable

from .connection import RetryingConnection

__all__ = ["Take"]


class Take:
    """Take the oldest unexpired messages on some channels, atomically.

    The messages are found with a read and then deleted by id (ids are
    never reused: the table's AUTOINCREMENT); if another receiver deleted
    them first, the next ones are looked for. A ``DELETE`` takes the file's
    write lock even when it deletes nothing, and many takes find nothing (a
    blocking receive may look once before it waits): finding first keeps
    those off the lock senders need. Where a message is most likely waiting
    (the receiver was poked, or its last receive found one), one
    ``DELETE ... RETURNING`` takes it without the read.

    For a few channels, one ``SELECT ... IN (...)`` per column finds the
    messages. For many, looking up each name costs more than reading the
    oldest few messages of the layer and keeping those asked for.
    """

    SCAN_ABOVE = 8  # channels
    SCAN_ROWS = 64

    def __init__(self, prefix: str, channels: tuple):
        self.prefix = prefix
        self.wanted = frozenset(channels)
        plain = [name for name in channels if name[-1] != "!"]
        local = [name for name in channels if name[-1] == "!"]
        # One branch per column, each searching its own index for its oldest matches.
        branches = [(column, names) for column, names in (("channel", plain), ("local", local)) if names]
        oldest = " UNION ALL ".join(
            "SELECT * FROM (SELECT id FROM channels_test_messages WHERE prefix = ? "
            f"AND expires > ? AND {column} IN ({','.join('?' * len(names))}) "
            "ORDER BY id LIMIT ?)"
            for column, names in branches
        )
        self.query = f"SELECT id FROM ({oldest}) ORDER BY id LIMIT ?"
        self.delete_query = f"DELETE FROM channels_test_messages WHERE id IN ({self.query}) RETURNING id, channel, data"
        self.branches = [names for _, names in branches]
        self.scan = len(channels) > self.SCAN_ABOVE

    def run(self, connection: RetryingConnection, now: float, *, expected: bool = False) -> tuple[list, bool]:
        """Take the oldest message, waiting while another connection holds the lock.

        Returns ``(rows, more)``: ``[(id, channel, data)]``, or ``[]`` if
        none is waiting, and whether others were (or, with ``expected``, may
        be) waiting. ``expected``: a message is most likely waiting, so take
        it in one statement, without looking first.
        """
        if expected and not self.scan:
            cursor = connection.execute(self.delete_query, (*self._params(now, 1), 1))
            taken = cursor.fetchall()
            return taken, bool(taken)
        found = self._take(connection.execute, now, 1)
        assert found is not None  # execute waits; it never answers None
        return found

    def try_run(
        self, connection: RetryingConnection, now: float, limit: int, *, expected: bool = False
    ) -> tuple[list, bool] | None:
        """Take up to ``limit`` of the oldest messages without waiting for the lock.

        Returns ``(rows, more)``: the ``(channel, data)`` pairs taken, oldest
        first, and whether other messages may be waiting; None, with nothing
        taken, if another connection holds the lock. ``expected``: a message
        is most likely waiting (the receiver was poked), so take in one
        statement, without looking first.
        """
        execute = connection.execute_unless_locked
        if not expected or self.scan:
            found = self._take(execute, now, limit)
            if found is None:
                return None
            return [(channel, data) for _, channel, data in found[0]], found[1]
        params = self._params(now, limit)
        cursor = execute(self.delete_query, (*params, limit))
        if cursor is None:
            return None
        taken = sorted(cursor.fetchall())
        return [(channel, data) for _, channel, data in taken], len(taken) == limit

    def _take(self, execute: Callable, now: float, limit: int) -> tuple[list, bool] | None:
        """Take up to ``limit`` messages; return ``([(id, channel, data)], more)``, or None if locked."""
        while True:
            ids = self._find(execute, now, limit + 1)
            if ids is None:
                return None
            more = len(ids) > limit
            ids = ids[:limit]
            if not ids:
                return [], False
            placeholders = ",".join("?" * len(ids))
            cursor = execute(
                f"DELETE FROM channels_test_messages WHERE id IN ({placeholders}) RETURNING id, channel, data", ids
            )
            if cursor is None:
                return None
            taken = sorted(cursor.fetchall())
            if taken:
                # Fewer than found: another receiver took some, and others may be waiting.
                return taken, more or len(taken) < len(ids)
            # Another receiver took them all first: look again.

    def _find(self, execute: Callable, now: float, count: int) -> list | None:
        """Return the ids of up to ``count`` of the oldest messages wanted; None if locked."""
        if self.scan:
            cursor = execute(
                "SELECT id, channel, local FROM channels_test_messages "
                "WHERE prefix = ? AND expires > ? ORDER BY id LIMIT ?",
                (self.prefix, now, self.SCAN_ROWS),
            )
            if cursor is None:
                return None
            rows = cursor.fetchall()
            wanted = self.wanted
            ids = [
                message_id
                for message_id, channel, local in rows
                if channel in wanted or (local is not None and local in wanted)
            ]
            if len(ids) >= count or len(rows) < self.SCAN_ROWS:
                return ids[:count]
        cursor = execute(self.query, (*self._params(now, count), count))
        if cursor is None:
            return None
        return [message_id for (message_id,) in cursor]

    def _params(self, now: float, count: int) -> list:
        """Return the parameters of the branches of ``query``, each looking for ``count`` messages."""
        params: list = []
        for names in self.branches:
            params += (self.prefix, now, *names, count)
        return params
