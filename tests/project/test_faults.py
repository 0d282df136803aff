"""Faults and concurrency (issue 6): external changes, foreign containers, many runs at
once, interrupted runs, a dead lock holder, a missing image, no engine, a moved file.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from pocketdock import Project
from pocketdock import labels as L
from pocketdock.engine.parse import inspect_labels, item_labels, item_name
from pocketdock.reconcile.apply import ApplyResult, Executor

from .conftest import Proj, wait_for

pytestmark = pytest.mark.engine

BASE = """
[defaults]
image = "busybox:latest"

[sandboxes.eph]

[sandboxes.keep]
persist = true

[sandboxes.idle]
state = "stopped"
"""


def _many(count: int, *, persist_every: int = 0) -> str:
    body = '[defaults]\nimage = "busybox:latest"\n'
    for i in range(count):
        persist = "persist = true\n" if persist_every and i % persist_every == 0 else ""
        body += f"\n[sandboxes.s{i:02d}]\n{persist}"
    return body


def _converged(project: Proj, sandboxes: list[str]) -> None:
    """Exactly one labelled container per sandbox, nothing else under the project's name."""
    items = project.containers()
    names = sorted(item_name(i) for i in items)
    assert names == sorted(f"{project.name}-{s}" for s in sandboxes), names
    for item in items:
        labels = item_labels(item)
        assert labels.get(L.SANDBOX) == item_name(item).removeprefix(f"{project.name}-")
        assert labels.get(L.PROJECT_FILE) == str(project.file.resolve())


def _check_declared(project: Proj) -> None:
    _converged(project, ["eph", "keep", "idle"])
    assert project.state("eph") == "running"
    assert project.state("keep") == "running"
    assert project.state("idle") in ("created", "exited")
    assert project.sh("keep", "cat /root/work") == (0, "precious\n")


def test_external_changes_are_undone_and_persistent_files_survive(project: Proj) -> None:
    project.write(BASE)
    assert project.cli("up").code == 0
    assert project.sh("keep", "echo precious > /root/work")[0] == 0
    keep = project.cid("keep")
    client = project.client

    def stop_all() -> None:
        for sandbox in ("eph", "keep"):
            client.stop_container(project.cid(sandbox), timeout=0)
            project.wait_state(sandbox, "exited")

    def kill_keep_remove_eph() -> None:
        client.kill_container(project.cid("keep"))
        client.remove_container(project.cid("eph"), force=True)
        project.wait_state("keep", "exited")

    def start_idle() -> None:
        client.start_container(project.cid("idle"))
        project.wait_state("idle", "running")

    def remove_idle_kill_eph() -> None:
        client.remove_container(project.cid("idle"), force=True)
        client.kill_container(project.cid("eph"))
        project.wait_state("eph", "exited")
        project.wait_state("idle", "missing")

    cycles: list[tuple[Callable[[], None], str]] = [
        (stop_all, "up"),
        (kill_keep_remove_eph, "sync"),
        (start_idle, "sync"),
        (remove_idle_kill_eph, "up"),
        (stop_all, "sync"),
    ]
    for fault, command in cycles:
        fault()
        run = project.cli(command)
        assert run.code == 0, (fault.__name__, run.text)
        _check_declared(project)
        assert project.cid("keep") == keep
        assert project.cli("plan", "--detailed-exitcode").code == 0, fault.__name__


def _foreign(project: Proj, sandbox: str, labels: dict[str, str] | None = None) -> str:
    """A container named like the project's sandbox, made by someone else."""
    config: dict[str, Any] = {"Image": "busybox:latest", "Cmd": ["sleep", "3600"]}
    if labels:
        config["Labels"] = labels
    cid = project.client.create_container(f"{project.name}-{sandbox}", config)
    project.client.start_container(cid)
    return cid


