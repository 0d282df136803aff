"""What watch says: change descriptions, drift summaries, sync reports, NDJSON (no engine)."""

from __future__ import annotations

import io
import json
from pathlib import Path

from pocketdock.errors import SpecProblem
from pocketdock.spec.effective import ProjectSpec
from pocketdock.spec.loader import parse_project
from pocketdock.watch.controller import Reporter, describe_change, describe_drift
from pocketdock.watch.events import Drift, drift_of
from pocketdock.watch.filesync import SyncReport

BASE = """
[project]
name = "demo"

[sandboxes.a]
image = "busybox:latest"
env = { MODE = "dev" }
"""


def spec(text: str) -> ProjectSpec:
    return parse_project(text, Path("/tmp/demo/pocket-dock.toml"))


def test_describe_added_removed_and_changed_keys() -> None:
    old = spec(BASE + '\n[sandboxes.b]\nimage = "busybox:latest"\n')
    new = spec(
        BASE.replace('"dev"', '"prod"')
        + '\n[sandboxes.c]\nimage = "busybox:latest"\npersist = true\n'
    )
    assert describe_change(old, new) == (
        "sandboxes.c added, sandboxes.b removed, sandboxes.a.env.MODE changed"
    )


def test_describe_nothing_declared_changed() -> None:
    assert describe_change(spec(BASE), spec("# a comment\n" + BASE)) == ""
    assert describe_change(None, spec(BASE)) == ""


def test_describe_long_lists_are_shortened() -> None:
    many = "".join(f'\n[sandboxes.s{i}]\nimage = "busybox:latest"\n' for i in range(6))
    assert describe_change(spec(BASE), spec(BASE + many)) == (
        "sandboxes.s0 added, sandboxes.s1 added, sandboxes.s2 added, 3 more"
    )


def test_drift_keeps_each_sandbox_last_event() -> None:
    drifts = [Drift("b", "kill"), Drift("a", "die"), Drift("b", "die"), Drift("b", "destroy")]
    assert describe_drift(drifts) == "a stopped, b removed"


def test_drift_of_engine_events() -> None:
    event = {
        "Type": "container",
        "Action": "die",
        "Actor": {"ID": "abc", "Attributes": {"name": "demo-a", "pocketdock.sandbox": "a"}},
    }
    assert drift_of(event) == Drift("a", "die")
    assert drift_of({**event, "Action": "exec_start: sh"}) is None
    assert drift_of({**event, "Type": "image"}) is None
    unlabelled = {"Action": "stop", "Actor": {"Attributes": {"name": "demo-x"}}}
    assert drift_of(unlabelled) == Drift("demo-x", "stop")


def test_sync_report_wording() -> None:
    assert (
        str(SyncReport("dev", "/app/src", 3, 0, 0.0123)) == "synced 3 files to dev:/app/src (12 ms)"
    )
    assert (
        str(SyncReport("dev", "/app", 1, 2, 0.004))
        == "synced 1 file, deleted 2 paths in dev:/app (4 ms)"
    )
    assert str(SyncReport("dev", "/app", 0, 1, 0.001)) == "deleted 1 path in dev:/app (1 ms)"


def test_text_lines_are_timestamped_and_quiet_keeps_problems() -> None:
    out = io.StringIO()
    reporter = Reporter(quiet=True, out=out, err=io.StringIO())
    reporter.emit("sync", "synced 1 file to a:/x (1 ms)")
    reporter.emit("engine_down", "engine unreachable", problem=True)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    stamp, text = lines[0].split(" ", 1)
    assert len(stamp) == 8 and stamp[2] == stamp[5] == ":"
    assert text == "engine unreachable"


def test_invalid_file_prints_located_problems() -> None:
    out, err = io.StringIO(), io.StringIO()
    problem = SpecProblem(Path("/p/pocket-dock.toml"), 7, 3, "sandboxes.a.cpus", "must be > 0")
    Reporter(out=out, err=err).invalid("file changed", [problem])
    assert err.getvalue() == "/p/pocket-dock.toml:7:3: sandboxes.a.cpus: must be > 0\n"
    assert out.getvalue().endswith("file changed: invalid file (1 problem), nothing applied\n")


def test_json_mode_prints_only_json_objects() -> None:
    out, err = io.StringIO(), io.StringIO()
    reporter = Reporter(as_json=True, out=out, err=err)
    problem = SpecProblem(Path("/p/pocket-dock.toml"), 7, 3, "sandboxes.a.cpus", "must be > 0")
    reporter.invalid("file changed", [problem])
    reporter.emit("sync", "ignored in json", sandbox="a", files=2)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["event"] for r in records] == ["invalid", "sync"]
    assert records[0]["problems"] == [
        {
            "file": "/p/pocket-dock.toml",
            "line": 7,
            "column": 3,
            "key": "sandboxes.a.cpus",
            "message": "must be > 0",
        }
    ]
    assert records[1]["files"] == 2 and "time" in records[1]
    assert err.getvalue() == ""
