"""Consumers of the chat: one room, everyone in it hears everything."""
from channels_test import Group
from channels_test.generic.websockets import JsonWebsocketConsumer
from channels_test.sessions import channel_session


@channel_session
def ws_add(message):
    message.reply_channel.send({"accept": True})
    message.channel_session["room"] = "lobby"
    Group("chat-lobby").add(message.reply_channel)


@channel_session
def ws_message(message):
    room = message.channel_session["room"]
    Group("chat-%s" % room).send({"text": message.content["text"]})


class ChatConsumer(JsonWebsocketConsumer):
    def receive(self, content, **kwargs):
        self.send({"echo": content})
