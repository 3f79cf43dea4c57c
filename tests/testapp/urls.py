from django.http import HttpResponse
from django.urls import path


def index(request):
    return HttpResponse("channels_test suite")


urlpatterns = [path("", index)]
