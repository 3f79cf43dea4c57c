"""The channel-layer contract, run against every backend.

A backend joins with one subclass at the bottom of this module::

    class MyLayerTests(LayerContract, SimpleTestCase):
        make_layer = layer_factory(MyChannelLayer)

``make_layer(self, **config)`` returns an empty layer built with the given
CONFIG options (the base ones, plus ``blocking_timeout``); it registers its
own clean-up. Layers made in one test may share a store (a file, a server),
as they would in production; ``prefix`` keeps them apart.
"""

from __future__ import annotations

import datetime
import os
import shutil
import string
import tempfile
import threading
import time

from django.test import SimpleTestCase

from channels_test.layers import ChannelFull, MessageTooLarge
from channels_test.layers.base import process_local_name, random_letters, random_string
from channels_test.layers.inmemory import InMemoryChannelLayer
from channels_test.layers.sqlite import SQLiteChannelLayer
from tests.support.redis import IsolatedRedisLayer


def layer_factory(layer_class: type, **defaults):
    """Return a ``make_layer`` method building a flushed ``layer_class``, flushed again after."""

    def make_layer(self, **config):
        layer = layer_class(**{**defaults, **config})
        layer.flush()
        self.addCleanup(layer.flush)
        return layer

    return make_layer


def sqlite_factory():
    """Return a ``make_layer`` method building SQLite layers on one fresh file per test."""

    def make_layer(self, **config):
        if getattr(self, "sqlite_path", None) is None:
            directory = tempfile.mkdtemp(prefix="channels_test_layer_")
            self.addCleanup(shutil.rmtree, directory, ignore_errors=True)
            self.sqlite_path = os.path.join(directory, "layer.sqlite3")
        config.setdefault("path", self.sqlite_path)
        layer = SQLiteChannelLayer(**config)
        layer.flush()
        self.addCleanup(layer.close)
        return layer

    return make_layer


