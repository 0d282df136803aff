"""Property tests: plans converge on a simulated engine and never lose persistent data."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from itertools import count

from hypothesis import given, settings
from hypothesis import strategies as st

from pocketdock.reconcile.hashing import image_identity, settings_json, spec_hash
from pocketdock.reconcile.observed import ObservedContainer, ObservedState, snapshot_tags
from pocketdock.reconcile.plan import Action, ActionKind, PlanOptions, plan
from pocketdock.spec.effective import EffectiveSandbox, EffectiveSnapshot, ProjectSpec

from .builders import image_snapshot, project, recipe, sandbox

SANDBOX_NAMES = ("a", "b", "c", "d")
IMAGE_REFS = ("busybox:latest", "alpine:3", "debian:12")
STATES = ("running", "exited", "created", "paused", "restarting", "dead")
IMAGE_IDS = st.sampled_from(["sha256:1", "sha256:2"])


@st.composite
def specs(draw: st.DrawFn) -> ProjectSpec:
    snapshots = (
        recipe("base", "debian:12", *draw(st.lists(st.sampled_from(["x", "y"]), max_size=2))),
        recipe("tools", "snapshot:base", draw(st.sampled_from(["git", "curl"]))),
        image_snapshot("img", "alpine:3"),
        recipe("onimg", "snapshot:img", "apk add git"),
    )
    sources = [{"image": ref} for ref in IMAGE_REFS[:2]] + [{"snapshot": s.name} for s in snapshots]
    names = draw(st.lists(st.sampled_from(SANDBOX_NAMES), unique=True, max_size=4))
    boxes = [
        sandbox(
            name,
            persist=draw(st.booleans()),
            state=draw(st.sampled_from(["running", "running", "stopped"])),
            env=draw(st.dictionaries(st.sampled_from("MN"), st.sampled_from("01"), max_size=2)),
            **draw(st.sampled_from(sources)),
        )
        for name in names
    ]
    return project(*boxes, snapshots=snapshots)


@st.composite
def observed_states(draw: st.DrawFn, spec: ProjectSpec, all_images: bool) -> ObservedState:
    image_ids: dict[str, str | None] = {ref: draw(IMAGE_IDS) for ref in IMAGE_REFS}
    if not all_images:
        image_ids.update({ref: None for ref in draw(st.sets(st.sampled_from(IMAGE_REFS)))})
    tags = snapshot_tags(spec, image_ids)
    built = draw(st.sets(st.sampled_from(sorted(tags))))
    containers = _declared_containers(draw, spec, image_ids) + _orphans(draw)
    ids_seen = [c.id for c in containers]
    return ObservedState(
        containers=tuple(containers),
        image_ids=image_ids,
        snapshot_images={tags[n]: f"sha256:snap-{n}" for n in built},
        setup_incomplete=frozenset(draw(st.sets(st.sampled_from(ids_seen))) if ids_seen else ()),
    )


def _declared_containers(
    draw: st.DrawFn, spec: ProjectSpec, image_ids: dict[str, str | None]
) -> list[ObservedContainer]:
    found = []
    for name in spec.sandboxes:
        for i in range(draw(st.integers(0, 2))):
            settings = _past_settings(draw, spec, name, image_ids)
            found.append(
                ObservedContainer(
                    id=f"{name}-{i}",
                    name=spec.container_name(name) + (f"-{i}" if i else ""),
                    sandbox=name,
                    state=draw(st.sampled_from(STATES)),
                    persist=draw(st.booleans()),
                    spec_hash=spec_hash(settings) if settings else None,
                    spec_json=settings,
                    created=f"2026-01-0{draw(st.integers(1, 9))}T00:00:00Z",
                )
            )
    return found


def _past_settings(
    draw: st.DrawFn, spec: ProjectSpec, name: str, image_ids: dict[str, str | None]
) -> str | None:
    """The settings a container was made with: today's, or older images or env, or none."""
    past = draw(st.sampled_from(["today", "older images", "older env", "unrecorded"]))
    if past == "unrecorded":
        return None
    box = spec.sandboxes[name]
    if past == "older images":
        image_ids = {ref: draw(IMAGE_IDS) for ref in IMAGE_REFS}
    if past == "older env":
        box = replace(box, env={"OLD": "1"})
    return settings_json(box, image_identity(spec, box, image_ids))


