import channels_test
import channels_test.sessions

# Votes so far, per poll: a module of mychannels would keep them elsewhere.
TALLY = {}
mychannels = ["polls.vote"]


@channels_test.sessions.channel_session
def watch(message, poll):
    message.reply_channel.send({"accept": True})
    message.channel_session["poll"] = poll
    channels_test.Group("poll-" + poll).add(message.reply_channel)


def vote(message):
    poll = message.content["poll"]
    TALLY[poll] = TALLY.get(poll, 0) + 1
    channels_test.Group("poll-" + poll).send({"text": str(TALLY[poll])})
    channels_test.Channel(message.content["reply_to"]).send({"count": TALLY[poll]})


def describe(channels):
    """A parameter named like the package is not the package."""
    return "channels are great: %s" % ", ".join(channels)


class Listener(object):
    def __init__(self, layer):
        self.channels = list(layer.channels)
