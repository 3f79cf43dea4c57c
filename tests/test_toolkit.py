"""The test cases of the toolkit: captive layers, restore, assertions, apply_routes, hooks."""

import re
import textwrap
import unittest
from pathlib import Path

import django
from asgiref.sync import async_to_sync
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django.db.models.signals import post_save
from django.test import SimpleTestCase, TestCase, TransactionTestCase, override_settings

from channels_test import Channel, Group, compat
from channels_test.asgi import channel_layers
from channels_test.layers.inmemory import InMemoryChannelLayer
from channels_test.routing import route
from channels_test.signals import consumer_finished, consumer_started
from channels_test.test import (
    ChannelTestCase,
    ChannelTestCaseMixin,
    Client,
    TransactionChannelTestCase,
    apply_routes,
)
from tests.reference.models import IntegerValue

GUARDED_SIGNALS = (consumer_started, consumer_finished, request_started, request_finished)


def echo(message):
    message.reply_channel.send({"echo": message["value"]})


def shout(message):
    message.reply_channel.send({"shout": message["value"].upper()})


def count_rows(message):
    message.reply_channel.send({"rows": IntegerValue.objects.count()})


def run_case(test_class, *names):
    """Run tests of ``test_class`` (all if no names) with unittest; return the result."""
    loader = unittest.TestLoader()
    if names:
        suite = unittest.TestSuite(test_class(name) for name in names)
    else:
        suite = loader.loadTestsFromTestCase(test_class)
    result = unittest.TestResult()
    suite.run(result)
    return result


def problems(result):
    return "\n".join(text for _, text in result.errors + result.failures)


def settings_layer(alias):
    """The layer ``alias`` gets outside any test case: built from settings."""
    return channel_layers.backends.get(alias)


