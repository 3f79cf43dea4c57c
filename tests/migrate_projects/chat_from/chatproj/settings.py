# Settings of a Channels 1.x chat project: channels, Redis through asgi_redis.
SECRET_KEY = "not-secret"
DEBUG = True

INSTALLED_APPS = [
    'django.contrib.auth',
    'django.contrib.contenttypes',
    'django.contrib.sessions',
    'channels',  # the interface server and workers
    'chat',
]

DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
}

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "asgi_redis.RedisChannelLayer",
        "CONFIG": {
            "hosts": [("127.0.0.1", 6379)],  # local Redis
            "prefix": "chat-from:",
            "stats_prefix": "chat-from-stats:",
        },
        "ROUTING": "chatproj.routing.channel_routing",
    },
}

SESSION_ENGINE = "django.contrib.sessions.backends.cache"
USE_TZ = True
