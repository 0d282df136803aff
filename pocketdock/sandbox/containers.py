"""The imperative sandbox API: create, run in, snapshot, stop, resume, list, destroy, prune.

Sandboxes are ordinary containers carrying pocketdock's labels (`pocketdock.labels`).
They run a keep-alive process under the engine's init, so they stay up between commands
and stop within a moment. They are ephemeral by default: `Container.shutdown()` (or
leaving a `with` block) removes them; with `persist=True` it only stops them, and
`resume_container` brings them back with their filesystem as it was.

Every function takes `socket_path`; see `pocketdock.engine.endpoint` for how the engine
is found when it is None. Only containers labelled `pocketdock.managed=true` are ever
looked up, stopped, pruned or destroyed by name.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import posixpath
import secrets
import tarfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from pocketdock import labels as L
from pocketdock.engine.client import EngineClient, get_client
from pocketdock.engine.parse import (
    item_created,
    item_image,
    item_labels,
    item_name,
    item_state,
    split_image_ref,
)
from pocketdock.errors import ContainerNotFound, NameConflict, NotFound, PocketDockError
from pocketdock.sandbox import instances
from pocketdock.sandbox.security import mount_refusal
from pocketdock.sandbox.sizes import parse_bytes

DEFAULT_IMAGE = "python:3.12-slim"
KEEP_ALIVE = ("sleep", "infinity")
DEFAULT_PIDS_LIMIT = 1024
STOP_TIMEOUT = 5

VolumeSpec = str | Mapping[str, Any]


def _default_image() -> str:
    return os.environ.get("POCKETDOCK_IMAGE") or DEFAULT_IMAGE


@dataclass(frozen=True)
class ExecResult:
    """What a command run in a sandbox did."""

    exit_code: int
    stdout: str
    stderr: str
    duration: float  # seconds, wall time as seen by pocketdock

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


@dataclass(frozen=True)
class ContainerListItem:
    """One managed container as `list_containers` reports it."""

    id: str
    name: str
    status: str  # the engine's state word: running, exited, created, paused, ...
    image: str
    created_at: str  # ISO 8601, UTC
    persist: bool
    project: str


class Container:
    """A handle on one sandbox. Cheap to make; holds no state beyond ids and flags."""

    def __init__(
        self,
        client: EngineClient,
        *,
        id: str,
        name: str,
        persist: bool,
        project: str,
        data_path: Path | None = None,
    ) -> None:
        self._client = client
        self.id = id
        self.name = name
        self.persist = persist
        self.project = project
        self.data_path = data_path

    def __repr__(self) -> str:
        return f"Container(name={self.name!r}, id={self.id[:12]!r}, persist={self.persist})"

    def __enter__(self) -> Container:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.shutdown()

    # -- commands ---------------------------------------------------------------------

    def run(
        self,
        command: str | Sequence[str],
        *,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
        workdir: str | None = None,
    ) -> ExecResult:
        """Run a command and wait for it: a string goes through `sh -c`, a list is argv.

        Raises `CommandTimeout` after `timeout` seconds. Note that the engine cannot kill
        an exec, so a timed-out command may keep running until the sandbox stops.
        """
        argv = ["sh", "-c", command] if isinstance(command, str) else list(command)
        started = time.perf_counter()
        exec_id = self._client.exec_create(self.id, argv, env=env, workdir=workdir)
        stdout, stderr = self._client.exec_start(exec_id, timeout=timeout)
        exit_code = self._exit_code(exec_id)
        result = ExecResult(
            exit_code=exit_code,
            stdout=stdout.decode("utf-8", errors="replace"),
            stderr=stderr.decode("utf-8", errors="replace"),
            duration=time.perf_counter() - started,
        )
        if self.data_path is not None:
            entry = {
                "time": instances.now_iso(),
                "command": argv,
                "exit_code": exit_code,
                "duration": round(result.duration, 4),
            }
            instances.append_history(self.data_path, entry)
        return result

    def _exit_code(self, exec_id: str) -> int:
        # The stream can close a moment before the engine records the exit code.
        for _ in range(50):
            info = self._client.exec_inspect(exec_id)
            code = info.get("ExitCode")
            if isinstance(code, int) and not info.get("Running"):
                return code
            time.sleep(0.02)
        raise PocketDockError(f"command in {self.name} ended but the engine reports no exit code")

    # -- files ------------------------------------------------------------------------

    def write_file(self, path: str, data: bytes | str, *, mode: int = 0o644) -> None:
        """Write `data` to absolute `path` in the sandbox, creating parent directories."""
        if not path.startswith("/"):
            raise ValueError(f"write_file needs an absolute path in the sandbox, got {path!r}")
        payload = data.encode() if isinstance(data, str) else data
        info = tarfile.TarInfo(posixpath.normpath(path).lstrip("/"))
        info.size = len(payload)
        info.mode = mode
        info.mtime = int(time.time())
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            tar.addfile(info, io.BytesIO(payload))
        self._client.put_archive(self.id, "/", buffer.getvalue())

    def read_file(self, path: str) -> bytes:
        """The contents of the regular file at `path` in the sandbox."""
        try:
            archive = self._client.get_archive(self.id, path)
        except NotFound as exc:
            raise NotFound(f"no file {path} in sandbox {self.name}", status=404) from exc
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            member = next((m for m in tar.getmembers()), None)
            if member is None or not member.isfile():
                raise PocketDockError(f"{path} in sandbox {self.name} is not a regular file")
            extracted = tar.extractfile(member)
            assert extracted is not None
            return extracted.read()

    # -- lifecycle --------------------------------------------------------------------

    def snapshot(self, tag: str) -> str:
        """Commit the sandbox's filesystem as image `tag` (`repo[:tag]`); returns its id.

        pocketdock's own labels are blanked on the image, so a container someone starts
        from it is never mistaken for a managed sandbox.
        """
        repo, image_tag = split_image_ref(tag)
        return commit_container(self._client, self.id, repo=repo, tag=image_tag)

    def status(self) -> str:
        """The engine's state word for this container: running, exited, ..."""
        from pocketdock.engine.parse import inspect_state

        return inspect_state(self._client.inspect_container(self.id))

    def stop(self) -> None:
        self._client.stop_container(self.id, timeout=STOP_TIMEOUT)

    def shutdown(self) -> None:
        """Stop a persistent sandbox; remove an ephemeral one (and its records)."""
        if self.persist:
            self.stop()
            return
        with contextlib.suppress(ContainerNotFound):
            self._client.remove_container(self.id, force=True)
        if self.data_path is not None:
            instances.remove_instance(self.data_path)


