"""Setup commands, recipe snapshots, `exec` and `snapshot --save-as`, end to end."""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime, tzinfo

import pytest

from pocketdock import Project
from pocketdock import labels as L
from pocketdock.reconcile import apply

from .conftest import Proj

pytestmark = pytest.mark.engine

SETUP = """
[defaults]
image = "busybox:latest"
setup = ["echo run >> /root/setup-runs"]

[sandboxes.eph]

[sandboxes.keep]
persist = true
"""


def test_setup_runs_once_after_first_create(project: Proj) -> None:
    project.write(SETUP)
    assert project.cli("up").code == 0
    for sandbox in ("eph", "keep"):
        assert project.sh(sandbox, "cat /root/setup-runs") == (0, "run\n")
    ids = {s: project.cid(s) for s in ("eph", "keep")}

    assert project.cli("down").code == 0
    assert project.state("keep") == "exited"
    assert project.cli("up").code == 0
    assert project.cid("keep") == ids["keep"]
    assert project.sh("keep", "cat /root/setup-runs") == (0, "run\n")  # not on resume
    assert project.sh("eph", "cat /root/setup-runs") == (0, "run\n")  # a new container
    assert project.cli("plan", "--detailed-exitcode").code == 0


def test_failing_setup_fails_the_sandbox_and_is_retried(project: Proj) -> None:
    failing = 'setup = ["echo started > /root/mark", "echo broke-it >&2; exit 4"]\n'
    project.write(SETUP.replace('setup = ["echo run >> /root/setup-runs"]\n', failing))
    run = project.cli("up")
    assert run.code == 1
    assert "exited with 4" in run.err and "broke-it" in run.err
    assert "sandbox:eph" in run.err and "sandbox:keep" in run.err
    # The containers are left for inspection.
    assert project.sh("eph", "cat /root/mark") == (0, "started\n")
    ids = {s: project.cid(s) for s in ("eph", "keep")}

    plan = project.cli("plan")
    assert re.search(r"recreate\s+sandbox:eph\s+setup did not complete", plan.out), plan.out
    assert re.search(r"blocked\s+sandbox:keep\s+setup did not complete", plan.out), plan.out

    project.write(SETUP)  # fix the setup: the ephemeral sandbox is recreated with it
    again = project.cli("up")
    assert again.code == 0, again.text
    assert project.cid("eph") != ids["eph"]
    assert project.sh("eph", "cat /root/setup-runs") == (0, "run\n")
    assert project.cid("keep") == ids["keep"]  # persistent: blocked, kept as is
    assert "up --recreate keep" in again.err

    recreated = project.cli("up", "--recreate", "keep")
    assert recreated.code == 0, recreated.text
    backup = re.search(r"backed up to (\S+)", recreated.out)
    assert backup
    project.images.add(backup.group(1))
    assert project.sh("keep", "cat /root/setup-runs") == (0, "run\n")
    assert project.cli("plan", "--detailed-exitcode").code == 0


RECIPE = """
[snapshots.tools]
from = "busybox:latest"
run = ["echo v1 > /tool"]

[sandboxes.a]
snapshot = "tools"

[sandboxes.b]
snapshot = "tools"
persist = true

[sandboxes.plain]
image = "busybox:latest"
"""


def _snapshot_tags(project: Proj) -> list[str]:
    return [t for t in project.image_tags() if t.startswith("pocketdock-snapshot/")]


def test_recipe_snapshot_is_built_once_and_a_change_rebuilds(project: Proj) -> None:
    project.write(RECIPE)
    run = project.cli("up")
    assert run.code == 0, run.text
    assert run.out.count("ok built snapshot:tools") == 1
    [tag] = _snapshot_tags(project)
    image = project.client.inspect_image(tag)
    assert L.SNAPSHOT_RECIPE in (image.get("Config") or {}).get("Labels", {})
    assert project.sh("a", "cat /tool") == (0, "v1\n")
    ids = {s: project.cid(s) for s in ("a", "b", "plain")}
    # No builder container is left behind.
    assert sorted(project.states()) == sorted(f"{project.name}-{s}" for s in ids)

    again = project.cli("up")
    assert again.code == 0 and "build" not in again.out
    assert _snapshot_tags(project) == [tag]

    project.write(RECIPE.replace("v1", "v2"))
    plan = project.cli("plan")
    assert re.search(r"build\s+snapshot:tools", plan.out), plan.out
    changed = project.cli("up")
    assert changed.code == 0, changed.text
    assert changed.out.count("ok built snapshot:tools") == 1
    assert len(_snapshot_tags(project)) == 2
    assert project.cid("a") != ids["a"]
    assert project.sh("a", "cat /tool") == (0, "v2\n")
    assert project.cid("b") == ids["b"]  # persistent: blocked
    assert "up --recreate b" in changed.err
    assert project.sh("b", "cat /tool") == (0, "v1\n")
    assert project.cid("plain") == ids["plain"]  # an unrelated sandbox is untouched


