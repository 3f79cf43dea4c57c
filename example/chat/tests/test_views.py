"""The HTTP pages, with Django's test client (the worker runs the same views)."""

from django.contrib.auth.models import User
from django.urls import reverse

from channels_test.test import ChannelTestCase
from chat.models import Room


class ViewTests(ChannelTestCase):
    """A ChannelTestCase, although it tests views: saving a Room sends a binding message."""

    def setUp(self):
        self.lobby = Room.objects.create(name="lobby", title="Lobby")
        self.user = User.objects.create_user("alice")

    def test_index_lists_the_rooms(self):
        Room.objects.create(name="random", title="Random")
        response = self.client.get(reverse("chat:index"))
        self.assertContains(response, '<a href="/rooms/lobby/">Lobby</a>', html=True)
        self.assertContains(response, '<a href="/rooms/random/">Random</a>', html=True)
        self.assertContains(response, "chat/rooms.js")

    def test_room_page_needs_a_login(self):
        response = self.client.get(self.lobby.get_absolute_url())
        self.assertRedirects(response, f"{reverse('login')}?next=/rooms/lobby/")

    def test_room_page_names_its_room_for_the_script(self):
        self.client.force_login(self.user)
        response = self.client.get(self.lobby.get_absolute_url())
        script = '<script id="room-name" type="application/json">"lobby"</script>'
        self.assertContains(response, script, html=True)
        self.assertContains(response, "chat/room.js")

    def test_unknown_room_is_not_found(self):
        self.client.force_login(self.user)
        response = self.client.get(reverse("chat:room", args=["nowhere"]))
        self.assertEqual(response.status_code, 404)

    def test_login_page_renders(self):
        response = self.client.get(reverse("login"))
        self.assertContains(response, 'name="username"')
