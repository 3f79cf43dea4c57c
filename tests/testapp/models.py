"""Models the test suite uses."""

from django.db import models


class IntegerValue(models.Model):
    """A named integer, as in the data binding examples."""

    name = models.CharField(max_length=100)
    value = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"
