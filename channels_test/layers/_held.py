"""Which layers still have their own methods: replaced ones (``mock.patch``) switch the short cuts off.

Three short cuts stand in for a layer's ``send`` and ``receive``: the
channel layer wrapper holds the layer's bound methods (no lookup per
message), the outbox sends a consumer's held messages encoded
(``send_encoded``), and the in-memory layer sends and receives in one step
for the test clients' ``send_and_consume``. In Channels 1.x every message
went through the layer's ``send``, so a test that replaced it, on the layer
or on its class, saw every send; a subclass that overrode it, too.

So each short cut runs only while the methods it stands in for are the ones
our layer classes define: a layer class names them in ``_short_cuts``, a
flag attribute per short cut (``_own_sends`` for the outbox, the in-memory
layer's ``_one_step``). Setting or deleting one of :data:`HELD_METHODS`, on
a layer or on a layer class, sets the flags again and tells the wrappers
(:func:`watch`), which take the layer's methods again.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["HELD_METHODS", "WRAPPED_CALLS", "LayerType", "methods_plain", "replaced", "track", "watch"]

#: The layer's calls of every message, which a wrapper holds as its own attributes.
WRAPPED_CALLS = (
    "send",
    "receive",
    "send_and_receive",
    "send_group",
    "send_encoded",
    "send_group_encoded",
    "encode_for_later",
)
#: The layer methods the short cuts hold or stand in for.
HELD_METHODS = frozenset({*WRAPPED_CALLS, "_send", "_send_group"})

# The functions our own layer classes define under those names.
_OWN: set[Any] = set()
# Our layers made so far: a class's replaced method sets their flags again.
_LAYERS: weakref.WeakSet = weakref.WeakSet()
_watchers: list[Callable[[Any], None]] = []


def watch(watcher: Callable[[Any], None]) -> None:
    """Call ``watcher(layer_or_class)`` after one of its held methods is set or deleted."""
    _watchers.append(watcher)


def methods_plain(layer: Any, names: tuple[str, ...]) -> bool:
    """Return True if each of ``names`` on ``layer`` is our layers' own: not replaced, not overridden."""
    # Asked through getattr, not the instance's __dict__: reading that would make
    # Python keep the layer's attributes in a real dict, slower for every message.
    for name in names:
        method = getattr(layer, name, None)
        if method is not None and getattr(method, "__func__", None) not in _OWN:
            return False
    return True


def set_flags(layer: Any) -> None:
    """Set each short cut's flag on ``layer``: True while the methods it stands in for are ours."""
    for flag, names in type(layer)._short_cuts.items():
        setattr(layer, flag, methods_plain(layer, names))


def track(layer: Any) -> None:
    """Keep the short cuts' flags of ``layer`` up to date from now on (a new layer)."""
    _LAYERS.add(layer)
    set_flags(layer)


def replaced(target: Any) -> None:
    """A held method of ``target`` (a layer, or a layer class) was set or deleted."""
    for layer in list(_LAYERS):
        if layer is target or (isinstance(target, type) and isinstance(layer, target)):
            set_flags(layer)
    for watcher in _watchers:
        watcher(target)


class LayerType(type):
    """The layers' metaclass: notes the methods our classes define, and a class's replaced ones."""

    def __init__(cls, name: str, bases: tuple, namespace: dict, **kwargs: Any):
        super().__init__(name, bases, namespace, **kwargs)
        if cls.__module__.startswith("channels_test.layers."):
            _OWN.update(value for key, value in namespace.items() if key in HELD_METHODS)

    def __setattr__(cls, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name in HELD_METHODS:
            replaced(cls)

    def __delattr__(cls, name: str) -> None:
        super().__delattr__(name)
        if name in HELD_METHODS:
            replaced(cls)
