from django.core.exceptions import ImproperlyConfigured
from django.test import SimpleTestCase

from channels_test.layers.inmemory import InMemoryChannelLayer
from channels_test.message import Message
from channels_test.routing import Router, connect_consumer, include, null_consumer, route, route_class

ROUTED = []


def consumer_a(message, **kwargs):
    pass


def consumer_b(message, **kwargs):
    pass


class ClassConsumer:
    @classmethod
    def channel_names(cls):
        return {"websocket.connect", "websocket.receive"}

    def __init__(self, message, **kwargs):
        pass


# A module-level routing list, for dotted-path includes.
chat_routing = [
    route("websocket.connect", consumer_a, path=r"^/(?P<room>[a-z]+)/$"),
    route("websocket.receive", consumer_b),
]


def message(channel, **content):
    return Message(content, channel, InMemoryChannelLayer())


class RouteTests(SimpleTestCase):
    def test_channel_decides(self):
        router = Router([route("a", consumer_a), route("b", consumer_b)])
        self.assertEqual(router.match(message("b")), (consumer_b, {}))
        self.assertIsNone(router.match(message("c")))

    def test_named_groups_become_kwargs(self):
        router = Router([route("websocket.connect", consumer_a, path=r"^/chat/(?P<room>\w+)/$")])
        self.assertEqual(
            router.match(message("websocket.connect", path="/chat/lobby/")),
            (consumer_a, {"room": "lobby"}),
        )
        self.assertIsNone(router.match(message("websocket.connect", path="/other/")))

    def test_filter_on_missing_key_does_not_match(self):
        router = Router([route("a", consumer_a, path=r"^/$")])
        self.assertIsNone(router.match(message("a")))

    def test_filter_matches_bytes_values(self):
        router = Router([route("a", consumer_a, method=r"^POST$")])
        self.assertEqual(router.match(message("a", method=b"POST")), (consumer_a, {}))

    def test_first_match_wins(self):
        router = Router([route("a", consumer_a, path=r"^/x"), route("a", consumer_b)])
        self.assertEqual(router.match(message("a", path="/x/1"))[0], consumer_a)
        self.assertEqual(router.match(message("a", path="/y"))[0], consumer_b)

    def test_route_class_listens_on_its_channels(self):
        router = Router([route_class(ClassConsumer, path=r"^/ws/$")])
        self.assertEqual(router.match(message("websocket.receive", path="/ws/")), (ClassConsumer, {}))
        self.assertIn("websocket.connect", router.channels)

    def test_router_holds_only_the_routing(self):
        router = Router([route("http.request", consumer_a, path=r"^/poll/$")])
        for channel in ("websocket.connect", "websocket.receive", "websocket.disconnect"):
            self.assertIsNone(router.match(message(channel, path="/")))
        self.assertIsNone(router.match(message("http.request", path="/")))
        self.assertEqual(router.channels, {"http.request"})

    def test_check_default_adds_the_defaults_after_the_routing(self):
        from channels_test.handler import ViewConsumer

        router = Router([route("http.request", consumer_a, path=r"^/poll/$")])
        router.check_default()
        self.assertEqual(router.match(message("http.request", path="/poll/")), (consumer_a, {}))
        consumer, kwargs = router.match(message("http.request", path="/"))
        self.assertIsInstance(consumer, ViewConsumer)
        self.assertEqual(router.match(message("websocket.connect", path="/")), (connect_consumer, {}))
        self.assertEqual(router.match(message("websocket.receive", path="/")), (null_consumer, {}))
        self.assertEqual(router.match(message("websocket.disconnect", path="/")), (null_consumer, {}))
        self.assertEqual(
            router.channels, {"http.request", "websocket.connect", "websocket.receive", "websocket.disconnect"}
        )

    def test_default_connect_consumer_accepts(self):
        layer = InMemoryChannelLayer()
        router = Router([])
        router.check_default()
        accept = router.match(Message({"reply_channel": "r.1", "path": "/"}, "websocket.connect", layer))[0]
        self.assertIs(accept, connect_consumer)
        accept(Message({"reply_channel": "r.1", "path": "/"}, "websocket.connect", layer))
        self.assertEqual(layer.receive(["r.1"]), ("r.1", {"accept": True}))

    def test_check_default_takes_an_http_consumer(self):
        router = Router([])
        router.check_default(http_consumer=consumer_b)
        self.assertEqual(router.match(message("http.request", path="/")), (consumer_b, {}))

    def test_add_route_appends_to_the_routing(self):
        router = Router([route("websocket.connect", consumer_a, path=r"^/a/$")])
        router.add_route(route("websocket.connect", consumer_b))
        self.assertEqual(router.match(message("websocket.connect", path="/a/"))[0], consumer_a)
        self.assertEqual(router.match(message("websocket.connect", path="/"))[0], consumer_b)
        with self.assertRaisesRegex(TypeError, "add_route\\(\\) takes a route"):
            router.add_route(consumer_a)

    def test_routables_of_ones_own_are_matched_with_prefixes_stripped(self):
        class PathEcho:
            """Any object with match() and channel_names() routes, as in Channels 1.x."""

            def match(self, message):
                return (consumer_a, {"rest": message["path"]}) if message.channel.name == "x" else None

            def channel_names(self):
                return {"x"}

        router = Router([include([PathEcho()], path=r"^/api")])
        self.assertEqual(router.match(message("x", path="/api/items")), (consumer_a, {"rest": "/items"}))
        self.assertEqual(router.channels, {"x"})

    def test_dict_routing(self):
        router = Router({"a": consumer_a, "b": "tests.test_routing.consumer_b"})
        self.assertEqual(router.match(message("a")), (consumer_a, {}))
        self.assertEqual(router.match(message("b")), (consumer_b, {}))

    def test_dotted_path_routing(self):
        router = Router("tests.test_routing.chat_routing")
        self.assertEqual(router.match(message("websocket.receive")), (consumer_b, {}))

    def test_string_consumer_is_imported(self):
        router = Router([route("a", "tests.test_routing.consumer_a")])
        self.assertEqual(router.match(message("a"))[0], consumer_a)


