"""Data binding: sockets on /chat/ (the room list) hear about rooms created, changed or deleted."""

from channels_test.binding.websockets import WebsocketBinding

from .models import Room

ROOM_LIST_GROUP = "chat-room-list"


class RoomBinding(WebsocketBinding):
    """Send every change to a Room to the room list (outbound only)."""

    model = Room
    stream = "rooms"
    fields = ["name", "title"]

    @classmethod
    def group_names(cls, instance):
        return [ROOM_LIST_GROUP]

    def has_permission(self, user, action, pk):
        # Rooms are managed in the admin, never over a socket.
        return False