class SwapTests(SimpleTestCase):
    """Run small test classes and look at the layers before, during and after."""

    def setUp(self):
        self.before = {alias: channel_layers[alias] for alias in ("default", "other")}

    def assertRestored(self):
        for alias, wrapper in self.before.items():
            self.assertIs(channel_layers[alias], wrapper, f"layer {alias!r} not restored")

    def test_each_test_gets_an_empty_captive_layer_with_the_alias_routing(self):
        seen = []

        class Case(ChannelTestCaseMixin, SimpleTestCase):
            def test_1(self):
                seen.append(channel_layers["default"])
                Channel("left-over").send({"a": 1})
                Group("g").add("left-over")

            def test_2(self):
                seen.append(channel_layers["default"])
                seen.append(self.get_next_message("left-over"))
                seen.append(channel_layers["default"].group_channels("g"))

        result = run_case(Case, "test_1", "test_2")
        self.assertTrue(result.wasSuccessful(), problems(result))
        first, second, left_over, members = seen
        for wrapper in (first, second):
            self.assertIsInstance(wrapper.channel_layer, InMemoryChannelLayer)
            self.assertIsNot(wrapper, self.before["default"])
            self.assertEqual(wrapper.routing, self.before["default"].routing)
        self.assertIsNone(left_over)
        self.assertEqual(members, [])
        self.assertRestored()

    def test_only_listed_aliases_are_swapped(self):
        seen = {}

        class DefaultOnly(ChannelTestCaseMixin, SimpleTestCase):
            def test_it(self):
                seen["default"] = channel_layers["default"]
                seen["other"] = channel_layers["other"]

        class Both(DefaultOnly):
            test_channel_aliases = ["default", "other"]

        run_case(DefaultOnly, "test_it")
        self.assertIsNot(seen["default"], self.before["default"])
        self.assertIs(seen["other"], self.before["other"])
        run_case(Both, "test_it")
        self.assertIsNot(seen["other"], self.before["other"])
        self.assertEqual(seen["other"].alias, "other")
        self.assertRestored()

    def test_the_routing_comes_from_the_alias_settings(self):
        layers = {
            "default": {
                "BACKEND": "channels_test.layers.inmemory.InMemoryChannelLayer",
                "ROUTING": [route("echo", echo)],
                "TEST_CONFIG": {"capacity": 2},
            },
        }
        seen = []

        class Case(ChannelTestCaseMixin, SimpleTestCase):
            def test_it(self):
                client = Client()
                client.send_and_consume("echo", {"value": 1})
                seen.append(client.receive())
                Channel("small").send({})
                Channel("small").send({})
                with self.assertRaises(channel_layers["default"].ChannelFull):
                    Channel("small").send({})

        with override_settings(CHANNEL_LAYERS=layers):
            result = run_case(Case, "test_it")
        self.assertTrue(result.wasSuccessful(), problems(result))
        self.assertEqual(seen, [{"echo": 1}])

    def test_restored_after_a_failing_test_and_a_failing_set_up(self):
        class Failing(ChannelTestCaseMixin, SimpleTestCase):
            def test_fails(self):
                Channel("x").send({})
                self.fail("on purpose")

            def test_errors(self):
                raise RuntimeError("on purpose")

        class FailingSetUp(Failing):
            def setUp(self):
                raise RuntimeError("set-up fails on purpose")

            def test_never_runs(self):
                pass

        result = run_case(Failing, "test_fails", "test_errors")
        self.assertEqual((len(result.failures), len(result.errors)), (1, 1))
        self.assertRestored()
        result = run_case(FailingSetUp, "test_never_runs")
        self.assertEqual(len(result.errors), 1)
        self.assertIn("set-up fails on purpose", problems(result))
        self.assertRestored()

    def test_restored_after_a_failing_django_test_case_set_up(self):
        class FailingTestCase(ChannelTestCase):
            def setUp(self):
                raise RuntimeError("set-up fails on purpose")

            def test_never_runs(self):
                pass

        result = run_case(FailingTestCase, "test_never_runs")
        self.assertEqual(len(result.errors), 1)
        self.assertRestored()

    def test_an_unknown_alias_fails_the_class_naming_the_configured_ones(self):
        class Case(ChannelTestCaseMixin, SimpleTestCase):
            test_channel_aliases = ["default", "nope"]

            def test_never_runs(self):
                pass

        result = run_case(Case, "test_never_runs")
        self.assertIn("No channel layer 'nope' in CHANNEL_LAYERS (configured: 'default', 'other')", problems(result))
        self.assertRestored()

    def test_a_test_case_run_inside_a_test_gets_its_own_layer(self):
        outer = channel_layers["default"]
        seen = []

        class Outer(ChannelTestCaseMixin, SimpleTestCase):
            def test_outer(self):
                Channel("outer").send({"kept": True})

                class Inner(ChannelTestCaseMixin, SimpleTestCase):
                    def test_inner(self):
                        seen.append(self.get_next_message("outer"))

                run_case(Inner, "test_inner")
                seen.append(self.get_next_message("outer"))

        result = run_case(Outer, "test_outer")
        self.assertTrue(result.wasSuccessful(), problems(result))
        self.assertIsNone(seen[0])
        self.assertEqual(seen[1].content, {"kept": True})
        self.assertIs(channel_layers["default"], outer)


class ClassSetUpTests(TestCase):
    def test_class_set_up_sends_to_a_captive_layer_and_tests_start_empty(self):
        real_layer = channel_layers["default"]
        seen = []

        class Case(ChannelTestCase):
            @classmethod
            def setUpTestData(cls):
                seen.append(channel_layers["default"] is real_layer)
                Channel("from-set-up").send({"value": 1})

            def test_it(self):
                seen.append(self.get_next_message("from-set-up"))

        result = run_case(Case, "test_it")
        self.assertTrue(result.wasSuccessful(), problems(result))
        self.assertEqual(seen, [False, None])
        self.assertIs(channel_layers["default"], real_layer)
        self.assertEqual(real_layer.receive(["from-set-up"]), (None, None))


class ConnectionGuardTests(TestCase):
    """close_old_connections stays away while a toolkit class runs, and comes back."""

    def connected(self):
        return [compat.receiver_is_connected(signal, close_old_connections) for signal in GUARDED_SIGNALS]

    def test_disconnected_during_the_class_and_restored_after(self):
        self.assertEqual(self.connected(), [True] * 4)
        during = []

        class Case(ChannelTestCase):
            def test_it(self):
                during.extend(outer.connected())

        outer = self
        result = run_case(Case, "test_it")
        self.assertTrue(result.wasSuccessful(), problems(result))
        self.assertEqual(during, [False] * 4)
        self.assertEqual(self.connected(), [True] * 4)


