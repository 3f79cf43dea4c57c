"""Find requirements on Channels 1.x and its companions in packaging files.

Works line by line on requirements*.txt, setup.py, setup.cfg and pyproject.toml:
a requirement is a package name followed by an optional version specifier, wherever
it stands (a line of its own, a quoted string in a list, an ``install_requires`` line).
"""

from __future__ import annotations

import re

from .findings import Finding

_REQUIREMENT = re.compile(
    r"""(?:^|(?<=[\s"'\[,=]))"""  # starts a line, a string or a list item
    r"(?P<name>channels|asgi[-_]redis|asgi[-_]ipc|asgi[-_]rabbitmq|daphne|asgiref|django)"
    r"(?P<extras>\[[^\]]*\])?"
    r"""(?P<spec>\s*(?:[<>=!~]=?=?\s*[\w.*]+\s*,?\s*)*)"""
    r"""(?=$|[\s"';#\],])""",  # and ends it
    re.IGNORECASE,
)

_ADVICE = {
    "asgi_redis": "is a Channels 1.x layer: remove it; channels_test's Redis layer needs channels_test[redis]",
    "asgi_ipc": "is a Channels 1.x layer: remove it; channels_test's SQLite layer needs nothing more",
    "asgi_rabbitmq": "is a Channels 1.x layer that channels_test does not carry: remove it "
    "and pick the Redis or SQLite layer",
}


def _only_below(spec: str, limit: tuple[int, int]) -> bool:
    """Tell whether the specifier ``spec`` allows only versions below ``limit``."""
    for operator, version in re.findall(r"([<>=!~]=?=?)\s*([\w.*]+)", spec):
        numbers = tuple(int(part) for part in re.findall(r"\d+", version)[:2])
        numbers = (numbers + (0, 0))[:2]
        if operator in ("==", "===", "~=", "<=") and numbers < limit:
            return True
        if operator == "<" and numbers <= limit:
            return True
    return False


def requirement_findings(text: str, path: str) -> list[Finding]:
    """Return a finding for each requirement in ``text`` that ties a project to Channels 1.x."""
    findings = []
    for number, line in enumerate(text.splitlines(), start=1):
        code = line.split("#", 1)[0]
        for match in _REQUIREMENT.finditer(code):
            name = match.group("name").lower().replace("-", "_")
            spec = match.group("spec").strip()
            shown = f"{match.group('name')}{match.group('extras') or ''}{spec}".strip()
            if name in _ADVICE:
                message = f"{shown} {_ADVICE[name]}"
            elif name == "channels":
                if not spec and not _looks_like_requirement(code, match):
                    continue
                message = f"{shown}: replace it with channels_test"
            elif name == "django":
                if not _only_below(spec, (4, 2)):
                    continue
                findings.append(
                    Finding(
                        "django",
                        path,
                        number,
                        f"{shown}: channels_test needs Django 4.2 or newer; upgrade Django first",
                    )
                )
                continue
            elif spec and _only_below(spec, (2, 0)):
                message = (
                    f"{shown} is the Channels 1.x version: remove the pin; channels_test "
                    f"installs {'daphne>=4' if name == 'daphne' else 'asgiref>=3'}"
                )
            else:
                continue
            findings.append(Finding("package", path, number, message))
    return findings


def _looks_like_requirement(code: str, match: re.Match) -> bool:
    """Tell whether a bare ``channels`` stands alone as an item, not as a word of prose."""
    before = code[: match.start()].rstrip()
    after = code[match.end() :].lstrip()
    return (before == "" or before[-1] in "\"'[,=") and (after == "" or after[0] in "\"';],")
