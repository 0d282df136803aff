"""The event follower's retries, against a fake engine client (pure retry logic)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any, cast

from pocketdock.engine.client import EngineClient
from pocketdock.errors import EngineError, EngineProtocolError
from pocketdock.watch.events import Drift, EventFollower, Notice, StreamBack, StreamLost

EVENT = {"Type": "container", "Action": "die", "Actor": {"Attributes": {"name": "x-a"}}}


class StopAfter(threading.Event):
    """A stop event whose waits return at once, are recorded, and end the loop at `limit`."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout or 0.0)
        if len(self.waits) >= self.limit:
            self.set()
        return self.is_set()


class ScriptedEngine:
    """Answers each `events` call as the next step of `script` says; pings always work.

    "refuse": the stream is refused at once (a proxy answering 403). "event": one event,
    then the stream breaks. "quiet": no event; the stream stays open until `release`.
    """

    def __init__(self, script: list[str]) -> None:
        self.script = script
        self.pings = 0
        self.release = threading.Event()

    def ping(self) -> None:
        self.pings += 1

    def events(self, **_: Any) -> Iterator[dict[str, Any]]:
        step = self.script.pop(0) if self.script else "refuse"
        if step == "refuse":
            raise EngineError("failed to follow engine events: forbidden", status=403)
        if step == "event":
            yield EVENT
            raise EngineProtocolError("connection to the engine broke")
        assert self.release.wait(timeout=30), "the quiet stream was never released"


def follow(
    engine: ScriptedEngine, waits: int, *, settle: float = 60.0
) -> tuple[list[Notice], StopAfter]:
    notices: list[Notice] = []

    def notify(notice: Notice) -> None:
        notices.append(notice)
        if isinstance(notice, StreamBack):
            engine.release.set()

    follower = EventFollower(
        cast(EngineClient, engine),
        "p1",
        notify,
        min_backoff=0.5,
        max_backoff=5.0,
        settle=settle,
    )
    stop = StopAfter(waits)
    follower._stop = stop
    follower._run()  # in this thread: the loop ends at the last recorded wait
    return notices, stop


def test_a_stream_refused_at_once_is_not_taken_for_a_recovery() -> None:
    engine = ScriptedEngine([])
    notices, stop = follow(engine, waits=6)
    assert [type(n) for n in notices] == [StreamLost]
    assert stop.waits == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    assert engine.pings == 5  # each retry pings first


def test_pauses_start_over_only_after_a_stream_delivered_an_event() -> None:
    engine = ScriptedEngine(["event", "refuse", "refuse", "event"])
    notices, stop = follow(engine, waits=4)
    drift = Drift("x-a", "die")
    assert notices == [
        drift,
        StreamLost("connection to the engine broke"),
        StreamBack(),
        drift,
        StreamLost("connection to the engine broke"),
    ]
    assert stop.waits == [0.5, 1.0, 2.0, 0.5]


def test_a_quiet_stream_that_stays_open_counts_as_back() -> None:
    engine = ScriptedEngine(["refuse", "quiet"])
    notices, stop = follow(engine, waits=2, settle=0.05)
    assert notices == [
        StreamLost("failed to follow engine events: forbidden"),
        StreamBack(),
        StreamLost("the engine closed the event stream"),
    ]
    assert stop.waits == [0.5, 0.5]