@apply_routes([route("rows", count_rows)])  # http.request goes to Django's views
class ConsumersShareTheTestTransactionTests(ChannelTestCase):
    def test_consumer_signals_keep_the_test_connection(self):
        IntegerValue.objects.create(name="one", value=1)
        client = Client()
        client.send_and_consume("rows")
        self.assertEqual(client.receive(), {"rows": 1})
        self.assertTrue(connection.in_atomic_block)
        self.assertEqual(IntegerValue.objects.count(), 1)

    def test_after_djangos_test_client_put_the_receiver_back(self):
        IntegerValue.objects.create(name="one", value=1)
        self.client.get("/")  # Django's client reconnects close_old_connections after a request
        self.assertTrue(compat.receiver_is_connected(request_started, close_old_connections))
        client = Client()
        channel_layers["default"].router.check_default()  # http.request to the views, as workers do
        client.send_and_consume("http.request", {"path": "/", "method": "GET", "headers": [[b"host", b"testserver"]]})
        self.assertEqual(client.receive()["status"], 200)
        client.send_and_consume("rows")
        self.assertEqual(client.receive(), {"rows": 1})
        self.assertFalse(connection.needs_rollback)

    def test_receivers_connected_by_hand_are_taken_off_before_the_next_consumer(self):
        client = Client()
        client.send_and_consume("rows")  # the guard has looked at the request signals
        for signal in (request_started, request_finished):
            with self.subTest(signal=signal):
                signal.connect(close_old_connections)
                other = lambda **kwargs: None  # noqa: E731  (connected after it, then gone again)
                signal.connect(other, weak=False)
                signal.disconnect(other)
                client.send_and_consume("rows")
                self.assertFalse(compat.receiver_is_connected(signal, close_old_connections))
                self.assertEqual(client.receive(), {"rows": 0})
        self.assertFalse(connection.needs_rollback)


class GetNextMessageTests(ChannelTestCase):
    test_channel_aliases = ["default", "other"]

    def test_returns_a_message_or_none(self):
        Channel("input").send({"value": 1, "reply_channel": "test.reply.abc"})
        message = self.get_next_message("input")
        self.assertEqual(message.content, {"value": 1, "reply_channel": "test.reply.abc"})
        self.assertEqual(message.channel.name, "input")
        self.assertEqual(message.reply_channel.name, "test.reply.abc")
        self.assertIsNone(self.get_next_message("input"))

    def test_takes_a_channel_object(self):
        Channel("input").send({"value": 1})
        self.assertEqual(self.get_next_message(Channel("input"))["value"], 1)

    def test_require_names_the_channel_and_where_messages_wait(self):
        Channel("other-one").send({})
        Channel("other-one").send({})
        Channel("other-two").send({})
        with self.assertRaises(AssertionError) as caught:
            self.get_next_message("result", require=True)
        self.assertEqual(
            str(caught.exception),
            "No message on channel 'result' of layer 'default'; messages are waiting on: "
            "'other-one' (2), 'other-two' (1).",
        )

    def test_require_on_an_empty_layer(self):
        with self.assertRaisesMessage(AssertionError, "no channel of the layer holds a message"):
            self.get_next_message("result", alias="other", require=True)

    def test_alias(self):
        Channel("input", alias="other").send({"value": 2})
        self.assertIsNone(self.get_next_message("input"))
        self.assertEqual(self.get_next_message("input", alias="other")["value"], 2)
        Group("g", alias="other").add("member")
        Group("g", alias="other").send({"value": 3})
        self.assertEqual(self.get_next_message("member", alias="other")["value"], 3)