class IncludeTests(SimpleTestCase):
    def test_prefix_is_stripped_for_included_routes(self):
        router = Router([include("tests.test_routing.chat_routing", path=r"^/chat")])
        self.assertEqual(
            router.match(message("websocket.connect", path="/chat/lobby/")),
            (consumer_a, {"room": "lobby"}),
        )
        self.assertIsNone(router.match(message("websocket.connect", path="/lobby/")))

    def test_prefix_groups_are_passed_on(self):
        inner = [route("a", consumer_a, path=r"^/(?P<item>\d+)/$")]
        router = Router([include(inner, path=r"^/shop/(?P<shop>\w+)")])
        self.assertEqual(
            router.match(message("a", path="/shop/north/42/")),
            (consumer_a, {"shop": "north", "item": "42"}),
        )

    def test_nested_includes_strip_in_turn(self):
        inner = [route("a", consumer_a, path=r"^/leaf/$")]
        router = Router([include([include(inner, path=r"^/two")], path=r"^/one")])
        self.assertEqual(router.match(message("a", path="/one/two/leaf/"))[0], consumer_a)

    def test_failed_include_does_not_leak_stripping_to_siblings(self):
        router = Router(
            [
                include([route("a", consumer_a, path=r"^/never$")], path=r"^/x"),
                route("a", consumer_b, path=r"^/x/y$"),
            ]
        )
        self.assertEqual(router.match(message("a", path="/x/y"))[0], consumer_b)

    def test_channels_of_includes(self):
        router = Router([include([include([route("thumbnails", consumer_a)])])])
        self.assertIn("thumbnails", router.channels)


