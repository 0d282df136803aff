"""Engine endpoint resolution: each precedence step, and every accepted spelling."""

from __future__ import annotations

from pathlib import Path

import pytest

from pocketdock.engine import endpoint as ep
from pocketdock.engine.client import get_client
from pocketdock.errors import EngineUnavailable


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No engine variables set, and the well-known sockets moved into `tmp_path`."""
    for var in ("POCKETDOCK_SOCKET", "DOCKER_HOST", "XDG_RUNTIME_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(ep, "ROOT_PODMAN_SOCKET", str(tmp_path / "run-podman.sock"))
    monkeypatch.setattr(ep, "DOCKER_SOCKET", str(tmp_path / "docker.sock"))
    return tmp_path


def test_explicit_beats_every_variable(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POCKETDOCK_SOCKET", "/env/pd.sock")
    monkeypatch.setenv("DOCKER_HOST", "unix:///env/docker.sock")
    found = ep.resolve_endpoint("/explicit.sock")
    assert (found.uds, found.source) == ("/explicit.sock", "socket_path")


def test_pocketdock_socket_beats_docker_host(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POCKETDOCK_SOCKET", "/env/pd.sock")
    monkeypatch.setenv("DOCKER_HOST", "unix:///env/docker.sock")
    found = ep.resolve_endpoint()
    assert (found.uds, found.source) == ("/env/pd.sock", "POCKETDOCK_SOCKET")


def test_docker_host_beats_existing_sockets(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_env / "run-podman.sock").touch()
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:2375")
    found = ep.resolve_endpoint()
    assert (found.uds, found.base_url, found.source) == (
        None,
        "http://127.0.0.1:2375",
        "DOCKER_HOST",
    )


def test_empty_variables_are_skipped(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POCKETDOCK_SOCKET", "")
    monkeypatch.setenv("DOCKER_HOST", "")
    assert ep.resolve_endpoint("").source == "docker default"


def test_xdg_runtime_podman_socket_when_it_exists(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = clean_env / "xdg"
    (runtime / "podman").mkdir(parents=True)
    (runtime / "podman" / "podman.sock").touch()
    (clean_env / "run-podman.sock").touch()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    found = ep.resolve_endpoint()
    assert (found.uds, found.source) == (str(runtime / "podman" / "podman.sock"), "podman default")


def test_xdg_runtime_without_socket_falls_through(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(clean_env / "xdg-empty"))
    (clean_env / "run-podman.sock").touch()
    assert ep.resolve_endpoint().uds == str(clean_env / "run-podman.sock")


def test_root_podman_socket_beats_docker(clean_env: Path) -> None:
    (clean_env / "run-podman.sock").touch()
    (clean_env / "docker.sock").touch()
    found = ep.resolve_endpoint()
    assert (found.uds, found.source) == (str(clean_env / "run-podman.sock"), "podman default")


def test_docker_socket_is_the_last_resort_even_when_missing(clean_env: Path) -> None:
    found = ep.resolve_endpoint()
    assert (found.uds, found.source) == (str(clean_env / "docker.sock"), "docker default")
    assert found.display == f"unix://{clean_env / 'docker.sock'}"


@pytest.mark.parametrize("value", ["/run/x.sock", "unix:///run/x.sock", "  unix:///run/x.sock "])
def test_bare_path_and_unix_url_are_the_same(value: str) -> None:
    found = ep.parse_endpoint(value, "test")
    assert (found.uds, found.base_url, found.display) == (
        "/run/x.sock",
        "http://engine",
        "unix:///run/x.sock",
    )


@pytest.mark.parametrize(
    ("value", "base_url"),
    [
        ("tcp://127.0.0.1:2375", "http://127.0.0.1:2375"),
        ("tcp://localhost:2375/", "http://localhost:2375"),
        ("http://127.0.0.1:2375", "http://127.0.0.1:2375"),
    ],
)
def test_tcp_endpoint_speaks_plain_http(value: str, base_url: str) -> None:
    found = ep.parse_endpoint(value, "test")
    assert (found.uds, found.base_url, found.display) == (None, base_url, base_url)


@pytest.mark.parametrize("value", ["ssh://user@host", "npipe:////./pipe/docker_engine", "fd://"])
def test_unsupported_scheme_is_refused(value: str) -> None:
    scheme = value.split("://")[0]
    with pytest.raises(ValueError, match=f"unsupported engine endpoint scheme '{scheme}'"):
        ep.parse_endpoint(value, "DOCKER_HOST")


def test_unsupported_scheme_reaches_callers_as_engine_unavailable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "ssh://user@example.invalid")
    monkeypatch.delenv("POCKETDOCK_SOCKET", raising=False)
    with pytest.raises(EngineUnavailable, match="ssh"):
        get_client()
