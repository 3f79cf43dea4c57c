from django.apps import AppConfig


class ChannelsTestConfig(AppConfig):
    name = "channels_test"
    label = "channels_test"
    verbose_name = "Channels"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects close_old_connections)
        from .binding.base import BindingMetaclass

        BindingMetaclass.register_all()  # bindings made so far; later ones register when made


class ChannelsConfig(ChannelsTestConfig):
    """The Channels 1.x name, for ``INSTALLED_APPS`` entries that spell out the config class."""

    default = False  # ChannelsTestConfig stays the one "channels_test" picks
