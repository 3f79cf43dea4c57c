from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from .models import Room


def index(request):
    """List the rooms; the page's script keeps the list current (see bindings.py)."""
    return render(request, "chat/index.html", {"rooms": Room.objects.all()})


@login_required
def room(request, name):
    """Show one room; its script talks to ChatConsumer over a WebSocket."""
    room = get_object_or_404(Room, name=name)
    return render(request, "chat/room.html", {"room": room})
