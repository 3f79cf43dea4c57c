"""Settings of the project the interface tests serve from real Daphne and worker processes.

The test sets, through the environment:
``CHANNELS_INTERFACE_TEST_LAYER`` -- the SQLite layer file (unset: in-memory layer, for runserver),
``CHANNELS_INTERFACE_TEST_REDIS=1`` -- the Redis layer instead (benchmarks),
``CHANNELS_INTERFACE_TEST_REDIS_URL`` -- ... on the Redis server at this URL (outage tests),
``CHANNELS_INTERFACE_TEST_CAPACITY`` -- capacity of 'http.request' and 'websocket.receive',
``CHANNELS_INTERFACE_TEST_HTTP_TIMEOUT`` / ``..._CONNECT_TIMEOUT`` -- the interface timeouts,
``CHANNELS_INTERFACE_TEST_PROBE`` -- a module to import (runserver's autoreload watches it);
its ``VALUE`` becomes ``PROBE_VALUE``, which ``/probe/`` shows.
"""

import importlib
import os
import tempfile

SECRET_KEY = "channels-interface-tests-not-secret"
DEBUG = os.environ.get("CHANNELS_INTERFACE_TEST_DEBUG") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True

# channels_test first: its runserver wins over the staticfiles one.
INSTALLED_APPS = [
    "channels_test",
    "django.contrib.staticfiles",
    "django.contrib.contenttypes",
    "django.contrib.auth",
]
MIDDLEWARE = ["tests.interface_project.stamp_middleware"]
ROOT_URLCONF = "tests.interface_project"
STATIC_URL = "/static/"
STATICFILES_DIRS = [os.path.join(os.path.dirname(os.path.abspath(__file__)), "live", "static")]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.path.join(tempfile.gettempdir(), "channels_interface_tests.sqlite3"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

_LAYER_PATH = os.environ.get("CHANNELS_INTERFACE_TEST_LAYER")
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": (
            "channels_test.layers.sqlite.SQLiteChannelLayer"
            if _LAYER_PATH
            else "channels_test.layers.inmemory.InMemoryChannelLayer"
        ),
        "CONFIG": {"path": _LAYER_PATH} if _LAYER_PATH else {},
        "ROUTING": "tests.interface_project.channel_routing",
    },
}

if os.environ.get("CHANNELS_INTERFACE_TEST_CAPACITY"):
    # Back-pressure tests: tiny channels fill at once.
    _CAPACITY = int(os.environ["CHANNELS_INTERFACE_TEST_CAPACITY"])
    CHANNEL_LAYERS["default"]["CONFIG"]["channel_capacity"] = {
        "http.request": _CAPACITY,
        "websocket.receive": _CAPACITY,
    }


def redis_layer_config(layer_path: str) -> dict:
    """Return the Redis layer's CONFIG: the local server, namespaced by the run's temp directory."""
    directory = os.path.basename(os.path.dirname(layer_path))
    return {"hosts": ["redis://127.0.0.1:6379/0"], "prefix": "ifacetest" + directory.replace("-", "_")}


if os.environ.get("CHANNELS_INTERFACE_TEST_REDIS") == "1":
    CHANNEL_LAYERS["default"]["BACKEND"] = "channels_test.layers.redis.RedisChannelLayer"
    CHANNEL_LAYERS["default"]["CONFIG"] = redis_layer_config(_LAYER_PATH or "x")
    if os.environ.get("CHANNELS_INTERFACE_TEST_REDIS_URL"):
        CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] = [os.environ["CHANNELS_INTERFACE_TEST_REDIS_URL"]]

CHANNELS_HTTP_TIMEOUT = float(os.environ.get("CHANNELS_INTERFACE_TEST_HTTP_TIMEOUT", "30"))
CHANNELS_WEBSOCKET_CONNECT_TIMEOUT = float(os.environ.get("CHANNELS_INTERFACE_TEST_CONNECT_TIMEOUT", "10"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"channels_test": {"handlers": ["stderr"], "level": "WARNING", "propagate": False}},
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

if os.environ.get("CHANNELS_INTERFACE_TEST_PROBE"):
    PROBE_VALUE = importlib.import_module(os.environ["CHANNELS_INTERFACE_TEST_PROBE"]).VALUE
