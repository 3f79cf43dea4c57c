"""``apply_routes``: test consumers against a routing of the test's choosing."""

from __future__ import annotations

import inspect
import unittest
from collections.abc import Iterable
from typing import Any

from django.test.utils import TestContextDecorator

from ..channel import DEFAULT_CHANNEL_LAYER

__all__ = ["apply_routes"]


class apply_routes(TestContextDecorator):
    """Use ``routes`` as the routing of the layers ``aliases`` for a while.

    ``routes`` is a route, a list of routes, or a list of such lists. Use it
    as a context manager, a test-method decorator (also on ``async def``
    tests), or a test-class decorator, as Django's ``override_settings``:
    on a unittest class the routes apply before ``setUp`` of each test and
    go after its clean-ups; on any other class, such as a pytest test
    class, each ``test*`` method is decorated. Uses nest, also of one instance; the
    previous routing is back on leaving, also after an exception. The layer
    wrapper itself is changed, so clients made earlier see the new routes.
    """

    def __init__(self, routes: Any, aliases: Iterable[str] | None = None):
        from ..routing import Router

        if isinstance(aliases, str):
            raise TypeError(f"aliases must be a list of layer aliases, not the str {aliases!r}: write [{aliases!r}].")
        super().__init__()
        self.routes = routes
        self.aliases = [DEFAULT_CHANNEL_LAYER] if aliases is None else list(aliases)
        Router(routes)  # check the routes now, where the mistake is written
        self._saved: list[list[tuple]] = []  # one entry per use in progress

    def enable(self) -> apply_routes:
        """Route the layers by ``routes``; remember what to restore."""
        from ..asgi import channel_layers
        from ..routing import Router

        saved: list[tuple] = []  # (wrapper, previous routing, previous router)
        try:
            for alias in self.aliases:
                wrapper = channel_layers[alias]
                saved.append((wrapper, *wrapper.set_routing(self.routes, Router(self.routes))))
        except BaseException:
            _restore(saved)
            raise
        self._saved.append(saved)
        return self

    def disable(self) -> None:
        """Put back the routing the latest :meth:`enable` replaced."""
        _restore(self._saved.pop())

    def decorate_class(self, cls: type) -> type:
        if issubclass(cls, unittest.TestCase):
            decorated = super().decorate_class(cls)
            decorated.setUp.__qualname__ = f"{cls.__qualname__}.setUp"
            return decorated
        for name in dir(cls):
            method = getattr(cls, name)
            if name.startswith("test") and inspect.isfunction(method):
                setattr(cls, name, self.decorate_callable(method))
        return cls


def _restore(saved: list[tuple]) -> None:
    for wrapper, routing, router in reversed(saved):
        wrapper.set_routing(routing, router)
