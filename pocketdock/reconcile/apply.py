"""Apply: carry out a plan against the engine, concurrently, deciding nothing.

Builds run first, each after the builds it depends on; sandbox actions run on a bounded
pool once their builds have succeeded. A failing action fails only itself (and whatever
depends on it); the result lists every outcome so the caller can summarise.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pocketdock import labels as L
from pocketdock.engine.client import EngineClient
from pocketdock.engine.parse import inspect_labels, split_image_ref
from pocketdock.errors import Conflict, ContainerNotFound, NameConflict, PocketDockError
from pocketdock.reconcile.observe import SETUP_DONE, SETUP_PENDING
from pocketdock.reconcile.plan import Action, ActionKind
from pocketdock.sandbox import instances
from pocketdock.sandbox.containers import (
    STOP_TIMEOUT,
    Container,
    commit_container,
    create_new_container,
)
from pocketdock.spec.effective import EffectiveSandbox, ProjectSpec

DEFAULT_PARALLEL = 8
# What a finished action did, in words, for progress lines and summaries.
DONE = {
    ActionKind.CREATE: "created",
    ActionKind.RESUME: "resumed",
    ActionKind.STOP: "stopped",
    ActionKind.RECREATE: "recreated",
    ActionKind.REMOVE: "removed",
    ActionKind.BUILD: "built",
    ActionKind.NOOP: "unchanged",
    ActionKind.BLOCKED: "blocked",
}
REMOVAL_WAIT = 10.0  # seconds to wait for a removal the engine already has under way


@dataclass(frozen=True)
class Outcome:
    """How one action went. `detail` adds what the user should know (a backup tag...)."""

    action: Action
    ok: bool
    seconds: float
    error: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class ApplyEvent:
    """Progress for the CLI: an action `started`, or `finished` with its outcome."""

    phase: str  # "started" | "finished"
    action: Action
    outcome: Outcome | None = None


EventHandler = Callable[[ApplyEvent], None]


@dataclass
class ApplyResult:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(not o.ok for o in self.outcomes)

    @property
    def changed(self) -> list[Outcome]:
        quiet = (ActionKind.NOOP, ActionKind.BLOCKED)
        return [o for o in self.outcomes if o.action.kind not in quiet]

    @property
    def blocked(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.action.kind is ActionKind.BLOCKED]

    def failures(self) -> dict[str, str]:
        return {o.action.target: o.error or "failed" for o in self.outcomes if not o.ok}


def timestamp_tag(client: EngineClient, repo: str) -> str:
    """A tag of `repo` from the UTC time, with `-2`, `-3`, ... after it when taken.

    A second commit within the same second then never moves the tag off the first
    image, which would leave that one untagged for any image prune to delete.
    """
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    tag, n = stamp, 1
    while client.image_id(f"{repo}:{tag}") is not None:
        n += 1
        tag = f"{stamp}-{n}"
    return tag


def backup_tag(client: EngineClient, spec: ProjectSpec, sandbox: str) -> tuple[str, str]:
    repo = f"pocketdock-backup/{spec.container_name(sandbox)}"
    return repo, timestamp_tag(client, repo)


class Executor:
    """Runs one plan's actions; make one per apply."""

    def __init__(
        self,
        client: EngineClient,
        spec: ProjectSpec,
        *,
        parallel: int = DEFAULT_PARALLEL,
        on_event: EventHandler | None = None,
    ) -> None:
        self.client = client
        self.spec = spec
        self.parallel = max(1, parallel)
        self.on_event = on_event
        self._lock = threading.Lock()

    def run(self, actions: Sequence[Action]) -> ApplyResult:
        result = ApplyResult()
        builds: dict[str, Future[Outcome]] = {}
        with ThreadPoolExecutor(max_workers=self.parallel) as pool:
            try:
                futures = []
                for action in actions:
                    deps = [builds[d] for d in action.depends_on if d in builds]
                    future = pool.submit(self._run_after, action, deps)
                    if action.kind is ActionKind.BUILD:
                        builds[action.sandbox] = future
                    futures.append(future)
                result.outcomes = [f.result() for f in futures]
            except KeyboardInterrupt:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        return result

    def _run_after(self, action: Action, deps: list[Future[Outcome]]) -> Outcome:
        failed = [d.result().action.sandbox for d in deps if not d.result().ok]
        if failed:
            error = f"snapshot {', '.join(failed)} failed to build"
            return Outcome(action, ok=False, seconds=0.0, error=error)
        return self._run(action)

    def _emit(self, event: ApplyEvent) -> None:
        if self.on_event is not None:
            with self._lock:
                self.on_event(event)

    def _run(self, action: Action) -> Outcome:
        if action.kind in (ActionKind.NOOP, ActionKind.BLOCKED):
            return Outcome(action, ok=True, seconds=0.0)
        self._emit(ApplyEvent("started", action))
        started = time.perf_counter()
        try:
            detail = self._dispatch(action)
            outcome = Outcome(action, ok=True, seconds=time.perf_counter() - started, detail=detail)
        except (PocketDockError, OSError, ValueError) as exc:
            # Instance records and volume directories live on the host: a full disk or a
            # vanished file fails this action only, not the whole run; so does a value the
            # imperative API rejects (its ValueError).
            error = f"host file error: {exc}" if isinstance(exc, OSError) else str(exc)
            outcome = Outcome(action, ok=False, seconds=time.perf_counter() - started, error=error)
        self._emit(ApplyEvent("finished", action, outcome))
        return outcome

    def _dispatch(self, action: Action) -> str:
        kind = action.kind
        if kind is ActionKind.CREATE:
            return self._create(action)
        if kind is ActionKind.RESUME:
            return self._resume(action)
        if kind is ActionKind.STOP:
            self.client.stop_container(self._id(action), timeout=STOP_TIMEOUT)
            return ""
        if kind is ActionKind.REMOVE:
            self._remove(action)
            return ""
        if kind is ActionKind.RECREATE:
            return self._recreate(action)
        if kind is ActionKind.BUILD:
            return self._build(action)
        raise PocketDockError(f"cannot apply an action of kind {kind}")

    @staticmethod
    def _id(action: Action) -> str:
        assert action.container_id is not None, f"{action.kind} needs a container"
        return action.container_id

    # -- sandbox actions --------------------------------------------------------------

    def _labels(self, action: Action, sandbox: EffectiveSandbox) -> dict[str, str]:
        assert action.spec_hash is not None and action.spec_json is not None
        return {
            **sandbox.labels,
            L.PROJECT_ID: self.spec.project_id,
            L.PROJECT_FILE: str(self.spec.file),
            L.SANDBOX: sandbox.name,
            L.SPEC_HASH: action.spec_hash,
            L.SPEC: action.spec_json,
        }

    def _create(self, action: Action) -> str:
        sandbox = action.sandbox_spec
        assert sandbox is not None and action.image_ref is not None
        name = action.container_name or self.spec.container_name(sandbox.name)
        for _ in range(3):
            try:
                container = self._create_container(action, sandbox, name)
            except NameConflict:
                owner = self._owner_labels(name)
                if owner is None:
                    continue  # the other container vanished meanwhile: try again
                if owner.get(L.PROJECT_ID) != self.spec.project_id:
                    raise _foreign(name, owner) from None
                if owner.get(L.SANDBOX) == sandbox.name:
                    return "already created by a concurrent run"
                raise _name_clash(name, sandbox.name, owner.get(L.SANDBOX) or "?") from None
            if sandbox.setup:
                self._setup(container, sandbox)
                if not action.start:
                    container.stop()
            return ""
        raise NameConflict(
            f"failed to create {name}: the name stayed taken by a vanishing container"
        )

    def _create_container(self, action: Action, sandbox: EffectiveSandbox, name: str) -> Container:
        assert action.image_ref is not None
        return create_new_container(
            image=action.image_ref,
            name=name,
            persist=sandbox.persist,
            volumes={
                v.source: {"target": v.target, "read_only": v.read_only} for v in sandbox.volumes
            },
            project=self.spec.name,
            env=sandbox.env,
            workdir=sandbox.workdir,
            mem_limit=sandbox.mem_limit,
            cpus=sandbox.cpus,
            socket_path=self.client.endpoint.display,
            command=sandbox.command,
            labels=self._labels(action, sandbox),
            start=action.start or bool(sandbox.setup),
            project_dir=self.spec.root,
            pids_limit=sandbox.pids_limit,
            no_new_privileges=sandbox.no_new_privileges,
            allow_engine_socket=sandbox.allow_engine_socket,
            allow_host_root=sandbox.allow_host_root,
            record={"setup": SETUP_PENDING} if sandbox.setup else None,
        )

    def _owner_labels(self, name: str) -> dict[str, str] | None:
        """Labels of the container holding `name`, or None if it is gone.

        Docker reserves a name a moment before the container can be inspected, so a
        create that lost a race may briefly see neither; poll for up to a second.
        """
        for _ in range(20):
            try:
                return inspect_labels(self.client.inspect_container(name))
            except ContainerNotFound:
                time.sleep(0.05)
        return None

    def _setup(self, container: Container, sandbox: EffectiveSandbox) -> None:
        _run_all(container, sandbox.setup, f"setup in {container.name} (left for inspection)")
        if container.data_path is not None:
            record = instances.read_instance(container.data_path)
            instances.write_instance(container.data_path, {**record, "setup": SETUP_DONE})

    def _resume(self, action: Action) -> str:
        if action.container_state == "paused":
            self.client.unpause_container(self._id(action))
        else:
            self.client.start_container(self._id(action))
        return ""

    def _remove(self, action: Action) -> None:
        container_id = self._id(action)
        try:
            self.client.remove_container(container_id, force=True)
        except ContainerNotFound:
            pass  # already gone: the goal is reached
        except Conflict:
            # The engine may still be carrying out a removal whose client went away (an
            # interrupted run, a dropped connection): wait for it to finish.
            if not self._gone(container_id):
                raise
        if action.container_name:
            instances.remove_instance(instances.instance_dir(self.spec.root, action.container_name))

    def _gone(self, container_id: str) -> bool:
        """Poll until the container no longer exists; False if it outlives the timeout."""
        deadline = time.monotonic() + REMOVAL_WAIT
        while time.monotonic() < deadline:
            try:
                self.client.inspect_container(container_id)
            except ContainerNotFound:
                return True
            time.sleep(0.1)
        return False

    def _recreate(self, action: Action) -> str:
        detail = ""
        if action.backup:
            repo, tag = backup_tag(self.client, self.spec, action.sandbox)
            commit_container(self.client, self._id(action), repo=repo, tag=tag)
            detail = f"backed up to {repo}:{tag}"
        self._remove(action)
        created = self._create(action)
        return "; ".join(x for x in (detail, created) if x)

    # -- snapshot builds --------------------------------------------------------------

    def _build(self, action: Action) -> str:
        snapshot = action.snapshot_spec
        assert snapshot is not None and action.image_ref and action.tag
        repo, tag = split_image_ref(action.tag)
        builder = create_new_container(
            image=action.image_ref,
            name=f"{self.spec.name}-build-{snapshot.name}-{int(time.time() * 1000) % 100000}",
            project=self.spec.name,
            socket_path=self.client.endpoint.display,
            labels={L.PROJECT_ID: self.spec.project_id, L.PROJECT_FILE: str(self.spec.file)},
        )
        try:
            _run_all(builder, snapshot.run, f"snapshot {snapshot.name}")
            recipe = {L.SNAPSHOT_RECIPE: action.spec_hash or ""}
            commit_container(self.client, builder.id, repo=repo, tag=tag, labels=recipe)
        finally:
            builder.shutdown()
        return f"built {action.tag}"


def _foreign(name: str, labels: dict[str, str]) -> NameConflict:
    owner = labels.get(L.PROJECT_FILE)
    whose = f"the project at {owner}" if owner else "something other than pocketdock"
    return NameConflict(
        f"container {name} exists and belongs to {whose}; pocketdock will not touch it. "
        "Rename or remove it, or give this project another [project] name"
    )


def _name_clash(name: str, sandbox: str, other: str) -> NameConflict:
    """Two sandboxes of one project map to one container name (`a` + `b-c`, `a-b` + `c`)."""
    return NameConflict(
        f"container {name} already holds this project's sandbox {other}, so sandbox "
        f"{sandbox} cannot have that name; rename one of them, or the project"
    )


def _run_all(container: Container, commands: Sequence[str], what: str) -> None:
    """Run each command in turn; the first failure raises with its exit code and output."""
    for command in commands:
        result = container.run(command)
        if not result.ok:
            output = (result.stdout + result.stderr).strip()
            raise PocketDockError(
                f"{what}: {command!r} exited with {result.exit_code}"
                + (f":\n{output}" if output else "")
            )
