"""Bindings over WebSockets: JSON payloads wrapped in ``{"stream", "payload"}``."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from django.core import serializers
from django.core.exceptions import ValidationError
from django.core.serializers.base import DeserializationError
from django.core.serializers.json import DjangoJSONEncoder

from ..generic.websockets import WebsocketMultiplexer
from ..sessions import enforce_ordering
from .base import Binding

__all__ = ["WebsocketBinding", "WebsocketBindingWithMembers"]

logger = logging.getLogger("channels_test.binding")


class WebsocketBinding(Binding):
    """A binding that speaks the multiplexed JSON WebSocket format.

    Outbound messages are ``{"text": '{"stream": ..., "payload": {"action",
    "model", "pk", "data"}}'}`` sent to the groups. Inbound, route the
    consumer behind a demultiplexer: either ``consumers = {"stream":
    MyBinding.consumer}`` or ``mapping = {"stream": "binding.x"}`` with
    ``route("binding.x", MyBinding.consumer)``. Inbound data may only set the
    bound fields; other keys are ignored.
    """

    model: Any = None
    strict_ordering = False

    @classmethod
    def encode(cls, stream: str, payload: dict) -> dict:
        return WebsocketMultiplexer.encode(stream, payload)

    def serialize(self, instance: Any, action: str) -> dict:
        return {
            "action": action,
            "pk": instance.pk,
            "data": self.serialize_data(instance),
            "model": self.model_label,
        }

    def serialize_data(self, instance: Any) -> dict:
        """Return the bound fields of ``instance`` as JSON-ready data."""
        data = serializers.serialize("python", [instance], fields=self.field_names())
        return json.loads(json.dumps(data[0]["fields"], cls=DjangoJSONEncoder))

    @classmethod
    def get_handler(cls) -> Callable:
        handler = super().get_handler()
        if cls.strict_ordering:
            return enforce_ordering(handler)
        return handler

    @classmethod
    def trigger_inbound(cls, message: Any, **kwargs: Any) -> None:
        """Handle inbound actions; a demultiplexer's connect and disconnect are ignored."""
        if message.channel.name in ("websocket.connect", "websocket.disconnect"):
            return
        super().trigger_inbound(message, **kwargs)

    def deserialize(self, message: Any) -> tuple:
        """Return ``(action, pk, data)`` from JSON ``text`` or from the message itself."""
        body = json.loads(message["text"]) if "text" in message else message.content
        if not isinstance(body, dict):
            raise ValueError(f"the payload must be a JSON object, not {body!r}")
        return body["action"], body.get("pk"), body.get("data")

    def allowed_data(self, data: Any) -> dict:
        """Return ``data`` narrowed to the bound fields."""
        if not isinstance(data, dict):
            raise ValueError(f"'data' must be an object of field values, not {data!r}")
        names = self.field_names()
        allowed = {name: value for name, value in data.items() if names is None or name in names}
        ignored = sorted(set(data) - set(allowed))
        if ignored:
            logger.warning("%s: ignoring unbound fields %s in inbound data.", type(self).__qualname__, ignored)
        return allowed

    def _hydrate(self, pk: Any, data: dict) -> Any:
        """Return a DeserializedObject for ``data`` (bound fields only)."""
        record = {"model": self.model_label, "pk": pk, "fields": self.allowed_data(data)}
        return next(serializers.deserialize("python", [record]))

    def run_action(self, action: str, pk: Any, data: Any) -> None:
        try:
            super().run_action(action, pk, data)
        except (DeserializationError, ValidationError, ValueError) as error:
            logger.error(
                "%s: cannot %s with data %.200r: %s; nothing done.", type(self).__qualname__, action, data, error
            )

    def create(self, data: dict) -> None:
        self._hydrate(None, data).object.save()

    def update(self, pk: Any, data: dict) -> None:
        instance = self.model._default_manager.get(pk=pk)
        hydrated = self._hydrate(pk, data)
        for name in self.allowed_data(data):
            setattr(instance, name, getattr(hydrated.object, name))
        instance.save()


class WebsocketBindingWithMembers(WebsocketBinding):
    """A WebsocketBinding that also sends attributes, properties and methods.

    ``send_members`` lists names (dotted paths allowed, e.g. ``"owner.name"``);
    methods are called with no arguments. A dotted name is sent with ``__``
    in place of each dot.
    """

    model: Any = None
    send_members: list[str] = []
    encoder = DjangoJSONEncoder()

    def serialize_data(self, instance: Any) -> dict:
        data = super().serialize_data(instance)
        members = {}
        for name in self.send_members:
            value = instance
            for part in name.split("."):
                value = getattr(value, part)
            members[name.replace(".", "__")] = value() if callable(value) else value
        data.update(json.loads(self.encoder.encode(members)))
        return data
