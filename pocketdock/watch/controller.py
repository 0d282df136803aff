"""`pocketdock watch`: a level-triggered controller for one project's sandboxes.

Everything that happens only says "look again": a save of pocket-dock.toml, a write in a
synced directory, an engine event about one of the project's containers, the periodic
re-check, the engine coming back. A look re-reads the file after a save was noticed,
and the periodic re-check re-reads it when its bytes differ from the last read (which
covers a missed file event); each look observes the engine, plans `sync` and applies
only when the plan holds real changes, so the outcome depends on the state of the
world, never on which notices arrived.

One thread runs the loop and does all the work; watchfiles and the engine's event
stream run in their own threads and only put notices on a queue. Bursts are coalesced
(`pocketdock.watch.debounce`), so an editor's save is one re-plan and an engine's
`kill`, `die`, `stop` is one re-check.

A file that does not parse or validate changes nothing: its problems are printed as
`pocketdock validate` prints them and the last valid version stays in force. When the
engine cannot be reached, watch says so once and retries with growing pauses until it
answers, then converges. SIGINT and SIGTERM end the loop after the step in progress;
sandboxes are left as they are unless `down_on_exit` asks for `down` first.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

import watchfiles

from pocketdock import labels
from pocketdock.engine.client import EngineClient, get_client
from pocketdock.errors import PocketDockError, SpecError, SpecProblem
from pocketdock.reconcile.apply import DONE, ApplyResult, Outcome
from pocketdock.reconcile.observed import ObservedContainer, parse_container_list
from pocketdock.reconcile.plan import RESTORE_KINDS, Action, ActionKind, PlanOptions, plan
from pocketdock.reconcile.project import Project
from pocketdock.spec.effective import ProjectSpec
from pocketdock.spec.loader import load_project, project_id
from pocketdock.watch.debounce import Coalescer, RestoreBackoff
from pocketdock.watch.events import (
    ENGINE_GONE,
    Drift,
    EventFollower,
    Notice,
    StreamBack,
    StreamLost,
)
from pocketdock.watch.filesync import ALWAYS_IGNORED, FileSync, SyncFailure, SyncReport

logger = logging.getLogger("pocketdock.watch")

QUIET_KINDS = (ActionKind.NOOP, ActionKind.BLOCKED)
# What an engine event means for the sandbox, for the "why" of a drift line.
DRIFT_WORDS = {
    "create": "created",
    "start": "started",
    "restart": "restarted",
    "die": "stopped",
    "died": "stopped",
    "stop": "stopped",
    "kill": "stopped",
    "oom": "stopped",
    "destroy": "removed",
    "remove": "removed",
    "pause": "paused",
    "unpause": "unpaused",
    "rename": "renamed",
}


@dataclass(frozen=True)
class WatchOptions:
    """What `pocketdock watch` was asked to do. `file` is the project file itself."""

    file: Path
    socket_path: str | None = None
    interval: float = 30.0  # seconds between full re-checks
    down_on_exit: bool = False
    settle: float = 0.3  # a burst of file changes ends after this long without one...
    max_wait: float = 2.0  # ...or this long after its first change
    drift_settle: float = 0.2  # the same for the engine's events
    drift_max_wait: float = 1.0
    min_backoff: float = 0.5  # retry pauses while the engine is away
    max_backoff: float = 8.0
    watcher_check: float = 1.0  # seconds between looks at whether the file watchers still see


# ---------------------------------------------------------------------------- output


def _now() -> str:
    return datetime.now().strftime("%H:%M:%S")


@dataclass
class Reporter:
    """Prints what watch does: one timestamped line per event, or NDJSON with `as_json`.

    `quiet` keeps only problems (invalid files, failures, the engine going away).
    """

    as_json: bool = False
    quiet: bool = False
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)

    def emit(self, event: str, text: str, *, problem: bool = False, **fields: Any) -> None:
        if self.as_json:
            record = {"time": datetime.now().astimezone().isoformat(), "event": event}
            if text:
                record["message"] = text
            record.update(fields)
            print(json.dumps(record), file=self.out, flush=True)
        elif problem or not self.quiet:
            print(f"{_now()} {text}", file=self.out, flush=True)

    def invalid(self, trigger: str, problems: Sequence[SpecProblem]) -> None:
        """The file's problems, located as `pocketdock validate` prints them (on stderr)."""
        if self.as_json:
            self.emit("invalid", "", trigger=trigger, problems=[_problem_json(p) for p in problems])
            return
        for problem in problems:
            print(str(problem), file=self.err, flush=True)
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        self.emit("invalid", f"{trigger}: invalid file ({count}), nothing applied", problem=True)


