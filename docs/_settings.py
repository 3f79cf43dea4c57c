"""The smallest Django settings the API reference needs to import every module."""

SECRET_KEY = "docs-only"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "channels_test",
    "channels_test.delay",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
CHANNEL_LAYERS = {"default": {"BACKEND": "channels_test.layers.inmemory.InMemoryChannelLayer", "ROUTING": []}}
USE_TZ = True
