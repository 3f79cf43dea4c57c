"""Data binding: model changes out to groups, client actions in to models.

Outbound: after a bound model is saved or deleted, the binding sends
``create``/``update``/``delete`` messages to the groups :meth:`Binding.group_names`
names (an instance that moves between groups is deleted from the groups it
left and created in the ones it joined). Inbound: :meth:`Binding.consumer`
takes ``{"action", "pk", "data"}`` messages and, if :meth:`Binding.has_permission`
allows, creates, updates or deletes instances.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, cast

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured, ObjectDoesNotExist
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save

from ..auth import channel_session_user
from ..channel import DEFAULT_CHANNEL_LAYER, Group
from ..exceptions import ConfigurationError
from ..sessions import channel_session

__all__ = ["CREATE", "UPDATE", "DELETE", "Binding", "BindingMetaclass"]

logger = logging.getLogger("channels_test.binding")

CREATE = "create"
UPDATE = "update"
DELETE = "delete"
ACTIONS = (CREATE, UPDATE, DELETE)


class BindingMetaclass(type):
    """Collect binding classes; connect their signals once the app registry is ready.

    Classes made before ``channels_test``'s ``AppConfig.ready()`` are
    registered there (:meth:`register_all`); later ones at class creation.
    """

    register_immediately: ClassVar[bool] = False
    binding_classes: ClassVar[list[type[Binding]]] = []

    def __new__(mcs, name: str, bases: tuple, body: dict) -> type:
        klass = super().__new__(mcs, name, bases, body)
        if bases:
            # Every class with bases made by this metaclass is a Binding subclass.
            binding_class = cast("type[Binding]", klass)
            if mcs.register_immediately:
                binding_class.register()
            mcs.binding_classes.append(binding_class)
        return klass

    @classmethod
    def register_all(mcs) -> None:
        """Register every binding class made so far, and later ones as they are made."""
        for binding_class in mcs.binding_classes:
            binding_class.register()
        mcs.register_immediately = True


class Binding(metaclass=BindingMetaclass):
    """A two-way binding between a model and channels; subclass per model.

    Set ``model`` (a class or ``"app_label.ModelName"``) and ``fields`` (a
    list, or ``["__all__"]``) or ``exclude``. Implement ``group_names``
    (classmethod) for outbound and ``has_permission`` for inbound; transport
    subclasses implement ``encode``, ``serialize`` and ``deserialize``.
    """

    model: Any = None
    # A list of names; the string "__all__" is accepted as well as ["__all__"].
    fields: list[str] | str | None = None
    exclude: list[str] | None = None
    stream: str | None = None
    channel_layer_alias = DEFAULT_CHANNEL_LAYER
    channel_session_user = True
    channel_session = False

    # Set by get_registered_models() when the class is registered.
    model_label: ClassVar[str]

    # Set on the instance made for each outbound change / inbound message.
    instance: Any
    message: Any
    kwargs: dict[str, Any]
    action: str
    pk: Any
    data: Any
    user: Any

    # -- registration ------------------------------------------------------

    @classmethod
    def register(cls) -> None:
        """Check the configuration and connect the model signals."""
        for model in cls.get_registered_models():
            uid = f"channels_test.binding.{cls.__module__}.{cls.__qualname__}.{id(cls)}"
            pre_save.connect(cls.pre_save_receiver, sender=model, dispatch_uid=uid)
            post_save.connect(cls.post_save_receiver, sender=model, dispatch_uid=uid)
            pre_delete.connect(cls.pre_delete_receiver, sender=model, dispatch_uid=uid)
            post_delete.connect(cls.post_delete_receiver, sender=model, dispatch_uid=uid)

    @classmethod
    def get_registered_models(cls) -> list:
        """Return ``[model]`` (resolving a model string), or ``[]`` for an abstract binding."""
        if cls.model is None:
            if "model" in cls.__dict__:
                return []
            raise ConfigurationError(f"Binding {cls.__qualname__} has no model: set model = YourModel.")
        if cls.fields is None and cls.exclude is None:
            raise ConfigurationError(
                f"Binding {cls.__qualname__} must set fields (a list of names, or ['__all__']) "
                "or exclude (a list of names): nothing is sent unless you say which fields."
            )
        if isinstance(cls.fields, str) and cls.fields != "__all__":
            raise ConfigurationError(
                f"Binding {cls.__qualname__}.fields must be a list, not the string {cls.fields!r}."
            )
        if isinstance(cls.model, str):
            try:
                cls.model = apps.get_model(cls.model)
            except (LookupError, ValueError) as error:
                raise ConfigurationError(
                    f"Binding {cls.__qualname__}: cannot find model {cls.model!r} ({error}); "
                    "use 'app_label.ModelName' or the model class."
                ) from error
        meta = cls.model._meta
        cls.model_label = f"{meta.app_label.lower()}.{meta.object_name.lower()}"
        return [cls.model]

    @classmethod
    def field_names(cls) -> list[str] | None:
        """Return the bound field names, or None for all of them."""
        if cls.fields is not None:
            if cls.fields == "__all__" or list(cls.fields) == ["__all__"]:
                return None
            return list(cls.fields)
        excluded = set(cls.exclude or ())
        return [f.name for f in cls.model._meta.concrete_fields if f.name not in excluded]

    # -- outbound ----------------------------------------------------------

    @classmethod
    def group_names(cls, instance: Any) -> Iterable[str]:
        """Return the group names that should hear about ``instance``."""
        raise NotImplementedError(f"{cls.__qualname__} must implement the classmethod group_names(instance).")

    @classmethod
    def encode(cls, stream: str, payload: dict) -> dict:
        """Return the message that carries ``payload`` on ``stream``."""
        raise NotImplementedError(f"{cls.__qualname__} must implement encode(stream, payload).")

    def serialize(self, instance: Any, action: str) -> dict:
        """Return the payload describing ``action`` on ``instance`` ({} sends nothing)."""
        raise NotImplementedError(f"{type(self).__qualname__} must implement serialize(instance, action).")

    @classmethod
    def pre_save_receiver(cls, instance: Any, **kwargs: Any) -> None:
        cls.pre_change_receiver(instance, CREATE if instance._state.adding else UPDATE)

    @classmethod
    def post_save_receiver(cls, instance: Any, created: bool, **kwargs: Any) -> None:
        cls.post_change_receiver(instance, CREATE if created else UPDATE)

    @classmethod
    def pre_delete_receiver(cls, instance: Any, **kwargs: Any) -> None:
        cls.pre_change_receiver(instance, DELETE)

    @classmethod
    def post_delete_receiver(cls, instance: Any, **kwargs: Any) -> None:
        cls.post_change_receiver(instance, DELETE)

    @classmethod
    def pre_change_receiver(cls, instance: Any, action: str) -> None:
        """Remember the groups ``instance`` belongs to before the change."""
        if action == CREATE:
            groups: set[str] = set()
        elif action == UPDATE:
            stored = type(instance)._default_manager.filter(pk=instance.pk).first()
            groups = set(cls.group_names(stored)) if stored is not None else set()
        else:
            groups = set(cls.group_names(instance))
        instance.__dict__.setdefault("_binding_group_names", {})[cls] = groups

    @classmethod
    def post_change_receiver(cls, instance: Any, action: str) -> None:
        """Send delete/update/create to the groups left, kept and joined."""
        old = instance.__dict__.get("_binding_group_names", {}).pop(cls, set())
        new = set() if action == DELETE else set(cls.group_names(instance))
        self = cls()
        self.instance = instance
        self.send_messages(instance, old - new, DELETE)
        self.send_messages(instance, old & new, UPDATE)
        self.send_messages(instance, new - old, CREATE)

    def send_messages(self, instance: Any, group_names: Iterable[str], action: str) -> None:
        """Serialize ``instance`` once and send it to each group."""
        group_names = sorted(group_names)
        if not group_names:
            return
        payload = self.serialize(instance, action)
        if payload == {}:
            return
        if self.stream is None:
            raise ImproperlyConfigured(f"Binding {type(self).__qualname__} has no stream: set stream = 'name'.")
        message = self.encode(self.stream, payload)
        for group_name in group_names:
            Group(group_name, alias=self.channel_layer_alias).send(message)

    # -- inbound -----------------------------------------------------------

    @classmethod
    def get_handler(cls) -> Callable:
        """Return :meth:`trigger_inbound` with the session decorators the class asks for."""
        handler = cls.trigger_inbound
        if cls.channel_session_user:
            return channel_session_user(handler)
        if cls.channel_session:
            return channel_session(handler)
        return handler

    @classmethod
    def consumer(cls, message: Any, **kwargs: Any) -> None:
        """A consumer for inbound messages: ``route("binding.x", MyBinding.consumer)``."""
        cls.get_handler()(message, **kwargs)

    @classmethod
    def trigger_inbound(cls, message: Any, **kwargs: Any) -> None:
        """Decode an inbound message and run its action (logging, not raising, on refusal)."""
        from django.contrib.auth.models import AnonymousUser

        self = cls()
        self.message = message
        self.kwargs = kwargs
        try:
            self.action, self.pk, self.data = self.deserialize(message)
        except (KeyError, TypeError, ValueError) as error:
            logger.error("%s: cannot read the inbound message (%s): %.200r", cls.__qualname__, error, message.content)
            return
        self.user = getattr(message, "user", None) or AnonymousUser()
        self.run_action(self.action, self.pk, self.data)

    def deserialize(self, message: Any) -> tuple:
        """Return ``(action, pk, data)`` from an inbound message."""
        raise NotImplementedError(f"{type(self).__qualname__} must implement deserialize(message).")

    def has_permission(self, user: Any, action: str, pk: Any) -> bool:
        """Return True if ``user`` may do ``action`` on ``pk``; deny by default."""
        return False

    def run_action(self, action: str, pk: Any, data: Any) -> None:
        """Check the action and the permission, then create, update or delete."""
        name = type(self).__qualname__
        if action not in ACTIONS:
            logger.error("%s: unknown action %r (expected one of %s); nothing done.", name, action, ", ".join(ACTIONS))
            return
        if not self.has_permission(self.user, action, pk):
            logger.warning("%s: %s may not %s pk=%r; nothing done.", name, self.user, action, pk)
            return
        try:
            if action == CREATE:
                self.create(data)
            elif action == UPDATE:
                self.update(pk, data)
            else:
                self.delete(pk)
        except ObjectDoesNotExist:
            logger.error("%s: cannot %s %s pk=%r: it does not exist; nothing done.", name, action, self.model_label, pk)

    def create(self, data: dict) -> None:
        raise NotImplementedError(f"{type(self).__qualname__} must implement create(data).")

    def update(self, pk: Any, data: dict) -> None:
        raise NotImplementedError(f"{type(self).__qualname__} must implement update(pk, data).")

    def delete(self, pk: Any) -> None:
        """Delete the instance with ``pk`` (raises DoesNotExist if there is none)."""
        self.model._default_manager.get(pk=pk).delete()
