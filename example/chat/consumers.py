"""WebSocket consumers of the chat.

``ChatConsumer`` serves /chat/<room>/. The browser sends
``{"message": "hello"}``; everyone in the room, sender included, gets
``{"room": "lobby", "user": "alice", "message": "hello"}``. A frame that is
not such an object gets ``{"error": "..."}`` back, to the sender only.
Anonymous users, unknown rooms and pages from other sites are refused.
"""

from channels_test.generic.websockets import JsonWebsocketConsumer, WebsocketConsumer
from channels_test.security.websockets import allowed_hosts_only

from .bindings import ROOM_LIST_GROUP
from .models import Room

MAX_MESSAGE_LENGTH = 1000


class ChatConsumer(JsonWebsocketConsumer):
    """Logged-in users talk to everyone in a room; anonymous users are refused."""

    # message.user is the user of the page's session cookie, on every frame.
    http_user = True

    def connection_groups(self, room, **kwargs):
        """Join the room's group; a refused socket joins none."""
        return [Room.group_name(room)] if self.may_enter(room) else []

    def may_enter(self, room):
        """Return True if this socket's user may enter ``room``: logged in, and the room exists."""
        return self.message.user.is_authenticated and Room.objects.filter(name=room).exists()

    # Pages of other sites could open sockets with our users' cookies: accept
    # only an Origin in ALLOWED_HOSTS.
    @allowed_hosts_only
    def connect(self, message, room, **kwargs):
        if self.may_enter(room):
            message.reply_channel.send({"accept": True})
        else:
            self.close()  # refuses the handshake: the browser's socket fails to open

    def receive(self, content, room, **kwargs):
        error = self.check(content)
        if error:
            self.send({"error": error})
            return
        self.group_send(
            Room.group_name(room),
            {
                "room": room,
                "user": self.message.user.get_username(),
                "message": content["message"],
            },
        )

    @staticmethod
    def check(content):
        """Return what is wrong with a received frame, or None if it is a good message."""
        if not isinstance(content, dict) or not isinstance(content.get("message"), str):
            return 'Send an object with a "message" string, like {"message": "hello"}.'
        if not content["message"].strip():
            return "The message is empty."
        if len(content["message"]) > MAX_MESSAGE_LENGTH:
            return f"The message is longer than {MAX_MESSAGE_LENGTH} characters."
        return None


class RoomListConsumer(WebsocketConsumer):
    """Sockets on /chat/ get RoomBinding's updates; anyone may listen."""

    groups = [ROOM_LIST_GROUP]
