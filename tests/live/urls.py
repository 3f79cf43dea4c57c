from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path

from tests.live.bridge import bridge_page
from tests.testapp.models import IntegerValue


def echo_page(request):
    return render(request, "live/echo.html")


def values(request):
    names = ", ".join(sorted(IntegerValue.objects.values_list("name", flat=True)))
    return HttpResponse(names or "(none)", content_type="text/plain")


urlpatterns = [path("echo/", echo_page), path("values/", values), path("bridge/", bridge_page)]
