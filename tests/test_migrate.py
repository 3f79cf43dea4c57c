"""``python -m channels_test.migrate``: rewriting Channels 1.x projects for channels_test.

The projects in tests/migrate_projects/ are small Channels 1.x projects written for
these tests (a folder without ``__init__.py``, so the suite's runner does not collect
them); ``<name>.expected/`` holds each one as the migration must leave it. Every test
works on a copy in a temporary directory.
"""

import io
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from unittest import mock

from django.test import SimpleTestCase

from channels_test.migrate import cli
from channels_test.migrate.rewrite import rewrite_source
from channels_test.migrate.tables import BACKENDS, MISSING_APIS

ROOT = Path(__file__).resolve().parent.parent
PROJECTS = Path(__file__).resolve().parent / "migrate_projects"
SUBPROCESS_TIMEOUT = 120


def migrate(source: str, path: str = "module.py") -> str:
    """Return ``source`` migrated."""
    new, _ = rewrite_source(textwrap.dedent(source).encode(), path)
    return new.decode()


def findings(source: str, path: str = "module.py") -> list[str]:
    _, found = rewrite_source(textwrap.dedent(source).encode(), path)
    return [str(finding) for finding in found]


def tree(directory: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def child_environment() -> dict[str, str]:
    """The environment for a child Python: this checkout importable, no settings chosen."""
    environment = dict(os.environ)
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    environment["PYTHONPATH"] = str(ROOT)
    return environment


class ProjectCopy:
    """A test project copied into a temporary directory, removed at clean-up."""

    def __init__(self, test: SimpleTestCase, name: str):
        self.temporary = tempfile.mkdtemp(prefix=f"migrate-{name}-")
        test.addCleanup(shutil.rmtree, self.temporary, ignore_errors=True)
        self.path = Path(self.temporary) / name
        shutil.copytree(PROJECTS / name, self.path)
        self.expected = PROJECTS / f"{name}.expected"

    def run(self, *options: str) -> tuple[int, str]:
        """Run the command in-process on the copy, from inside it; return (status, output)."""
        out = io.StringIO()
        cwd = os.getcwd()
        os.chdir(self.path)
        try:
            status = cli.main([*options, "."], out=out)
        finally:
            os.chdir(cwd)
        return status, out.getvalue()

    def run_tests(self, label: str) -> subprocess.CompletedProcess:
        """Run the project's own test module with Django's runner, in a child process."""
        return subprocess.run(
            [sys.executable, "manage.py", "test", label, "--noinput", "-v", "2"],
            cwd=self.path,
            env=child_environment(),
            capture_output=True,
            text=True,
            timeout=SUBPROCESS_TIMEOUT,
        )


class ProjectTests(SimpleTestCase):
    """The three test projects: exact output, idempotence, and their tests passing after."""

    projects = {
        "chat_from": "chat.app_checks",
        "attr_style": "polls.app_checks",
        "pinned": "notify.app_checks",
    }

    def test_rewritten_projects_match_the_expected_trees(self):
        for name in self.projects:
            with self.subTest(project=name):
                project = ProjectCopy(self, name)
                project.run()
                found, expected = tree(project.path), tree(project.expected)
                self.assertEqual(sorted(found), sorted(expected))
                for path, content in expected.items():
                    self.assertEqual(found[path].decode(), content.decode(), path)

    def test_a_second_run_changes_nothing(self):
        for name in self.projects:
            with self.subTest(project=name):
                project = ProjectCopy(self, name)
                project.run()
                after_first = tree(project.path)
                status, output = project.run("--check")
                self.assertEqual(status, 0, output)
                self.assertIn("0 files would be rewritten.", output)
                project.run()
                self.assertEqual(tree(project.path), after_first)

    def test_each_project_test_module_passes_on_channels_test_after_migration(self):
        for name, label in self.projects.items():
            with self.subTest(project=name):
                project = ProjectCopy(self, name)
                before = project.run_tests(label)
                self.assertNotEqual(before.returncode, 0, "the 1.x project ran unmigrated")
                self.assertIn("No module named 'channels'", before.stderr)
                project.run()
                after = project.run_tests(label)
                self.assertEqual(after.returncode, 0, after.stderr)
                self.assertRegex(after.stderr, r"Ran [1-9]\d* tests?")
                self.assertIn("\nOK", after.stderr)

    def test_the_command_runs_as_a_module(self):
        project = ProjectCopy(self, "chat_from")
        done = subprocess.run(
            [sys.executable, "-m", "channels_test.migrate", "--check", "."],
            cwd=project.path,
            env=child_environment(),
            capture_output=True,
            text=True,
            timeout=SUBPROCESS_TIMEOUT,
        )
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertIn("would rewrite chatproj/settings.py", done.stdout)


class CommandLineTests(SimpleTestCase):
    def test_check_lists_the_files_and_writes_nothing(self):
        project = ProjectCopy(self, "attr_style")
        before = tree(project.path)
        status, output = project.run("--check")
        self.assertEqual(status, 1)
        self.assertEqual(
            output.splitlines()[:5],
            [
                "would rewrite pollproj/routing.py",
                "would rewrite pollproj/settings.py",
                "would rewrite polls/app_checks.py",
                "would rewrite polls/consumers.py",
                "4 files would be rewritten.",
            ],
        )
        self.assertEqual(tree(project.path), before)

    def test_a_run_without_check_exits_0_and_names_the_rewritten_files(self):
        project = ProjectCopy(self, "attr_style")
        status, output = project.run()
        self.assertEqual(status, 0)
        self.assertIn("rewrote polls/consumers.py\n", output)
        self.assertIn("4 files rewritten.\n", output)

    def test_diff_prints_a_unified_diff_and_writes_nothing(self):
        project = ProjectCopy(self, "chat_from")
        before = tree(project.path)
        status, output = project.run("--diff")
        self.assertEqual(status, 0)
        self.assertEqual(tree(project.path), before)
        self.assertIn(
            "--- a/chatproj/routing.py\n"
            "+++ b/chatproj/routing.py\n"
            "@@ -1,4 +1,4 @@\n"
            "-from channels.routing import route, route_class, include\n"
            "+from channels_test.routing import route, route_class, include\n"
            " from chat.consumers import ChatConsumer, ws_add, ws_message\n",
            output,
        )
        self.assertIn('-            "stats_prefix": "chat-from-stats:",\n', output)

    def test_the_report_names_file_and_line_of_what_is_left_to_do(self):
        project = ProjectCopy(self, "pinned")
        _, output = project.run()
        report = output[output.index("\n\n") :]
        self.assertEqual(
            report.strip().splitlines(),
            [
                "Files not migrated (fix them, then run again):",
                "  notify/py2_report.py:5: cannot parse: not Python 3 (Python 2 code, or a template?); left unchanged",
                "  scaffold/consumer_template.py:2: cannot parse: not Python 3 (Python 2 "
                "code, or a template?); left unchanged",
                "",
                "Channels 1.x APIs that channels_test does not carry:",
                f"  notify/startup.py:1: {MISSING_APIS['channels.hacks']}",
                "",
                "Packages pinned to Channels 1.x (replace them):",
                "  requirements.txt:2: channels==1.1.8: replace it with channels_test",
                "  requirements.txt:3: asgi_redis==1.4.3 is a Channels 1.x layer: remove it; "
                "channels_test's Redis layer needs channels_test[redis]",
                "  requirements.txt:4: asgi-ipc>=1.4 is a Channels 1.x layer: remove it; "
                "channels_test's SQLite layer needs nothing more",
                "  requirements.txt:5: daphne<2 is the Channels 1.x version: remove the pin; "
                "channels_test installs daphne>=4",
                "  requirements.txt:6: asgiref~=1.1 is the Channels 1.x version: remove the "
                "pin; channels_test installs asgiref>=3",
                "  setup.py:8: channels>=1.1,<2: replace it with channels_test",
                "  setup.py:9: asgi_redis is a Channels 1.x layer: remove it; channels_test's "
                "Redis layer needs channels_test[redis]",
                "",
                "Django upgrade work (not done by this command):",
                "  notify/legacy_urls.py:1: django.conf.urls.url() was removed in Django 4.0: "
                "use django.urls.re_path() (or path())",
                "  notify/legacy_urls.py:2: ugettext_lazy() was removed in Django 4.0: use gettext_lazy()",
                "  notifyproj/settings.py:12: MIDDLEWARE_CLASSES is ignored since Django 2.0: "
                "use MIDDLEWARE (new-style middleware)",
                "  requirements.txt:1: Django>=1.11,<2.0: channels_test needs Django 4.2 or "
                "newer; upgrade Django first",
                "  django-upgrade (pip install django-upgrade; django-upgrade "
                "--target-version 4.2 FILES) rewrites most of these",
            ],
        )

    def test_the_asgi_module_is_reported(self):
        project = ProjectCopy(self, "chat_from")
        _, output = project.run("--check")
        self.assertIn(
            "ASGI modules to rewrite by hand:\n  chatproj/asgi.py:7: Daphne 4 serves an ASGI "
            "application, not a channel layer",
            output,
        )

    def test_unparseable_files_are_left_untouched(self):
        project = ProjectCopy(self, "pinned")
        python2 = project.path / "notify" / "py2_report.py"
        before = python2.read_bytes()
        os.utime(python2, ns=(1_000_000_000, 1_000_000_000))
        project.run()
        self.assertEqual(python2.read_bytes(), before)
        self.assertEqual(python2.stat().st_mtime_ns, 1_000_000_000)

    def test_a_file_is_replaced_whole_and_keeps_its_mode(self):
        project = ProjectCopy(self, "chat_from")
        settings = project.path / "chatproj" / "settings.py"
        settings.chmod(0o640)
        manage = project.path / "manage.py"
        manage.write_text("import channels\n")
        manage.chmod(0o751)
        old_inode = settings.stat().st_ino
        project.run()
        self.assertEqual(stat.S_IMODE(settings.stat().st_mode), 0o640)
        self.assertEqual(stat.S_IMODE(manage.stat().st_mode), 0o751)
        self.assertNotEqual(settings.stat().st_ino, old_inode, "written in place")
        self.assertEqual(manage.read_text(), "import channels_test\n")
        leftovers = [path for path in project.path.rglob("*.tmp")]
        self.assertEqual(leftovers, [])

    def test_a_failed_replace_leaves_the_file_and_no_temporary(self):
        project = ProjectCopy(self, "chat_from")
        settings = project.path / "chatproj" / "settings.py"
        before = settings.read_bytes()
        with mock.patch("os.replace", side_effect=OSError("disk full")):
            with self.assertRaisesMessage(OSError, "disk full"):
                cli.write_atomically(str(settings), b"half")
        self.assertEqual(settings.read_bytes(), before)
        self.assertEqual(
            sorted(p.name for p in settings.parent.iterdir()), ["__init__.py", "asgi.py", "routing.py", "settings.py"]
        )

    def test_virtualenvs_and_tool_directories_are_skipped(self):
        project = ProjectCopy(self, "chat_from")
        for skipped in (".git", "node_modules", "__pycache__", "env", ".venv"):
            directory = project.path / skipped
            directory.mkdir(exist_ok=True)
            (directory / "module.py").write_text("import channels\n")
        (project.path / "env" / "pyvenv.cfg").write_text("home = /usr\n")
        project.run()
        for skipped in (".git", "node_modules", "__pycache__", "env", ".venv"):
            self.assertEqual((project.path / skipped / "module.py").read_text(), "import channels\n", skipped)

    def test_a_missing_path_is_a_usage_error(self):
        with mock.patch("sys.stderr", new_callable=io.StringIO) as stderr:
            status = cli.main(["/nonexistent/project"], out=io.StringIO())
        self.assertEqual(status, 2)
        self.assertIn("No such file or directory: /nonexistent/project", stderr.getvalue())

    def test_without_libcst_the_command_says_how_to_install_it(self):
        project = ProjectCopy(self, "chat_from")
        before = tree(project.path)
        blocker = textwrap.dedent(
            """
            import runpy, sys

            class HideLibCST:
                def find_spec(self, name, path=None, target=None):
                    if name == "libcst" or name.startswith("libcst."):
                        raise ModuleNotFoundError(f"No module named {name!r}", name=name)

            sys.meta_path.insert(0, HideLibCST())
            sys.argv = ["channels_test.migrate", "."]
            runpy.run_module("channels_test.migrate", run_name="__main__", alter_sys=True)
            """
        )
        done = subprocess.run(
            [sys.executable, "-c", blocker],
            cwd=project.path,
            env=child_environment(),
            capture_output=True,
            text=True,
            timeout=SUBPROCESS_TIMEOUT,
        )
        self.assertEqual(done.returncode, 2, done.stderr)
        self.assertIn("needs LibCST", done.stderr)
        self.assertIn("pip install channels_test[migrate]", done.stderr)
        self.assertEqual(tree(project.path), before)


class ImportTests(SimpleTestCase):
    def test_from_imports_take_the_new_package(self):
        self.assertEqual(
            migrate(
                """\
                from channels import Channel, Group  # the basics
                from channels.generic.websockets import (
                    JsonWebsocketConsumer,
                    WebsocketDemultiplexer,
                )
                from channels import *
                """
            ),
            textwrap.dedent(
                """\
                from channels_test import Channel, Group  # the basics
                from channels_test.generic.websockets import (
                    JsonWebsocketConsumer,
                    WebsocketDemultiplexer,
                )
                from channels_test import *
                """
            ),
        )

    def test_the_1_0_tests_package_becomes_test(self):
        self.assertEqual(
            migrate(
                """\
                from channels.tests import ChannelTestCase
                import channels.tests
                case = channels.tests.ChannelTestCase
                """
            ),
            textwrap.dedent(
                """\
                from channels_test.test import ChannelTestCase
                import channels_test.test
                case = channels_test.test.ChannelTestCase
                """
            ),
        )

    def test_aliased_imports_keep_their_alias(self):
        self.assertEqual(
            migrate("import channels as ch\nimport channels.routing as r\nch.Group(r.x)\n"),
            "import channels_test as ch\nimport channels_test.routing as r\nch.Group(r.x)\n",
        )

    def test_import_channels_renames_its_uses_in_every_scope(self):
        self.assertEqual(
            migrate(
                """\
                import channels


                @channels.sessions.channel_session
                def consumer(message):
                    channels.Group("g").send({"text": "x"})


                def helper(channels):
                    return channels.pop()


                class Holder:
                    layer = channels.DEFAULT_CHANNEL_LAYER
                    channels = ["a"]

                    def names(self):
                        return self.channels
                """
            ),
            textwrap.dedent(
                """\
                import channels_test


                @channels_test.sessions.channel_session
                def consumer(message):
                    channels_test.Group("g").send({"text": "x"})


                def helper(channels):
                    return channels.pop()


                class Holder:
                    layer = channels_test.DEFAULT_CHANNEL_LAYER
                    channels = ["a"]

                    def names(self):
                        return self.channels
                """
            ),
        )

    def test_a_name_bound_twice_keeps_the_name_channels(self):
        # ``channels`` may be None or the package here: only the alias keeps that true.
        self.assertEqual(
            migrate(
                """\
                try:
                    import channels
                    import channels.routing
                except ImportError:
                    channels = None
                routes = channels and channels.routing.route
                """
            ),
            textwrap.dedent(
                """\
                try:
                    import channels_test as channels
                    import channels_test.routing, channels_test as channels
                except ImportError:
                    channels = None
                routes = channels and channels.routing.route
                """
            ),
        )

    def test_look_alikes_are_left_alone(self):
        source = textwrap.dedent(
            """\
            import channels_api
            import mychannels
            from channels_api.bindings import ResourceBinding
            from . import channels
            from .channels import layer
            from myproj import channels as local_channels
            # import channels, from channels import Group: a comment stays
            channels_list = ["channels are great", "channels", "channels.layers"]
            mychannels.channels.send()
            """
        )
        self.assertEqual(migrate(source), source)

    def test_a_second_run_is_a_no_op(self):
        sources = [
            "import channels\nchannels.Group('x')\n",
            "try:\n    import channels\nexcept ImportError:\n    channels = None\n",
            "import channels.routing\nchannels.routing.route\n",
            "INSTALLED_APPS = ['channels', 'channels.delay']\n",
            "X = {'BACKEND': 'asgi_ipc.IPCChannelLayer', 'CONFIG': {'message_memory': 1}}\n",
        ]
        for source in sources:
            with self.subTest(source=source):
                once = migrate(source)
                self.assertNotEqual(once, source)
                self.assertEqual(migrate(once), once)


class StringAndSettingTests(SimpleTestCase):
    def test_dotted_paths_into_channels_are_renamed_with_their_quotes(self):
        self.assertEqual(
            migrate(
                """\
                a = "channels.routing.route"
                b = 'channels.apps.ChannelsConfig'
                c = u"channels.tests.ChannelTestCase"
                d = r'channels.Group'
                e = "myproj.routing.channel_routing"
                f = b"channels.routing.route"
                g = "channels.layers.InMemoryChannelLayer"
                """
            ),
            textwrap.dedent(
                """\
                a = "channels_test.routing.route"
                b = 'channels_test.apps.ChannelsConfig'
                c = u"channels_test.test.ChannelTestCase"
                d = r'channels_test.Group'
                e = "myproj.routing.channel_routing"
                f = b"channels.routing.route"
                g = "channels.layers.InMemoryChannelLayer"
                """
            ),
        )

    def test_installed_apps_in_every_form(self):
        self.assertEqual(
            migrate(
                """\
                INSTALLED_APPS = ("channels", "channels.delay", "chat")
                INSTALLED_APPS += ['channels']
                INSTALLED_APPS.insert(0, "channels")
                settings.INSTALLED_APPS.append("channels")
                decorated = override_settings(INSTALLED_APPS=["channels"])
                modified = modify_settings(INSTALLED_APPS={"append": "channels"})
                LOGGER_NAME = "channels"
                """
            ),
            textwrap.dedent(
                """\
                INSTALLED_APPS = ("channels_test", "channels_test.delay", "chat")
                INSTALLED_APPS += ['channels_test']
                INSTALLED_APPS.insert(0, "channels_test")
                settings.INSTALLED_APPS.append("channels_test")
                decorated = override_settings(INSTALLED_APPS=["channels_test"])
                modified = modify_settings(INSTALLED_APPS={"append": "channels_test"})
                LOGGER_NAME = "channels"
                """
            ),
        )

    def test_every_1x_backend_gets_its_new_path(self):
        expected = {
            "asgiref.inmemory.ChannelLayer": "channels_test.layers.inmemory.InMemoryChannelLayer",
            "asgi_redis.RedisChannelLayer": "channels_test.layers.redis.RedisChannelLayer",
            "asgi_redis.RedisSentinelChannelLayer": "channels_test.layers.sentinel.RedisSentinelChannelLayer",
            "asgi_redis.RedisLocalChannelLayer": "channels_test.layers.redis.RedisChannelLayer",
            "asgi_ipc.IPCChannelLayer": "channels_test.layers.sqlite.SQLiteChannelLayer",
        }
        self.assertEqual(BACKENDS, expected)
        for old, new in expected.items():
            with self.subTest(backend=old):
                self.assertEqual(migrate(f'B = "{old}"\n'), f'B = "{new}"\n')

    def test_ignored_options_are_dropped_in_every_layout(self):
        self.assertEqual(
            migrate(
                """\
                LAYERS = {
                    "one": {
                        "BACKEND": "asgi_redis.RedisSentinelChannelLayer",
                        "CONFIG": {
                            "hosts": [("localhost", 26379)],  # the sentinels
                            "stats_prefix": "stats:",  # goes
                        },
                    },
                    "two": {"BACKEND": "asgi_ipc.IPCChannelLayer", "CONFIG": {
                        "message_memory": 1, "prefix": "p", "group_memory": 2}},
                    "three": {"BACKEND": "asgi_redis.RedisLocalChannelLayer",
                              "CONFIG": {"stats_prefix": "s"}},
                    "four": {"BACKEND": "myproj.layers.Layer", "CONFIG": {"stats_prefix": "s"}},
                }
                """
            ),
            textwrap.dedent(
                """\
                LAYERS = {
                    "one": {
                        "BACKEND": "channels_test.layers.sentinel.RedisSentinelChannelLayer",
                        "CONFIG": {
                            "hosts": [("localhost", 26379)],  # the sentinels
                        },
                    },
                    "two": {"BACKEND": "channels_test.layers.sqlite.SQLiteChannelLayer", "CONFIG": {
                        "prefix": "p"}},
                    "three": {"BACKEND": "channels_test.layers.redis.RedisChannelLayer",
                              "CONFIG": {}},
                    "four": {"BACKEND": "myproj.layers.Layer", "CONFIG": {"stats_prefix": "s"}},
                }
                """
            ),
        )

    def test_the_last_option_on_a_line_of_its_own_goes_with_its_line(self):
        self.assertEqual(
            migrate(
                """\
                L = {"BACKEND": "asgi_redis.RedisChannelLayer", "CONFIG": {
                    "prefix": "p",  # keep
                    "stats_prefix": "s"
                }}
                """
            ),
            textwrap.dedent(
                """\
                L = {"BACKEND": "channels_test.layers.redis.RedisChannelLayer", "CONFIG": {
                    "prefix": "p",  # keep
                }}
                """
            ),
        )


class ReportTests(SimpleTestCase):
    def test_missing_apis_are_reported_wherever_they_are_named(self):
        self.assertEqual(
            findings(
                """\
                import channels
                from channels.sessions import channel_session, requeue_messages
                from channels import package_checks
                from channels.asgi import InvalidChannelLayerError
                channels.hacks.monkeypatch_django()
                connect = "channels.routing.connect_consumer"
                from channels.management.commands.runserver import WorkerThread
                from channels.tests import ChannelTestCase
                LAYER = {"BACKEND": "asgi_rabbitmq.RabbitmqChannelLayer"}
                LOGGING = {"loggers": {"django.channels": {"level": "DEBUG"}}}
                """
            ),
            [
                f"module.py:3: {MISSING_APIS['channels.package_checks']}",
                f"module.py:5: {MISSING_APIS['channels.hacks']}",
                f"module.py:7: {MISSING_APIS['channels.management.commands.runserver.WorkerThread']}",
                "module.py:9: the asgi_rabbitmq layer is not carried: use "
                "channels_test.layers.redis.RedisChannelLayer or "
                "channels_test.layers.sqlite.SQLiteChannelLayer",
            ],
        )

    def test_missing_apis_are_still_reported_after_the_rename(self):
        once = migrate("from channels.hacks import monkeypatch_django\n")
        self.assertEqual(once, "from channels_test.hacks import monkeypatch_django\n")
        self.assertEqual(findings(once), [f"module.py:1: {MISSING_APIS['channels.hacks']}"])

    def test_the_missing_table_lists_only_what_channels_test_lacks(self):
        import importlib

        for dotted in MISSING_APIS:
            with self.subTest(api=dotted):
                path = "channels_test" + dotted[len("channels") :]
                module, _, name = path.rpartition(".")
                try:
                    importlib.import_module(path)
                except ImportError:
                    pass
                else:
                    self.fail(f"{path} exists now: drop it from MISSING_APIS")
                self.assertFalse(
                    hasattr(importlib.import_module(module), name),
                    f"{path} exists now: drop it from MISSING_APIS",
                )

    def test_django_upgrade_work_is_reported(self):
        self.assertEqual(
            findings(
                """\
                from django.conf.urls import include, url
                from django.core.urlresolvers import reverse
                from django.utils.encoding import force_text
                from django.utils.translation import ugettext as _
                MIDDLEWARE_CLASSES = []
                TEMPLATE_DIRS = []
                from django.urls import re_path
                """,
                "settings.py",
            ),
            [
                "settings.py:1: django.conf.urls.url() was removed in Django 4.0: use "
                "django.urls.re_path() (or path())",
                "settings.py:2: django.core.urlresolvers was removed in Django 2.0: use django.urls",
                "settings.py:3: force_text() was removed in Django 4.0: use force_str()",
                "settings.py:4: ugettext() was removed in Django 4.0: use gettext()",
                "settings.py:5: MIDDLEWARE_CLASSES is ignored since Django 2.0: use MIDDLEWARE (new-style middleware)",
                "settings.py:6: TEMPLATE_* settings are gone since Django 1.10: use TEMPLATES",
            ],
        )


class PinTests(SimpleTestCase):
    def pins(self, text: str, path: str = "requirements.txt") -> list[str]:
        from channels_test.migrate.pins import requirement_findings

        return [f"{f.path}:{f.line}" for f in requirement_findings(textwrap.dedent(text), path)]

    def test_requirements_files_of_every_kind(self):
        self.assertEqual(
            self.pins(
                """\
                channels<2.0
                daphne>=2
                asgiref>=3.2
                channels_api==0.4
                django-channels-panel
                Django>=4.2
                asgi_rabbitmq
                """
            ),
            ["requirements.txt:1", "requirements.txt:7"],
        )
        self.assertEqual(
            self.pins(
                """\
                [project]
                dependencies = ["channels==1.1.6", "daphne==1.4.2", "django>=5"]
                """,
                "pyproject.toml",
            ),
            ["pyproject.toml:2", "pyproject.toml:2"],
        )
        self.assertEqual(
            self.pins(
                """\
                [options]
                install_requires =
                    asgiref<2
                    channels
                """,
                "setup.cfg",
            ),
            ["setup.cfg:3", "setup.cfg:4"],
        )


class FileHandlingTests(SimpleTestCase):
    def setUp(self):
        self.directory = Path(tempfile.mkdtemp(prefix="migrate-files-"))
        self.addCleanup(shutil.rmtree, self.directory, ignore_errors=True)

    def test_a_symbolic_link_stays_a_link_to_the_rewritten_file(self):
        target = self.directory / "real.py"
        target.write_text("import channels\n")
        link = self.directory / "link.py"
        link.symlink_to("real.py")
        cli.main([str(link)], out=io.StringIO())
        self.assertTrue(link.is_symlink())
        self.assertEqual(target.read_text(), "import channels_test\n")

    def test_line_endings_and_encoding_are_kept(self):
        crlf = self.directory / "crlf.py"
        crlf.write_bytes(b"import channels\r\nx = channels.Group('a')\r\n")
        latin = self.directory / "latin.py"
        latin.write_bytes(b"# -*- coding: latin-1 -*-\nfrom channels import Group\ns = 'caf\xe9'\n")
        cli.main([str(self.directory)], out=io.StringIO())
        self.assertEqual(crlf.read_bytes(), b"import channels_test\r\nx = channels_test.Group('a')\r\n")
        self.assertEqual(
            latin.read_bytes(),
            b"# -*- coding: latin-1 -*-\nfrom channels_test import Group\ns = 'caf\xe9'\n",
        )

    def test_requirements_in_a_requirements_directory_are_read(self):
        (self.directory / "requirements").mkdir()
        (self.directory / "requirements" / "base.txt").write_text("channels==1.1.8\n")
        (self.directory / "notes.txt").write_text("channels==1.1.8\n")
        out = io.StringIO()
        cli.main([str(self.directory)], out=out)
        base = os.path.join(str(self.directory), "requirements", "base.txt")
        self.assertIn(f"  {base}:1: channels==1.1.8: replace it with channels_test\n", out.getvalue())
        self.assertNotIn("notes.txt", out.getvalue())

    def test_a_file_that_fails_to_rewrite_is_reported_and_the_run_goes_on(self):
        (self.directory / "a.py").write_text("import channels\n")
        (self.directory / "b.py").write_text("import channels\n")
        from channels_test.migrate import rewrite  # main() imports it when it runs

        original = rewrite.rewrite_source

        def failing(source, path):
            if path.endswith("a.py"):
                raise RecursionError("maximum recursion depth exceeded")
            return original(source, path)

        out = io.StringIO()
        with mock.patch.object(rewrite, "rewrite_source", failing):
            status = cli.main([str(self.directory)], out=out)
        self.assertEqual(status, 0)
        a_path = os.path.join(str(self.directory), "a.py")
        self.assertIn(
            f"  {a_path}:1: cannot rewrite (RecursionError: maximum recursion depth exceeded); left unchanged\n",
            out.getvalue(),
        )
        self.assertEqual((self.directory / "a.py").read_text(), "import channels\n")
        self.assertEqual((self.directory / "b.py").read_text(), "import channels_test\n")
