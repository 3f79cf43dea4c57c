"""Redis commands packed by hand (RESP), sent on a redis-py connection.

FIGURES

The layer builds each command's bytes itself and hands them to a redis-py
``Connection`` with ``send_packed_command`` / ``read_response`` (public
methods), and checks an idle connection for a close by the server with
``poll`` on its socket (``Connection._sock``, redis-py's private attribute,
in :mod:`.connections`). Keep that attribute's use in that one place.
"""

from __future__ import annotations

__all__ = ["bulk", "pack"]


def bulk(parts: list) -> bytes:
    """Encode ``parts`` (bytes, str, int) as RESP bulk strings, back to back."""
    out = []
    for part in parts:
        if isinstance(part, str):
            part = part.encode()
        elif isinstance(part, int):
            part = b"%d" % part
        out.append(b"$%d\r\n%s\r\n" % (len(part), part))
    return b"".join(out)


def pack(parts: list | tuple) -> bytes:
    """Encode one Redis command (a list of bytes, str and int arguments)."""
    return b"*%d\r\n" % len(parts) + bulk(parts)
