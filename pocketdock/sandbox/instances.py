"""Instance directories: a sandbox's records on the host, next to its project file.

A container that belongs to a project on disk gets `.pocketdock/instances/<name>/` beside
that project's `pocket-dock.toml`, holding `instance.toml` (container id, image, creation
time, persist flag) and `history.jsonl` (one JSON line per `Container.run`). Removing a
container through pocketdock (`destroy_container`, `prune`, `down`) removes its directory.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PROJECT_FILE_NAME = "pocket-dock.toml"
STATE_DIR = ".pocketdock"


def find_project_file(start: Path) -> Path | None:
    """The nearest `pocket-dock.toml` in `start` or a parent directory, like git does."""
    start = start.resolve()
    for directory in (start, *start.parents):
        candidate = directory / PROJECT_FILE_NAME
        if candidate.is_file():
            return candidate
    return None


def instance_dir(project_root: Path, name: str) -> Path:
    return project_root / STATE_DIR / "instances" / name


def is_instance_dir(path: Path) -> bool:
    """True only for paths shaped like ours, so a forged label cannot aim a removal."""
    return (
        path.is_absolute()
        and ".." not in path.parts
        and path.parent.name == "instances"
        and path.parent.parent.name == STATE_DIR
    )


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def write_instance(path: Path, info: dict[str, Any]) -> None:
    import tomlkit

    path.mkdir(parents=True, exist_ok=True)
    # A name of its own per writer: concurrent writers must not rename each other's file.
    tmp = path / f"instance.toml.{os.getpid()}.{threading.get_ident()}.tmp"
    tmp.write_text(tomlkit.dumps(info), encoding="utf-8")
    tmp.replace(path / "instance.toml")


def read_instance(path: Path) -> dict[str, Any]:
    """The instance record, or {} when it is missing or unreadable.

    Reads with the standard library's parser, many times faster than tomlkit's: a no-op
    `up` over 100 sandboxes reads 100 records.
    """
    try:
        return tomllib.loads((path / "instance.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):  # TOMLDecodeError and UnicodeDecodeError are ValueErrors
        return {}


def append_history(path: Path, entry: dict[str, Any]) -> None:
    path.mkdir(parents=True, exist_ok=True)
    with (path / "history.jsonl").open("a", encoding="utf-8") as history:
        history.write(json.dumps(entry, sort_keys=True) + "\n")


def remove_instance(path: Path) -> None:
    if is_instance_dir(path) and path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