@pytest.mark.parametrize("command", ["up", "sync"])
def test_foreign_container_with_the_name_is_never_touched(project: Proj, command: str) -> None:
    project.write(BASE)
    foreign = _foreign(project, "eph")
    before = project.client.inspect_container(foreign)

    run = project.cli(command)
    assert run.code == 1
    assert f"container {project.name}-eph exists" in run.err
    assert "something other than pocketdock" in run.err
    assert "Traceback" not in run.text
    after = project.client.inspect_container(foreign)
    assert after["State"]["Status"] == "running"
    assert after["State"]["StartedAt"] == before["State"]["StartedAt"]
    assert inspect_labels(after) == {}
    assert project.state("keep") == "running"  # the others came up

    for args in (("down",), ("down", "--destroy", "--yes")):
        assert project.cli(*args).code == 0
        assert project.client.inspect_container(foreign)["State"]["Status"] == "running"
    assert project.state("keep") == "missing"


def _wait_all(procs: list[subprocess.Popen[str]], timeout: float = 120) -> list[tuple[int, str]]:
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=timeout)
        results.append((proc.returncode, out + err))
    return results


def test_ten_concurrent_ups_on_one_project(project: Proj) -> None:
    project.write(_many(6, persist_every=3))
    procs = [project.popen("up") for _ in range(10)]
    results = _wait_all(procs)
    assert [code for code, _ in results] == [0] * 10, results
    _converged(project, [f"s{i:02d}" for i in range(6)])
    assert all(state == "running" for state in project.states().values())
    created = sum(text.count("ok created") for _, text in results)
    assert created == 6, results


def test_concurrent_ups_on_two_projects_with_the_same_sandbox_names(
    make_project: Callable[..., Proj],
) -> None:
    one, two = make_project("one"), make_project("two")
    one.write(_many(5))
    two.write(_many(5))
    results = _wait_all([p.popen("up") for p in (one, two) for _ in range(3)])
    assert [code for code, _ in results] == [0] * 6, results
    sandboxes = [f"s{i:02d}" for i in range(5)]
    _converged(one, sandboxes)
    _converged(two, sandboxes)
    ids_two = {s: two.cid(s) for s in sandboxes}

    down = one.sub("down", "--destroy", "--yes")
    assert down.code == 0, down.text
    assert one.containers() == []
    assert {s: two.cid(s) for s in sandboxes} == ids_two
    assert set(two.states().values()) == {"running"}


def _interrupt_after_first_action(project: Proj, sig: int) -> tuple[int, str]:
    proc = project.popen("up", "--parallel", "2")
    assert proc.stdout is not None
    seen = ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        seen += line
        if line.startswith("->") or not line:
            break
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, seen + out + err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_interrupted_up_converges_on_the_next_run(project: Proj, sig: int) -> None:
    project.write(_many(15, persist_every=4))
    sandboxes = [f"s{i:02d}" for i in range(15)]
    for _ in range(2):
        code, text = _interrupt_after_first_action(project, sig)
        assert "->" in text, text
        if sig == signal.SIGINT:
            assert code == 130, text
            assert "Traceback" not in text and "interrupted" in text
        else:
            assert code == -signal.SIGKILL
        assert len(project.containers()) < 15, "the run was not interrupted mid-apply"
        # Whatever it left is labelled as this project's.
        for item in project.containers():
            assert item_labels(item).get(L.PROJECT_FILE) == str(project.file.resolve())
        run = project.cli("up")
        assert run.code == 0, run.text
        _converged(project, sandboxes)
        assert set(project.states().values()) == {"running"}
        assert project.cli("down", "--destroy", "--yes").code == 0


