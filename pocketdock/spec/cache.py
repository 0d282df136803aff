"""The parse cache of `load_project`: the last valid project, as JSON, next to its file.

`.pocketdock/spec-cache.json` holds one entry: a key and the `ProjectSpec.to_dict()` it
belongs to. The key is the sha256 of the pocketdock version, the loader's source files
(their sizes and modification times, so editing the loader in a checkout invalidates it
too), the file's resolved absolute path and its exact bytes. That covers everything
`parse_project` reads: besides the text, only the file's resolved path, which fixes the
host paths and the project id.

The cache is an optimisation only: any failure to read, parse or write it is ignored.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

from pocketdock._version import __version__
from pocketdock.spec.effective import ProjectSpec

CACHE_PATH = Path(".pocketdock", "spec-cache.json")

# The modules whose code decides what a file parses to, relative to this folder.
_SOURCES = (
    "loader.py",
    "check.py",
    "models.py",
    "effective.py",
    "cache.py",
    "../sandbox/security.py",
)


def key_of(resolved: Path, raw: bytes) -> str:
    """The cache key of the bytes `raw` read from the file at `resolved`."""
    digest = hashlib.sha256()
    for part in (__version__.encode(), _code_stamp(), os.fsencode(resolved), raw):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def read(root: Path, key: str) -> ProjectSpec | None:
    """The cached project under `root` if it was stored with `key`, else None."""
    try:
        data: Any = json.loads((root / CACHE_PATH).read_bytes())
        if data["key"] != key:
            return None
        return ProjectSpec.from_dict(data["project"])
    except (OSError, ValueError, LookupError, TypeError, AttributeError):
        return None


def write(root: Path, key: str, project: ProjectSpec) -> None:
    """Store `project` under `root` with `key`, replacing the file in one rename."""
    target = root / CACHE_PATH
    temp = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    text = json.dumps({"key": key, "project": project.to_dict()})
    try:
        target.parent.mkdir(exist_ok=True)
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, target)
    except OSError:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)


def _code_stamp() -> bytes:
    here = Path(__file__).parent
    stamp = []
    for name in _SOURCES:
        try:
            info = os.stat(here / name)
        except OSError:
            stamp.append(f"{name}:-")
        else:
            stamp.append(f"{name}:{info.st_size}:{info.st_mtime_ns}")
    return " ".join(stamp).encode()
