"""One apply at a time per project, across processes.

The lock is an `flock` on `.pocketdock/apply.lock` next to the project file. The kernel
drops it when its holder dies, however it dies, so a crashed or SIGKILLed run never
leaves the project stuck. The file holds the holder's pid, for the waiting message.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pocketdock.errors import PocketDockError
from pocketdock.sandbox.instances import STATE_DIR


def lock_path(root: Path) -> Path:
    return root / STATE_DIR / "apply.lock"


@contextmanager
def project_lock(
    root: Path, *, timeout: float = 600.0, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the project's apply lock; waits up to `timeout` seconds for another run."""
    path = lock_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, path, timeout, on_wait)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def _acquire(fd: int, path: Path, timeout: float, on_wait: Callable[[str], None] | None) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    holder = path.read_text().strip() or "unknown"
    if on_wait is not None:
        on_wait(f"waiting for another pocketdock run on this project (pid {holder})")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            time.sleep(0.05)
    raise PocketDockError(
        f"another pocketdock run (pid {holder}) held {path} for over {timeout:.0f} s; "
        "try again when it has finished"
    )
