"""Static files over the channel layer, for development and the live server.

Static files go through the layer like every other request: the interface
sends ``http.request`` and a worker answers it. :class:`StaticFilesConsumer`
is a :class:`~channels_test.handler.ViewConsumer` that answers paths under
``STATIC_URL`` from the static files finders (as Django's ``runserver``
does) and passes every other request on to the views. ``runserver`` puts it
in place of the default ``http.request`` consumer when ``DEBUG`` is on.
Never use it in production: serve static files from the web server or a CDN.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from django.conf import settings
from django.core.handlers.exception import response_for_exception
from django.http import Http404, HttpRequest, HttpResponseBase

from .handler import AsgiHandler, ViewConsumer

__all__ = ["StaticFilesHandler", "StaticFilesConsumer", "add_default_routes"]


class StaticFilesHandler(AsgiHandler):
    """An :class:`AsgiHandler` that serves ``STATIC_URL`` paths with the staticfiles finders."""

    def static_prefix(self) -> str | None:
        """Return the URL path static files live under, or None if they are served elsewhere."""
        static_url = getattr(settings, "STATIC_URL", None)
        if not static_url:
            return None
        parsed = urlparse(static_url)
        if parsed.netloc:
            return None  # on another host (a CDN): not ours to serve
        return parsed.path if parsed.path.endswith("/") else parsed.path + "/"

    def get_response(self, request: HttpRequest) -> HttpResponseBase:
        prefix = self.static_prefix()
        if prefix is None or not request.path.startswith(prefix):
            return super().get_response(request)
        from django.contrib.staticfiles.views import serve

        try:
            return serve(request, request.path[len(prefix) :], insecure=True)
        except Http404 as error:
            return response_for_exception(request, error)


class StaticFilesConsumer(ViewConsumer):
    """Answer ``http.request`` with static files under ``STATIC_URL``, else with the views."""

    handler_class = StaticFilesHandler


def add_default_routes(router: Any, *, serve_static: bool = False) -> None:
    """Give ``router`` Django's default consumers (:meth:`Router.check_default`), as servers do.

    With ``serve_static`` and ``django.contrib.staticfiles`` installed,
    ``http.request`` goes to a :class:`StaticFilesConsumer` (files under
    ``STATIC_URL``, the views behind them), as Channels 1.x's ``runworker``
    did with ``DEBUG`` on. A project that routes ``http.request`` to a
    consumer of its own keeps it: the defaults come after its routes.
    """
    from django.apps import apps

    if serve_static and apps.is_installed("django.contrib.staticfiles"):
        router.check_default(http_consumer=StaticFilesConsumer())
    else:
        router.check_default()
