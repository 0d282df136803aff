"""A small, typed client for the Docker Engine API (and Podman's compatible API).

One `EngineClient` holds one pooled keep-alive `httpx.Client` per endpoint and is safe to
share between threads. Every call goes to the versioned path `/v1.41/...`, which Docker
Engine >= 20.10 and Podman >= 4 both serve. Lower-layer failures are translated into
`pocketdock.errors` at one place, `_request`, choosing the most specific class.
"""

from __future__ import annotations

import contextlib
import json
import logging
import string
import threading
import time
from collections.abc import Generator, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx

from pocketdock.engine.endpoint import Endpoint, resolve_endpoint
from pocketdock.engine.stream import Demuxer
from pocketdock.errors import (
    CommandTimeout,
    Conflict,
    ContainerNotFound,
    EngineError,
    EngineProtocolError,
    EngineTimeout,
    EngineUnavailable,
    ImageNotFound,
    NameConflict,
    NotFound,
)

API_VERSION = "v1.41"
DEFAULT_TIMEOUT = 60.0
CONNECT_TIMEOUT = 5.0
# How long a create refused with Podman's 500 waits for the name's holder to show up.
NAME_RACE_SECONDS = 2.0

logger = logging.getLogger("pocketdock.engine")

JSON = dict[str, Any]


def _engine_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return response.text.strip()


def _unavailable(endpoint: Endpoint, cause: Exception) -> EngineUnavailable:
    hint = (
        "start one (e.g. `sudo systemctl start docker`, or "
        "`podman system service --time=0 unix:///run/podman/podman.sock`) "
        "or point pocketdock at it with --socket / POCKETDOCK_SOCKET"
    )
    return EngineUnavailable(
        f"no container engine answers at {endpoint.display} (chosen by {endpoint.source}): "
        f"{cause or type(cause).__name__}; {hint}",
        endpoint=endpoint.display,
    )


