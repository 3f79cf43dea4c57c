from channels.hacks import monkeypatch_django
from channels_api.bindings import ResourceBinding


def start():
    monkeypatch_django()
    return ResourceBinding