class AssertionTests(ChannelTestCase):
    def test_assert_message_matches_a_subset(self):
        Channel("result").send({"value": 1089, "extra": True})
        message = self.assertMessage("result", value=1089)
        self.assertEqual(message["extra"], True)
        Channel("result").send({"value": 1089, "alias": "a key named alias"})
        self.assertMessage("result", {"alias": "a key named alias"}, value=1089)

    def test_assert_message_shows_the_message_on_mismatch(self):
        Channel("result").send({"value": 1088, "other": "x"})
        with self.assertRaises(AssertionError) as caught:
            self.assertMessage("result", value=1089, missing=1)
        text = str(caught.exception)
        self.assertIn("'value': expected 1089, found 1088", text)
        self.assertIn("'missing': expected 1, found (missing)", text)
        self.assertIn("Whole message: {'value': 1088, 'other': 'x'}", text)

    def test_assert_message_without_a_message_lists_the_waiting_channels(self):
        Channel("elsewhere").send({})
        with self.assertRaisesMessage(AssertionError, "'elsewhere' (1)"):
            self.assertMessage("result", value=1)

    def test_assert_no_messages(self):
        self.assertNoMessages()
        self.assertNoMessages("result")
        Channel("result").send({"value": 1})
        self.assertNoMessages("elsewhere")
        with self.assertRaisesMessage(AssertionError, "Expected no message on 'result', found {'value': 1}"):
            self.assertNoMessages("result")
        Channel("a").send({"n": 1})
        Channel("a").send({"n": 2})
        Channel("b").send({"n": 3})
        with self.assertRaises(AssertionError) as caught:
            self.assertNoMessages()
        self.assertIn("'a' (2): first {'n': 1}", str(caught.exception))
        self.assertIn("'b' (1): first {'n': 3}", str(caught.exception))

    def test_assert_group_members(self):
        Group("room").add("one")
        Group("room").add(Channel("two"))
        self.assertGroupMembers("room", ["two", Channel("one")])
        with self.assertRaisesMessage(AssertionError, "missing ['three']; unexpected ['two']"):
            self.assertGroupMembers("room", ["one", "three"])
        self.assertGroupMembers("empty", [])


class UnreadMessagesTests(SimpleTestCase):
    def run_leaving_a_message(self, **attrs):
        class Case(ChannelTestCaseMixin, SimpleTestCase):
            def test_leaves(self):
                Channel("forgotten").send({"value": 1})

            def test_reads(self):
                Channel("read").send({"value": 1})
                self.get_next_message("read", require=True)

        for name, value in attrs.items():
            setattr(Case, name, value)
        return run_case(Case, "test_leaves", "test_reads")

    def test_off_by_default(self):
        result = self.run_leaving_a_message()
        self.assertTrue(result.wasSuccessful(), problems(result))

    def test_opt_in_fails_the_test_that_left_messages(self):
        result = self.run_leaving_a_message(fail_on_unread_messages=True)
        self.assertEqual(len(result.failures), 1, problems(result))
        test, text = result.failures[0]
        self.assertEqual(test._testMethodName, "test_leaves")
        self.assertIn("left messages unread", text)
        self.assertIn("'forgotten' (1): first {'value': 1}", text)

    def test_a_test_that_failed_reports_only_its_own_failure(self):
        def test_leaves(self):
            Channel("forgotten").send({"value": 1})
            self.fail("the test's own failure")

        result = self.run_leaving_a_message(fail_on_unread_messages=True, test_leaves=test_leaves)
        self.assertEqual(len(result.failures), 1, problems(result))
        self.assertIn("the test's own failure", result.failures[0][1])
        self.assertNotIn("left messages unread", result.failures[0][1])


