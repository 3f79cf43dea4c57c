"""Reading captive and live layers in tests, and the assertions both test cases share."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from ..asgi import channel_layers
from ..channel import DEFAULT_CHANNEL_LAYER, Channel
from ..message import Message

__all__ = [
    "ChannelAssertionsMixin",
    "channel_name",
    "message_counts",
    "describe_waiting",
    "next_message",
    "show_messages",
]


def channel_name(channel: Channel | str) -> str | None:
    """Return the name of ``channel`` (a :class:`~channels_test.Channel` or a str).

    None for a nameless ``Channel(None)``, which no layer accepts.
    """
    return channel.name if isinstance(channel, Channel) else channel


def message_counts(wrapper: Any) -> dict[str, int] | None:
    """Return ``{channel: count}`` of waiting messages, or None if the layer cannot tell."""
    counts = getattr(wrapper.channel_layer, "message_counts", None)
    return counts() if counts is not None else None


def describe_waiting(wrapper: Any) -> str:
    """Describe which channels of the layer hold messages, for a failure message."""
    counts = message_counts(wrapper)
    if counts is None:
        return f"{type(wrapper.channel_layer).__name__} cannot list its channels"
    if not counts:
        return "no channel of the layer holds a message"
    listed = ", ".join(f"{name!r} ({count})" for name, count in sorted(counts.items()))
    return f"messages are waiting on: {listed}"


def next_message(channel: Channel | str, alias: str = DEFAULT_CHANNEL_LAYER, require: bool = False) -> Message | None:
    """Take the next message on ``channel`` of layer ``alias``, as a :class:`Message`.

    Return None when there is none, or with ``require=True`` raise an
    AssertionError naming the channel and the channels that do hold messages.
    """
    wrapper = channel_layers[alias]
    name = channel_name(channel)
    received, content = wrapper.receive([name], block=False)
    if received is None:
        if require:
            raise AssertionError(f"No message on channel {name!r} of layer {alias!r}; {describe_waiting(wrapper)}.")
        return None
    return Message(content, received, wrapper)


if TYPE_CHECKING:
    from unittest import TestCase

    # The mixins run in a unittest test case (fail, addCleanup, setUpClass...):
    # say so to the type checker only, so the runtime MRO stays as it is.
    _TestCaseBase = TestCase
else:
    _TestCaseBase = object


class ChannelAssertionsMixin(_TestCaseBase):
    """``assertMessage``, ``assertNoMessages`` and ``assertGroupMembers`` for a unittest test case.

    The test case provides ``get_next_message(channel, alias, require)``;
    :meth:`_assertion_alias` names the layer an assertion without ``alias``
    reads (``ChannelTestCase``: the default alias; the live test case: its
    live layer's).
    """

    if TYPE_CHECKING:

        def get_next_message(
            self, channel: Channel | str, alias: str = DEFAULT_CHANNEL_LAYER, require: bool = False
        ) -> Message | None:
            """Provided by the test case (see the class docstring)."""

    def _assertion_alias(self, alias: str | None) -> str:
        """Return the layer alias an assertion reads: ``alias``, or the test case's own."""
        return DEFAULT_CHANNEL_LAYER if alias is None else alias

    def assertMessage(
        self, channel: Channel | str, expected: dict | None = None, /, *, alias: str | None = None, **items: Any
    ) -> Message:
        """Take the next message on ``channel`` and check it holds ``expected`` (a subset).

        ``expected`` is a dict, keyword arguments, or both; keys the message
        has beyond them are ignored. Return the message. On failure, show the
        whole message (or, if none came, where messages are waiting).
        """
        wanted = {**(expected or {}), **items}
        message = self.get_next_message(channel, self._assertion_alias(alias), require=True)
        assert message is not None  # require=True raises instead of returning None
        mismatched = {key: value for key, value in wanted.items() if key not in message or message[key] != value}
        if mismatched:
            lines = [f"The message on {channel_name(channel)!r} does not match:"]
            for key, value in mismatched.items():
                found = repr(message[key]) if key in message else "(missing)"
                lines.append(f"  {key!r}: expected {value!r}, found {found}")
            lines.append(f"Whole message: {message.content!r}")
            self.fail("\n".join(lines))
        return message

    def assertNoMessages(self, channel: Channel | str | None = None, *, alias: str | None = None) -> None:
        """Check ``channel`` (None: every channel of the layer) holds no message now (no waiting).

        On failure, show the messages found (they are taken off the layer).
        """
        alias = self._assertion_alias(alias)
        wrapper = channel_layers[alias]
        if channel is not None:
            name = channel_name(channel)
            message = next_message(channel, alias)
            if message is not None:
                self.fail(f"Expected no message on {name!r}, found {message.content!r} (and maybe more).")
            return
        counts = message_counts(wrapper)
        if counts is None:
            raise TypeError(
                f"assertNoMessages() without a channel needs a layer that lists its channels; "
                f"{type(wrapper.channel_layer).__name__} cannot: name the channel."
            )
        if counts:
            self.fail(f"Expected no messages on layer {alias!r}, found:\n{show_messages(wrapper, counts)}")

    def assertGroupMembers(self, group: str, channels: Iterable[Channel | str], *, alias: str | None = None) -> None:
        """Check group ``group`` holds exactly ``channels`` (in any order)."""
        # A nameless Channel(None) is never a group member: the names are str.
        expected = cast("set[str]", {channel_name(channel) for channel in channels})
        found = set(channel_layers[self._assertion_alias(alias)].group_channels(group))
        if found != expected:
            details = []
            if expected - found:
                details.append(f"missing {sorted(expected - found)}")
            if found - expected:
                details.append(f"unexpected {sorted(found - expected)}")
            self.fail(
                f"Group {group!r} has members {sorted(found)}, expected {sorted(expected)} ({'; '.join(details)})."
            )


def show_messages(wrapper: Any, counts: dict[str, int], limit: int = 10) -> str:
    """List the channels in ``counts`` with their first message (taken off the layer)."""
    lines = []
    for name, count in sorted(counts.items())[:limit]:
        _, content = wrapper.receive([name], block=False)
        lines.append(f"  {name!r} ({count}): first {content!r}")
    if len(counts) > limit:
        lines.append(f"  ... and {len(counts) - limit} more channels")
    return "\n".join(lines)
