"""The project routing the document's examples assume (ROUTING of its layer)."""

from channels_test.routing import route

from .consumers import RoomConsumer, internal_consumer, ordered_receive

channel_routing = [
    route("my_internal_channel", internal_consumer),
    RoomConsumer.as_route(path=r"^/rooms/$"),
    route("websocket.receive", ordered_receive, path=r"^/(?:ws)?$"),
]
