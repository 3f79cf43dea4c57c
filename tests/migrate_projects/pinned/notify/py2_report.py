import channels


def report(layer):
    print "layer:", layer
    return channels.Channel("report")
