"""Small helpers Channels 1.x code imports."""

from __future__ import annotations

import types
from typing import Any

__all__ = ["name_that_thing"]


def name_that_thing(thing: Any) -> str:
    """Return a readable dotted name for a function, method, class or instance.

    Functions and classes give ``module.qualname``; bound methods their
    owner's name plus the method's; an instance its class's name; anything
    else its ``repr``.
    """
    if isinstance(thing, types.MethodType):
        owner = thing.__self__
        owner_name = name_that_thing(owner if isinstance(owner, type) else type(owner))
        return f"{owner_name}.{thing.__func__.__name__}"
    if isinstance(thing, (type, types.FunctionType, types.BuiltinFunctionType)):
        module = getattr(thing, "__module__", None)
        name = getattr(thing, "__qualname__", None) or thing.__name__
        return f"{module}.{name}" if module else name
    if hasattr(thing, "__class__") and not isinstance(thing, (str, bytes, int, float, type(None))):
        return name_that_thing(type(thing))
    return repr(thing)
