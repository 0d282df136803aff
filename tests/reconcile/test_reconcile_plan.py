"""Golden-text tests of the planner, one per cell of the semantics table and rule."""

from __future__ import annotations

from dataclasses import replace

from pocketdock.reconcile.observed import ObservedState, snapshot_tags
from pocketdock.reconcile.plan import Action, ActionKind, PlanOptions, plan, render_plan

from .builders import (
    IMAGES,
    container,
    current_settings,
    golden,
    image_snapshot,
    observed,
    orphan,
    project,
    recipe,
    sandbox,
)

SPEC = project(
    sandbox("dev", persist=True, env={"MODE": "a"}),
    sandbox("web", env={"MODE": "a"}),
)
OLD_SPEC = project(
    sandbox("dev", persist=True, env={"MODE": "old", "GONE": "1"}),
    sandbox("web", env={"MODE": "old"}),
)


# up


def test_reconcile_missing() -> None:
    assert golden(SPEC, observed(SPEC)) == (
        "create    sandbox:dev  container missing\ncreate    sandbox:web  container missing\n"
    )


def test_reconcile_missing_declared_stopped_is_created_not_started() -> None:
    spec = project(sandbox("dev", state="stopped"))
    assert golden(spec, observed(spec)) == "create    sandbox:dev  container missing  [no start]\n"


def test_reconcile_same_hash_running() -> None:
    state = observed(SPEC, container(SPEC, "dev"), container(SPEC, "web"))
    assert golden(SPEC, state) == (
        "noop      sandbox:dev  up to date\nnoop      sandbox:web  up to date\n"
    )


def test_reconcile_same_hash_stopped_resumes() -> None:
    state = observed(
        SPEC, container(SPEC, "dev", state="exited"), container(SPEC, "web", state="paused")
    )
    assert golden(SPEC, state) == (
        "resume    sandbox:dev  container is exited\nresume    sandbox:web  container is paused\n"
    )


def test_reconcile_held_sandboxes_are_neither_started_nor_created() -> None:
    spec = project(*SPEC.sandboxes.values(), sandbox("new"))
    state = observed(spec, container(spec, "dev", state="exited"), container(spec, "web"))
    assert golden(spec, state, command="sync", hold=frozenset({"dev", "new"})) == (
        "noop      sandbox:dev  container is exited; restart held back\n"
        "noop      sandbox:web  up to date\n"
        "noop      sandbox:new  container missing; restart held back\n"
    )


def test_reconcile_same_hash_created_never_started_resumes() -> None:
    state = observed(SPEC, container(SPEC, "dev", state="created"), container(SPEC, "web"))
    assert golden(SPEC, state).splitlines()[0] == "resume    sandbox:dev  container is created"


def test_reconcile_hash_diverged_ephemeral_recreates() -> None:
    old = current_settings(OLD_SPEC, "web")
    state = observed(SPEC, container(SPEC, "dev"), container(SPEC, "web", settings=old))
    assert golden(SPEC, state) == (
        "noop      sandbox:dev  up to date\nrecreate  sandbox:web  env.MODE changed\n"
    )


def test_reconcile_hash_diverged_persistent_is_blocked() -> None:
    old = current_settings(OLD_SPEC, "dev")
    state = observed(SPEC, container(SPEC, "dev", settings=old), container(SPEC, "web"))
    assert golden(SPEC, state) == (
        "blocked   sandbox:dev  env.GONE removed; env.MODE changed; persistent, kept as is:"
        " run `pocketdock up --recreate dev` to back it up and recreate it\n"
        "noop      sandbox:web  up to date\n"
    )


def test_reconcile_recreate_option_backs_up_persistent() -> None:
    old = current_settings(OLD_SPEC, "dev")
    state = observed(SPEC, container(SPEC, "dev", settings=old), container(SPEC, "web"))
    text = golden(SPEC, state, recreate=frozenset({"dev"}))
    assert text == (
        "recreate  sandbox:dev  env.GONE removed; env.MODE changed  [backup]\n"
        "noop      sandbox:web  up to date\n"
    )


