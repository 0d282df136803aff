"""The effective project: what pocket-dock.toml declares once defaults are merged.

These frozen models are the contract between the file loader (which builds them) and the
reconciler (which only reads them). Every path in them is absolute and every size is in
bytes, so nothing downstream needs to know where the file lives or how it spelled things.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SNAPSHOT_PREFIX = "snapshot:"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Volume(_Frozen):
    """A bind mount: an absolute host path and where it appears in the sandbox."""

    source: str
    target: str
    read_only: bool = False


class SyncRule(_Frozen):
    """A host directory that `pocketdock watch` copies into the running sandbox."""

    source: str
    target: str


class EffectiveSnapshot(_Frozen):
    """A base snapshot: either a recipe (`from` plus `run`) or an existing local `image`."""

    name: str
    from_: str | None = Field(default=None, alias="from")
    run: tuple[str, ...] = ()
    image: str | None = None

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @property
    def is_recipe(self) -> bool:
        return self.image is None

    @property
    def parent_snapshot(self) -> str | None:
        """The snapshot this recipe builds on (`from = "snapshot:x"`), if any."""
        if self.from_ is not None and self.from_.startswith(SNAPSHOT_PREFIX):
            return self.from_[len(SNAPSHOT_PREFIX) :]
        return None


class EffectiveSandbox(_Frozen):
    """One declared sandbox with `[defaults]` merged in; exactly one of image/snapshot."""

    name: str
    image: str | None = None
    snapshot: str | None = None
    persist: bool = False
    volumes: tuple[Volume, ...] = ()
    env: dict[str, str] = Field(default_factory=dict)
    workdir: str | None = None
    command: tuple[str, ...] | None = None
    setup: tuple[str, ...] = ()
    state: Literal["running", "stopped"] = "running"
    cpus: float | None = None
    mem_limit: int | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    # Security defaults; see docs/security.md.
    no_new_privileges: bool = True
    pids_limit: int | None = 1024
    allow_engine_socket: bool = False
    allow_host_root: bool = False
    # Used by `pocketdock watch` only; never part of the container's identity.
    sync: tuple[SyncRule, ...] = ()


class ProjectSpec(_Frozen):
    """A whole loaded pocket-dock.toml.

    `project_id` is derived from the file's absolute path, so two checkouts of one repo
    (clones, worktrees) never share sandboxes even when their project names match.
    """

    file: Path
    name: str
    project_id: str
    sandboxes: dict[str, EffectiveSandbox]
    snapshots: dict[str, EffectiveSnapshot]

    @property
    def root(self) -> Path:
        return self.file.parent

    def container_name(self, sandbox: str) -> str:
        return f"{self.name}-{sandbox}"
