"""Routing of the plugin's tests; every route is written out, none is a default."""

from channels_test.handler import ViewConsumer
from channels_test.routing import route

from . import consumers

channel_routing = [
    route("http.request", ViewConsumer()),
    route("websocket.connect", consumers.ws_connect),
    route("websocket.receive", consumers.ws_receive),
    route("websocket.disconnect", consumers.ws_disconnect),
    route("square", consumers.square),
    route("create-user", consumers.create_user),
    route("inspect", consumers.inspect),
]

other_routing = [
    route("other.square", consumers.square),
]