def _orphans(draw: st.DrawFn) -> list[ObservedContainer]:
    labels = draw(st.lists(st.sampled_from(["old", "gone", None]), max_size=3))
    return [
        ObservedContainer(
            id=f"orphan-{i}",
            name=f"demo-{label}" if label else f"stray-{i}",
            sandbox=label,
            state=draw(st.sampled_from(STATES)),
            persist=draw(st.booleans()),
            spec_hash=None,
            spec_json=None,
            created="2026-01-01T00:00:00Z",
        )
        for i, label in enumerate(labels)
    ]


def options(commands: tuple[str, ...]) -> st.SearchStrategy[PlanOptions]:
    names = st.sampled_from([*SANDBOX_NAMES, "old", "nope"])
    return st.builds(
        PlanOptions,
        command=st.sampled_from(commands),
        names=st.none() | st.frozensets(names, max_size=3),
        recreate=st.frozensets(names, max_size=3),
        prune_persistent=st.booleans(),
        destroy=st.booleans(),
    )


@dataclass
class SimEngine:
    """An engine reduced to what plans touch: containers, images and snapshot tags."""

    spec: ProjectSpec
    state: ObservedState
    containers: dict[str, ObservedContainer] = field(default_factory=dict)
    snapshot_images: dict[str, str | None] = field(default_factory=dict)
    setup_incomplete: set[str] = field(default_factory=set)
    ids: count[int] = field(default_factory=count)

    def __post_init__(self) -> None:
        self.containers = {c.id: c for c in self.state.containers}
        self.snapshot_images = dict(self.state.snapshot_images)
        self.setup_incomplete = set(self.state.setup_incomplete)

    def apply(self, actions: list[Action]) -> None:
        failed: set[str] = set()
        for action in actions:
            if failed & set(action.depends_on):
                failed.add(action.sandbox)
                continue
            if not self._apply_one(action):
                failed.add(action.sandbox)

    def _apply_one(self, action: Action) -> bool:
        kind = action.kind
        if kind is ActionKind.BUILD:
            return self._build(action)
        if kind is ActionKind.CREATE:
            return self._create(action)
        if kind is ActionKind.RECREATE:
            self._remove(action)
            return self._create(action)
        if kind is ActionKind.REMOVE:
            self._remove(action)
        elif kind in (ActionKind.RESUME, ActionKind.STOP):
            self._set_state(action, "running" if kind is ActionKind.RESUME else "exited")
        return True

    def _build(self, action: Action) -> bool:
        assert action.image_ref is not None and action.tag is not None
        if not self._image_exists(action.image_ref):
            return False
        self.snapshot_images[action.tag] = f"sha256:built-{action.tag}"
        return True

    def _image_exists(self, ref: str) -> bool:
        return bool(self.state.image_ids.get(ref) or self.snapshot_images.get(ref))

    def _create(self, action: Action) -> bool:
        spec = action.sandbox_spec
        assert spec is not None and action.image_ref and action.container_name
        if not self._image_exists(action.image_ref):
            return False
        assert all(c.name != action.container_name for c in self.containers.values())
        new_id = f"new-{next(self.ids)}"
        self.containers[new_id] = ObservedContainer(
            id=new_id,
            name=action.container_name,
            sandbox=action.sandbox,
            state="running" if action.start else "created",
            persist=spec.persist,
            spec_hash=action.spec_hash,
            spec_json=action.spec_json,
            created=f"2030-01-01T00:{int(new_id[4:]):05d}",
        )
        return True

    def _remove(self, action: Action) -> None:
        assert action.container_id is not None
        del self.containers[action.container_id]
        self.setup_incomplete.discard(action.container_id)

    def _set_state(self, action: Action, state: str) -> None:
        assert action.container_id is not None
        old = self.containers[action.container_id]
        self.containers[action.container_id] = replace(old, state=state)

    def observe(self) -> ObservedState:
        return ObservedState(
            containers=tuple(self.containers.values()),
            image_ids=self.state.image_ids,
            snapshot_images=dict(self.snapshot_images),
            setup_incomplete=frozenset(self.setup_incomplete),
        )


@st.composite
def scenarios(
    draw: st.DrawFn, commands: tuple[str, ...], all_images: bool
) -> tuple[ProjectSpec, ObservedState, PlanOptions]:
    spec = draw(specs())
    return spec, draw(observed_states(spec, all_images)), draw(options(commands))


@settings(max_examples=250, deadline=None)
@given(scenarios(("up", "sync", "down"), all_images=True))
def test_reconcile_plans_are_idempotent(
    scenario: tuple[ProjectSpec, ObservedState, PlanOptions],
) -> None:
    spec, state, opts = scenario
    engine = SimEngine(spec, state)
    engine.apply(plan(spec, state, opts))

    after = engine.observe()
    again = plan(spec, after, replace(opts, recreate=frozenset()))
    leftovers = [a for a in again if a.kind not in (ActionKind.NOOP, ActionKind.BLOCKED)]
    assert leftovers == []
    # A planner that did nothing at all would also pass the check above.
    _assert_converged(spec, after, opts, again)


