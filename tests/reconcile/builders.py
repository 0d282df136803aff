"""Small constructors for specs and observed states used by the reconciler tests."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pocketdock.reconcile.hashing import image_identity, settings_json, spec_hash
from pocketdock.reconcile.observed import ObservedContainer, ObservedState, snapshot_tags
from pocketdock.reconcile.plan import PlanOptions, plan, render_plan
from pocketdock.spec.effective import EffectiveSandbox, EffectiveSnapshot, ProjectSpec

IMAGES: dict[str, str | None] = {
    "busybox:latest": "sha256:b0",
    "debian:12": "sha256:d0",
    "alpine:3": "sha256:a0",
}


def sandbox(name: str, **fields: Any) -> EffectiveSandbox:
    if "snapshot" not in fields:
        fields.setdefault("image", "busybox:latest")
    return EffectiveSandbox(name=name, **fields)


def recipe(name: str, base: str, *run: str) -> EffectiveSnapshot:
    return EffectiveSnapshot(name=name, from_=base, run=run)


def image_snapshot(name: str, image: str) -> EffectiveSnapshot:
    return EffectiveSnapshot(name=name, image=image)


def project(
    *sandboxes: EffectiveSandbox, snapshots: tuple[EffectiveSnapshot, ...] = ()
) -> ProjectSpec:
    return ProjectSpec(
        file=Path("/home/u/demo/pocket-dock.toml"),
        name="demo",
        project_id="demo-id",
        sandboxes={s.name: s for s in sandboxes},
        snapshots={s.name: s for s in snapshots},
    )


def current_settings(
    spec: ProjectSpec, name: str, image_ids: Mapping[str, str | None] = IMAGES
) -> str:
    box = spec.sandboxes[name]
    return settings_json(box, image_identity(spec, box, image_ids))


def container(
    spec: ProjectSpec,
    name: str,
    *,
    state: str = "running",
    persist: bool | None = None,
    settings: str | None = None,
    image_ids: Mapping[str, str | None] = IMAGES,
    cid: str | None = None,
    container_name: str | None = None,
    created: str = "2026-01-01T00:00:00Z",
) -> ObservedContainer:
    """A container of declared sandbox `name`, converged unless `settings` says otherwise."""
    text = settings if settings is not None else current_settings(spec, name, image_ids)
    return ObservedContainer(
        id=cid or f"{name}-id",
        name=container_name or spec.container_name(name),
        sandbox=name,
        state=state,
        persist=spec.sandboxes[name].persist if persist is None else persist,
        spec_hash=spec_hash(text),
        spec_json=text,
        created=created,
    )


def orphan(
    sandbox_name: str | None, *, state: str = "running", persist: bool = False
) -> ObservedContainer:
    name = f"demo-{sandbox_name}" if sandbox_name else "demo-unlabelled"
    return ObservedContainer(
        id=f"{name}-id",
        name=name,
        sandbox=sandbox_name,
        state=state,
        persist=persist,
        spec_hash="0" * 64,
        spec_json="{}",
        created="2026-01-01T00:00:00Z",
    )


def observed(
    spec: ProjectSpec,
    *containers: ObservedContainer,
    image_ids: Mapping[str, str | None] = IMAGES,
    built: tuple[str, ...] = (),
    setup_incomplete: frozenset[str] = frozenset(),
) -> ObservedState:
    """An observed state in which the recipe snapshots named in `built` exist."""
    tags = snapshot_tags(spec, image_ids)
    return ObservedState(
        containers=containers,
        image_ids=dict(image_ids),
        snapshot_images={tags[n]: f"sha256:built-{n}" for n in built},
        setup_incomplete=setup_incomplete,
    )


def golden(spec: ProjectSpec, state: ObservedState, **options: Any) -> str:
    return render_plan(plan(spec, state, PlanOptions(**options)))