def test_reconcile_recreate_option_on_converged_sandboxes() -> None:
    state = observed(SPEC, container(SPEC, "dev"), container(SPEC, "web"))
    text = golden(SPEC, state, recreate=frozenset({"dev", "web"}))
    assert text == (
        "recreate  sandbox:dev  recreate requested  [backup]\n"
        "recreate  sandbox:web  recreate requested\n"
    )


def test_reconcile_recreate_option_on_missing_sandbox_creates() -> None:
    assert golden(SPEC, observed(SPEC), recreate=frozenset({"dev"})).startswith(
        "create    sandbox:dev  container missing\n"
    )


def test_reconcile_up_declared_stopped_but_running_is_left_alone() -> None:
    spec = project(sandbox("dev", state="stopped"))
    state = observed(spec, container(spec, "dev"))
    assert golden(spec, state) == (
        'noop      sandbox:dev  declared state = "stopped"; `pocketdock sync` would stop it\n'
    )


def test_reconcile_up_declared_stopped_and_exited_is_noop() -> None:
    spec = project(sandbox("dev", state="stopped"))
    state = observed(spec, container(spec, "dev", state="exited"))
    assert golden(spec, state) == "noop      sandbox:dev  up to date\n"


def test_reconcile_up_orphans_are_reported_only() -> None:
    state = observed(
        SPEC,
        container(SPEC, "dev"),
        container(SPEC, "web"),
        orphan("old"),
        orphan("keep", persist=True),
        orphan("cold", persist=True, state="exited"),
        orphan(None),
    )
    assert golden(SPEC, state) == (
        "noop      sandbox:dev                up to date\n"
        "noop      sandbox:web                up to date\n"
        "noop      sandbox:cold               not declared in the project file; persistent;"
        " `pocketdock sync --prune-persistent` would remove it\n"
        "noop      sandbox:keep               not declared in the project file; persistent;"
        " `pocketdock sync` would stop it and keep it\n"
        "noop      sandbox:old                not declared in the project file;"
        " `pocketdock sync` would remove it\n"
        "noop      container:demo-unlabelled  not declared in the project file;"
        " `pocketdock sync` would remove it\n"
    )


# sync


def test_reconcile_sync_stops_declared_stopped() -> None:
    spec = project(sandbox("dev", state="stopped", persist=True), sandbox("web", state="stopped"))
    state = observed(spec, container(spec, "dev"), container(spec, "web", state="paused"))
    assert golden(spec, state, command="sync") == (
        'stop      sandbox:dev  declared state = "stopped"\n'
        'stop      sandbox:web  declared state = "stopped"\n'
    )


def test_reconcile_sync_converges_like_up() -> None:
    old = current_settings(OLD_SPEC, "web")
    state = observed(
        SPEC, container(SPEC, "dev", state="exited"), container(SPEC, "web", settings=old)
    )
    assert golden(SPEC, state, command="sync") == golden(SPEC, state, command="up")


def test_reconcile_sync_orphans() -> None:
    state = observed(
        SPEC,
        container(SPEC, "dev"),
        container(SPEC, "web"),
        orphan("old"),
        orphan("keep", persist=True),
        orphan("cold", persist=True, state="exited"),
    )
    assert golden(SPEC, state, command="sync") == (
        "noop      sandbox:dev   up to date\n"
        "noop      sandbox:web   up to date\n"
        "noop      sandbox:cold  not declared in the project file; persistent, kept"
        " (`pocketdock sync --prune-persistent` removes it)\n"
        "stop      sandbox:keep  not declared in the project file; persistent, kept"
        " (`pocketdock sync --prune-persistent` removes it)\n"
        "remove    sandbox:old   not declared in the project file; ephemeral\n"
    )