class ApplyRoutesTests(ChannelTestCase):
    def consumer_of(self, channel, alias="default"):
        return Client(alias=alias).get_consumer_by_channel(channel)

    def test_context_manager(self):
        before = channel_layers["default"].router
        with apply_routes([route("echo", echo)]):
            self.assertIs(self.consumer_of("echo"), echo)
        self.assertIsNone(self.consumer_of("echo"))
        self.assertIs(channel_layers["default"].router, before)

    def test_a_client_made_before_sees_the_routes(self):
        client = Client()
        with apply_routes(route("echo", echo)):
            client.send_and_consume("echo", {"value": 1})
        self.assertEqual(client.receive(), {"echo": 1})

    @apply_routes([route("echo", echo)])
    def test_function_decorator(self):
        self.assertIs(self.consumer_of("echo"), echo)

    def test_function_decorator_restores(self):
        @apply_routes([route("echo", echo)])
        def decorated():
            return self.consumer_of("echo")

        self.assertIs(decorated(), echo)
        self.assertIsNone(self.consumer_of("echo"))

    def test_nesting(self):
        with apply_routes([route("echo", echo)]):
            with apply_routes([route("shout", shout)]):
                self.assertIs(self.consumer_of("shout"), shout)
                self.assertIsNone(self.consumer_of("echo"))
            self.assertIs(self.consumer_of("echo"), echo)
        self.assertIsNone(self.consumer_of("echo"))

    def test_the_same_object_nests_and_is_reusable(self):
        routes = apply_routes([route("echo", echo)])
        with routes:
            with routes:
                self.assertIs(self.consumer_of("echo"), echo)
            self.assertIs(self.consumer_of("echo"), echo)
        self.assertIsNone(self.consumer_of("echo"))

    def test_restores_after_an_exception(self):
        with self.assertRaisesMessage(RuntimeError, "inside"):
            with apply_routes([route("echo", echo)]):
                raise RuntimeError("inside")
        self.assertIsNone(self.consumer_of("echo"))

    def test_aliases(self):
        with apply_routes([route("echo", echo)], aliases=["other"]):
            self.assertIs(self.consumer_of("echo", alias="other"), echo)
            self.assertIsNone(self.consumer_of("echo"))
        self.assertIsNone(self.consumer_of("echo", alias="other"))
        with apply_routes([route("echo", echo)], aliases=["default", "other"]):
            self.assertIs(self.consumer_of("echo"), echo)
            self.assertIs(self.consumer_of("echo", alias="other"), echo)

    def test_a_route_a_list_or_a_list_of_lists(self):
        for routes in (route("echo", echo), [route("echo", echo)], [[route("echo", echo)], [route("shout", shout)]]):
            with self.subTest(routes=routes), apply_routes(routes):
                self.assertIs(self.consumer_of("echo"), echo)

    @apply_routes([route("echo", echo)])
    async def test_async_test_decorator(self):
        self.assertIs(self.consumer_of("echo"), echo)

    def test_async_function_decorator_applies_while_it_runs(self):
        @apply_routes([route("echo", echo)])
        async def decorated():
            return self.consumer_of("echo")

        self.assertIs(async_to_sync(decorated)(), echo)
        self.assertIsNone(self.consumer_of("echo"))

    def test_enable_and_disable(self):
        routes = apply_routes([route("echo", echo)])
        self.assertIs(routes.enable(), routes)
        try:
            self.assertIs(self.consumer_of("echo"), echo)
        finally:
            routes.disable()
        self.assertIsNone(self.consumer_of("echo"))

    def test_set_routing_returns_what_to_put_back(self):
        wrapper = channel_layers["default"]
        routing, router = wrapper.routing, wrapper.router
        previous = wrapper.set_routing([route("echo", echo)])
        self.assertEqual(previous, (routing, router))
        self.assertIs(self.consumer_of("echo"), echo)
        wrapper.set_routing(*previous)
        self.assertIs(wrapper.router, router)
        self.assertIsNone(self.consumer_of("echo"))

    def test_bad_routes_fail_where_written(self):
        with self.assertRaisesMessage(Exception, "is not a route"):
            apply_routes(["echo"])
        with self.assertRaisesMessage(TypeError, "write ['other']"):
            apply_routes([route("echo", echo)], aliases="other")


@apply_routes([route("echo", echo)])
class ApplyRoutesClassDecoratorTests(ChannelTestCase):
    def setUp(self):
        super().setUp()
        self.consumer_in_set_up = Client().get_consumer_by_channel("echo")

    def test_routes_apply_to_set_up_and_test(self):
        self.assertIs(self.consumer_in_set_up, echo)
        self.assertIs(Client().get_consumer_by_channel("echo"), echo)

    @apply_routes([route("shout", shout)])
    def test_method_decorator_nests_inside(self):
        self.assertIs(Client().get_consumer_by_channel("shout"), shout)
        self.assertIsNone(Client().get_consumer_by_channel("echo"))


class ApplyRoutesClassDecoratorRestoreTests(SimpleTestCase):
    def test_restored_when_set_up_fails(self):
        settings_router = channel_layers["default"].router

        @apply_routes([route("echo", echo)])
        class FailingSetUp(SimpleTestCase):
            def setUp(self):
                raise RuntimeError("set-up fails on purpose")

            def test_never_runs(self):
                pass

        result = run_case(FailingSetUp, "test_never_runs")
        self.assertEqual(len(result.errors), 1)
        self.assertIs(channel_layers["default"].router, settings_router)
        self.assertIsNone(Client().get_consumer_by_channel("echo"))


def announce_fixture_rows(sender, instance, raw, **kwargs):
    if raw:
        Channel("fixture-loaded").send({"name": instance.name})


