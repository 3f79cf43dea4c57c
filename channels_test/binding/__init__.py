"""Data binding between models and channels."""

from .base import CREATE, DELETE, UPDATE, Binding

__all__ = ["Binding", "CREATE", "UPDATE", "DELETE"]