def test_reconcile_sync_prune_persistent_removes_persistent_orphans() -> None:
    state = observed(
        SPEC,
        container(SPEC, "dev"),
        container(SPEC, "web"),
        orphan("keep", persist=True),
    )
    assert golden(SPEC, state, command="sync", prune_persistent=True).splitlines()[2] == (
        "remove    sandbox:keep  not declared in the project file; persistent, pruning as asked"
    )


def test_reconcile_sync_prune_persistent_never_touches_declared_persistent() -> None:
    old = current_settings(OLD_SPEC, "dev")
    state = observed(SPEC, container(SPEC, "dev", settings=old), container(SPEC, "web"))
    actions = plan(SPEC, state, PlanOptions(command="sync", prune_persistent=True))
    assert actions[0].kind is ActionKind.BLOCKED


# down


def test_reconcile_down() -> None:
    spec = project(
        sandbox("dev", persist=True),
        sandbox("cold", persist=True),
        sandbox("web"),
        sandbox("gone"),
    )
    state = observed(
        spec,
        container(spec, "dev"),
        container(spec, "cold", state="exited"),
        container(spec, "web", state="exited"),
        orphan("old"),
        orphan("keep", persist=True),
    )
    assert golden(spec, state, command="down") == (
        "stop      sandbox:dev   persistent, stopped and kept\n"
        "noop      sandbox:cold  persistent, exited, kept\n"
        "remove    sandbox:web   ephemeral\n"
        "noop      sandbox:gone  no container\n"
        "stop      sandbox:keep  not declared in the project file; persistent, stopped and kept\n"
        "remove    sandbox:old   not declared in the project file; ephemeral\n"
    )


def test_reconcile_down_ignores_changed_settings() -> None:
    old = current_settings(OLD_SPEC, "dev")
    state = observed(SPEC, container(SPEC, "dev", settings=old), container(SPEC, "web"))
    assert golden(SPEC, state, command="down") == (
        "stop      sandbox:dev  persistent, stopped and kept\nremove    sandbox:web  ephemeral\n"
    )


def test_reconcile_down_destroy_removes_everything() -> None:
    state = observed(
        SPEC,
        container(SPEC, "dev", state="exited"),
        container(SPEC, "web"),
        orphan("keep", persist=True),
        orphan(None),
    )
    assert golden(SPEC, state, command="down", destroy=True) == (
        "remove    sandbox:dev                destroy requested\n"
        "remove    sandbox:web                destroy requested\n"
        "remove    sandbox:keep               not declared in the project file;"
        " destroy requested\n"
        "remove    container:demo-unlabelled  not declared in the project file;"
        " destroy requested\n"
    )


def test_reconcile_destroy_is_ignored_outside_down() -> None:
    state = observed(
        SPEC, container(SPEC, "dev"), container(SPEC, "web"), orphan("keep", persist=True)
    )
    actions = plan(SPEC, state, PlanOptions(command="sync", destroy=True))
    assert [a.kind.value for a in actions] == ["noop", "noop", "stop"]


# names


def test_reconcile_names_filter_up() -> None:
    state = observed(SPEC, orphan("old"))
    assert golden(SPEC, state, names=frozenset({"web"})) == (
        "create    sandbox:web  container missing\n"
    )


def test_reconcile_names_filter_down_includes_matching_orphans() -> None:
    state = observed(SPEC, container(SPEC, "dev"), container(SPEC, "web"), orphan("old"))
    assert golden(SPEC, state, command="down", names=frozenset({"dev", "old"})) == (
        "stop      sandbox:dev  persistent, stopped and kept\n"
        "remove    sandbox:old  not declared in the project file; ephemeral\n"
    )


def test_reconcile_unknown_names_do_not_crash() -> None:
    state = observed(SPEC, container(SPEC, "dev"))
    for command in ("up", "sync", "down"):
        assert golden(SPEC, state, command=command, names=frozenset({"nope"})) == ""


