"""The stored form of messages: plain_copy gives what encoding and decoding give, or says to encode."""

import random

from django.test import SimpleTestCase

from channels_test.layers.encoding import decode_message, encode_message, plain_copy, validate_message


def round_trip(message):
    return decode_message(encode_message(validate_message(message)))


class PlainCopyTests(SimpleTestCase):
    def test_copies_what_a_round_trip_gives(self):
        messages = [
            {},
            {"text": "caf\u00e9 \U0001f600", "bytes": b"\x00\xff", "n": -(2**63), "big": 2**64 - 1, "f": 1.5},
            {"true": True, "false": False, "none": None, "empty": [], "inner": {}},
            {"headers": [[b"host", b"example.com"], [b"cookie", b"a=b"]], "order": 0},
            {"pair": (1, (2, 3)), "in_list": [(4,)], "lone surrogate": "\ud800"},
            {"deep": {"a": [{"b": [1]}]}},
        ]
        for message in messages:
            with self.subTest(message=message):
                copy = plain_copy(message, 1024 * 1024)
                self.assertEqual(copy, round_trip(message))
                self.assertEqual(repr(copy), repr(round_trip(message)))  # lists, not tuples

    def test_the_copy_shares_no_container(self):
        message = {"list": [1, [2]], "inner": {"a": {}}}
        copy = plain_copy(message, 1024 * 1024)
        self.assertIsNot(copy, message)
        self.assertIsNot(copy["list"], message["list"])
        self.assertIsNot(copy["list"][1], message["list"][1])
        self.assertIsNot(copy["inner"]["a"], message["inner"]["a"])

    def test_leaves_the_unusual_to_encoding(self):
        class Text(str):
            pass

        messages = [
            {"subclass": Text("x")},
            {"key": "fine", 1: "int key"},
            {"huge": 2**64},
            {"negative huge": -(2**63) - 1},
            {"deeper": {"than": {"the": {"fast": {"check": {"goes": 1}}}}}},
            {"bad": object()},
            {"set": {1, 2}},
        ]
        for message in messages:
            with self.subTest(message=message):
                self.assertIsNone(plain_copy(message, 1024 * 1024))
        self.assertIsNone(plain_copy(["not a dict"], 1024 * 1024))

    def test_never_passes_a_message_over_the_limit(self):
        chooser = random.Random(20261201)
        scalars = [
            lambda: "x" * chooser.randrange(0, 300),
            lambda: "\u2603" * chooser.randrange(0, 100),
            lambda: "\U0001f600" * chooser.randrange(0, 50),
            lambda: b"y" * chooser.randrange(0, 70000),
            lambda: chooser.randrange(-(2**63), 2**64),
            lambda: chooser.random(),
            lambda: None,
            lambda: True,
        ]

        def value(depth):
            if depth and chooser.random() < 0.3:
                if chooser.random() < 0.5:
                    return [value(depth - 1) for _ in range(chooser.randrange(0, 20))]
                return {
                    f"k{index}" * chooser.randrange(1, 40): value(depth - 1)
                    for index in range(chooser.randrange(0, 20))
                }
            return chooser.choice(scalars)()

        for _ in range(300):
            message = {f"key{index}": value(3) for index in range(chooser.randrange(0, 8))}
            size = len(encode_message(message))
            for limit in (size - 1, size, size + 1, size * 4 + 1000):
                copy = plain_copy(message, limit)
                if limit < size:
                    self.assertIsNone(copy, f"passed {size} bytes under a limit of {limit}")
                elif copy is not None:
                    self.assertEqual(copy, round_trip(message))
