"""``python -m channels_test.migrate PATH ...``: the command line of the migration."""

from __future__ import annotations

import argparse
import difflib
import os
import sys
import tempfile
from collections.abc import Iterator
from typing import TextIO

from .findings import SECTIONS, Finding
from .pins import requirement_findings
from .tables import DJANGO_UPGRADE_HINT

SKIPPED_DIRS = frozenset(
    {".git", ".hg", ".svn", "node_modules", "__pycache__", ".tox", ".nox", ".venv", "venv",
     "site-packages", ".mypy_cache", ".pytest_cache"}
)  # fmt: skip
PIN_FILES = frozenset({"setup.py", "setup.cfg", "pyproject.toml"})

NO_LIBCST = (
    "channels_test.migrate needs LibCST to rewrite code without changing its layout, "
    "and it is not installed.\nInstall it with: pip install channels_test[migrate]"
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m channels_test.migrate",
        description=(
            "Rewrite a Channels 1.x project in place for channels_test: imports, dotted "
            "paths, INSTALLED_APPS and CHANNEL_LAYERS. Then list, with file:line, what is "
            "left to do by hand."
        ),
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or directories")
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; list the files that would change and exit 1 if any would",
    )
    parser.add_argument(
        "--diff",
        action="store_true",
        help="write nothing; print the changes as a unified diff",
    )
    return parser


def is_virtualenv(path: str) -> bool:
    return os.path.exists(os.path.join(path, "pyvenv.cfg"))


def is_pin_file(path: str) -> bool:
    """Tell whether ``path`` lists requirements: requirements*.txt, requirements/*.txt,
    setup.py, setup.cfg or pyproject.toml."""
    directory, name = os.path.split(path)
    if name in PIN_FILES:
        return True
    in_requirements = os.path.basename(directory) == "requirements"
    return name.endswith(".txt") and (name.startswith("requirements") or in_requirements)


def project_files(paths: list[str]) -> Iterator[str]:
    """Yield the .py and packaging files under ``paths``, each once, in a stable order."""
    seen = set()
    for top in paths:
        if os.path.isfile(top):
            candidates: Iterator[str] = iter([top])
        else:
            candidates = _walk(top)
        for path in candidates:
            key = os.path.realpath(path)
            if key not in seen:
                seen.add(key)
                yield path


def _walk(top: str) -> Iterator[str]:
    for root, dirs, files in os.walk(top):
        dirs[:] = sorted(
            name for name in dirs if name not in SKIPPED_DIRS and not is_virtualenv(os.path.join(root, name))
        )
        for name in sorted(files):
            if name.endswith(".py") or is_pin_file(os.path.join(root, name)):
                yield os.path.normpath(os.path.join(root, name))


def write_atomically(path: str, content: bytes) -> None:
    """Replace ``path`` by ``content`` in one step, keeping its permission bits.

    A symbolic link stays a link: the file it points to is replaced.
    """
    path = os.path.realpath(path)
    directory = os.path.dirname(path)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".migrate-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, os.stat(path).st_mode & 0o7777)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _diff(path: str, old: bytes, new: bytes) -> str:
    def lines(data: bytes) -> list[str]:
        return data.decode("utf-8", errors="replace").splitlines(keepends=True)

    return "".join(difflib.unified_diff(lines(old), lines(new), fromfile=f"a/{path}", tofile=f"b/{path}"))


def print_report(findings: list[Finding], out: TextIO) -> None:
    """Print the findings under one heading per kind, each as ``file:line: what to do``."""
    for kind, heading in SECTIONS.items():
        found = sorted(finding for finding in findings if finding.kind == kind)
        if not found:
            continue
        print(f"\n{heading}:", file=out)
        for finding in found:
            print(f"  {finding}", file=out)
        if kind == "django":
            print(f"  {DJANGO_UPGRADE_HINT}", file=out)


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    """Run the migration; return 1 if --check finds a file to change, 2 on a usage error."""
    out = out or sys.stdout
    options = _parser().parse_args(argv)
    try:
        from .rewrite import Unparseable, rewrite_source
    except ImportError as error:
        if (error.name or "").split(".")[0] != "libcst":
            raise
        print(NO_LIBCST, file=sys.stderr)
        return 2
    missing = [path for path in options.paths if not os.path.exists(path)]
    if missing:
        print(f"No such file or directory: {', '.join(missing)}", file=sys.stderr)
        return 2

    write = not (options.check or options.diff)
    changed: list[str] = []
    findings: list[Finding] = []
    for path in project_files(options.paths):
        name = os.path.basename(path)
        with open(path, "rb") as stream:
            source = stream.read()
        if is_pin_file(path):
            findings += requirement_findings(source.decode("utf-8", "replace"), path)
        if not name.endswith(".py"):
            continue
        try:
            new, found = rewrite_source(source, path)
        except Unparseable as error:
            findings.append(Finding("unparsed", path, error.line, f"cannot parse: {error.reason}; left unchanged"))
            continue
        except Exception as error:  # one odd file must not stop the run half-way
            message = f"cannot rewrite ({type(error).__name__}: {error}); left unchanged"
            findings.append(Finding("unparsed", path, 1, message))
            continue
        findings += found
        if new == source:
            continue
        changed.append(path)
        if options.diff:
            out.write(_diff(path, source, new))
        if write:
            write_atomically(path, new)

    for path in changed:
        print(f"{'rewrote' if write else 'would rewrite'} {path}", file=out)
    files = f"{len(changed)} file{'' if len(changed) == 1 else 's'}"
    print(f"{files} rewritten." if write else f"{files} would be rewritten.", file=out)
    print_report(findings, out)
    return 1 if options.check and changed else 0
