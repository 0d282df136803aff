"""The planner: a pure function from (declared spec, observed state, options) to actions.

Every decision lives here, so the executor only carries actions out. Each action names
its target, says why it is needed, and holds everything the executor needs.

Safety: no plan removes or recreates a container labelled persistent unless the command
is `down --destroy`, the container is an orphan and `sync --prune-persistent` was given,
or its sandbox is named in `up --recreate` (and then the action asks for a backup).
Persistence is read from the container's label, not from the file, so editing `persist`
never exposes a container that was created persistent.

Note that when an image a sandbox depends on is missing locally (including the base of a
recipe snapshot chain), its settings cannot be checked: an existing container is kept
as is, and a missing one is still planned for creation so the executor reports the
missing image.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Literal

from pocketdock.reconcile.hashing import (
    diff_reasons,
    image_identity,
    recipe_hash,
    recipe_json,
    settings_json,
    snapshot_chain,
    spec_hash,
)
from pocketdock.reconcile.observed import (
    BROKEN_STATES,
    ObservedContainer,
    ObservedState,
    snapshot_tags,
)
from pocketdock.spec.effective import EffectiveSandbox, EffectiveSnapshot, ProjectSpec

Command = Literal["up", "sync", "down"]


class ActionKind(StrEnum):
    CREATE = "create"  # create the container, then start it when `start`
    RESUME = "resume"  # start an exited/created container, or unpause a paused one
    STOP = "stop"
    RECREATE = "recreate"  # (backup when `backup`), remove `container_id`, create anew
    REMOVE = "remove"
    BUILD = "build"  # run a recipe in a temporary container from `image_ref`, commit `tag`
    NOOP = "noop"
    BLOCKED = "blocked"  # a change is pending but needs the user's explicit consent


# What brings back a sandbox that is missing or down; `PlanOptions.hold` holds these back.
RESTORE_KINDS = (ActionKind.CREATE, ActionKind.RESUME)


@dataclass(frozen=True)
class Action:
    """One step of a plan, with its reason and everything needed to carry it out.

    For sandbox actions `image_ref` is what to create from, and `spec_hash`/`spec_json`
    the label values to set. For builds, `image_ref` is the base to run the recipe on,
    `tag` the tag to commit, `spec_hash` the recipe hash and `spec_json` the recipe.
    `sandbox` is empty for an orphan that has no sandbox label.
    """

    kind: ActionKind
    sandbox: str
    reason: str
    container_id: str | None = None  # the existing container acted on
    container_name: str | None = None  # its name, or the name to create
    container_state: str | None = None  # the observed engine state, when one exists
    sandbox_spec: EffectiveSandbox | None = None
    snapshot_spec: EffectiveSnapshot | None = None
    image_ref: str | None = None
    tag: str | None = None
    spec_hash: str | None = None
    spec_json: str | None = None
    start: bool = False
    backup: bool = False  # commit the filesystem to a backup image before removing
    depends_on: tuple[str, ...] = ()  # snapshot builds that must succeed first

    @property
    def target(self) -> str:
        if self.kind is ActionKind.BUILD:
            return f"snapshot:{self.sandbox}"
        if not self.sandbox:
            return f"container:{self.container_name}"
        return f"sandbox:{self.sandbox}"


@dataclass(frozen=True)
class PlanOptions:
    """What the user asked for. `names` None means every declared sandbox."""

    command: Command = "up"
    names: frozenset[str] | None = None
    recreate: frozenset[str] = frozenset()
    prune_persistent: bool = False
    destroy: bool = False
    # Declared sandboxes not to create or start this time (watch's backoff for a sandbox
    # that keeps stopping); they get a noop saying so.
    hold: frozenset[str] = frozenset()


@dataclass(frozen=True)
class _Desired:
    """A declared sandbox resolved against the observed images."""

    sandbox: EffectiveSandbox
    container_name: str
    image_ref: str
    spec_json: str
    spec_hash: str
    missing: str | None  # why the settings cannot be trusted: an image is missing
    depends_on: tuple[str, ...]


def plan(spec: ProjectSpec, observed: ObservedState, options: PlanOptions) -> list[Action]:
    """Decide what `options.command` has to do to converge `observed` towards `spec`.

    Actions come builds first (parents before children), then sandboxes in file order,
    then orphans by container name.
    """
    return _Planner(spec, observed, options).run()


def render_plan(actions: Sequence[Action]) -> str:
    """One line per action: kind, target, reason, then flags in brackets."""
    width = max((len(a.target) for a in actions), default=0)
    lines = [f"{a.kind.value:<8}  {a.target:<{width}}  {a.reason}{_flags(a)}" for a in actions]
    return "".join(line + "\n" for line in lines)


def _flags(action: Action) -> str:
    flags = []
    if action.kind is ActionKind.CREATE and not action.start:
        flags.append("no start")
    if action.backup:
        flags.append("backup")
    if action.depends_on:
        flags.append("after " + ", ".join(f"snapshot:{d}" for d in action.depends_on))
    return f"  [{'; '.join(flags)}]" if flags else ""


class _Planner:
    def __init__(self, spec: ProjectSpec, observed: ObservedState, options: PlanOptions) -> None:
        self.spec = spec
        self.observed = observed
        self.options = options
        self.tags = snapshot_tags(spec, observed.image_ids)

    def run(self) -> list[Action]:
        groups = _group_by_sandbox(self.observed.containers)
        actions: list[Action] = []
        for name, sandbox in self.spec.sandboxes.items():
            if self._selected(name):
                actions += self._held(self._plan_declared(sandbox, groups.get(name, [])))
        orphans = [self._plan_orphan(c) for c in self._orphans()]
        return self._plan_builds(actions) + actions + orphans

    def _held(self, actions: list[Action]) -> list[Action]:
        return [
            replace(a, kind=ActionKind.NOOP, reason=f"{a.reason}; restart held back")
            if a.kind in RESTORE_KINDS and a.sandbox in self.options.hold
            else a
            for a in actions
        ]

    def _selected(self, name: str | None) -> bool:
        names = self.options.names
        return names is None or (name is not None and name in names)

    def _orphans(self) -> list[ObservedContainer]:
        declared = self.spec.sandboxes
        orphans = [
            c
            for c in self.observed.containers
            if (c.sandbox is None or c.sandbox not in declared) and self._selected(c.sandbox)
        ]
        return sorted(orphans, key=lambda c: (c.name, c.id))

    # declared sandboxes

    def _plan_declared(
        self, sandbox: EffectiveSandbox, containers: list[ObservedContainer]
    ) -> list[Action]:
        if self.options.command == "down":
            ordered = sorted(containers, key=lambda c: (c.name, c.id))
            return [self._down(c, sandbox.name, "") for c in ordered] or [
                Action(ActionKind.NOOP, sandbox.name, "no container")
            ]
        desired = self._desired(sandbox)
        if not containers:
            return [self._create(desired)]
        keep, *extras = self._rank(desired, containers)
        return [self._converge(desired, keep)] + [self._extra(e, keep) for e in extras]

    def _desired(self, sandbox: EffectiveSandbox) -> _Desired:
        identity = image_identity(self.spec, sandbox, self.observed.image_ids)
        text = settings_json(sandbox, identity)
        image_ref, missing, depends_on = self._resolve_image(sandbox)
        return _Desired(
            sandbox=sandbox,
            container_name=self.spec.container_name(sandbox.name),
            image_ref=image_ref,
            spec_json=text,
            spec_hash=spec_hash(text),
            missing=missing,
            depends_on=depends_on,
        )

    def _resolve_image(self, sandbox: EffectiveSandbox) -> tuple[str, str | None, tuple[str, ...]]:
        """The ref to create from, why it is unknown (if it is), and builds it needs."""
        if sandbox.snapshot is None:
            ref = sandbox.image or ""
            return ref, self._missing_image(ref, None), ()
        chain = snapshot_chain(self.spec, sandbox.snapshot)
        root = chain[-1]
        base = root.image if root.image is not None else root.from_ or ""
        missing = self._missing_image(base, sandbox.snapshot)
        return self._snapshot_ref(chain[0]), missing, self._unbuilt(chain)

    def _missing_image(self, ref: str, snapshot: str | None) -> str | None:
        if self.observed.image_ids.get(ref):
            return None
        where = f" (under snapshot {snapshot})" if snapshot else ""
        return f"image {ref}{where} is missing locally"

    def _snapshot_ref(self, snapshot: EffectiveSnapshot) -> str:
        return snapshot.image if snapshot.image is not None else self.tags[snapshot.name]

    def _unbuilt(self, chain: list[EffectiveSnapshot]) -> tuple[str, ...]:
        """Recipe snapshots of `chain` that must be built, parents first."""
        needed: list[str] = []
        for snapshot in chain:
            # Whatever a built snapshot was built from is no longer needed.
            if not snapshot.is_recipe or self._built(snapshot):
                break
            needed.append(snapshot.name)
        return tuple(reversed(needed))

    def _built(self, snapshot: EffectiveSnapshot) -> bool:
        return bool(self.observed.snapshot_images.get(self.tags[snapshot.name]))

    def _rank(
        self, desired: _Desired, containers: list[ObservedContainer]
    ) -> list[ObservedContainer]:
        """The container to keep first: healthy, already in the declared state, newest.

        Preferring the declared state (not simply "running") keeps the choice stable
        once the plan is applied, so a second plan keeps the same container.
        """
        want_running = desired.sandbox.state == "running"
        ordered = sorted(containers, key=lambda c: c.id)
        ordered.sort(key=lambda c: c.created, reverse=True)
        ordered.sort(
            key=lambda c: (
                self._needs_replacing(c) is not None,
                (not c.running) if want_running else c.active,
            )
        )
        return ordered

    def _needs_replacing(self, container: ObservedContainer) -> str | None:
        if container.id in self.observed.setup_incomplete:
            return "setup did not complete"
        if container.state in BROKEN_STATES:
            return f"container is {container.state}"
        return None

    def _create(self, desired: _Desired) -> Action:
        action = Action(
            ActionKind.CREATE,
            desired.sandbox.name,
            "container missing",
            container_name=desired.container_name,
        )
        return _for_creation(action, desired)

    def _converge(self, desired: _Desired, container: ObservedContainer) -> Action:
        reason = self._change_reason(desired, container)
        if reason is not None:
            return self._replace(desired, container, reason)
        return self._keep(desired, container)

    def _change_reason(self, desired: _Desired, container: ObservedContainer) -> str | None:
        broken = self._needs_replacing(container)
        if broken is not None:
            return broken
        if desired.missing is None and container.spec_hash != desired.spec_hash:
            reasons = diff_reasons(container.spec_json, desired.spec_json)
            return "; ".join(reasons) or "settings changed"
        if desired.sandbox.name in self.options.recreate:
            return "recreate requested"
        return None

    def _replace(self, desired: _Desired, container: ObservedContainer, reason: str) -> Action:
        name = desired.sandbox.name
        if desired.missing is not None:
            return _on(
                container, ActionKind.BLOCKED, name, f"{reason}; cannot recreate: {desired.missing}"
            )
        if container.persist and name not in self.options.recreate:
            advice = f"run `pocketdock up --recreate {name}` to back it up and recreate it"
            return _on(
                container, ActionKind.BLOCKED, name, f"{reason}; persistent, kept as is: {advice}"
            )
        # The new container takes the old one's name, which the removal frees.
        action = replace(
            _on(container, ActionKind.RECREATE, name, reason), backup=container.persist
        )
        return _for_creation(action, desired)

    def _keep(self, desired: _Desired, container: ObservedContainer) -> Action:
        name = desired.sandbox.name
        unknown = f" ({desired.missing}; cannot check for changes)" if desired.missing else ""
        declared_running = desired.sandbox.state == "running"
        if declared_running and not container.running:
            return _on(
                container, ActionKind.RESUME, name, f"container is {container.state}{unknown}"
            )
        if not declared_running and container.active:
            return self._stop_declared_stopped(container, name, unknown)
        return _on(container, ActionKind.NOOP, name, f"up to date{unknown}")

    def _stop_declared_stopped(
        self, container: ObservedContainer, name: str, unknown: str
    ) -> Action:
        reason = f'declared state = "stopped"{unknown}'
        if self.options.command == "sync":
            return _on(container, ActionKind.STOP, name, reason)
        return _on(container, ActionKind.NOOP, name, f"{reason}; `pocketdock sync` would stop it")

    def _extra(self, extra: ObservedContainer, kept: ObservedContainer) -> Action:
        name = extra.sandbox or ""
        reason = f"duplicate container {extra.name}, keeping {kept.name} ({kept.id[:12]})"
        if extra.persist:
            advice = "persistent, so kept: remove it by hand once nothing in it is needed"
            return _on(extra, ActionKind.BLOCKED, name, f"{reason}; {advice}")
        return _on(extra, ActionKind.REMOVE, name, reason)

    # orphans and down

    def _plan_orphan(self, container: ObservedContainer) -> Action:
        name = container.sandbox or ""
        prefix = "not declared in the project file; "
        if self.options.command == "down":
            return self._down(container, name, prefix)
        if self.options.command == "sync":
            return self._sync_orphan(container, name, prefix)
        return _on(container, ActionKind.NOOP, name, prefix + self._orphan_hint(container))

    def _sync_orphan(self, container: ObservedContainer, name: str, prefix: str) -> Action:
        if not container.persist:
            return _on(container, ActionKind.REMOVE, name, prefix + "ephemeral")
        if self.options.prune_persistent:
            return _on(container, ActionKind.REMOVE, name, prefix + "persistent, pruning as asked")
        kept = "persistent, kept (`pocketdock sync --prune-persistent` removes it)"
        kind = ActionKind.STOP if container.active else ActionKind.NOOP
        return _on(container, kind, name, prefix + kept)

    @staticmethod
    def _orphan_hint(container: ObservedContainer) -> str:
        if not container.persist:
            return "`pocketdock sync` would remove it"
        if container.active:
            return "persistent; `pocketdock sync` would stop it and keep it"
        return "persistent; `pocketdock sync --prune-persistent` would remove it"

    def _down(self, container: ObservedContainer, name: str, prefix: str) -> Action:
        if self.options.destroy:
            return _on(container, ActionKind.REMOVE, name, prefix + "destroy requested")
        if not container.persist:
            return _on(container, ActionKind.REMOVE, name, prefix + "ephemeral")
        if container.active:
            return _on(container, ActionKind.STOP, name, prefix + "persistent, stopped and kept")
        return _on(container, ActionKind.NOOP, name, f"{prefix}persistent, {container.state}, kept")

    # snapshot builds

    def _plan_builds(self, actions: Iterable[Action]) -> list[Action]:
        wanted: dict[str, None] = {}
        for action in actions:
            if action.kind in (ActionKind.CREATE, ActionKind.RECREATE):
                wanted.update(dict.fromkeys(action.depends_on))
        return [self._build(name) for name in wanted]

    def _build(self, name: str) -> Action:
        chain = snapshot_chain(self.spec, name)
        snapshot = chain[0]
        base = snapshot.from_ or ""
        if snapshot.parent_snapshot is not None:
            base = self._snapshot_ref(chain[1])
        ids = self.observed.image_ids
        return Action(
            ActionKind.BUILD,
            name,
            f"{self.tags[name]} not built yet",
            snapshot_spec=snapshot,
            image_ref=base,
            tag=self.tags[name],
            spec_hash=recipe_hash(self.spec, name, ids),
            spec_json=recipe_json(self.spec, name, ids),
            depends_on=self._unbuilt(chain)[:-1],
        )


def _for_creation(action: Action, desired: _Desired) -> Action:
    """`action` with what creating the desired container takes."""
    return replace(
        action,
        sandbox_spec=desired.sandbox,
        image_ref=desired.image_ref,
        spec_hash=desired.spec_hash,
        spec_json=desired.spec_json,
        start=desired.sandbox.state == "running",
        depends_on=desired.depends_on,
    )


def _on(container: ObservedContainer, kind: ActionKind, sandbox: str, reason: str) -> Action:
    """An action on an existing container."""
    return Action(
        kind,
        sandbox,
        reason,
        container_id=container.id,
        container_name=container.name,
        container_state=container.state,
    )


def _group_by_sandbox(
    containers: Iterable[ObservedContainer],
) -> Mapping[str, list[ObservedContainer]]:
    groups: dict[str, list[ObservedContainer]] = {}
    for container in containers:
        if container.sandbox is not None:
            groups.setdefault(container.sandbox, []).append(container)
    return groups
