"""Routing of the live-server test project."""

from channels_test.routing import route

from . import bridge, consumers

channel_routing = [
    route("websocket.connect", bridge.echo_connect, path=r"^/bridge/echo/$"),
    route("websocket.receive", bridge.echo_receive, path=r"^/bridge/echo/$"),
    route("websocket.disconnect", bridge.echo_disconnect, path=r"^/bridge/echo/$"),
    route("websocket.connect", bridge.refuse_connect, path=r"^/bridge/refuse/$"),
    route("websocket.connect", consumers.values_connect, path=r"^/values/$"),
    route("websocket.disconnect", consumers.values_disconnect, path=r"^/values/$"),
    route("websocket.connect", consumers.ws_connect),
    route("websocket.receive", consumers.ws_receive),
    route("websocket.disconnect", consumers.ws_disconnect),
    route("live.inspect", consumers.inspect),
    route("live.fail", consumers.fail),
    route("live.use-other-alias", consumers.use_other_alias),
]
