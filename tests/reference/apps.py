from django.apps import AppConfig


class ValuesConfig(AppConfig):
    """The document's binding examples name the model ``values.integervalue``."""

    name = "tests.reference"
    label = "values"
    default_auto_field = "django.db.models.AutoField"
