"""The ASGI application for Daphne: ``daphne chatsite.asgi:application``.

Daphne only carries traffic to and from the channel layer; run
``manage.py runworker`` beside it to run the consumers (or use
``manage.py runserver``, which runs both).
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
django.setup()

from channels_test.interface import application  # noqa: E402

__all__ = ["application"]
