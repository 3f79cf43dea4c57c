from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Bindings connect to model signals when their class is made.
        from . import bindings  # noqa: F401
