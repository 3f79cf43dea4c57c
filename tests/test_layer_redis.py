"""Redis layer behaviour beyond the shared contract (which tests/test_layers.py runs on it).

Runs against the Redis server at ``CHANNELS_TEST_REDIS_URL`` (default
``redis://127.0.0.1:6379/0``), each test under a prefix of its own, and
against ``redis-server`` processes the tests start on free loopback ports.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from unittest import mock

from django.core.exceptions import ImproperlyConfigured
from django.test import SimpleTestCase, override_settings

from channels_test.deprecation import ChannelsTestDeprecationWarning
from channels_test.layers import ChannelFull
from channels_test.layers.base import process_local_name
from channels_test.layers.redis import RedisChannelLayer, RedisUnavailable
from tests.support.redis import REDIS_URL, IsolatedRedisLayer, RedisServer, free_port


def make_isolated_layer(test: SimpleTestCase, **config) -> RedisChannelLayer:
    layer = IsolatedRedisLayer(**config)
    layer.flush()
    test.addCleanup(layer.close)
    test.addCleanup(layer.flush)
    return layer


def own_servers(test_class, count: int) -> list[RedisServer]:
    """Start ``count`` servers for a test class, each stopped by its pid at class clean-up."""
    servers = []
    for _ in range(count):
        server = RedisServer()
        server.start()
        test_class.addClassCleanup(server.stop)
        servers.append(server)
    return servers


# -- processes for the cross-process tests ----------------------------------------------
# Children are fresh interpreters (subprocess), so the tests also run inside
# the daemonic workers of a --parallel run. Each prints its result as JSON.

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def send_numbered(url: str, prefix: str, sender: int, count: int) -> None:
    layer = RedisChannelLayer(hosts=[url], prefix=prefix, capacity=100000)
    for number in range(count):
        layer.send(f"work.{number % 3}", {"id": f"{sender}-{number}"})


def receive_until_stop(url: str, prefix: str) -> list:
    layer = RedisChannelLayer(hosts=[url], prefix=prefix, blocking_timeout=0.2)
    channels = ["work.0", "work.1", "work.2", "stop"]
    received = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        channel, message = layer.receive(channels, block=True)
        if channel == "stop":
            break
        if channel is not None:
            received.append(message["id"])
    return received


def send_until_full(url: str, prefix: str, attempts: int) -> int:
    layer = RedisChannelLayer(hosts=[url], prefix=prefix, capacity=100)
    accepted = 0
    for number in range(attempts):
        try:
            layer.send("bounded", {"n": number})
            accepted += 1
        except ChannelFull:
            pass
    return accepted


def end_forked(pid: int) -> None:
    """Kill and reap a forked child if the test left it running."""
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def start_child(test: SimpleTestCase, function: str, *args) -> subprocess.Popen:
    """Run ``function(*args)`` of this module in a new interpreter, ended by pid at clean-up."""
    code = (
        "import json, sys\n"
        f"from tests.test_layer_redis import {function}\n"
        f"print(json.dumps({function}(*json.loads(sys.argv[1]))))\n"
    )
    path = os.pathsep.join(filter(None, [REPO_ROOT, os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    child = subprocess.Popen(
        [sys.executable, "-c", code, json.dumps(args)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    test.addCleanup(end_child, child)
    return child


def end_child(child: subprocess.Popen) -> None:
    if child.poll() is None:
        child.kill()
    child.communicate(timeout=10)


def child_result(child: subprocess.Popen, timeout: float = 60) -> object:
    """Wait for ``child`` and return what it printed (AssertionError naming what went wrong)."""
    try:
        out, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"Child process {child.pid} did not finish within {timeout} s.") from None
    if child.returncode != 0:
        raise AssertionError(f"Child process {child.pid} exited with {child.returncode}:\n{err}")
    return json.loads(out)


# -- tests ---------------------------------------------------------------------------------


class SharedServerTests(SimpleTestCase):
    """On the shared Redis server, under this test's prefix."""

    def layer(self, **config) -> RedisChannelLayer:
        return make_isolated_layer(self, **config)

    def test_flush_deletes_only_this_prefix(self):
        import redis

        layer = self.layer()
        client = redis.Redis.from_url(REDIS_URL)
        self.addCleanup(client.connection_pool.disconnect)
        others = [f"{layer.prefix}x:c:kept", f"{layer.prefix}-other:kept", f"not{layer.prefix}:c:a"]
        for key in others:
            client.set(key, b"theirs", ex=60)
            self.addCleanup(client.delete, key)
        layer.send("mine", {"n": 1})
        layer.group_add("grp", "mine")
        layer.flush()
        self.assertEqual(client.keys(f"{layer.prefix}:*"), [])
        for key in others:
            self.assertEqual(client.get(key), b"theirs", key)

    def test_capacity_holds_across_processes(self):
        layer = self.layer()
        senders = [start_child(self, "send_until_full", REDIS_URL, layer.prefix, 60) for _ in range(4)]
        accepted = sum(child_result(child) for child in senders)
        self.assertEqual(accepted, 100, "4 processes x 60 sends to a channel of capacity 100")
        self.assertEqual(layer.message_counts(), {"bounded": 100})

    def test_every_message_delivered_once_across_processes(self):
        layer = self.layer()
        receivers = [start_child(self, "receive_until_stop", REDIS_URL, layer.prefix) for _ in range(3)]
        senders = [start_child(self, "send_numbered", REDIS_URL, layer.prefix, sender, 300) for sender in range(2)]
        for child in senders:
            child_result(child)
        for _ in receivers:
            layer.send("stop", {})
        received = []
        for child in receivers:
            received += child_result(child)
        expected = sorted(f"{s}-{n}" for s in range(2) for n in range(300))
        self.assertEqual(len(received), len(expected), "messages lost or duplicated")
        self.assertEqual(sorted(received), expected)

    def test_blocking_receive_drops_expired_messages(self):
        layer = self.layer(expiry=0.2, blocking_timeout=0.5)
        layer.send("short", {"old": True})
        time.sleep(0.3)
        self.assertEqual(layer.receive(["short"], block=True), (None, None))
        reply = process_local_name("reply!")
        layer.send(reply, {"old": True})
        time.sleep(0.3)
        self.assertEqual(layer.receive(["reply!"], block=True), (None, None))

    def test_message_sent_while_blocked_arrives(self):
        layer = self.layer(blocking_timeout=10)
        reply = process_local_name("http.response!")
        sender = threading.Timer(0.1, layer.send, (reply, {"late": True}))
        sender.start()
        self.addCleanup(sender.join, 5)
        started = time.monotonic()
        self.assertEqual(layer.receive(["http.response!", "websocket.send!"], block=True), (reply, {"late": True}))
        self.assertLess(time.monotonic() - started, 9, "receive returned by timing out")

    def test_local_capacity_is_per_prefix(self):
        layer = self.layer(capacity=2)
        first, second = process_local_name("reply!"), process_local_name("reply!")
        layer.send(first, {})
        layer.send(second, {})
        with self.assertRaisesRegex(ChannelFull, "'reply!'"):
            layer.send(first, {})

    def test_encryption(self):
        import redis

        layer = self.layer(symmetric_encryption_keys=["new secret", "old secret"])
        layer.send("secret", {"text": "plain words"})
        raw = redis.Redis.from_url(REDIS_URL).lrange(f"{layer.prefix}:c:secret", 0, -1)
        self.assertEqual(len(raw), 1)
        self.assertNotIn(b"plain words", raw[0])
        self.assertEqual(layer.receive(["secret"]), ("secret", {"text": "plain words"}))
        # A sender still on the old key alone is read by a receiver knowing both.
        old = RedisChannelLayer(hosts=[REDIS_URL], prefix=layer.prefix, symmetric_encryption_keys=["old secret"])
        old.send("secret", {"from": "old"})
        self.assertEqual(layer.receive(["secret"]), ("secret", {"from": "old"}))
        stranger = RedisChannelLayer(hosts=[REDIS_URL], prefix=layer.prefix, symmetric_encryption_keys=["other"])
        stranger.send("secret", {"from": "stranger"})
        with self.assertLogs("channels_test.layers.redis", "ERROR") as logs:
            self.assertEqual(layer.receive(["secret"]), (None, None))
        self.assertIn("symmetric_encryption_keys", logs.output[0])

    DAMAGED = (b"\xc1 not msgpack", b"\x81\xa4text", b"\x93\x01\x02\x03", b"\x81\xa1a\xc7\x01\x07x")

    def write_damaged(self, layer: RedisChannelLayer, channel: str) -> int:
        """Push damaged entries straight onto ``channel``'s list with redis-py; return how many."""
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        self.addCleanup(client.connection_pool.disconnect)
        seconds, microseconds = client.time()
        expires = seconds * 1000 + microseconds // 1000 + 60000
        entries = [b"%d %s" % (expires, data) for data in self.DAMAGED]
        entries += [b"no-expiry-and-no-space", b"soon garbage"]
        for entry in entries:  # one by one, as a blocked receiver would meet them
            client.rpush(f"{layer.prefix}:c:{channel}", entry)
            if "!" in channel:
                client.rpush(f"{layer.prefix}:l:{channel[: channel.index('!') + 1]}", channel)
        return len(entries)

    def test_damaged_values_are_logged_and_skipped(self):
        layer = self.layer()
        count = self.write_damaged(layer, "work.0")
        layer.send("work.0", {"id": "good"})
        with self.assertLogs("channels_test.layers.redis", "ERROR") as logs:
            self.assertEqual(layer.receive(["work.0"]), ("work.0", {"id": "good"}))
        self.assertEqual(len(logs.records), count)
        for line in logs.output:
            self.assertIn("Skipped a message on channel 'work.0' that cannot be decoded", line)
        self.assertEqual(layer.receive(["work.0"]), (None, None))

    def test_damaged_values_on_a_local_channel_are_skipped(self):
        layer = self.layer()
        reply = process_local_name("reply!")
        count = self.write_damaged(layer, reply)
        layer.send(reply, {"id": "good"})
        with self.assertLogs("channels_test.layers.redis", "ERROR") as logs:
            self.assertEqual(layer.receive(["reply!"]), (reply, {"id": "good"}))
        self.assertEqual(len(logs.records), count)
        self.assertIn(repr(reply), logs.output[0])

    def test_blocking_receive_goes_on_past_damaged_values(self):
        layer = self.layer(blocking_timeout=10)
        for channel in ("work.1", process_local_name("reply!")):
            with self.subTest(channel=channel):

                def damage_then_send(channel=channel):
                    self.write_damaged(layer, channel)
                    layer.send(channel, {"id": "later"})

                sender = threading.Timer(0.1, damage_then_send)
                with self.assertLogs("channels_test.layers.redis", "ERROR") as logs:
                    sender.start()
                    self.addCleanup(sender.join, 5)
                    wanted = "reply!" if "!" in channel else channel
                    self.assertEqual(layer.receive([wanted], block=True), (channel, {"id": "later"}))
                self.assertEqual(len(logs.records), len(self.DAMAGED) + 2)

    def test_receiver_process_survives_damaged_values(self):
        layer = self.layer()
        self.write_damaged(layer, "work.2")
        receiver = start_child(self, "receive_until_stop", REDIS_URL, layer.prefix)
        layer.send("work.2", {"id": "after"})
        layer.send("stop", {})
        try:
            out, err = receiver.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            raise AssertionError("The receiver process did not finish within 60 s.") from None
        self.assertEqual(receiver.returncode, 0, err)
        self.assertEqual(json.loads(out), ["after"])
        self.assertIn("Skipped a message on channel 'work.2' that cannot be decoded", err)

    def test_missing_packages_are_named(self):
        for module, config, pattern in (
            ("redis", {}, r"needs the 'redis' package: pip install channels_test\[redis\]"),
            (
                "cryptography.fernet",
                {"symmetric_encryption_keys": ["k"]},
                r"needs the 'cryptography' package: pip install channels_test\[encryption\]",
            ),
        ):
            with self.subTest(module=module):
                with mock.patch.dict(sys.modules, {module: None}):  # as if not installed
                    with self.assertRaisesRegex(ImproperlyConfigured, pattern):
                        RedisChannelLayer(**config)

    def test_layer_reconnects_after_fork(self):
        if not hasattr(os, "fork"):
            self.skipTest("this platform cannot fork processes")
        layer = self.layer()
        layer.send("warm.up", {})  # the parent's connection is open before the fork
        layer.receive(["warm.up"])
        pid = os.fork()
        if pid == 0:  # the child: send with the inherited layer object, then leave at once
            code = 1
            try:
                layer.send("from.child", {"forked": True})
                code = 0
            finally:
                os._exit(code)
        self.addCleanup(end_forked, pid)
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0)
        self.assertEqual(layer.receive(["from.child"]), ("from.child", {"forked": True}))
        layer.send("after.fork", {})  # the parent's connection still works
        self.assertEqual(layer.receive(["after.fork"]), ("after.fork", {}))

    def test_encryption_keys_must_be_a_list(self):
        with self.assertRaisesRegex(ImproperlyConfigured, r"list of secrets.*write \[key\]"):
            RedisChannelLayer(symmetric_encryption_keys="one key")

    def test_hosts_forms(self):
        host, port = "127.0.0.1", int(REDIS_URL.rsplit(":", 1)[1].split("/")[0])
        for hosts in ([(host, port)], [[host, port]], (host, port), REDIS_URL):
            with self.subTest(hosts=hosts):
                layer = self.layer(hosts=hosts)
                layer.send("form", {"ok": True})
                self.assertEqual(layer.receive(["form"]), ("form", {"ok": True}))
                self.assertIn(f":{port}", repr(layer))
        with self.assertRaisesRegex(ImproperlyConfigured, r"Cannot use 'localhost' in 'hosts'"):
            RedisChannelLayer(hosts=["localhost"])
        with self.assertRaisesRegex(ImproperlyConfigured, "non-empty list"):
            RedisChannelLayer(hosts=[])

    def test_asgi_redis_prefix_with_a_colon(self):
        self.assertEqual(RedisChannelLayer(prefix="myproject:").prefix, "myproject")

    @override_settings(
        CHANNEL_LAYERS={
            "default": {
                "BACKEND": "asgi_redis.RedisChannelLayer",
                "CONFIG": {"hosts": [REDIS_URL], "prefix": "asgi:", "stats_prefix": "asgi-meta:"},
                "ROUTING": [],
            }
        }
    )
    def test_asgi_redis_backend_path_resolves_here(self):
        from channels_test.asgi import channel_layers

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            layer = channel_layers.make_backend("default").channel_layer
        messages = [str(warning.message) for warning in caught if warning.category is ChannelsTestDeprecationWarning]
        self.assertTrue(
            any(
                "'asgi_redis.RedisChannelLayer' is deprecated" in text
                and "channels_test.layers.redis.RedisChannelLayer" in text
                for text in messages
            ),
            messages,
        )
        self.assertTrue(any("'stats_prefix'" in text and "ignored" in text for text in messages), messages)
        self.assertIsInstance(layer, RedisChannelLayer)
        self.assertEqual(layer.prefix, "asgi")

    @override_settings(
        CHANNEL_LAYERS={
            "default": {
                "BACKEND": "asgi_redis.RedisChannelLayer",
                "CONFIG": {"hosts": [REDIS_URL], "prefix": "production:"},
                "TEST_CONFIG": {"hosts": [REDIS_URL], "prefix": "tests:"},
                "ROUTING": [],
            }
        }
    )
    def test_live_server_layer_comes_from_test_config_with_a_prefix_per_process(self):
        from channels_test.test._livesetup import live_layer_spec

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            spec = live_layer_spec("default", tempfile.gettempdir())
        self.assertEqual(spec.backend, "channels_test.layers.redis.RedisChannelLayer")
        self.assertEqual(spec.options, {"hosts": [REDIS_URL], "prefix": f"tests-live{os.getpid()}"})
        layer = spec.make_wrapper().channel_layer
        self.addCleanup(layer.flush)
        layer.send("from.test", {"n": 1})
        self.assertEqual(layer.receive(["from.test"]), ("from.test", {"n": 1}))