def test_reconcile_unknown_recreate_name_is_ignored() -> None:
    state = observed(SPEC, container(SPEC, "dev"), container(SPEC, "web"))
    actions = plan(SPEC, state, PlanOptions(recreate=frozenset({"nope"})))
    assert [a.kind.value for a in actions] == ["noop", "noop"]


# snapshot builds

SNAP_SPEC = project(
    sandbox("dev", snapshot="tools"),
    sandbox("db", snapshot="base", persist=True),
    sandbox("plain", snapshot="img"),
    snapshots=(
        recipe("base", "debian:12", "apt-get update"),
        recipe("tools", "snapshot:base", "apt-get install -y git"),
        image_snapshot("img", "alpine:3"),
    ),
)
BASE_TAG = "pocketdock-snapshot/demo/base:"
TOOLS_TAG = "pocketdock-snapshot/demo/tools:"


def _tag(name: str) -> str:
    return snapshot_tags(SNAP_SPEC, IMAGES)[name]


def test_reconcile_builds_chain_parents_first() -> None:
    actions = plan(SNAP_SPEC, observed(SNAP_SPEC), PlanOptions())
    base, tools = _tag("base"), _tag("tools")
    assert render_plan(actions) == (
        f"build     snapshot:base   {base} not built yet\n"
        f"build     snapshot:tools  {tools} not built yet  [after snapshot:base]\n"
        "create    sandbox:dev     container missing  [after snapshot:base, snapshot:tools]\n"
        "create    sandbox:db      container missing  [after snapshot:base]\n"
        "create    sandbox:plain   container missing\n"
    )
    assert base.startswith(BASE_TAG) and tools.startswith(TOOLS_TAG)
    assert (actions[0].image_ref, actions[1].image_ref) == ("debian:12", base)
    assert (actions[2].image_ref, actions[4].image_ref) == (tools, "alpine:3")


def test_reconcile_builds_skip_built_parent() -> None:
    state = observed(SNAP_SPEC, built=("base",))
    assert golden(SNAP_SPEC, state) == (
        f"build     snapshot:tools  {_tag('tools')} not built yet\n"
        "create    sandbox:dev     container missing  [after snapshot:tools]\n"
        "create    sandbox:db      container missing\n"
        "create    sandbox:plain   container missing\n"
    )


def test_reconcile_builds_only_for_selected_sandboxes() -> None:
    state = observed(SNAP_SPEC)
    assert golden(SNAP_SPEC, state, names=frozenset({"db"})) == (
        f"build     snapshot:base  {_tag('base')} not built yet\n"
        "create    sandbox:db     container missing  [after snapshot:base]\n"
    )


def test_reconcile_no_build_when_nothing_needs_it() -> None:
    # The snapshot images were deleted, but the containers built on them are current.
    state = observed(
        SNAP_SPEC,
        container(SNAP_SPEC, "dev"),
        container(SNAP_SPEC, "db"),
        container(SNAP_SPEC, "plain"),
    )
    assert golden(SNAP_SPEC, state) == (
        "noop      sandbox:dev    up to date\n"
        "noop      sandbox:db     up to date\n"
        "noop      sandbox:plain  up to date\n"
    )
    assert all(a.kind != "build" for a in plan(SNAP_SPEC, state, PlanOptions(command="down")))


def test_reconcile_down_never_builds() -> None:
    assert golden(SNAP_SPEC, observed(SNAP_SPEC), command="down") == (
        "noop      sandbox:dev    no container\n"
        "noop      sandbox:db     no container\n"
        "noop      sandbox:plain  no container\n"
    )


