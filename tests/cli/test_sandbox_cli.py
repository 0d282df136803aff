"""The sandbox commands (list, stop, resume, destroy, prune) run as a user runs them.

Each test drives `python -m pocketdock` in a subprocess against the real engine and
checks what happened through the engine client, not through pocketdock's own output.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator

import pytest

import pocketdock
from pocketdock import labels as L
from pocketdock._version import __version__
from pocketdock.engine.client import EngineClient
from pocketdock.engine.parse import inspect_state, item_name

pytestmark = pytest.mark.engine

LIST_KEYS = {"id", "name", "status", "image", "created_at", "persist", "project"}


def pocketdock_cli(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "pocketdock", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        env=full_env,
        check=False,
    )


def state_of(client: EngineClient, name: str) -> str:
    return inspect_state(client.inspect_container(name))


def exists(client: EngineClient, name: str) -> bool:
    return any(item_name(i) == name for i in client.list_containers(name=name))


@pytest.fixture
def sandboxes(
    engine_env: dict[str, str], client: EngineClient, unique: str
) -> Iterator[dict[str, str]]:
    """Project `<unique>p`: `run` running, `kept` persistent and stopped; `other` elsewhere."""
    names = {"run": f"{unique}-run", "kept": f"{unique}-kept", "other": f"{unique}-other"}
    pocketdock.create_new_container(name=names["run"], project=f"{unique}p")
    kept = pocketdock.create_new_container(name=names["kept"], project=f"{unique}p", persist=True)
    kept.shutdown()
    pocketdock.create_new_container(name=names["other"], project=f"{unique}q")
    yield {**names, "project": f"{unique}p", "other_project": f"{unique}q", **engine_env}
    for name in names.values():
        if exists(client, name):
            client.remove_container(name, force=True)


def test_list_table(sandboxes: dict[str, str], client: EngineClient) -> None:
    done = pocketdock_cli("list", "--project", sandboxes["project"], env=sandboxes)
    assert done.returncode == 0, done.stderr
    header, *rows = done.stdout.splitlines()
    assert header.split() == ["NAME", "STATUS", "PERSIST", "PROJECT", "IMAGE", "CREATED"]
    cells = {row.split()[0]: row.split() for row in rows}
    assert set(cells) == {sandboxes["kept"], sandboxes["run"]}
    for name, persist in ((sandboxes["kept"], "yes"), (sandboxes["run"], "no")):
        assert cells[name][1:5] == [
            state_of(client, name),
            persist,
            sandboxes["project"],
            sandboxes["POCKETDOCK_IMAGE"],
        ]
    # Columns line up: every field of a row starts where its header does.
    starts = [header.index(h) for h in header.split()]
    for row in rows:
        assert all(row[i - 1] == " " for i in starts[1:])


def test_list_json_is_json_only_with_exact_keys(
    sandboxes: dict[str, str], client: EngineClient
) -> None:
    done = pocketdock_cli("list", "--project", sandboxes["project"], "--json", env=sandboxes)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    items = json.loads(done.stdout)
    assert [i["name"] for i in items] == sorted([sandboxes["kept"], sandboxes["run"]])
    for item in items:
        assert set(item) == LIST_KEYS
        info = client.inspect_container(item["name"])
        assert item["id"] == info["Id"]
        assert item["status"] == inspect_state(info)
        assert item["persist"] is (info["Config"]["Labels"][L.PERSIST] == "true")
        assert item["project"] == sandboxes["project"]
        assert item["image"] == sandboxes["POCKETDOCK_IMAGE"]
        assert item["created_at"].endswith("Z")
    assert {i["status"] for i in items} == {"running", "exited"}


def test_list_json_of_an_empty_project(engine_env: dict[str, str], unique: str) -> None:
    done = pocketdock_cli("list", "--project", f"{unique}-none", "--json", env=engine_env)
    assert (done.returncode, json.loads(done.stdout), done.stderr) == (0, [], "")


def test_stop_then_resume(sandboxes: dict[str, str], client: EngineClient) -> None:
    name = sandboxes["run"]
    client.put_archive(name, "/", _tar("marker.txt", b"still here"))
    done = pocketdock_cli("stop", name, env=sandboxes)
    assert (done.returncode, done.stdout) == (0, f"stopped {name}\n"), done.stderr
    assert state_of(client, name) == "exited"

    done = pocketdock_cli("resume", name, env=sandboxes)
    assert (done.returncode, done.stdout) == (0, f"resumed {name}\n"), done.stderr
    assert state_of(client, name) == "running"
    assert b"still here" in client.get_archive(name, "/marker.txt")


def test_quiet_stop_prints_nothing(sandboxes: dict[str, str], client: EngineClient) -> None:
    done = pocketdock_cli("-q", "stop", sandboxes["run"], env=sandboxes)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert state_of(client, sandboxes["run"]) == "exited"


def test_destroy_yes_removes_a_persistent_sandbox(
    sandboxes: dict[str, str], client: EngineClient
) -> None:
    name = sandboxes["kept"]
    done = pocketdock_cli("destroy", name, "--yes", env=sandboxes)
    assert (done.returncode, done.stdout) == (0, f"destroyed {name}\n"), done.stderr
    assert not exists(client, name)
    assert exists(client, sandboxes["run"])


def test_destroy_without_yes_and_no_terminal_refuses(
    sandboxes: dict[str, str], client: EngineClient
) -> None:
    done = pocketdock_cli("destroy", sandboxes["run"], env=sandboxes)
    assert done.returncode == 2
    assert "--yes" in done.stderr and "Traceback" not in done.stderr
    assert state_of(client, sandboxes["run"]) == "running"


def test_prune_project_yes_counts_and_scope(
    sandboxes: dict[str, str], client: EngineClient, unique: str
) -> None:
    extra = pocketdock.create_new_container(name=f"{unique}-extra", project=sandboxes["project"])
    extra.stop()
    client.stop_container(sandboxes["other"], timeout=1)

    done = pocketdock_cli("prune", "--project", sandboxes["project"], "--yes", env=sandboxes)
    assert (done.returncode, done.stdout) == (0, "removed 2 stopped sandbox(es)\n"), done.stderr
    assert not exists(client, sandboxes["kept"]) and not exists(client, f"{unique}-extra")
    assert state_of(client, sandboxes["run"]) == "running"
    assert state_of(client, sandboxes["other"]) == "exited"  # another project: untouched

    again = pocketdock_cli("prune", "--project", sandboxes["project"], "--yes", env=sandboxes)
    assert again.stdout == "removed 0 stopped sandbox(es)\n"


def test_prune_without_yes_and_no_terminal_refuses(
    sandboxes: dict[str, str], client: EngineClient
) -> None:
    done = pocketdock_cli("prune", "--project", sandboxes["project"], env=sandboxes)
    assert done.returncode == 2
    assert "--yes" in done.stderr and "Traceback" not in done.stderr
    assert state_of(client, sandboxes["kept"]) == "exited"


@pytest.mark.parametrize("command", ["stop", "resume"])
def test_unknown_sandbox_is_one_line_exit_1(
    engine_env: dict[str, str], unique: str, command: str
) -> None:
    done = pocketdock_cli(command, f"{unique}-absent", env=engine_env)
    assert done.returncode == 1
    assert done.stderr == f"error: no pocketdock-managed container named {unique}-absent\n"


def test_unmanaged_container_is_not_destroyed(
    engine_env: dict[str, str], client: EngineClient, unique: str
) -> None:
    foreign = client.create_container(
        f"{unique}-foreign", {"Image": engine_env["POCKETDOCK_IMAGE"], "Cmd": ["true"]}
    )
    try:
        done = pocketdock_cli("destroy", f"{unique}-foreign", "--yes", env=engine_env)
        assert done.returncode == 1 and "no pocketdock-managed container" in done.stderr
        assert client.inspect_container(foreign)["Id"] == foreign
    finally:
        client.remove_container(foreign, force=True)


@pytest.mark.parametrize(
    "args",
    [["stop"], ["list", "--bogus"], ["no-such-command"], ["destroy"], ["prune", "extra-arg"]],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    done = pocketdock_cli(*args)
    assert done.returncode == 2
    assert done.stdout == "" and "Traceback" not in done.stderr
    assert "Usage:" in done.stderr


def test_version_and_help_exit_0() -> None:
    version = pocketdock_cli("--version")
    assert (version.returncode, version.stdout) == (0, f"pocketdock, version {__version__}\n")
    for flag in ("--help", "-h"):
        done = pocketdock_cli(flag)
        assert done.returncode == 0
        for command in ("list", "stop", "resume", "destroy", "prune"):
            assert f"  {command} " in done.stdout


def _tar(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