def _problem_json(problem: SpecProblem) -> dict[str, Any]:
    return {
        "file": str(problem.path),
        "line": problem.line,
        "column": problem.column,
        "key": problem.key_path,
        "message": problem.message,
    }


def _outcome_text(outcome: Outcome) -> str:
    action = outcome.action
    who = action.sandbox or action.container_name or "?"
    if action.kind is ActionKind.BUILD:
        who = f"snapshot {who}"
    if not outcome.ok:
        return f"failed to {action.kind.value} {who}: {outcome.error}"
    word = DONE[action.kind]
    extra = f"; {outcome.detail}" if outcome.detail else ""
    return f"{word} {who} ({outcome.seconds:.1f} s{extra})"


def _outcome_json(outcome: Outcome) -> dict[str, Any]:
    action = outcome.action
    return {
        "kind": action.kind.value,
        "sandbox": action.sandbox,
        "container": action.container_name,
        "reason": action.reason,
        "ok": outcome.ok,
        "error": outcome.error,
        "detail": outcome.detail,
        "seconds": round(outcome.seconds, 3),
    }


def describe_change(old: ProjectSpec | None, new: ProjectSpec) -> str:
    """What differs between two versions of the file, as declared keys: `sandboxes.b added`."""
    if old is None:
        return ""
    changes: list[str] = []
    if old.name != new.name:
        changes.append("project.name changed")
    for table, before, after in (
        ("sandboxes", old.sandboxes, new.sandboxes),
        ("snapshots", old.snapshots, new.snapshots),
    ):
        changes += [f"{table}.{n} added" for n in after if n not in before]
        changes += [f"{table}.{n} removed" for n in before if n not in after]
        for name in (n for n in after if n in before and before[n] != after[n]):
            changes += _field_changes(
                f"{table}.{name}", before[name].to_dict(), after[name].to_dict()
            )
    if len(changes) > 4:
        changes = [*changes[:3], f"{len(changes) - 3} more"]
    return ", ".join(changes)


def _field_changes(prefix: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    changes = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            changes += [
                f"{prefix}.{key}.{k} changed"
                for k in sorted(set(old) | set(new))
                if old.get(k) != new.get(k)
            ]
        else:
            changes.append(f"{prefix}.{key} changed")
    return changes


def describe_drift(drifts: Iterable[Drift]) -> str:
    """`b stopped, c removed`: the last event of each sandbox, in words."""
    last: dict[str, str] = {}
    for drift in drifts:
        last.pop(drift.sandbox, None)  # keep the order of each sandbox's latest event
        last[drift.sandbox] = DRIFT_WORDS.get(drift.action, drift.action)
    return ", ".join(f"{sandbox} {word}" for sandbox, word in last.items())


# ---------------------------------------------------------------------------- file watching


@dataclass(frozen=True)
class _FilesChanged:
    kind: str  # "spec" or "sync"
    paths: tuple[Path, ...]


@dataclass(frozen=True)
class _Stop:
    signal: str


_Message = Notice | _FilesChanged | _Stop


class _PathWatcher:
    """watchfiles in a thread, putting `_FilesChanged` on the controller's queue.

    A watched directory that is removed and made again is a new directory the thread
    does not see (it stays alive but hears nothing more), and a thread can die, for
    want of inotify watches say; `moved` and `dead` tell the controller to start a new
    watcher. Each directory's identity is taken just before the thread starts, so one
    replaced while it starts counts as moved at the next look. A watched directory
    reported deleted counts as moved too: a new one made at once may get the old one's
    inode number back, and then only that report tells them apart.
    """

    def __init__(
        self,
        kind: str,
        paths: Iterable[Path],
        put: Callable[[_Message], None],
        *,
        recursive: bool,
        accept: Callable[[Path], bool] = lambda _: True,
    ) -> None:
        self.kind = kind
        self.paths = sorted(set(paths))
        self._put = put
        self._recursive = recursive
        self._accept = accept
        self._identities = [_identity(p) for p in self.paths]
        self._lost = threading.Event()  # a watched directory itself was deleted
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"pocketdock-{kind}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for changes in watchfiles.watch(
                *self.paths,
                watch_filter=lambda _change, path: self._accept(Path(path)),
                debounce=200,
                step=20,
                stop_event=self._stop,
                rust_timeout=1000,
                recursive=self._recursive,
                raise_interrupt=False,
            ):
                if any(
                    c == watchfiles.Change.deleted and Path(p) in self.paths for c, p in changes
                ):
                    self._lost.set()
                self._put(_FilesChanged(self.kind, tuple(Path(p) for _, p in changes)))
        except (OSError, RuntimeError) as exc:  # a watched path vanished
            logger.warning("stopped watching %s: %s", ", ".join(map(str, self.paths)), exc)

    def moved(self) -> bool:
        """Whether a watched directory is gone or is no longer the one watched (one stat each)."""
        if self._lost.is_set():
            return True
        pairs = zip(self.paths, self._identities, strict=True)
        return any(_identity(path) != known for path, known in pairs)

    @property
    def dead(self) -> bool:
        return not self._thread.is_alive() and not self._stop.is_set()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=3)


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


