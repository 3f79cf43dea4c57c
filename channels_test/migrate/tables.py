"""What the migration knows about Channels 1.x: its names, and what it maps them to."""

from __future__ import annotations

from channels_test.deprecation import LEGACY_BACKENDS, LEGACY_IGNORED_OPTIONS

OLD_PACKAGE = "channels"
NEW_PACKAGE = "channels_test"

# Channels 1.1.8's modules below the package, and the names its ``__init__`` exports:
# a string "channels.<one of these>..." is a dotted path into Channels 1.x.
OLD_SUBMODULES = frozenset(
    {
        "apps", "asgi", "auth", "binding", "channel", "delay", "exceptions", "generic",
        "hacks", "handler", "log", "management", "message", "package_checks", "routing",
        "security", "sessions", "signals", "staticfiles", "test", "tests", "utils", "worker",
    }
)  # fmt: skip
OLD_TOP_LEVEL_NAMES = frozenset(
    {
        "Channel", "Group", "DEFAULT_CHANNEL_LAYER", "channel_layers",
        "route", "route_class", "include",
    }
)  # fmt: skip

# The 1.x BACKEND paths and the CONFIG options our layers ignore: the settings shim's own tables.
BACKENDS: dict[str, str] = LEGACY_BACKENDS
IGNORED_OPTIONS: dict[str, tuple[str, ...]] = LEGACY_IGNORED_OPTIONS

# Channels 1.x modules and names that channels_test does not carry, with what to do instead.
MISSING_APIS: dict[str, str] = {
    "channels.hacks": (
        "channels.hacks (monkeypatching Django's runserver) is not carried: list "
        "'channels_test' above 'django.contrib.staticfiles' in INSTALLED_APPS and remove "
        "the call"
    ),
    "channels.package_checks": (
        "channels.package_checks (version checks of asgi_redis, asgi_ipc, asgi_rabbitmq) is "
        "not carried: channels_test uses none of them; remove the call"
    ),
    "channels.default_app_config": (
        "channels.default_app_config is not carried: Django finds the app config itself; remove the reference"
    ),
    "channels.management.commands.runserver.WorkerThread": (
        "runserver's WorkerThread is not carried: run channels_test.worker.Worker in a "
        "thread of your own, or use 'manage.py runworker'"
    ),
}

# 1.x layer packages with no counterpart here: a BACKEND in one of them is reported.
UNMAPPED_LAYER_PACKAGES = {
    "asgi_rabbitmq": (
        "the asgi_rabbitmq layer is not carried: use "
        "channels_test.layers.redis.RedisChannelLayer or "
        "channels_test.layers.sqlite.SQLiteChannelLayer"
    ),
}


# 1.x CONFIG of a layer or ASGI module that channels_test serves differently.
ASGI_MODULE_NOTE = (
    "Daphne 4 serves an ASGI application, not a channel layer: expose "
    "'from channels_test.interface import application' here and start "
    "'daphne <project>.asgi:application' (see the migration guide)"
)

# Settings, modules and names a Django upgrade from 1.11/2.2 to 4.2+ must change.
DJANGO_SETTINGS = {
    "MIDDLEWARE_CLASSES": "MIDDLEWARE_CLASSES is ignored since Django 2.0: use MIDDLEWARE (new-style middleware)",
    "TEMPLATE_DIRS": "TEMPLATE_* settings are gone since Django 1.10: use TEMPLATES",
    "TEMPLATE_CONTEXT_PROCESSORS": "TEMPLATE_* settings are gone since Django 1.10: use TEMPLATES",
    "TEMPLATE_LOADERS": "TEMPLATE_* settings are gone since Django 1.10: use TEMPLATES",
    "TEMPLATE_DEBUG": "TEMPLATE_* settings are gone since Django 1.10: use TEMPLATES",
}
DJANGO_MODULES = {
    "django.core.urlresolvers": "django.core.urlresolvers was removed in Django 2.0: use django.urls",
    "django.utils.six": "django.utils.six was removed in Django 3.0: use Python 3 directly",
}
DJANGO_NAMES = {
    "django.conf.urls.url": "django.conf.urls.url() was removed in Django 4.0: use django.urls.re_path() (or path())",
    "django.conf.urls.patterns": "django.conf.urls.patterns() was removed in Django 1.10: use a plain list",
    "django.shortcuts.render_to_response": "render_to_response() was removed in Django 3.0: use render()",
    "django.utils.encoding.force_text": "force_text() was removed in Django 4.0: use force_str()",
    "django.utils.encoding.smart_text": "smart_text() was removed in Django 4.0: use smart_str()",
    "django.utils.encoding.python_2_unicode_compatible": "python_2_unicode_compatible was "
    "removed in Django 3.0: define __str__ only",
    "django.utils.translation.ugettext": "ugettext() was removed in Django 4.0: use gettext()",
    "django.utils.translation.ugettext_lazy": "ugettext_lazy() was removed in Django 4.0: use gettext_lazy()",
    "django.utils.translation.ungettext": "ungettext() was removed in Django 4.0: use ngettext()",
    "django.utils.translation.ungettext_lazy": "ungettext_lazy() was removed in Django 4.0: use ngettext_lazy()",
}
DJANGO_UPGRADE_HINT = (
    "django-upgrade (pip install django-upgrade; django-upgrade --target-version 4.2 FILES) rewrites most of these"
)


def new_module(dotted: str) -> str:
    """Return the channels_test path for the Channels 1.x path ``dotted``.

    ``channels`` becomes ``channels_test`` and the 1.0 package ``channels.tests``
    becomes ``channels_test.test``; the rest of the path is kept.
    """
    parts = dotted.split(".")
    assert parts[0] == OLD_PACKAGE, dotted
    parts[0] = NEW_PACKAGE
    if len(parts) > 1 and parts[1] == "tests":
        parts[1] = "test"
    return ".".join(parts)


def is_old_path(dotted: str) -> bool:
    """Tell whether ``dotted`` names the package ``channels`` or a module below it."""
    return dotted == OLD_PACKAGE or dotted.startswith(OLD_PACKAGE + ".")


def is_old_object_path(text: str) -> bool:
    """Tell whether the string ``text`` is a dotted path into Channels 1.x."""
    parts = text.split(".")
    if len(parts) < 2 or parts[0] != OLD_PACKAGE:
        return False
    if not all(part.isidentifier() for part in parts):
        return False
    return parts[1] in OLD_SUBMODULES or parts[1] in OLD_TOP_LEVEL_NAMES


def missing_api(dotted: str) -> str | None:
    """Return what to do about ``dotted`` if it names a 1.x API channels_test lacks.

    ``dotted`` may be spelled with ``channels`` or ``channels_test``.
    """
    if dotted.startswith(NEW_PACKAGE + ".") or dotted == NEW_PACKAGE:
        dotted = OLD_PACKAGE + dotted[len(NEW_PACKAGE) :]
    for path, advice in MISSING_APIS.items():
        if dotted == path or dotted.startswith(path + "."):
            return advice
    return None
