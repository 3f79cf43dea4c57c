import datetime
import decimal
import json
import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.test import SimpleTestCase

from channels_test import jsoncodec
from channels_test.jsoncodec import decode_json, encode_json

VALUES = [
    {"n": 1},
    {"text": "caf\u00e9 \u2603 \U0001f600", "quote": '"\\/\n\t'},
    [1, -2, 2**70, -(2**70), 0.1, -2.5e-300, 1e308, True, False, None],
    {"nested": {"a": [[], {}, [{"b": ""}]]}, "1": "key that looks like a number"},
    {1: "int key", None: "None key", False: "bool key", 2.5: "float key"},
    [float("nan"), float("inf"), float("-inf")],
    "just a string",
    42,
    None,
    ("a", "tuple"),
    {"lone surrogate": "\ud800"},
]


class EncodeTests(SimpleTestCase):
    def test_the_short_way_is_in_use(self):
        # CPython has the C encoder and scanner: without them every call takes the long way.
        self.assertIsNotNone(jsoncodec._encoder)
        self.assertIsNotNone(jsoncodec._scan)

    def test_writes_what_json_dumps_writes(self):
        for value in VALUES:
            with self.subTest(value=value):
                self.assertEqual(encode_json(value), json.dumps(value))

    def test_subclasses_as_json_dumps_writes_them(self):
        class Text(str):
            pass

        class Number(int):
            pass

        class Mapping(dict):
            pass

        value = Mapping({Text("k"): [Number(3), Text("v")]})
        self.assertEqual(encode_json(value), json.dumps(value))

    def test_django_types_as_djangos_encoder_writes_them(self):
        value = {
            "when": datetime.datetime(2026, 12, 1, 10, 30, 5, 123000, tzinfo=datetime.timezone.utc),
            "amount": decimal.Decimal("12.50"),
            "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        }
        self.assertEqual(encode_json(value), json.dumps(value, cls=DjangoJSONEncoder))

    def test_unencodable_value_raises_djangos_type_error(self):
        with self.assertRaisesMessage(TypeError, "is not JSON serializable"):
            encode_json({"set": {1, 2}})

    def test_structure_holding_itself_raises_the_standard_error(self):
        looped: list = []
        looped.append(looped)
        with self.assertRaisesMessage(ValueError, "Circular reference detected"):
            encode_json(looped)
        self.assertEqual(encode_json({"after": "a failure"}), '{"after": "a failure"}')


class DecodeTests(SimpleTestCase):
    def test_reads_what_json_loads_reads(self):
        for value in VALUES:
            text = json.dumps(value)
            with self.subTest(text=text):
                decoded = decode_json(text)
                if value == value:  # NaN is not equal to itself: compare the text again
                    self.assertEqual(decoded, json.loads(text))
                self.assertEqual(json.dumps(decoded), json.dumps(json.loads(text)))

    def test_whitespace_around_the_value(self):
        for text in [' {"n": 1}', '{"n": 1} ', "\n\t[1, 2]\r\n "]:
            with self.subTest(text=text):
                self.assertEqual(decode_json(text), json.loads(text))

    def test_bytes_as_json_loads_takes_them(self):
        self.assertEqual(decode_json(b'{"n": 1}'), {"n": 1})

    def test_what_is_not_json_raises_json_loads_error(self):
        for text in ["", "{", '{"n": 1} extra', "nope", '{"n": 1}{"n": 2}', "[1,]"]:
            with self.subTest(text=text):
                with self.assertRaises(json.JSONDecodeError) as expected:
                    json.loads(text)
                with self.assertRaises(json.JSONDecodeError) as found:
                    decode_json(text)
                self.assertEqual(str(found.exception), str(expected.exception))