class DjangoHookTests(TransactionTestCase):
    """Fixtures load into the captive layer on every Django version.

    Django 4.2 loads a TransactionTestCase's fixtures in the per-test
    ``_pre_setup``; 5.2+ loads the first test's in ``setUpClass``.
    """

    available_apps = ["tests.reference", "channels_test"]

    def test_version_facts(self):
        self.assertEqual(compat.pre_setup_is_classmethod(), django.VERSION >= (5, 2))

    def test_fixture_messages_land_in_each_tests_captive_layer(self):
        post_save.connect(announce_fixture_rows, sender=IntegerValue)
        self.addCleanup(post_save.disconnect, announce_fixture_rows, sender=IntegerValue)
        real_layer = channel_layers["default"]
        seen = []

        class WithFixtures(TransactionChannelTestCase):
            available_apps = ["tests.reference", "channels_test"]
            fixtures = ["reference_values"]

            def test_1(self):
                seen.append(sorted(m["name"] for m in iter(lambda: self.get_next_message("fixture-loaded"), None)))

            test_2 = test_1

        result = run_case(WithFixtures, "test_1", "test_2")
        self.assertTrue(result.wasSuccessful(), problems(result))
        self.assertEqual(seen, [["one", "two"], ["one", "two"]])
        self.assertIs(channel_layers["default"], real_layer)
        self.assertEqual(real_layer.receive(["fixture-loaded"]), (None, None))


class DocumentationExamplesTests(TestCase):
    """The self-contained examples of docs/testing.rst run and pass."""

    runnable = {
        "InputTests",
        "SquareTests",
        "SquareConsumerTests",
        "GroupTests",
        "AssertionExamples",
        "ClientTests",
        "TwoLayerTests",
    }

    def examples(self):
        path = Path(__file__).resolve().parent.parent / "docs" / "testing.rst"
        blocks = re.findall(r"\.\. code-block:: python\n\n((?:(?: {4}.*)?\n)+)", path.read_text())
        for block in blocks:
            code = textwrap.dedent(block)
            names = set(re.findall(r"^class (\w+)\(", code, re.MULTILINE)) & self.runnable
            if names:
                yield code, names

    def test_examples_run(self):
        found = set()
        for code, names in self.examples():
            namespace = {"__name__": "docs_example"}
            exec(compile(code, "docs/testing.rst", "exec"), namespace)
            for name in names:
                with self.subTest(example=name):
                    result = run_case(namespace[name])
                    self.assertTrue(result.testsRun and result.wasSuccessful(), problems(result))
            found |= names
        self.assertEqual(found, self.runnable)


class RouterReuseTests(SimpleTestCase):
    """Tests reuse a built router, but never one a test changed."""

    def test_routes_added_by_a_test_do_not_reach_the_next(self):
        seen = []

        class Case(ChannelTestCaseMixin, SimpleTestCase):
            def test_1_adds(self):
                channel_layers["default"].router.add_route(route("echo", echo))
                seen.append(Client().get_consumer_by_channel("echo"))

            def test_2_reads(self):
                seen.append(Client().get_consumer_by_channel("echo"))

            def test_3_adds_to_a_reused_router(self):
                channel_layers["default"].router.add_route(route("shout", shout))

            def test_4_reads(self):
                seen.append(Client().get_consumer_by_channel("shout"))

        result = run_case(
            Case, "test_1_adds", "test_2_reads", "test_2_reads", "test_3_adds_to_a_reused_router", "test_4_reads"
        )
        self.assertTrue(result.wasSuccessful(), problems(result))
        self.assertEqual(seen, [echo, None, None, None])

    def test_a_routing_change_in_settings_is_seen(self):
        seen = []

        class Case(ChannelTestCaseMixin, SimpleTestCase):
            def test_it(self):
                seen.append(Client().get_consumer_by_channel("echo"))

        run_case(Case, "test_it")
        layers = {
            "default": {
                "BACKEND": "channels_test.layers.inmemory.InMemoryChannelLayer",
                "ROUTING": [route("echo", echo)],
            }
        }
        with override_settings(CHANNEL_LAYERS=layers):
            run_case(Case, "test_it")
        run_case(Case, "test_it")
        self.assertEqual(seen, [None, echo, None])


class RestoreAfterReplacementTests(SimpleTestCase):
    def test_the_old_layer_is_back_even_if_the_test_installed_another(self):
        before = channel_layers["default"]

        class Case(ChannelTestCaseMixin, SimpleTestCase):
            def test_replaces(self):
                channel_layers.set("default", None)

        result = run_case(Case, "test_replaces")
        self.assertTrue(result.wasSuccessful(), problems(result))
        self.assertIs(channel_layers["default"], before)