def test_reconcile_recipe_change_rebuilds_and_recreates() -> None:
    old_spec = project(
        *SNAP_SPEC.sandboxes.values(),
        snapshots=(
            recipe("base", "debian:12", "apt-get update"),
            recipe("tools", "snapshot:base", "apt-get install -y curl"),
            image_snapshot("img", "alpine:3"),
        ),
    )
    state = observed(
        SNAP_SPEC,
        container(SNAP_SPEC, "dev", settings=current_settings(old_spec, "dev")),
        container(SNAP_SPEC, "db"),
        container(SNAP_SPEC, "plain"),
        built=("base",),
    )
    assert golden(SNAP_SPEC, state) == (
        f"build     snapshot:tools  {_tag('tools')} not built yet\n"
        "recreate  sandbox:dev     image tools rebuilt  [after snapshot:tools]\n"
        "noop      sandbox:db      up to date\n"
        "noop      sandbox:plain   up to date\n"
    )


def test_reconcile_project_rename_keeps_snapshot_sandboxes() -> None:
    # The snapshot tags hold the project's name, but the sandboxes on them are made of
    # the same recipes: nothing to recreate, and so nothing to build either.
    renamed = replace(SNAP_SPEC, name="demo-renamed")
    state = observed(
        renamed,
        container(SNAP_SPEC, "dev", settings=current_settings(SNAP_SPEC, "dev")),
        container(SNAP_SPEC, "db", settings=current_settings(SNAP_SPEC, "db")),
        container(SNAP_SPEC, "plain"),
    )
    assert golden(renamed, state) == (
        "noop      sandbox:dev    up to date\n"
        "noop      sandbox:db     up to date\n"
        "noop      sandbox:plain  up to date\n"
    )


def test_reconcile_base_change_blocks_persistent_snapshot_sandbox() -> None:
    new_ids = {**IMAGES, "debian:12": "sha256:d1"}
    state = observed(
        SNAP_SPEC,
        container(SNAP_SPEC, "dev"),
        container(SNAP_SPEC, "db"),
        container(SNAP_SPEC, "plain"),
        image_ids=new_ids,
    )
    text = golden(SNAP_SPEC, state)
    assert (
        "recreate  sandbox:dev     image tools rebuilt  [after snapshot:base, snapshot:tools]"
        in text
    )
    assert "blocked   sandbox:db      image base rebuilt; persistent, kept as is" in text
    assert text.count("build") == 2


def test_reconcile_image_snapshot_now_points_elsewhere() -> None:
    state = observed(
        SNAP_SPEC,
        container(SNAP_SPEC, "dev"),
        container(SNAP_SPEC, "db"),
        container(SNAP_SPEC, "plain"),
        image_ids={**IMAGES, "alpine:3": "sha256:a1"},
    )
    assert golden(SNAP_SPEC, state).splitlines()[-1] == (
        "recreate  sandbox:plain  snapshot img now points to a different image"
    )


# missing images


def test_reconcile_missing_image_still_creates() -> None:
    ids = {**IMAGES, "busybox:latest": None}
    assert golden(SPEC, observed(SPEC, image_ids=ids)) == (
        "create    sandbox:dev  container missing\ncreate    sandbox:web  container missing\n"
    )


def test_reconcile_missing_image_keeps_existing_containers() -> None:
    ids = {**IMAGES, "busybox:latest": None}
    old = current_settings(OLD_SPEC, "web")
    state = observed(
        SPEC,
        container(SPEC, "dev", state="exited"),
        container(SPEC, "web", settings=old),
        image_ids=ids,
    )
    assert golden(SPEC, state) == (
        "resume    sandbox:dev  container is exited (image busybox:latest is missing locally;"
        " cannot check for changes)\n"
        "noop      sandbox:web  up to date (image busybox:latest is missing locally;"
        " cannot check for changes)\n"
    )


def test_reconcile_missing_image_blocks_requested_recreate() -> None:
    state = observed(SPEC, container(SPEC, "web"), image_ids={})
    assert golden(SPEC, state, names=frozenset({"web"}), recreate=frozenset({"web"})) == (
        "blocked   sandbox:web  recreate requested; cannot recreate:"
        " image busybox:latest is missing locally\n"
    )


