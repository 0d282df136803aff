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
