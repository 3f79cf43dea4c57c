from channels.channel import Group


def deliver(message):
    Group("notify-%s" % message["user"]).send({"text": message["text"]})
