"""Helpers for the watch tests: a project directory, a running `pocketdock watch`, and a
engine-side helpers (the socket proxy lives in tests/support.py)."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support import wait_for

from pocketdock import labels as L
from pocketdock.engine.client import EngineClient
from pocketdock.engine.parse import item_labels, item_state
from pocketdock.errors import ContainerNotFound
from pocketdock.sandbox.containers import Container

FILE = "pocket-dock.toml"


@dataclass
class WatchProject:
    """A temp project whose `[project] name` is unique to the test."""

    root: Path
    name: str
    client: EngineClient
    env: dict[str, str]

    @property
    def file(self) -> Path:
        return self.root / FILE

    def write(self, body: str) -> None:
        self.file.write_text(f'[project]\nname = "{self.name}"\n\n{body}')

    def containers(self) -> dict[str, dict[str, Any]]:
        """Sandbox name -> the engine's list item, for this project's labelled containers."""
        found = {}
        for item in self.client.list_containers(name=self.name):
            sandbox = item_labels(item).get(L.SANDBOX)
            if sandbox and item_labels(item).get(L.PROJECT) == self.name:
                found[sandbox] = item
        return found

    def state(self, sandbox: str) -> str:
        item = self.containers().get(sandbox)
        return "missing" if item is None else item_state(item)

    def cid(self, sandbox: str) -> str | None:
        item = self.containers().get(sandbox)
        return None if item is None else str(item["Id"])

    def wait_running(
        self, sandbox: str, *, other_than: str | None = None, timeout: float = 30
    ) -> str:
        """Wait until `sandbox` runs (in a container other than `other_than`); its id."""

        def running() -> str | None:
            item = self.containers().get(sandbox)
            if item is None or item_state(item) != "running" or item["Id"] == other_than:
                return None
            return str(item["Id"])

        return str(wait_for(running, timeout=timeout, what=f"{self.name}-{sandbox} running"))

    def wait_missing(self, sandbox: str, *, timeout: float = 30) -> None:
        wait_for(
            lambda: sandbox not in self.containers(),
            timeout=timeout,
            what=f"{self.name}-{sandbox} removed",
        )

    def sh(self, sandbox: str, script: str) -> tuple[int, str]:
        ref = f"{self.name}-{sandbox}"
        exec_id = self.client.exec_create(ref, ["sh", "-c", script])
        out, err = self.client.exec_start(exec_id, timeout=20)
        code = self.client.exec_inspect(exec_id).get("ExitCode")
        return int(code if code is not None else -1), (out + err).decode()

    def cleanup(self) -> None:
        for item in self.client.list_containers(name=self.name):
            with contextlib.suppress(ContainerNotFound):
                self.client.remove_container(item["Id"], force=True)


@dataclass
class Watch:
    """A `pocketdock watch` subprocess whose output is collected line by line."""

    process: subprocess.Popen[str]
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __post_init__(self) -> None:
        for stream, lines in ((self.process.stdout, self.out), (self.process.stderr, self.err)):
            thread = threading.Thread(target=self._read, args=(stream, lines), daemon=True)
            thread.start()
            self._threads.append(thread)

    @staticmethod
    def _read(stream: Any, lines: list[str]) -> None:
        for line in stream:
            lines.append(line.rstrip("\n"))

    def events(self) -> list[dict[str, Any]]:
        """stdout parsed as NDJSON (fails on any line that is not a JSON object)."""
        return [json.loads(line) for line in list(self.out)]

    def wait_event(
        self, check: Callable[[dict[str, Any]], bool], *, after: int = 0, timeout: float = 30
    ) -> dict[str, Any]:
        """The first NDJSON event from index `after` on that satisfies `check`."""

        def found() -> dict[str, Any] | None:
            return next((e for e in self.events()[after:] if check(e)), None)

        return dict(wait_for(found, timeout=timeout, what=f"a watch event; got {self.out[after:]}"))

    def wait_line(self, needle: str, *, after: int = 0, timeout: float = 30) -> str:
        def found() -> str | None:
            return next((line for line in self.out[after:] if needle in line), None)

        return str(wait_for(found, timeout=timeout, what=f"{needle!r} in {self.out[after:]}"))

    def wait_err(self, needle: str, *, after: int = 0, timeout: float = 30) -> str:
        def found() -> str | None:
            return next((line for line in self.err[after:] if needle in line), None)

        return str(wait_for(found, timeout=timeout, what=f"{needle!r} in {self.err[after:]}"))

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30) -> int:
        self.process.send_signal(sig)
        code = self.process.wait(timeout=timeout)
        self.close()
        return code

    def close(self) -> None:
        """Wait for the output readers to finish, then close the pipes."""
        for thread in self._threads:
            thread.join(timeout=5)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def listing(box: Container, target: str = "/app") -> dict[str, str]:
    """Every regular file under `target` in the sandbox, with its contents."""
    result = box.run(f"cd {target} && find . -type f | sort")
    names = [line[2:] for line in result.stdout.split()]
    return {name: box.read_file(f"{target}/{name}").decode() for name in names}
