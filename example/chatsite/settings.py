"""Settings of the chat example: a Django project in the Channels 1.x model.

Everything runs on one machine with no server to install: the database and
the channel layer are SQLite files next to this project.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# Development values; set DJANGO_SECRET_KEY and DEBUG=False in production.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "chat-example-development-key-not-secret")
DEBUG = True
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]"]

INSTALLED_APPS = [
    # Above staticfiles: its runserver (Daphne plus workers) is the one used.
    "channels_test",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "chat",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "chatsite.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "db.sqlite3",
        # A file, not memory: the live-server tests' Daphne and worker
        # processes open the test database too.
        "TEST": {"NAME": BASE_DIR / "test_db.sqlite3"},
    }
}

CHANNEL_LAYERS = {
    "default": {
        # One file every process on this machine shares: runserver, or
        # Daphne plus any number of "manage.py runworker" processes.
        # Across machines, use channels_test.layers.redis.RedisChannelLayer.
        "BACKEND": "channels_test.layers.sqlite.SQLiteChannelLayer",
        "CONFIG": {"path": str(BASE_DIR / "channels.sqlite3")},
        "ROUTING": "chatsite.routing.channel_routing",
    },
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
TIME_ZONE = "UTC"
USE_TZ = True
STATIC_URL = "static/"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "chat:index"
LOGOUT_REDIRECT_URL = "chat:index"
