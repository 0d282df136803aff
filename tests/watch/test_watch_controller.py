"""The watch loop driven step by step in this process, on a real engine.

The controller's own file watchers are stopped, so each test decides exactly which
notices arrive (a missed file event is simply one that is never queued).
"""

from __future__ import annotations

import io
import json
import os
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from pocketdock.engine.client import EngineClient
from pocketdock.engine.endpoint import resolve_endpoint
from pocketdock.watch.controller import Controller, Reporter, WatchOptions, _FilesChanged

from .helpers import WatchProject

pytestmark = pytest.mark.engine

A = '[sandboxes.a]\nimage = "busybox:latest"\nsync = { "./src" = "/app/src" }\n\n'
B = '[sandboxes.b]\nimage = "busybox:latest"\n\n'


class Driven:
    """A controller whose steps the test runs, with its NDJSON output collected."""

    def __init__(self, project: WatchProject) -> None:
        self.out = io.StringIO()
        options = WatchOptions(
            file=project.file,
            socket_path=project.env["POCKETDOCK_SOCKET"],
            interval=3600,  # no periodic check unless a test asks for one
            settle=0.05,
            max_wait=0.2,
        )
        reporter = Reporter(as_json=True, out=self.out, err=io.StringIO())
        self.controller = Controller(options, reporter)

    def start(self) -> None:
        assert self.controller._load("start")
        self.controller._reconcile("start")
        self.controller._stop_threads()  # no notices but the test's own

    def queue(self, kind: str, *paths: Any) -> None:
        self.controller._queue.put(_FilesChanged(kind, tuple(paths)))

    def drain(self) -> None:
        """Run steps until every queued notice and pending burst is handled."""
        c = self.controller
        for _ in range(50):
            if c._queue.empty() and not (c._file_burst.pending or c._sync_burst.pending):
                return
            c._step()
        raise AssertionError("the controller did not settle")

    def periodic_check(self) -> None:
        self.controller._next_check = time.monotonic()
        self.controller._step()

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.out.getvalue().splitlines()]


@pytest.fixture
def driven(project: WatchProject) -> Iterator[Driven]:
    driven = Driven(project)
    yield driven
    driven.controller._stop_threads()


def test_file_changes_of_a_burst_with_a_broken_save_are_still_synced(
    project: WatchProject, driven: Driven
) -> None:
    (project.root / "src").mkdir()
    (project.root / "src" / "old.txt").write_text("old")
    project.write(A)
    driven.start()
    project.wait_running("a")
    assert project.sh("a", "cat /app/src/old.txt") == (0, "old")

    project.file.write_text(project.file.read_text() + "[broken\n")
    new = project.root / "src" / "new.txt"
    new.write_text("made during the broken save")
    driven.queue("spec", project.file)
    driven.queue("sync", new)
    driven.drain()

    assert [e["event"] for e in driven.events()][-2:] == ["invalid", "sync"]
    assert project.sh("a", "cat /app/src/new.txt") == (0, "made during the broken save")


def test_the_periodic_check_reloads_a_file_whose_save_was_missed(
    project: WatchProject, driven: Driven
) -> None:
    project.write(A)
    driven.start()
    project.wait_running("a")

    project.write(A + B)  # no notice is queued: the file watcher missed it
    driven.periodic_check()
    assert project.state("b") == "running"
    last = driven.events()[-1]
    assert (last["trigger"], last["detail"]) == ("periodic check", "sandboxes.b added")

    # A broken save missed the same way is reported once, not at every check.
    project.file.write_text(project.file.read_text() + "[broken\n")
    driven.periodic_check()
    driven.periodic_check()
    assert [e["event"] for e in driven.events()].count("invalid") == 1
    assert project.state("b") == "running"


def test_a_sync_source_that_cannot_be_looked_at_is_a_sync_failure(
    project: WatchProject, driven: Driven
) -> None:
    # A name too long for the file system: stat fails with ENAMETOOLONG, which
    # Path.is_dir re-raises on Python 3.11 (as it does EACCES for an untraversable parent).
    long = "x" * 300
    project.write(A.replace("./src", f"./{long}"))
    driven.start()
    project.wait_running("a")
    [failure] = [e for e in driven.events() if e["event"] == "sync_failed"]
    assert "File name too long" in failure["error"]


@pytest.fixture
def hung_engine() -> Iterator[EngineClient]:
    """A client, with a short timeout, for a socket that takes requests but never answers."""
    path = f"/tmp/pd-hung-{os.getpid()}.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)  # the kernel completes connections; nothing ever reads them
    client = EngineClient(resolve_endpoint(f"unix://{path}"), timeout=0.3)
    yield client
    client.close()
    listener.close()
    os.unlink(path)


def test_a_hung_engine_is_reported_once_as_gone(
    project: WatchProject, driven: Driven, hung_engine: EngineClient
) -> None:
    project.write(A)
    driven.start()
    project.wait_running("a")
    controller = driven.controller
    assert controller.project is not None
    controller.client = controller.filesync.client = hung_engine
    controller.project._client = hung_engine
    for _ in range(3):
        controller._reconcile("periodic check")

    events = driven.events()
    assert [e["event"] for e in events].count("engine_down") == 1
    assert [e for e in events if e["event"] == "error"] == []
    assert controller._retry_at is not None  # retrying with backoff