def commit_container(
    client: EngineClient,
    container_id: str,
    *,
    repo: str,
    tag: str,
    labels: Mapping[str, str] | None = None,
) -> str:
    """Commit a container, blanking its pocketdock labels on the image (see `snapshot`)."""
    info = client.inspect_container(container_id)
    config = info.get("Config") or {}
    own = {k: "" for k in (config.get("Labels") or {}) if k.startswith(L.PREFIX)}
    return client.commit(container_id, repo=repo, tag=tag, labels={**own, **(labels or {})})


def _binds(
    volumes: Mapping[str, VolumeSpec] | None,
    *,
    allow_engine_socket: bool,
    allow_host_root: bool,
    engine_socket: str | None,
) -> list[str]:
    binds = []
    for host, spec in (volumes or {}).items():
        if isinstance(spec, str):
            target, read_only = spec, False
        else:
            target = str(spec.get("target") or spec.get("bind") or "")
            read_only = bool(spec.get("read_only")) or spec.get("mode") == "ro"
        if not target.startswith("/"):
            raise ValueError(f"volume target for {host!r} must be an absolute path, got {target!r}")
        source = os.path.abspath(os.path.expanduser(host))
        # The path as written and where its symlinks lead: `./sock -> /run/docker.sock`
        # must not slip through.
        for candidate in dict.fromkeys((source, os.path.realpath(source))):
            refusal = mount_refusal(
                candidate,
                allow_engine_socket=allow_engine_socket,
                allow_host_root=allow_host_root,
                engine_socket=engine_socket,
            )
            if refusal:
                raise PocketDockError(f"refusing volume {host!r}: {refusal}")
        binds.append((source, f"{source}:{target}:ro" if read_only else f"{source}:{target}"))
    # Only once every volume passed: Docker would create a missing source as root-owned,
    # and Podman refuses; making it here lets both engines behave the same.
    for source, _ in binds:
        if not os.path.exists(source):
            os.makedirs(source, exist_ok=True)
    return [bind for _, bind in binds]