# ---------------------------------------------------------------------------- controller


class Controller:
    """The watch loop; `run` returns the exit code (0 after SIGINT/SIGTERM)."""

    def __init__(self, options: WatchOptions, reporter: Reporter | None = None) -> None:
        self.options = options
        self.reporter = reporter or Reporter()
        self.file = options.file
        self.client: EngineClient = get_client(options.socket_path)
        self.project_id = project_id(self.file)
        self.spec: ProjectSpec | None = None
        self.project: Project | None = None
        self.filesync = FileSync(self.client, ignore_root=self.file.resolve().parent)

        self._queue: queue.SimpleQueue[_Message] = queue.SimpleQueue()
        self._file_burst: Coalescer[Path] = Coalescer(options.settle, options.max_wait)
        self._sync_burst: Coalescer[Path] = Coalescer(options.settle, options.max_wait)
        self._drift_burst: Coalescer[Drift] = Coalescer(
            options.drift_settle, options.drift_max_wait
        )
        self._restores = RestoreBackoff()
        self._restore_at: float | None = None  # when a held-back restore is due
        self._stopping: str | None = None
        self._engine_down = False
        self._backoff = options.min_backoff
        self._retry_at: float | None = None
        self._next_check = time.monotonic() + options.interval
        self._watcher_check = time.monotonic() + options.watcher_check
        self._blocked: set[tuple[str, str]] = set()
        self._change = ""  # what the last load changed, in declared keys
        self._invalid = False  # the file on disk is broken; the last valid one rules
        self._read: bytes | None = None  # the file's bytes at the last load, valid or not
        self._sync_watcher: _PathWatcher | None = None
        self._spec_watcher: _PathWatcher | None = None
        self._events: EventFollower | None = None

    # -- the loop ---------------------------------------------------------------------

    def run(self) -> int:
        restore = self._install_signal_handlers()
        try:
            self._start_threads()
            if self._load("start"):
                self._reconcile("start", announce=True)
            while self._stopping is None:
                self._step()
            self._finish()
        finally:
            self._stop_threads()
            restore()
        return 0

    def request_stop(self, reason: str = "stop requested") -> None:
        """Ask the loop to end after its current step (thread- and signal-safe)."""
        self._queue.put(_Stop(reason))

    def _step(self) -> None:
        self._dispatch(self._next_message())
        now = time.monotonic()
        if self._stopping is not None:
            return
        if now >= self._watcher_check:
            self._watcher_check = now + self.options.watcher_check
            self._renew_watchers(dead_too=now >= self._next_check)
        if self._file_burst.take() is not None:
            self._reload("file changed")
            return
        drifts = self._drift_burst.take()
        if drifts is not None:
            self._reconcile("drift", describe_drift(drifts))
            return
        if self._restore_at is not None and now >= self._restore_at:
            self._reconcile("backoff over")
            return
        if self._retry_at is not None and now >= self._retry_at:
            self._reconcile("engine back" if self._engine_down else "event stream reconnected")
            return
        if now >= self._next_check:
            if not (self._file_edited() and self._reload("periodic check")):
                self._reconcile("periodic check")
            return
        changed = self._sync_burst.take()
        if changed is not None and not self._engine_down:
            self._sync_files(changed)

    def _next_message(self) -> _Message | None:
        deadlines = [
            self._file_burst.deadline(),
            self._drift_burst.deadline(),
            self._sync_burst.deadline(),
            self._retry_at,
            self._restore_at,
            self._watcher_check,
            self._next_check,
        ]
        wake = min(d for d in deadlines if d is not None)
        try:
            return self._queue.get(timeout=max(0.0, wake - time.monotonic()))
        except queue.Empty:
            return None

    def _dispatch(self, message: _Message | None) -> None:
        if isinstance(message, _Stop):
            self._stopping = message.signal
        elif isinstance(message, _FilesChanged):
            burst = self._file_burst if message.kind == "spec" else self._sync_burst
            burst.extend(message.paths)
        elif isinstance(message, Drift):
            self._drift_burst.add(message)
        elif isinstance(message, StreamLost):
            self._retry_soon()  # a look tells whether the engine itself is gone
        elif isinstance(message, StreamBack):
            self._retry_soon()  # events may have been missed while it was away

    def _retry_soon(self) -> None:
        self._retry_at = time.monotonic()

    # -- loading the file -------------------------------------------------------------

    def _reload(self, trigger: str) -> bool:
        """Load the file and reconcile with it; False when it is not valid (nothing done).

        File changes waiting to be synced are kept when it is not valid: syncing them
        needs only the last valid version's rules.
        """
        was_invalid = self._invalid
        if not self._load(trigger):
            return False
        self._sync_burst.clear()  # the reconcile below syncs every rule anyway
        # After a broken save, say that the fix was taken even if nothing changes.
        self._reconcile(trigger, self._change, announce=was_invalid)
        return True

    def _file_edited(self) -> bool:
        """Whether the file's bytes differ from those of the last load."""
        current = _read_bytes(self.file)
        return current is not None and current != self._read

    def _load(self, trigger: str) -> bool:
        """Re-read the file; False (with its problems printed) when it is not valid."""
        # Read before the loader does: a save in between makes the next check reload.
        self._read = _read_bytes(self.file)
        try:
            spec = load_project(self.file)
        except SpecError as exc:
            self.reporter.invalid(trigger, exc.problems)
            self._invalid = True
            return False
        self._invalid = False
        self._restores.reset()  # an edit may be what makes a crashing sandbox work
        self._change = describe_change(self.spec, spec)
        self.spec = spec
        self.project = Project.from_spec(spec, socket_path=self.options.socket_path)
        self.filesync.set_rules({n: s.sync for n, s in spec.sandboxes.items() if s.sync})
        self._update_sync_watcher()
        logger.debug("%s: loaded %s", trigger, self.file)
        return True

    # -- reconciling ------------------------------------------------------------------

    def _reconcile(self, trigger: str, detail: str = "", *, announce: bool = False) -> None:
        """Observe, plan `sync`, apply when the plan holds changes, then sync files."""
        self._retry_at = self._restore_at = None
        self._next_check = time.monotonic() + self.options.interval
        if self.project is None or self.spec is None:
            return
        started = time.perf_counter()
        try:
            observed = self.project.observe()
            self._engine_back()
            actions = plan(self.spec, observed, PlanOptions(command="sync"))
            self._report_blocked(actions)
            containers = observed.containers
            held = self._held_back(actions)
            if held:
                actions = plan(self.spec, observed, PlanOptions(command="sync", hold=held))
            result = None
            if any(a.kind not in QUIET_KINDS for a in actions):
                result = self._apply(held)
                containers = self._observe_containers()
            if result is not None and (result.changed or result.failed):
                self._report_apply(trigger, detail, result, time.perf_counter() - started)
            else:
                logger.info("%s: nothing to apply", f"{trigger}: {detail}" if detail else trigger)
                if announce:
                    self._report_in_sync(trigger, detail, actions)
            self._sync_files(None, containers)
        except ENGINE_GONE as exc:
            self._engine_gone(str(exc))
        except Exception as exc:  # watch must outlive any one failed look
            logger.debug("%s failed", trigger, exc_info=True)
            self.reporter.emit("error", f"{trigger}: {exc}", problem=True, error=str(exc))

    def _held_back(self, actions: Sequence[Action]) -> frozenset[str]:
        """Sandboxes whose restore waits for their backoff; says so once per pause."""
        waits = {
            a.sandbox: self._restores.wait(a.sandbox)
            for a in actions
            if a.kind in RESTORE_KINDS and a.sandbox
        }
        held = {name: wait for name, wait in waits.items() if wait > 0}
        for name, wait in held.items():
            if self._restores.announce(name):
                self.reporter.emit(
                    "backoff",
                    f"{name} keeps stopping; restarting it again in {wait:.0f} s",
                    sandbox=name,
                    seconds=round(wait, 1),
                )
        if held:
            self._restore_at = time.monotonic() + min(held.values())
        return frozenset(held)

    def _apply(self, held: frozenset[str]) -> ApplyResult:
        """`sync`, leaving the sandboxes in `held` down; records each restore."""
        assert self.project is not None
        result = self.project.sync(hold=held, on_wait=self._waiting)
        for outcome in result.changed:
            if outcome.action.kind in RESTORE_KINDS and outcome.action.sandbox:
                self._restores.restored(outcome.action.sandbox)
        return result

    def _observe_containers(self) -> tuple[ObservedContainer, ...]:
        items = self.client.list_containers(labels={labels.PROJECT_ID: self.project_id})
        return parse_container_list(items, self.project_id)

    def _sync_files(
        self, changed: Sequence[Path] | None, containers: Iterable[ObservedContainer] | None = None
    ) -> None:
        if not self.filesync.rules:
            return
        try:
            if containers is None:
                containers = self._observe_containers()
            running = _running_by_sandbox(containers)
            results = self.filesync.sync(running, changed)
        except ENGINE_GONE as exc:
            self._engine_gone(str(exc))
            return
        except Exception as exc:  # keep watching; the next look retries
            logger.debug("file sync failed", exc_info=True)
            self.reporter.emit("error", f"file sync: {exc}", problem=True, error=str(exc))
            return
        for result in results:
            self._report_sync(result)

    def _engine_gone(self, error: str) -> None:
        if not self._engine_down:
            self._engine_down = True
            self._backoff = self.options.min_backoff
            self.reporter.emit(
                "engine_down",
                f"engine unreachable, retrying until it is back: {error}",
                problem=True,
                error=error,
            )
        self._retry_at = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, self.options.max_backoff)

    def _engine_back(self) -> None:
        if self._engine_down:
            self._engine_down = False
            self.reporter.emit("engine_up", "engine is back", problem=True)

    def _waiting(self, message: str) -> None:
        self.reporter.emit("waiting", message, message=message)

    # -- reports ----------------------------------------------------------------------

    def _report_apply(self, trigger: str, detail: str, result: ApplyResult, seconds: float) -> None:
        changed = result.changed
        why = f"{trigger}: {detail}" if detail else trigger
        what = ", ".join(_outcome_text(o) for o in changed) or "nothing to do"
        self.reporter.emit(
            "reconcile",
            f"{why} -> {what}",
            problem=result.failed,
            trigger=trigger,
            detail=detail,
            seconds=round(seconds, 3),
            failed=result.failed,
            actions=[_outcome_json(o) for o in changed],
        )

    def _report_in_sync(self, trigger: str, detail: str, actions: Sequence[Action]) -> None:
        declared = self.spec.sandboxes if self.spec is not None else {}
        count = sum(1 for a in actions if a.sandbox in declared)
        why = f"{trigger}: {detail}" if detail else trigger
        self.reporter.emit(
            "reconcile",
            f"{why} -> in sync ({count} sandbox{'es' if count != 1 else ''})",
            trigger=trigger,
            detail=detail,
            seconds=0.0,
            failed=False,
            actions=[],
        )

    def _report_blocked(self, actions: Sequence[Action]) -> None:
        blocked = {(a.target, a.reason) for a in actions if a.kind is ActionKind.BLOCKED}
        for target, reason in sorted(blocked - self._blocked):
            self.reporter.emit(
                "blocked", f"blocked {target}: {reason}", problem=True, target=target, reason=reason
            )
        self._blocked = blocked

    def _report_sync(self, result: SyncReport | SyncFailure) -> None:
        if isinstance(result, SyncFailure):
            self.reporter.emit(
                "sync_failed",
                str(result),
                problem=True,
                sandbox=result.sandbox,
                target=result.target,
                error=result.error,
            )
            return
        self.reporter.emit(
            "sync",
            str(result),
            sandbox=result.sandbox,
            target=result.target,
            files=result.sent,
            deleted=result.deleted,
            ms=round(result.seconds * 1000),
            initial=result.initial,
        )

    # -- threads and signals ----------------------------------------------------------

    def _start_threads(self) -> None:
        self._start_spec_watcher()
        self._events = EventFollower(
            self.client,
            self.project_id,
            self._queue.put,
            min_backoff=self.options.min_backoff,
            max_backoff=self.options.max_backoff,
        )
        self._events.start()

    def _start_spec_watcher(self) -> None:
        name = self.file.name
        self._spec_watcher = _PathWatcher(
            "spec",
            [self.file.resolve().parent],
            self._queue.put,
            recursive=False,
            accept=lambda path: path.name == name,
        )

    def _renew_watchers(self, *, dead_too: bool) -> None:
        """Start new file watchers where the old ones no longer see their directories.

        What changed while no watcher saw it is looked at as if just reported: the
        file is reloaded and the renewed sources are synced. A watcher whose thread
        died is only replaced when `dead_too` (at the periodic check), so one that
        cannot start (out of inotify watches) costs one warning per interval.
        Note that the project directory itself gone does not stop watch; the file is
        then read again only once it is back.
        """
        spec = self._spec_watcher
        there = os.path.isdir(self.file.resolve().parent)
        if spec is not None and there and (spec.moved() or (dead_too and spec.dead)):
            spec.stop()
            self._start_spec_watcher()
            self._file_burst.add(self.file)
        sync = self._sync_watcher
        renewed = self._update_sync_watcher(force=sync is not None and dead_too and sync.dead)
        if renewed:
            self._sync_burst.extend(renewed)

    def _update_sync_watcher(self, *, force: bool = False) -> Sequence[Path]:
        """Watch the synced directories that exist now; what to look at again, if renewed.

        The watcher is kept while it watches the same directories, the very ones it
        started on, unless `force`. A renewed watcher's directories are returned, and
        the old one's too: stopping a watcher drops the changes it had not passed on
        yet, such as its directory's own removal.
        """
        # os.path.isdir, unlike Path.is_dir on 3.11, says False for any OSError.
        sources = sorted(p for p in self.filesync.sources() if os.path.isdir(p))
        current = self._sync_watcher
        if current is not None and current.paths == sources and not force and not current.moved():
            return ()
        if current is None and not sources:
            return ()
        renewed = set(sources)
        if current is not None:
            current.stop()
            renewed.update(current.paths)
        self._sync_watcher = (
            _PathWatcher(
                "sync",
                sources,
                self._queue.put,
                recursive=True,
                accept=lambda path: ALWAYS_IGNORED.isdisjoint(path.parts),
            )
            if sources
            else None
        )
        return sorted(renewed)

    def _stop_threads(self) -> None:
        for watcher in (self._spec_watcher, self._sync_watcher):
            if watcher is not None:
                watcher.stop()
        if self._events is not None:
            self._events.stop()

    def _install_signal_handlers(self) -> Callable[[], None]:
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

        def handler(signum: int, frame: FrameType | None) -> None:
            # A second signal acts as it normally would, for a stuck step.
            for sig, old in previous.items():
                signal.signal(sig, old)
            self.request_stop(signal.Signals(signum).name)

        for sig in previous:
            signal.signal(sig, handler)

        def restore() -> None:
            for sig, old in previous.items():
                signal.signal(sig, old)

        return restore

    def _finish(self) -> None:
        reason = self._stopping or "stop requested"
        if not self.options.down_on_exit or self.project is None:
            self.reporter.emit(
                "stop", f"{reason}: stopped watching, sandboxes left as they are", reason=reason
            )
            return
        started = time.perf_counter()
        try:
            result = self.project.down()
        except PocketDockError as exc:
            self.reporter.emit(
                "error", f"{reason}: down failed: {exc}", problem=True, error=str(exc)
            )
            return
        self._report_apply(f"{reason}", "down on exit", result, time.perf_counter() - started)
        self.reporter.emit("stop", f"{reason}: stopped watching", reason=reason)


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _running_by_sandbox(containers: Iterable[ObservedContainer]) -> dict[str, str]:
    running: dict[str, str] = {}
    for container in sorted(containers, key=lambda c: c.created, reverse=True):
        if container.sandbox and container.running:
            running.setdefault(container.sandbox, container.id)
    return running
