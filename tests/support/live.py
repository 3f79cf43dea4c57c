"""Settings and a headless browser for the live server tests."""

import os
import shutil
import tempfile
from importlib.util import find_spec
from unittest import skipIf

from django.test import override_settings

from tests.support.processes import descendants, wait_gone

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # tests/


LIVE_LAYERS = {
    "default": {
        "BACKEND": "channels_test.layers.inmemory.InMemoryChannelLayer",
        "ROUTING": "tests.live.routing.channel_routing",
    },
    "other": {
        "BACKEND": "channels_test.layers.inmemory.InMemoryChannelLayer",
        "ROUTING": "tests.routing.other_routing",
    },
}


# Class-level settings every live test class here uses; the children get them too.
live_settings = override_settings(
    CHANNEL_LAYERS=LIVE_LAYERS,
    ROOT_URLCONF="tests.live.urls",
    STATICFILES_DIRS=[os.path.join(HERE, "live", "static")],
    TEMPLATES=[
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "DIRS": [os.path.join(HERE, "live", "templates")],
        }
    ],
    LIVE_MARKER="set by the test class",
)


# The interface application Daphne serves and the static files consumer.
MISSING_PARTS = [name for name in ("channels_test.interface", "channels_test.staticfiles") if find_spec(name) is None]


needs_interface = skipIf(MISSING_PARTS, f"{' and '.join(MISSING_PARTS)} missing from this checkout")


def postgres_up():
    """Return True if the local PostgreSQL server takes connections (user postgres)."""
    try:
        import psycopg

        psycopg.connect(
            host=os.environ.get("CHANNELS_TEST_PG_HOST", "127.0.0.1"),
            user="postgres",
            dbname="postgres",
            connect_timeout=3,
        ).close()
    except Exception:  # noqa: BLE001  (not installed, not running, refused: all mean "not here")
        return False
    return True


POSTGRES_UP = postgres_up()


NO_POSTGRES = "PostgreSQL is not running on 127.0.0.1:5432 (or psycopg is not installed)"


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


CHROMEDRIVER = shutil.which("chromedriver")


NO_CHROMIUM = "Chromium and chromedriver are not installed (Debian packages chromium, chromium-driver)"


def chromium_options(profile: str):
    """Return Selenium options for headless system Chromium with its own ``profile`` folder."""
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    return options


def chromedriver_service():
    """Return a Service for the system chromedriver: Selenium Manager looks for and downloads nothing."""
    from selenium.webdriver.chrome.service import Service

    return Service(executable_path=CHROMEDRIVER)


def start_browser(testcase):
    """Start headless Chromium through the system chromedriver; quit it in a class cleanup."""
    from selenium import webdriver

    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    testcase.addClassCleanup(shutil.rmtree, profile, ignore_errors=True)
    service = chromedriver_service()
    browser = webdriver.Chrome(service=service, options=chromium_options(profile))
    pids = [service.process.pid, *descendants(service.process.pid)]
    testcase.addClassCleanup(quit_browser, browser, service, pids)
    return browser, pids


def quit_browser(browser, service, pids):
    """Quit the browser and its driver; kill whatever of them is still there after 10 s."""

    try:
        if service.process is not None and service.process.poll() is None:
            browser.quit()  # the test may have quit it already
    finally:
        service.stop()
        if not wait_gone(pids):
            for pid in pids:
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
