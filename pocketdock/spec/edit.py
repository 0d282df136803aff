"""The one place pocketdock writes to files the user owns.

Edits go through tomlkit, so the user's comments, key order and formatting survive, and
every write is atomic: a temporary file in the same directory, then a rename. Note that
the rename replaces a symlinked pocket-dock.toml with a regular file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import tomlkit
from tomlkit.items import InlineTable, Table


def set_snapshot_image(file: Path, name: str, image: str) -> None:
    """Add or update `[snapshots.NAME] image = "..."` in `file`.

    A snapshot that was a recipe becomes an image snapshot: its `from` and `run` are
    removed, since a snapshot has one or the other.
    """
    document = tomlkit.parse(file.read_text(encoding="utf-8"))
    snapshots = document.get("snapshots")
    if snapshots is None:
        snapshots = tomlkit.table(is_super_table=True)
        document.append("snapshots", snapshots)
    table = snapshots.get(name)
    if table is None:
        snapshots.append(name, _new_table(image, inline=isinstance(snapshots, InlineTable)))
    elif isinstance(table, Table | InlineTable):
        for key in ("from", "run"):
            if key in table:
                del table[key]
        table["image"] = image
    else:
        raise ValueError(f"snapshots.{name} in {file} is not a table")
    write_atomic(file, tomlkit.dumps(document))


def _new_table(image: str, *, inline: bool) -> Table | InlineTable:
    if inline:
        small = tomlkit.inline_table()
        small["image"] = image
        return small
    table = tomlkit.table()
    table["image"] = image
    table.add(tomlkit.nl())  # keeps a blank line before whatever table follows
    return table


def ensure_gitignore_entry(directory: Path, entry: str = ".pocketdock/") -> None:
    """Append `entry` to `directory/.gitignore` unless a line already says it."""
    gitignore = directory / ".gitignore"
    text = gitignore.read_text(encoding="utf-8") if gitignore.exists() else ""
    base = entry.strip().strip("/")
    wanted = {base, f"{base}/", f"/{base}", f"/{base}/"}
    if any(line.strip() in wanted for line in text.splitlines()):
        return
    separator = "" if not text or text.endswith("\n") else "\n"
    write_atomic(gitignore, f"{text}{separator}{entry}\n")


def write_atomic(file: Path, text: str) -> None:
    """Replace `file` with `text` so readers see the old or the new file, never half."""
    handle, temp = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        # mkstemp creates the file private; keep the old file's mode, or the usual 0644.
        os.chmod(temp, file.stat().st_mode & 0o777 if file.exists() else 0o644)
        os.replace(temp, file)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
