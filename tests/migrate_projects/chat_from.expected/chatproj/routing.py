from channels_test.routing import route, route_class, include
from chat.consumers import ChatConsumer, ws_add, ws_message

chat_routing = [
    route("websocket.connect", ws_add),
    route("websocket.receive", ws_message),
]

channel_routing = [
    include(chat_routing, path=r"^/chat/"),
    route_class(ChatConsumer, path=r"^/json/"),
]
