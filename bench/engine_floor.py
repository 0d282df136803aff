"""The floor: the same engine work pocketdock does, issued directly with httpx.

Nothing here imports pocketdock, so the floor pays only for Python, httpx and the engine.
Creates carry the configuration pocketdock gives a default sandbox (init, labels of the
same keys and similar size, `sleep infinity`, no-new-privileges, a pids limit).

Run as a script it is the minimal program the CLI is compared with, timed as a whole
process like the CLI: `python engine_floor.py up|down SOCKET IMAGE PROJECT COUNT`. It
prints the seconds spent on engine calls alone.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

API = "http://engine/v1.41"
# As many as help: on two cores the engine is saturated by 4 to 8 concurrent creates.
DEFAULT_CONCURRENCY = 8


def open_client(socket_path: str, connections: int = DEFAULT_CONCURRENCY) -> httpx.Client:
    """A keep-alive client on the engine socket (TLS is never used on a Unix socket)."""
    return httpx.Client(
        base_url=API,
        transport=httpx.HTTPTransport(uds=socket_path, verify=False),
        timeout=httpx.Timeout(120.0, connect=5.0),
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
    )


def sandbox_config(image: str, project: str, name: str, sandbox: str) -> dict[str, Any]:
    """What pocketdock sends for a default ephemeral sandbox, label for label."""
    settings = json.dumps({"image": image, "name": sandbox, "env": {}, "persist": False})
    labels = {
        "pocketdock.managed": "true",
        "pocketdock.instance": name,
        "pocketdock.persist": "false",
        "pocketdock.project": project,
        "pocketdock.data-path": f"/tmp/{project}/.pocketdock/instances/{name}",
        "pocketdock.project-id": f"{project}-floor",
        "pocketdock.project-file": f"/tmp/{project}/pocket-dock.toml",
        "pocketdock.sandbox": sandbox,
        "pocketdock.spec-hash": "0" * 64,
        "pocketdock.spec": settings,
    }
    return {
        "Image": image,
        "Cmd": ["sleep", "infinity"],
        "Labels": labels,
        "Env": [],
        "Tty": False,
        "OpenStdin": False,
        "HostConfig": {
            "Init": True,
            "Privileged": False,
            "Binds": [],
            "SecurityOpt": ["no-new-privileges"],
            "PidsLimit": 1024,
        },
    }


def _checked(response: httpx.Response) -> httpx.Response:
    if response.status_code >= 300 and response.status_code != 304:
        raise RuntimeError(f"engine said {response.status_code}: {response.text.strip()}")
    return response


def _parallel(work: Callable[[str], None], items: Sequence[str], concurrency: int) -> None:
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(items)))) as pool:
        list(pool.map(work, items))


def up(
    client: httpx.Client,
    image: str,
    project: str,
    count: int,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> float:
    """Create and start `count` sandboxes; returns the wall time in seconds."""

    def create_and_start(sandbox: str) -> None:
        name = f"{project}-{sandbox}"
        config = sandbox_config(image, project, name, sandbox)
        created = _checked(client.post("/containers/create", params={"name": name}, json=config))
        _checked(client.post(f"/containers/{created.json()['Id']}/start"))

    started = time.perf_counter()
    _parallel(create_and_start, [f"s{i:03d}" for i in range(count)], concurrency)
    return time.perf_counter() - started


def down(client: httpx.Client, project: str, concurrency: int = DEFAULT_CONCURRENCY) -> float:
    """List the project's containers and force-remove them all; returns the wall time."""

    def remove(container_id: str) -> None:
        _checked(client.delete(f"/containers/{container_id}", params={"force": "1", "v": "1"}))

    started = time.perf_counter()
    filters = json.dumps({"label": [f"pocketdock.project-id={project}-floor"]})
    listed = _checked(client.get("/containers/json", params={"all": "1", "filters": filters}))
    _parallel(remove, [item["Id"] for item in listed.json()], concurrency)
    return time.perf_counter() - started


def run_true(client: httpx.Client, container_id: str) -> float:
    """`sh -c true` in the container: exec create, start (attached), inspect; seconds."""
    started = time.perf_counter()
    config = {"Cmd": ["sh", "-c", "true"], "AttachStdout": True, "AttachStderr": True}
    created = _checked(client.post(f"/containers/{container_id}/exec", json=config))
    exec_id = created.json()["Id"]
    _checked(client.post(f"/exec/{exec_id}/start", json={"Detach": False, "Tty": False}))
    info = _checked(client.get(f"/exec/{exec_id}/json")).json()
    while info.get("Running"):  # the stream may end a moment before the exit is recorded
        info = _checked(client.get(f"/exec/{exec_id}/json")).json()
    elapsed = time.perf_counter() - started
    if info.get("ExitCode") != 0:
        raise RuntimeError(f"`true` exited with {info.get('ExitCode')} in the floor")
    return elapsed


def remove_by_name_prefix(client: httpx.Client, prefix: str) -> int:
    """Force-remove every container whose name starts with `prefix`; returns how many."""
    listed = _checked(client.get("/containers/json", params={"all": "1"})).json()
    doomed = [
        item["Id"]
        for item in listed
        if any(n.lstrip("/").startswith(prefix) for n in item.get("Names") or [])
    ]
    for container_id in doomed:
        response = client.delete(f"/containers/{container_id}", params={"force": "1", "v": "1"})
        if response.status_code not in (204, 404, 409):
            _checked(response)
    return len(doomed)


def main(argv: list[str]) -> None:
    command, socket_path, image, project, count = argv
    with open_client(socket_path) as client:
        if command == "up":
            seconds = up(client, image, project, int(count))
        else:
            seconds = down(client, project)
    print(json.dumps({"engine_seconds": seconds}))


if __name__ == "__main__":
    main(sys.argv[1:])
