from django.db import models
from django.urls import reverse


class Room(models.Model):
    """A chat room; its sockets share the channel group ``chat-<name>``."""

    name = models.SlugField(max_length=50, unique=True, help_text="Used in the room's URL.")
    title = models.CharField(max_length=100)

    class Meta:
        ordering = ["title"]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("chat:room", args=[self.name])

    @staticmethod
    def group_name(name):
        """Return the channel group of the room called ``name``."""
        return f"chat-{name}"
