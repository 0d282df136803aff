"""Find, read and check pocket-dock.toml, and build the effective `ProjectSpec`.

Every fault is collected and raised at once as a `SpecError` whose problems carry the
line, column and key path of the offending key or value; nothing else escapes
`load_project` or `parse_project`.

Merging: `[defaults]` is merged into every sandbox. A sandbox's own keys win, and the
tables `env`, `labels`, `volumes` and `sync` merge by key. `image` and `snapshot` are one
choice: a sandbox that sets either ignores both from `[defaults]`.

Identity: `project_id` is the first 16 hex digits of the sha256 of the file's resolved
absolute path. Two checkouts of one repository (clones, worktrees) therefore get different
ids even when their project names match, and the reconciler uses the id to keep their
sandboxes apart.

Paths: relative host paths in `volumes` and `sync` resolve against the file's directory
and may not climb out of it with `..` (checked on the text, so a symlink inside the
directory can still point elsewhere); absolute host paths are allowed. A key like
`"cache"` is a host directory next to the file, not a named engine volume. `~` is not
expanded and is refused. Mounting the host's `/`, an engine socket, or a directory that
holds one of the standard engine sockets (`/run`, `/var/run`, ...) needs an explicit
`allow_host_root` / `allow_engine_socket`; rootless sockets under `/run/user/` are caught
only when the mounted path itself ends in `docker.sock` or `podman.sock`.
"""

from __future__ import annotations

import bisect
import difflib
import hashlib
import json
import os
import re
import tomllib
from datetime import date, datetime, time
from pathlib import Path, PurePosixPath
from typing import Any

import tomlkit
import tomlkit.exceptions
from pydantic import ValidationError

from pocketdock.errors import SpecError, SpecProblem
from pocketdock.spec.effective import (
    SNAPSHOT_PREFIX,
    EffectiveSandbox,
    EffectiveSnapshot,
    ProjectSpec,
    SyncRule,
    Volume,
)
from pocketdock.spec.models import (
    NAME_PATTERN,
    NAME_RULE,
    ProjectFile,
    SandboxFields,
    SnapshotTable,
    VolumeTable,
    parse_size,
)

FILE_NAME = "pocket-dock.toml"
MAX_FILE_BYTES = 1024 * 1024

KeyPath = tuple[str | int, ...]
Pos = tuple[int, int]

_NAME_RE = re.compile(NAME_PATTERN)
_MERGED_TABLES = ("env", "labels", "volumes", "sync")
_ENGINE_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock", "/run/podman/podman.sock")
_TYPE_NOUNS = {
    "bool_type": "a boolean",
    "string_type": "a string",
    "int_type": "an integer",
    "float_type": "a number",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "list_type": "an array",
}


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
    """Load the project file `path` (a file or its directory; None: search from the cwd)."""
    file = find_project_file(Path.cwd()) if path is None else _file_in(path)
    return parse_project(_read_text(file), file)


def parse_project(text: str, file: Path) -> ProjectSpec:
    """Check `text` as the contents of `file` and build the effective project."""
    if len(text) > MAX_FILE_BYTES:
        raise SpecError([_too_big(file)])
    data = _parse_toml(text, file)
    try:
        positions = _scan(text)
    except RecursionError:
        raise SpecError([SpecProblem(file, 1, 1, "", "values are nested too deeply")]) from None
    checker = _Checker(file, data, positions)
    return checker.run()


# ---------------------------------------------------------------------------- reading


def _file_in(path: Path) -> Path:
    if path.is_dir() and path.name != FILE_NAME:
        return path / FILE_NAME
    return path


def _read_text(file: Path) -> str:
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
    try:
        tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        reason = re.sub(r"\s*at line \d+ col \d+$", "", str(exc))
        return exc.line, exc.col + 1, reason
    except Exception:  # tomlkit is only consulted for a location; its own bugs don't matter
        return None
    return None


# ---------------------------------------------------------------------------- checking


def format_key_path(path: KeyPath) -> str:
    """`sandboxes.dev.volumes."./data"`: dotted, quoting keys that are not bare."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        name = part if re.fullmatch(r"[A-Za-z0-9_-]+", part) else json.dumps(part)
        out += f".{name}" if out else name
    return out


def show(value: Any) -> str:
    """A value as the user wrote it in TOML, for "got ..." in messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, datetime | date | time):
        return f"a date/time ({value.isoformat()})"
    return repr(value)