def _container_config(
    *,
    image: str,
    command: Sequence[str],
    labels: dict[str, str],
    env: Mapping[str, str] | None,
    workdir: str | None,
    binds: list[str],
    mem_limit: int | str | None,
    cpus: float | None,
    pids_limit: int | None,
    no_new_privileges: bool,
) -> dict[str, Any]:
    host_config: dict[str, Any] = {"Init": True, "Privileged": False, "Binds": binds}
    if no_new_privileges:
        host_config["SecurityOpt"] = ["no-new-privileges"]
    if pids_limit is not None:
        host_config["PidsLimit"] = pids_limit
    if mem_limit is not None:
        host_config["Memory"] = parse_bytes(mem_limit)
    if cpus is not None:
        if not math.isfinite(cpus) or cpus < 0.01:
            raise ValueError(f"cpus must be a number of CPUs from 0.01 up, got {cpus!r}")
        host_config["NanoCpus"] = int(cpus * 1_000_000_000)
    config: dict[str, Any] = {
        "Image": image,
        "Cmd": list(command),
        "Labels": labels,
        "Env": [f"{k}={v}" for k, v in (env or {}).items()],
        "Tty": False,
        "OpenStdin": False,
        "HostConfig": host_config,
    }
    if workdir:
        config["WorkingDir"] = workdir
    return config


def create_new_container(
    *,
    image: str | None = None,
    name: str | None = None,
    persist: bool = False,
    volumes: Mapping[str, VolumeSpec] | None = None,
    project: str | None = None,
    env: Mapping[str, str] | None = None,
    workdir: str | None = None,
    mem_limit: int | str | None = None,
    cpus: float | None = None,
    socket_path: str | None = None,
    command: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    start: bool = True,
    project_dir: str | Path | None = None,
    pids_limit: int | None = DEFAULT_PIDS_LIMIT,
    no_new_privileges: bool = True,
    allow_engine_socket: bool = False,
    allow_host_root: bool = False,
    record: Mapping[str, Any] | None = None,
) -> Container:
    """Create and start a sandbox; returns its `Container`.

    The image is `image`, else `POCKETDOCK_IMAGE`, else `python:3.12-slim`. pocketdock
    never pulls: a missing image raises `ImageNotFound`. The container's name is exactly
    `name` (a random `pd-xxxxxxxx` when omitted); a taken name raises `NameConflict`.
    `volumes` maps host paths to container paths (or to `{"target": ..., "read_only":
    True}`); missing host directories are created. The sandbox gets an instance
    directory when `project_dir` is given, or when `project` is given and a
    `pocket-dock.toml` is found from the current directory upwards.

    Sandboxes run with `no-new-privileges`, never privileged, with at most `pids_limit`
    processes. Mounting the engine socket (or a directory holding it) or the host's `/`
    is refused unless allowed, judged on each host path and on where its symlinks lead.
    `record` adds keys to the instance record (`instance.toml`); it is written before
    the container is created, so an interrupted create still leaves a trace.
    """
    client = get_client(socket_path)
    image = image or _default_image()
    name = name or f"pd-{secrets.token_hex(4)}"
    data_path = _data_path(name, project, project_dir)
    all_labels = {
        **dict(labels or {}),
        L.MANAGED: "true",
        L.INSTANCE: name,
        L.PERSIST: L.flag(persist),
        L.PROJECT: project or "",
    }
    if data_path is not None:
        all_labels[L.DATA_PATH] = str(data_path)
    config = _container_config(
        image=image,
        command=command or KEEP_ALIVE,
        labels=all_labels,
        env=env,
        workdir=workdir,
        binds=_binds(
            volumes,
            allow_engine_socket=allow_engine_socket,
            allow_host_root=allow_host_root,
            engine_socket=client.endpoint.uds,
        ),
        mem_limit=mem_limit,
        cpus=cpus,
        pids_limit=pids_limit,
        no_new_privileges=no_new_privileges,
    )
    info = {"name": name, "image": image, "persist": persist, **dict(record or {})}
    if data_path is not None and not instances.read_instance(data_path).get("container_id"):
        # Never over a live record: the name may turn out to be taken.
        instances.write_instance(data_path, {"container_id": "", **info})
    try:
        container_id = client.create_container(name, config)
    except NameConflict as exc:
        raise NameConflict(
            f"a container named {name} already exists; choose another name, "
            f"or resume it with `pocketdock resume {name}`",
            status=exc.status,
            engine_message=exc.engine_message,
        ) from exc
    if start:
        try:
            client.start_container(container_id)
        except PocketDockError:
            client.remove_container(container_id, force=True)
            raise
    container = Container(
        client,
        id=container_id,
        name=name,
        persist=persist,
        project=project or "",
        data_path=data_path,
    )
    if data_path is not None:
        info.update(container_id=container_id, created_at=instances.now_iso())
        instances.write_instance(data_path, info)
    return container


