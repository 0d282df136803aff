"""A removal the engine already has under way counts as done once the engine finishes it.

Docker answers 409 ("removal of container ... is already in progress") when a second
removal arrives before the first is over, as when `down` runs again right after the
connection of an interrupted run dropped (see `test_engine_cut.py`, where this happens
only when the engine is slow). The engine's answers here are made up, so the order of
events is fixed.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from pocketdock.engine.client import EngineClient
from pocketdock.engine.endpoint import parse_endpoint
from pocketdock.reconcile import apply
from pocketdock.reconcile.apply import Executor
from pocketdock.reconcile.plan import Action, ActionKind
from pocketdock.spec.loader import parse_project

IN_PROGRESS = {"message": "removal of container c0ffee is already in progress"}


def _remove_with(tmp_path: Path, inspect_answers: list[int]) -> tuple[apply.ApplyResult, int]:
    """Apply one REMOVE against an engine that answers 409, then `inspect_answers`."""
    inspected = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal inspected
        if request.method == "DELETE":
            return httpx.Response(409, json=IN_PROGRESS)
        status = inspect_answers[min(inspected, len(inspect_answers) - 1)]
        inspected += 1
        return httpx.Response(status, json={"Id": "c0ffee", "message": "No such container"})

    client = EngineClient(
        parse_endpoint("/fake/engine.sock", "test"), transport=httpx.MockTransport(handler)
    )
    spec = parse_project('[project]\nname = "p"\n', tmp_path / "pocket-dock.toml")
    action = Action(ActionKind.REMOVE, "s", "ephemeral", container_id="c0ffee")
    return Executor(client, spec).run([action]), inspected


def test_remove_waits_for_a_removal_already_under_way(tmp_path: Path) -> None:
    result, inspected = _remove_with(tmp_path, [200, 200, 404])
    assert not result.failed, result.failures()
    assert inspected == 3


def test_remove_still_fails_when_the_container_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(apply, "REMOVAL_WAIT", 0.3)
    result, inspected = _remove_with(tmp_path, [200])
    assert result.failed
    assert "already in progress" in result.failures()["sandbox:s"]
    assert inspected >= 2
