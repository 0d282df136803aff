"""The effective project: what pocket-dock.toml declares once defaults are merged.

These frozen dataclasses are the contract between the file loader (which builds them) and
the reconciler (which only reads them). Every path in them is absolute and every size is
in bytes, so nothing downstream needs to know where the file lives or how it spelled
things. They do no validation: the loader checks the file before building them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

SNAPSHOT_PREFIX = "snapshot:"

# Field names that are Python keywords in the file; `to_dict` writes the file's spelling.
_FILE_KEYS = {"from_": "from"}


def _plain(value: Any) -> Any:
    """`value` as JSON-ready data: records as dicts, tuples as lists, paths as text."""
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, Path):
        return str(value)
    if is_dataclass(value) and not isinstance(value, type):
        return _record(value)
    return value


def _record(record: DataclassInstance) -> dict[str, Any]:
    return {_FILE_KEYS.get(f.name, f.name): _plain(getattr(record, f.name)) for f in fields(record)}


def _set(record: object, name: str, value: object) -> None:
    object.__setattr__(record, name, value)  # the records are frozen once built


@dataclass(frozen=True, slots=True, kw_only=True)
class Volume:
    """A bind mount: an absolute host path and where it appears in the sandbox."""

    source: str
    target: str
    read_only: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncRule:
    """A host directory that `pocketdock watch` copies into the running sandbox."""

    source: str
    target: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EffectiveSnapshot:
    """A base snapshot: either a recipe (`from` plus `run`) or an existing local `image`."""

    name: str
    from_: str | None = None
    run: tuple[str, ...] = ()
    image: str | None = None

    def __post_init__(self) -> None:
        _set(self, "run", tuple(self.run))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EffectiveSnapshot:
        """The snapshot `to_dict` described."""
        return cls(name=data["name"], from_=data["from"], run=data["run"], image=data["image"])

    @property
    def is_recipe(self) -> bool:
        return self.image is None

    @property
    def parent_snapshot(self) -> str | None:
        """The snapshot this recipe builds on (`from = "snapshot:x"`), if any."""
        if self.from_ is not None and self.from_.startswith(SNAPSHOT_PREFIX):
            return self.from_[len(SNAPSHOT_PREFIX) :]
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields, with `from_` under its file name `from`."""
        return _record(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class EffectiveSandbox:
    """One declared sandbox with `[defaults]` merged in; exactly one of image/snapshot."""

    name: str
    image: str | None = None
    snapshot: str | None = None
    persist: bool = False
    volumes: tuple[Volume, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    workdir: str | None = None
    command: tuple[str, ...] | None = None
    setup: tuple[str, ...] = ()
    state: Literal["running", "stopped"] = "running"
    cpus: float | None = None
    mem_limit: int | None = None
    labels: dict[str, str] = field(default_factory=dict)
    # Security defaults; see "Security defaults" in docs/reliability.md.
    no_new_privileges: bool = True
    pids_limit: int | None = 1024
    allow_engine_socket: bool = False
    allow_host_root: bool = False
    # Used by `pocketdock watch` only; never part of the container's identity.
    sync: tuple[SyncRule, ...] = ()

    def __post_init__(self) -> None:
        # Lists become tuples and a whole number of cpus a float, so equal settings
        # compare equal and dump to the same JSON however they were passed in.
        _set(self, "volumes", tuple(self.volumes))
        _set(self, "setup", tuple(self.setup))
        _set(self, "sync", tuple(self.sync))
        if self.command is not None:
            _set(self, "command", tuple(self.command))
        if self.cpus is not None:
            _set(self, "cpus", float(self.cpus))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EffectiveSandbox:
        """The sandbox `to_dict` described."""
        return cls(
            **{
                **data,
                "volumes": [Volume(**volume) for volume in data["volumes"]],
                "sync": [SyncRule(**rule) for rule in data["sync"]],
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields: tuples as lists, volumes and sync rules as dicts."""
        return _record(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class ProjectSpec:
    """A whole loaded pocket-dock.toml.

    `project_id` is derived from the file's absolute path, so two checkouts of one repo
    (clones, worktrees) never share sandboxes even when their project names match.
    """

    file: Path
    name: str
    project_id: str
    sandboxes: dict[str, EffectiveSandbox]
    snapshots: dict[str, EffectiveSnapshot]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProjectSpec:
        """The project `to_dict` described; the data is trusted, not validated."""
        return cls(
            file=Path(data["file"]),
            name=data["name"],
            project_id=data["project_id"],
            sandboxes={n: EffectiveSandbox.from_dict(s) for n, s in data["sandboxes"].items()},
            snapshots={n: EffectiveSnapshot.from_dict(s) for n, s in data["snapshots"].items()},
        )

    @property
    def root(self) -> Path:
        return self.file.parent

    def container_name(self, sandbox: str) -> str:
        return f"{self.name}-{sandbox}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields: the file path as text, sandboxes and snapshots as dicts."""
        return _record(self)
