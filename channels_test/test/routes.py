"""``apply_routes``: test consumers against a routing of the test's choosing."""

from __future__ import annotations

import functools
import inspect
from typing import Any, Iterable

from ..channel import DEFAULT_CHANNEL_LAYER

__all__ = ["apply_routes"]


class apply_routes:
    """Use ``routes`` as the routing of the layers ``aliases`` for a while.

    ``routes`` is a route, a list of routes, or a list of such lists. Use it
    as a context manager, a test-method decorator, or a test-class decorator
    (routes applied before ``setUp`` of each test, removed after its
    clean-ups; on a class without ``setUp``, such as a pytest test class,
    each ``test*`` method is decorated). Uses nest; the previous routing is back on leaving, also
    after an exception. The layer wrapper itself is changed, so clients made
    earlier see the new routes.
    """

    def __init__(self, routes: Any, aliases: Iterable[str] | None = None):
        from ..routing import Router

        if isinstance(aliases, str):
            raise TypeError(f"aliases must be a list of layer aliases, not the str {aliases!r}: write [{aliases!r}].")
        self.routes = routes
        self.aliases = [DEFAULT_CHANNEL_LAYER] if aliases is None else list(aliases)
        Router(routes)  # check the routes now, where the mistake is written
        self._saved: list[list[tuple]] = []

    def __enter__(self) -> apply_routes:
        from ..asgi import channel_layers
        from ..routing import Router

        saved: list[tuple] = []
        try:
            for alias in self.aliases:
                wrapper = channel_layers[alias]
                router = Router(self.routes)
                saved.append((wrapper, wrapper.routing, wrapper._router))
                wrapper.routing, wrapper._router = self.routes, router
        except BaseException:
            _restore(saved)
            raise
        self._saved.append(saved)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        _restore(self._saved.pop())

    def __call__(self, target: Any) -> Any:
        if isinstance(target, type):
            return self._decorate_class(target)
        if inspect.iscoroutinefunction(target):

            @functools.wraps(target)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with self:
                    return await target(*args, **kwargs)

            return run_async

        @functools.wraps(target)
        def run(*args: Any, **kwargs: Any) -> Any:
            with self:
                return target(*args, **kwargs)

        return run

    def _decorate_class(self, test_class: type) -> type:
        if not hasattr(test_class, "setUp"):
            for name in dir(test_class):
                method = getattr(test_class, name)
                if name.startswith("test") and inspect.isfunction(method):
                    setattr(test_class, name, self(method))
            return test_class
        set_up = test_class.setUp
        routes = self

        def setUp(test: Any) -> None:
            routes.__enter__()
            test.addCleanup(routes.__exit__, None, None, None)
            set_up(test)

        setUp.__qualname__ = f"{test_class.__qualname__}.setUp"
        test_class.setUp = setUp
        return test_class


def _restore(saved: list[tuple]) -> None:
    for wrapper, routing, router in reversed(saved):
        wrapper.routing, wrapper._router = routing, router