class FaultTests(SimpleTestCase):
    """Servers that are not there, and a server restarted under a running layer."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        (cls.server,) = own_servers(cls, 1)

    def layer(self, url: str, **config) -> RedisChannelLayer:
        config.setdefault("prefix", f"fault{uuid.uuid4().hex[:8]}")
        layer = RedisChannelLayer(hosts=[url], **config)
        self.addCleanup(layer.close)
        return layer

    def test_unreachable_server_is_named_quickly(self):
        port = free_port()  # nothing listens there
        layer = self.layer(f"redis://127.0.0.1:{port}/0", blocking_timeout=1)
        for action in (
            lambda: layer.send("a", {}),
            lambda: layer.receive(["a"]),
            lambda: layer.receive(["a"], block=True),
            lambda: layer.group_add("g", "a"),
            lambda: layer.send_group("g", {}),
            layer.flush,
        ):
            started = time.monotonic()
            with self.assertRaisesRegex(RedisUnavailable, rf"127\.0\.0\.1:{port}.*'hosts'"):
                action()
            self.assertLess(time.monotonic() - started, 5, "no error within a few seconds")

    def test_restarted_server_is_reconnected(self):
        layer = self.layer(self.server.url)
        layer.send("before", {"n": 1})
        self.assertEqual(layer.receive(["before"]), ("before", {"n": 1}))
        layer.group_add("grp", "member")
        self.server.restart()
        # The pooled connections died with the server; the layer opens new ones.
        layer.send("after", {"n": 2})
        self.assertEqual(layer.receive(["after"]), ("after", {"n": 2}))
        layer.group_add("grp", "member")
        layer.send_group("grp", {"n": 3})
        self.assertEqual(layer.receive(["member"], block=True), ("member", {"n": 3}))
        self.assertEqual(layer.receive(["after", "member"]), (None, None))

    def test_blocked_receiver_survives_a_restart(self):
        layer = self.layer(self.server.url, blocking_timeout=10)
        sender = self.layer(self.server.url, prefix=layer.prefix)
        results: list = []
        receiver = threading.Thread(target=lambda: results.append(layer.receive(["wait"], block=True)))
        receiver.start()
        self.addCleanup(receiver.join, 15)
        time.sleep(0.2)
        self.server.restart()
        sender.send("wait", {"n": 1})
        receiver.join(15)
        self.assertFalse(receiver.is_alive(), "the receive did not return within 15 s")
        self.assertEqual(results, [("wait", {"n": 1})])
        self.assertEqual(layer.receive(["wait"]), (None, None), "delivered twice")

    def test_worker_rides_out_an_outage(self):
        from channels_test.asgi import ChannelLayerWrapper
        from channels_test.routing import route
        from channels_test.worker import Worker

        handled: list = []
        layer = self.layer(self.server.url, blocking_timeout=0.2)
        wrapper = ChannelLayerWrapper(layer, "outage", [route("work", lambda message: handled.append(message["n"]))])
        worker = Worker(wrapper, signal_handlers=False)
        worker.outage_retry_interval = 0.05
        thread = threading.Thread(target=worker.run)
        thread.start()
        self.addCleanup(thread.join, 10)
        self.addCleanup(worker.stop)

        def wait_for(condition, what: str) -> None:
            deadline = time.monotonic() + 10
            while not condition():
                self.assertTrue(thread.is_alive(), f"the worker thread died while waiting for {what}")
                if time.monotonic() > deadline:
                    self.fail(f"no {what} within 10 s")
                time.sleep(0.02)

        layer.send("work", {"n": 1})
        wait_for(lambda: handled == [1], "first message handled")
        with self.assertLogs("django.channels", "ERROR") as logs:
            self.server.stop()
            wait_for(lambda: logs.records, "outage logged")
        self.assertIn(f"127.0.0.1:{self.server.port}", logs.output[0])
        with self.assertLogs("django.channels", "WARNING") as logs:
            self.server.start()
            # Calls fail at once for up to DOWN_RETRY_INTERVAL after the server is
            # back, until one of them (here the worker's receive) finds it again.
            wait_for(
                lambda: any("answers again" in line for line in logs.output), "the worker finding the server again"
            )
            layer.send("work", {"n": 2})
            wait_for(lambda: handled == [1, 2], "message handled after the restart")
        self.assertIn("answers again", logs.output[-1])

    def test_blocking_receive_waits_on_the_server(self):
        import redis

        layer = self.layer(self.server.url, blocking_timeout=1)
        layer.receive(["idle"])  # connect and load the scripts first
        client = redis.Redis.from_url(self.server.url)
        self.addCleanup(client.connection_pool.disconnect)

        def calls() -> dict:
            stats = client.info("commandstats")
            # Leave out this probe's INFO and the handshake of any connection
            # the layer opens (CLIENT SETINFO, HELLO, SELECT): only the
            # commands that move messages tell whether it polls.
            handshake = ("info", "client", "hello", "select", "auth")
            return {name: stats[name]["calls"] for name in stats if not any(word in name for word in handshake)}

        before = calls()
        started = time.monotonic()
        self.assertEqual(layer.receive(["idle"], block=True), (None, None))
        self.assertGreaterEqual(time.monotonic() - started, 0.9)
        after = calls()
        made = {name: after[name] - before.get(name, 0) for name in after if after[name] != before.get(name, 0)}
        # One script call that finds nothing (its TIME and LPOP counted too), then
        # one BLPOP that waits: no polling.
        self.assertEqual(made, {"cmdstat_evalsha": 1, "cmdstat_time": 1, "cmdstat_lpop": 1, "cmdstat_blpop": 1})


class ShardingTests(SimpleTestCase):
    """Two servers the test starts; channels and groups spread over them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.servers = own_servers(cls, 2)

    def setUp(self):
        self.layer = RedisChannelLayer(
            hosts=[server.url for server in self.servers], prefix=f"shard{uuid.uuid4().hex[:8]}", blocking_timeout=2
        )
        self.addCleanup(self.layer.close)
        self.addCleanup(self.layer.flush)

    def keys_per_server(self) -> list[set]:
        import redis

        found = []
        for server in self.servers:
            client = redis.Redis.from_url(server.url)
            found.append({key.decode() for key in client.keys(f"{self.layer.prefix}:*")})
            client.connection_pool.disconnect()
        return found

    def test_channels_spread_over_both_servers(self):
        names = [f"spread.{number}" for number in range(40)]
        for name in names:
            self.layer.send(name, {"name": name})
        first, second = self.keys_per_server()
        self.assertTrue(first and second, "every channel landed on one server")
        self.assertEqual(len(first) + len(second), 40)
        for name in names:
            index = self.layer.host_of(name)
            self.assertIn(f"{self.layer.prefix}:c:{name}", (first, second)[index])
        received = {self.layer.receive(names)[0] for _ in names}
        self.assertEqual(received, set(names))
        self.assertEqual(self.layer.receive(names), (None, None))

    def test_same_hosts_same_placement(self):
        other = RedisChannelLayer(hosts=[server.url for server in self.servers], prefix=self.layer.prefix)
        names = [f"place.{number}" for number in range(200)]
        self.assertEqual([self.layer.host_of(n) for n in names], [other.host_of(n) for n in names])
        self.assertEqual({self.layer.host_of(n) for n in names}, {0, 1})

    def test_local_channels_of_one_prefix_share_a_server(self):
        prefix = "http.response.abc!"
        replies = [process_local_name(prefix) for _ in range(20)]
        self.assertEqual({self.layer.host_of(name) for name in replies}, {self.layer.host_of(prefix)})
        for number, reply in enumerate(replies):
            self.layer.send(reply, {"n": number})
        got = sorted(self.layer.receive([prefix])[1]["n"] for _ in replies)
        self.assertEqual(got, list(range(20)))

    def test_group_lives_on_one_server_and_reaches_members_on_both(self):
        members = [f"member.{number}" for number in range(20)]
        self.assertEqual({self.layer.host_of(m) for m in members}, {0, 1})
        for member in members:
            self.layer.group_add("room", member)
        group_keys = {f"{self.layer.prefix}:g:room", f"{self.layer.prefix}:gc:room"}
        placed = self.keys_per_server()
        self.assertTrue(group_keys <= placed[self.layer.group_host("room")])
        self.assertFalse(group_keys & placed[1 - self.layer.group_host("room")])
        self.assertEqual(sorted(self.layer.group_channels("room")), sorted(members))
        self.layer.send_group("room", {"hello": True})
        for member in members:
            self.assertEqual(self.layer.receive([member]), (member, {"hello": True}))

    def test_blocking_receive_over_both_servers(self):
        names = [f"wait.{number}" for number in range(10)]
        late = next(name for name in names if self.layer.host_of(name) == 1)
        sender = threading.Timer(0.2, self.layer.send, (late, {"late": True}))
        sender.start()
        self.addCleanup(sender.join, 5)
        self.assertEqual(self.layer.receive(names, block=True), (late, {"late": True}))
