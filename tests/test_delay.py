"""The delay server (``channels_test.delay``): requests on ``asgi.delay`` sent when due.

Real processes (two ``rundelay`` on one database, ``runserver``, the live
server) are in :mod:`tests.test_delay_servers`.
"""

import json
import math
import threading
import time
from datetime import timedelta
from types import SimpleNamespace
from unittest import mock

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection
from django.test import modify_settings
from django.utils import timezone

from channels_test import Channel, channel_layers
from channels_test.delay.models import DelayedMessage, decode_content, encode_content
from channels_test.delay.worker import MAX_DELAY, Worker
from channels_test.test import ChannelTestCase


def request(channel="delayed.out", content=None, delay=1000):
    return {"channel": channel, "content": {"n": 1} if content is None else content, "delay": delay}


class SteppingWorker(Worker):
    """A worker whose run() checks the table on every step and stops after ``steps`` of them."""

    def __init__(self, steps):
        super().__init__(channel_layers["default"], signal_handlers=False, database_sleep_duration=0)
        self.steps = steps

    def check_due(self):
        super().check_due()
        self.steps -= 1
        if self.steps <= 0:
            self.stop()


def store(channel="delayed.out", content=None, delay=1000):
    """Store a request the way the delay server does; return the row."""
    return Worker(channel_layers["default"], signal_handlers=False).store(request(channel, content, delay))


