"""Run layer workloads on Channels 1.x's stack and on ours, side by side.

Channels 1.1.8 used asgiref 1.1.2's ``asgiref.inmemory.ChannelLayer`` and,
across machines, asgi_redis 1.4.3. They need a virtualenv of their own
(never add them to this project's dependencies)::

    python3 -m venv /tmp/venv1x
    /tmp/venv1x/bin/pip install channels==1.1.8 Django==2.2.28 asgiref==1.1.2 \
        asgi_redis==1.4.3 "msgpack<1"
    python bench/compare_1x.py --python-1x /tmp/venv1x/bin/python

(or set CHANNELS_TEST_PYTHON_1X). asgi_redis calls msgpack with an argument
msgpack 1.0 removed, hence ``msgpack<1``. Each side runs in its own process;
the Redis figures of both use the same server (``--redis-url``, default
``$CHANNELS_TEST_REDIS_URL`` or ``redis://127.0.0.1:6379/0``) in the same
run, each under a prefix of its own that it deletes afterwards. This script
only prints figures.

It also runs the test toolkit's two everyday workloads (bench/toolkit_workloads.py)
on both stacks: Channels 1.1.8 on Django 2.2 against ours on this Django.
``--only toolkit`` or ``--only layers`` runs one half.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
# The workloads are bench/layers.py's own, so both scripts measure the same thing.
sys.path.insert(0, HERE)
from layers import pairs_per_second, receive_microseconds, send_group_microseconds  # noqa: E402

CAPACITY = 100000  # high enough that no workload fills a channel
# How the parent tells a child which Redis server and prefix to use.
REDIS_URL = "CHANNELS_TEST_COMPARE_REDIS_URL"
REDIS_PREFIX = "CHANNELS_TEST_COMPARE_REDIS_PREFIX"
REDIS_ROUNDS = 3
TOOLKIT_ROUNDS = 3


def make_layer(kind: str):
    """Build the layer of ``kind``: "ours" or "1x" (in-memory), "redis-ours" or "redis-1x"."""
    if kind == "1x":
        from asgiref.inmemory import ChannelLayer

        return ChannelLayer(capacity=CAPACITY)
    if kind == "redis-1x":
        from asgi_redis import RedisChannelLayer

        return RedisChannelLayer(
            hosts=[os.environ[REDIS_URL]], prefix=os.environ[REDIS_PREFIX] + "-1x:", capacity=CAPACITY
        )
    sys.path.insert(0, os.path.dirname(HERE))
    if kind == "redis-ours":
        from channels_test.layers.redis import RedisChannelLayer

        return RedisChannelLayer(
            hosts=[os.environ[REDIS_URL]], prefix=os.environ[REDIS_PREFIX] + "-ours", capacity=CAPACITY
        )
    from channels_test.layers.inmemory import InMemoryChannelLayer

    return InMemoryChannelLayer(capacity=CAPACITY)


def workload(kind: str) -> dict:
    """Run every measurement on a fresh layer of ``kind``; return name -> figure."""
    layer = make_layer(kind)
    return {
        "Python": sys.version.split()[0],
        "send+receive, one channel (pairs/s)": pairs_per_second(layer, 100000),
        "receive over 1 channel (µs)": receive_microseconds(layer, 1, 5000),
        "receive over 1,000 channels (µs)": receive_microseconds(layer, 1000, 5000),
        "send_group to 1,000 members (µs)": send_group_microseconds(layer, 1000, 50),
    }


def redis_workload(kind: str) -> dict:
    """Run the Redis measurements on a layer of ``kind``; delete its keys after."""
    layer = make_layer(kind)
    try:
        return {
            "Python": sys.version.split()[0],
            "send+receive, one channel (pairs/s)": pairs_per_second(layer, 5000),
            "send_group to 100 members (µs)": send_group_microseconds(layer, 100, 30),
        }
    finally:
        layer.flush()


def toolkit_workload(kind: str) -> dict:
    """Run the test toolkit workloads on Channels 1.x ("toolkit-1x") or ours ("toolkit-ours")."""
    if kind == "toolkit-ours":
        sys.path.insert(0, os.path.dirname(HERE))
    from toolkit_workloads import run

    figures = run("channels" if kind == "toolkit-1x" else "channels_test")
    return {"Python": sys.version.split()[0], **figures}


def run_side(python: str, kind: str, env: dict | None = None) -> dict:
    """Run the workload with ``python`` in a child process and return its figures."""
    result = subprocess.run(
        [python, os.path.abspath(__file__), "--child", kind],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    if result.returncode != 0:
        raise SystemExit(f"The {kind} run with {python} failed:\n{result.stderr}")
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--python-1x",
        default=os.environ.get("CHANNELS_TEST_PYTHON_1X"),
        help="python of a virtualenv with asgiref==1.1.2 (default: $CHANNELS_TEST_PYTHON_1X)",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("CHANNELS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
        help="Redis server both sides' Redis layers use (default: $CHANNELS_TEST_REDIS_URL or "
        "redis://127.0.0.1:6379/0)",
    )
    parser.add_argument("--only", choices=["layers", "toolkit"], help="run only this half")
    parser.add_argument(
        "--child",
        choices=["ours", "1x", "redis-ours", "redis-1x", "toolkit-ours", "toolkit-1x"],
        help=argparse.SUPPRESS,
    )
    options = parser.parse_args()
    if options.child:
        if options.child.startswith("toolkit-"):
            run = toolkit_workload
        else:
            run = redis_workload if options.child.startswith("redis-") else workload
        print(json.dumps(run(options.child)))
        return
    if options.only != "layers":
        compare_toolkit(options.python_1x)
    if options.only != "toolkit":
        compare_layers(options)


def compare_toolkit(python_1x: str | None) -> None:
    """Print the toolkit workloads of both stacks, taking turns, best of TOOLKIT_ROUNDS."""
    ours, old = {}, {}
    for _ in range(TOOLKIT_ROUNDS):
        keep_best(ours, run_side(sys.executable, "toolkit-ours"))
        if python_1x:
            keep_best(old, run_side(python_1x, "toolkit-1x"))
    if not python_1x:
        print("No 1.x python given (--python-1x or CHANNELS_TEST_PYTHON_1X); see --help.\n")
    print_table(f"test toolkit, best of {TOOLKIT_ROUNDS} (medians)", old, ours)
    print()


def compare_layers(options: argparse.Namespace) -> None:
    ours = run_side(sys.executable, "ours")
    if options.python_1x:
        old = run_side(options.python_1x, "1x")
    else:
        print("No 1.x python given (--python-1x or CHANNELS_TEST_PYTHON_1X); see --help.\n")
        old = {}
    print_table("in-memory layer", old, ours)
    env = {**os.environ, REDIS_URL: options.redis_url, REDIS_PREFIX: f"compare-{uuid.uuid4().hex[:12]}"}
    # The two sides take turns, and each keeps its best round, so that a
    # burst of other work on the machine does not decide the comparison.
    ours, old = {}, {}
    for _ in range(REDIS_ROUNDS):
        keep_best(ours, run_side(sys.executable, "redis-ours", env))
        if options.python_1x:
            keep_best(old, run_side(options.python_1x, "redis-1x", env))
    print()
    print_table(f"Redis layer ({options.redis_url}), best of {REDIS_ROUNDS}", old, ours)


def keep_best(best: dict, figures: dict) -> None:
    """Fold ``figures`` into ``best``: the highest rate, the lowest time."""
    for name, figure in figures.items():
        if name not in best or not isinstance(figure, float):
            best[name] = figure
        elif "/s" in name:
            best[name] = max(best[name], figure)
        else:
            best[name] = min(best[name], figure)


def print_table(title: str, old: dict, ours: dict) -> None:
    """Print the figures of both sides, and ours over theirs where both have one."""
    print(f"{title:38} {'Channels 1.x':>14} {'channels_test':>14} {'ratio':>7}")
    for name, figure in ours.items():
        before, ratio = old.get(name, "-"), ""
        if isinstance(figure, float):
            if name in old:
                faster = figure / before if "/s" in name else before / figure
                ratio = f"{faster:.1f}x"
            before, figure = (f"{before:,.1f}" if name in old else "-"), f"{figure:,.1f}"
        print(f"{name:38} {before:>14} {figure:>14} {ratio:>7}")


if __name__ == "__main__":
    main()
