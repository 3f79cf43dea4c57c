import channels_test.routing as routing

channel_routing = [
    routing.route("notify.send", "notify.consumers.deliver"),
]
