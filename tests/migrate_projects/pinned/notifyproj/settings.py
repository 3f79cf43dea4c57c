SECRET_KEY = "not-secret"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "channels",
    "notify",
]
INSTALLED_APPS += ["channels_api"]  # a look-alike: left as it is
INSTALLED_APPS.remove("channels_api")

MIDDLEWARE_CLASSES = [
    "django.middleware.common.CommonMiddleware",
]

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "asgi_ipc.IPCChannelLayer",
        "ROUTING": "notifyproj.routing.channel_routing",
        "CONFIG": {
            "prefix": "notify",
            "message_memory": 200 * 1024 * 1024,
            "channel_memory": 10 * 1024 * 1024,
        },
    },
}
