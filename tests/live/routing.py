"""Routing of the live-server test project."""

from channels_test.routing import route

from . import consumers

channel_routing = [
    route("websocket.connect", consumers.values_connect, path=r"^/values/$"),
    route("websocket.disconnect", consumers.values_disconnect, path=r"^/values/$"),
    route("websocket.connect", consumers.ws_connect),
    route("websocket.receive", consumers.ws_receive),
    route("websocket.disconnect", consumers.ws_disconnect),
    route("live.inspect", consumers.inspect),
    route("live.fail", consumers.fail),
    route("live.use-other-alias", consumers.use_other_alias),
]
