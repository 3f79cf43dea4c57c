"""What the live server's children are told: settings, test databases, the live layer.

Three questions, each answered by one function here:

* which settings does the test process run with, beyond its settings
  module (:func:`settings_overrides`)?
* which test databases must the children open, and can they
  (:func:`test_databases`)?
* which channel layer do the test process and the children share
  (:func:`live_layer_spec`)?
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import global_settings, settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

from .. import compat

__all__ = ["settings_overrides", "test_databases", "live_layer_spec", "LayerSpec", "set_sqlite_synchronous"]

_MISSING = object()
REFUSED_BACKEND = "channels_test.test._child.RefusedChannelLayer"


def settings_overrides() -> tuple[str | None, dict, list]:
    """Return ``(settings_module, overrides, deleted)`` describing the settings in effect.

    ``overrides`` holds every setting whose value differs from the settings
    module (``override_settings``, ``modify_settings``, and what the test
    runner assigned, like ``DEBUG = False``); ``deleted`` names settings an
    override removed. Without a settings module (``settings.configure()``),
    ``overrides`` holds every configured setting.
    """
    holder, names = compat.settings_in_layers()
    module_name = getattr(holder, "SETTINGS_MODULE", None) if holder is not global_settings else None
    if module_name:
        module = importlib.import_module(module_name)
        for name, value in vars(holder).items():
            if name.isupper() and name != "SETTINGS_MODULE" and _differs(value, module, name):
                names.add(name)
    overrides, deleted = {}, []
    with compat.setting_deprecations_silenced():
        for name in sorted(names):
            value = getattr(settings, name, _MISSING)
            if value is _MISSING:
                deleted.append(name)
            else:
                overrides[name] = value
    return module_name, overrides, deleted


def _differs(value: Any, module: Any, name: str) -> bool:
    reference = getattr(module, name, getattr(global_settings, name, _MISSING))
    if value is reference:
        return False
    try:
        return bool(value != reference)
    except Exception:  # noqa: BLE001  (an odd value that cannot compare: pass it on)
        return True


def test_databases(aliases: Iterable[str]) -> dict:
    """Return ``DATABASES`` as the test process uses them (test names, parallel clones).

    Raise ImproperlyConfigured if a database in ``aliases`` (those the test
    case uses) is an in-memory SQLite database the children cannot open.
    """
    from django.test import runner

    for alias in aliases:
        connection = connections[alias]
        if connection.vendor == "sqlite" and connection.is_in_memory_db():
            raise ImproperlyConfigured(_in_memory_message(alias, getattr(runner, "_worker_id", 0)))
    return {alias: dict(connections[alias].settings_dict) for alias in connections}


def _in_memory_message(alias: str, worker_id: int) -> str:
    message = (
        f"ChannelLiveServerTestCase cannot use the in-memory SQLite test database of {alias!r}: "
        "its Daphne and worker processes cannot see another process's memory. Give the test "
        "database a file name in your settings:\n\n"
        "DATABASES = {\n"
        f"    {alias!r}: {{\n"
        "        'ENGINE': 'django.db.backends.sqlite3',\n"
        "        'NAME': ...,\n"
        f"        'TEST': {{'NAME': 'test_{alias}.sqlite3'}},\n"
        "    },\n"
        "}"
    )
    if worker_id:
        message += (
            "\n\nUnder --parallel, Django copies each SQLite test database into memory when "
            "its workers are not forked; run live tests with --parallel 1, with the fork "
            "start method, or on PostgreSQL."
        )
    return message


SQLITE_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")


def set_sqlite_synchronous(aliases: Iterable[str], value: str) -> Callable[[], None]:
    """Set ``PRAGMA synchronous = value`` on this process's SQLite test databases; return the undo.

    It applies to the connections of ``aliases`` open now and opened later.
    ``"OFF"`` skips the sync to disk at each commit: a test database is thrown
    away after the run, so a power cut could cost it nothing of value, while
    every fsync costs milliseconds on a busy disk (Django's flush after each
    ``TransactionTestCase`` test commits about ten times). Other processes
    still see every commit at once, through the operating system's cache.
    """
    from django.db.backends.signals import connection_created

    if not isinstance(value, str) or value.upper() not in SQLITE_SYNCHRONOUS:
        raise ImproperlyConfigured(
            f"sqlite_synchronous must be one of {', '.join(map(repr, SQLITE_SYNCHRONOUS))} "
            f"or None (SQLite's own setting), not {value!r}."
        )
    names = {alias for alias in aliases if connections[alias].vendor == "sqlite"}
    previous: dict[str, int] = {}
    uid = f"channels-live-sqlite-synchronous-{id(previous)}"

    def apply(connection: Any) -> None:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous")
            previous.setdefault(connection.alias, cursor.fetchone()[0])
            cursor.execute(f"PRAGMA synchronous = {value.upper()}")

    def on_created(sender: Any, connection: Any, **kwargs: Any) -> None:
        if connection.alias in names:
            apply(connection)

    connection_created.connect(on_created, weak=False, dispatch_uid=uid)
    for alias in names:
        if connections[alias].connection is not None:
            apply(connections[alias])

    def undo() -> None:
        connection_created.disconnect(dispatch_uid=uid)
        for alias, old in previous.items():
            if connections[alias].connection is not None:
                with connections[alias].cursor() as cursor:
                    cursor.execute(f"PRAGMA synchronous = {int(old)}")

    return undo


class LayerSpec:
    """The live channel layer: backend path and options, plus the settings the children get."""

    def __init__(self, alias: str, backend: str, options: dict, config: dict):
        self.alias = alias
        self.backend = backend
        self.options = options
        self.config = config

    def make_wrapper(self) -> Any:
        """Build this layer in the test process, wrapped with its alias and routing."""
        from django.utils.module_loading import import_string

        from channels_test import asgi

        layer = import_string(self.backend)(**self.options)
        routing = self.config.get("ROUTING", getattr(asgi, "_MISSING", []))
        return asgi.ChannelLayerWrapper(layer, self.alias, routing)

    def children_setting(self, configs: dict) -> dict:
        """Return ``CHANNEL_LAYERS`` for the children: this layer, every other alias refused."""
        layers = {}
        for alias in configs:
            if alias == self.alias:
                entry = {"BACKEND": self.backend, "CONFIG": self.options}
                if "ROUTING" in self.config:
                    entry["ROUTING"] = self.config["ROUTING"]
            else:
                entry = {
                    "BACKEND": REFUSED_BACKEND,
                    "CONFIG": {"alias": alias, "live_alias": self.alias},
                    "ROUTING": [],
                }
            layers[alias] = entry
        return layers

    def __repr__(self) -> str:
        return f"<LayerSpec {self.alias!r}: {self.backend} {self.options!r}>"


def live_layer_spec(alias: str, directory: str) -> LayerSpec:
    """Choose the layer the live server and the test share for ``alias``.

    ``TEST_CONFIG`` if the alias has one (its prefix made unique to this test
    process, so parallel test processes never flush each other's data);
    otherwise, for an in-memory or SQLite layer, a SQLite layer in a file in
    ``directory``. Any other layer without ``TEST_CONFIG`` is refused: the
    live server flushes it before every test.
    """
    from channels_test.asgi import channel_layers
    from channels_test.deprecation import resolve_backend
    from channels_test.layers.base import BaseChannelLayer
    from channels_test.layers.inmemory import InMemoryChannelLayer
    from channels_test.layers.sqlite import SQLiteChannelLayer

    config = _layer_config(channel_layers, alias)
    backend_class = channel_layers.backend_class(alias)
    backend = resolve_backend(config["BACKEND"])
    if "TEST_CONFIG" in config:
        options = dict(config["TEST_CONFIG"] or {})
        if _accepts(backend_class, "prefix"):
            prefix = options.get("prefix") or _default(backend_class, "prefix") or "channels_test"
            # An asgi_redis-style prefix ends in ":"; the suffix goes before it.
            options["prefix"] = f"{str(prefix).rstrip(':')}-live{os.getpid()}"
        return LayerSpec(alias, backend, options, config)
    if issubclass(backend_class, (InMemoryChannelLayer, SQLiteChannelLayer)):
        base_options = set(inspect.signature(BaseChannelLayer.__init__).parameters) - {"self"}
        options = {key: value for key, value in (config.get("CONFIG") or {}).items() if key in base_options}
        options["path"] = os.path.join(directory, "layer.sqlite3")
        backend = f"{SQLiteChannelLayer.__module__}.{SQLiteChannelLayer.__qualname__}"
        return LayerSpec(alias, backend, options, config)
    raise ImproperlyConfigured(
        f"CHANNEL_LAYERS[{alias!r}] uses {backend_class.__name__} and has no 'TEST_CONFIG'. "
        "ChannelLiveServerTestCase flushes its channel layer before every test, and flushing "
        "the layer in 'CONFIG' could wipe real data (a development server's or production's). "
        "Add a 'TEST_CONFIG' that only tests use, for example:\n\n"
        f"    {alias!r}: {{\n"
        f"        'BACKEND': {config['BACKEND']!r},\n"
        "        'CONFIG': {...},\n"
        "        'TEST_CONFIG': {'hosts': [('localhost', 6379)], 'prefix': 'myproject-tests'},\n"
        "    }"
    )


def _layer_config(channel_layers: Any, alias: str) -> dict:
    if not isinstance(alias, str) or alias not in channel_layers.configs:
        known = ", ".join(repr(name) for name in channel_layers.configs) or "none"
        raise ImproperlyConfigured(
            f"channel_layer_alias is {alias!r}, which is not in CHANNEL_LAYERS "
            f"(configured: {known}). The live server serves exactly one layer; set "
            "channel_layer_alias on the test case to one of those."
        )
    return channel_layers.config(alias)


def _accepts(backend_class: type, name: str) -> bool:
    for klass in backend_class.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        parameters = inspect.signature(init).parameters
        if name in parameters:
            return True
        if not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
            return False
    return False


def _default(backend_class: type, name: str) -> Any:
    for klass in backend_class.__mro__:
        init = klass.__dict__.get("__init__")
        if init is not None:
            parameter = inspect.signature(init).parameters.get(name)
            if parameter is not None and parameter.default is not inspect.Parameter.empty:
                return parameter.default
    return None