class BadRoutingTests(SimpleTestCase):
    def test_not_callable(self):
        with self.assertRaisesMessage(ImproperlyConfigured, "route('a' -> 42): the consumer 42 is not callable"):
            route("a", 42)

    def test_unnamed_group_names_the_route(self):
        with self.assertRaises(ImproperlyConfigured) as caught:
            route("websocket.connect", consumer_a, path=r"^/chat/(\w+)/$")
        self.assertIn("unnamed groups", str(caught.exception))
        self.assertIn("websocket.connect", str(caught.exception))
        self.assertIn("consumer_a", str(caught.exception))

    def test_bad_regex(self):
        with self.assertRaisesMessage(ImproperlyConfigured, "not a valid regex"):
            route("a", consumer_a, path=r"^(?P<x")

    def test_missing_module_attribute(self):
        with self.assertRaisesMessage(ImproperlyConfigured, "Cannot import the routing 'tests.test_routing.nope'"):
            Router("tests.test_routing.nope")

    def test_missing_consumer_import(self):
        with self.assertRaisesMessage(ImproperlyConfigured, "cannot import consumer 'tests.nothing.here'"):
            route("a", "tests.nothing.here")

    def test_entry_that_is_not_a_route(self):
        with self.assertRaisesMessage(ImproperlyConfigured, "is not a route"):
            Router([consumer_a])

    def test_route_class_needs_channel_names(self):
        with self.assertRaisesMessage(ImproperlyConfigured, "needs a channel_names()"):
            route_class(consumer_a)

    def test_routing_must_be_a_list(self):
        with self.assertRaisesMessage(ImproperlyConfigured, "must be a list"):
            Router(42)


class CountingRoutable:
    """A routable of the user's own: its own match, called for every message."""

    def __init__(self):
        self.calls = 0

    def match(self, message):
        self.calls += 1
        return (consumer_a, {"call": self.calls}) if message.content.get("path") == "/mine/" else None

    def channel_names(self):
        return {"a"}


class RememberedMatchTests(SimpleTestCase):
    """The router remembers what it matched for a channel and the filtered values."""

    def test_each_match_gets_its_own_kwargs(self):
        router = Router([route("a", consumer_a, path=r"^/(?P<room>\w+)/$")])
        first = router.match(message("a", path="/lobby/"))
        first[1]["room"] = "changed by the consumer"
        self.assertEqual(router.match(message("a", path="/lobby/")), (consumer_a, {"room": "lobby"}))

    def test_values_and_channels_are_told_apart(self):
        router = Router([route("a", consumer_a, path=r"^/x/$"), route("b", consumer_b, path=r"^/x/$")])
        for _ in range(2):
            self.assertEqual(router.match(message("a", path="/x/"))[0], consumer_a)
            self.assertEqual(router.match(message("b", path="/x/"))[0], consumer_b)
            self.assertIsNone(router.match(message("a", path="/y/")))
            self.assertIsNone(router.match(message("a", path=["/x/"])))  # not a str: matches nothing
            self.assertEqual(router.match(message("a", path=b"/x/"))[0], consumer_a)

    def test_a_route_added_later_is_seen(self):
        router = Router([route("a", consumer_a, path=r"^/x/$")])
        self.assertIsNone(router.match(message("a", path="/y/")))
        router.add_route(route("a", consumer_b, path=r"^/y/$"))
        self.assertEqual(router.match(message("a", path="/y/"))[0], consumer_b)

    def test_an_entry_appended_to_the_routing_is_seen(self):
        router = Router([route("a", consumer_a, path=r"^/x/$")])
        self.assertIsNone(router.match(message("a", path="/y/")))
        router.root.routing.append(route("a", consumer_b, path=r"^/y/$"))
        self.assertEqual(router.match(message("a", path="/y/"))[0], consumer_b)

    def test_a_routable_of_the_users_own_is_asked_every_time(self):
        mine = CountingRoutable()
        router = Router([include([mine]), route("a", consumer_b)])
        self.assertEqual(router.match(message("a", path="/mine/")), (consumer_a, {"call": 1}))
        self.assertEqual(router.match(message("a", path="/mine/")), (consumer_a, {"call": 2}))

    def test_a_full_memory_starts_again(self):
        router = Router([route("a", consumer_a, path=r"^/(?P<n>\d+)/$")])
        router.remembered_matches = 3
        for number in range(10):
            self.assertEqual(router.match(message("a", path=f"/{number}/")), (consumer_a, {"n": str(number)}))
        self.assertLessEqual(len(router._matches), 3)
