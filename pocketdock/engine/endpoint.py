"""Where the engine is: resolving the endpoint pocketdock talks to.

First hit wins:

1. an explicit `socket_path` argument (the CLI's `--socket`);
2. `POCKETDOCK_SOCKET`;
3. `DOCKER_HOST` (`unix://` or `tcp://`);
4. `$XDG_RUNTIME_DIR/podman/podman.sock`, if it exists;
5. `/run/podman/podman.sock`, if it exists;
6. `/var/run/docker.sock`.

A bare path and a `unix://` URL mean the same thing. `tcp://host:port` speaks plain HTTP;
TLS (`DOCKER_TLS_VERIFY`) is not supported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DOCKER_SOCKET = "/var/run/docker.sock"
ROOT_PODMAN_SOCKET = "/run/podman/podman.sock"


@dataclass(frozen=True)
class Endpoint:
    """A resolved engine address: a Unix socket path or an HTTP base URL."""

    uds: str | None  # socket path, for unix endpoints
    base_url: str  # what httpx puts in front of each path
    source: str = field(compare=False)  # how it was chosen, e.g. "DOCKER_HOST"

    @property
    def display(self) -> str:
        return f"unix://{self.uds}" if self.uds else self.base_url


def parse_endpoint(value: str, source: str) -> Endpoint:
    """Turn `PATH`, `unix://PATH` or `tcp://HOST:PORT` into an `Endpoint`."""
    value = value.strip()
    if value.startswith("unix://"):
        return Endpoint(uds=value[len("unix://") :], base_url="http://engine", source=source)
    if value.startswith(("tcp://", "http://")):
        hostport = value.split("://", 1)[1].rstrip("/")
        return Endpoint(uds=None, base_url=f"http://{hostport}", source=source)
    if "://" in value:
        scheme = value.split("://", 1)[0]
        raise ValueError(f"unsupported engine endpoint scheme {scheme!r} in {value!r} ({source})")
    return Endpoint(uds=value, base_url="http://engine", source=source)


def resolve_endpoint(explicit: str | None = None) -> Endpoint:
    """Pick the engine endpoint by the precedence in this module's docstring."""
    if explicit:
        return parse_endpoint(explicit, "socket_path")
    for var in ("POCKETDOCK_SOCKET", "DOCKER_HOST"):
        value = os.environ.get(var)
        if value:
            return parse_endpoint(value, var)
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR")
    candidates = []
    if runtime_dir:
        candidates.append(str(Path(runtime_dir) / "podman" / "podman.sock"))
    candidates.append(ROOT_PODMAN_SOCKET)
    for path in candidates:
        if Path(path).exists():
            return parse_endpoint(path, "podman default")
    return parse_endpoint(DOCKER_SOCKET, "docker default")
