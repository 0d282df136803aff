"""Mounts that would hand a sandbox the keys to the host.

A bind of the engine's own socket lets code in the sandbox start privileged containers;
a bind of the host's `/` exposes everything. Both are refused unless explicitly allowed.
The rule here is the only one: the file checker applies it to the text of
`pocket-dock.toml`, and `create_new_container` applies it again to each host path and to
where its symlinks lead, knowing the socket of the engine it talks to.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from pathlib import PurePosixPath

ENGINE_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock", "/run/podman/podman.sock")


def exposes_engine(host_path: str, sockets: Iterable[str] = ENGINE_SOCKETS) -> bool:
    """Whether binding `host_path` hands over an engine socket.

    True for a path named like an engine socket, one of `sockets`, or a directory that
    holds one of them (mounting `/run` exposes `/run/docker.sock` too).
    """
    path = posixpath.normpath(host_path)
    if path.endswith(("/docker.sock", "/podman.sock")) or path in ("docker.sock", "podman.sock"):
        return True
    if path == "/":
        return False  # the host's root has its own rule
    here = PurePosixPath(path)
    return any(
        here == PurePosixPath(sock) or here in PurePosixPath(sock).parents for sock in sockets
    )


def is_host_root(host_path: str) -> bool:
    return posixpath.normpath(host_path) == "/"


def mount_refusal(
    host_path: str,
    *,
    allow_engine_socket: bool,
    allow_host_root: bool,
    engine_socket: str | None = None,
) -> str | None:
    """Why mounting `host_path` is refused, or None when it is fine.

    `engine_socket` is the socket of the engine in use, when there is one, so that a
    socket in an unusual place (a rootless Podman's, under `/run/user/`) counts as well.
    """
    sockets = (*ENGINE_SOCKETS, engine_socket) if engine_socket else ENGINE_SOCKETS
    if exposes_engine(host_path, sockets) and not allow_engine_socket:
        return (
            f"mounting {host_path} exposes the engine socket, which gives the sandbox control "
            "of the host; set allow_engine_socket = true if that is really wanted"
        )
    if is_host_root(host_path) and not allow_host_root:
        return (
            "mounting the host's / exposes the whole machine; "
            "set allow_host_root = true if that is really wanted"
        )
    return None
