from django.apps import AppConfig


class ChannelsTestConfig(AppConfig):
    name = "channels_test"
    label = "channels_test"
    verbose_name = "Channels"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects close_old_connections)
        from .binding.base import BindingMetaclass

        BindingMetaclass.register_all()  # bindings made so far; later ones register when made
