from django.urls import path

from . import views

app_name = "chat"
urlpatterns = [
    path("", views.index, name="index"),
    path("rooms/<slug:name>/", views.room, name="room"),
]
