"""Find, read and check pocket-dock.toml, and build the effective `ProjectSpec`.

Every fault is collected and raised at once as a `SpecError` whose problems carry the
line, column and key path of the offending key or value; nothing else escapes
`load_project` or `parse_project`. The checks themselves, with the merging and path
rules, live in `pocketdock.spec.check`.

Identity: `project_id` is the first 16 hex digits of the sha256 of the file's resolved
absolute path. Two checkouts of one repository (clones, worktrees) therefore get different
ids even when their project names match, and the reconciler uses the id to keep their
sandboxes apart.

Cache: `load_project` keeps the last valid project it built in
`.pocketdock/spec-cache.json` next to the file, keyed by the file's bytes, its resolved
path and the loader's code (see `pocketdock.spec.cache`). An unchanged file is then
rebuilt from that JSON without pydantic or tomlkit. Invalid files are never cached, and
a cache that cannot be read or written is ignored. `parse_project` never uses the cache.
"""

from __future__ import annotations

import bisect
import hashlib
import os
import re
import tomllib
from pathlib import Path
from typing import Any

from pocketdock.errors import SpecError, SpecProblem
from pocketdock.spec import cache
from pocketdock.spec.effective import ProjectSpec

FILE_NAME = "pocket-dock.toml"
MAX_FILE_BYTES = 1024 * 1024

KeyPath = tuple[str | int, ...]
Pos = tuple[int, int]

# ---------------------------------------------------------------------------- entry points


def find_project_file(start: Path) -> Path:
    """The nearest pocket-dock.toml in `start` or one of its parents, like git does."""
    start = Path(os.path.abspath(start))
    for directory in (start, *start.parents):
        candidate = directory / FILE_NAME
        if candidate.is_file():
            return candidate
    message = f"no {FILE_NAME} found in {start} or any parent directory; run `pocketdock init`"
    raise SpecError([SpecProblem(start, 0, 0, "", message)])


def load_project(path: Path | None = None) -> ProjectSpec:
    """Load the project file `path` (a file or its directory; None: search from the cwd).

    A file whose exact bytes were loaded before comes from the parse cache.
    """
    file = find_project_file(Path.cwd()) if path is None else _file_in(path)
    raw = _read_bytes(file)
    resolved = Path(os.path.abspath(file)).resolve()
    key = cache.key_of(resolved, raw)
    project = cache.read(resolved.parent, key)
    if project is None:
        project = parse_project(_decode(raw, file), file)
        cache.write(resolved.parent, key, project)
    return project


def parse_project(text: str, file: Path) -> ProjectSpec:
    """Check `text` as the contents of `file` and build the effective project."""
    if len(text) > MAX_FILE_BYTES:
        raise SpecError([_too_big(file)])
    data = _parse_toml(text, file)
    try:
        positions = _scan(text)
    except RecursionError:
        raise SpecError([SpecProblem(file, 1, 1, "", "values are nested too deeply")]) from None
    from pocketdock.spec.check import check_project  # pydantic: only for files not cached

    return check_project(file, data, positions)


# ---------------------------------------------------------------------------- reading


def _file_in(path: Path) -> Path:
    if path.is_dir() and path.name != FILE_NAME:
        return path / FILE_NAME
    return path


def _read_bytes(file: Path) -> bytes:
    try:
        if file.is_dir():
            raise SpecError([SpecProblem(file, 0, 0, "", "is a directory, not a file")])
        if file.exists() and not file.is_file():
            raise SpecError([SpecProblem(file, 0, 0, "", "is not a regular file")])
        with file.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise SpecError([SpecProblem(file, 0, 0, "", f"cannot read: {reason}")]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise SpecError([_too_big(file)])
    return raw


def _decode(raw: bytes, file: Path) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        message = f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})"
        raise SpecError([SpecProblem(file, line, column, "", message)]) from None


def _too_big(file: Path) -> SpecProblem:
    return SpecProblem(file, 0, 0, "", "file is larger than 1 MiB; is it really pocket-dock.toml?")


