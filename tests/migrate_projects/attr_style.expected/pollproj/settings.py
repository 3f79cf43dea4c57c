"""Settings of a Channels 1.0 project that imports the package and uses attributes."""

SECRET_KEY = "not-secret"

INSTALLED_APPS = (
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "channels_test",
    "polls",
)

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_test.layers.inmemory.InMemoryChannelLayer",
        "ROUTING": "pollproj.routing.channel_routing",
    },
}
