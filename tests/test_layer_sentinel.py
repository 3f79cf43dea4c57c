"""RedisSentinelChannelLayer: its settings, and a real failover under traffic.

The failover test starts a master, a replica and three sentinels
(``redis-sentinel``, or ``redis-server --sentinel``) on free loopback ports
with short timeouts, kills the master by pid mid-traffic and checks that
senders and receivers carry on through the promoted replica.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
import time
import unittest
import uuid
import warnings

from django.test import SimpleTestCase, override_settings

from channels_test.layers.redis import RedisChannelLayer, RedisUnavailable
from channels_test.layers.sentinel import RedisSentinelChannelLayer
from tests.support.redis import REDIS_URL, RedisServer, die_with_parent, free_port

SERVICE = "channels-test-main"
DOWN_AFTER_MS = 500
FAILOVER_TIMEOUT_MS = 3000
# The sentinels notice a dead master after DOWN_AFTER_MS, agree, elect a
# leader and promote the replica: seconds on loopback. This bounds the wait.
FAILOVER_WAIT = 30.0


def wait_for(test: SimpleTestCase, condition, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            test.fail(f"no {what} within {timeout:g} s")
        time.sleep(0.05)


def send_until_through(layer, channel: str, message: dict, timeout: float = 10.0) -> None:
    """Send, again while the error says nothing reached a server (as the docs advise)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            layer.send(channel, message)
            return
        except RedisUnavailable as error:
            if error.may_have_run or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class SentinelProcess:
    """A sentinel on a loopback port, watching ``master_port`` under SERVICE (quorum 2)."""

    def __init__(self, master_port: int, directory: str):
        self.port = free_port()
        self.path = f"{directory}/sentinel-{self.port}.conf"
        with open(self.path, "w") as conf:
            conf.write(
                f"port {self.port}\nbind 127.0.0.1\ndir {directory}\n"
                f"sentinel monitor {SERVICE} 127.0.0.1 {master_port} 2\n"
                f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}\n"
                f"sentinel failover-timeout {SERVICE} {FAILOVER_TIMEOUT_MS}\n"
            )
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        sentinel = shutil.which("redis-sentinel")
        server = shutil.which("redis-server")
        if sentinel:
            argv = [sentinel, self.path]
        elif server:
            argv = [server, self.path, "--sentinel"]
        else:
            raise unittest.SkipTest("needs redis-sentinel or redis-server on PATH to start sentinels")
        self.process = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=die_with_parent
        )

    def master_state(self) -> dict:
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1, socket_connect_timeout=1)
        try:
            return client.sentinel_master(SERVICE)
        except (redis.RedisError, OSError):
            return {}
        finally:
            client.connection_pool.disconnect()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


class SentinelCluster:
    """A master, a replica and three sentinels; every process stopped by pid at clean-up."""

    def __init__(self, test: SimpleTestCase):
        directory = tempfile.mkdtemp(prefix="channels-sentinel-")
        test.addCleanup(shutil.rmtree, directory, ignore_errors=True)
        self.master = RedisServer()
        self.master.start()
        test.addCleanup(self.master.stop)
        self.replica = RedisServer(args=("--replicaof", "127.0.0.1", str(self.master.port)))
        self.replica.start()
        test.addCleanup(self.replica.stop)
        self.sentinels = [SentinelProcess(self.master.port, directory) for _ in range(3)]
        for sentinel in self.sentinels:
            sentinel.start()
            test.addCleanup(sentinel.stop)

        def ready() -> bool:
            states = [sentinel.master_state() for sentinel in self.sentinels]
            return (
                all(state.get("num-other-sentinels") == 2 and state.get("num-slaves") == 1 for state in states)
                and self.replica_in_sync()
            )

        wait_for(test, ready, "sentinels that know each other and the replica", 30)

    @property
    def hosts(self) -> list:
        return [("127.0.0.1", sentinel.port) for sentinel in self.sentinels]

    def replica_in_sync(self) -> bool:
        import redis

        client = redis.Redis.from_url(self.replica.url, socket_timeout=1)
        try:
            return client.info("replication").get("master_link_status") == "up"
        except redis.RedisError:
            return False
        finally:
            client.connection_pool.disconnect()