def _parse_toml(text: str, file: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problem = _syntax_problem(str(exc), text, file)
    except RecursionError:
        problem = SpecProblem(file, 1, 1, "", "values are nested too deeply")
    raise SpecError([problem])


_AT_POSITION = re.compile(r"^(.*) \(at line (\d+), column (\d+)\)$", re.DOTALL)
_AT_END = re.compile(r"^(.*) \(at end of document\)$", re.DOTALL)


def _syntax_problem(message: str, text: str, file: Path) -> SpecProblem:
    """A located problem for a TOML syntax error.

    tomllib decides validity; when it can only say "at end of document" (an unterminated
    string, a duplicate key) tomlkit usually knows the line, so its location is used.
    """
    match = _AT_POSITION.match(message)
    if match:
        line, reason = int(match[2]), match[1]
        better = _tomlkit_location(text)
        if reason == "Cannot overwrite a value" and better is not None and better[0] == line:
            reason = better[2]  # names the key, where tomllib does not
        return _syntax(file, line, int(match[3]), reason)
    match = _AT_END.match(message)
    reason = match[1] if match else message
    better = _tomlkit_location(text)
    if better is not None:
        line, column, reason = better
        return _syntax(file, line, column, reason)
    line = text.count("\n") + 1
    return _syntax(file, line, len(text) - text.rfind("\n"), reason)


def _syntax(file: Path, line: int, column: int, reason: str) -> SpecProblem:
    reason = reason.rstrip(".")
    return SpecProblem(
        file, line, max(column, 1), "", f"invalid TOML: {reason[:1].lower()}{reason[1:]}"
    )


def _tomlkit_location(text: str) -> tuple[int, int, str] | None:
    import tomlkit  # only a broken file needs it
    import tomlkit.exceptions

    try:
        tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        reason = re.sub(r"\s*at line \d+ col \d+$", "", str(exc))
        return exc.line, exc.col + 1, reason
    except Exception:  # tomlkit is only consulted for a location; its own bugs don't matter
        return None
    return None


def project_id(file: Path) -> str:
    """First 16 hex digits of the sha256 of the file's resolved absolute path."""
    resolved = Path(os.path.abspath(file)).resolve()
    return hashlib.sha256(str(resolved).encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------- locating
#
# TOML parsers give data without positions, so this small scanner walks the source and
# records, for every key path, where its key and its value start. It only runs on text
# that tomllib already accepted, so it does not re-check the grammar.

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR_END = frozenset(",]}\n\r#")


class Positions:
    """Key and value positions by key path; the first mention of a path wins."""

    def __init__(self) -> None:
        self.keys: dict[KeyPath, Pos] = {}
        self.values: dict[KeyPath, Pos] = {}

    def find(self, path: KeyPath, *, want_key: bool) -> Pos | None:
        """The position of `path`, or of its nearest recorded ancestor."""
        primary, secondary = (self.keys, self.values) if want_key else (self.values, self.keys)
        for end in range(len(path), 0, -1):
            prefix = path[:end]
            found = primary.get(prefix) or secondary.get(prefix)
            if found is not None:
                return found
        return None


def _scan(text: str) -> Positions:
    """Positions of every key and value in `text`, which must be valid TOML."""
    scanner = _Scanner(text)
    scanner.run()
    return scanner.positions


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.positions = Positions()
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.array_tables: dict[KeyPath, int] = {}

    def pos(self, index: int) -> Pos:
        line = bisect.bisect_right(self.line_starts, index)
        return line, index - self.line_starts[line - 1] + 1

    def peek(self, chars: str) -> bool:
        return self.text.startswith(chars, self.i)

    def skip_blank(self, *, newlines: bool) -> None:
        text = self.text
        while self.i < len(text):
            ch = text[self.i]
            if ch in " \t" or (newlines and ch in "\r\n"):
                self.i += 1
            elif newlines and ch == "#":
                end = text.find("\n", self.i)
                self.i = len(text) if end < 0 else end
            else:
                return

    def run(self) -> None:
        table: KeyPath = ()
        while True:
            self.skip_blank(newlines=True)
            if self.i >= len(self.text):
                return
            if self.peek("["):
                table = self.header()
            else:
                self.key_value(table)

    def header(self) -> KeyPath:
        is_array = self.peek("[[")
        self.i += 2 if is_array else 1
        parts = self.key()
        self.skip_blank(newlines=False)
        self.i += 2 if is_array else 1

        if not is_array:
            return self.record_keys((), parts)
        # The last part of `[[a.b]]` names the array itself, so no index is spliced in.
        *parents, (name, start) = parts
        path: KeyPath = (*self.record_keys((), parents), name)
        index = self.array_tables.get(path, 0)
        self.array_tables[path] = index + 1
        for where in (path, (*path, index)):
            self.positions.keys.setdefault(where, self.pos(start))
            self.positions.values.setdefault(where, self.pos(start))
        return (*path, index)

    def record_keys(self, base: KeyPath, parts: list[tuple[str, int]]) -> KeyPath:
        # A table header may run through an array of tables: `[a.b]` after `[[a]]` means
        # the last element of `a`, so its index is spliced into the path.
        path = base
        for name, start in parts:
            path = (*path, name)
            self.positions.keys.setdefault(path, self.pos(start))
            self.positions.values.setdefault(path, self.pos(start))
            if path in self.array_tables:
                path = (*path, self.array_tables[path] - 1)
        return path

    def key_value(self, base: KeyPath) -> None:
        parts = self.key()
        path = base
        for name, start in parts:
            path = (*path, name)
            self.positions.keys.setdefault(path, self.pos(start))
        self.skip_blank(newlines=False)
        self.i += 1  # the `=`
        self.skip_blank(newlines=False)
        self.value(path)

    def key(self) -> list[tuple[str, int]]:
        parts: list[tuple[str, int]] = []
        while True:
            self.skip_blank(newlines=False)
            start = self.i
            if self.peek('"') or self.peek("'"):
                raw = self.string()
                parts.append((tomllib.loads(f"k = {raw}")["k"], start))
            else:
                match = _BARE_KEY.match(self.text, self.i)
                end = match.end() if match else self.i + 1
                parts.append((self.text[self.i : end], start))
                self.i = end
            self.skip_blank(newlines=False)
            if not self.peek("."):
                return parts
            self.i += 1

    def value(self, path: KeyPath) -> None:
        self.positions.values.setdefault(path, self.pos(self.i))
        if self.peek("{"):
            self.inline_table(path)
        elif self.peek("["):
            self.array(path)
        elif self.peek('"') or self.peek("'"):
            self.string()
        else:
            while self.i < len(self.text) and self.text[self.i] not in _SCALAR_END:
                self.i += 1

    def inline_table(self, path: KeyPath) -> None:
        self.i += 1
        while True:
            self.skip_blank(newlines=True)
            if self.i >= len(self.text) or self.peek("}"):
                self.i += 1
                return
            self.key_value(path)
            self.skip_blank(newlines=True)
            if self.peek(","):
                self.i += 1

    def array(self, path: KeyPath) -> None:
        self.i += 1
        index = 0
        while True:
            self.skip_blank(newlines=True)
            if self.i >= len(self.text) or self.peek("]"):
                self.i += 1
                return
            item = (*path, index)
            self.positions.keys.setdefault(item, self.pos(self.i))
            self.value(item)
            index += 1
            self.skip_blank(newlines=True)
            if self.peek(","):
                self.i += 1

    def string(self) -> str:
        """Consumes one string token and returns its raw source text."""
        start = self.i
        quote = self.text[self.i]
        if self.peek(quote * 3):
            self.i = self._multiline_end(quote * 3)
        elif quote == "'":
            self.i = self._find(quote, self.i + 1) + 1
        else:
            self.i = self._basic_end(self.i + 1)
        return self.text[start : self.i]

    def _find(self, needle: str, start: int) -> int:
        found = self.text.find(needle, start)
        return len(self.text) - 1 if found < 0 else found

    def _basic_end(self, index: int) -> int:
        text = self.text
        while index < len(text) and text[index] != '"':
            index += 2 if text[index] == "\\" else 1
        return index + 1

    def _multiline_end(self, delimiter: str) -> int:
        text = self.text
        index = self.i + 3
        while index < len(text):
            if delimiter == '"""' and text[index] == "\\":
                index += 2
                continue
            if text.startswith(delimiter, index):
                end = index + 3
                # Up to two quotes right before the closing delimiter belong to the content.
                while end < len(text) and end - index < 5 and text[end] == delimiter[0]:
                    end += 1
                return end
            index += 1
        return len(text)
