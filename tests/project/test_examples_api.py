"""Every example project comes up; the Python API converges exactly as the CLI does."""

from __future__ import annotations

import re
import shutil
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from pocketdock import Project
from pocketdock.engine.parse import item_labels, item_name
from pocketdock.reconcile.plan import ActionKind

from .conftest import FILE, Proj

pytestmark = pytest.mark.engine

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir()))
def test_example_comes_up_and_goes_away(make_project: Callable[..., Proj], example: str) -> None:
    project = make_project(example)
    shutil.copytree(EXAMPLES / example, project.root, dirs_exist_ok=True)
    text = (project.root / FILE).read_text()
    text, count = re.subn(r'(?m)^name = "[^"]*"', f'name = "{project.name}"', text, count=1)
    assert count == 1
    (project.root / FILE).write_text(text)
    declared = tomllib.loads(text)["sandboxes"]

    run = project.cli("up")
    assert run.code == 0, run.text
    states = project.states()
    assert sorted(states) == sorted(f"{project.name}-{s}" for s in declared)
    for name, sandbox in declared.items():
        expected = ("created", "exited") if sandbox.get("state") == "stopped" else ("running",)
        assert states[f"{project.name}-{name}"] in expected, (name, states)
    assert project.cli("plan", "--detailed-exitcode").code == 0

    run = project.cli("down", "--destroy", "--yes")
    assert run.code == 0, run.text
    assert project.containers() == []


BODY = """
[defaults]
image = "busybox:latest"

[sandboxes.eph]
env = { MODE = "a" }

[sandboxes.keep]
persist = true
env = { MODE = "a" }

[sandboxes.idle]
state = "stopped"
"""


def _engine_view(project: Proj) -> dict[str, tuple[str, str]]:
    """Sandbox -> (state, spec hash), read from the engine."""
    return {
        item_name(i).removeprefix(f"{project.name}-"): (
            project.state(item_name(i).removeprefix(f"{project.name}-")),
            item_labels(i).get("pocketdock.spec-hash", ""),
        )
        for i in project.containers()
    }


def test_python_api_gives_the_same_results_as_the_cli(make_project: Callable[..., Proj]) -> None:
    by_cli, by_api = make_project("cli"), make_project("api")
    for project in (by_cli, by_api):
        project.write(BODY + "\n[sandboxes.gone]\n")
    api = Project.load(by_api.root)
    assert {a.kind for a in api.plan()} == {ActionKind.CREATE}

    steps: list[tuple[str, Callable[[], object], tuple[str, ...]]] = [
        ("up", lambda: Project.load(by_api.root).up(), ("up",)),
        ("drop gone", lambda: None, ()),
        ("up again", lambda: Project.load(by_api.root).up(), ("up",)),
        ("sync", lambda: Project.load(by_api.root).sync(), ("sync",)),
        ("change", lambda: None, ()),
        ("sync blocked", lambda: Project.load(by_api.root).sync(), ("sync",)),
        ("down eph", lambda: Project.load(by_api.root).down(["eph"]), ("down", "eph")),
        ("down", lambda: Project.load(by_api.root).down(), ("down",)),
        ("up", lambda: Project.load(by_api.root).up(), ("up",)),
    ]
    for label, call, args in steps:
        if label == "drop gone":
            for project in (by_cli, by_api):
                project.write(BODY)
        if label == "change":
            for project in (by_cli, by_api):
                project.write(BODY.replace('MODE = "a"', 'MODE = "b"'))
        if args:
            run = by_cli.cli(*args)
            assert run.code == 0, (label, run.text)
            result = call()
            assert not getattr(result, "failed", False), label
        assert _engine_view(by_cli) == _engine_view(by_api), label
        cli_plan = [(a["kind"], a["target"]) for a in _plan_json(by_cli)]
        api_plan = [(a.kind.value, a.target) for a in Project.load(by_api.root).plan()]
        assert cli_plan == api_plan, label

    rows = Project.load(by_api.root).status()
    assert {r.sandbox: (r.state, r.drift) for r in rows} == {
        "eph": ("running", False),
        # Blocked since its settings changed, so `up` left it stopped as `down` did.
        "keep": ("exited", True),
        "idle": (rows[2].state, False),
    }
    result = Project.load(by_api.root).down(destroy=True)
    assert not result.failed and by_api.containers() == []


def _plan_json(project: Proj) -> list[dict[str, str]]:
    import json

    run = project.cli("plan", "--json")
    assert run.code == 0, run.text
    data: list[dict[str, str]] = json.loads(run.out)
    return data
