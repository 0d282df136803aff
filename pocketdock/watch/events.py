"""Following the engine's event stream for one project's containers, in a thread.

`EventFollower` asks the engine for the events of containers labelled with the project's
identity and passes each lifecycle change on as a `Drift` notice. The notices only say
"look again": the controller re-plans from the engine's actual state, so events caused
by pocketdock's own actions just lead to a plan with nothing to do.

When the stream breaks or the engine cannot be reached, the follower sends one
`StreamLost`, then retries with growing pauses (pinging first), and sends `StreamBack`
once it follows the stream again; the controller re-checks everything then, which
covers the events missed in between.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pocketdock import labels
from pocketdock.engine.client import EngineClient
from pocketdock.errors import EngineError, EngineProtocolError, EngineUnavailable

logger = logging.getLogger("pocketdock.watch.events")

# The errors that mean "the engine is not there (any more)" rather than "it refused".
ENGINE_GONE: tuple[type[EngineError], ...] = (EngineUnavailable, EngineProtocolError)

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
    `min_backoff` up to `max_backoff` seconds.
    """

    def __init__(
        self,
        client: EngineClient,
        project_id: str,
        notify: Callable[[Notice], None],
        *,
        min_backoff: float = 0.5,
        max_backoff: float = 5.0,
    ) -> None:
        self.client = client
        self.project_id = project_id
        self.notify = notify
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

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
        lost = False
        while not self._stop.is_set():
            try:
                if lost:
                    self.client.ping()
                    lost = False
                    delay = self.min_backoff
                    self.notify(StreamBack())
                error = self._follow()
            except EngineError as exc:
                error = str(exc)
            if self._stop.is_set():
                return
            if not lost:
                logger.info("lost the engine's event stream: %s", error)
                lost = True
                self.notify(StreamLost(error))
            self._stop.wait(delay)
            delay = min(delay * 2, self.max_backoff)

    def _follow(self) -> str:
        """Pass events on until the stream ends; returns why it ended."""
        for event in self.client.events(filters=project_filters(self.project_id)):
            if self._stop.is_set():
                break
            drift = drift_of(event)
            if drift is not None:
                self.notify(drift)
        return "the engine closed the event stream"
