"""A Redis server of the layer: one connection per thread, and whether the server is down.

Commands go out already packed (see :mod:`.resp`) on the thread's own
connection; every failure becomes the layer's :class:`RedisUnavailable`
naming the server, and a server that went down is remembered so calls fail
fast until it is time to try it again.
"""

from __future__ import annotations

import logging
import select
import threading
import time
from typing import Any

from .._local import ForkSafeLocal
from .errors import RedisUnavailable, describe_error
from .resp import pack
from .scripts import Script

__all__ = ["DOWN_RETRY_INTERVAL", "Server"]

logger = logging.getLogger(__package__)

# Once a server failed, calls that need it fail at once (with the same
# error) for this long before one of them tries it again.
DOWN_RETRY_INTERVAL = 0.5


class Server:
    """One Redis server: its client, one open connection per thread, and whether it is down.

    Each thread keeps its connection for every later call (a pool of one per
    thread, reopened after a fork), which spares the per-command bookkeeping
    of a shared pool. Before each command the connection is checked for a
    close by the server (a restart); such a connection is replaced before
    anything is sent on it. ``client``, on an ordinary shared pool, serves
    the rare housekeeping commands (``SCAN``, ``UNLINK``).

    A failure that takes the server down (see ``RedisUnavailable.server_down``)
    is remembered, for every thread: calls then fail at once with the same
    error, and every ``DOWN_RETRY_INTERVAL`` seconds one call tries the server
    again. With ``log_changes`` (a layer of several servers, which carries on
    without this one) the outage is logged once as it starts and once as it ends.
    """

    hosts_hint = "fix 'hosts' in the layer CONFIG"

    def __init__(self, client: Any, label: str, *, log_changes: bool = False):
        self.client = client
        pool = self.client.connection_pool
        self._connection_class = pool.connection_class
        self._connection_kwargs = pool.connection_kwargs
        self._label = label
        self.log_changes = log_changes
        self._threads: ForkSafeLocal[_ThreadConnection] = ForkSafeLocal(self._new_connection)
        self._lock = threading.Lock()
        #: The error that took the server down, or None while it answers.
        self.down: RedisUnavailable | None = None
        self.down_since = 0.0
        #: When (time.monotonic()) a call may try the server again.
        self.retry_at = 0.0
        #: The server's clock minus ours, in seconds (measured when first needed).
        self.clock_offset: float | None = None

    @property
    def label(self) -> str:
        """The server as errors and logs name it (never with its password)."""
        return self._label

    def _new_connection(self) -> _ThreadConnection:
        return _ThreadConnection(self._connection_class(**self._connection_kwargs))

    def _connection(self) -> Any:
        """Return this thread's connection, connected and with nothing unread on it."""
        return self._threads.get().ready()

    def run(self, packed: bytes, script: Script | None) -> Any:
        """Send one packed command and return its reply.

        ``script`` is the script an ``EVALSHA`` runs, loaded if the server
        lacks it. Any failure raises :class:`RedisUnavailable` (or a subclass)
        naming the server.
        """
        from redis.exceptions import NoScriptError, RedisError

        if self.down is not None:
            self._before_retry()
        sent = False
        try:
            connection = self._connection()
            connection.send_packed_command([packed], check_health=False)
            sent = True
            try:
                reply = connection.read_response()
            except NoScriptError:
                if script is None:
                    raise
                # A new or restarted server: the script did not run. Load it, run it once.
                sent = False
                connection.send_packed_command([pack(["SCRIPT", "LOAD", script.source])])
                connection.read_response()
                connection.send_packed_command([packed], check_health=False)
                sent = True
                reply = connection.read_response()
        except (RedisError, OSError) as error:
            problem = self.describe(error, may_have_run=sent)
            if problem.server_down:
                self._forget()
                self._went_down(problem)
            elif self.down is not None:
                self._came_back()  # it answered, if with an error
            raise problem from error
        if self.down is not None:
            self._came_back()
        return reply

    def now_ms(self) -> float:
        """Return the server's clock in ms, estimated from ours and an offset measured once."""
        offset = self.clock_offset
        if offset is None:
            before = time.time()
            seconds, microseconds = map(int, self.run(pack(["TIME"]), None))
            after = time.time()
            offset = seconds + microseconds / 1e6 - (before + after) / 2
            self.clock_offset = offset
        return (time.time() + offset) * 1000

    def describe(self, error: BaseException, *, may_have_run: bool) -> RedisUnavailable:
        """Return the layer's error for ``error`` from this server."""
        return describe_error(self.label, error, may_have_run=may_have_run, hosts_hint=self.hosts_hint)

    def _before_retry(self) -> None:
        """While down: fail at once, unless it is time for this call to try the server."""
        with self._lock:
            down = self.down
            if down is None:
                return
            now = time.monotonic()
            if now < self.retry_at:
                raise type(down)(str(down))
            self.retry_at = now + DOWN_RETRY_INTERVAL

    def _went_down(self, problem: RedisUnavailable) -> None:
        with self._lock:
            first = self.down is None
            self.down = problem
            self.clock_offset = None  # it may come back elsewhere (a failover)
            self.retry_at = time.monotonic() + DOWN_RETRY_INTERVAL
            if first:
                self.down_since = time.monotonic()
        if first and self.log_changes:
            logger.error(
                "%s Calls for its channels fail until it is back; the layer's other servers carry on.", problem
            )

    def _came_back(self) -> None:
        with self._lock:
            if self.down is None:
                return
            self.down = None
            seconds = time.monotonic() - self.down_since
        if self.log_changes:
            logger.warning("The Redis server %s of the channel layer answers again after %.1f s.", self.label, seconds)

    def _forget(self) -> None:
        held = self._threads.peek()
        if held is not None:
            held.drop()

    def close(self) -> None:
        self._forget()
        self.client.connection_pool.disconnect()


class _ThreadConnection:
    """One thread's connection to a server, and a poller that tells if the server closed it."""

    def __init__(self, connection: Any):
        self.connection = connection
        self._poller: select.poll | None = None

    def ready(self) -> Any:
        """Return the connection, connected and with nothing unread on it.

        Readable while idle means the server closed it (a restart) or sent
        junk: it is replaced before anything is sent on it. The check polls
        the connection's socket (redis-py's private ``_sock``; see
        :mod:`.resp` for why this path is kept).
        """
        connection, poller = self.connection, self._poller
        if poller is not None and poller.poll(0):
            connection.disconnect()
            poller = None
        if poller is None:
            connection.connect()
            poller = self._poller = select.poll()
            poller.register(connection._sock, select.POLLIN)
        return connection

    def drop(self) -> None:
        """Close the connection; the next :meth:`ready` opens it again."""
        self.connection.disconnect()
        self._poller = None
