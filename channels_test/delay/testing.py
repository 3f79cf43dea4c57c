"""Deliver delayed messages in tests without waiting for them.

:meth:`ChannelTestCase.advance_delay_clock
<channels_test.test.ChannelTestCase.advance_delay_clock>` is the way to use
it; :class:`DelayClock` is the same thing for tests written without
``ChannelTestCase`` (pytest functions, for example).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from ..channel import DEFAULT_CHANNEL_LAYER

__all__ = ["DelayClock"]


class DelayClock:
    """The delay server's clock for one test: it moves only when :meth:`advance` moves it.

    It reads the real time when it is made, then stands still: only
    :meth:`advance` moves it, so a test's outcome never depends on how fast
    the test runs. Each :meth:`advance` takes the requests
    waiting on ``asgi.delay`` of layer ``alias`` into the table (due their
    delay after the clock's current time), moves the clock forward, and
    sends every stored message now due, as the delay server would.
    """

    def __init__(self, alias: str = DEFAULT_CHANNEL_LAYER):
        if not apps.is_installed("channels_test.delay"):
            raise ImproperlyConfigured(
                "Delayed messages need the delay app: add 'channels_test.delay' to INSTALLED_APPS "
                "(next to 'channels_test') and run the tests again."
            )
        self.alias = alias
        self.start = timezone.now()
        self.offset = timedelta(0)

    def now(self) -> datetime:
        """Return the time on this clock: the time it was made plus every advance so far."""
        return self.start + self.offset

    def worker(self) -> Any:
        from ..asgi import channel_layers
        from .worker import Worker

        return Worker(channel_layers[self.alias], signal_handlers=False)

    def advance(self, seconds: float = 0, *, milliseconds: float = 0) -> int:
        """Move the clock forward and send what is due then; return how many were sent.

        Requests on ``asgi.delay`` are stored first, at the time before the
        move. A request the delay server would drop raises AssertionError
        with the reason (after the valid ones are stored).
        """
        if seconds < 0 or milliseconds < 0:
            raise ValueError(
                f"The delay clock only moves forward; got seconds={seconds!r}, milliseconds={milliseconds!r}."
            )
        worker = self.worker()
        self.take_requests(worker)
        self.offset += timedelta(seconds=seconds, milliseconds=milliseconds)
        return worker.send_due(now=self.now())

    def take_requests(self, worker: Any) -> int:
        """Store every request waiting on ``asgi.delay``; return how many were stored."""
        from .worker import InvalidDelayRequest

        stored, refused = 0, []
        now = self.now()
        while True:
            content = worker.receive()
            if content is None:
                break
            try:
                worker.store(content, now=now)
            except InvalidDelayRequest as error:
                refused.append(f"  {error}; the message: {content!r:.300}")
            else:
                stored += 1
        if refused:
            raise AssertionError(
                f"{len(refused)} message(s) on {worker.delay_channel!r} would be dropped by the "
                "delay server:\n" + "\n".join(refused)
            )
        return stored
