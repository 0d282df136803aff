"""Observe: one look at the engine (and the instance records) for one project.

A run costs one label-filtered container list, one image inspect per distinct image the
file names, and one per recipe-snapshot tag. Inspects run concurrently.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from pocketdock import labels as L
from pocketdock.engine.client import EngineClient
from pocketdock.reconcile.observed import (
    ObservedContainer,
    ObservedState,
    needed_images,
    parse_container_list,
    snapshot_tags,
)
from pocketdock.sandbox import instances
from pocketdock.spec.effective import ProjectSpec

SETUP_PENDING = "pending"
SETUP_DONE = "done"


def _image_ids(client: EngineClient, refs: set[str]) -> dict[str, str | None]:
    if len(refs) <= 1:
        return {ref: client.image_id(ref) for ref in refs}
    ordered = sorted(refs)
    with ThreadPoolExecutor(max_workers=min(8, len(ordered))) as pool:
        return dict(zip(ordered, pool.map(client.image_id, ordered), strict=True))


def _setup_incomplete(
    spec: ProjectSpec, containers: tuple[ObservedContainer, ...]
) -> frozenset[str]:
    """Containers whose instance record says their setup commands never finished."""
    pending = set()
    for container in containers:
        record = instances.read_instance(instances.instance_dir(spec.root, container.name))
        if record.get("setup") != SETUP_PENDING:
            continue
        if record.get("container_id") in ("", container.id):
            pending.add(container.id)
    return frozenset(pending)


def observe(client: EngineClient, spec: ProjectSpec) -> ObservedState:
    """The project's containers and the local ids of every image its file refers to."""
    items = client.list_containers(labels={L.PROJECT_ID: spec.project_id})
    containers = parse_container_list(items, spec.project_id)
    image_ids = _image_ids(client, needed_images(spec))
    tags = set(snapshot_tags(spec, image_ids).values())
    return ObservedState(
        containers=containers,
        image_ids=image_ids,
        snapshot_images=_image_ids(client, tags),
        setup_incomplete=_setup_incomplete(spec, containers),
    )
