"""Mounts that would hand a sandbox the keys to the host.

A bind of the engine's own socket lets code in the sandbox start privileged containers;
a bind of the host's `/` exposes everything. Both are refused unless explicitly allowed.
"""

from __future__ import annotations

import posixpath

ENGINE_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock", "/run/podman/podman.sock")


def is_engine_socket(host_path: str) -> bool:
    path = posixpath.normpath(host_path)
    return path in ENGINE_SOCKETS or path.endswith(("/docker.sock", "/podman.sock"))


def is_host_root(host_path: str) -> bool:
    return posixpath.normpath(host_path) == "/"


def mount_refusal(
    host_path: str, *, allow_engine_socket: bool, allow_host_root: bool
) -> str | None:
    """Why mounting `host_path` is refused, or None when it is fine."""
    if is_engine_socket(host_path) and not allow_engine_socket:
        return (
            f"mounting the engine socket {host_path} gives the sandbox control of the host; "
            "set allow_engine_socket = true if that is really wanted"
        )
    if is_host_root(host_path) and not allow_host_root:
        return (
            "mounting the host's / exposes the whole machine; "
            "set allow_host_root = true if that is really wanted"
        )
    return None
