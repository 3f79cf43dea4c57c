import channels_test

from polls import consumers

channel_routing = [
    channels_test.route("polls.vote", consumers.vote),
    channels_test.route("websocket.connect", consumers.watch, path=r"^/polls/(?P<poll>\w+)/$"),
]