class DelayServerTests(ChannelTestCase):
    def test_a_request_waits_in_the_table_until_due(self):
        Channel("asgi.delay").send(request(content={"text": "later"}, delay=1500))
        SteppingWorker(steps=1).run()
        row = DelayedMessage.objects.get()
        self.assertEqual(row.channel_name, "delayed.out")
        self.assertAlmostEqual((row.due_date - timezone.now()).total_seconds(), 1.5, delta=1)
        self.assertNoMessages("delayed.out")
        worker = Worker(channel_layers["default"], signal_handlers=False)
        self.assertEqual(worker.send_due(now=row.due_date - timedelta(milliseconds=1)), 0)
        self.assertEqual(worker.send_due(now=row.due_date), 1)
        self.assertMessage("delayed.out", {"text": "later"})
        self.assertFalse(DelayedMessage.objects.exists())

    def test_run_sends_what_is_due_when_it_checks(self):
        Channel("asgi.delay").send(request(content={"text": "now"}, delay=0))
        SteppingWorker(steps=1).run()
        self.assertMessage("delayed.out", {"text": "now"})
        self.assertFalse(DelayedMessage.objects.exists())

    def test_oldest_due_first(self):
        for locks in (True, False):
            with self.subTest(row_locks=locks):
                for name, delay in (("second", 2000), ("third", 3000), ("first", 1000)):
                    store(content={"name": name}, delay=delay)
                worker = Worker(channel_layers["default"], signal_handlers=False)
                worker.row_locks = locks
                self.assertEqual(worker.send_due(now=timezone.now() + timedelta(seconds=5)), 3)
                received = [self.get_next_message("delayed.out")["name"] for _ in range(3)]
                self.assertEqual(received, ["first", "second", "third"])

    def test_bad_requests_are_logged_and_dropped_and_the_worker_goes_on(self):
        bad = [
            ({"content": {}, "delay": 1}, "lacks 'channel'"),
            ({"channel": "x"}, "lacks 'content', 'delay'"),
            (request(channel=5), "'channel' is not a channel to send to: Channel name must be a str"),
            (request(channel="no spaces"), "Invalid channel name 'no spaces'"),
            (request(channel="reply!"), "a name ending in '!' is only for receiving"),
            (request(channel="x" * 100), "names must be under 100"),
            ({"channel": "x", "content": ["a"], "delay": 1}, "'content' must be a dict, not list"),
            (request(delay="1000"), "'delay' must be an int of milliseconds, not str"),
            (request(delay=True), "'delay' must be an int of milliseconds, not bool"),
            (request(delay=None), "not NoneType"),
            (request(delay=-1), "'delay' is -1; it must be from 0 to 31536000000 milliseconds"),
            (request(delay=MAX_DELAY + 1), "'delay' is 31536000001"),
            (request(delay=math.inf), "'delay' is inf"),
            (request(delay=math.nan), "'delay' is nan"),
        ]
        requests = [content for content, _ in bad] + [request(content={"text": "good"}, delay=MAX_DELAY)]
        with self.assertLogs("channels_test.delay", "ERROR") as logs:
            # In batches: the captive layer holds 10 messages per channel, as 1.x's did.
            for start in range(0, len(requests), 5):
                batch = requests[start : start + 5]
                for content in batch:
                    Channel("asgi.delay").send(content)
                SteppingWorker(steps=len(batch)).run()
        self.assertEqual(len(logs.output), len(bad))
        for line, (_, reason) in zip(logs.output, bad):
            self.assertIn("Dropped a message on asgi.delay: ", line)
            self.assertIn(reason, line)
        self.assertEqual(decode_content(DelayedMessage.objects.get().content), {"text": "good"})

    def test_zero_and_float_delays_are_accepted(self):
        store(content={"n": 0}, delay=0)
        store(content={"n": 1}, delay=1.5)
        self.assertEqual(DelayedMessage.objects.count(), 2)

    def test_a_full_channel_keeps_its_messages_in_order(self):
        for locks in (True, False):
            with self.subTest(row_locks=locks):
                layer = channel_layers["default"]
                for _ in range(layer.get_capacity("full")):
                    layer.send("full", {"filler": True})
                first = store(channel="full", content={"n": 1}, delay=10)
                store(channel="full", content={"n": 2}, delay=20)
                store(channel="open", content={"n": 3}, delay=30)
                worker = Worker(layer, signal_handlers=False)
                worker.row_locks = locks
                later = timezone.now() + timedelta(seconds=1)
                self.assertEqual(worker.send_due(now=later), 1)
                self.assertMessage("open", n=3)
                self.assertEqual(DelayedMessage.objects.count(), 2)
                self.assertEqual(DelayedMessage.objects.get(pk=first.pk).due_date, first.due_date)
                self.get_next_message("full", require=True)  # room for one
                self.assertEqual(worker.send_due(now=later), 1)
                self.assertEqual(DelayedMessage.objects.get().message, {"n": 2})
                waiting = [self.get_next_message("full").content for _ in range(layer.get_capacity("full"))]
                self.assertEqual(waiting[-1], {"n": 1})
                self.assertEqual(worker.send_due(now=later), 1)
                self.assertMessage("full", n=2)
                self.assertFalse(DelayedMessage.objects.exists())

    def test_unreadable_stored_content_is_dropped_with_a_log(self):
        DelayedMessage.objects.create(channel_name="delayed.out", content="not json", due_date=timezone.now())
        store(content={"text": "fine"}, delay=0)
        worker = Worker(channel_layers["default"], signal_handlers=False)
        with self.assertLogs("channels_test.delay", "ERROR") as logs:
            self.assertEqual(worker.send_due(now=timezone.now() + timedelta(seconds=1)), 1)
        self.assertIn("its content cannot be read", logs.output[0])
        self.assertMessage("delayed.out", text="fine")
        self.assertFalse(DelayedMessage.objects.exists())

    def test_messages_with_bytes_arrive_unchanged(self):
        content = {"bytes": b"\x00\xff", "nested": [{"b": b"x"}], "text": "t", "n": 1.5}
        row = store(content=content, delay=0)
        self.assertTrue(row.content.startswith("msgpack:"))
        Worker(channel_layers["default"], signal_handlers=False).send_due()
        self.assertMessage("delayed.out", content)

    def test_json_content_is_stored_as_channels_1x_did(self):
        row = store(content={"text": "hi", "list": [1, None]}, delay=0)
        self.assertEqual(json.loads(row.content), {"text": "hi", "list": [1, None]})
        self.assertEqual(encode_content({"a": 1}), '{"a":1}')

    def test_a_request_the_database_refuses_goes_back_on_asgi_delay(self):
        Channel("asgi.delay").send(request(content={"text": "keep me"}))
        worker = SteppingWorker(steps=1)
        worker.outage_retry_interval = 0
        with mock.patch.object(DelayedMessage.objects, "create", side_effect=DatabaseError("disk full")):
            with self.assertLogs("channels_test.delay", "ERROR") as logs:
                worker.run()
        self.assertIn("Cannot store a delayed message (disk full); putting it back on asgi.delay", logs.output[0])
        self.assertEqual(self.get_next_message("asgi.delay", require=True)["content"], {"text": "keep me"})

    def test_stop_ends_run(self):
        worker = Worker(channel_layers["default"], signal_handlers=False)
        worker.ready = worker.stop
        worker.run()
        self.assertTrue(worker.termed)

    def test_termed_is_the_attribute_1x_had(self):
        Channel("asgi.delay").send(request())
        worker = SteppingWorker(steps=1)
        self.assertFalse(worker.termed)
        worker.termed = True
        worker.run()
        self.assertEqual(DelayedMessage.objects.count(), 0, "run() returned before its first step")
        worker.termed = False
        worker.run()
        self.assertEqual(DelayedMessage.objects.count(), 1)
        self.assertTrue(worker.termed)

    def test_stop_from_another_thread_cuts_the_idle_wait_short(self):
        worker = Worker(channel_layers["default"], signal_handlers=False)
        worker.idle_wait = 60
        worker.ready = lambda: threading.Timer(0.05, worker.stop).start()
        started = time.monotonic()
        worker.run()
        self.assertLess(time.monotonic() - started, 30, "run() waited out its idle wait")


