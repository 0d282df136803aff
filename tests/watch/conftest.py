"""Fixtures for the watch tests.

Project names start with the `unique` fixture's value so the session cleanup finds every
container these tests leave; each project also removes its own containers at teardown.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support import SocketProxy

import pocketdock
from pocketdock.engine.client import EngineClient
from pocketdock.sandbox.containers import Container

from .helpers import Watch, WatchProject


@pytest.fixture
def project(
    tmp_path: Path, client: EngineClient, engine_env: dict[str, str], unique: str
) -> Iterator[WatchProject]:
    proj = WatchProject(tmp_path / "proj", unique, client, dict(engine_env))
    proj.root.mkdir()
    yield proj
    proj.cleanup()


@pytest.fixture
def start_watch(project: WatchProject) -> Iterator[Callable[..., Watch]]:
    """Start `python -m pocketdock [-v] -f FILE watch ARGS` in the project directory."""
    started: list[Watch] = []

    def start(*args: str, verbose: bool = False, env: dict[str, str] | None = None) -> Watch:
        argv = [sys.executable, "-m", "pocketdock", *(["-v"] if verbose else [])]
        argv += ["-f", str(project.file), "watch", *args]
        process = subprocess.Popen(
            argv,
            env={**os.environ, **project.env, **(env or {}), "NO_COLOR": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=project.root,
        )
        watch = Watch(process)
        started.append(watch)
        return watch

    yield start
    for watch in started:
        if watch.process.poll() is None:
            watch.process.kill()
            watch.process.wait(timeout=10)
        watch.close()


@pytest.fixture
def engine_proxy(tmp_path: Path, socket_path: str) -> Iterator[SocketProxy]:
    # A short path: Unix socket paths are limited to about 100 bytes.
    path = Path(f"/tmp/pd-proxy-{os.getpid()}-{threading.get_ident() % 10000}.sock")
    proxy = SocketProxy(path, socket_path.removeprefix("unix://"))
    proxy.up()
    yield proxy
    proxy.down()


@pytest.fixture
def box(engine_env: dict[str, str], unique: str) -> Iterator[Container]:
    """A running sandbox of its own, for file sync driven without `pocketdock watch`."""
    container = pocketdock.create_new_container(name=f"{unique}-fs", project=unique)
    yield container
    container.shutdown()
