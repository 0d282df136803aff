"""Security defaults reach the engine, and the per-sandbox opt-outs do too."""

from __future__ import annotations

from pathlib import Path

import pytest

from pocketdock import Project
from pocketdock.engine.client import EngineClient
from pocketdock.errors import SpecError

pytestmark = pytest.mark.engine


def write_project(root: Path, body: str) -> Path:
    file = root / "pocket-dock.toml"
    file.write_text(body)
    return file


def test_defaults_and_opt_outs_reach_the_engine(
    engine_env: dict[str, str], client: EngineClient, tmp_path: Path, unique: str
) -> None:
    file = write_project(
        tmp_path,
        f"""
[project]
name = "{unique}"
[defaults]
image = "busybox:latest"
[sandboxes.locked]
[sandboxes.loose]
no_new_privileges = false
pids_limit = 4096
""",
    )
    project = Project.load(file)
    try:
        assert not project.up().failed
        locked = client.inspect_container(f"{unique}-locked")["HostConfig"]
        loose = client.inspect_container(f"{unique}-loose")["HostConfig"]
        assert locked["Privileged"] is False and loose["Privileged"] is False
        assert any("no-new-privileges" in o for o in locked["SecurityOpt"] or [])
        assert not any("no-new-privileges" in o for o in loose["SecurityOpt"] or [])
        assert (locked["PidsLimit"], loose["PidsLimit"]) == (1024, 4096)
    finally:
        project.down(destroy=True)


@pytest.mark.parametrize(
    ("volume", "key"),
    [
        ('"/var/run/docker.sock" = "/var/run/docker.sock"', "allow_engine_socket"),
        ('"/run/podman/podman.sock" = "/run/podman/podman.sock"', "allow_engine_socket"),
        ('"/" = "/host"', "allow_host_root"),
    ],
)
def test_dangerous_mounts_refused_before_any_engine_call(
    tmp_path: Path, volume: str, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No engine at this socket: the refusal must come from the file check alone.
    monkeypatch.setenv("POCKETDOCK_SOCKET", str(tmp_path / "no-engine.sock"))
    file = write_project(
        tmp_path,
        f'[sandboxes.a]\nimage = "busybox:latest"\nvolumes = {{ {volume} }}\n',
    )
    with pytest.raises(SpecError) as caught:
        Project.load(file).up()
    assert key in str(caught.value)
    assert caught.value.problems[0].line == 3


def test_engine_socket_mount_allowed_when_explicit(
    engine_env: dict[str, str], client: EngineClient, tmp_path: Path, unique: str, socket_path: str
) -> None:
    file = write_project(
        tmp_path,
        f"""
[project]
name = "{unique}"
[sandboxes.ops]
image = "busybox:latest"
allow_engine_socket = true
volumes = {{ "{socket_path}" = "/var/run/engine.sock" }}
""",
    )
    project = Project.load(file)
    try:
        assert not project.up().failed
        binds = client.inspect_container(f"{unique}-ops")["HostConfig"]["Binds"]
        # Podman appends the mount options it applied (":rw,rprivate,rbind").
        assert [socket_path, "/var/run/engine.sock"] in [b.split(":")[:2] for b in binds]
    finally:
        project.down(destroy=True)
