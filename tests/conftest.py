"""Shared fixtures: a live engine, the offline busybox test image, and cleanup.

`POCKETDOCK_TEST_ENGINE` picks the engine (`docker`, the default, or `podman`);
`POCKETDOCK_TEST_SOCKET` overrides its socket. A missing engine fails the engine tests
rather than skipping them: under CI the engine is always started first.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterator

import pytest

from pocketdock import labels as L
from pocketdock.engine.client import EngineClient, close_clients, get_client
from pocketdock.engine.parse import item_name

TEST_IMAGE = "pocketdock-test/busybox:latest"
EXAMPLE_IMAGE = "busybox:latest"
SOCKETS = {"docker": "/var/run/docker.sock", "podman": "/run/podman/podman.sock"}
# Every name a test makes starts with this, so the session's cleanup removes only its own
# containers even when other test runs share the engine.
SESSION_PREFIX = f"t{secrets.token_hex(2)}"


def engine_name() -> str:
    return os.environ.get("POCKETDOCK_TEST_ENGINE", "docker")


def engine_socket() -> str:
    return os.environ.get("POCKETDOCK_TEST_SOCKET") or SOCKETS[engine_name()]


@pytest.fixture(scope="session")
def socket_path() -> str:
    return engine_socket()


@pytest.fixture(scope="session")
def client(socket_path: str) -> Iterator[EngineClient]:
    from pocketdock.errors import EngineUnavailable

    engine = get_client(socket_path)
    try:
        engine.ping()
    except EngineUnavailable as exc:
        pytest.fail(f"the {engine_name()} engine is not running ({exc}); run scripts/start-engine")
    yield engine
    # Remove whatever this session's tests left behind, and nothing else.
    for item in engine.list_containers(labels={L.MANAGED: "true"}):
        if item_name(item).startswith(SESSION_PREFIX):
            engine.remove_container(item["Id"], force=True)
    close_clients()


@pytest.fixture(scope="session")
def test_image(client: EngineClient) -> str:
    from pocketdock.sandbox.offline_image import ensure_busybox_image

    image_id = ensure_busybox_image(client, TEST_IMAGE)
    # The examples name `busybox:latest`, which these machines cannot pull.
    if client.image_id(EXAMPLE_IMAGE) is None:
        client.tag_image(image_id, repo="busybox", tag="latest")
    return TEST_IMAGE


@pytest.fixture
def engine_env(
    monkeypatch: pytest.MonkeyPatch, socket_path: str, test_image: str
) -> dict[str, str]:
    """Point pocketdock (and any subprocess) at the test engine and image."""
    monkeypatch.setenv("POCKETDOCK_SOCKET", socket_path)
    monkeypatch.setenv("POCKETDOCK_IMAGE", test_image)
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    return {"POCKETDOCK_SOCKET": socket_path, "POCKETDOCK_IMAGE": test_image}


@pytest.fixture
def unique() -> str:
    """A short random prefix for names, so tests never collide with each other."""
    return f"{SESSION_PREFIX}{secrets.token_hex(2)}"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    logger = logging.getLogger("pocketdock")
    handlers, level = list(logger.handlers), logger.level
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)
