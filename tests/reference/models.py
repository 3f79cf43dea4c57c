from django.db import models


class IntegerValue(models.Model):
    """A named integer, the model of the document's data binding examples."""

    name = models.CharField(max_length=100, unique=True)
    value = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"
