"""Following the engine's event stream for one project's containers, in a thread.

`EventFollower` asks the engine for the events of containers labelled with the project's
identity and passes each lifecycle change on as a `Drift` notice. The notices only say
"look again": the controller re-plans from the engine's actual state, so events caused
by pocketdock's own actions just lead to a plan with nothing to do.

When the stream breaks or the engine cannot be reached, the follower sends one
`StreamLost`, then retries with growing pauses (pinging first), and sends `StreamBack`
once it follows the stream again; the controller re-checks everything then, which
covers the events missed in between. A stream counts as followed again only once it
delivered an event or stayed open for `settle` seconds: an engine that answers the ping
but refuses or drops the stream at once (a socket proxy answering 403, say) keeps the
pauses growing instead of causing a re-check every half second.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pocketdock import labels
from pocketdock.engine.client import EngineClient
from pocketdock.errors import EngineError, EngineProtocolError, EngineTimeout, EngineUnavailable

logger = logging.getLogger("pocketdock.watch.events")

# The errors that mean "the engine is not there (any more)" rather than "it refused":
# no answer at all, a broken connection, or a request it took and never answered.
ENGINE_GONE: tuple[type[EngineError], ...] = (
    EngineUnavailable,
    EngineProtocolError,
    EngineTimeout,
)

# Container events that can move a sandbox away from its declared state. Podman's
# compatible API spells a few of them differently.
LIFECYCLE_EVENTS = (
    "create",
    "start",
    "restart",
    "die",
    "died",
    "stop",
    "kill",
    "destroy",
    "remove",
    "pause",
    "unpause",
    "oom",
    "rename",
)


@dataclass(frozen=True)
class Drift:
    """A managed container of the project changed state (`action`, as the engine says)."""

    sandbox: str
    action: str


@dataclass(frozen=True)
class StreamLost:
    """The event stream broke or could not be opened; `error` says why."""

    error: str


@dataclass(frozen=True)
class StreamBack:
    """The follower is reading the event stream again after a `StreamLost`."""


Notice = Drift | StreamLost | StreamBack


def project_filters(project_id: str) -> dict[str, list[str]]:
    return {
        "type": ["container"],
        "label": [f"{labels.PROJECT_ID}={project_id}"],
        "event": list(LIFECYCLE_EVENTS),
    }


def drift_of(event: Mapping[str, Any]) -> Drift | None:
    """The notice for one engine event, or None when it is not a container's lifecycle."""
    if event.get("Type", "container") != "container":
        return None
    action = str(event.get("Action") or event.get("status") or "")
    if action not in LIFECYCLE_EVENTS:
        return None
    actor = event.get("Actor")
    attributes = actor.get("Attributes") if isinstance(actor, dict) else None
    attributes = attributes if isinstance(attributes, dict) else {}
    sandbox = attributes.get(labels.SANDBOX) or attributes.get("name") or "?"
    return Drift(sandbox=str(sandbox), action=action)


class EventFollower:
    """Reads the project's container events in a daemon thread and calls `notify`.

    `notify` runs in the follower's thread and must be quick and thread-safe (putting
    the notice on a queue is the intended use). Retry pauses double from
    `min_backoff` up to `max_backoff` seconds, and start over only after a stream that
    delivered an event or stayed open for `settle` seconds.
    """

    def __init__(
        self,
        client: EngineClient,
        project_id: str,
        notify: Callable[[Notice], None],
        *,
        min_backoff: float = 0.5,
        max_backoff: float = 5.0,
        settle: float = 5.0,
    ) -> None:
        self.client = client
        self.project_id = project_id
        self.notify = notify
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.settle = settle
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # `_lost` and `_healthy`, shared with the timer
        self._lost = False
        self._healthy = False  # the current attempt delivered or stayed open

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the event follower was already started")
        self._thread = threading.Thread(
            target=self._run, name=f"pocketdock-events-{self.project_id}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current event. Note that a read waiting for the next event is
        not interrupted; the thread is a daemon, so it never holds the process up."""
        self._stop.set()

    def _run(self) -> None:
        delay = self.min_backoff
        while not self._stop.is_set():
            error, healthy = self._attempt()
            if self._stop.is_set():
                return
            if healthy:
                delay = self.min_backoff
            with self._lock:
                newly_lost, self._lost = not self._lost, True
            if newly_lost:
                logger.info("lost the engine's event stream: %s", error)
                self.notify(StreamLost(error))
            self._stop.wait(delay)
            delay = min(delay * 2, self.max_backoff)

    def _attempt(self) -> tuple[str, bool]:
        """Follow the stream once; why it ended, and whether it was healthy meanwhile."""
        with self._lock:
            self._healthy = False
            lost = self._lost
        try:
            if lost:
                self.client.ping()
            with self._settle_timer():
                error = self._follow()
        except EngineError as exc:
            error = str(exc)
        with self._lock:
            return error, self._healthy

    @contextmanager
    def _settle_timer(self) -> Iterator[None]:
        # A quiet stream delivers nothing to count on, so time tells it is open.
        timer = threading.Timer(self.settle, self._mark_healthy)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()

    def _mark_healthy(self) -> None:
        """The stream works: the next loss starts with short pauses, and say it is back."""
        with self._lock:
            back = self._lost and not self._healthy
            self._healthy = True
            if back:
                self._lost = False
        if back:
            self.notify(StreamBack())

    def _follow(self) -> str:
        """Pass events on until the stream ends; returns why it ended."""
        for event in self.client.events(filters=project_filters(self.project_id)):
            if self._stop.is_set():
                break
            self._mark_healthy()
            drift = drift_of(event)
            if drift is not None:
                self.notify(drift)
        return "the engine closed the event stream"
