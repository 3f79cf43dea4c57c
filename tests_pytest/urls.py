from django.contrib.auth.models import User
from django.http import HttpResponse
from django.urls import path


def usernames(request):
    names = ", ".join(sorted(User.objects.values_list("username", flat=True)))
    return HttpResponse(names or "(none)", content_type="text/plain")


urlpatterns = [path("usernames/", usernames)]
