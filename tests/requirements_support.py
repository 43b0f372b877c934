"""Reading the project's requirement files: pins, `-r` includes and index options, as pip reads them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
READER = REPO / "requirements.txt"
DEVELOPER = REPO / "requirements-dev.txt"
#: The Python the pins need, which CI, Binder and pyproject.toml state.
PYTHON = "3.11"

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$")


@dataclass(frozen=True)
class Pin:
    """One `name==version` line, and the file it is in."""

    name: str
    version: str
    file: Path


def canonical(name: str) -> str:
    """A distribution's name as pip compares it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def lines(path: Path) -> list[str]:
    """The file's lines without comments and blank lines."""
    stripped = (re.sub(r"(^|\s)#.*$", "", line).strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in stripped if line]


def includes(path: Path) -> list[Path]:
    """The files a requirements file includes with `-r`, resolved as pip does (relative to the including file)."""
    found = [re.match(r"^(?:-r|--requirement)[\s=]+(\S+)$", line) for line in lines(path)]
    return [(path.parent / match.group(1)).resolve() for match in found if match]


def pins(path: Path) -> list[Pin]:
    """Every `name==version` of the file and of the files it includes, includes first."""
    found = [pin for included in includes(path) for pin in pins(included)]
    for line in lines(path):
        if line.startswith("-"):
            continue
        match = _PIN.match(line)
        assert match, f"{path.name}: {line!r} is not an exact pin"
        found.append(Pin(canonical(match.group(1)), match.group(2), path))
    return found


def pinned(path: Path) -> dict[str, str]:
    """Name to version of every pin in the file and its includes (a later pin of a name wins)."""
    return {pin.name: pin.version for pin in pins(path)}


def options(path: Path, name: str) -> list[str]:
    """The values of a pip option such as `--extra-index-url` in the file itself."""
    found = [re.match(rf"^{re.escape(name)}[\s=]+(\S+)$", line) for line in lines(path)]
    return [match.group(1) for match in found if match]
