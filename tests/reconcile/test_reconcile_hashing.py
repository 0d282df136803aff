"""Spec hashes stay put when nothing declared changed and move when something did."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pocketdock.reconcile.hashing import (
    diff_reasons,
    recipe_hash,
    snapshot_chain,
    snapshot_tag,
    spec_hash,
)
from pocketdock.spec.effective import SyncRule, Volume

from .builders import IMAGES, current_settings, image_snapshot, project, recipe, sandbox

SNAPSHOTS = (
    recipe("base", "debian:12", "apt-get update"),
    recipe("tools", "snapshot:base", "apt-get install -y git"),
    image_snapshot("img", "alpine:3"),
    recipe("onimg", "snapshot:img", "apk add git"),
)


def _hash(
    name: str, *boxes: Any, ids: dict[str, str | None] = IMAGES, snapshots: Any = SNAPSHOTS
) -> str:
    return spec_hash(current_settings(project(*boxes, snapshots=snapshots), name, ids))


def test_hash_ignores_dict_order() -> None:
    a = sandbox("dev", env={"A": "1", "B": "2"}, labels={"x": "1", "y": "2"})
    b = sandbox("dev", env={"B": "2", "A": "1"}, labels={"y": "2", "x": "1"})
    assert _hash("dev", a) == _hash("dev", b)


def test_hash_ignores_state_sync_and_other_sandboxes() -> None:
    plain = _hash("dev", sandbox("dev"), sandbox("web"))
    edited = _hash(
        "dev",
        sandbox("dev", state="stopped", sync=(SyncRule(source="/src", target="/app"),)),
        sandbox("web", env={"NEW": "1"}, image="alpine:3"),
        sandbox("extra"),
    )
    assert plain == edited


def test_hash_ignores_the_order_of_volumes() -> None:
    a, b = Volume(source="/h/a", target="/a"), Volume(source="/h/b", target="/b")
    assert _hash("dev", sandbox("dev", volumes=(a, b))) == _hash(
        "dev", sandbox("dev", volumes=(b, a))
    )


def test_hash_ignores_unrelated_image_ids_and_snapshots() -> None:
    box = sandbox("dev", snapshot="tools")
    before = _hash("dev", box)
    assert _hash("dev", box, ids={**IMAGES, "alpine:3": "sha256:other"}) == before
    more = (*SNAPSHOTS, recipe("unused", "debian:12", "true"))
    assert _hash("dev", box, snapshots=more) == before


@pytest.mark.parametrize(
    "change",
    [
        {"env": {"MODE": "b"}},
        {"persist": True},
        {"volumes": (Volume(source="/h", target="/c"),)},
        {"workdir": "/w"},
        {"command": ("sleep", "1")},
        {"setup": ("true",)},
        {"cpus": 2.0},
        {"mem_limit": 1 << 30},
        {"labels": {"team": "x"}},
        {"no_new_privileges": False},
        {"pids_limit": None},
        {"image": "alpine:3"},
        {"image": None, "snapshot": "img"},
    ],
)
def test_hash_changes_with_each_declared_field(change: dict[str, Any]) -> None:
    assert _hash("dev", sandbox("dev", env={"MODE": "a"})) != _hash(
        "dev", sandbox("dev", **{"env": {"MODE": "a"}, **change})
    )


def test_hash_changes_when_the_tag_points_to_another_image() -> None:
    box = sandbox("dev")
    assert _hash("dev", box) != _hash("dev", box, ids={**IMAGES, "busybox:latest": "sha256:b1"})


@pytest.mark.parametrize(
    ("sandbox_snapshot", "new_ids", "new_snapshots"),
    [
        # The recipe's own run list changed.
        ("base", IMAGES, (recipe("base", "debian:12", "apt-get update", "true"), *SNAPSHOTS[1:])),
        # The base image was re-tagged.
        ("base", {**IMAGES, "debian:12": "sha256:d1"}, SNAPSHOTS),
        # A parent recipe changed.
        ("tools", IMAGES, (recipe("base", "debian:13"), *SNAPSHOTS[1:])),
        # The `image =` snapshot a recipe builds on now points elsewhere.
        ("onimg", {**IMAGES, "alpine:3": "sha256:a1"}, SNAPSHOTS),
        # An `image =` snapshot used directly now points elsewhere.
        ("img", {**IMAGES, "alpine:3": "sha256:a1"}, SNAPSHOTS),
    ],
)
def test_hash_changes_with_the_snapshot_underneath(
    sandbox_snapshot: str, new_ids: dict[str, str | None], new_snapshots: Any
) -> None:
    box = sandbox("dev", snapshot=sandbox_snapshot)
    assert _hash("dev", box) != _hash("dev", box, ids=new_ids, snapshots=new_snapshots)


def test_recipe_hash_ignores_base_tag_spelling_but_not_its_id() -> None:
    ids = {**IMAGES, "debian:bookworm": "sha256:d0"}
    a = project(snapshots=(recipe("base", "debian:12", "x"),))
    b = project(snapshots=(recipe("base", "debian:bookworm", "x"),))
    assert recipe_hash(a, "base", ids) == recipe_hash(b, "base", ids)
    assert recipe_hash(a, "base", ids) != recipe_hash(a, "base", {"debian:12": "sha256:d9"})


def test_recipe_hash_with_missing_base_is_defined_and_distinct() -> None:
    spec = project(snapshots=SNAPSHOTS)
    missing = recipe_hash(spec, "base", {})
    assert len(missing) == 64 and missing != recipe_hash(spec, "base", IMAGES)


def test_snapshot_tag_format() -> None:
    spec = project(snapshots=(recipe("Tools", "debian:12", "x"),))
    digest = recipe_hash(spec, "Tools", IMAGES)[:12]
    assert snapshot_tag(spec, "Tools", IMAGES) == f"pocketdock-snapshot/demo/tools:{digest}"


def test_snapshot_chain_rejects_cycles_and_unknown_names() -> None:
    spec = project(snapshots=(recipe("a", "snapshot:b"), recipe("b", "snapshot:a")))
    with pytest.raises(ValueError, match="builds on itself"):
        snapshot_chain(spec, "a")
    with pytest.raises(ValueError, match="not declared"):
        snapshot_chain(project(snapshots=(recipe("a", "snapshot:zz"),)), "a")
    assert [s.name for s in snapshot_chain(project(snapshots=SNAPSHOTS), "onimg")] == [
        "onimg",
        "img",
    ]


def test_recipe_hash_rejects_image_snapshots() -> None:
    with pytest.raises(ValueError, match="not a recipe"):
        recipe_hash(project(snapshots=SNAPSHOTS), "img", IMAGES)


# diff_reasons


def _settings(*boxes: Any, ids: dict[str, str | None] = IMAGES, snapshots: Any = SNAPSHOTS) -> str:
    return current_settings(project(*boxes, snapshots=snapshots), boxes[0].name, ids)


def test_diff_reasons_env() -> None:
    old = _settings(sandbox("dev", env={"MODE": "a", "OLD": "1"}))
    new = _settings(sandbox("dev", env={"MODE": "b", "NEW": "1"}))
    assert diff_reasons(old, new) == ["env.MODE changed", "env.NEW added", "env.OLD removed"]


def test_diff_reasons_plain_fields() -> None:
    old = _settings(sandbox("dev"))
    new = _settings(sandbox("dev", volumes=(Volume(source="/h", target="/c"),), cpus=1.5))
    assert diff_reasons(old, new) == ["cpus changed", "volumes changed"]


def test_diff_reasons_image_now_points_elsewhere() -> None:
    old = _settings(sandbox("dev"))
    new = _settings(sandbox("dev"), ids={**IMAGES, "busybox:latest": "sha256:b1"})
    assert diff_reasons(old, new) == ["image busybox:latest now points to a different image"]


def test_diff_reasons_snapshot_rebuilt() -> None:
    box = sandbox("dev", snapshot="tools")
    old = _settings(box)
    new = _settings(box, ids={**IMAGES, "debian:12": "sha256:d1"})
    assert diff_reasons(old, new) == ["image tools rebuilt"]


def test_diff_reasons_source_switch_is_reported_once() -> None:
    old = _settings(sandbox("dev"))
    new = _settings(sandbox("dev", image=None, snapshot="tools"))
    assert diff_reasons(old, new) == ["image changed", "snapshot changed"]
    assert diff_reasons(old, _settings(sandbox("dev", image="alpine:3"))) == ["image changed"]


def test_diff_reasons_same_and_unknown() -> None:
    text = _settings(sandbox("dev"))
    assert diff_reasons(text, text) == []
    vague = ["settings changed (the container does not record its previous settings)"]
    assert diff_reasons(None, text) == vague
    assert diff_reasons("not json", text) == vague
    assert diff_reasons("[1]", text) == vague


@given(
    env=st.dictionaries(st.sampled_from("ABCDE"), st.sampled_from(["0", "1"]), max_size=5),
    labels=st.dictionaries(st.sampled_from("xyz"), st.sampled_from(["0", "1"]), max_size=3),
    state=st.sampled_from(["running", "stopped"]),
    other_env=st.dictionaries(st.sampled_from("ABC"), st.just("1"), max_size=3),
)
def test_hash_depends_only_on_declared_settings(
    env: dict[str, str], labels: dict[str, str], state: str, other_env: dict[str, str]
) -> None:
    reordered_env = dict(reversed(list(env.items())))
    reordered_labels = dict(reversed(list(labels.items())))
    a = _hash("dev", sandbox("dev", env=env, labels=labels))
    b = _hash(
        "dev",
        sandbox("dev", env=reordered_env, labels=reordered_labels, state=state),
        sandbox("web", env=other_env),
    )
    assert a == b
    if env:
        changed = {**env, next(iter(env)): "2"}
        assert _hash("dev", sandbox("dev", env=changed, labels=labels)) != a
