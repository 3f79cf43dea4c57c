import channels.routing as routing

channel_routing = [
    routing.route("notify.send", "notify.consumers.deliver"),
]
