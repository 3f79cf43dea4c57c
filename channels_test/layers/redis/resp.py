"""Redis commands packed by hand (RESP), sent on a redis-py connection.

Why not redis-py's public client (``client.evalsha`` on a connection pool,
or ``register_script`` objects)? Measured with the Redis workloads of
``bench/layers.py`` (send+receive pairs on one channel, ``send_group`` to
100 members), the same layer with its sends and receives done each way,
alternating rounds in one process against a local Redis 7.0 server while
other jobs used the machine's two cores (medians of 10-12 rounds; packed by
hand vs public client):

===  ==============  ==================  ==================  =====================
run  public client   pairs/s             client CPU / pair   send_group (100), µs
===  ==============  ==================  ==================  =====================
1    ``evalsha``     1,232 vs 683        174 vs 285 µs       1,122 vs 1,439
2    ``Script``      1,995 vs 1,018      132 vs 285 µs       809 vs 977
3    ``evalsha``     3,763 vs 2,429      121 vs 225 µs       578 vs 677
4    ``evalsha``     2,852 vs 1,671      117 vs 226 µs       766 vs 802
===  ==============  ==================  ==================  =====================

Packing by hand gives 55-96% more pairs per second and takes 40-52% less
client CPU per pair (the public client takes a connection from its pool,
packs each argument and runs reply callbacks on every command); a group send
is 4-22% faster. The gain on the path every request and reply takes is well
past 15%, so the private path stays, confined to this module and the
idle-connection check in :mod:`.connections`.

The layer builds each command's bytes itself and hands them to a redis-py
``Connection`` with ``send_packed_command`` / ``read_response`` (public
methods), and checks an idle connection for a close by the server with
``poll`` on its socket (``Connection._sock``, redis-py's private attribute,
in :mod:`.connections`). Keep that attribute's use in that one place.
"""

from __future__ import annotations

__all__ = ["bulk", "pack"]


def bulk(parts: list | tuple) -> bytes:
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