class _Checker:
    """Collects every problem in one parsed file, then builds the `ProjectSpec`.

    Type errors come from the pydantic models; the cross-key checks below read the raw
    data and skip values of the wrong type, so they still run on a table that also has
    type errors.
    """

    def __init__(self, file: Path, data: dict[str, Any], positions: _Positions) -> None:
        self.file = file
        self.data = data
        self.positions = positions
        self.problems: list[SpecProblem] = []
        self.defaults = _table(data.get("defaults"))
        self.snapshots = _table(data.get("snapshots"))
        self.sandboxes = _table(data.get("sandboxes"))

    def run(self) -> ProjectSpec:
        self.check_types()
        for name, table in self.snapshots.items():
            self.check_snapshot(name, _table(table))
        self.check_cycles()
        self.check_paths(("defaults",), self.defaults)
        self.check_base(("defaults",), self.defaults)
        for name, table in self.sandboxes.items():
            self.check_sandbox(("sandboxes", name), _table(table))
        if self.problems:
            raise SpecError(sorted(self.problems, key=lambda p: (p.line, p.column, p.key_path)))
        return self.build()

    def report(self, path: KeyPath, message: str, *, at_key: bool = False) -> None:
        found = self.positions.find(path, want_key=at_key) or (1, 1)
        problem = SpecProblem(self.file, found[0], found[1], format_key_path(path), message)
        if problem not in self.problems:
            self.problems.append(problem)

    # -- types, via the pydantic models

    def check_types(self) -> None:
        try:
            ProjectFile.model_validate(self.data)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                self.report_pydantic(error)

    def report_pydantic(self, error: Any) -> None:
        path, on_key = _data_path(error["loc"], self.data)
        kind = error["type"]
        if kind == "extra_forbidden":
            self.report(path, _unknown_key(path), at_key=True)
        elif kind == "missing":
            self.report(path[:-1], f"missing required key `{path[-1]}`")
        else:
            self.report(path, _type_message(error, on_key), at_key=on_key)

    # -- snapshots

    def check_snapshot(self, name: str, table: dict[str, Any]) -> None:
        path: KeyPath = ("snapshots", name)
        base, image = table.get("from"), table.get("image")
        if base is None and image is None:
            self.report(path, "needs `from` (a recipe) or `image` (an existing image)", at_key=True)
        if base is not None and image is not None:
            self.report((*path, "image"), "set either `from` or `image`, not both", at_key=True)
        if image is not None and "run" in table:
            message = "`run` needs `from`; an `image` snapshot is used as is"
            self.report((*path, "run"), message, at_key=True)
        parent = _parent_of(table)
        if parent is not None and parent not in self.snapshots:
            self.report((*path, "from"), _unknown_snapshot(parent, list(self.snapshots)))

    def check_cycles(self) -> None:
        parents = {name: _parent_of(_table(table)) for name, table in self.snapshots.items()}
        order = list(self.snapshots)
        done: set[str] = set()
        for start in order:
            walk: list[str] = []
            node: str | None = start
            while node in parents and node not in done and node not in walk:
                walk.append(node)
                node = parents[node]
            done.update(walk)
            if node is None or node not in walk:
                continue
            cycle = walk[walk.index(node) :]
            first = min(cycle, key=order.index)
            cycle = cycle[cycle.index(first) :] + cycle[: cycle.index(first)]
            names = " -> ".join([*cycle, first])
            self.report(("snapshots", first, "from"), f"snapshot cycle: {names}")

    # -- sandboxes

    def check_sandbox(self, path: KeyPath, table: dict[str, Any]) -> None:
        self.check_paths(path, table)
        if "image" in table or "snapshot" in table:
            self.check_base(path, table)
        elif "image" not in self.defaults and "snapshot" not in self.defaults:
            self.report(path, "needs `image` or `snapshot` (here or in [defaults])", at_key=True)
        self.check_mounts(path, _merge(self.defaults, table))

    def check_base(self, path: KeyPath, table: dict[str, Any]) -> None:
        snapshot = table.get("snapshot")
        if "image" in table and snapshot is not None:
            message = "set either `image` or `snapshot`, not both"
            self.report((*path, "snapshot"), message, at_key=True)
        if isinstance(snapshot, str) and _is_name(snapshot) and snapshot not in self.snapshots:
            self.report((*path, "snapshot"), _unknown_snapshot(snapshot, list(self.snapshots)))

    def check_paths(self, path: KeyPath, table: dict[str, Any]) -> None:
        for key in ("volumes", "sync"):
            for host in _table(table.get(key)):
                problem = _host_path_problem(host)
                if problem:
                    self.report((*path, key, host), problem, at_key=True)

    def check_mounts(self, path: KeyPath, merged: dict[str, Any]) -> None:
        own = _table(_get(self.data, path).get("volumes"))
        targets: dict[str, str] = {}
        for host, spec in _table(merged.get("volumes")).items():
            where = (*(path if host in own else ("defaults",)), "volumes", host)
            problem = self.mount_problem(_resolve(self.file, host), merged)
            if problem:
                self.report(where, problem, at_key=True)
            target = _target_of(spec)
            if target is not None and target in targets:
                message = f"{target} is already the target of {json.dumps(targets[target])}"
                self.report(where, message)
            if target is not None:
                targets[target] = host

    def mount_problem(self, source: str, merged: dict[str, Any]) -> str | None:
        if source == "/" and merged.get("allow_host_root") is not True:
            return "mounts the host's `/`; set `allow_host_root = true` to allow it"
        if _exposes_engine(source) and merged.get("allow_engine_socket") is not True:
            return (
                "exposes the engine socket, which gives the sandbox control of the host; "
                "set `allow_engine_socket = true` to allow it"
            )
        return None

    # -- building, once everything checked out

    def build(self) -> ProjectSpec:
        resolved = Path(os.path.abspath(self.file)).resolve()
        project = _table(self.data.get("project"))
        sandboxes = {
            name: _effective(name, _merge(self.defaults, _table(table)), resolved)
            for name, table in self.sandboxes.items()
        }
        return ProjectSpec(
            file=resolved,
            name=project.get("name") or derive_project_name(resolved.parent),
            project_id=project_id(resolved),
            sandboxes=sandboxes,
            snapshots={
                name: _effective_snapshot(name, SnapshotTable.model_validate(table))
                for name, table in self.snapshots.items()
            },
        )


