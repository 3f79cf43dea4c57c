"""The chat in a real browser, against a live Daphne and worker.

Headless Chromium is driven by Selenium through the system's chromedriver
(Debian packages ``chromium`` and ``chromium-driver``); Selenium is given
the driver's path, so it never looks for or downloads a browser of its own.
"""

import os
import shutil
import tempfile
from unittest import SkipTest

from django.contrib.auth.models import User
from django.test import tag
from django.urls import reverse

from channels_test import Group
from channels_test.test import ChannelLiveServerTestCase
from chat.bindings import ROOM_LIST_GROUP
from chat.models import Room

try:
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # the tests below are skipped, naming what is missing
    webdriver = None

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
MISSING = [
    name
    for name, found in (
        ("Chromium (Debian package chromium)", CHROMIUM),
        ("chromedriver (Debian package chromium-driver)", CHROMEDRIVER),
        ("Selenium (pip install selenium)", webdriver),
    )
    if not found
]
WAIT = 15  # seconds the page gets to show what a test waits for


def start_chromium(test_class):
    """Return a headless Chromium driven by the system chromedriver, quit at class cleanup."""
    profile = tempfile.mkdtemp(prefix="chat-browser-")
    test_class.addClassCleanup(shutil.rmtree, profile, ignore_errors=True)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    service = Service(executable_path=CHROMEDRIVER)
    browser = webdriver.Chrome(service=service, options=options)
    # Cleanups run last-in first-out: quit the browser, then stop the driver's process.
    test_class.addClassCleanup(service.stop)
    test_class.addClassCleanup(browser.quit)
    return browser


@tag("live", "browser")
class ChatInTheBrowserTests(ChannelLiveServerTestCase):
    @classmethod
    def setUpClass(cls):
        if MISSING:
            reason = f"{' and '.join(MISSING)} not installed"
            if os.environ.get("CI") == "true":  # CI has a browser: a skip there hides a broken set-up
                raise RuntimeError(f"{reason}; CI=true needs the browser tests to run.")
            raise SkipTest(reason)
        super().setUpClass()
        cls.browser = start_chromium(cls)

    def setUp(self):
        # A TransactionTestCase empties the tables after each test: make the data per test.
        self.room = Room.objects.create(name="lobby", title="Lobby")
        User.objects.create_user("alice", password="chat-test-password")

    def wait_for(self, condition, what):
        """Wait until ``condition()`` is true; else fail, saying what the page shows."""
        try:
            WebDriverWait(self.browser, WAIT).until(lambda browser: condition())
            return
        except TimeoutException:
            pass
        page = self.browser.find_element(By.TAG_NAME, "body").text
        self.fail(f"Waited {WAIT} s for {what}; the page at {self.browser.current_url} shows:\n{page}")

    def text_of(self, selector):
        return [element.text for element in self.browser.find_elements(By.CSS_SELECTOR, selector)]

    def log_in(self, next_url):
        """Log in as alice through the login page, which then redirects to ``next_url``."""
        self.browser.get(f"{self.live_server_url}{reverse('login')}?next={next_url}")
        self.browser.find_element(By.NAME, "username").send_keys("alice")
        self.browser.find_element(By.NAME, "password").send_keys("chat-test-password")
        self.browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        self.wait_for(
            lambda: self.browser.current_url == self.live_server_url + next_url, f"the redirect to {next_url}"
        )

    def test_message_typed_in_the_room_page_is_shown_to_the_room(self):
        self.log_in(self.room.get_absolute_url())
        self.wait_for(lambda: self.text_of("#status") == ["Connected"], "the page's socket to open")
        self.browser.find_element(By.ID, "message").send_keys("hello from the browser")
        self.browser.find_element(By.CSS_SELECTOR, "#send button").click()
        self.wait_for(lambda: self.text_of("#messages li"), "a message in the room")
        self.assertEqual(self.text_of("#messages li"), ["alice: hello from the browser"])

    def test_room_page_reconnects_after_the_server_closes_its_socket(self):
        self.log_in(self.room.get_absolute_url())
        self.wait_for(lambda: self.text_of("#status") == ["Connected"], "the page's socket to open")
        # The test shares the live layer: close every socket in the room, as a consumer could.
        Group(Room.group_name("lobby")).send({"close": True}, immediately=True)
        self.wait_for(lambda: self.text_of("#status") == ["Reconnecting…"], "the page to notice the close")
        self.wait_for(lambda: self.text_of("#status") == ["Connected"], "the page's socket to open again")
        self.browser.find_element(By.ID, "message").send_keys("back again")
        self.browser.find_element(By.CSS_SELECTOR, "#send button").click()
        self.wait_for(lambda: self.text_of("#messages li"), "a message in the room")
        self.assertEqual(self.text_of("#messages li"), ["alice: back again"])

    def test_room_created_in_the_test_appears_in_the_room_list(self):
        self.browser.get(self.live_server_url + reverse("chat:index"))
        self.assertEqual(self.text_of("#rooms li"), ["Lobby"])
        # The test process shares the live channel layer: once the page's socket
        # has joined the room list group, the binding's message reaches it.
        self.wait_for(lambda: Group(ROOM_LIST_GROUP).channel_names(), "the room list's socket to join")
        Room.objects.create(name="news", title="News")
        self.wait_for(lambda: len(self.text_of("#rooms li")) == 2, "the new room in the list")
        self.assertEqual(self.text_of("#rooms li"), ["Lobby", "News"])
