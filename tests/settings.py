"""Settings for channels_test's own test suite.

CHANNELS_TEST_DATABASE=postgres runs it on the local PostgreSQL server
(database ``CHANNELS_TEST_PG_NAME``, default ``test``) instead of SQLite.
"""

import os
import tempfile

BASE_DIR = os.path.dirname(os.path.abspath(__file__))

# One id per test run, inherited by the processes the run starts, so that
# runs side by side on one machine never share a test database.
RUN_ID = os.environ.setdefault("CHANNELS_TEST_RUN_ID", str(os.getpid()))

SECRET_KEY = "channels-test-suite-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
USE_TZ = True

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "channels_test",
    "channels_test.delay",
    "tests.testapp",
    "tests.reference",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

ROOT_URLCONF = "tests.testapp.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

if os.environ.get("CHANNELS_TEST_DATABASE") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("CHANNELS_TEST_PG_NAME", "test"),
            "HOST": os.environ.get("CHANNELS_TEST_PG_HOST", "127.0.0.1"),
            "USER": os.environ.get("CHANNELS_TEST_PG_USER", "postgres"),
            "TEST": {"NAME": f"test_channels_test_{RUN_ID}"},
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.path.join(tempfile.gettempdir(), "channels_test_suite.sqlite3"),
            # A file, not memory: live-server child processes open it too.
            "TEST": {"NAME": os.path.join(tempfile.gettempdir(), f"channels_test_suite_{RUN_ID}.sqlite3")},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
SESSION_ENGINE = "django.contrib.sessions.backends.db"
STATIC_URL = "/static/"

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_test.layers.inmemory.InMemoryChannelLayer",
        "ROUTING": "tests.routing.channel_routing",
    },
    "other": {
        "BACKEND": "channels_test.layers.inmemory.InMemoryChannelLayer",
        "ROUTING": "tests.routing.other_routing",
    },
}

TEST_RUNNER = "tests.runner.CountingRunner"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}},
    "loggers": {
        "channels_test": {"handlers": ["null"], "propagate": False},
        "django.channels": {"handlers": ["null"], "propagate": False},
    },
}
