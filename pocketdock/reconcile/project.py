"""`Project`: the Python API behind `pocketdock up / down / sync / plan / status`.

Every command is observe -> plan -> apply. `plan()` only reads from the engine; the
others hold the project's apply lock (`pocketdock.reconcile.lock`) from observation to
the end of the apply, so concurrent runs on one project serialise and the later one
finds the work done.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from pocketdock.engine.client import EngineClient, get_client
from pocketdock.engine.parse import split_image_ref
from pocketdock.errors import ContainerNotFound, PocketDockError
from pocketdock.reconcile.apply import (
    DEFAULT_PARALLEL,
    ApplyResult,
    EventHandler,
    Executor,
    timestamp_tag,
)
from pocketdock.reconcile.lock import lock_path, project_lock
from pocketdock.reconcile.observe import observe
from pocketdock.reconcile.observed import ObservedState
from pocketdock.reconcile.plan import Action, ActionKind, Command, PlanOptions, plan
from pocketdock.sandbox.containers import Container, commit_container
from pocketdock.spec.effective import EffectiveSandbox, ProjectSpec


class UnknownSandbox(PocketDockError):
    """A command named a sandbox the project file does not declare."""

    exit_code = 2


@dataclass(frozen=True)
class StatusRow:
    """One line of `pocketdock status`: a declared sandbox or an orphan container."""

    sandbox: str
    container: str
    state: str  # the engine's state word, or "missing"
    persist: bool
    image: str
    drift: bool  # the container differs from the file, or is not in its declared state
    declared: bool


class Project:
    """A loaded pocket-dock.toml bound to an engine."""

    def __init__(self, spec: ProjectSpec, *, socket_path: str | None = None) -> None:
        self.spec = spec
        self.socket_path = socket_path
        self._client: EngineClient | None = None
        self.last_exit_code: int | None = None  # set by `exec_stream` when it ends

    @classmethod
    def load(cls, path: str | Path | None = None, *, socket_path: str | None = None) -> Project:
        """Load the file at `path` (or in that directory); None searches upwards from here."""
        from pocketdock.spec.loader import load_project

        return cls(load_project(Path(path) if path is not None else None), socket_path=socket_path)

    @classmethod
    def from_spec(cls, spec: ProjectSpec, *, socket_path: str | None = None) -> Project:
        return cls(spec, socket_path=socket_path)

    @property
    def client(self) -> EngineClient:
        if self._client is None:
            self._client = get_client(self.socket_path)
        return self._client

    # -- read-only --------------------------------------------------------------------

    def observe(self) -> ObservedState:
        return observe(self.client, self.spec)

    def _options(
        self,
        command: Command,
        names: Iterable[str] | None,
        recreate: Iterable[str] = (),
        prune_persistent: bool = False,
        destroy: bool = False,
    ) -> PlanOptions:
        chosen = frozenset(names) if names is not None else None
        asked = (chosen or frozenset()) | frozenset(recreate)
        unknown = sorted(asked - set(self.spec.sandboxes))
        if unknown and not (command == "down" and destroy):
            declared = ", ".join(self.spec.sandboxes) or "none"
            raise UnknownSandbox(
                f"no sandbox named {', '.join(unknown)} in {self.spec.file} (declared: {declared})"
            )
        return PlanOptions(
            command=command,
            names=chosen,
            recreate=frozenset(recreate),
            prune_persistent=prune_persistent,
            destroy=destroy,
        )

    def plan(
        self,
        command: Command = "sync",
        names: Iterable[str] | None = None,
        recreate: Iterable[str] = (),
        prune_persistent: bool = False,
        destroy: bool = False,
    ) -> list[Action]:
        """What `command` would do now, sandbox by sandbox; changes nothing."""
        options = self._options(command, names, recreate, prune_persistent, destroy)
        return plan(self.spec, self.observe(), options)

    def status(self) -> list[StatusRow]:
        observed = self.observe()
        actions = plan(self.spec, observed, PlanOptions(command="sync"))
        by_id = {c.id: c for c in observed.containers}
        rows = []
        for action in actions:
            if action.kind is ActionKind.BUILD:
                continue
            container = by_id.get(action.container_id or "")
            declared = action.sandbox in self.spec.sandboxes
            sandbox = self.spec.sandboxes.get(action.sandbox)
            rows.append(
                StatusRow(
                    sandbox=action.sandbox or "-",
                    container=container.name if container else (action.container_name or "-"),
                    state=container.state if container else "missing",
                    persist=container.persist if container else bool(sandbox and sandbox.persist),
                    image=_image_label(sandbox) if sandbox else "-",
                    drift=action.kind is not ActionKind.NOOP,
                    declared=declared,
                )
            )
        return rows

    # -- converging -------------------------------------------------------------------

    def _apply(
        self,
        options: PlanOptions,
        *,
        parallel: int,
        on_event: EventHandler | None,
        on_wait: Callable[[str], None] | None,
    ) -> ApplyResult:
        if not lock_path(self.spec.root).exists():
            # Without an engine, fail before the lock writes anything into the project dir
            # (later runs skip this request: an absent engine fails at the list call).
            self.client.ping()
        with project_lock(self.spec.root, on_wait=on_wait):
            actions = plan(self.spec, self.observe(), options)
            executor = Executor(self.client, self.spec, parallel=parallel, on_event=on_event)
            return executor.run(actions)

    def up(
        self,
        names: Iterable[str] | None = None,
        recreate: Iterable[str] = (),
        *,
        parallel: int = DEFAULT_PARALLEL,
        on_event: EventHandler | None = None,
        on_wait: Callable[[str], None] | None = None,
    ) -> ApplyResult:
        """Create what is missing and start what is stopped; see the README's table."""
        options = self._options("up", names, recreate)
        return self._apply(options, parallel=parallel, on_event=on_event, on_wait=on_wait)

    def sync(
        self,
        prune_persistent: bool = False,
        *,
        hold: Iterable[str] = (),
        parallel: int = DEFAULT_PARALLEL,
        on_event: EventHandler | None = None,
        on_wait: Callable[[str], None] | None = None,
    ) -> ApplyResult:
        """`up`, plus stop what is declared stopped and clear out undeclared containers.

        Sandboxes in `hold` are neither created nor started this time.
        """
        options = replace(
            self._options("sync", None, prune_persistent=prune_persistent), hold=frozenset(hold)
        )
        return self._apply(options, parallel=parallel, on_event=on_event, on_wait=on_wait)

    def down(
        self,
        names: Iterable[str] | None = None,
        destroy: bool = False,
        *,
        parallel: int = DEFAULT_PARALLEL,
        on_event: EventHandler | None = None,
        on_wait: Callable[[str], None] | None = None,
    ) -> ApplyResult:
        """Remove ephemeral sandboxes and stop persistent ones; `destroy` removes all."""
        options = self._options("down", names, destroy=destroy)
        return self._apply(options, parallel=parallel, on_event=on_event, on_wait=on_wait)

    # -- single sandboxes -------------------------------------------------------------

    def container(self, sandbox: str) -> Container:
        """The running container of `sandbox`."""
        if sandbox not in self.spec.sandboxes:
            self._options("up", [sandbox])  # raises UnknownSandbox with the declared list
        name = self.spec.container_name(sandbox)
        observed = {c.sandbox: c for c in self.observe().containers}
        found = observed.get(sandbox)
        if found is None:
            raise ContainerNotFound(
                f"sandbox {sandbox} has no container; run `pocketdock up {sandbox}`"
            )
        if not found.running:
            raise PocketDockError(
                f"sandbox {sandbox} is {found.state}; run `pocketdock up {sandbox}`"
            )
        return Container(
            self.client,
            id=found.id,
            name=name,
            persist=found.persist,
            project=self.spec.name,
        )

    def exec_stream(self, sandbox: str, argv: list[str]) -> Iterator[tuple[int, bytes]]:
        """Run `argv` in `sandbox`, yielding (1 stdout | 2 stderr, bytes); then `.exit_code`."""
        container = self.container(sandbox)
        spec = self.spec.sandboxes[sandbox]
        exec_id = self.client.exec_create(container.id, argv, workdir=spec.workdir)
        yield from self.client.exec_stream(exec_id)
        self.last_exit_code = container._exit_code(exec_id)

    def snapshot(self, sandbox: str, tag: str | None = None, save_as: str | None = None) -> str:
        """Commit `sandbox` (default tag `pocketdock/<project>/<sandbox>:<UTC time>`).

        With `save_as`, records `[snapshots.<save_as>] image = "<tag>"` in the project
        file, keeping its comments and layout. Returns the tag.
        """
        container = self.container(sandbox)
        if tag is None:
            repo = f"pocketdock/{self.spec.name}/{sandbox}"
            tag = f"{repo}:{timestamp_tag(self.client, repo)}"
        repo, image_tag = split_image_ref(tag)
        commit_container(self.client, container.id, repo=repo, tag=image_tag)
        full = f"{repo}:{image_tag}"
        if save_as is not None:
            from pocketdock.spec.edit import set_snapshot_image

            set_snapshot_image(self.spec.file, save_as, full)
        return full


def _image_label(sandbox: EffectiveSandbox) -> str:
    return sandbox.image or f"snapshot:{sandbox.snapshot}"
