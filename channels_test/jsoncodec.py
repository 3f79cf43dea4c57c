"""JSON text frames: the standard library's text, with less set-up per call.

``json.dumps(value)`` builds a new encoder object on every call and
``json.loads(text)`` walks through three Python-level methods before its
scanner runs; for the small frames a WebSocket carries that set-up costs
more than the encoding. The functions here keep one encoder and one scanner
made by the standard library's own factories and call them directly. They
write and read exactly what ``json.dumps``/``json.loads`` do: anything the
short way does not take at once (text with surrounding whitespace, a value
the encoder cannot write, a structure that holds itself, a Python without
the C speed-ups) goes the standard way, so the result and any error are the
standard library's.
"""

from __future__ import annotations

import json
import json.encoder
import json.scanner
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

__all__ = ["decode_json", "encode_json"]


def _make_encoder() -> Any:
    """Return json.dumps' own C encoder, made once, or None where there is none that writes the same."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return None
    standard = json.JSONEncoder()
    try:
        # No markers: a structure that holds itself then recurses until Python stops it,
        # and goes the standard way for the standard error.
        encoder = make(
            None,
            standard.default,
            json.encoder.encode_basestring_ascii,
            None,
            standard.key_separator,
            standard.item_separator,
            False,
            False,
            True,
        )
        probe = {"text": "caf\u00e9 \u2603", "n": [1, -2.5, 1e100, True, None], "nested": {"a": []}}
        if "".join(encoder(probe, 0)) != json.dumps(probe):
            return None
    except Exception:  # a signature this Python does not have
        return None
    return encoder


def _make_scanner() -> Any:
    """Return json.loads' own C scanner, made once, or None where there is none."""
    if getattr(json.scanner, "c_make_scanner", None) is None:
        return None
    return json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # set in __init__, untyped


_encoder = _make_encoder()
_scan = _make_scanner()


def encode_json(value: Any) -> str:
    """Encode ``value`` as ``json.dumps(value)`` does; dates, Decimals and UUIDs as Django's encoder writes them."""
    if _encoder is not None:
        try:
            return "".join(_encoder(value, 0))
        except TypeError:  # a value the standard encoder cannot write (the same TypeError)
            return json.dumps(value, cls=DjangoJSONEncoder)
        except Exception:  # a structure holding itself: the standard way below says so
            pass
    try:
        return json.dumps(value)
    except TypeError:
        return json.dumps(value, cls=DjangoJSONEncoder)


def decode_json(text: str) -> Any:
    """Decode ``text`` as ``json.loads(text)`` does (raising its ``ValueError`` for what is not JSON)."""
    if _scan is not None and type(text) is str:
        try:
            value, end = _scan(text, 0)
        except Exception:  # json.loads below raises the standard error
            pass
        else:
            if end == len(text):
                return value
    return json.loads(text)
