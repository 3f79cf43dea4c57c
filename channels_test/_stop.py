"""A stop request a signal handler may make: the workers' and the delay server's."""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["StopRequest", "termed_property"]


class StopRequest:
    """A flag to stop a loop, and a wait that setting the flag ends.

    :meth:`set` is safe in a signal handler. A ``threading.Event`` is not:
    its ``set()`` takes a lock that its ``wait()`` holds for a few
    bytecodes, and a handler run in the waiting thread at that moment waits
    for itself forever (a ``rundelay`` that never stopped on SIGTERM). Here
    the flag is a plain attribute, and the wait is on a gate lock, held
    while the flag is down, that :meth:`set` releases: a lock's release
    takes no other lock, and a wait interrupted by the handler then finds
    the gate open.
    """

    def __init__(self) -> None:
        self._set = False
        self._gate = threading.Lock()
        self._gate.acquire()

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        if self._set:
            return
        self._set = True
        try:
            self._gate.release()
        except RuntimeError:
            pass  # a signal handler, run between the two lines above, opened it already

    def clear(self) -> None:
        self._set = False
        self._gate.acquire(blocking=False)

    def wait(self, timeout: float) -> bool:
        """Wait until the flag is set or ``timeout`` seconds pass; return whether it is set."""
        if not self._set and self._gate.acquire(timeout=max(timeout, 0)) and self._set:
            # Open: keep it so for the next wait. (Cleared meanwhile, it stays shut.)
            try:
                self._gate.release()
            except RuntimeError:
                pass  # a set() just now opened it again
        return self._set


def termed_property(loop: str, step: str) -> property:
    """Return the ``termed`` property of a ``loop`` whose stop request is ``self._stopping``."""

    def termed(self: Any) -> bool:
        return self._stopping.is_set()

    def set_termed(self: Any, value: bool) -> None:
        if value:
            self._stopping.set()
        else:
            self._stopping.clear()

    return property(
        termed,
        set_termed,
        doc=f"""True once the {loop} was asked to stop; :meth:`run` checks it before each {step}.

        A plain attribute in Channels 1.x: setting it to True stops the
        {loop}, and a subclass may override it (as 1.x's own tests did).
        """,
    )
