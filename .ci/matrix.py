"""Read the support matrix (.ci/matrix) and check that the project agrees with it.

    python .ci/matrix.py check     # tox.ini, README.rst, docs/installation.rst, pyproject.toml
    python .ci/matrix.py legs      # one line per leg: leg python django suite (what .ci/run reads)

``check`` prints each disagreement, naming the file and what to write there,
and exits 1 if there is any. It needs only the standard library (Python 3.10+).
"""

from __future__ import annotations

import configparser
import itertools
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MATRIX = ROOT / ".ci" / "matrix"
SUITES = ("main", "full", "fast")


@dataclass(frozen=True)
class Leg:
    name: str
    python: str
    django: str
    asgiref: str
    daphne: str
    suite: str

    @property
    def tox_env(self) -> str:
        return f"py{self.python.replace('.', '')}-django{self.django.replace('.', '')}"

    @property
    def django_requirement(self) -> str:
        major, minor = self.django.split(".")
        return f"Django>={major}.{minor},<{major}.{int(minor) + 1}"


def shown(path: Path) -> str:
    """Return ``path`` as the reader knows it: relative to the repository root."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def read_matrix(path: Path = MATRIX) -> list[Leg]:
    """Return the legs of the matrix file, in order; raise ValueError on a malformed row."""
    legs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if len(fields) != 6:
            raise ValueError(
                f"{shown(path)}:{number}: expected 6 fields (leg python django asgiref daphne suite), "
                f"found {len(fields)}: {line!r}"
            )
        leg = Leg(*fields)
        if leg.suite not in SUITES:
            raise ValueError(f"{shown(path)}:{number}: suite {leg.suite!r} is not one of {', '.join(SUITES)}.")
        for field, value in (("python", leg.python), ("django", leg.django)):
            if not re.fullmatch(r"\d+\.\d+", value):
                raise ValueError(f"{shown(path)}:{number}: {field} {value!r} is not MAJOR.MINOR.")
        legs.append(leg)
    names = [leg.name for leg in legs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"{shown(path)}: leg names used twice: {', '.join(duplicates)}.")
    return legs


# --- tox.ini ----------------------------------------------------------------------


def expand_braces(item: str) -> list[str]:
    """Expand tox's ``py313-django{60,61}`` into ``py313-django60``, ``py313-django61``."""
    parts = re.split(r"(\{[^}]*\})", item)
    choices = [part[1:-1].split(",") if part.startswith("{") else [part] for part in parts]
    return ["".join(combination).strip() for combination in itertools.product(*choices)]


def check_tox(legs: list[Leg], path: Path) -> list[str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path, encoding="utf-8")
    problems = []
    envlist = [
        env
        for line in parser.get("tox", "envlist", fallback="").replace(",\n", "\n").splitlines()
        if line.strip()
        for env in expand_braces(line.strip())
    ]
    wanted = [leg.tox_env for leg in legs]
    # The test environments; others (docs, lint) run no leg of their own.
    test_envs = [env for env in envlist if re.fullmatch(r"py\d+-django\d+", env)]
    for env in sorted(set(wanted) - set(test_envs)):
        problems.append(f"{shown(path)}: envlist lacks {env} (a leg of .ci/matrix); add it.")
    for env in sorted(set(test_envs) - set(wanted)):
        problems.append(f"{shown(path)}: envlist has {env}, which no leg of .ci/matrix runs; remove it or add the leg.")
    base_python = parser.get("testenv", "base_python", fallback="")
    for python in sorted({leg.python for leg in legs}):
        factor = "py" + python.replace(".", "")
        if not re.search(rf"^\s*{factor}:.*\bpython{re.escape(python)}\b", base_python, re.MULTILINE):
            problems.append(f"{shown(path)}: [testenv] base_python has no '{factor}: python{python}' line.")
    deps = parser.get("testenv", "deps", fallback="")
    for leg in legs:
        factor = "django" + leg.django.replace(".", "")
        if not re.search(rf"^\s*{factor}:\s*Django>={re.escape(leg.django)},<", deps, re.MULTILINE):
            problems.append(f"{shown(path)}: [testenv] deps has no '{factor}: {leg.django_requirement}' line.")
    return problems


# --- reStructuredText tables ---------------------------------------------------------


