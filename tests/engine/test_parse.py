"""Reading container and image fields the way Docker and Podman report them."""

from __future__ import annotations

from typing import Any

import pytest

from pocketdock.engine import parse


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("running", "running"),
        ("exited", "exited"),
        ("created", "created"),
        ("paused", "paused"),
        ("Running", "running"),
        ("configured", "created"),
        ("initialized", "created"),
        ("stopped", "exited"),
    ],
)
def test_podman_state_words_read_as_dockers(word: str, expected: str) -> None:
    assert parse.normalize_state(word) == expected
    assert parse.item_state({"State": word}) == expected
    assert parse.inspect_state({"State": {"Status": word}}) == expected


def test_podman_reports_configured_as_created() -> None:
    assert parse.item_state({"State": "configured", "Status": "Created"}) == "created"


def test_nested_or_missing_state() -> None:
    assert parse.item_state({"State": {"Status": "stopped"}}) == "exited"
    assert parse.item_state({}) == "unknown"
    assert parse.inspect_state({"State": None}) == "unknown"


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ({"Names": ["/box"]}, "box"),
        ({"Names": ["box"]}, "box"),
        ({"Names": None}, ""),
        ({}, ""),
        ({"Names": [7]}, ""),
    ],
)
def test_names_with_or_without_slash(item: dict[str, Any], expected: str) -> None:
    assert parse.item_name(item) == expected


@pytest.mark.parametrize("labels", [None, [], "x"])
def test_podman_null_labels_read_as_empty(labels: Any) -> None:
    assert parse.item_labels({"Labels": labels}) == {}
    assert parse.inspect_labels({"Config": {"Labels": labels}}) == {}
    assert parse.inspect_labels({"Config": None}) == {}


def test_created_is_iso_utc() -> None:
    assert parse.item_created({"Created": 0}) == "1970-01-01T00:00:00Z"
    assert parse.item_created({"Created": "2024-01-02T03:04:05Z"}) == "2024-01-02T03:04:05Z"
    assert parse.item_created({}) == ""


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("docker.io/library/busybox:latest", "busybox:latest"),
        ("docker.io/pocketdock-test/busybox:latest", "pocketdock-test/busybox:latest"),
        ("localhost/pocketdock-test/snap:v1", "pocketdock-test/snap:v1"),
        ("busybox:latest", "busybox:latest"),
        ("quay.io/podman/hello:latest", "quay.io/podman/hello:latest"),
        ("localhost:5000/x:1", "localhost:5000/x:1"),
        ("sha256:" + "a" * 64, "sha256:" + "a" * 64),
    ],
)
def test_podman_image_names_carry_the_implied_registry(ref: str, expected: str) -> None:
    assert parse.short_image_ref(ref) == expected
    assert parse.item_image({"Image": ref}) == expected
    assert parse.inspect_image_ref({"Config": {"Image": ref}}) == expected


def test_missing_image_fields() -> None:
    assert parse.item_image({}) == ""
    assert parse.inspect_image_ref({"Config": None}) == ""


def test_podman_repo_tags_carry_the_implied_registry() -> None:
    image = {"RepoTags": ["localhost/pocketdock-snapshot/p:abc", "docker.io/library/busybox:1"]}
    assert parse.image_tags(image) == ["pocketdock-snapshot/p:abc", "busybox:1"]
    assert parse.image_tags({"RepoTags": None}) == []
    assert parse.image_tags({"RepoTags": ["<none>:<none>"]}) == []
