"""The pure planner on a large simulated project: no engine, no files."""

from __future__ import annotations

import statistics
import time
import tracemalloc
from pathlib import Path
from typing import Any

from pocketdock.reconcile.observed import ObservedContainer, ObservedState
from pocketdock.reconcile.plan import ActionKind, PlanOptions, plan
from pocketdock.spec.effective import EffectiveSandbox, ProjectSpec

IMAGE = "busybox:latest"
IMAGE_ID = "sha256:" + "b0" * 32


def simulated(count: int) -> tuple[ProjectSpec, ObservedState]:
    """A spec of `count` sandboxes and an engine state in which all are converged."""
    sandboxes = {
        f"s{i:05d}": EffectiveSandbox(name=f"s{i:05d}", image=IMAGE, env={"ID": str(i)})
        for i in range(count)
    }
    spec = ProjectSpec(
        file=Path("/srv/bench/pocket-dock.toml"),
        name="bench",
        project_id="bench-id",
        sandboxes=sandboxes,
        snapshots={},
    )
    images: dict[str, str | None] = {IMAGE: IMAGE_ID}
    # The planner's own create actions carry the labels a converged container would have.
    creates = plan(spec, ObservedState(image_ids=images), PlanOptions(command="up"))
    containers = tuple(
        ObservedContainer(
            id=f"{action.sandbox}-id",
            name=action.container_name or "",
            sandbox=action.sandbox,
            state="running",
            persist=False,
            spec_hash=action.spec_hash,
            spec_json=action.spec_json,
            created="2026-01-01T00:00:00Z",
        )
        for action in creates
    )
    return spec, ObservedState(containers=containers, image_ids=images)


def measure(count: int, repetitions: int) -> dict[str, Any]:
    """Median time of a no-op plan and of a plan from nothing, and the no-op's peak memory."""
    spec, converged = simulated(count)
    empty = ObservedState(image_ids=converged.image_ids)
    options = PlanOptions(command="sync")
    noop, create = [], []
    for _ in range(repetitions):
        started = time.perf_counter()
        actions = plan(spec, converged, options)
        noop.append(time.perf_counter() - started)
        started = time.perf_counter()
        plan(spec, empty, options)
        create.append(time.perf_counter() - started)
    if any(action.kind is not ActionKind.NOOP for action in actions):
        raise RuntimeError("the simulated converged state did not plan as all no-ops")

    tracemalloc.start()
    plan(spec, converged, options)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "sandboxes": count,
        "noop_seconds": noop,
        "create_seconds": create,
        "noop_peak_bytes": peak,
        "noop_median": statistics.median(noop),
    }
