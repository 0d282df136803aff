"""Check a parsed pocket-dock.toml and build the effective `ProjectSpec` from it.

Only `pocketdock.spec.loader` calls this module, and only when a file is not in its parse
cache: it is the part of loading that needs pydantic.

Merging: `[defaults]` is merged into every sandbox. A sandbox's own keys win, and the
tables `env`, `labels`, `volumes` and `sync` merge by key. `image` and `snapshot` are one
choice: a sandbox that sets either ignores both from `[defaults]`.

Paths: relative host paths in `volumes` and `sync` resolve against the file's directory
and may not climb out of it with `..` (checked on the text, so a symlink inside the
directory can still point elsewhere); absolute host paths are allowed. A key like
`"cache"` is a host directory next to the file, not a named engine volume. `~` is not
expanded and is refused. Mounting the host's `/`, an engine socket, or a directory that
holds one of the standard engine sockets (`/run`, `/var/run`, ...) needs an explicit
`allow_host_root` / `allow_engine_socket` (the rule is `pocketdock.sandbox.security`'s).
Here it sees only the text; `create_new_container` applies it again with symlinks
resolved and the socket of the engine in use.

Nothing here reads the filesystem except resolving the file's own path (symlinks
included), so the result depends only on the text and that resolved path.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pocketdock.errors import SpecError, SpecProblem
from pocketdock.sandbox.security import exposes_engine, is_host_root
from pocketdock.spec.effective import (
    SNAPSHOT_PREFIX,
    EffectiveSandbox,
    EffectiveSnapshot,
    ProjectSpec,
    SyncRule,
    Volume,
)
from pocketdock.spec.loader import KeyPath, Positions, project_id
from pocketdock.spec.models import (
    NAME_MAX_LENGTH,
    NAME_PATTERN,
    NAME_RULE,
    ProjectFile,
    SandboxFields,
    SnapshotTable,
    VolumeTable,
    parse_size,
)

_NAME_RE = re.compile(NAME_PATTERN)
_MERGED_TABLES = ("env", "labels", "volumes", "sync")
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


def check_project(file: Path, data: dict[str, Any], positions: Positions) -> ProjectSpec:
    """The effective project of `data`, parsed from `file`; every problem as one `SpecError`."""
    return _Checker(file, data, positions).run()


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

    def __init__(self, file: Path, data: dict[str, Any], positions: Positions) -> None:
        self.file = file
        self.data = data
        self.positions = positions
        self.problems: list[SpecProblem] = []
        self.defaults = _table(data.get("defaults"))
        self.snapshots = _table(data.get("snapshots"))
        self.sandboxes = _table(data.get("sandboxes"))

    def run(self) -> ProjectSpec:
        self.check_types()
        # A snapshot or sandbox that is not a table already has its type error.
        for name, table in self.snapshots.items():
            if isinstance(table, dict):
                self.check_snapshot(name, table)
        self.check_cycles()
        self.check_paths(("defaults",), self.defaults)
        self.check_base(("defaults",), self.defaults)
        for name, table in self.sandboxes.items():
            if isinstance(table, dict):
                self.check_sandbox(("sandboxes", name), table)
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
        own = _table(_table(_get(self.data, path)).get("volumes"))
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
        if is_host_root(source) and merged.get("allow_host_root") is not True:
            return "mounts the host's `/`; set `allow_host_root = true` to allow it"
        if exposes_engine(source) and merged.get("allow_engine_socket") is not True:
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
    name = re.sub(r"[^a-z0-9_-]+", "-", directory.name.lower())
    name = re.sub(r"[-_]*-[-_]*|_{3,}", "-", name)  # runs the name rule does not allow
    name = name.strip("-_")[:NAME_MAX_LENGTH].rstrip("-_")
    return name if _NAME_RE.match(name) else "project"


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
    if kind == "greater_than_equal":
        return f"must be at least {show(ctx.get('ge'))}, got {show(value)}"
    if kind == "finite_number":
        return f"must be a finite number, got {show(value)}"
    if kind in ("string_too_short", "too_short"):
        return "must not be empty"
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == NAME_PATTERN:
        return f"invalid name {show(value)}: {NAME_RULE}"
    if kind == "string_too_long" and ctx.get("max_length") == NAME_MAX_LENGTH:
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
        if key in _MERGED_TABLES and isinstance(merged.get(key), dict) and isinstance(value, dict):
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
    return EffectiveSnapshot(
        name=name, from_=table.from_, run=tuple(table.run or ()), image=table.image
    )
