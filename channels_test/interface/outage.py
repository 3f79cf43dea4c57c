"""Layer outages and refused closes: what the interface logs once and how it ends connections."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

logger = logging.getLogger("channels_test.interface")

#: Seconds a client is told to wait (``Retry-After``) while the layer is down.
LAYER_DOWN_RETRY_AFTER = 5
#: Seconds a client is told to wait (``Retry-After``) when ``http.request`` is full:
#: the workers are behind, which passes sooner than an outage.
CHANNEL_FULL_RETRY_AFTER = 1


class LayerOutage:
    """Log a channel-layer outage once as it starts and once as it ends, from any thread.

    ``source`` tells sends from the reply thread's receives: only the kind of
    call that saw the outage start can end it, so with a layer of several
    Redis servers, where one kind may fail while the other works, the log
    does not flap.
    """

    def __init__(self) -> None:
        self.since: float | None = None
        self.source = ""
        self._lock = threading.Lock()

    def started(self, error: BaseException, source: str) -> None:
        with self._lock:
            if self.since is not None:
                return
            self.since, self.source = time.monotonic(), source
        logger.error(
            "The channel layer is unavailable: %s Answering 503 to HTTP requests and closing "
            "WebSockets (1013, try again later; 1011 under Daphne) until it answers again.",
            error,
        )

    def over(self, source: str) -> None:
        if self.since is None:
            return
        with self._lock:
            if self.since is None or self.source != source:
                return
            seconds, self.since = time.monotonic() - self.since, None
        logger.warning("The channel layer answers again after %.1f s.", seconds)


class LayerDown(Exception):
    """A send to the layer failed because the layer is down (logged once per outage)."""


def layer_errors(layer: Any) -> tuple:
    """Return the exception classes by which ``layer`` says it is down, not that a call was wrong."""
    unavailable = getattr(layer, "Unavailable", None)
    if isinstance(unavailable, type) and not issubclass(unavailable, ConnectionError):
        return (ConnectionError, unavailable)
    return (ConnectionError,)


class _QuietRefusedCloses(logging.Filter):
    """Drop the ASGI server's traceback for a close it refused that the interface logged already."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (isinstance(error, CloseCodeRefused) and error.logged)


class CloseCodeRefused(RuntimeError):
    """The ASGI server would not close a WebSocket with the code asked for.

    ``logged`` is True when the interface has logged the reason already
    (the layer is down): the server's own traceback for it is then dropped.
    """

    logged = False


def quiet_server_tracebacks() -> None:
    """Have Daphne drop its traceback for closes the interface refused knowingly (once per process)."""
    server_logger = logging.getLogger("daphne.server")
    if not any(isinstance(existing, _QuietRefusedCloses) for existing in server_logger.filters):
        server_logger.addFilter(_QuietRefusedCloses())
