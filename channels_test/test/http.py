"""Channels 1.0's module path of ``HttpClient``, the old name of :class:`WSClient`; importing it warns."""

from ..deprecation import warn_deprecated

warn_deprecated(
    "channels_test.test.http.HttpClient is deprecated; use channels_test.test.WSClient.",
    stacklevel=2,
)

from .client import WSClient as HttpClient  # noqa: E402

__all__ = ["HttpClient"]
