"""The imperative API against a real engine; engine state is checked through the API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import pocketdock
from pocketdock import labels as L
from pocketdock.engine.client import EngineClient
from pocketdock.engine.parse import inspect_image_ref, inspect_state
from pocketdock.sandbox.sizes import SizeTooLarge, parse_bytes

pytestmark = pytest.mark.engine


@pytest.fixture
def env(engine_env: dict[str, str]) -> dict[str, str]:
    return engine_env


def test_create_runs_with_exact_name_and_labels(
    env: dict[str, str], client: EngineClient, unique: str
) -> None:
    with pocketdock.create_new_container(name=f"{unique}-box", project=unique) as box:
        info = client.inspect_container(f"{unique}-box")
        assert info["Name"].lstrip("/") == f"{unique}-box"
        assert inspect_state(info) == "running"
        labels = info["Config"]["Labels"]
        assert labels[L.MANAGED] == "true"
        assert labels[L.INSTANCE] == f"{unique}-box"
        assert labels[L.PERSIST] == "false"
        assert labels[L.PROJECT] == unique
        assert info["HostConfig"]["Init"] is True
        assert box.id == info["Id"]
    assert not client.list_containers(name=f"{unique}-box")


def test_default_image_comes_from_environment(
    env: dict[str, str], client: EngineClient, unique: str
) -> None:
    box = pocketdock.create_new_container(name=unique)
    try:
        info = client.inspect_container(box.id)
        assert inspect_image_ref(info) == env["POCKETDOCK_IMAGE"]
    finally:
        box.shutdown()


def test_generated_name_when_omitted(env: dict[str, str], client: EngineClient) -> None:
    with pocketdock.create_new_container() as box:
        assert box.name.startswith("pd-")
        assert client.inspect_container(box.name)["Id"] == box.id


def test_run_string_and_argv(env: dict[str, str], unique: str) -> None:
    with pocketdock.create_new_container(name=unique) as box:
        result = box.run("echo out; echo err >&2; exit 3")
        assert (result.exit_code, result.stdout, result.stderr, result.ok) == (
            3,
            "out\n",
            "err\n",
            False,
        )
        argv = box.run(["echo", "a b; not a shell"])
        assert argv.ok and argv.stdout == "a b; not a shell\n"
        assert argv.duration > 0


def test_run_large_interleaved_output(env: dict[str, str], unique: str) -> None:
    with pocketdock.create_new_container(name=unique) as box:
        result = box.run("i=0; while [ $i -lt 2000 ]; do echo o$i; echo e$i >&2; i=$((i+1)); done")
        assert result.stdout.splitlines() == [f"o{i}" for i in range(2000)]
        assert result.stderr.splitlines() == [f"e{i}" for i in range(2000)]


def test_run_timeout(env: dict[str, str], unique: str) -> None:
    with (
        pocketdock.create_new_container(name=unique) as box,
        pytest.raises(pocketdock.CommandTimeout),
    ):
        box.run("sleep 5", timeout=0.5)


def test_write_and_read_file(env: dict[str, str], unique: str) -> None:
    with pocketdock.create_new_container(name=unique) as box:
        box.write_file("/tmp/new/dir/hello.txt", "hello\n")
        assert box.read_file("/tmp/new/dir/hello.txt") == b"hello\n"
        assert box.run("cat /tmp/new/dir/hello.txt").stdout == "hello\n"
        box.write_file("/tmp/bin.dat", bytes(range(256)))
        assert box.read_file("/tmp/bin.dat") == bytes(range(256))
        with pytest.raises(pocketdock.PocketDockError, match="no file /tmp/missing"):
            box.read_file("/tmp/missing")
        with pytest.raises(pocketdock.PocketDockError, match="not a regular file"):
            box.read_file("/tmp")


def test_ephemeral_shutdown_removes(env: dict[str, str], client: EngineClient, unique: str) -> None:
    box = pocketdock.create_new_container(name=unique)
    box.shutdown()
    with pytest.raises(pocketdock.ContainerNotFound):
        client.inspect_container(box.id)


def test_persist_survives_shutdown_and_resume_keeps_files(
    env: dict[str, str], client: EngineClient, unique: str
) -> None:
    box = pocketdock.create_new_container(name=unique, persist=True)
    box.run("echo kept > /root/work.txt")
    box.shutdown()
    assert inspect_state(client.inspect_container(unique)) == "exited"

    again = pocketdock.resume_container(unique)
    assert inspect_state(client.inspect_container(unique)) == "running"
    assert again.persist is True and again.id == box.id
    assert again.run("cat /root/work.txt").stdout == "kept\n"
    pocketdock.destroy_container(unique)
    assert not client.list_containers(name=unique)


def test_resume_running_is_a_no_op(env: dict[str, str], unique: str) -> None:
    with pocketdock.create_new_container(name=unique) as box:
        assert pocketdock.resume_container(unique).id == box.id


def test_list_fields_and_project_filter(env: dict[str, str], unique: str) -> None:
    a = pocketdock.create_new_container(name=f"{unique}-a", project=f"{unique}p", persist=True)
    b = pocketdock.create_new_container(name=f"{unique}-b", project=f"{unique}q")
    try:
        a.shutdown()
        mine = pocketdock.list_containers(project=f"{unique}p")
        assert [i.name for i in mine] == [f"{unique}-a"]
        item = mine[0]
        assert (item.id, item.status, item.persist, item.project) == (
            a.id,
            "exited",
            True,
            f"{unique}p",
        )
        assert item.image == env["POCKETDOCK_IMAGE"]
        assert item.created_at.endswith("Z") and "T" in item.created_at
        every = {i.name for i in pocketdock.list_containers()}
        assert {f"{unique}-a", f"{unique}-b"} <= every
        fields = set(pocketdock.ContainerListItem.__dataclass_fields__)
        assert fields == {"id", "name", "status", "image", "created_at", "persist", "project"}
    finally:
        pocketdock.destroy_container(f"{unique}-a")
        b.shutdown()


def test_unmanaged_containers_are_invisible(
    env: dict[str, str], client: EngineClient, unique: str
) -> None:
    foreign = client.create_container(
        f"{unique}-foreign", {"Image": env["POCKETDOCK_IMAGE"], "Cmd": ["true"]}
    )
    try:
        assert f"{unique}-foreign" not in {i.name for i in pocketdock.list_containers()}
        for call in (pocketdock.stop_container, pocketdock.destroy_container):
            with pytest.raises(pocketdock.ContainerNotFound):
                call(f"{unique}-foreign")
        pocketdock.prune()
        assert client.inspect_container(foreign)["Id"] == foreign
    finally:
        client.remove_container(foreign, force=True)


def test_stop_then_prune_counts_and_scope(
    env: dict[str, str], client: EngineClient, unique: str
) -> None:
    p, q = f"{unique}p", f"{unique}q"
    stopped = [pocketdock.create_new_container(name=f"{unique}-s{i}", project=p) for i in range(2)]
    running = pocketdock.create_new_container(name=f"{unique}-run", project=p)
    other = pocketdock.create_new_container(name=f"{unique}-other", project=q)
    try:
        for box in stopped:
            pocketdock.stop_container(box.name)
        pocketdock.stop_container(other.name)
        assert pocketdock.prune(project=p) == 2
        for box in stopped:
            assert not client.list_containers(name=box.name)
        assert inspect_state(client.inspect_container(running.id)) == "running"
        assert inspect_state(client.inspect_container(other.id)) == "exited"
        assert pocketdock.prune(project=p) == 0
    finally:
        running.shutdown()
        other.shutdown()


def test_snapshot_then_create_from_it(
    env: dict[str, str], client: EngineClient, unique: str
) -> None:
    tag = f"pocketdock-test/{unique}:v1"
    with pocketdock.create_new_container(name=unique) as box:
        box.run("echo baked > /root/baked.txt")
        image_id = box.snapshot(tag)
    try:
        assert client.image_id(tag) == image_id
        image_labels = client.inspect_image(tag)["Config"]["Labels"] or {}
        assert image_labels.get(L.MANAGED, "") == ""  # a snapshot never looks managed
        with pocketdock.create_new_container(name=f"{unique}-2", image=tag) as child:
            assert child.run("cat /root/baked.txt").stdout == "baked\n"
            assert client.inspect_container(child.id)["Config"]["Labels"][L.MANAGED] == "true"
    finally:
        client.remove_image(tag, force=True)


def test_volumes_write_to_host_and_survive_removal(
    env: dict[str, str], tmp_path: Path, unique: str
) -> None:
    data, cfg = tmp_path / "data", tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "settings").write_text("x=1\n")
    volumes = {str(data): "/data", str(cfg): {"target": "/cfg", "read_only": True}}
    with pocketdock.create_new_container(name=unique, volumes=volumes) as box:
        assert box.run("echo from-sandbox > /data/out.txt").ok
        assert box.run("cat /cfg/settings").stdout == "x=1\n"
        assert not box.run("touch /cfg/nope").ok
    assert (data / "out.txt").read_text() == "from-sandbox\n"


def test_engine_socket_mount_is_refused(env: dict[str, str], unique: str) -> None:
    with pytest.raises(pocketdock.PocketDockError, match="allow_engine_socket"):
        pocketdock.create_new_container(
            name=unique, volumes={"/var/run/docker.sock": "/var/run/docker.sock"}
        )


def test_a_refused_volume_leaves_no_directories_behind(
    env: dict[str, str], unique: str, tmp_path: Path
) -> None:
    fresh = tmp_path / "fresh"
    volumes = {str(fresh): "/fresh", "/run": "/hostrun"}
    with pytest.raises(pocketdock.PocketDockError, match="allow_engine_socket"):
        pocketdock.create_new_container(name=unique, volumes=volumes)
    assert not fresh.exists()


def test_security_defaults(env: dict[str, str], client: EngineClient, unique: str) -> None:
    with pocketdock.create_new_container(name=unique, mem_limit="64m", cpus=0.5) as box:
        host = client.inspect_container(box.id)["HostConfig"]
        assert host["Privileged"] is False
        assert any("no-new-privileges" in opt for opt in host["SecurityOpt"] or [])
        assert host["PidsLimit"] == 1024
        assert host["Memory"] == 64 * 1024 * 1024
        assert host["NanoCpus"] == 500_000_000


def test_name_conflict(env: dict[str, str], unique: str) -> None:
    with (
        pocketdock.create_new_container(name=unique),
        pytest.raises(pocketdock.NameConflict, match="already exists"),
    ):
        pocketdock.create_new_container(name=unique)


def test_missing_image(env: dict[str, str], client: EngineClient, unique: str) -> None:
    with pytest.raises(pocketdock.ImageNotFound):
        pocketdock.create_new_container(name=unique, image="pocketdock-test/absent:nope")
    assert not client.list_containers(name=unique)


def test_unknown_container_errors(env: dict[str, str]) -> None:
    for call in (
        pocketdock.stop_container,
        pocketdock.resume_container,
        pocketdock.destroy_container,
    ):
        with pytest.raises(pocketdock.ContainerNotFound, match="no pocketdock-managed container"):
            call("pocketdock-test-does-not-exist")


def test_explicit_socket_path(
    socket_path: str, test_image: str, monkeypatch: pytest.MonkeyPatch, unique: str
) -> None:
    monkeypatch.setenv("POCKETDOCK_SOCKET", "/nonexistent.sock")
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")
    pocketdock.create_new_container(
        name=unique, image=test_image, socket_path=f"unix://{socket_path}"
    )
    try:
        names = [i.name for i in pocketdock.list_containers(socket_path=socket_path)]
        assert unique in names
        with pytest.raises(pocketdock.EngineUnavailable, match=r"/nonexistent\.sock"):
            pocketdock.list_containers()
    finally:
        pocketdock.destroy_container(unique, socket_path=socket_path)


def test_instance_directory_records_and_history(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unique: str
) -> None:
    (tmp_path / "pocket-dock.toml").write_text("")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    box = pocketdock.create_new_container(name=unique, project="proj", persist=True)
    instance = tmp_path / ".pocketdock" / "instances" / unique
    try:
        assert f'container_id = "{box.id}"' in (instance / "instance.toml").read_text()
        box.run("true")
        box.run(["sh", "-c", "exit 4"])
        lines = [json.loads(x) for x in (instance / "history.jsonl").read_text().splitlines()]
        assert [(x["command"], x["exit_code"]) for x in lines] == [
            (["sh", "-c", "true"], 0),
            (["sh", "-c", "exit 4"], 4),
        ]
    finally:
        pocketdock.destroy_container(unique)
    assert not instance.exists()


def test_pocket_dock_alias_package() -> None:
    import pocket_dock

    assert pocket_dock.create_new_container is pocketdock.create_new_container
    assert set(pocketdock.__all__) <= set(dir(pocket_dock)) | {"__version__"}


@pytest.mark.parametrize(
    ("size", "expected"),
    [("512m", 512 << 20), ("1.5g", 3 << 29), ("64MB", 64 << 20), (1024, 1024), ("100", 100)],
)
def test_sizes(size: int | str, expected: int) -> None:
    assert parse_bytes(size) == expected


@pytest.mark.parametrize("size", ["lots", "inf", "nan", "1x", "-1g", "1e3"])
def test_bad_sizes_are_value_errors(size: str) -> None:
    with pytest.raises(ValueError, match="not a size"):
        parse_bytes(size)


@pytest.mark.parametrize("size", ["9" * 400, "99999999999t"])
def test_sizes_beyond_any_engine(size: str) -> None:
    with pytest.raises(SizeTooLarge):
        parse_bytes(size)
