"""Security defaults reach the engine, and the per-sandbox opt-outs do too."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import SocketProxy

import pocketdock
from pocketdock import Project
from pocketdock.engine.client import EngineClient
from pocketdock.errors import SpecError
from pocketdock.sandbox.security import exposes_engine, mount_refusal

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


@pytest.mark.parametrize(
    ("path", "exposed"),
    [
        ("/var/run/docker.sock", True),
        ("/run//podman/podman.sock", True),
        ("/home/me/.docker/run/docker.sock", True),
        ("/run", True),  # holds /run/docker.sock
        ("/var/run/", True),
        ("/run/podman", True),
        ("/home/me/data", False),
        ("/run-data", False),
        ("/tmp/docker.socket", False),
        ("/", False),  # the host's root has a rule of its own
    ],
)
def test_the_engine_socket_rule(path: str, exposed: bool) -> None:
    assert exposes_engine(path) is exposed


def test_the_socket_in_use_counts_wherever_it_is() -> None:
    rootless = "/run/user/1000/podman/podman.sock"
    assert not exposes_engine("/run/user/1000/engine")
    for path in (rootless, "/run/user/1000", "/run/user/1000/podman"):
        refusal = mount_refusal(
            path, allow_engine_socket=False, allow_host_root=False, engine_socket=rootless
        )
        assert refusal is not None and "allow_engine_socket" in refusal
    assert (
        mount_refusal(
            rootless, allow_engine_socket=True, allow_host_root=False, engine_socket=rootless
        )
        is None
    )


def _exists(client: EngineClient, name: str) -> bool:
    return any(c["Names"] == [f"/{name}"] for c in client.list_containers(name=name))


def test_a_symlink_to_the_engine_socket_is_refused_at_create(
    engine_env: dict[str, str], client: EngineClient, tmp_path: Path, unique: str, socket_path: str
) -> None:
    # The file's text looks harmless; only where the link leads gives it away.
    (tmp_path / "innocent").symlink_to(Path(socket_path).parent)
    file = write_project(
        tmp_path,
        f'[project]\nname = "{unique}"\n[sandboxes.a]\nimage = "busybox:latest"\n'
        'volumes = { "./innocent" = "/data" }\n',
    )
    project = Project.load(file)
    try:
        result = project.up()
        assert "allow_engine_socket" in result.failures()["sandbox:a"]
        assert not _exists(client, f"{unique}-a")
    finally:
        project.down(destroy=True)


def test_the_socket_in_use_is_refused_wherever_it_is(
    engine_env: dict[str, str], client: EngineClient, tmp_path: Path, unique: str, socket_path: str
) -> None:
    # Reach the engine through a socket in an unusual place, as a rootless engine's is.
    (tmp_path / "run").mkdir()
    proxy = SocketProxy(tmp_path / "run" / "engine.sock", socket_path)
    proxy.up()
    try:
        with pytest.raises(pocketdock.PocketDockError, match="allow_engine_socket"):
            pocketdock.create_new_container(
                name=unique, volumes={str(tmp_path / "run"): "/r"}, socket_path=str(proxy.path)
            )
    finally:
        proxy.down()
    assert not _exists(client, unique)
