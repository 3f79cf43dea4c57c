"""The support matrix is written once (.ci/matrix); tox.ini, the README, the
installation page and the package classifiers say the same."""

import importlib.util
import shutil
import sys
import tempfile
from pathlib import Path

from django.test import SimpleTestCase

ROOT = Path(__file__).resolve().parent.parent


def load_checker():
    """Import .ci/matrix.py (a script, not a package module) as ``ci_matrix``."""
    if "ci_matrix" not in sys.modules:
        spec = importlib.util.spec_from_file_location("ci_matrix", ROOT / ".ci" / "matrix.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["ci_matrix"] = module  # its dataclass looks itself up there
        spec.loader.exec_module(module)
    return sys.modules["ci_matrix"]


class SupportMatrixTests(SimpleTestCase):
    def setUp(self):
        self.checker = load_checker()

    def copy_of_the_project(self) -> Path:
        directory = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, directory)
        for name in (".ci/matrix", "tox.ini", "README.rst", "docs/installation.rst", "pyproject.toml"):
            (directory / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / name, directory / name)
        return directory

    def test_every_copy_agrees_with_the_matrix(self):
        self.assertEqual(self.checker.problems(ROOT), [])

    def test_the_matrix_has_a_python_312_leg(self):
        legs = self.checker.read_matrix(ROOT / ".ci" / "matrix")
        self.assertIn(("3.12", "5.2", "fast"), [(leg.python, leg.django, leg.suite) for leg in legs])

    def test_a_leg_added_to_the_matrix_alone_is_reported_everywhere(self):
        copy = self.copy_of_the_project()
        with open(copy / ".ci" / "matrix", "a", encoding="utf-8") as matrix:
            matrix.write("py314 3.14 6.1 3.9.1+ 4.1+ fast\n")
        found = self.checker.problems(copy)
        self.assertEqual(
            [problem.split(":")[0].removeprefix(f"{copy}/") for problem in found],
            ["tox.ini", "tox.ini", "README.rst", "docs/installation.rst", "pyproject.toml"],
            found,
        )
        self.assertIn("envlist lacks py314-django61", found[0])

    def test_a_table_row_no_leg_runs_is_reported(self):
        copy = self.copy_of_the_project()
        readme = copy / "README.rst"
        readme.write_text(readme.read_text(encoding="utf-8").replace("6.0     3.13", "6.0     3.12"), encoding="utf-8")
        found = self.checker.problems(copy)
        self.assertEqual(len(found), 2, found)
        self.assertIn("lacks the row (6.0, 3.13, 3.9.1+, 4.1+)", found[0])
        self.assertIn("has the row (6.0, 3.12, 3.9.1+, 4.1+), which is no leg", found[1])
