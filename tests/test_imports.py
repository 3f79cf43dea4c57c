"""The core modules import in any order, and none of them needs a half-imported other."""

from __future__ import annotations

import ast
import itertools
import os
import subprocess
import sys
import textwrap

from django.test import SimpleTestCase

import channels_test

PACKAGE_DIR = os.path.dirname(channels_test.__file__)
ROOT = os.path.dirname(PACKAGE_DIR)
CORE = ("asgi", "channel", "message")


def module_imports(name: str) -> set[str]:
    """Return the package modules ``channels_test.<name>`` imports, anywhere in it.

    Imports inside functions count too: a module that imports another only
    when called, to dodge a cycle, still knots the two together.
    """
    path = os.path.join(PACKAGE_DIR, *name.split(".")) + ".py"
    if not name or not os.path.exists(path):
        path = os.path.join(PACKAGE_DIR, *name.split("."), "__init__.py")
    with open(path, encoding="utf-8") as source:
        tree = ast.parse(source.read())
    # The package a relative import starts from ("" for channels_test itself).
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.split(".") if package else []
            base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
            target = ".".join([*base, node.module] if node.module else base)
            found.add(target)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("channels_test."):
            found.add(node.module.removeprefix("channels_test."))
    return found


def cycle_from(start: str) -> list[str] | None:
    """Return a chain of package imports leading from ``start`` back to it, or None."""
    path: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> list[str] | None:
        if path and name == start:
            return path + [name]
        if name in done or name in path:
            return None
        path.append(name)
        for target in sorted(module_imports(name)):
            cycle = visit(target)
            if cycle:
                return cycle
        path.pop()
        done.add(name)
        return None

    return visit(start)


# Run in a fresh interpreter: fail if an import of one of the watched modules
# finds it in sys.modules still being executed (a cycle at import time).
CHECK_ORDER = textwrap.dedent("""
    import builtins, importlib, sys
    import django
    from django.conf import settings
    settings.configure()
    django.setup()
    watched = {"channels_test." + name for name in ("asgi", "channel", "message",
                                                    "outbox", "defaults")}
    half = []
    real_import = builtins.__import__

    def checking_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level and globals and globals.get("__package__"):
            base = globals["__package__"].rsplit(".", level - 1)[0] if level > 1 else globals["__package__"]
            target = base + "." + name if name else base
        else:
            target = name
        module = sys.modules.get(target)
        spec = getattr(module, "__spec__", None)
        if target in watched and spec is not None and getattr(spec, "_initializing", False):
            half.append(target + " (from " + globals.get("__name__", "?") + ")")
        return real_import(name, globals, locals, fromlist, level)

    builtins.__import__ = checking_import
    for name in sys.argv[1:]:
        importlib.import_module("channels_test." + name)
    builtins.__import__ = real_import
    print(";".join(half))
""")


class ImportOrderTests(SimpleTestCase):
    def test_core_modules_form_no_import_cycle(self):
        for name in CORE:
            with self.subTest(module=name):
                self.assertIsNone(cycle_from(name), f"channels_test.{name} imports in a cycle")

    def test_package_init_needs_no_import_order(self):
        self.assertIsNone(cycle_from(""), "channels_test imports in a cycle")
        with open(os.path.join(PACKAGE_DIR, "__init__.py"), encoding="utf-8") as source:
            self.assertNotIn("E402", source.read())

    def test_the_walk_finds_a_cycle(self):
        # The check itself: the 1.x layout (channel imports message, message imports channel).
        original = module_imports

        def knotted(name: str) -> set[str]:
            extra = {"channel": {"message"}, "message": {"channel"}}.get(name, set())
            return original(name) | extra

        globals()["module_imports"] = knotted
        try:
            self.assertEqual(cycle_from("channel"), ["channel", "message", "channel"])
        finally:
            globals()["module_imports"] = original

    def test_every_import_order_works_in_a_fresh_process(self):
        environment = {**os.environ, "PYTHONPATH": ROOT}
        environment.pop("DJANGO_SETTINGS_MODULE", None)
        for order in itertools.permutations(CORE):
            with self.subTest(order=order):
                result = subprocess.run(
                    [sys.executable, "-c", CHECK_ORDER, *order],
                    capture_output=True,
                    text=True,
                    env=environment,
                    cwd=ROOT,
                    timeout=60,
                    check=False,
                )
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertEqual(result.stdout.strip(), "", f"imported while half-initialised: {result.stdout.strip()}")

    def test_old_import_paths_still_work(self):
        from channels_test import DEFAULT_CHANNEL_LAYER
        from channels_test.asgi import channel_layers
        from channels_test.channel import DEFAULT_CHANNEL_LAYER as from_channel
        from channels_test.message import PendingMessageStore, pending_message_store
        from channels_test.outbox import pending_message_store as from_outbox

        self.assertEqual((DEFAULT_CHANNEL_LAYER, from_channel), ("default", "default"))
        self.assertIs(pending_message_store, from_outbox)
        self.assertIsInstance(pending_message_store, PendingMessageStore)
        self.assertIs(channel_layers, channels_test.channel_layers)
