"""Parsing `GET /containers/json` answers and listing what the observer must look up."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pocketdock import labels
from pocketdock.reconcile.hashing import snapshot_tag
from pocketdock.reconcile.observed import (
    ObservedContainer,
    needed_images,
    parse_container_list,
    snapshot_tags,
)

from .builders import IMAGES, image_snapshot, project, recipe, sandbox

FIXTURES = Path(__file__).parent / "fixtures"
PROJECT_ID = "fixture-demo-0001"


def _load(name: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((FIXTURES / name).read_text())
    return data


# Recorded from Docker 20.10 (API 1.41) and Podman's compat API with two sandboxes of
# one project (dev running where the engine could start it) and one foreign container.
@pytest.mark.parametrize(
    ("fixture", "dev_state"),
    [("docker_containers_json.json", "running"), ("podman_compat_containers_json.json", "created")],
)
def test_parse_recorded_container_lists(fixture: str, dev_state: str) -> None:
    parsed = {c.sandbox: c for c in parse_container_list(_load(fixture), PROJECT_ID)}
    assert sorted(parsed) == ["dev", "worker"]
    dev, worker = parsed["dev"], parsed["worker"]
    assert (dev.name, dev.state, dev.persist) == ("fixture-demo-dev", dev_state, True)
    assert (worker.name, worker.state, worker.persist) == ("fixture-demo-worker", "created", False)
    assert len(dev.id) == 64 and dev.created.startswith("2026-")
    assert worker.spec_hash is None and worker.spec_json is None


def test_parse_keeps_only_this_project() -> None:
    items = _load("docker_containers_json.json")
    assert parse_container_list(items, "another-project") == ()


def test_parse_reads_the_reconciler_labels() -> None:
    item = {
        "Id": "abc",
        "Names": ["/demo-dev"],
        "State": "exited",
        "Created": 0,
        "Labels": {
            labels.PROJECT_ID: "p",
            labels.SANDBOX: "dev",
            labels.PERSIST: "true",
            labels.SPEC_HASH: "h",
            labels.SPEC: '{"a":1}',
        },
    }
    assert parse_container_list([item], "p") == (
        ObservedContainer(
            id="abc",
            name="demo-dev",
            sandbox="dev",
            state="exited",
            persist=True,
            spec_hash="h",
            spec_json='{"a":1}',
            created="1970-01-01T00:00:00Z",
        ),
    )


@pytest.mark.parametrize(
    ("item", "expected_name", "expected_sandbox"),
    [
        ({"Names": ["demo-dev"]}, "demo-dev", "dev"),
        ({"Names": ["/peer/alias", "/demo-dev"]}, "demo-dev", "dev"),
        ({"Names": []}, "", "dev"),
        ({}, "", "dev"),
    ],
)
def test_parse_is_lenient_about_names(
    item: dict[str, Any], expected_name: str, expected_sandbox: str
) -> None:
    base = {
        "Id": "x",
        "State": "Running",
        "Labels": {labels.PROJECT_ID: "p", labels.SANDBOX: "dev"},
    }
    (parsed,) = parse_container_list([{**base, **item}], "p")
    assert (parsed.name, parsed.sandbox, parsed.state) == (
        expected_name,
        expected_sandbox,
        "running",
    )


@pytest.mark.parametrize("missing_labels", [{}, {"Labels": None}, {"Labels": {}}])
def test_parse_skips_items_without_labels(missing_labels: dict[str, Any]) -> None:
    item = {"Id": "x", "Names": ["/demo-dev"], "State": "running", **missing_labels}
    assert parse_container_list([item], "p") == ()


def test_parse_keeps_string_timestamps_and_missing_sandbox_label() -> None:
    item = {
        "ID": "x",
        "Names": ["/demo-dev"],
        "State": "running",
        "Created": "2026-03-01T10:00:00.123456789Z",
        "Labels": {labels.PROJECT_ID: "p", labels.SANDBOX: ""},
    }
    (parsed,) = parse_container_list([item], "p")
    assert (parsed.id, parsed.sandbox, parsed.created) == (
        "x",
        None,
        "2026-03-01T10:00:00.123456789Z",
    )
    assert parsed.persist is False and parsed.running and parsed.active


def test_container_state_helpers() -> None:
    def state(value: str) -> ObservedContainer:
        return ObservedContainer("i", "n", "s", value, False, None, None, "")

    assert [s for s in ("running", "restarting", "paused", "exited") if state(s).running] == [
        "running",
        "restarting",
    ]
    assert not state("exited").active and state("paused").active


SPEC = project(
    sandbox("dev"),
    sandbox("db", image="postgres:16"),
    sandbox("tools", snapshot="tools"),
    snapshots=(
        recipe("base", "debian:12", "true"),
        recipe("tools", "snapshot:base", "true"),
        image_snapshot("img", "alpine:3"),
        recipe("onimg", "snapshot:img", "true"),
    ),
)


def test_needed_images() -> None:
    assert needed_images(SPEC) == {"busybox:latest", "postgres:16", "debian:12", "alpine:3"}


def test_snapshot_tags_cover_recipes_only() -> None:
    tags = snapshot_tags(SPEC, IMAGES)
    assert sorted(tags) == ["base", "onimg", "tools"]
    assert tags["tools"] == snapshot_tag(SPEC, "tools", IMAGES)
    assert tags["tools"].startswith("pocketdock-snapshot/demo/tools:")


def test_podman_state_words_map_to_docker_ones() -> None:
    items = [
        {"Id": "a", "Names": ["p-a"], "State": "configured", "Labels": {labels.PROJECT_ID: "pid"}},
        {"Id": "b", "Names": ["p-b"], "State": "stopped", "Labels": {labels.PROJECT_ID: "pid"}},
    ]
    parsed = parse_container_list(items, "pid")
    assert [c.state for c in parsed] == ["created", "exited"]
