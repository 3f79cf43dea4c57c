"""Class-based consumers."""

from .base import BaseConsumer

__all__ = ["BaseConsumer"]