def read_simple_table(path: Path, heading: str) -> list[dict[str, str]]:
    """Return the rows of the first simple table under ``heading`` as dicts keyed by column title.

    A line whose first cell is empty continues the row above it.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    try:
        start = next(index for index, line in enumerate(lines) if line.strip() == heading)
    except StopIteration:
        raise ValueError(f"{shown(path)}: no section titled {heading!r}.") from None
    rules = [index for index in range(start, len(lines)) if re.fullmatch(r"=+( +=+)+", lines[index].strip())]
    if len(rules) < 3:
        raise ValueError(f"{shown(path)}: no simple table (three '=====  ===' rules) under {heading!r}.")
    top, below_header, bottom = rules[:3]
    spans = [match.span() for match in re.finditer(r"=+", lines[top])]

    def cells(line: str) -> list[str]:
        ends = [span[1] for span in spans[:-1]] + [len(line)]
        return [line[begin:end].strip() for (begin, _), end in zip(spans, ends, strict=True)]

    titles = [title.lower() for title in cells(lines[top + 1])]
    rows: list[dict[str, str]] = []
    for line in lines[below_header + 1 : bottom]:
        values = cells(line)
        if not values[0] and rows:
            for title, value in zip(titles, values, strict=True):
                if value:
                    rows[-1][title] = f"{rows[-1][title]} {value}".strip()
        elif any(values):
            rows.append(dict(zip(titles, values, strict=True)))
    return rows


def check_table(legs: list[Leg], path: Path, heading: str, *, with_tox_env: bool) -> list[str]:
    try:
        rows = read_simple_table(path, heading)
    except ValueError as error:
        return [str(error)]

    def key(django: str, python: str, asgiref: str, daphne: str, tox_env: str) -> tuple[str, ...]:
        return (django, python, asgiref, daphne) + ((tox_env.strip("`"),) if with_tox_env else ())

    wanted = [key(leg.django, leg.python, leg.asgiref, leg.daphne, leg.tox_env) for leg in legs]
    try:
        found = [
            key(row["django"], row["python"], row["asgiref"], row["daphne"], row.get("tox environment", ""))
            for row in rows
        ]
    except KeyError as error:
        return [f"{shown(path)}: the table under {heading!r} has no column {error.args[0]!r}."]
    columns = "Django, Python, asgiref, daphne" + (", tox environment" if with_tox_env else "")
    problems = []
    for row in wanted:
        if row not in found:
            problems.append(f"{shown(path)}: the table under {heading!r} lacks the row ({', '.join(row)}) [{columns}].")
    for row in found:
        if row not in wanted:
            problems.append(
                f"{shown(path)}: the table under {heading!r} has the row ({', '.join(row)}), which is no leg "
                "of .ci/matrix."
            )
    return problems


# --- pyproject.toml classifiers -----------------------------------------------------------


def check_classifiers(legs: list[Leg], path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    problems = []
    for kind, prefix, wanted in (
        ("Django", "Framework :: Django :: ", {leg.django for leg in legs}),
        ("Python", "Programming Language :: Python :: ", {leg.python for leg in legs}),
    ):
        found = set(re.findall(rf'"{re.escape(prefix)}(\d+\.\d+)"', text))
        for version in sorted(wanted - found):
            problems.append(f'{shown(path)}: classifiers lack "{prefix}{version}".')
        for version in sorted(found - wanted):
            problems.append(f'{shown(path)}: classifier "{prefix}{version}" names a {kind} no leg of .ci/matrix runs.')
    return problems


def problems(root: Path = ROOT) -> list[str]:
    """Return every disagreement between .ci/matrix and the files that repeat it."""
    legs = read_matrix(root / ".ci" / "matrix")
    return [
        *check_tox(legs, root / "tox.ini"),
        *check_table(legs, root / "README.rst", "Supported versions", with_tox_env=False),
        *check_table(legs, root / "docs" / "installation.rst", "Supported versions", with_tox_env=True),
        *check_classifiers(legs, root / "pyproject.toml"),
    ]


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "legs":
        for leg in read_matrix():
            print(leg.name, leg.python, leg.django_requirement, leg.suite)
        return 0
    if command == "check":
        found = problems()
        for problem in found:
            print(f"support matrix: {problem}")
        if found:
            print(f"support matrix: {len(found)} disagreement(s) with .ci/matrix (the one place it is written).")
            return 1
        print(
            f"support matrix: tox.ini, README.rst, docs/installation.rst and pyproject.toml agree with "
            f".ci/matrix ({len(read_matrix())} legs)."
        )
        return 0
    print(f"usage: python {sys.argv[0]} [check|legs]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except ValueError as error:  # a malformed .ci/matrix
        print(f"support matrix: {error}", file=sys.stderr)
        sys.exit(1)