def test_reconcile_missing_snapshot_base_keeps_container_and_plans_failing_build() -> None:
    ids = {**IMAGES, "debian:12": None}
    state = observed(SNAP_SPEC, container(SNAP_SPEC, "dev"), image_ids=ids)
    text = golden(SNAP_SPEC, state, names=frozenset({"dev", "db"}))
    assert text.splitlines()[1:] == [
        "noop      sandbox:dev    up to date (image debian:12 (under snapshot tools) is missing"
        " locally; cannot check for changes)",
        "create    sandbox:db     container missing  [after snapshot:base]",
    ]
    assert text.startswith("build     snapshot:base")


# setup and broken containers


def test_reconcile_setup_incomplete() -> None:
    state = observed(
        SPEC,
        container(SPEC, "dev"),
        container(SPEC, "web"),
        setup_incomplete=frozenset({"dev-id", "web-id"}),
    )
    assert golden(SPEC, state) == (
        "blocked   sandbox:dev  setup did not complete; persistent, kept as is:"
        " run `pocketdock up --recreate dev` to back it up and recreate it\n"
        "recreate  sandbox:web  setup did not complete\n"
    )
    assert golden(SPEC, state, recreate=frozenset({"dev"})).startswith(
        "recreate  sandbox:dev  setup did not complete  [backup]\n"
    )


def test_reconcile_dead_container() -> None:
    state = observed(
        SPEC, container(SPEC, "dev", state="dead"), container(SPEC, "web", state="dead")
    )
    assert golden(SPEC, state) == (
        "blocked   sandbox:dev  container is dead; persistent, kept as is:"
        " run `pocketdock up --recreate dev` to back it up and recreate it\n"
        "recreate  sandbox:web  container is dead\n"
    )


# duplicates


def test_reconcile_duplicates_keep_running_newest() -> None:
    state = observed(
        SPEC,
        container(SPEC, "dev"),
        container(SPEC, "web", state="exited", cid="w1", created="2026-01-03T00:00:00Z"),
        container(SPEC, "web", cid="w2aaaaaaaaaaaaaa", container_name="demo-web-2"),
        container(SPEC, "web", state="exited", cid="w3", container_name="demo-web-3"),
    )
    assert golden(SPEC, state) == (
        "noop      sandbox:dev  up to date\n"
        "noop      sandbox:web  up to date\n"
        "remove    sandbox:web  duplicate container demo-web, keeping demo-web-2 (w2aaaaaaaaaa)\n"
        "remove    sandbox:web  duplicate container demo-web-3, keeping demo-web-2 (w2aaaaaaaaaa)\n"
    )


def test_reconcile_duplicates_persistent_extra_is_blocked() -> None:
    state = observed(
        SPEC,
        container(SPEC, "dev", cid="d1", state="exited", created="2026-01-01T00:00:00Z"),
        container(
            SPEC,
            "dev",
            cid="d2",
            container_name="demo-dev-2",
            state="exited",
            created="2026-01-02T00:00:00Z",
        ),
        container(SPEC, "web"),
    )
    assert golden(SPEC, state) == (
        "resume    sandbox:dev  container is exited\n"
        "blocked   sandbox:dev  duplicate container demo-dev, keeping demo-dev-2 (d2);"
        " persistent, so kept: remove it by hand once nothing in it is needed\n"
        "noop      sandbox:web  up to date\n"
    )


def test_reconcile_duplicates_prefer_a_completed_setup() -> None:
    state = observed(
        SPEC,
        container(SPEC, "dev"),
        container(SPEC, "web", cid="w1", created="2026-01-05T00:00:00Z"),
        container(SPEC, "web", cid="w2", container_name="demo-web-2"),
        setup_incomplete=frozenset({"w1"}),
    )
    assert golden(SPEC, state).splitlines()[1:] == [
        "noop      sandbox:web  up to date",
        "remove    sandbox:web  duplicate container demo-web, keeping demo-web-2 (w2)",
    ]


