"""The benchmark's inputs and runners: project files, compose files, timed processes."""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REQUESTS_LINE = re.compile(r"pocketdock: (\d+) engine requests")


def sandbox_names(count: int) -> list[str]:
    return [f"s{i:03d}" for i in range(count)]


def pocketdock_file(directory: Path, project: str, image: str, count: int) -> Path:
    """A pocket-dock.toml with `count` default (ephemeral, running) sandboxes."""
    lines = ["[project]", f"name = {json.dumps(project)}", "", "[defaults]"]
    lines += [f"image = {json.dumps(image)}", ""]
    for name in sandbox_names(count):
        lines += [f"[sandboxes.{name}]", ""]
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "pocket-dock.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def compose_file(directory: Path, image: str, count: int) -> Path:
    """The docker-compose equivalent: init, keep-alive, no network, the same limits.

    Written as JSON, which is valid YAML, so no YAML library is needed.
    """
    service = {
        "image": image,
        "command": ["sleep", "infinity"],
        "init": True,
        "network_mode": "none",
        "pids_limit": 1024,
        "security_opt": ["no-new-privileges"],
        "labels": {"pocketdock.bench": "compose"},
    }
    document = {"version": "2.4", "services": {name: service for name in sandbox_names(count)}}
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "docker-compose.yml"
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return path


@dataclass(frozen=True)
class Timed:
    seconds: float  # wall time, spawn to exit
    cpu: float  # user + system seconds of the process and its children
    stdout: str
    stderr: str

    @property
    def requests(self) -> int | None:
        """The engine request count the CLI printed under POCKETDOCK_REQUEST_STATS=1."""
        found = REQUESTS_LINE.search(self.stderr)
        return int(found.group(1)) if found else None


def run_timed(
    argv: list[str], *, env: dict[str, str], cwd: Path | None = None, timeout: float | None = None
) -> Timed:
    """Run a process to completion and time it from spawn to exit; fail loudly.

    Past `timeout` seconds the process is killed and `subprocess.TimeoutExpired` raised.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        argv, capture_output=True, text=True, env=env, cwd=cwd, check=False, timeout=timeout
    )
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} exited with {done.returncode}:\n{done.stdout}{done.stderr}"
        )
    return Timed(seconds, cpu, done.stdout, done.stderr)


def console_script() -> str:
    """pocketdock's console script beside this interpreter (not a pyenv shim)."""
    script = Path(sys.executable).parent / "pocketdock"
    if not script.exists():
        raise RuntimeError(f"no pocketdock console script at {script}; pip install -e .")
    return str(script)


def engine_env(socket_path: str, pycache: Path) -> dict[str, str]:
    """The environment of every timed process.

    Bytecode is cached (under `pycache`, outside the repository) even where the caller
    set PYTHONDONTWRITEBYTECODE, as on a user's machine; otherwise every run of every
    contender would recompile its sources.
    """
    dropped = ("DOCKER_HOST", "PYTHONDONTWRITEBYTECODE")
    env = {key: value for key, value in os.environ.items() if key not in dropped}
    env.update(
        POCKETDOCK_SOCKET=socket_path,
        POCKETDOCK_REQUEST_STATS="1",
        NO_COLOR="1",
        DOCKER_HOST=f"unix://{socket_path}",
        PYTHONPYCACHEPREFIX=str(pycache),
    )
    return env
