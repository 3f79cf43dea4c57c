"""The registry of configured channel layers: ``CHANNEL_LAYERS`` made real.

``channel_layers[alias]`` is a :class:`ChannelLayerWrapper` (the layer plus
its routing), built on first use. Tests swap one with ``channel_layers.set``.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from .defaults import DEFAULT_CHANNEL_LAYER
from .deprecation import legacy_options, resolve_backend
from .exceptions import ConfigurationError
from .layers import _held
from .layers.inmemory import InMemoryChannelLayer

__all__ = [
    "ChannelLayerManager",
    "ChannelLayerWrapper",
    "InvalidChannelLayerError",
    "channel_layers",
    "get_channel_layer",
]


class InvalidChannelLayerError(ConfigurationError):
    """A ``CHANNEL_LAYERS`` entry is missing or wrong (ImproperlyConfigured and, as in 1.x, ValueError)."""


_EXAMPLE = """CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_test.layers.sqlite.SQLiteChannelLayer",
        "ROUTING": "myproject.routing.channel_routing",
    },
}"""


#: The layer's calls of every message: the wrapper holds them as its own attributes.
_PASSED_ON = _held.WRAPPED_CALLS


class ChannelLayerWrapper:
    """A channel layer with its alias and routing; other attributes pass to the layer.

    Replacing one of the layer's calls of every message, on the layer, its
    class or this wrapper (as a test does with ``mock.patch.object``), is
    seen at once: every send then goes through the replacement.
    """

    # The layer's own bound methods (see _PASSED_ON), where it has them.
    send: Any
    receive: Any
    send_and_receive: Any
    send_group: Any
    send_encoded: Any
    send_group_encoded: Any
    encode_for_later: Any

    def __init__(self, channel_layer: Any, alias: str, routing: Any):
        self.channel_layer = channel_layer
        self.alias = alias
        self.routing = routing
        self._router: Any = None
        _wrappers.add(self)

    @property
    def channel_layer(self) -> Any:
        """The layer itself."""
        return self._channel_layer

    @channel_layer.setter
    def channel_layer(self, channel_layer: Any) -> None:
        self._channel_layer = channel_layer
        self._local_only = isinstance(channel_layer, InMemoryChannelLayer)
        self._take_calls()

    def _take_calls(self) -> None:
        """Hold the layer's calls of every message as this wrapper's attributes (see _PASSED_ON).

        A message's calls go straight to the layer's methods, not through a
        method of the wrapper each (or __getattr__): they run for every
        message. One a test replaced on the wrapper itself stays.
        """
        own = self.__dict__
        taken = own.get("_taken", {})
        now_taken = {}
        for name in _PASSED_ON:
            if name in own and own[name] is not taken.get(name):
                if name in taken:
                    now_taken[name] = taken[name]  # what to know it by when the test puts it back
                continue  # replaced on the wrapper
            try:
                method = getattr(self._channel_layer, name, None)
            except Exception:  # a layer that refuses to be used (the live server's stand-in): asked on use
                method = None
            if method is not None:
                own[name] = now_taken[name] = method
            else:
                own.pop(name, None)  # __getattr__ then says the layer has none
        own["_taken"] = now_taken
        # True while the layer's sends are our layers' own and none of this wrapper's
        # calls is replaced: the test clients' one step and the outbox's encoded sends
        # run only then (see layers._held).
        own["_plain"] = _own_sends(self._channel_layer) and all(
            own.get(name) is now_taken.get(name) for name in _PASSED_ON
        )

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if name in _PASSED_ON:  # replaced on the wrapper (mock.patch.object(wrapper, "send")), or put back
            self._take_calls()

    def __delattr__(self, name: str) -> None:
        object.__delattr__(self, name)
        if name in _PASSED_ON:
            self._take_calls()

    @property
    def router(self):
        """The :class:`~channels_test.routing.Router` for this layer's routing (built once)."""
        if self._router is None:
            from .routing import Router

            if self.routing is _MISSING:
                raise InvalidChannelLayerError(
                    f"CHANNEL_LAYERS[{self.alias!r}] has no 'ROUTING': add the dotted path of "
                    "your routing list, e.g. 'ROUTING': 'myproject.routing.channel_routing' "
                    "(or 'ROUTING': [] for a layer that only sends)."
                )
            self._router = Router(self.routing)
        return self._router

    def set_routing(self, routing: Any, router: Any = None) -> tuple[Any, Any]:
        """Route this layer by ``routing`` from now on; return the previous ``(routing, router)``.

        ``router`` is a :class:`~channels_test.routing.Router` already built
        from ``routing``, or None to build one on first use. The returned
        router is None if none was built; pass the pair back to restore.
        """
        previous = (self.routing, self._router)
        self.routing, self._router = routing, router
        return previous

    def local_only(self) -> bool:
        """Return True if the layer lives in this process only (in-memory)."""
        return self._local_only

    def __getattr__(self, name: str) -> Any:
        if name == "_channel_layer":  # not set yet (a copy being made): no layer to ask
            raise AttributeError(name)
        return getattr(self._channel_layer, name)

    def __repr__(self) -> str:
        return f"<ChannelLayerWrapper {self.alias!r}: {self.channel_layer!r}>"


