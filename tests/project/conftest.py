"""Helpers for the end-to-end project tests: a fresh project dir, the CLI, engine checks.

Every project gets a name starting with the session prefix (see `tests/conftest.py`), so
its containers are named `<project>-<sandbox>` and the session cleanup can find them.
The `project` fixture also removes, when the test ends, every container whose name
starts with the project's name (labelled or not) and every image tagged with it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from support import wait_for

from pocketdock import labels as L
from pocketdock.cli.main import cli
from pocketdock.engine.client import EngineClient
from pocketdock.engine.parse import image_tags, item_labels, item_name, item_state
from pocketdock.errors import ContainerNotFound, ImageNotFound

FILE = "pocket-dock.toml"


@dataclass
class Run:
    """How one CLI invocation ended."""

    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


@dataclass
class Proj:
    """A project directory with its own unique project name."""

    root: Path
    name: str
    client: EngineClient
    env: dict[str, str]
    images: set[str] = field(default_factory=set)  # refs to remove at teardown

    @property
    def file(self) -> Path:
        return self.root / FILE

    def write(self, body: str, *, name: str | None = None) -> None:
        """Write the file: a `[project]` table with this project's name, then `body`."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.file.write_text(f'[project]\nname = "{name or self.name}"\n\n{body}')

    def cli(self, *args: str, input: str | None = None) -> Run:
        """Run `pocketdock -f FILE ARGS` in this process (click's runner)."""
        result: Result = CliRunner().invoke(
            cli, ["-f", str(self.file), *args], input=input, env=self.env, catch_exceptions=False
        )
        return Run(result.exit_code, result.stdout, result.stderr)

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "pocketdock", "-f", str(self.file), *args]

    def sub(self, *args: str, timeout: float = 120) -> Run:
        """Run `python -m pocketdock -f FILE ARGS` as a separate process."""
        done = subprocess.run(
            self.argv(*args),
            env=self.proc_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
        )
        return Run(done.returncode, done.stdout, done.stderr)

    def popen(self, *args: str, **kwargs: Any) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.argv(*args),
            env=self.proc_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=self.root,
            **kwargs,
        )

    def proc_env(self) -> dict[str, str]:
        return {**os.environ, **self.env, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}

    # -- engine state, read directly --------------------------------------------------

    def containers(self) -> list[dict[str, Any]]:
        """Every container whose name starts with `<project>-`, labelled or not."""
        prefix = f"{self.name}-"
        items = self.client.list_containers(name=self.name)
        return sorted(
            (i for i in items if item_name(i).startswith(prefix)), key=lambda i: item_name(i)
        )

    def by_sandbox(self) -> dict[str, list[dict[str, Any]]]:
        groups: dict[str, list[dict[str, Any]]] = {}
        for item in self.containers():
            sandbox = item_labels(item).get(L.SANDBOX, "")
            groups.setdefault(sandbox, []).append(item)
        return groups

    def states(self) -> dict[str, str]:
        """Container name -> engine state word, for this project's containers."""
        return {item_name(i): item_state(i) for i in self.containers()}

    def cid(self, sandbox: str) -> str:
        info = self.client.inspect_container(f"{self.name}-{sandbox}")
        return str(info["Id"])

    def state(self, sandbox: str) -> str:
        try:
            info = self.client.inspect_container(f"{self.name}-{sandbox}")
        except ContainerNotFound:
            return "missing"
        return str(info["State"]["Status"])

    def wait_state(self, sandbox: str, *states: str, timeout: float = 20) -> None:
        """Poll the engine's container list until the sandbox's container is in `states`.

        An external `kill` returns before the container has exited, so tests wait here
        for the engine to report the change before running pocketdock.
        """
        name = f"{self.name}-{sandbox}"

        def reached() -> bool:
            return self.states().get(name, "missing") in states

        wait_for(reached, timeout=timeout, what=f"{name} to be {' or '.join(states)}")

    def sh(self, sandbox: str, script: str) -> tuple[int, str]:
        """Run `sh -c script` in the sandbox's container through the engine API."""
        ref = f"{self.name}-{sandbox}"
        exec_id = self.client.exec_create(ref, ["sh", "-c", script])
        out, err = self.client.exec_start(exec_id, timeout=20)
        code = self.client.exec_inspect(exec_id).get("ExitCode")
        return int(code if code is not None else -1), (out + err).decode()

    def engine_snapshot(self) -> tuple[Any, ...]:
        """Everything a read-only command must leave as it was."""
        containers = tuple(
            (i["Id"], item_name(i), item_state(i), tuple(sorted(item_labels(i).items())))
            for i in self.containers()
        )
        images = tuple(sorted(str(i["Id"]) for i in self.client.list_images()))
        return containers, images

    def image_tags(self) -> list[str]:
        """Every image tag that names this project."""
        tags = []
        for image in self.client.list_images():
            # image_tags drops Podman's `localhost/` and `docker.io/` prefixes.
            tags += [tag for tag in image_tags(image) if self.name in tag]
        return sorted(tags)

    def cleanup(self) -> None:
        for item in self.containers():
            with contextlib.suppress(ContainerNotFound):
                self.client.remove_container(item["Id"], force=True)
        for tag in sorted(set(self.image_tags()) | self.images, reverse=True):
            with contextlib.suppress(ImageNotFound):
                self.client.remove_image(tag, force=True)


@pytest.fixture
def make_project(
    tmp_path: Path, client: EngineClient, engine_env: dict[str, str], unique: str
) -> Iterator[Callable[..., Proj]]:
    """A factory of fresh projects (each in its own directory, with its own name)."""
    made: list[Proj] = []

    def make(subdir: str = "p", *, name: str | None = None) -> Proj:
        proj = Proj(
            root=tmp_path / subdir,
            name=name or f"{unique}{len(made)}",
            client=client,
            env=dict(engine_env),
        )
        proj.root.mkdir(parents=True, exist_ok=True)
        made.append(proj)
        return proj

    yield make
    for proj in made:
        proj.cleanup()


@pytest.fixture
def project(make_project: Callable[..., Proj]) -> Proj:
    return make_project()
