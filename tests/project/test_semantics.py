"""The semantics table of `up`, `sync`, `down` and `down --destroy`, cell by cell.

Each test drives the CLI on a fresh project and checks what the engine holds through
the `client` fixture, never through pocketdock's own view.
"""

from __future__ import annotations

import json
import re

import pytest

from pocketdock import labels as L
from pocketdock.engine.parse import inspect_labels

from .conftest import Proj

pytestmark = pytest.mark.engine

TWO = """
[defaults]
image = "busybox:latest"

[sandboxes.eph]
env = { MODE = "a" }

[sandboxes.keep]
persist = true
env = { MODE = "a" }
"""

FOUR = (
    TWO
    + """
[sandboxes.eph2]

[sandboxes.keep2]
persist = true
"""
)


def _up(project: Proj, *args: str) -> str:
    run = project.cli("up", *args)
    assert run.code == 0, run.text
    return run.text


def test_up_creates_missing_then_changes_nothing(project: Proj) -> None:
    project.write(TWO)
    text = _up(project)
    assert "create sandbox:eph: container missing" in text
    assert project.states() == {f"{project.name}-eph": "running", f"{project.name}-keep": "running"}
    labels = inspect_labels(project.client.inspect_container(f"{project.name}-keep"))
    assert labels[L.SANDBOX] == "keep"
    assert labels[L.PERSIST] == "true"
    assert labels[L.PROJECT_FILE] == str(project.file.resolve())
    ids = {s: project.cid(s) for s in ("eph", "keep")}

    text = _up(project)
    assert "->" not in text  # nothing started
    assert {s: project.cid(s) for s in ("eph", "keep")} == ids
    assert project.cli("plan", "--detailed-exitcode").code == 0


@pytest.mark.parametrize("command", ["up", "sync"])
def test_stopped_outside_is_resumed_with_same_container(project: Proj, command: str) -> None:
    project.write(TWO)
    _up(project)
    assert project.sh("keep", "echo precious > /root/work")[0] == 0
    ids = {s: project.cid(s) for s in ("eph", "keep")}
    project.client.stop_container(ids["eph"], timeout=0)
    project.client.kill_container(ids["keep"])
    project.wait_state("keep", "exited")
    project.wait_state("eph", "exited")

    plan = project.cli("plan")
    assert re.search(r"resume\s+sandbox:eph\s+container is exited", plan.out), plan.out
    run = project.cli(command)
    assert run.code == 0, run.text
    assert {s: project.cid(s) for s in ("eph", "keep")} == ids
    assert set(project.states().values()) == {"running"}
    assert project.sh("keep", "cat /root/work") == (0, "precious\n")


@pytest.mark.parametrize("command", ["up", "sync"])
def test_changed_settings_recreate_ephemeral_and_block_persistent(
    project: Proj, command: str
) -> None:
    project.write(TWO)
    _up(project)
    assert project.sh("keep", "echo precious > /root/work")[0] == 0
    ids = {s: project.cid(s) for s in ("eph", "keep")}
    project.write(TWO.replace('MODE = "a"', 'MODE = "b"'))

    plan = project.cli("plan")
    assert re.search(r"recreate\s+sandbox:eph\s+env\.MODE changed", plan.out), plan.out
    assert re.search(r"blocked\s+sandbox:keep\s+env\.MODE changed", plan.out), plan.out
    assert project.cli("plan", "--detailed-exitcode").code == 2

    run = project.cli(command)
    assert run.code == 0, run.text
    assert "up --recreate keep" in run.err
    assert project.cid("eph") != ids["eph"]
    assert project.cid("keep") == ids["keep"]
    assert project.sh("eph", "echo $MODE") == (0, "b\n")
    assert project.sh("keep", "echo $MODE; cat /root/work") == (0, "a\nprecious\n")
    assert len(project.containers()) == 2

    # Blocked stays blocked, and keeps telling the user how to proceed.
    again = project.cli(command)
    assert again.code == 0 and "up --recreate keep" in again.err
    assert project.cid("keep") == ids["keep"]


def test_up_recreate_backs_up_a_persistent_sandbox(project: Proj) -> None:
    project.write(TWO)
    _up(project)
    assert project.sh("keep", "echo precious > /root/work")[0] == 0
    old = project.cid("keep")
    project.write(TWO.replace('MODE = "a"', 'MODE = "b"'))

    text = _up(project, "--recreate", "keep")
    match = re.search(
        rf"backed up to (pocketdock-backup/{project.name}-keep:\d{{8}}T\d{{6}}Z)", text
    )
    assert match, text
    backup = match.group(1)
    project.images.add(backup)
    assert project.client.image_id(backup) is not None
    assert project.cid("keep") != old
    assert project.sh("keep", "echo $MODE") == (0, "b\n")
    # The old container's files are in the backup image.
    config = {"Image": backup, "Cmd": ["sleep", "60"]}
    check = project.client.create_container(f"{project.name}-check", config)
    project.client.start_container(check)
    exec_id = project.client.exec_create(check, ["cat", "/root/work"])
    assert project.client.exec_start(exec_id, timeout=10) == (b"precious\n", b"")
    assert project.cli("plan", "--detailed-exitcode").code == 0


