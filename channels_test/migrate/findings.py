"""What the migration found and could not do: one line each, with file and line."""

from __future__ import annotations

import dataclasses

# Kinds of finding, in the order the report lists them, with each section's heading.
SECTIONS = {
    "unparsed": "Files not migrated (fix them, then run again)",
    "api": "Channels 1.x APIs that channels_test does not carry",
    "asgi": "ASGI modules to rewrite by hand",
    "package": "Packages pinned to Channels 1.x (replace them)",
    "django": "Django upgrade work (not done by this command)",
}


@dataclasses.dataclass(frozen=True, order=True)
class Finding:
    """One thing the user must do, at ``path``:``line``."""

    kind: str
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"
