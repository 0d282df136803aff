"""Every error pocketdock raises on purpose.

The tree::

    PocketDockError
    ├── EngineError              the engine refused or failed a request
    │   ├── EngineUnavailable    nothing answers at the engine endpoint
    │   ├── NotFound
    │   │   ├── ContainerNotFound
    │   │   └── ImageNotFound
    │   ├── Conflict             the request clashes with the engine's current state
    │   │   └── NameConflict     a container with that name already exists
    │   ├── EngineProtocolError  the engine's answer could not be understood
    │   └── EngineTimeout        the engine took a request and never answered it
    ├── CommandTimeout           a command run in a sandbox outlived its timeout
    ├── SpecError                pocket-dock.toml is invalid (carries every problem found)
    └── ApplyError               a reconcile finished with one or more failed actions

Callers catch `PocketDockError` to handle anything pocketdock reports; the CLI turns it
into one line on stderr and a non-zero exit code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class PocketDockError(Exception):
    """Base class of every error pocketdock raises on purpose."""


class EngineError(PocketDockError):
    """The engine refused or failed a request.

    `status` is the HTTP status the engine answered with (0 when there was no answer) and
    `engine_message` the engine's own words, kept verbatim for debugging.
    """

    def __init__(self, message: str, *, status: int = 0, engine_message: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.engine_message = engine_message


class EngineUnavailable(EngineError):
    """No engine answers at the endpoint pocketdock resolved."""

    def __init__(self, message: str, *, endpoint: str) -> None:
        super().__init__(message)
        self.endpoint = endpoint


class NotFound(EngineError):
    """The engine has no object of that name or id."""


class ContainerNotFound(NotFound):
    """No container (or no pocketdock-managed container) has that name or id."""


class ImageNotFound(NotFound):
    """The image is not present on the engine (pocketdock never pulls)."""


class Conflict(EngineError):
    """The request clashes with the engine's current state (HTTP 409)."""


class NameConflict(Conflict):
    """A container with that name already exists and is not ours to reuse."""


class EngineProtocolError(EngineError):
    """The engine's answer was malformed: bad JSON, a truncated stream, an odd status."""


class EngineTimeout(EngineError):
    """The engine took a request but sent no answer in time: it is hung or overloaded."""


class CommandTimeout(PocketDockError):
    """A command run in a sandbox did not finish within its timeout."""


@dataclass(frozen=True)
class SpecProblem:
    """One fault in a pocket-dock.toml, located as precisely as the loader could.

    Line and column count from 1; both are 0 for a fault of the file as a whole (missing,
    unreadable, too large), which is shown as `path: message`.
    """

    path: Path
    line: int
    column: int
    key_path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}:{self.column}" if self.line else str(self.path)
        return (
            f"{where}: {self.key_path}: {self.message}"
            if self.key_path
            else f"{where}: {self.message}"
        )


class SpecError(PocketDockError):
    """pocket-dock.toml is invalid; `problems` lists every fault found, in file order."""

    def __init__(self, problems: list[SpecProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ApplyError(PocketDockError):
    """A reconcile ran to the end but one or more of its actions failed.

    `failures` maps each failed sandbox (or snapshot) to the error's message.
    """

    def __init__(self, failures: dict[str, str]) -> None:
        self.failures = failures
        lines = [f"{name}: {msg}" for name, msg in sorted(failures.items())]
        super().__init__(f"{len(failures)} action(s) failed:\n" + "\n".join(lines))
