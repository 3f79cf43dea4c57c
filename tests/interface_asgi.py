"""The ASGI module the interface tests hand to ``daphne``: what a project's asgi.py holds."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.interface_settings")
django.setup()

from channels_test.interface import application  # noqa: E402

__all__ = ["application"]

# The same project served by Django's own ASGI handler, with no channel layer:
# what bench/live.py compares the layer's HTTP throughput against.
from django.core.handlers.asgi import ASGIHandler  # noqa: E402

django_application = ASGIHandler()