class EngineClient:
    """The engine operations pocketdock needs, each a thin typed wrapper over one request."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.endpoint = endpoint
        if transport is None and endpoint.uds:
            transport = httpx.HTTPTransport(uds=endpoint.uds, verify=False)
        # Every endpoint speaks plain HTTP, so no TLS context is needed; `verify=False`
        # makes an empty one instead of loading the CA bundle (about 0.1 s).
        self._http = httpx.Client(
            base_url=f"{endpoint.base_url}/{API_VERSION}",
            transport=transport,
            verify=False,
            timeout=httpx.Timeout(timeout, connect=CONNECT_TIMEOUT),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
        )
        self._count_lock = threading.Lock()
        self.request_count = 0
        self._podman: bool | None = None

    def close(self) -> None:
        self._http.close()

    # -- plumbing ---------------------------------------------------------------------

    def _count(self) -> None:
        with self._count_lock:
            self.request_count += 1

    @contextmanager
    def _translate(self, method: str, path: str) -> Iterator[None]:
        """Map httpx's transport errors to pocketdock errors, most specific first."""
        try:
            yield
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise _unavailable(self.endpoint, exc) from exc
        except httpx.TimeoutException as exc:
            raise EngineTimeout(f"engine did not answer {method} {path} in time: {exc}") from exc
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise EngineProtocolError(
                f"connection to the engine broke during {method} {path}: {exc}"
            ) from exc
        except httpx.TransportError as exc:
            raise _unavailable(self.endpoint, exc) from exc

    def _check(
        self,
        response: httpx.Response,
        *,
        what: str,
        not_found: type[NotFound] = NotFound,
        conflict: type[Conflict] = Conflict,
    ) -> None:
        status = response.status_code
        if status < 300 or status == 304:
            return
        if not response.is_stream_consumed:
            response.read()
        message = _engine_message(response)
        text = f"failed to {what}: {message or f'HTTP {status}'}"
        if status == 404:
            raise not_found(text, status=status, engine_message=message)
        if status == 409:
            raise conflict(text, status=status, engine_message=message)
        raise EngineError(text, status=status, engine_message=message)

    def _request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        not_found: type[NotFound] = NotFound,
        conflict: type[Conflict] = Conflict,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        self._count()
        started = time.perf_counter()
        extra: dict[str, Any] = {}
        if timeout is not None:
            extra["timeout"] = httpx.Timeout(timeout, connect=CONNECT_TIMEOUT)
        with self._translate(method, path):
            response = self._http.request(method, path, **kwargs, **extra)
        if logger.isEnabledFor(logging.DEBUG):
            elapsed = (time.perf_counter() - started) * 1000
            logger.debug("%s %s -> %d (%.1f ms)", method, path, response.status_code, elapsed)
        self._check(response, what=what, not_found=not_found, conflict=conflict)
        return response

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            snippet = response.text[:200]
            raise EngineProtocolError(
                f"engine answered {response.request.method} {response.request.url.path} "
                f"with malformed JSON: {snippet!r}"
            ) from exc

    def _json_object(self, response: httpx.Response) -> JSON:
        body = self._json(response)
        if not isinstance(body, dict):
            raise EngineProtocolError(f"expected a JSON object from the engine, got {body!r:.200}")
        return body

    def _json_list(self, response: httpx.Response) -> list[JSON]:
        body = self._json(response)
        if body is None:  # Podman answers `null` for an empty list in some versions
            return []
        if not isinstance(body, list) or not all(isinstance(x, dict) for x in body):
            raise EngineProtocolError(f"expected a JSON array from the engine, got {body!r:.200}")
        return body

    # -- system -----------------------------------------------------------------------

    def ping(self) -> None:
        """Raise `EngineUnavailable` unless the engine answers `/_ping`."""
        self._request("GET", "/_ping", what="ping the engine")

    def version(self) -> JSON:
        return self._json_object(self._request("GET", "/version", what="read the engine version"))

    # -- containers -------------------------------------------------------------------

    def list_containers(
        self, *, labels: Mapping[str, str] | None = None, name: str | None = None
    ) -> list[JSON]:
        """All containers (running or not) carrying every label in `labels`."""
        filters: dict[str, list[str]] = {}
        if labels:
            filters["label"] = [f"{k}={v}" for k, v in labels.items()]
        if name:
            filters["name"] = [name]
        params = {"all": "1", "filters": json.dumps(filters)}
        response = self._request("GET", "/containers/json", params=params, what="list containers")
        return self._json_list(response)

    def inspect_container(self, ref: str) -> JSON:
        response = self._request(
            "GET",
            f"/containers/{ref}/json",
            what=f"inspect container {ref}",
            not_found=ContainerNotFound,
        )
        return self._json_object(response)

    def _container_exists(self, ref: str) -> bool:
        try:
            self.inspect_container(ref)
        except ContainerNotFound:
            return False
        return True

    def _name_appears(self, name: str) -> bool:
        """Whether a container called `name` exists now or within `NAME_RACE_SECONDS`.

        Podman reserves a name in its storage before the container it belongs to can be
        inspected, so a create racing another one for the same name can be refused while
        the winner is still invisible for a moment.
        """
        deadline = time.monotonic() + NAME_RACE_SECONDS
        while not self._container_exists(name):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def create_container(self, name: str | None, config: JSON) -> str:
        """Create a container and return its id; `NameConflict` if the name is taken."""
        params = {"name": name} if name else {}
        what = f"create container {name or ''}".rstrip()
        try:
            response = self._request(
                "POST",
                "/containers/create",
                params=params,
                json=config,
                what=what,
                not_found=ImageNotFound,
                conflict=NameConflict,
            )
        except EngineError as exc:
            # Podman answers a taken name with 500, not 409: look the name up instead of
            # reading its message.
            if exc.status != 500 or not name or not self._name_appears(name):
                raise
            raise NameConflict(
                f"failed to {what}: the name is already in use",
                status=409,
                engine_message=exc.engine_message,
            ) from exc
        container_id = self._json_object(response).get("Id")
        if not isinstance(container_id, str):
            raise EngineProtocolError("engine created a container but returned no id")
        return container_id

    def start_container(self, ref: str) -> None:
        self._request(
            "POST",
            f"/containers/{ref}/start",
            what=f"start container {ref}",
            not_found=ContainerNotFound,
        )

    def stop_container(self, ref: str, *, timeout: int = 5) -> None:
        """Stop gracefully: SIGTERM, then SIGKILL after `timeout` seconds."""
        self._request(
            "POST",
            f"/containers/{ref}/stop",
            params={"t": str(timeout)},
            timeout=DEFAULT_TIMEOUT + timeout,
            what=f"stop container {ref}",
            not_found=ContainerNotFound,
        )

    def kill_container(self, ref: str, *, signal: str = "KILL") -> None:
        self._request(
            "POST",
            f"/containers/{ref}/kill",
            params={"signal": signal},
            what=f"kill container {ref}",
            not_found=ContainerNotFound,
        )

    def unpause_container(self, ref: str) -> None:
        self._request(
            "POST",
            f"/containers/{ref}/unpause",
            what=f"unpause container {ref}",
            not_found=ContainerNotFound,
        )

    def remove_container(self, ref: str, *, force: bool = True) -> None:
        self._request(
            "DELETE",
            f"/containers/{ref}",
            params={"force": "1" if force else "0", "v": "1"},
            what=f"remove container {ref}",
            not_found=ContainerNotFound,
        )

    # -- exec -------------------------------------------------------------------------

    def exec_create(
        self,
        ref: str,
        cmd: list[str],
        *,
        env: Mapping[str, str] | None = None,
        workdir: str | None = None,
    ) -> str:
        config: JSON = {"Cmd": cmd, "AttachStdout": True, "AttachStderr": True}
        if env:
            config["Env"] = [f"{k}={v}" for k, v in env.items()]
        if workdir:
            config["WorkingDir"] = workdir
        response = self._request(
            "POST",
            f"/containers/{ref}/exec",
            json=config,
            what=f"run a command in container {ref}",
            not_found=ContainerNotFound,
        )
        exec_id = self._json_object(response).get("Id")
        if not isinstance(exec_id, str):
            raise EngineProtocolError("engine created an exec but returned no id")
        return exec_id

    def _exec_chunks(self, exec_id: str, read_timeout: float | None) -> Generator[bytes]:
        """Start a created exec, attached, and yield its raw multiplexed output."""
        self._count()
        path = f"/exec/{exec_id}/start"
        timeout = httpx.Timeout(CONNECT_TIMEOUT, read=read_timeout, write=DEFAULT_TIMEOUT)
        body = {"Detach": False, "Tty": False}
        with (
            self._translate("POST", path),
            self._http.stream("POST", path, json=body, timeout=timeout) as response,
        ):
            self._check(response, what="start a command", not_found=ContainerNotFound)
            yield from response.iter_raw()

    def exec_stream(self, exec_id: str) -> Iterator[tuple[int, bytes]]:
        """Run a created exec, yielding (stream id, bytes) frames as they arrive.

        Stream id 1 is stdout and 2 is stderr. There is no timeout: the caller decides
        when to stop iterating.
        """
        demuxer = Demuxer()
        with contextlib.closing(self._exec_chunks(exec_id, None)) as chunks:
            for chunk in chunks:
                yield from demuxer.frames(chunk)
        demuxer.close()

    def exec_start(self, exec_id: str, *, timeout: float | None = None) -> tuple[bytes, bytes]:
        """Run a created exec to completion; returns (stdout, stderr).

        `timeout` bounds the silence between two chunks of output and the whole run;
        `CommandTimeout` is raised when it passes. Note that the engine API cannot kill an
        exec, so the command may keep running inside the container after the timeout.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        expired = CommandTimeout(f"command did not finish within {timeout} s")
        demuxer = Demuxer()
        try:
            with contextlib.closing(self._exec_chunks(exec_id, timeout)) as chunks:
                for chunk in chunks:
                    demuxer.feed(chunk)
                    if deadline is not None and time.monotonic() > deadline:
                        raise expired
        except EngineError as exc:
            if isinstance(exc.__cause__, httpx.ReadTimeout):
                raise expired from exc
            raise
        demuxer.close()
        return bytes(demuxer.stdout), bytes(demuxer.stderr)

    def exec_inspect(self, exec_id: str) -> JSON:
        response = self._request("GET", f"/exec/{exec_id}/json", what="inspect a command")
        return self._json_object(response)

    # -- files ------------------------------------------------------------------------

    def put_archive(self, ref: str, path: str, tar: bytes) -> None:
        """Unpack a tar archive into directory `path` of the container."""
        self._request(
            "PUT",
            f"/containers/{ref}/archive",
            params={"path": path},
            content=tar,
            headers={"Content-Type": "application/x-tar"},
            what=f"copy files into {ref}:{path}",
            not_found=ContainerNotFound,
        )

    def get_archive(self, ref: str, path: str) -> bytes:
        """A tar archive of `path` in the container; `NotFound` if it does not exist."""
        response = self._request(
            "GET",
            f"/containers/{ref}/archive",
            params={"path": path},
            what=f"copy {ref}:{path} out of the container",
        )
        return response.content

    # -- images -----------------------------------------------------------------------

    def is_podman(self) -> bool:
        """Whether the engine is Podman (its `/version` lists a "Podman Engine" component)."""
        if self._podman is None:
            components = self.version().get("Components")
            names = [c.get("Name") for c in components or [] if isinstance(c, dict)]
            self._podman = "Podman Engine" in names
        return self._podman

    def commit(
        self,
        ref: str,
        *,
        repo: str,
        tag: str,
        comment: str = "",
        labels: Mapping[str, str] | None = None,
    ) -> str:
        """Commit a container's filesystem to `repo:tag` and return the image id.

        `labels` are set on the image over the container's own. Docker reads them from the
        config body; Podman ignores that body, so for Podman they go as `LABEL` changes,
        which it takes verbatim between quotes: a label with `"`, `\\` or a newline cannot
        be expressed there and raises `EngineError` rather than being stored altered.
        """
        params: list[tuple[str, str]] = [
            ("container", ref),
            ("repo", repo),
            ("tag", tag),
            ("comment", comment),
        ]
        if labels and self.is_podman():
            params += [("changes", _podman_label_change(k, v)) for k, v in labels.items()]
        config: JSON = {"Labels": dict(labels)} if labels else {}
        response = self._request(
            "POST",
            "/commit",
            params=params,
            json=config,
            timeout=600.0,
            what=f"snapshot container {ref}",
            not_found=ContainerNotFound,
        )
        image_id = self._json_object(response).get("Id")
        if not isinstance(image_id, str):
            raise EngineProtocolError("engine committed the container but returned no image id")
        return full_image_id(image_id)

    def inspect_image(self, ref: str) -> JSON:
        response = self._request(
            "GET", f"/images/{ref}/json", what=f"inspect image {ref}", not_found=ImageNotFound
        )
        return self._json_object(response)

    def image_id(self, ref: str) -> str | None:
        """The local id of image `ref`, or None when the engine does not have it."""
        try:
            image = self.inspect_image(ref)
        except ImageNotFound:
            return None
        image_id = image.get("Id")
        return image_id if isinstance(image_id, str) else None

    def list_images(self, *, reference: str | None = None) -> list[JSON]:
        params = {"filters": json.dumps({"reference": [reference]})} if reference else {}
        response = self._request("GET", "/images/json", params=params, what="list images")
        return self._json_list(response)

    def remove_image(self, ref: str, *, force: bool = False) -> None:
        self._request(
            "DELETE",
            f"/images/{ref}",
            params={"force": "1" if force else "0"},
            what=f"remove image {ref}",
            not_found=ImageNotFound,
        )

    def tag_image(self, ref: str, *, repo: str, tag: str) -> None:
        self._request(
            "POST",
            f"/images/{ref}/tag",
            params={"repo": repo, "tag": tag},
            what=f"tag image {ref} as {repo}:{tag}",
            not_found=ImageNotFound,
        )

    def import_image(
        self, tar: bytes, *, repo: str, tag: str, changes: list[str] | None = None
    ) -> str:
        """Create image `repo:tag` from a root filesystem tarball; returns its id."""
        params: list[tuple[str, str]] = [("fromSrc", "-"), ("repo", repo), ("tag", tag)]
        params += [("changes", change) for change in changes or []]
        self._request(
            "POST",
            "/images/create",
            params=params,
            content=tar,
            headers={"Content-Type": "application/x-tar"},
            timeout=600.0,
            what=f"import image {repo}:{tag}",
        )
        image_id = self.image_id(f"{repo}:{tag}")
        if image_id is None:
            raise EngineProtocolError(f"engine accepted the import but has no image {repo}:{tag}")
        return image_id

    # -- events -----------------------------------------------------------------------

    def events(
        self, *, filters: Mapping[str, list[str]] | None = None, since: str | None = None
    ) -> Iterator[JSON]:
        """Stream engine events as they happen, until the caller stops iterating."""
        self._count()
        params: dict[str, str] = {}
        if filters:
            params["filters"] = json.dumps(dict(filters))
        if since:
            params["since"] = since
        no_read_timeout = httpx.Timeout(CONNECT_TIMEOUT, read=None)
        with (
            self._translate("GET", "/events"),
            self._http.stream("GET", "/events", params=params, timeout=no_read_timeout) as response,
        ):
            self._check(response, what="follow engine events")
            for line in response.iter_lines():
                if not line.strip():
                    continue
                try:
                    event = json.loads(line)
                except ValueError as exc:
                    raise EngineProtocolError(f"malformed engine event: {line[:200]!r}") from exc
                if isinstance(event, dict):
                    yield event


def _podman_label_change(key: str, value: str) -> str:
    for text in (key, value):
        if any(c in text for c in '"\\\n\r'):
            raise EngineError(f"Podman cannot store the image label {key}={value!r} exactly")
    return f'LABEL "{key}"="{value}"'


def full_image_id(image_id: str) -> str:
    """`sha256:<hex>`, the form image inspect uses (Podman's commit answers bare hex)."""
    if len(image_id) == 64 and all(c in string.hexdigits for c in image_id):
        return f"sha256:{image_id}"
    return image_id


_clients: dict[Endpoint, EngineClient] = {}
_clients_lock = threading.Lock()


def get_client(socket_path: str | None = None) -> EngineClient:
    """The shared client for `socket_path` (resolved as in `pocketdock.engine.endpoint`)."""
    try:
        endpoint = resolve_endpoint(socket_path)
    except ValueError as exc:
        raise EngineUnavailable(str(exc), endpoint=socket_path or "") from exc
    with _clients_lock:
        client = _clients.get(endpoint)
        if client is None:
            client = _clients[endpoint] = EngineClient(endpoint)
        return client


def close_clients() -> None:
    """Close and forget every shared client; the next `get_client` opens a fresh one."""
    with _clients_lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        client.close()


def total_requests() -> int:
    """Engine requests made by every shared client in this process (for benchmarks)."""
    with _clients_lock:
        return sum(client.request_count for client in _clients.values())
