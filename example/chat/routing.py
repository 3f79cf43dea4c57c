from channels_test.routing import route_class

from .consumers import ChatConsumer, RoomListConsumer

websocket_routing = [
    route_class(ChatConsumer, path=r"^/chat/(?P<room>[-a-zA-Z0-9_]+)/$"),
    route_class(RoomListConsumer, path=r"^/chat/$"),
]