def test_up_recreate_an_unchanged_ephemeral_sandbox(project: Proj) -> None:
    project.write(TWO)
    _up(project)
    old = project.cid("eph")
    text = _up(project, "--recreate", "eph")
    assert "recreate requested" in text
    assert "backed up" not in text
    assert project.cid("eph") != old
    assert not [t for t in project.image_tags() if t.startswith("pocketdock-backup/")]


def test_orphans_up_leaves_sync_removes_ephemeral_and_stops_persistent(project: Proj) -> None:
    project.write(FOUR)
    _up(project)
    keep2 = project.cid("keep2")
    project.write(TWO)

    up = project.cli("up")
    assert up.code == 0, up.text
    assert f"{project.name}-eph2" in up.err  # reported, not touched
    assert f"{project.name}-keep2" in up.err
    assert len(project.containers()) == 4
    assert set(project.states().values()) == {"running"}

    rows = json.loads(project.cli("status", "--json").out)
    orphans = {r["sandbox"]: r for r in rows if r["sandbox"] in ("eph2", "keep2")}
    assert orphans["eph2"]["drift"] is True and orphans["keep2"]["persist"] is True

    sync = project.cli("sync")
    assert sync.code == 0, sync.text
    assert project.states() == {
        f"{project.name}-eph": "running",
        f"{project.name}-keep": "running",
        f"{project.name}-keep2": "exited",
    }
    assert project.cid("keep2") == keep2
    assert project.cli("sync").code == 0
    assert project.state("keep2") == "exited"

    pruned = project.cli("sync", "--prune-persistent")
    assert pruned.code == 0, pruned.text
    assert project.state("keep2") == "missing"
    assert len(project.containers()) == 2


def test_state_stopped_is_created_stopped_and_only_sync_stops_it(project: Proj) -> None:
    project.write(TWO + '\n[sandboxes.idle]\nstate = "stopped"\n')
    _up(project)
    assert project.state("idle") in ("created", "exited")
    idle = project.cid("idle")

    project.client.start_container(idle)
    project.wait_state("idle", "running")
    up = project.cli("up")
    assert up.code == 0 and project.state("idle") == "running"
    plan = project.cli("plan")
    assert re.search(r'stop\s+sandbox:idle\s+declared state = "stopped"', plan.out), plan.out
    sync = project.cli("sync")
    assert sync.code == 0, sync.text
    assert project.state("idle") == "exited"
    assert project.cid("idle") == idle
    assert project.cli("plan", "--detailed-exitcode").code == 0


def test_down_removes_ephemeral_and_stops_persistent_including_orphans(project: Proj) -> None:
    project.write(FOUR)
    _up(project)
    assert project.sh("keep", "echo precious > /root/work")[0] == 0
    keep = project.cid("keep")
    project.write(TWO)  # eph2 and keep2 become orphans

    down = project.cli("down")
    assert down.code == 0, down.text
    assert project.states() == {
        f"{project.name}-keep": "exited",
        f"{project.name}-keep2": "exited",
    }
    assert project.cli("down").code == 0  # a second down is a no-op
    assert project.cid("keep") == keep

    _up(project)
    assert project.cid("keep") == keep
    assert project.sh("keep", "cat /root/work") == (0, "precious\n")
    assert project.state("eph") == "running"


def test_names_filter_acts_on_the_named_sandboxes_only(project: Proj) -> None:
    project.write(TWO)
    _up(project, "eph")
    assert project.states() == {f"{project.name}-eph": "running"}
    _up(project)
    keep = project.cid("keep")
    down = project.cli("down", "eph")
    assert down.code == 0, down.text
    assert project.states() == {f"{project.name}-keep": "running"}
    assert project.cid("keep") == keep

    unknown = project.cli("up", "nosuch")
    assert unknown.code == 2
    assert "nosuch" in unknown.err and "eph" in unknown.err
    assert project.states() == {f"{project.name}-keep": "running"}


