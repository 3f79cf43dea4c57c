"""Channels 1.x's module path of :class:`~channels_test.test.ChannelLiveServerTestCase`."""

from .live import ChannelLiveServerTestCase

__all__ = ["ChannelLiveServerTestCase"]
