"""Reading the fields pocketdock needs out of the engine's container JSON.

Docker and Podman's compatible API mostly agree on shapes; the differences handled here:
Podman may omit `Labels` or send null, may list names without the leading slash, and
reports the state `configured` for a container created but never started (Docker:
`created`) and `stopped` where Docker says `exited`, and it names images by their full
reference (`docker.io/library/busybox:latest`, `localhost/snap:v1`) where Docker keeps the
short one the user gave (`busybox:latest`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

_STATE_ALIASES = {"configured": "created", "stopped": "exited", "initialized": "created"}


def split_image_ref(ref: str) -> tuple[str, str]:
    """`repo[:tag]` -> (repo, tag), tag defaulting to `latest`; `host:5000/x` has no tag."""
    repo, sep, tag = ref.rpartition(":")
    if not sep or not repo or "/" in tag:
        return ref, "latest"
    return repo, tag


def normalize_state(state: str) -> str:
    state = state.strip().lower()
    return _STATE_ALIASES.get(state, state)


def item_name(item: dict[str, Any]) -> str:
    names = item.get("Names") or []
    name = names[0] if names and isinstance(names[0], str) else ""
    return name.lstrip("/")


def item_labels(item: dict[str, Any]) -> dict[str, str]:
    labels = item.get("Labels")
    if not isinstance(labels, dict):
        return {}
    return {str(k): str(v) for k, v in labels.items()}


def item_state(item: dict[str, Any]) -> str:
    state = item.get("State")
    if isinstance(state, dict):  # some engines nest it like inspect does
        state = state.get("Status")
    return normalize_state(state) if isinstance(state, str) else "unknown"


def item_created(item: dict[str, Any]) -> str:
    """Creation time as ISO 8601 UTC (the list API gives Unix seconds)."""
    created = item.get("Created")
    if isinstance(created, int | float):
        return datetime.fromtimestamp(created, UTC).isoformat().replace("+00:00", "Z")
    return str(created or "")


def inspect_state(info: dict[str, Any]) -> str:
    state = info.get("State")
    status = state.get("Status") if isinstance(state, dict) else None
    return normalize_state(status) if isinstance(status, str) else "unknown"


def inspect_labels(info: dict[str, Any]) -> dict[str, str]:
    config = info.get("Config")
    labels = config.get("Labels") if isinstance(config, dict) else None
    if not isinstance(labels, dict):
        return {}
    return {str(k): str(v) for k, v in labels.items()}


# Registry prefixes Podman adds to short image names; `library/` only follows docker.io.
_IMPLIED_REGISTRIES = ("docker.io/library/", "docker.io/", "localhost/")


def short_image_ref(ref: str) -> str:
    """An image reference as Docker shows it: without the registry Podman fills in."""
    for prefix in _IMPLIED_REGISTRIES:
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref


def item_image(item: dict[str, Any]) -> str:
    image = item.get("Image")
    return short_image_ref(image) if isinstance(image, str) else ""


def inspect_image_ref(info: dict[str, Any]) -> str:
    """The image reference a container was created from, as the user wrote it."""
    config = info.get("Config")
    image = config.get("Image") if isinstance(config, dict) else None
    return short_image_ref(image) if isinstance(image, str) else ""


def image_tags(image: dict[str, Any]) -> list[str]:
    """An image's `RepoTags` as Docker shows them (Podman prefixes `docker.io/` etc.)."""
    tags = image.get("RepoTags")
    if not isinstance(tags, list):
        return []
    return [short_image_ref(t) for t in tags if isinstance(t, str) and t != "<none>:<none>"]