def test_down_destroy_removes_everything_and_asks_first(project: Proj) -> None:
    project.write(FOUR)
    _up(project)
    project.write(TWO)

    refused = project.cli("down", "--destroy")  # no terminal, no --yes: refuses
    assert refused.code != 0
    assert len(project.containers()) == 4

    run = project.cli("down", "--destroy", "--yes")
    assert run.code == 0, run.text
    assert project.containers() == []
    assert not (project.root / ".pocketdock" / "instances" / f"{project.name}-keep").exists()


def test_plan_changes_nothing_and_reports_every_kind(project: Proj) -> None:
    body = FOUR + '\n[sandboxes.idle]\nstate = "stopped"\n'
    project.write(body)
    _up(project)
    project.client.start_container(project.cid("idle"))
    project.client.stop_container(project.cid("keep"), timeout=0)
    project.client.remove_container(project.cid("eph2"), force=True)
    project.wait_state("idle", "running")
    project.wait_state("keep", "exited")
    project.wait_state("eph2", "missing")
    project.write(
        body.replace('MODE = "a"', 'MODE = "b"').replace("[sandboxes.keep2]\npersist = true\n", "")
        + '\n[snapshots.tool]\nfrom = "busybox:latest"\nrun = ["touch /tool"]\n'
        + '\n[sandboxes.fresh]\nsnapshot = "tool"\n'
    )
    before = project.engine_snapshot()
    text = project.cli("plan")
    as_json = project.cli("plan", "--json")
    exit_code = project.cli("plan", "--detailed-exitcode")
    assert project.engine_snapshot() == before

    assert text.code == 0 and as_json.code == 0 and exit_code.code == 2
    actions = {a["target"]: a for a in json.loads(as_json.out)}
    assert {t: a["kind"] for t, a in actions.items()} == {
        "snapshot:tool": "build",
        "sandbox:eph": "recreate",
        "sandbox:keep": "blocked",
        "sandbox:eph2": "create",
        "sandbox:idle": "stop",
        "sandbox:fresh": "create",
        "sandbox:keep2": "stop",
    }
    assert actions["sandbox:eph"]["reason"] == "env.MODE changed"
    assert actions["sandbox:eph2"]["reason"] == "container missing"
    for target, action in actions.items():
        assert target in text.out and action["reason"].split(";")[0] in text.out


def test_plan_exit_code_is_1_on_engine_error(project: Proj) -> None:
    project.write(TWO)
    run = project.cli("--socket", "/nonexistent.sock", "plan", "--detailed-exitcode")
    assert run.code == 1
    assert "/nonexistent.sock" in run.err


def test_status_json_has_exactly_the_documented_keys(project: Proj) -> None:
    project.write(FOUR)
    _up(project, "eph", "keep", "keep2")
    project.client.stop_container(project.cid("keep"), timeout=0)
    project.wait_state("keep", "exited")
    project.write(TWO + "\n[sandboxes.eph2]\n")

    run = project.cli("status", "--json")
    assert run.code == 0, run.text
    rows = json.loads(run.out)
    keys = {"sandbox", "container", "state", "persist", "image", "drift"}
    assert all(set(row) == keys for row in rows)
    by_name = {r["sandbox"]: r for r in rows}
    assert set(by_name) == {"eph", "keep", "eph2", "keep2"}
    assert by_name["eph"] == {
        "sandbox": "eph",
        "container": f"{project.name}-eph",
        "state": "running",
        "persist": False,
        "image": "busybox:latest",
        "drift": False,
    }
    assert by_name["keep"]["state"] == "exited" and by_name["keep"]["drift"] is True
    assert by_name["eph2"]["state"] == "missing" and by_name["eph2"]["drift"] is True
    assert by_name["keep2"]["persist"] is True and by_name["keep2"]["drift"] is True
    assert project.cli("ps").code == 0


def test_two_sandboxes_mapping_to_one_name_fail_clearly(project: Proj) -> None:
    # `<project>-<sandbox>`: project P with sandbox `b-c`, renamed to `P-b` with a new
    # sandbox `c`, puts both on the name `P-b-c`. The new one must fail, not be taken as
    # "created by a concurrent run" while it has no container at all.
    project.write('[defaults]\nimage = "busybox:latest"\n[sandboxes.b-c]\n')
    _up(project)
    held = project.cid("b-c")
    project.write(
        '[defaults]\nimage = "busybox:latest"\n[sandboxes.b-c]\n[sandboxes.c]\n',
        name=f"{project.name}-b",
    )

    run = project.cli("up")
    assert run.code == 1, run.text
    assert f"container {project.name}-b-c already holds this project's sandbox b-c" in run.err
    assert "c" not in project.by_sandbox()
    assert project.client.inspect_container(f"{project.name}-b-c")["Id"] == held