def receive_soon(layer, channels, timeout: float = 5.0) -> tuple:
    """Receive from ``channels``, retrying with block=True for up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        channel, message = layer.receive(channels, block=True)
        if channel is not None:
            return channel, message
    raise AssertionError(f"No message on {channels!r} within {timeout} s.")


class FakeClock:
    """A layer ``clock`` that stands still until a test moves it with :meth:`advance`."""

    def __init__(self, start: float = 1_000_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def nested(depth: int, kind: type = list) -> object:
    """Return ``depth`` lists (or dicts, under key "k") nested in one another around 1."""
    value: object = 1
    for _ in range(depth):
        value = [value] if kind is list else {"k": value}
    return value


class LayerContract:
    """Behaviours every channel layer shares. Mix into a TestCase with ``make_layer``."""

    make_layer = None  # (self, **config) -> a fresh, empty layer
    # False for a layer that measures expiry on its server's clock (Redis):
    # its expiry tests then wait for real, a few tenths of a second.
    takes_clock = True

    def setUp(self):
        super().setUp()
        self.layer = self.make_layer()

    # -- basics ----------------------------------------------------------

    def test_send_then_receive(self):
        self.layer.send("sr", {"value": "blue"})
        self.assertEqual(self.layer.receive(["sr"]), ("sr", {"value": "blue"}))
        self.assertEqual(self.layer.receive(["sr"]), (None, None))

    def test_receive_with_nothing_waiting(self):
        self.assertEqual(self.layer.receive(["empty"]), (None, None))
        self.assertEqual(self.layer.receive([]), (None, None))

    def test_receive_from_several_channels(self):
        self.layer.send("two", {"n": 2})
        self.assertEqual(self.layer.receive(["one", "two", "three"]), ("two", {"n": 2}))

    def test_receive_rejects_a_str(self):
        with self.assertRaisesRegex(TypeError, r"receive\(\['abc'\]\)"):
            self.layer.receive("abc")

    def test_fifo_per_channel(self):
        for number in range(20):
            self.layer.send("fifo", {"n": number})
        received = [self.layer.receive(["fifo"])[1]["n"] for _ in range(20)]
        self.assertEqual(received, list(range(20)))

    # -- send_and_receive (the test clients' send_and_consume) --------------

    def test_send_and_receive_with_nothing_waiting_returns_the_message(self):
        message = {"list": [1], "text": "hi"}
        self.assertEqual(self.layer.send_and_receive("sar", message), ("sar", {"list": [1], "text": "hi"}))
        self.assertEqual(self.layer.receive(["sar"]), (None, None))

    def test_send_and_receive_returns_a_copy(self):
        message = {"list": [1]}
        _, received = self.layer.send_and_receive("sar", message)
        message["list"].append(2)
        self.assertEqual(received, {"list": [1]})

    def test_send_and_receive_takes_what_waited_first(self):
        self.layer.send("sar", {"n": 1})
        self.assertEqual(self.layer.send_and_receive("sar", {"n": 2}), ("sar", {"n": 1}))
        self.assertEqual(self.layer.receive(["sar"]), ("sar", {"n": 2}))
        self.assertEqual(self.layer.receive(["sar"]), (None, None))

    def test_send_and_receive_refuses_what_send_refuses(self):
        layer = self.make_layer(max_message_size=1000, capacity=1)
        with self.assertRaises(MessageTooLarge):
            layer.send_and_receive("sar", {"body": b"x" * 2000})
        with self.assertRaisesRegex(TypeError, "set"):
            layer.send_and_receive("sar", {"bad": {1}})
        with self.assertRaisesRegex(ValueError, "only for receiving"):
            layer.send_and_receive("sar!", {})
        layer.send("sar", {"n": 1})
        with self.assertRaises(ChannelFull):
            layer.send_and_receive("sar", {"n": 2})
        self.assertEqual(layer.receive(["sar"]), ("sar", {"n": 1}))
        self.assertEqual(layer.receive(["sar"]), (None, None))

    def test_send_and_receive_on_a_full_local_name_sends_then_refuses_the_receive(self):
        reply = process_local_name("reply!")
        with self.assertRaisesRegex(ValueError, r"receive\(\['reply!'\]\)"):
            self.layer.send_and_receive(reply, {"n": 1})
        self.assertEqual(self.layer.receive(["reply!"]), (reply, {"n": 1}))

    def test_extensions(self):
        self.assertIn("groups", self.layer.extensions)
        self.assertIn("flush", self.layer.extensions)

    def test_receive_many_is_a_deprecated_alias(self):
        self.layer.send("alias", {"a": 1})
        with self.assertWarnsRegex(DeprecationWarning, r"receive_many\(\) is deprecated"):
            result = self.layer.receive_many(["alias"])
        self.assertEqual(result, ("alias", {"a": 1}))

    # -- names ------------------------------------------------------------

    def test_valid_names(self):
        for name in ("a", "http.request", "a-b_c.d", "x" * 99, "reply?abc"):
            with self.subTest(name=name):
                self.layer.send(name, {"ok": True})
                self.assertEqual(self.layer.receive([name]), (name, {"ok": True}))
        self.layer.send("reply!abc", {"ok": True})
        self.assertEqual(self.layer.receive(["reply!"]), ("reply!abc", {"ok": True}))

    def test_invalid_channel_names_are_quoted(self):
        for name in ("", "has space", "caf\u00e9", "a!b!c", "a?b?c", "!abc", "x" * 100, "a/b"):
            with self.subTest(name=name):
                with self.assertRaises(ValueError) as caught:
                    self.layer.send(name, {})
                self.assertIn(repr(name), str(caught.exception))
                with self.assertRaises(ValueError):
                    self.layer.receive([name])

    def test_non_str_names(self):
        with self.assertRaisesRegex(TypeError, "must be a str, not int"):
            self.layer.send(5, {})
        with self.assertRaisesRegex(TypeError, "must be a str, not bytes"):
            self.layer.receive([b"abc"])
        with self.assertRaisesRegex(TypeError, "must be a str, not NoneType"):
            self.layer.group_add(None, "abc")

    def test_cannot_send_to_a_bare_local_name(self):
        with self.assertRaisesRegex(ValueError, r"Cannot send to 'reply!'.*process_local_name"):
            self.layer.send("reply!", {})

    def test_invalid_group_names_are_quoted(self):
        for name in ("", "a b", "a!b", "a?b", "g" * 100):
            with self.subTest(name=name):
                with self.assertRaises(ValueError) as caught:
                    self.layer.group_add(name, "member")
                self.assertIn(repr(name), str(caught.exception))
                with self.assertRaises(ValueError):
                    self.layer.send_group(name, {})

    def test_names_ending_in_a_newline_are_refused(self):
        for name in ("a\n", "http.request\n", "reply?abc\n", "reply!abc\n"):
            with self.subTest(name=name):
                with self.assertRaises(ValueError) as caught:
                    self.layer.send(name, {})
                self.assertIn(f"Invalid channel name {name!r}", str(caught.exception))
                with self.assertRaises(ValueError):
                    self.layer.receive([name])
                with self.assertRaises(ValueError):
                    self.layer.group_add("grp", name)
        with self.assertRaises(ValueError):
            self.layer.receive(["reply!\n"])
        with self.assertRaisesRegex(ValueError, r"Invalid group name 'grp\\n'"):
            self.layer.group_add("grp\n", "member")
        with self.assertRaises(ValueError):
            self.layer.send_group("grp\n", {})
        with self.assertRaises(ValueError):
            self.layer.group_channels("grp\n")
        with self.assertRaises(ValueError):
            self.layer.new_channel("reply\n?")
        with self.assertRaisesRegex(ValueError, r"prefix must be .*\\n'"):
            self.make_layer(prefix="other\n")
        self.assertEqual(self.layer.receive(["a", "http.request"]), (None, None))

    def test_group_member_must_be_a_valid_channel(self):
        with self.assertRaisesRegex(ValueError, "'bad name'"):
            self.layer.group_add("grp", "bad name")

    # -- messages ---------------------------------------------------------

    def test_allowed_types_round_trip(self):
        message = {
            "text": "h\u00e9llo",
            "bytes": b"\x00\xff",
            "int": 2**70,
            "float": 1.5,
            "true": True,
            "none": None,
            "list": [1, [2, {"deep": b"x"}]],
            "dict": {"a": {}},
        }
        self.layer.send("types", message)
        self.assertEqual(self.layer.receive(["types"]), ("types", message))

    def test_tuples_come_back_as_lists(self):
        self.layer.send("tuples", {"pair": (1, (2, 3)), "in_list": [(4,)]})
        _, message = self.layer.receive(["tuples"])
        self.assertEqual(message, {"pair": [1, [2, 3]], "in_list": [[4]]})
        self.assertIs(type(message["pair"]), list)

    def test_disallowed_values_name_their_path(self):
        cases = [
            (
                {"user": {"joined": datetime.datetime(2020, 1, 1)}},
                r"message\['user'\]\['joined'\]: datetime is not allowed \(use an ISO string",
            ),
            ({"items": [1, {2, 3}]}, r"message\['items'\]\[1\]: set is not allowed \(use a list"),
            ({"obj": object()}, r"message\['obj'\]: object is not allowed"),
        ]
        for message, pattern in cases:
            with self.subTest(pattern=pattern):
                with self.assertRaisesRegex(TypeError, pattern):
                    self.layer.send("bad", message)
                with self.assertRaisesRegex(TypeError, pattern):
                    self.layer.send_group("grp", message)
        self.assertEqual(self.layer.receive(["bad"]), (None, None))

    def test_big_ints_and_str_bytes_keep_their_type(self):
        message = {
            "ints": [2**63 - 1, 2**64, -(2**63) - 1, 2**200, -(2**1000), 0, -1],
            "text": "b",
            "bytes": b"b",
            "in_list": ["s", b"s"],
            "file_name": "caf\udce9.txt",
            "empty": ["", b""],
            "floats": [-0.0, 1e308],
        }
        self.layer.send("exact", message)
        _, received = self.layer.receive(["exact"])
        self.assertEqual(received, message)
        self.assertEqual([type(value) for value in received["in_list"]], [str, bytes])
        self.assertIs(type(received["bytes"]), bytes)
        self.assertTrue(all(type(value) is int for value in received["ints"]))

    def test_subclasses_come_back_as_their_base_types(self):
        import collections
        import enum

        class Name(str):
            pass

        class Level(enum.IntEnum):
            HIGH = 3

        self.layer.send(
            "plain", {"name": Name("x"), "level": Level.HIGH, "ordered": collections.OrderedDict(a=1), "flag": True}
        )
        _, received = self.layer.receive(["plain"])
        self.assertEqual(received, {"name": "x", "level": 3, "ordered": {"a": 1}, "flag": True})
        self.assertEqual([type(received[key]) for key in ("name", "level", "ordered", "flag")], [str, int, dict, bool])

    def test_messages_nest_up_to_the_documented_depth(self):
        from channels_test.layers.base import MAX_MESSAGE_DEPTH

        deepest = nested(MAX_MESSAGE_DEPTH - 1)  # inside the message: the limit exactly
        self.layer.send("deep", {"v": deepest})
        self.assertEqual(self.layer.receive(["deep"]), ("deep", {"v": deepest}))
        too_deep = {"v": nested(MAX_MESSAGE_DEPTH)}
        pattern = (
            r"message\['v'\]\[0\]\[0\].*\(\d+ more\).*\[0\]: nested deeper than "
            rf"{MAX_MESSAGE_DEPTH} levels of dicts and lists; a message may nest at most "
            rf"{MAX_MESSAGE_DEPTH} \(flatten it"
        )
        with self.assertRaisesRegex(TypeError, pattern):
            self.layer.send("deep", too_deep)
        with self.assertRaisesRegex(TypeError, pattern):
            self.layer.send_group("grp", too_deep)

    def test_messages_deeper_than_the_recursion_limit_are_refused_plainly(self):
        import sys

        depth = sys.getrecursionlimit() * 10
        self.layer.group_add("grp", "deep")
        for message in ({"list": nested(depth)}, {"dict": nested(depth, dict)}):
            with self.subTest(kind=next(iter(message))):
                with self.assertRaisesRegex(TypeError, "nested deeper than"):
                    self.layer.send("deep", message)
                with self.assertRaisesRegex(TypeError, "nested deeper than"):
                    self.layer.send_group("grp", message)
        self.assertEqual(self.layer.receive(["deep"]), (None, None))

    def test_a_message_that_contains_itself_is_refused(self):
        looped = {"user": {"name": "x"}}
        looped["user"]["again"] = looped
        listed = {"items": [1, 2]}
        listed["items"].append(listed["items"])
        cases = [
            (
                looped,
                (
                    r"message\['user'\]\['again'\]: the message contains itself here \(this "
                    r"is the same object as message\)"
                ),
            ),
            (
                listed,
                (
                    r"message\['items'\]\[2\]: the message contains itself here \(this is the "
                    r"same object as message\['items'\]\)"
                ),
            ),
        ]
        self.layer.group_add("grp", "loop")
        for message, pattern in cases:
            with self.subTest(pattern=pattern):
                with self.assertRaisesRegex(TypeError, pattern):
                    self.layer.send("loop", message)
                with self.assertRaisesRegex(TypeError, pattern):
                    self.layer.send_group("grp", message)
        self.assertEqual(self.layer.receive(["loop"]), (None, None))

    def test_a_value_shared_twice_is_not_a_loop(self):
        shared = {"a": [1]}
        self.layer.send("shared", {"first": shared, "second": [shared, shared]})
        _, received = self.layer.receive(["shared"])
        self.assertEqual(received, {"first": {"a": [1]}, "second": [{"a": [1]}, {"a": [1]}]})

    def test_keys_must_be_str(self):
        with self.assertRaisesRegex(TypeError, r"message\['a'\]: dict keys must be str, found int"):
            self.layer.send("bad", {"a": {1: "x"}})

    def test_message_must_be_a_dict(self):
        for message in (["list"], "text", None):
            with self.subTest(message=message):
                with self.assertRaisesRegex(TypeError, "A message must be a dict"):
                    self.layer.send("bad", message)

    def test_mutating_after_send_changes_nothing(self):
        message = {"list": [1], "inner": {"a": 1}}
        self.layer.send("copy", message)
        message["list"].append(2)
        message["inner"]["a"] = 99
        message["new"] = True
        self.assertEqual(self.layer.receive(["copy"])[1], {"list": [1], "inner": {"a": 1}})

    def test_each_group_member_gets_its_own_copy(self):
        self.layer.group_add("copies", "member.a")
        self.layer.group_add("copies", "member.b")
        self.layer.send_group("copies", {"list": [1], "inner": {"a": 1}})
        _, first = self.layer.receive(["member.a"])
        first["list"].append(2)
        first["inner"]["a"] = 99
        self.assertEqual(self.layer.receive(["member.b"])[1], {"list": [1], "inner": {"a": 1}})

    def test_message_too_large(self):
        layer = self.make_layer(max_message_size=1000)
        layer.send("size", {"body": b"x" * 900})
        with self.assertRaisesRegex(MessageTooLarge, r"takes at most 1000"):
            layer.send("size", {"body": b"x" * 2000})
        with self.assertRaises(layer.MessageTooLarge):
            layer.send_group("grp", {"body": b"x" * 2000})
        self.assertEqual(layer.receive(["size"])[1], {"body": b"x" * 900})
        self.assertEqual(layer.receive(["size"]), (None, None))

    def test_message_size_limit_defaults_to_one_mebibyte(self):
        self.assertEqual(self.layer.max_message_size, 1024 * 1024)
        self.layer.send("size", {"body": b"x" * (1024 * 1024 - 100)})
        with self.assertRaisesRegex(MessageTooLarge, r"takes at most 1048576 \(raise max_message_size"):
            self.layer.send("size", {"body": b"x" * (1024 * 1024)})
        self.assertEqual(len(self.layer.receive(["size"])[1]["body"]), 1024 * 1024 - 100)

    # -- capacity ---------------------------------------------------------

    def test_capacity(self):
        layer = self.make_layer(capacity=3)
        for number in range(3):
            layer.send("cap", {"n": number})
        with self.assertRaisesRegex(ChannelFull, "'cap'"):
            layer.send("cap", {"n": 3})
        self.assertIs(layer.ChannelFull, ChannelFull)
        layer.receive(["cap"])
        layer.send("cap", {"n": 4})
        received = [layer.receive(["cap"])[1]["n"] for _ in range(3)]
        self.assertEqual(received, [1, 2, 4])

    def test_channel_capacity_globs(self):
        layer = self.make_layer(capacity=5, channel_capacity={"http.request": 1, "ws.*": 2})
        layer.send("http.request", {})
        with self.assertRaises(ChannelFull):
            layer.send("http.request", {})
        layer.send("ws.receive", {})
        layer.send("ws.receive", {})
        with self.assertRaises(ChannelFull):
            layer.send("ws.receive", {})
        for _ in range(5):
            layer.send("other", {})
        with self.assertRaises(ChannelFull):
            layer.send("other", {})

    def test_bad_capacity_settings(self):
        with self.assertRaisesRegex(ValueError, "capacity must be a positive int, not 0"):
            self.make_layer(capacity=0)
        with self.assertRaisesRegex(ValueError, r"channel_capacity\['a'\]"):
            self.make_layer(channel_capacity={"a": -1})

    def test_send_group_skips_full_members(self):
        layer = self.make_layer(capacity=1)
        layer.group_add("grp", "full")
        layer.group_add("grp", "free")
        layer.send("full", {"first": True})
        layer.send_group("grp", {"group": True})
        self.assertEqual(layer.receive(["free"]), ("free", {"group": True}))
        self.assertEqual(layer.receive(["full"]), ("full", {"first": True}))
        self.assertEqual(layer.receive(["full"]), (None, None))

    # -- expiry -------------------------------------------------------------

    def make_expiring_layer(self, **config) -> tuple:
        """Return a layer and a function moving its expiry clock on by some seconds."""
        if not self.takes_clock:
            return self.make_layer(**config), time.sleep
        clock = FakeClock()
        return self.make_layer(clock=clock, **config), clock.advance

    def test_message_expiry(self):
        layer, advance = self.make_expiring_layer(expiry=0.2)
        layer.send("short", {"old": True})
        advance(0.1)
        self.assertEqual(layer.message_counts(), {"short": 1}, "expired too early")
        advance(0.2)
        layer.send("short", {"new": True})
        self.assertEqual(layer.receive(["short"]), ("short", {"new": True}))
        self.assertEqual(layer.receive(["short"]), (None, None))

    def test_expired_messages_free_capacity(self):
        layer, advance = self.make_expiring_layer(expiry=0.2, capacity=1)
        layer.send("short", {"old": True})
        advance(0.3)
        layer.send("short", {"new": True})
        self.assertEqual(layer.receive(["short"]), ("short", {"new": True}))

    def test_group_expiry(self):
        layer, advance = self.make_expiring_layer(group_expiry=0.2)
        layer.group_add("grp", "member")
        self.assertEqual(layer.group_channels("grp"), ["member"])
        advance(0.3)
        self.assertEqual(layer.group_channels("grp"), [])
        layer.send_group("grp", {"late": True})
        self.assertEqual(layer.receive(["member"]), (None, None))

    def test_group_add_renews_membership(self):
        layer, advance = self.make_expiring_layer(group_expiry=0.4)
        layer.group_add("grp", "member")
        advance(0.25)
        layer.group_add("grp", "member")
        advance(0.25)
        self.assertEqual(layer.group_channels("grp"), ["member"])

    def test_a_clock_that_is_not_callable_is_refused(self):
        with self.assertRaisesRegex(TypeError, "clock must be a function"):
            self.make_layer(clock=12.5)

    # -- groups -------------------------------------------------------------

    def test_groups(self):
        self.layer.group_add("grp", "one")
        self.layer.group_add("grp", "two")
        self.layer.group_add("grp", "two")
        self.assertEqual(sorted(self.layer.group_channels("grp")), ["one", "two"])
        self.layer.send_group("grp", {"hi": 1})
        self.assertEqual(self.layer.receive(["one"]), ("one", {"hi": 1}))
        self.assertEqual(self.layer.receive(["two"]), ("two", {"hi": 1}))
        self.assertEqual(self.layer.receive(["one", "two"]), (None, None))

    def test_group_discard(self):
        self.layer.group_add("grp", "one")
        self.layer.group_add("grp", "two")
        self.layer.group_discard("grp", "one")
        self.layer.group_discard("grp", "never-added")
        self.layer.group_discard("no-such-group", "one")
        self.assertEqual(self.layer.group_channels("grp"), ["two"])
        self.layer.send_group("grp", {"hi": 1})
        self.assertEqual(self.layer.receive(["one"]), (None, None))
        self.assertEqual(self.layer.receive(["two"]), ("two", {"hi": 1}))

    def test_empty_group(self):
        self.assertEqual(self.layer.group_channels("nobody"), [])
        self.layer.send_group("nobody", {"lost": True})

    def test_group_reaches_local_channels(self):
        reply = process_local_name("reply!")
        self.layer.group_add("grp", reply)
        self.layer.send_group("grp", {"to": "reply"})
        self.assertEqual(self.layer.receive(["reply!"]), (reply, {"to": "reply"}))

    # -- new_channel, ! and ? -----------------------------------------------------

    def test_new_channel_is_unique_and_unguessable(self):
        names = {self.layer.new_channel("reply?") for _ in range(200)}
        self.assertEqual(len(names), 200)
        for name in names:
            self.assertRegex(name, r"^reply\?[A-Za-z0-9]{12,}$")

    def test_new_channel_makes_single_reader_names_only(self):
        # The ASGI 1 layer rule (asgiref 1.1.2's conformance suite): only '?' patterns.
        for pattern in ("reply", "test.foo", "test!"):
            with self.subTest(pattern=pattern):
                with self.assertRaisesRegex(ValueError, "new_channel\\(\\) needs a pattern ending in '\\?'"):
                    self.layer.new_channel(pattern)
        with self.assertRaisesRegex(ValueError, r"process_local_name\('test!'\)"):
            self.layer.new_channel("test!")
        with self.assertRaisesRegex(ValueError, "Invalid channel name"):
            self.layer.new_channel("bad name?")

    def test_receive_on_a_full_local_name_is_refused(self):
        reply = process_local_name("reply!")
        self.layer.send(reply, {"n": 1})
        with self.assertRaisesRegex(ValueError, r"receive\(\['reply!'\]\)"):
            self.layer.receive([reply])
        self.assertEqual(self.layer.receive(["reply!"]), (reply, {"n": 1}))

    def test_local_channels_share_their_prefix_capacity(self):
        layer = self.make_layer(capacity=3)
        for index in range(3):
            layer.send(f"capp!{index}", {"n": index})
        with self.assertRaises(layer.ChannelFull):
            layer.send("capp!final", {"n": 3})
        layer.receive(["capp!"])
        layer.send("capp!final", {"n": 3})

    def test_local_channels_receive_on_their_prefix(self):
        first = process_local_name("http.response!")
        second = process_local_name("http.response!")
        self.layer.send(first, {"n": 1})
        self.layer.send(second, {"n": 2})
        self.layer.send("http.response?other", {"n": 3})
        got = [self.layer.receive(["http.response!"]) for _ in range(2)]
        self.assertEqual(sorted(got, key=lambda pair: pair[1]["n"]), [(first, {"n": 1}), (second, {"n": 2})])
        self.assertEqual(self.layer.receive(["http.response!"]), (None, None))
        self.assertEqual(self.layer.receive(["http.response?other"])[1], {"n": 3})

    def test_local_and_plain_channels_together(self):
        reply = process_local_name("reply!")
        self.layer.send("plain", {"n": 1})
        self.layer.send(reply, {"n": 2})
        got = [self.layer.receive(["reply!", "plain"]) for _ in range(2)]
        self.assertCountEqual(got, [("plain", {"n": 1}), (reply, {"n": 2})])

    # -- flush, fairness -----------------------------------------------------------

    def test_flush(self):
        self.layer.send("a", {"n": 1})
        self.layer.group_add("grp", "a")
        self.layer.flush()
        self.assertEqual(self.layer.receive(["a"]), (None, None))
        self.assertEqual(self.layer.group_channels("grp"), [])
        self.layer.send("a", {"n": 2})
        self.assertEqual(self.layer.receive(["a"]), ("a", {"n": 2}))

    def test_prefixes_are_separate(self):
        mine = self.make_layer(prefix="contract-mine")
        theirs = self.make_layer(prefix="contract-theirs")
        mine.send("same.name", {"from": "mine"})
        mine.group_add("grp", "same.name")
        self.assertEqual(theirs.receive(["same.name"]), (None, None))
        self.assertEqual(theirs.group_channels("grp"), [])
        theirs.flush()
        self.assertEqual(mine.group_channels("grp"), ["same.name"])
        self.assertEqual(mine.receive(["same.name"]), ("same.name", {"from": "mine"}))

    def test_busy_channel_cannot_starve_another(self):
        layer = self.make_layer(capacity=1000)
        for number in range(50):
            layer.send("busy", {"n": number})
        layer.send("quiet", {"n": "q"})
        served = []
        for number in range(50, 200):
            layer.send("busy", {"n": number})
            channel, _ = layer.receive(["busy", "quiet"])
            served.append(channel)
            if channel == "quiet":
                break
        self.assertIn("quiet", served, "the quiet channel was never served over 150 receives")

    # -- blocking and threads ----------------------------------------------------

    def test_blocking_receive_gets_a_message_from_another_thread(self):
        sender = threading.Timer(0.05, self.layer.send, ("later", {"from": "thread"}))
        sender.start()
        self.addCleanup(sender.join, 5)
        self.assertEqual(receive_soon(self.layer, ["later"]), ("later", {"from": "thread"}))

    def test_blocking_receive_times_out(self):
        layer = self.make_layer(blocking_timeout=0.1)
        started = time.monotonic()
        self.assertEqual(layer.receive(["nothing"], block=True), (None, None))
        self.assertGreaterEqual(time.monotonic() - started, 0.09)

    def test_threads_deliver_every_message_exactly_once(self):
        layer = self.make_layer(capacity=10000, blocking_timeout=0.05)
        senders, per_sender, receivers = 3, 200, 3
        total = senders * per_sender
        received: list = []
        lock = threading.Lock()
        errors: list = []

        def send(sender: int) -> None:
            try:
                for number in range(per_sender):
                    layer.send(f"work{number % 3}", {"id": f"{sender}-{number}"})
            except Exception as error:  # reported below with the test's failure
                errors.append(error)

        def receive() -> None:
            deadline = time.monotonic() + 30
            try:
                while time.monotonic() < deadline:
                    with lock:
                        if len(received) >= total:
                            return
                    channel, message = layer.receive(["work0", "work1", "work2"], block=True)
                    if channel is not None:
                        with lock:
                            received.append(message["id"])
            except Exception as error:
                errors.append(error)

        threads = [threading.Thread(target=send, args=(n,)) for n in range(senders)]
        threads += [threading.Thread(target=receive) for _ in range(receivers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertEqual(errors, [])
        expected = sorted(f"{s}-{n}" for s in range(senders) for n in range(per_sender))
        self.assertEqual(len(received), total, "messages lost or duplicated")
        self.assertEqual(sorted(received), expected)


class InMemoryLayerTests(LayerContract, SimpleTestCase):
    make_layer = layer_factory(InMemoryChannelLayer)

    def test_send_and_receive_calls_a_subclass_own_send_and_receive(self):
        calls = []

        class Counting(InMemoryChannelLayer):
            def send(self, channel, message):
                calls.append(("send", channel))
                super().send(channel, message)

            def receive(self, channels, block=False):
                calls.append(("receive", tuple(channels)))
                return super().receive(channels, block)

        layer = Counting()
        self.assertEqual(layer.send_and_receive("sar", {"n": 1}), ("sar", {"n": 1}))
        self.assertEqual(calls, [("send", "sar"), ("receive", ("sar",))])


class SQLiteLayerTests(LayerContract, SimpleTestCase):
    make_layer = sqlite_factory()


class RedisLayerTests(LayerContract, SimpleTestCase):
    make_layer = layer_factory(IsolatedRedisLayer)
    takes_clock = False

    def test_a_clock_that_is_not_callable_is_refused(self):
        # Nor a callable one: the server's clock decides.
        with self.assertRaisesRegex(TypeError, "takes no 'clock'.*server's own clock"):
            self.make_layer(clock=FakeClock())


class RandomStringTests(SimpleTestCase):
    def test_every_character_of_the_alphabet_is_about_equally_likely(self):
        # 100 characters share 256 byte values: the first 56 would take three
        # each and the other 44 two, unless the surplus bytes are dropped.
        alphabet = string.printable
        text = "".join(random_string(1000, alphabet) for _ in range(200))
        first = sum(text.count(character) for character in alphabet[:56]) / 56
        last = sum(text.count(character) for character in alphabet[56:]) / 44
        self.assertEqual(len(text), 200_000)
        # 2,000 expected each: the means differ by 1.5x when biased, by under 5% by chance.
        self.assertAlmostEqual(first / last, 1.0, delta=0.05)

    def test_letters_and_digits_only_and_the_length_asked_for(self):
        for count in (0, 1, 12, 300):
            text = random_letters(count)
            self.assertEqual(len(text), count)
            self.assertTrue(text.isascii() and (text.isalnum() or not text))

    def test_an_alphabet_it_cannot_use_is_refused(self):
        for alphabet in ("a", "", "äb"):
            with self.assertRaisesMessage(ValueError, "random_string() needs 2 to 256 ASCII characters"):
                random_string(5, alphabet)
