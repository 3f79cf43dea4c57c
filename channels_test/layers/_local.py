"""One value per thread of this process, made anew in a forked child.

The SQLite and Redis layers keep a connection per thread: a connection is
not safe to share between threads, and one a child process inherited from
its parent by ``fork`` is the parent's (its socket or file lock is shared),
so the child must open its own and never close the parent's.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["ForkSafeLocal"]

T = TypeVar("T")


class ForkSafeLocal(Generic[T]):
    """Hold one value per thread, made by ``make()`` on first use in each thread and process.

    A value made in another process (a fork's parent) is never returned:
    ``inherited(value)``, if given, is called with it (to keep it from being
    closed or garbage collected here) and a new one is made.
    """

    def __init__(self, make: Callable[[], T], *, inherited: Callable[[T], None] | None = None):
        self._make = make
        self._inherited = inherited
        self._local = threading.local()

    def get(self) -> T:
        """Return this thread's value, making it first if this thread of this process has none."""
        entry = getattr(self._local, "entry", None)
        if entry is not None:
            if entry[0] == os.getpid():
                return entry[1]
            if self._inherited is not None:
                self._inherited(entry[1])
        value = self._make()
        self._local.entry = (os.getpid(), value)
        return value

    def peek(self) -> T | None:
        """Return this thread's value if it has one made in this process, else None."""
        entry = getattr(self._local, "entry", None)
        return entry[1] if entry is not None and entry[0] == os.getpid() else None

    def forget(self) -> T | None:
        """Drop this thread's value (the next :meth:`get` makes a new one); return it, or None."""
        value = self.peek()
        self._local.entry = None
        return value
