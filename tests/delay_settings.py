"""Settings of the project the delay server's process tests run (rundelay, runserver).

The interface tests' project (:mod:`tests.interface_settings`, whose
``CHANNELS_INTERFACE_TEST_*`` variables apply) plus ``channels_test.delay``,
on the database the test names:
``CHANNELS_INTERFACE_TEST_DELAY_DB`` -- a SQLite file, or ``postgres:<name>``
for that database on the local PostgreSQL server.
"""

import os

from .interface_settings import *  # noqa: F403
from .interface_settings import CHANNEL_LAYERS, INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "channels_test.delay"]

_DATABASE = os.environ["CHANNELS_INTERFACE_TEST_DELAY_DB"]
if _DATABASE.startswith("postgres:"):
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": _DATABASE.split(":", 1)[1],
            "HOST": "127.0.0.1",
            "USER": "postgres",
        }
    }
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": _DATABASE}}

CHANNEL_LAYERS["default"]["ROUTING"] = "tests.delay_project.channel_routing"
# Room for every request a test sends at once; the target channel keeps the default 100.
CHANNEL_LAYERS["default"]["CONFIG"]["channel_capacity"] = {"asgi.delay": 1000}