class DelayedMessageTests(ChannelTestCase):
    def test_delay_sets_the_due_date(self):
        before = timezone.now()
        message = DelayedMessage(channel_name="x", content="{}", delay=5000)
        self.assertEqual(message.delay, 5000)
        self.assertGreaterEqual(message.due_date, before + timedelta(seconds=5))
        self.assertIsNone(DelayedMessage().delay)

    def test_is_due(self):
        message = DelayedMessage.objects.create(channel_name="x", content="{}", due_date=timezone.now())
        self.assertEqual(list(DelayedMessage.objects.is_due()), [message])
        self.assertFalse(DelayedMessage.objects.is_due(now=message.due_date - timedelta(seconds=1)).exists())

    def test_send_delivers_and_deletes(self):
        message = DelayedMessage.objects.create(channel_name="x", content='{"a": 1}', due_date=timezone.now())
        self.assertTrue(message.send())
        self.assertMessage("x", a=1)
        self.assertFalse(DelayedMessage.objects.exists())

    def test_send_to_a_full_channel_requeues(self):
        layer = channel_layers["default"]
        for _ in range(layer.get_capacity("x")):
            layer.send("x", {})
        message = DelayedMessage.objects.create(channel_name="x", content="{}", due_date=timezone.now())
        self.assertFalse(message.send(channel_layer=layer, requeue_delay=3000))
        message.refresh_from_db()
        self.assertGreater(message.due_date, timezone.now() + timedelta(seconds=2))

    def test_app_label_and_table(self):
        self.assertEqual(apps.get_app_config("channels_delay").name, "channels_test.delay")
        self.assertEqual(DelayedMessage._meta.db_table, "channels_delay_delayedmessage")

    def test_migration_carries_over_channels_1x_rows(self):
        from importlib import import_module

        migration = import_module("channels_test.delay.migrations.0002_carry_over_1x_messages")
        quote = connection.ops.quote_name
        due = timezone.now()
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TABLE {quote(migration.LEGACY_TABLE)} (id integer PRIMARY KEY, "
                "due_date timestamp with time zone NOT NULL, channel_name varchar(512) NOT NULL, "
                "content text NOT NULL)"
            )
            cursor.execute(
                f"INSERT INTO {quote(migration.LEGACY_TABLE)} VALUES (1, %s, %s, %s)",
                [due, "old.channel", '{"from": "1.x"}'],
            )
        migration.copy_legacy_messages(apps, SimpleNamespace(connection=connection))
        row = DelayedMessage.objects.get()
        self.assertEqual((row.channel_name, row.message, row.due_date), ("old.channel", {"from": "1.x"}, due))