class Traffic:
    """One sender and two receivers, each with a layer of its own (as separate processes would)."""

    def __init__(self, test: SimpleTestCase, make_layer):
        self.acked: dict[int, float] = {}  # message number -> when its send returned
        self.uncertain: set[int] = set()  # sends that failed after reaching the server
        self.received: list[int] = []
        self.sending = threading.Event()
        self.receiving = threading.Event()
        self.sending.set()
        self.receiving.set()
        self.lock = threading.Lock()
        self.sender = threading.Thread(target=self.send, args=(make_layer(),))
        self.receivers = [threading.Thread(target=self.receive, args=(make_layer(),)) for _ in range(2)]
        for thread in [self.sender, *self.receivers]:
            thread.start()
            test.addCleanup(thread.join, 20)
        test.addCleanup(self.receiving.clear)
        test.addCleanup(self.sending.clear)

    def send(self, layer) -> None:
        number = 0
        while self.sending.is_set():
            try:
                layer.send("work", {"n": number})
            except RedisUnavailable as error:
                if error.may_have_run:
                    self.uncertain.add(number)  # it may have arrived: never resend it
                    number += 1
                time.sleep(0.02)  # otherwise nothing reached a server: send it again
                continue
            self.acked[number] = time.monotonic()
            number += 1
            time.sleep(0.002)
        layer.close()

    def receive(self, layer) -> None:
        while self.receiving.is_set():
            try:
                channel, message = layer.receive(["work"], block=True)
            except RedisUnavailable:
                time.sleep(0.05)
                continue
            if channel is None:
                continue
            if message.get("end"):
                break  # everything sent before it has been taken, and recorded by its taker
            with self.lock:
                self.received.append(message["n"])
        layer.close()

    def received_after(self, number: int) -> int:
        with self.lock:
            return sum(1 for received in self.received if received > number)


class FailoverTests(SimpleTestCase):
    def test_traffic_carries_on_through_the_promoted_replica(self):
        cluster = SentinelCluster(self)
        prefix = f"failover{uuid.uuid4().hex[:8]}"

        def make_layer() -> RedisSentinelChannelLayer:
            return RedisSentinelChannelLayer(
                hosts=cluster.hosts,
                services=[SERVICE],
                prefix=prefix,
                capacity=100000,
                blocking_timeout=0.5,
                connect_timeout=1,
                socket_timeout=2,
            )

        traffic = Traffic(self, make_layer)
        wait_for(self, lambda: len(traffic.received) >= 50, "traffic before the failover", 20)

        killed_at = time.monotonic()
        last_before = max(traffic.acked)
        cluster.master.stop()  # SIGKILL, by pid
        wait_for(
            self,
            lambda: traffic.received_after(last_before) >= 50,
            "messages sent and received through the new master",
            FAILOVER_WAIT,
        )
        traffic.sending.clear()
        traffic.sender.join(10)
        layer = make_layer()
        self.addCleanup(layer.close)
        for _ in traffic.receivers:  # one end marker each, behind everything sent
            send_until_through(layer, "work", {"end": True})
        for receiver in traffic.receivers:
            receiver.join(20)
            self.assertFalse(receiver.is_alive(), "a receiver did not reach its end marker")

        received = traffic.received
        self.assertEqual(len(received), len(set(received)), "a message was delivered twice")
        self.assertLessEqual(set(received), set(traffic.acked) | traffic.uncertain)
        lost = sorted(set(traffic.acked) - set(received))
        # Only what the old master had accepted but not yet passed to its replica
        # may be lost: sends that returned before it died.
        self.assertEqual(
            [n for n in lost if traffic.acked[n] > killed_at], [], "a message sent through the new master was lost"
        )
        wait_for(
            self,
            lambda: all(
                int(sentinel.master_state().get("port", 0)) == cluster.replica.port for sentinel in cluster.sentinels
            ),
            "every sentinel naming the replica as the master",
            10,
        )
        send_until_through(layer, "after", {"ok": True})
        self.assertEqual(layer.receive(["after"]), ("after", {"ok": True}))
        self.assertIn(f"127.0.0.1:{cluster.replica.port}", layer._servers[0].label)