def _assert_converged(
    spec: ProjectSpec, after: ObservedState, opts: PlanOptions, again: list[Action]
) -> None:
    blocked = {a.sandbox for a in again if a.kind is ActionKind.BLOCKED}
    for c in after.containers:
        if opts.names is not None and c.sandbox not in opts.names:
            continue
        declared = spec.sandboxes.get(c.sandbox or "")
        if opts.command == "down":
            assert not opts.destroy and c.persist and not c.active, c
        elif declared is None:
            assert opts.command == "up" or (c.persist and not c.active), c
        elif declared.name not in blocked:
            _assert_matches(spec, after, declared, c, opts.command)
    for name in spec.sandboxes:
        if opts.command != "down" and (opts.names is None or name in opts.names):
            assert any(c.sandbox == name for c in after.containers), name


def _assert_matches(
    spec: ProjectSpec,
    after: ObservedState,
    declared: EffectiveSandbox,
    c: ObservedContainer,
    command: str,
) -> None:
    text = settings_json(declared, image_identity(spec, declared, after.image_ids))
    assert c.spec_hash == spec_hash(text) and c.state not in ("dead", "removing"), c
    assert c.id not in after.setup_incomplete, c
    if declared.state == "running":
        assert c.running, c
    elif command == "sync":
        assert not c.active, c


@settings(max_examples=300, deadline=None)
@given(scenarios(("up", "sync", "down"), all_images=False))
def test_reconcile_never_loses_persistent_containers(
    scenario: tuple[ProjectSpec, ObservedState, PlanOptions],
) -> None:
    spec, state, opts = scenario
    actions = plan(spec, state, opts)
    by_id = {c.id: c for c in state.containers}
    for action in actions:
        if action.kind in (ActionKind.REMOVE, ActionKind.RECREATE) and action.container_id:
            observed = by_id[action.container_id]
            if observed.persist:
                assert _destruction_allowed(spec, action, observed, opts), action


def _destruction_allowed(
    spec: ProjectSpec, action: Action, observed: ObservedContainer, opts: PlanOptions
) -> bool:
    if opts.command == "down" and opts.destroy:
        return action.kind is ActionKind.REMOVE
    if action.kind is ActionKind.RECREATE:
        return opts.command != "down" and action.sandbox in opts.recreate and action.backup
    is_orphan = observed.sandbox not in spec.sandboxes
    return opts.command == "sync" and opts.prune_persistent and is_orphan


@settings(max_examples=200, deadline=None)
@given(scenarios(("up", "sync", "down"), all_images=False))
def test_reconcile_plan_shape(scenario: tuple[ProjectSpec, ObservedState, PlanOptions]) -> None:
    spec, state, opts = scenario
    actions = plan(spec, state, opts)
    existing = {c.sandbox for c in state.containers}
    seen_builds: list[str] = []
    replacing: list[str] = []
    for action in actions:
        assert action.reason
        assert set(action.depends_on) <= set(seen_builds), "builds come before their users"
        if action.kind is ActionKind.BUILD:
            seen_builds.append(action.sandbox)
        if action.kind in (ActionKind.CREATE, ActionKind.RECREATE):
            replacing.append(action.sandbox)
        if action.kind is ActionKind.CREATE:
            assert action.sandbox not in existing
    assert len(replacing) == len(set(replacing)), "one new container per sandbox"
    needed = {d for a in actions if a.kind in ("create", "recreate") for d in a.depends_on}
    assert set(seen_builds) == needed, "builds only what is needed"
    if opts.command == "down":
        assert not seen_builds and not replacing


def test_sim_engine_detects_a_non_converging_plan() -> None:
    """Guard against a vacuous idempotence test: a skipped action must show up again."""
    spec = project(sandbox("a", snapshot="tools"), snapshots=_snapshots())
    state = ObservedState(image_ids={"debian:12": "sha256:1"})
    engine = SimEngine(spec, state)
    engine.apply([a for a in plan(spec, state, PlanOptions()) if a.kind is not ActionKind.BUILD])
    again = plan(spec, engine.observe(), PlanOptions())
    assert [a.kind for a in again] == ["build", "build", "create"]


def _snapshots() -> tuple[EffectiveSnapshot, ...]:
    return (recipe("base", "debian:12"), recipe("tools", "snapshot:base", "x"))
