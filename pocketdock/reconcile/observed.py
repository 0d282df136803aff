"""What the engine holds for one project, as plain data the planner can read.

The observer (which talks to the engine) fills these in; everything here is pure: the
types, the parsing of `GET /containers/json` items, and the lists of images and snapshot
tags the observer has to look up before planning.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pocketdock import labels
from pocketdock.engine.parse import item_state
from pocketdock.reconcile.hashing import snapshot_tag
from pocketdock.spec.effective import ProjectSpec

# Engine states in which the main process is alive (`restarting` is about to be).
RUNNING_STATES = frozenset({"running", "restarting"})
# States that a stop would change; a paused container still holds its processes.
ACTIVE_STATES = RUNNING_STATES | {"paused"}
# States from which the engine cannot start the container again.
BROKEN_STATES = frozenset({"dead", "removing"})


@dataclass(frozen=True)
class ObservedContainer:
    """One container carrying this project's identity label."""

    id: str
    name: str  # without the leading slash
    sandbox: str | None  # from pocketdock.sandbox; None when the label is missing
    state: str  # as the engine says: running, exited, created, paused, ...
    persist: bool  # pocketdock.persist == "true"
    spec_hash: str | None  # pocketdock.spec-hash
    spec_json: str | None  # pocketdock.spec, the settings the hash was computed from
    created: str  # ISO 8601 UTC when the engine gave epoch seconds, else verbatim

    @property
    def running(self) -> bool:
        return self.state in RUNNING_STATES

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES


@dataclass(frozen=True)
class ObservedState:
    """One snapshot of a project's containers and the images its spec refers to.

    A reference absent from `image_ids` or `snapshot_images` counts as missing.
    """

    containers: tuple[ObservedContainer, ...] = ()
    image_ids: Mapping[str, str | None] = field(default_factory=dict)  # ref -> image id
    snapshot_images: Mapping[str, str | None] = field(default_factory=dict)  # tag -> id
    setup_incomplete: frozenset[str] = frozenset()  # container ids whose setup never ended


def parse_container_list(
    items: list[dict[str, Any]], project_id: str
) -> tuple[ObservedContainer, ...]:
    """Parse `GET /containers/json` items, keeping only the project `project_id`'s.

    Accepts Docker's shape and Podman's compat shape: names with or without the leading
    slash, `Labels` missing or null, `Created` as epoch seconds or as a string, and
    Podman's state words (`configured`, `stopped`) mapped onto Docker's.
    """
    parsed = []
    for item in items:
        item_labels = item.get("Labels") or {}
        if item_labels.get(labels.PROJECT_ID) == project_id:
            parsed.append(_parse_item(item, item_labels))
    return tuple(parsed)


def _parse_item(item: Mapping[str, Any], item_labels: Mapping[str, str]) -> ObservedContainer:
    return ObservedContainer(
        id=str(item.get("Id") or item.get("ID") or ""),
        name=_container_name(item.get("Names") or []),
        sandbox=item_labels.get(labels.SANDBOX) or None,
        state=item_state(dict(item)),
        persist=item_labels.get(labels.PERSIST) == "true",
        spec_hash=item_labels.get(labels.SPEC_HASH) or None,
        spec_json=item_labels.get(labels.SPEC) or None,
        created=_created(item.get("Created")),
    )


def _container_name(names: Iterable[str]) -> str:
    # Docker also lists legacy link aliases as "/other/alias"; the real name has no
    # slash once the leading one is gone.
    stripped = [n.removeprefix("/") for n in names]
    own = [n for n in stripped if "/" not in n]
    return (own or stripped or [""])[0]


def _created(value: object) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return "" if value is None else str(value)


def needed_images(spec: ProjectSpec) -> set[str]:
    """Every image reference the spec names: sandbox images, snapshot images and bases."""
    refs = {s.image for s in spec.sandboxes.values() if s.image is not None}
    for snapshot in spec.snapshots.values():
        if snapshot.image is not None:
            refs.add(snapshot.image)
        elif snapshot.from_ is not None and snapshot.parent_snapshot is None:
            refs.add(snapshot.from_)
    return refs


def snapshot_tags(spec: ProjectSpec, image_ids: Mapping[str, str | None]) -> dict[str, str]:
    """The tag of every recipe snapshot, given the ids of `needed_images(spec)`."""
    return {
        name: snapshot_tag(spec, name, image_ids)
        for name, snapshot in spec.snapshots.items()
        if snapshot.is_recipe
    }
