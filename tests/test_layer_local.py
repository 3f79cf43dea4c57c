"""ForkSafeLocal: the per-thread, fork-checked holder the SQLite and Redis layers keep connections in."""

from __future__ import annotations

import ast
import itertools
import os
import threading

from django.test import SimpleTestCase

from channels_test.layers._local import ForkSafeLocal


class ForkSafeLocalTests(SimpleTestCase):
    def setUp(self):
        self.counter = itertools.count(1)
        self.inherited: list = []
        self.local = ForkSafeLocal(lambda: next(self.counter), inherited=self.inherited.append)

    def test_each_thread_gets_its_own_value_once(self):
        first = self.local.get()
        self.assertEqual(self.local.get(), first, "made again in the same thread")
        seen = []
        thread = threading.Thread(target=lambda: seen.append(self.local.get()))
        thread.start()
        thread.join(10)
        self.assertEqual(len(seen), 1, "the thread did not finish")
        self.assertNotEqual(seen[0], first)

    def test_forget_drops_the_value_and_peek_does_not_make_one(self):
        self.assertIsNone(self.local.peek())
        value = self.local.get()
        self.assertEqual(self.local.peek(), value)
        self.assertEqual(self.local.forget(), value)
        self.assertIsNone(self.local.peek())
        self.assertNotEqual(self.local.get(), value)

    def test_a_forked_child_makes_its_own_and_hands_over_the_parents(self):
        if not hasattr(os, "fork"):
            self.skipTest("this platform has no os.fork")
        parent_value = self.local.get()
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: report, then leave at once
            try:
                report = (self.local.peek(), self.local.get(), self.inherited)
                os.write(write_end, repr(report).encode())
            finally:
                os._exit(0)
        self.addCleanup(os.close, read_end)
        os.close(write_end)
        try:
            data = os.read(read_end, 1000).decode()
        finally:
            _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0)
        peeked, made, inherited = ast.literal_eval(data)
        self.assertIsNone(peeked, "the child saw its parent's value")
        self.assertNotEqual(made, parent_value)
        self.assertEqual(inherited, [parent_value], "the parent's value was not handed over")
        self.assertEqual(self.local.get(), parent_value, "the parent lost its value")