def test_reconcile_duplicates_in_down_are_all_handled() -> None:
    state = observed(
        SPEC,
        container(SPEC, "web", cid="w1"),
        container(SPEC, "web", cid="w2", container_name="demo-web-2"),
    )
    assert golden(SPEC, state, command="down", names=frozenset({"web"})) == (
        "remove    sandbox:web  ephemeral\nremove    sandbox:web  ephemeral\n"
    )


# action contents and ordering


def test_reconcile_action_fields_for_the_executor() -> None:
    old = current_settings(OLD_SPEC, "dev")
    state = observed(SPEC, container(SPEC, "dev", settings=old, state="exited"))
    dev, web = plan(SPEC, state, PlanOptions(recreate=frozenset({"dev"})))
    assert dev == Action(
        kind=ActionKind.RECREATE,
        sandbox="dev",
        reason="env.GONE removed; env.MODE changed",
        container_id="dev-id",
        container_name="demo-dev",
        container_state="exited",
        sandbox_spec=SPEC.sandboxes["dev"],
        image_ref="busybox:latest",
        spec_hash=container(SPEC, "dev").spec_hash,
        spec_json=current_settings(SPEC, "dev"),
        start=True,
        backup=True,
    )
    assert (web.kind, web.container_name, web.container_id) == ("create", "demo-web", None)
    assert web.spec_json == current_settings(SPEC, "web") and web.start
    assert (dev.target, web.target) == ("sandbox:dev", "sandbox:web")


def test_reconcile_build_action_fields() -> None:
    build = plan(SNAP_SPEC, observed(SNAP_SPEC, built=("base",)), PlanOptions())[0]
    assert build.kind is ActionKind.BUILD and build.target == "snapshot:tools"
    assert build.snapshot_spec == SNAP_SPEC.snapshots["tools"]
    assert build.spec_json is not None and '"run":["apt-get install -y git"]' in build.spec_json
    assert build.tag is not None and build.spec_hash is not None
    assert build.tag.endswith(":" + build.spec_hash[:12])


def test_reconcile_order_is_builds_then_file_order_then_orphans_by_name() -> None:
    spec = project(
        sandbox("zed"), sandbox("alpha", snapshot="base"), snapshots=(recipe("base", "debian:12"),)
    )
    state = observed(spec, orphan("b-old"), orphan("a-old"))
    targets = [a.target for a in plan(spec, state, PlanOptions(command="sync"))]
    assert targets == [
        "snapshot:base",
        "sandbox:zed",
        "sandbox:alpha",
        "sandbox:a-old",
        "sandbox:b-old",
    ]


def test_reconcile_empty_project_renders_nothing() -> None:
    assert render_plan(plan(project(), ObservedState(), PlanOptions())) == ""


def test_reconcile_duplicates_choice_is_stable_once_applied() -> None:
    spec = project(sandbox("dev", persist=True, state="stopped"))
    older = container(spec, "dev", cid="d1", created="2026-01-01T00:00:00Z")
    newer = container(
        spec, "dev", cid="d2", container_name="demo-dev-2", created="2026-01-02T00:00:00Z"
    )
    first = golden(spec, observed(spec, older, newer), command="sync")
    assert first == (
        'stop      sandbox:dev  declared state = "stopped"\n'
        "blocked   sandbox:dev  duplicate container demo-dev, keeping demo-dev-2 (d2);"
        " persistent, so kept: remove it by hand once nothing in it is needed\n"
    )
    stopped = replace(newer, state="exited")
    second = golden(spec, observed(spec, older, stopped), command="sync")
    assert second == first.replace(
        'stop      sandbox:dev  declared state = "stopped"', "noop      sandbox:dev  up to date"
    )
