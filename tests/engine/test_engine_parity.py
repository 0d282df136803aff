"""Where Podman's Docker-compatible API differs from Docker, against the real engine.

Each test names the difference it pins down; it runs on both engines and must pass on
both (`POCKETDOCK_TEST_ENGINE=docker|podman`), which is the point: callers above the
engine layer never see which engine they talk to.
"""

from __future__ import annotations

import time

import pytest

import pocketdock
from pocketdock import labels as L
from pocketdock.engine.client import EngineClient
from pocketdock.engine.parse import image_tags, inspect_image_ref, inspect_state
from pocketdock.errors import NameConflict, NotFound
from pocketdock.sandbox.offline_image import IMAGE_PATH

pytestmark = pytest.mark.engine


def test_podman_answers_a_taken_name_with_500(
    engine_env: dict[str, str], client: EngineClient, unique: str
) -> None:
    config = {"Image": engine_env["POCKETDOCK_IMAGE"], "Cmd": ["true"]}
    first = client.create_container(unique, config)
    try:
        with pytest.raises(NameConflict) as info:
            client.create_container(unique, config)
        assert info.value.status == 409
        assert info.value.engine_message  # the engine's own words are kept
        assert [c["Id"] for c in client.list_containers(name=unique)] == [first]
    finally:
        client.remove_container(first, force=True)


def test_podman_reports_configured_as_created(
    engine_env: dict[str, str], client: EngineClient, unique: str
) -> None:
    box = pocketdock.create_new_container(name=unique, start=False)
    try:
        assert inspect_state(client.inspect_container(box.id)) == "created"
        assert [i.status for i in pocketdock.list_containers() if i.name == unique] == ["created"]
    finally:
        box.shutdown()


def test_stopped_reads_as_exited(engine_env: dict[str, str], unique: str) -> None:
    box = pocketdock.create_new_container(name=unique, persist=True)
    try:
        box.shutdown()
        assert [i.status for i in pocketdock.list_containers() if i.name == unique] == ["exited"]
        assert box.status() == "exited"
    finally:
        pocketdock.destroy_container(unique)


def test_podman_names_images_with_their_registry(
    engine_env: dict[str, str], client: EngineClient, unique: str
) -> None:
    # Podman reports `docker.io/pocketdock-test/busybox:latest`; users see what they gave.
    with pocketdock.create_new_container(name=unique) as box:
        assert inspect_image_ref(client.inspect_container(box.id)) == engine_env["POCKETDOCK_IMAGE"]
        (item,) = [i for i in pocketdock.list_containers() if i.name == unique]
        assert item.image == engine_env["POCKETDOCK_IMAGE"]


def test_podman_commit_answers_a_bare_id_and_ignores_body_labels(
    engine_env: dict[str, str], client: EngineClient, unique: str
) -> None:
    tag = f"pocketdock-test/{unique}"
    with pocketdock.create_new_container(name=unique, labels={"keep.me": "yes"}) as box:
        image_id = client.commit(
            box.id, repo=tag, tag="v1", labels={L.MANAGED: "", "x.y": "$HOME é=1"}
        )
    try:
        image = client.inspect_image(f"{tag}:v1")
        assert image_id == image["Id"] and image_id.startswith("sha256:")
        assert image_tags(image) == [f"{tag}:v1"]
        labels = image["Config"]["Labels"]
        assert (labels[L.MANAGED], labels["x.y"], labels["keep.me"]) == ("", "$HOME é=1", "yes")
    finally:
        client.remove_image(f"{tag}:v1", force=True)


def test_podman_compat_init_needs_a_static_init_binary(
    engine_env: dict[str, str], client: EngineClient, unique: str
) -> None:
    # Podman's compat API ignores containers.conf `init_path` and runs catatonit; a
    # dynamically linked init (Debian's /usr/bin/tini) cannot run in a busybox image.
    with pocketdock.create_new_container(name=unique) as box:
        assert client.inspect_container(box.id)["HostConfig"]["Init"] is True
        pid1 = box.run("tr '\\0' ' ' < /proc/1/cmdline").stdout
        assert "sleep infinity" in pid1 and not pid1.startswith("sleep")
        started = time.monotonic()
        box.stop()
        assert time.monotonic() - started < 2.0
        assert inspect_state(client.inspect_container(box.id)) == "exited"


def test_imported_image_has_path_and_cmd_in_its_config(
    engine_env: dict[str, str], client: EngineClient
) -> None:
    config = client.inspect_image(engine_env["POCKETDOCK_IMAGE"])["Config"]
    assert f"PATH={IMAGE_PATH}" in config["Env"]
    assert config["Cmd"] == ["sh"]


def test_label_filters_match_exactly(
    engine_env: dict[str, str], client: EngineClient, unique: str
) -> None:
    a = pocketdock.create_new_container(name=f"{unique}-a", project=f"{unique}x", start=False)
    b = pocketdock.create_new_container(name=f"{unique}-b", project=f"{unique}xy", start=False)
    try:
        found = client.list_containers(labels={L.MANAGED: "true", L.PROJECT: f"{unique}x"})
        assert [c["Id"] for c in found] == [a.id]
        assert client.list_containers(labels={L.PROJECT: f"{unique}-none"}) == []
    finally:
        a.shutdown()
        b.shutdown()


def test_exit_code_is_ready_when_the_stream_ends(engine_env: dict[str, str], unique: str) -> None:
    with pocketdock.create_new_container(name=unique) as box:
        codes = [box.run(f"exit {code}").exit_code for code in (0, 1, 7, 42, 255, 0)]
        assert codes == [0, 1, 7, 42, 255, 0]
        assert box.run(["false"]).exit_code == 1


def test_archive_round_trip_and_missing_path(engine_env: dict[str, str], unique: str) -> None:
    payload = bytes(range(256)) * 64
    with pocketdock.create_new_container(name=unique) as box:
        box.write_file("/new/dir/blob.bin", payload)
        assert box.read_file("/new/dir/blob.bin") == payload
        assert box.run("stat -c %s /new/dir/blob.bin").stdout.strip() == str(len(payload))
        with pytest.raises(NotFound):
            box.read_file("/new/dir/absent")


def test_sandboxes_have_no_route_off_the_host(engine_env: dict[str, str], unique: str) -> None:
    # The test engines give containers no way out: Docker has no bridge, Podman's default
    # network is internal (scripts/start-engine). Nothing here may reach the internet.
    with pocketdock.create_new_container(name=unique) as box:
        routes = box.run("ip route").stdout
        assert "default" not in routes