_MISSING = object()


def _own_sends(layer: Any) -> bool:
    """Return True if ``layer`` is ours and its sends are its class's own (see layers._held)."""
    try:
        return getattr(layer, "_own_sends", False) is True
    except Exception:  # a layer that refuses to be used (the live server's stand-in)
        return False


# Every wrapper made: a layer whose calls were replaced is taken again by its wrappers.
_wrappers: weakref.WeakSet = weakref.WeakSet()


def _retake(target: Any) -> None:
    """Have the wrappers of ``target`` (a layer, or a layer class) take its calls again."""
    for wrapper in list(_wrappers):
        layer = wrapper.__dict__.get("_channel_layer")
        if layer is target or (isinstance(target, type) and isinstance(layer, target)):
            wrapper._take_calls()


_held.watch(_retake)


class ChannelLayerManager:
    """Build and hold one :class:`ChannelLayerWrapper` per ``CHANNEL_LAYERS`` alias."""

    def __init__(self):
        self.backends: dict[str, ChannelLayerWrapper] = {}
        self._lock = threading.RLock()

    @property
    def configs(self) -> dict:
        configs = getattr(settings, "CHANNEL_LAYERS", None)
        if configs is None:
            raise InvalidChannelLayerError(
                "CHANNEL_LAYERS is not set. Add it to your settings, for example:\n" + _EXAMPLE
            )
        if not isinstance(configs, dict):
            raise InvalidChannelLayerError(
                f"CHANNEL_LAYERS must be a dict of alias -> config, not {type(configs).__name__}."
            )
        return configs

    def config(self, alias: str) -> dict:
        """Return the settings dict of ``alias``, or say which aliases exist."""
        configs = self.configs
        if alias not in configs:
            known = ", ".join(repr(name) for name in configs) or "none"
            raise InvalidChannelLayerError(f"No channel layer {alias!r} in CHANNEL_LAYERS (configured: {known}).")
        config = configs[alias]
        if not isinstance(config, dict) or "BACKEND" not in config:
            raise InvalidChannelLayerError(
                f"CHANNEL_LAYERS[{alias!r}] has no 'BACKEND': add one, e.g. "
                "'BACKEND': 'channels_test.layers.sqlite.SQLiteChannelLayer'."
            )
        return config

    def make_backend(self, alias: str) -> ChannelLayerWrapper:
        """Build the layer of ``alias`` from its ``CONFIG``."""
        return self._make(alias, "CONFIG")

    def make_test_backend(self, alias: str) -> ChannelLayerWrapper:
        """Build the layer of ``alias`` from its ``TEST_CONFIG`` (ImproperlyConfigured if absent)."""
        if "TEST_CONFIG" not in self.config(alias):
            raise InvalidChannelLayerError(
                f"CHANNEL_LAYERS[{alias!r}] has no 'TEST_CONFIG'; add one so tests never touch "
                "the layer your development or production servers use."
            )
        return self._make(alias, "TEST_CONFIG")

    def _make(self, alias: str, config_key: str) -> ChannelLayerWrapper:
        config = self.config(alias)
        backend_class = self.backend_class(alias)
        options = legacy_options(config["BACKEND"], config.get(config_key) or {})
        try:
            layer = backend_class(**options)
        except TypeError as error:
            raise InvalidChannelLayerError(
                f"CHANNEL_LAYERS[{alias!r}][{config_key!r}] does not fit {backend_class.__name__}: {error}"
            ) from error
        return ChannelLayerWrapper(layer, alias, config.get("ROUTING", _MISSING))

    def backend_class(self, alias: str) -> type:
        """Import and return the BACKEND class of ``alias``."""
        path = resolve_backend(self.config(alias)["BACKEND"])
        try:
            return import_string(path)
        except ImportError as error:
            raise InvalidChannelLayerError(
                f"Cannot import BACKEND {path!r} of channel layer {alias!r}: {error}"
            ) from error

    def __getitem__(self, alias: str) -> ChannelLayerWrapper:
        try:
            return self.backends[alias]
        except KeyError:
            pass
        with self._lock:
            if alias not in self.backends:
                self.backends[alias] = self.make_backend(alias)
            return self.backends[alias]

    def __contains__(self, alias: str) -> bool:
        return alias in self.configs

    def set(self, alias: str, layer: ChannelLayerWrapper | None) -> ChannelLayerWrapper | None:
        """Put ``layer`` in place for ``alias`` (None: rebuild on next use); return the old one."""
        with self._lock:
            old = self.backends.get(alias)
            if layer is None:
                self.backends.pop(alias, None)
            else:
                self.backends[alias] = layer
            return old

    def reset(self) -> None:
        """Forget every built layer; they are rebuilt from settings on next use."""
        with self._lock:
            self.backends.clear()


channel_layers = ChannelLayerManager()


def get_channel_layer(alias: str = DEFAULT_CHANNEL_LAYER) -> Any:
    """Return the channel layer (not the wrapper) of ``alias``, for scripts."""
    return channel_layers[alias].channel_layer


def _settings_changed(setting: str, **kwargs: Any) -> None:
    if setting == "CHANNEL_LAYERS":
        channel_layers.reset()


setting_changed.connect(_settings_changed)