class SettingsTests(SimpleTestCase):
    def test_hosts_must_be_sentinel_pairs_and_services_a_list(self):
        for hosts in ("127.0.0.1:26379", ["redis://127.0.0.1:26379"], [("127.0.0.1", "26379")], []):
            with self.subTest(hosts=hosts):
                with self.assertRaisesRegex(ValueError, r"\(host, port\) pair"):
                    RedisSentinelChannelLayer(hosts=hosts, services=[SERVICE])
        with self.assertRaisesRegex(ValueError, r"write \['mymaster'\]"):
            RedisSentinelChannelLayer(hosts=[("127.0.0.1", 26379)], services="mymaster")
        with self.assertRaisesRegex(ValueError, "sentinel_refresh_interval"):
            RedisSentinelChannelLayer(services=[SERVICE], sentinel_refresh_interval=-1)

    def test_services_default_to_every_master_the_sentinels_know(self):
        master = RedisServer()
        master.start()
        self.addCleanup(master.stop)
        directory = tempfile.mkdtemp(prefix="channels-sentinel-")
        self.addCleanup(shutil.rmtree, directory, ignore_errors=True)
        sentinel = SentinelProcess(master.port, directory)
        sentinel.start()
        self.addCleanup(sentinel.stop)
        wait_for(self, lambda: sentinel.master_state().get("port") is not None, "a sentinel", 20)
        layer = RedisSentinelChannelLayer(
            hosts=[("127.0.0.1", free_port()), ("127.0.0.1", sentinel.port)], prefix=f"svc{uuid.uuid4().hex[:8]}"
        )
        self.addCleanup(layer.close)
        self.assertEqual(layer.services, [SERVICE])
        layer.send("found", {"n": 1})
        self.assertEqual(layer.receive(["found"]), ("found", {"n": 1}))
        self.assertIn(f"127.0.0.1:{master.port}", layer._servers[0].label)

    def test_refresh_interval_follows_a_master_moved_without_a_failure(self):
        import redis

        first, second = RedisServer(), RedisServer()
        for server in (first, second):
            server.start()
            self.addCleanup(server.stop)
        directory = tempfile.mkdtemp(prefix="channels-sentinel-")
        self.addCleanup(shutil.rmtree, directory, ignore_errors=True)
        sentinel = SentinelProcess(first.port, directory)
        sentinel.start()
        self.addCleanup(sentinel.stop)
        wait_for(self, lambda: sentinel.master_state().get("port") is not None, "a sentinel", 20)
        prefix = f"move{uuid.uuid4().hex[:8]}"
        refreshing = RedisSentinelChannelLayer(
            hosts=[("127.0.0.1", sentinel.port)], services=[SERVICE], prefix=prefix, sentinel_refresh_interval=0.2
        )
        staying = RedisSentinelChannelLayer(hosts=[("127.0.0.1", sentinel.port)], services=[SERVICE], prefix=prefix)
        for layer in (refreshing, staying):
            self.addCleanup(layer.close)
            layer.send("before", {})
            self.assertIn(f":{first.port}", layer._servers[0].label)

        # Point the service at another server; neither connection fails.
        admin = redis.Redis(host="127.0.0.1", port=sentinel.port)
        self.addCleanup(admin.connection_pool.disconnect)
        admin.sentinel_remove(SERVICE)
        admin.sentinel_monitor(SERVICE, "127.0.0.1", second.port, 1)
        wait_for(
            self,
            lambda: sentinel.master_state().get("port") == second.port,
            "the sentinel naming the second server",
            10,
        )
        time.sleep(0.3)  # past the refresh interval
        refreshing.send("moved", {"to": "second"})
        staying.send("stayed", {"on": "first"})
        self.assertIn(f":{second.port}", refreshing._servers[0].label)
        self.assertEqual(redis.Redis.from_url(second.url).keys(f"{prefix}:c:*"), [f"{prefix}:c:moved".encode()])
        self.assertIn(f"{prefix}:c:stayed".encode(), redis.Redis.from_url(first.url).keys(f"{prefix}:c:*"))

    def test_no_sentinel_answering_is_named(self):
        port = free_port()
        with self.assertRaisesRegex(RedisUnavailable, rf"sentinels at 127\.0\.0\.1:{port}.*'services'"):
            RedisSentinelChannelLayer(hosts=[("127.0.0.1", port)])
        layer = RedisSentinelChannelLayer(hosts=[("127.0.0.1", port)], services=[SERVICE], connect_timeout=1)
        self.addCleanup(layer.close)
        with self.assertRaisesRegex(
            RedisUnavailable,
            rf"No sentinel at 127\.0\.0\.1:{port} names a "
            rf"master of service '{SERVICE}'",
        ):
            layer.send("a", {})

    @override_settings(
        CHANNEL_LAYERS={
            "sentinel": {
                "BACKEND": "asgi_redis.RedisSentinelChannelLayer",
                "CONFIG": {
                    "hosts": [("10.0.0.1", 26379), ("10.0.0.2", 26379)],
                    "services": ["master-a", "master-b"],
                    "sentinel_refresh_interval": 5,
                    "prefix": "asgi:",
                    "stats_prefix": "asgi-meta:",
                    "capacity": 50,
                },
                "ROUTING": [],
            },
            "local": {
                "BACKEND": "asgi_redis.RedisLocalChannelLayer",
                "CONFIG": {"hosts": [REDIS_URL], "prefix": "asgi:", "stats_prefix": "asgi-meta:"},
                "ROUTING": [],
            },
        }
    )
    def test_asgi_redis_backend_paths_resolve_here(self):
        from channels_test.asgi import channel_layers

        layers = {}
        for alias, cls, ours in (
            ("sentinel", RedisSentinelChannelLayer, "channels_test.layers.sentinel.RedisSentinelChannelLayer"),
            ("local", RedisChannelLayer, "channels_test.layers.redis.RedisChannelLayer"),
        ):
            with self.subTest(alias=alias):
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    layer = layers[alias] = channel_layers.make_backend(alias).channel_layer
                messages = [
                    str(warning.message) for warning in caught if issubclass(warning.category, DeprecationWarning)
                ]
                self.assertTrue(any("is deprecated" in text and ours in text for text in messages), messages)
                self.assertTrue(any("'stats_prefix'" in text and "ignored" in text for text in messages), messages)
                self.assertIs(type(layer), cls)
                self.assertEqual(layer.prefix, "asgi")
        self.assertEqual(layers["local"].hosts, [REDIS_URL])
        sentinel = layers["sentinel"]
        self.assertEqual(sentinel.services, ["master-a", "master-b"])
        self.assertEqual(sentinel.hosts, [("10.0.0.1", 26379), ("10.0.0.2", 26379)])
        self.assertEqual((sentinel.sentinel_refresh_interval, sentinel.capacity), (5, 50))