def _data_path(name: str, project: str | None, project_dir: str | Path | None) -> Path | None:
    if project_dir is not None:
        return instances.instance_dir(Path(project_dir).resolve(), name)
    if project is None:
        return None
    found = instances.find_project_file(Path.cwd())
    return instances.instance_dir(found.parent, name) if found else None


def _container_from_item(client: EngineClient, item: dict[str, Any]) -> Container:
    item_labels_ = item_labels(item)
    data_path = item_labels_.get(L.DATA_PATH)
    return Container(
        client,
        id=str(item.get("Id", "")),
        name=item_name(item),
        persist=item_labels_.get(L.PERSIST) == "true",
        project=item_labels_.get(L.PROJECT, ""),
        data_path=Path(data_path) if data_path else None,
    )


def find_managed(client: EngineClient, name: str) -> dict[str, Any]:
    """The list item of the managed container called `name` (or with that id)."""
    for item in client.list_containers(labels={L.MANAGED: "true"}):
        if item_name(item) == name or item.get("Id") == name:
            return item
    raise ContainerNotFound(f"no pocketdock-managed container named {name}", status=404)


def get_container(name: str, *, socket_path: str | None = None) -> Container:
    """A handle on the managed container `name`, in whatever state it is."""
    client = get_client(socket_path)
    return _container_from_item(client, find_managed(client, name))


def resume_container(name: str, *, socket_path: str | None = None) -> Container:
    """Start the managed container `name` if it is stopped; its filesystem is as it was."""
    client = get_client(socket_path)
    item = find_managed(client, name)
    if item_state(item) != "running":
        client.start_container(str(item["Id"]))
    return _container_from_item(client, item)


def list_containers(
    *, project: str | None = None, socket_path: str | None = None
) -> list[ContainerListItem]:
    """Every managed container, running or stopped; only `project`'s when given."""
    client = get_client(socket_path)
    wanted = {L.MANAGED: "true"}
    if project is not None:
        wanted[L.PROJECT] = project
    items = []
    for item in client.list_containers(labels=wanted):
        item_labels_ = item_labels(item)
        items.append(
            ContainerListItem(
                id=str(item.get("Id", "")),
                name=item_name(item),
                status=item_state(item),
                image=item_image(item),
                created_at=item_created(item),
                persist=item_labels_.get(L.PERSIST) == "true",
                project=item_labels_.get(L.PROJECT, ""),
            )
        )
    return sorted(items, key=lambda i: i.name)


def stop_container(name: str, *, socket_path: str | None = None) -> None:
    """Stop the managed container `name` (a no-op if it is already stopped)."""
    client = get_client(socket_path)
    client.stop_container(str(find_managed(client, name)["Id"]), timeout=STOP_TIMEOUT)


def _remove(client: EngineClient, item: dict[str, Any]) -> None:
    client.remove_container(str(item["Id"]), force=True)
    data_path = item_labels(item).get(L.DATA_PATH)
    if data_path:
        instances.remove_instance(Path(data_path))


def destroy_container(name: str, *, socket_path: str | None = None) -> None:
    """Remove the managed container `name`, persistent or not, and its instance directory."""
    client = get_client(socket_path)
    _remove(client, find_managed(client, name))


def prune(*, project: str | None = None, socket_path: str | None = None) -> int:
    """Remove every stopped managed container (of `project` when given); returns how many.

    Running containers and containers pocketdock did not create are never touched.
    Note that this includes stopped persistent sandboxes: their files go with them.
    """
    client = get_client(socket_path)
    wanted = {L.MANAGED: "true"}
    if project is not None:
        wanted[L.PROJECT] = project
    removed = 0
    for item in client.list_containers(labels=wanted):
        if item_state(item) in ("running", "paused", "restarting"):
            continue
        try:
            _remove(client, item)
        except ContainerNotFound:
            continue  # removed by someone else meanwhile
        removed += 1
    return removed
