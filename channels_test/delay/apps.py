from django.apps import AppConfig


class DelayConfig(AppConfig):
    """The delay server's app.

    Channels 1.x labelled it ``channels.delay``, a label Django no longer
    accepts (labels must be Python identifiers); ``channels_delay`` keeps
    its words, so its table is ``channels_delay_delayedmessage``.
    """

    name = "channels_test.delay"
    label = "channels_delay"
    verbose_name = "Channels Delay"
    default_auto_field = "django.db.models.AutoField"
