"""Settings for the pytest plugin's tests (pytest.ini names them).

CHANNELS_TEST_DATABASE=postgres runs them on the local PostgreSQL server
instead of SQLite, as for the suite in tests/.
"""

import os
import tempfile

# One id per run, inherited by the processes the run starts, so that runs
# side by side on one machine never share a test database.
RUN_ID = os.environ.setdefault("CHANNELS_TEST_RUN_ID", str(os.getpid()))

SECRET_KEY = "channels-test-pytest-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
USE_TZ = True

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "channels_test",
    "channels_test.delay",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

ROOT_URLCONF = "tests_pytest.urls"

if os.environ.get("CHANNELS_TEST_DATABASE") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("CHANNELS_TEST_PG_NAME", "test"),
            "HOST": os.environ.get("CHANNELS_TEST_PG_HOST", "127.0.0.1"),
            "USER": os.environ.get("CHANNELS_TEST_PG_USER", "postgres"),
            "TEST": {"NAME": f"test_channels_test_pytest_{RUN_ID}"},
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.path.join(tempfile.gettempdir(), "channels_test_pytest.sqlite3"),
            # A file, not memory: the live server's processes open it too.
            "TEST": {"NAME": os.path.join(tempfile.gettempdir(), f"channels_test_pytest_{RUN_ID}.sqlite3")},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
SESSION_ENGINE = "django.contrib.sessions.backends.db"
STATIC_URL = "/static/"

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_test.layers.inmemory.InMemoryChannelLayer",
        "ROUTING": "tests_pytest.routing.channel_routing",
    },
    "other": {
        "BACKEND": "channels_test.layers.inmemory.InMemoryChannelLayer",
        "ROUTING": "tests_pytest.routing.other_routing",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}},
    "loggers": {"channels_test": {"handlers": ["null"], "propagate": False}},
}
