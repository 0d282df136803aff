"""Canonical settings and hashes that tell whether a sandbox or snapshot changed.

A sandbox's identity is the canonical JSON of its effective settings (everything but
`name`, `state` and `sync`) plus what its image resolves to: the local image id for
`image = ...` and for `image =` snapshots, the snapshot's tag for recipe snapshots. A
recipe snapshot's tag embeds its recipe hash, which covers its base (an image id or the
parent recipe's hash) and its `run` list, so the tag is known before anything is built
and changes exactly when the recipe or something under it changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from pocketdock.spec.effective import EffectiveSandbox, EffectiveSnapshot, ProjectSpec

# Fields that never force a recreate: the name is the key, `state` is converged by
# start/stop, and `sync` is read by `pocketdock watch` only.
_NOT_IDENTITY = frozenset({"name", "state", "sync"})
# What the image resolved to; diff_reasons words these as rebuilds, not field edits.
_RESOLUTION_KEYS = frozenset({"image_id", "snapshot_recipe"})


def canonical_json(value: object) -> str:
    """Dump `value` as compact JSON with sorted keys, so equal data gives equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def snapshot_chain(spec: ProjectSpec, name: str) -> list[EffectiveSnapshot]:
    """The snapshot `name` followed by each snapshot it is built from, root last.

    Raises `ValueError` on an undeclared snapshot or a cycle; the file loader rejects
    both, so reaching either here is a bug in the caller.
    """
    chain: list[EffectiveSnapshot] = []
    current: str | None = name
    while current is not None:
        if current not in spec.snapshots:
            raise ValueError(f"snapshot {current!r} is not declared")
        if any(s.name == current for s in chain):
            raise ValueError(f"snapshot {name!r} builds on itself")
        snapshot = spec.snapshots[current]
        chain.append(snapshot)
        current = snapshot.parent_snapshot if snapshot.is_recipe else None
    return chain


def recipe_json(spec: ProjectSpec, name: str, image_ids: Mapping[str, str | None]) -> str:
    """Canonical JSON of the recipe snapshot `name`: its base and its `run` list.

    A base image missing locally is recorded by reference, so the hash is still
    defined; building from it fails later with `ImageNotFound`.
    """
    snapshot = snapshot_chain(spec, name)[0]
    if not snapshot.is_recipe:
        raise ValueError(f"snapshot {name!r} is an existing image, not a recipe")
    return canonical_json({"base": _recipe_base(spec, snapshot, image_ids), "run": snapshot.run})


def recipe_hash(spec: ProjectSpec, name: str, image_ids: Mapping[str, str | None]) -> str:
    return sha256_hex(recipe_json(spec, name, image_ids))


def _recipe_base(
    spec: ProjectSpec, snapshot: EffectiveSnapshot, image_ids: Mapping[str, str | None]
) -> dict[str, str | None]:
    parent = snapshot.parent_snapshot
    if parent is None:
        if snapshot.from_ is None:
            raise ValueError(f"recipe snapshot {snapshot.name!r} has no `from`")
        return _image_base(snapshot.from_, image_ids)
    parent_spec = spec.snapshots.get(parent)
    if parent_spec is not None and parent_spec.image is not None:
        return _image_base(parent_spec.image, image_ids)
    return {"snapshot_recipe": recipe_hash(spec, parent, image_ids)}


def _image_base(ref: str, image_ids: Mapping[str, str | None]) -> dict[str, str | None]:
    image_id = image_ids.get(ref)
    return {"image_id": image_id} if image_id else {"missing_image": ref}


def snapshot_tag(spec: ProjectSpec, name: str, image_ids: Mapping[str, str | None]) -> str:
    """The tag the recipe snapshot `name` is (or will be) committed under.

    `pocketdock-snapshot/<project>/<name>:<first 12 hex of the recipe hash>`, lowercased
    because image repositories must be.
    """
    digest = recipe_hash(spec, name, image_ids)[:12]
    return f"pocketdock-snapshot/{spec.name}/{name}:{digest}".lower()


def image_identity(
    spec: ProjectSpec, sandbox: EffectiveSandbox, image_ids: Mapping[str, str | None]
) -> dict[str, str | None]:
    """What the sandbox's image resolves to, as it enters the settings JSON."""
    if sandbox.snapshot is None:
        return {"image_id": image_ids.get(sandbox.image or "")}
    snapshot = snapshot_chain(spec, sandbox.snapshot)[0]
    if snapshot.image is not None:
        return {"image_id": image_ids.get(snapshot.image)}
    # The recipe's hash, not its tag: the tag also holds the project's name, and renaming
    # the project changes nothing a container is made of.
    return {"snapshot_recipe": recipe_hash(spec, snapshot.name, image_ids)}


def settings_json(sandbox: EffectiveSandbox, identity: Mapping[str, str | None]) -> str:
    """Canonical JSON of everything that defines the sandbox's container."""
    data = {k: v for k, v in sandbox.to_dict().items() if k not in _NOT_IDENTITY}
    # Mount order makes no difference to a container; the file's order must not either.
    data["volumes"] = sorted(data["volumes"], key=lambda v: (v["target"], v["source"]))
    data.update(identity)
    return canonical_json(data)


def spec_hash(settings: str) -> str:
    """The `pocketdock.spec-hash` label value for a `settings_json` text."""
    return sha256_hex(settings)


def diff_reasons(old_json: str | None, new_json: str) -> list[str]:
    """Human reasons why `old_json` (read from a container) differs from `new_json`.

    Returns an empty list when both describe the same settings, and a single vague
    reason when the old settings were not recorded or cannot be read.
    """
    old = _load_object(old_json)
    new = _load_object(new_json)
    if old is None or new is None:
        return ["settings changed (the container does not record its previous settings)"]
    reasons: list[str] = []
    for key in sorted((old.keys() | new.keys()) - _RESOLUTION_KEYS):
        reasons += _field_reasons(key, old.get(key), new.get(key))
    if not _changed(old, new, "image") and not _changed(old, new, "snapshot"):
        reasons += _resolution_reasons(old, new)
    return reasons


def _load_object(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _changed(old: Mapping[str, Any], new: Mapping[str, Any], key: str) -> bool:
    return bool(old.get(key) != new.get(key))


def _field_reasons(key: str, old: Any, new: Any) -> list[str]:
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        return _mapping_reasons(key, old, new)
    return [f"{key} changed"]


def _mapping_reasons(key: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    reasons = []
    for item in sorted(old.keys() | new.keys()):
        if item not in old:
            reasons.append(f"{key}.{item} added")
        elif item not in new:
            reasons.append(f"{key}.{item} removed")
        elif old[item] != new[item]:
            reasons.append(f"{key}.{item} changed")
    return reasons


def _resolution_reasons(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    source = new.get("image") or new.get("snapshot")
    if _changed(old, new, "snapshot_recipe"):
        return [f"image {source} rebuilt"]
    if not _changed(old, new, "image_id"):
        return []
    if new.get("image"):
        return [f"image {source} now points to a different image"]
    return [f"snapshot {source} now points to a different image"]