def test_a_dead_lock_holder_is_taken_over_promptly(project: Proj) -> None:
    project.write(_many(2))
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from pocketdock.reconcile.lock import project_lock\n"
            "with project_lock(Path(sys.argv[1])):\n"
            "    print('held', flush=True)\n"
            "    time.sleep(300)\n",
            str(project.root),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        waiting = project.popen("up")
        assert waiting.stderr is not None
        line = waiting.stderr.readline()
        assert "waiting for another pocketdock run" in line and str(holder.pid) in line
        assert waiting.poll() is None and project.containers() == []
        os.kill(holder.pid, signal.SIGKILL)
        killed = time.monotonic()
        out, err = waiting.communicate(timeout=30)
        assert waiting.returncode == 0, out + err
        assert time.monotonic() - killed < 5
        _converged(project, ["s00", "s01"])
    finally:
        holder.kill()
        holder.communicate()


def test_a_missing_image_fails_only_its_sandbox(project: Proj) -> None:
    missing = f"pocketdock-missing/{project.name}:none"
    project.write(_many(10) + f'image = "{missing}"\n')  # the last sandbox, s09
    run = project.cli("up")
    assert run.code == 1
    assert missing in run.err and "sandbox:s09" in run.err
    assert "Traceback" not in run.text
    _converged(project, [f"s{i:02d}" for i in range(9)])
    assert set(project.states().values()) == {"running"}


@pytest.mark.parametrize(
    "args", [("up",), ("sync",), ("down",), ("plan",), ("status",)], ids=lambda a: a[0]
)
def test_engine_down_is_one_clear_line_and_writes_nothing(
    project: Proj, args: tuple[str, ...]
) -> None:
    project.write(BASE)
    assert project.cli("validate").code == 0  # fills the parse cache, which is not state
    before = sorted(p.name for p in project.root.rglob("*"))
    run = project.sub("--socket", "/nonexistent.sock", *args)
    assert run.code == 1
    assert run.out == ""
    lines = run.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), run.err
    assert "/nonexistent.sock" in lines[0]
    assert sorted(p.name for p in project.root.rglob("*")) == before


def test_a_moved_project_file_does_not_touch_the_old_containers(
    make_project: Callable[..., Proj],
) -> None:
    old = make_project("old")
    old.write(BASE)
    assert old.cli("up").code == 0
    ids = {s: old.cid(s) for s in ("eph", "keep", "idle")}
    moved = make_project("moved", name=old.name)
    moved.write(BASE)

    plan = moved.cli("plan")
    assert plan.code == 0 and plan.out.count("container missing") == 3
    for command in ("up", "sync"):
        run = moved.cli(command)
        assert run.code == 1
        assert run.err.count(f"belongs to the project at {old.file.resolve()}") == 3
    assert moved.cli("down", "--destroy", "--yes").code == 0
    assert {s: old.cid(s) for s in ("eph", "keep", "idle")} == ids
    assert old.state("eph") == "running" and old.state("keep") == "running"
    wait_for(lambda: old.cli("plan", "--detailed-exitcode").code == 0, what="old in sync")


def _race(project: Proj, runs: int = 4) -> list[ApplyResult]:
    """Apply one `up` plan from several threads at once, bypassing the project lock."""
    project.write(_many(6, persist_every=3))
    loaded = Project.load(project.root)
    actions = loaded.plan("up")
    results: list[ApplyResult] = []

    def apply() -> None:
        results.append(Executor(loaded.client, loaded.spec, parallel=6).run(actions))

    threads = [threading.Thread(target=apply) for _ in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_racing_applies_never_duplicate_or_crash(project: Proj) -> None:
    """Without the lock (say, two machines on one shared directory), runs that race on
    the same names end with one container per sandbox; a loser never crashes the run."""
    results = _race(project)
    assert len(results) == 4
    _converged(project, [f"s{i:02d}" for i in range(6)])
    assert set(project.states().values()) == {"running"}
    for outcome in (o for r in results for o in r.outcomes if not o.ok):
        assert outcome.error and "Traceback" not in outcome.error
    assert project.cli("up").code == 0
    _converged(project, [f"s{i:02d}" for i in range(6)])


def test_racing_applies_all_succeed(project: Proj) -> None:
    results = _race(project, runs=6)
    assert not any(r.failed for r in results), [r.failures() for r in results]
