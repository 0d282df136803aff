"""Coalescing bursts of notices into one batch per burst.

An editor's save is often several writes (a temporary file, a rename, a chmod) and an
agent may write a file many times in a row; the engine reports a stopped container as
`kill`, `die` and `stop`. `Coalescer` turns each such burst into one batch: the batch is
due once nothing new arrived for `quiet` seconds, and at the latest `max_wait` seconds
after its first item, so a never-ending stream of writes still gets handled.

The coalescer does no waiting of its own and reads time only through the injected
`clock`, so the caller's loop decides how to sleep (see `deadline`) and tests can drive
it with a fake clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

T = TypeVar("T", bound=Hashable)


class Coalescer(Generic[T]):
    """Collects items into bursts; `take` hands a burst over once it is due."""

    def __init__(
        self,
        quiet: float = 0.3,
        max_wait: float = 2.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if quiet < 0 or max_wait < quiet:
            raise ValueError(f"need 0 <= quiet <= max_wait, got quiet={quiet} max_wait={max_wait}")
        self.quiet = quiet
        self.max_wait = max_wait
        self._clock = clock
        self._items: dict[T, None] = {}  # insertion-ordered set
        self._first: float | None = None
        self._last: float | None = None

    @property
    def pending(self) -> bool:
        return self._first is not None

    def add(self, *items: T) -> None:
        """Record that `items` happened now; even no items opens (or extends) a burst."""
        self.extend(items)

    def extend(self, items: Iterable[T]) -> None:
        now = self._clock()
        if self._first is None:
            self._first = now
        self._last = now
        self._items.update(dict.fromkeys(items))

    def deadline(self) -> float | None:
        """The clock time at which the current burst is due; None when there is none."""
        if self._first is None or self._last is None:
            return None
        return min(self._last + self.quiet, self._first + self.max_wait)

    def ready(self) -> bool:
        deadline = self.deadline()
        return deadline is not None and self._clock() >= deadline

    def take(self) -> list[T] | None:
        """The due burst's distinct items in arrival order (and a fresh start), else None."""
        if not self.ready():
            return None
        items = list(self._items)
        self.clear()
        return items

    def clear(self) -> None:
        self._items = {}
        self._first = self._last = None


class RestoreBackoff:
    """When to restore a sandbox that keeps stopping: at once, or after a growing pause.

    A sandbox whose command exits at once would otherwise be restored, stop and be
    restored again about once a second for as long as watch runs. Restores of one
    sandbox form a streak while each comes less than `stay_up` seconds after the one
    before it (counted from that restore to the moment the sandbox was next seen down).
    The first `burst` restores of a streak are immediate; after them the sandbox waits
    `first` seconds, then twice as long each time, up to `most`. A sandbox that stayed up
    for `stay_up` seconds starts a new streak, and `reset` (the file changed) forgets
    every streak. Like `Coalescer`, it reads time only through `clock`.
    """

    def __init__(
        self,
        burst: int = 3,
        first: float = 2.0,
        most: float = 60.0,
        stay_up: float = 20.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst = burst
        self.first = first
        self.most = most
        self.stay_up = stay_up
        self._clock = clock
        self._streaks: dict[str, tuple[int, float]] = {}  # restores so far, the last one's time
        self._down_at: dict[str, float] = {}  # first seen down since its last restore
        self._announced: set[str] = set()  # holds already reported

    def wait(self, sandbox: str) -> float:
        """Seconds until `sandbox`, seen down now, may be restored; 0 for at once."""
        streak = self._streak(sandbox, self._down_at.setdefault(sandbox, self._clock()))
        if streak is None or streak[0] < self.burst:
            return 0.0
        delay = min(self.first * 2.0 ** (streak[0] - self.burst), self.most)
        return max(0.0, self._down_at[sandbox] + delay - self._clock())

    def announce(self, sandbox: str) -> bool:
        """True the first time it is asked about a sandbox's current hold."""
        if sandbox in self._announced:
            return False
        self._announced.add(sandbox)
        return True

    def restored(self, sandbox: str) -> None:
        """Record that `sandbox` was just restored."""
        now = self._clock()
        streak = self._streak(sandbox, self._down_at.pop(sandbox, now))
        self._streaks[sandbox] = (streak[0] + 1 if streak else 1, now)
        self._announced.discard(sandbox)

    def reset(self) -> None:
        self._streaks.clear()
        self._down_at.clear()
        self._announced.clear()

    def _streak(self, sandbox: str, down_at: float) -> tuple[int, float] | None:
        """The sandbox's streak, or None when there is none or it stayed up long enough."""
        streak = self._streaks.get(sandbox)
        if streak is not None and down_at - streak[1] >= self.stay_up:
            del self._streaks[sandbox]  # whatever stops it now is something new
            return None
        return streak