class AdvanceDelayClockTests(ChannelTestCase):
    def test_sends_what_is_due_once_the_clock_reaches_it(self):
        Channel("asgi.delay").send(request(content={"text": "in five"}, delay=5000))
        self.assertEqual(self.advance_delay_clock(seconds=4.999), 0)
        self.assertNoMessages("delayed.out")
        self.assertEqual(DelayedMessage.objects.count(), 1)
        self.assertEqual(self.advance_delay_clock(milliseconds=1), 1)
        self.assertMessage("delayed.out", text="in five")
        self.assertFalse(DelayedMessage.objects.exists())

    def test_the_clock_stands_still_between_advances(self):
        Channel("asgi.delay").send(request(content={"text": "in five"}, delay=5000))
        self.advance_delay_clock()
        an_hour_later = timezone.now() + timedelta(hours=1)
        with mock.patch("django.utils.timezone.now", return_value=an_hour_later):
            self.assertEqual(self.advance_delay_clock(seconds=4), 0)
            self.assertEqual(self.advance_delay_clock(seconds=1), 1)

    def test_a_request_sent_later_counts_from_the_moved_clock(self):
        self.advance_delay_clock(seconds=60)
        Channel("asgi.delay").send(request(content={"text": "late"}, delay=1000))
        self.assertEqual(self.advance_delay_clock(seconds=0.5), 0)
        self.assertEqual(self.advance_delay_clock(seconds=0.5), 1)
        self.assertMessage("delayed.out", text="late")

    def test_without_moving_sends_only_zero_delays(self):
        Channel("asgi.delay").send(request(content={"n": 0}, delay=0))
        Channel("asgi.delay").send(request(content={"n": 1}, delay=1))
        self.assertEqual(self.advance_delay_clock(), 1)
        self.assertMessage("delayed.out", n=0)

    def test_a_bad_request_fails_the_test_with_the_reason(self):
        Channel("asgi.delay").send(request(delay=-5))
        Channel("asgi.delay").send(request(content={"ok": True}, delay=10))
        with self.assertRaisesMessage(AssertionError, "'delay' is -5; it must be from 0"):
            self.advance_delay_clock(seconds=1)
        self.assertEqual(self.advance_delay_clock(seconds=1), 1)

    def test_the_clock_only_moves_forward(self):
        with self.assertRaisesMessage(ValueError, "The delay clock only moves forward"):
            self.advance_delay_clock(seconds=-1)

    def test_needs_the_delay_app(self):
        with modify_settings(INSTALLED_APPS={"remove": "channels_test.delay"}):
            with self.assertRaisesMessage(ImproperlyConfigured, "add 'channels_test.delay' to INSTALLED_APPS"):
                self.advance_delay_clock(seconds=1)


class RundelayErrorTests(ChannelTestCase):
    def test_refuses_the_in_memory_layer(self):
        with self.assertRaisesMessage(CommandError, "Channel layer 'default' is in-memory"):
            call_command("rundelay")

    def test_names_unknown_layer(self):
        with self.assertRaisesMessage(CommandError, "No channel layer 'nope' in CHANNEL_LAYERS"):
            call_command("rundelay", "--layer", "nope")

    def test_sleep_must_be_positive(self):
        with self.assertRaisesMessage(CommandError, "--sleep must be a number of seconds above 0, not 0.0"):
            call_command("rundelay", "--sleep", "0")
