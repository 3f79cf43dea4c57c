import channels

from polls import consumers

channel_routing = [
    channels.route("polls.vote", consumers.vote),
    channels.route("websocket.connect", consumers.watch, path=r"^/polls/(?P<poll>\w+)/$"),
]