def test_snapshot_chain_builds_parents_first(project: Proj) -> None:
    project.write(
        """
[snapshots.base]
from = "busybox:latest"
run = ["echo base > /layers"]

[snapshots.top]
from = "snapshot:base"
run = ["echo top >> /layers"]

[sandboxes.s]
snapshot = "top"
"""
    )
    run = project.cli("up")
    assert run.code == 0, run.text
    assert run.out.index("ok built snapshot:base") < run.out.index("-> build snapshot:top")
    assert project.sh("s", "cat /layers") == (0, "base\ntop\n")
    assert len(_snapshot_tags(project)) == 2


def test_failing_recipe_fails_loudly_and_only_its_sandboxes(project: Proj) -> None:
    project.write(
        RECIPE.replace('run = ["echo v1 > /tool"]', 'run = ["echo no-such-tool >&2; exit 7"]')
    )
    run = project.cli("up")
    assert run.code == 1
    assert "exited with 7" in run.err and "no-such-tool" in run.err
    assert "sandbox:a" in run.err and "sandbox:b" in run.err
    assert project.states() == {f"{project.name}-plain": "running"}
    assert _snapshot_tags(project) == []


def test_exec_streams_both_outputs_and_exits_with_the_command_code(project: Proj) -> None:
    project.write(SETUP)
    assert project.cli("up", "eph").code == 0
    run = project.sub("exec", "eph", "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (run.code, run.out, run.err) == (3, "out\n", "err\n")
    missing = project.sub("exec", "keep", "--", "true")
    assert missing.code == 1 and "pocketdock up keep" in missing.err


def test_snapshot_save_as_records_the_image_keeping_comments(project: Proj) -> None:
    body = "# my sandboxes, hand-written\n" + SETUP.replace(
        "[sandboxes.eph]", "# the scratch one\n[sandboxes.eph]  # trailing note"
    )
    project.write(body)
    assert project.cli("up", "eph").code == 0
    assert project.sh("eph", "echo saved > /root/state")[0] == 0

    tag = f"pocketdock-test-snap/{project.name}:v1"
    project.images.add(tag)
    run = project.cli("snapshot", "eph", "--tag", tag, "--save-as", "mine")
    assert run.code == 0, run.text
    assert run.out.strip() == tag
    assert project.client.image_id(tag) is not None

    text = project.file.read_text()
    assert text.startswith(f'[project]\nname = "{project.name}"\n\n# my sandboxes, hand-written\n')
    assert "# the scratch one\n[sandboxes.eph]  # trailing note" in text
    assert tomllib.loads(text)["snapshots"]["mine"] == {"image": tag}

    default = project.cli("snapshot", "eph")
    assert default.code == 0, default.text
    made = default.out.strip()
    assert re.fullmatch(rf"pocketdock/{project.name}/eph:\d{{8}}T\d{{6}}Z", made), made
    project.images.add(made)
    assert project.client.image_id(made) is not None

    # A sandbox can start from the recorded snapshot, files included.
    with project.file.open("a") as file:
        file.write('\n[sandboxes.restored]\nsnapshot = "mine"\n')
    assert project.cli("up", "restored").code == 0
    assert project.sh("restored", "cat /root/state") == (0, "saved\n")


def test_snapshots_within_one_second_keep_both_images(
    project: Proj, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The default tag is the UTC time to the second; a second commit in that second must
    # not take the tag off the first image (which would leave it to any image prune).
    project.write('[sandboxes.s]\nimage = "busybox:latest"\npersist = true\n')
    assert project.cli("up").code == 0
    frozen = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

    class Frozen(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> Frozen:
            return cls.fromtimestamp(frozen.timestamp(), tz)

    monkeypatch.setattr(apply, "datetime", Frozen)
    sandbox = Project.load(project.file)
    assert project.sh("s", "echo one > /root/v")[0] == 0
    first = sandbox.snapshot("s")
    assert project.sh("s", "echo two > /root/v")[0] == 0
    second = sandbox.snapshot("s")

    repo = f"pocketdock/{project.name}/s"
    assert (first, second) == (f"{repo}:20260102T030405Z", f"{repo}:20260102T030405Z-2")
    images = {project.client.image_id(first), project.client.image_id(second)}
    assert None not in images and len(images) == 2
