"""The SQLite channel layer, in parts that each do one job.

``layer``
    :class:`SQLiteChannelLayer`: sending, receiving, groups, housekeeping.
``connection``
    The schema, and a connection that retries while another process holds the lock.
``take``
    The statements a receive takes the oldest message with.
``wake``
    The Unix sockets that wake receivers blocked in other processes.
``files``
    Keeping the database file and its -wal and -shm files private.

Import from here: ``channels_test.layers.sqlite.SQLiteChannelLayer`` is the
BACKEND path.
"""

from __future__ import annotations

from .connection import LOCK_TIMEOUT
from .layer import SQLiteChannelLayer, default_path

__all__ = ["LOCK_TIMEOUT", "SQLiteChannelLayer", "default_path"]
