"""Channel routing: which consumer handles each message (CHANNEL_LAYERS ROUTING).

HTTP requests need no route: the default ``http.request`` consumer answers
them with the views in ``urls.py``.
"""

from channels_test.routing import include

channel_routing = [
    include("chat.routing.websocket_routing"),
]