def derive_project_name(directory: Path) -> str:
    """A valid project name from a directory name: `My Repo` becomes `my-repo`."""
    name = re.sub(r"[^a-z0-9_-]+", "-", directory.name.lower()).strip("-_")[:63].rstrip("-_")
    return name if _NAME_RE.match(name) else "project"


def project_id(file: Path) -> str:
    """First 16 hex digits of the sha256 of the file's resolved absolute path."""
    resolved = Path(os.path.abspath(file)).resolve()
    return hashlib.sha256(str(resolved).encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------- helpers


def _table(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _is_name(value: Any) -> bool:
    return isinstance(value, str) and _NAME_RE.match(value) is not None


def _target_of(spec: Any) -> str | None:
    target = spec.get("target") if isinstance(spec, dict) else spec
    return target if isinstance(target, str) else None


def _get(data: Any, path: KeyPath) -> Any:
    for part in path:
        data = data[part]
    return data


def _data_path(loc: tuple[Any, ...], data: Any) -> tuple[KeyPath, bool]:
    """The key path of a pydantic error location, and whether it blames a key.

    Pydantic adds the tag of a tagged union and `[key]` for dict keys to `loc`; those
    parts are not keys of the document and are dropped.
    """
    from pocketdock.spec.models import toml_type

    path: list[str | int] = []
    on_key = False
    current = data
    for part in loc:
        if part == "[key]":
            on_key = True
        elif _has_child(current, part):
            path.append(part)
            current = current[part]
        elif part != toml_type(current):
            path.append(part)
            current = None
    return tuple(path), on_key


def _has_child(container: Any, part: Any) -> bool:
    if isinstance(container, dict):
        return part in container
    return isinstance(container, list) and isinstance(part, int) and 0 <= part < len(container)


def _known_keys(parent: KeyPath) -> list[str]:
    if not parent:
        return list(ProjectFile.model_fields)
    head = parent[0]
    if parent == ("project",):
        return ["name"]
    if parent == ("defaults",) or (head == "sandboxes" and len(parent) == 2):
        return list(SandboxFields.model_fields)
    if head == "snapshots" and len(parent) == 2:
        return ["from", "run", "image"]
    if len(parent) >= 2 and parent[-2] == "volumes":
        return list(VolumeTable.model_fields)
    return []


def _unknown_key(path: KeyPath) -> str:
    name = str(path[-1])
    message = f"unknown key `{name}`"
    close = difflib.get_close_matches(name, _known_keys(path[:-1]), n=1, cutoff=0.6)
    return f"{message}; did you mean `{close[0]}`?" if close else message


def _unknown_snapshot(name: str, known: list[str]) -> str:
    message = f"unknown snapshot {json.dumps(name)}"
    close = difflib.get_close_matches(name.removeprefix(SNAPSHOT_PREFIX), known, n=1, cutoff=0.6)
    return f"{message}; did you mean {json.dumps(close[0])}?" if close else message


def _type_message(error: Any, on_key: bool) -> str:
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    if kind in _TYPE_NOUNS:
        return f"expected {_TYPE_NOUNS[kind]}, got {show(value)}"
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", '"')
        return f"expected {expected}, got {show(value)}"
    if kind == "greater_than":
        return f"must be greater than {show(ctx.get('gt'))}, got {show(value)}"
    if kind in ("string_too_short", "too_short"):
        return "must not be empty"
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == NAME_PATTERN:
        return f"invalid name {show(value)}: {NAME_RULE}"
    if kind in ("command_type", "volume_type", "mem_limit_type", "container_path"):
        return f"{error['msg']}, got {show(value)}"
    message = str(error["msg"]).removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


def _parent_of(table: Any) -> str | None:
    if not isinstance(table, dict):
        return None
    base = table.get("from")
    if isinstance(base, str) and base.startswith(SNAPSHOT_PREFIX):
        return base[len(SNAPSHOT_PREFIX) :]
    return None


def _merge(defaults: dict[str, Any], sandbox: dict[str, Any]) -> dict[str, Any]:
    merged = dict(defaults)
    if "image" in sandbox or "snapshot" in sandbox:
        merged.pop("image", None)
        merged.pop("snapshot", None)
    for key, value in sandbox.items():
        if key in _MERGED_TABLES and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _host_path_problem(host: str) -> str | None:
    if not host:
        return "host path must not be empty"
    if host.startswith("~"):
        return "`~` is not expanded; use an absolute path or one relative to this file"
    if host.startswith("/"):
        return None
    normal = os.path.normpath(host)
    if normal == ".." or normal.startswith("../"):
        return "host path must stay inside the project directory (no `..` out of it)"
    return None


def _resolve(file: Path, host: str) -> str:
    base = Path(os.path.abspath(file)).resolve().parent
    return os.path.normpath(os.path.join(base, host)).replace("//", "/")


def _exposes_engine(source: str) -> bool:
    if source.endswith(("docker.sock", "podman.sock")):
        return True
    # Mounting a directory that holds a standard socket exposes the socket too.
    return (
        any(
            source != "/" and PurePosixPath(source) in PurePosixPath(sock).parents
            for sock in _ENGINE_SOCKETS
        )
        or source in _ENGINE_SOCKETS
    )


def _effective(name: str, merged: dict[str, Any], file: Path) -> EffectiveSandbox:
    fields = SandboxFields.model_validate(merged)
    volumes = tuple(_volume(file, host, spec) for host, spec in (fields.volumes or {}).items())
    command = fields.command
    return EffectiveSandbox(
        name=name,
        image=fields.image,
        snapshot=fields.snapshot,
        persist=fields.persist,
        volumes=volumes,
        env=fields.env or {},
        workdir=fields.workdir,
        command=("sh", "-c", command) if isinstance(command, str) else _tuple(command),
        setup=tuple(fields.setup or ()),
        state=fields.state,
        cpus=fields.cpus,
        mem_limit=_bytes(fields.mem_limit),
        labels=fields.labels or {},
        no_new_privileges=fields.no_new_privileges,
        pids_limit=fields.pids_limit,
        allow_engine_socket=fields.allow_engine_socket,
        allow_host_root=fields.allow_host_root,
        sync=tuple(
            SyncRule(source=_resolve(file, host), target=target)
            for host, target in (fields.sync or {}).items()
        ),
    )


def _tuple(command: list[str] | None) -> tuple[str, ...] | None:
    return None if command is None else tuple(command)


def _bytes(size: str | int | None) -> int | None:
    return parse_size(size) if isinstance(size, str) else size


def _volume(file: Path, host: str, spec: str | VolumeTable) -> Volume:
    source = _resolve(file, host)
    if isinstance(spec, VolumeTable):
        return Volume(source=source, target=spec.target, read_only=spec.read_only)
    return Volume(source=source, target=spec)


def _effective_snapshot(name: str, table: SnapshotTable) -> EffectiveSnapshot:
    fields = {
        "name": name,
        "from": table.from_,
        "run": tuple(table.run or ()),
        "image": table.image,
    }
    return EffectiveSnapshot.model_validate(fields)


# ---------------------------------------------------------------------------- locating
#
# TOML parsers give data without positions, so this small scanner walks the source and
# records, for every key path, where its key and its value start. It only runs on text
# that tomllib already accepted, so it does not re-check the grammar.

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR_END = frozenset(",]}\n\r#")


class _Positions:
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


def _scan(text: str) -> _Positions:
    """Positions of every key and value in `text`, which must be valid TOML."""
    scanner = _Scanner(text)
    scanner.run()
    return scanner.positions


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.positions = _Positions()
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
