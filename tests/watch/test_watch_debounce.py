"""The burst coalescer, driven by a fake clock."""

from __future__ import annotations

import pytest

from pocketdock.watch.debounce import Coalescer, RestoreBackoff


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_idle_has_no_deadline(clock: FakeClock) -> None:
    burst: Coalescer[str] = Coalescer(0.3, 2.0, clock=clock)
    assert not burst.pending
    assert burst.deadline() is None
    assert burst.take() is None


def test_single_event_is_due_after_quiet_period(clock: FakeClock) -> None:
    burst: Coalescer[str] = Coalescer(0.3, 2.0, clock=clock)
    burst.add("a")
    assert burst.deadline() == pytest.approx(100.3)
    clock.advance(0.29)
    assert burst.take() is None
    clock.advance(0.01)
    assert burst.take() == ["a"]
    assert not burst.pending


def test_each_event_extends_the_quiet_period(clock: FakeClock) -> None:
    burst: Coalescer[str] = Coalescer(0.3, 2.0, clock=clock)
    burst.add("a")
    clock.advance(0.2)
    burst.add("b")
    clock.advance(0.2)  # 0.4 s after the first event but only 0.2 s after the last
    assert burst.take() is None
    clock.advance(0.1)
    assert burst.take() == ["a", "b"]


def test_endless_stream_is_cut_at_max_wait(clock: FakeClock) -> None:
    burst: Coalescer[int] = Coalescer(0.3, 2.0, clock=clock)
    taken: list[tuple[float, list[int]]] = []
    for i in range(50):  # one event every 0.125 s: never 0.3 s of quiet
        burst.add(i)
        clock.advance(0.125)
        items = burst.take()
        if items is not None:
            taken.append((clock.now - 100.0, items))
    # One batch per 2 s window, each holding every event of that window, in order.
    assert taken == [(2.0, list(range(16))), (4.0, list(range(16, 32))), (6.0, list(range(32, 48)))]
    assert burst.pending


def test_duplicates_collapse_in_arrival_order(clock: FakeClock) -> None:
    burst: Coalescer[str] = Coalescer(0.3, 2.0, clock=clock)
    burst.extend(["x", "y", "x"])
    burst.add("z", "y")
    clock.advance(1)
    assert burst.take() == ["x", "y", "z"]


def test_empty_add_still_opens_a_burst(clock: FakeClock) -> None:
    burst: Coalescer[str] = Coalescer(0.3, 2.0, clock=clock)
    burst.add()
    assert burst.pending
    clock.advance(0.3)
    assert burst.take() == []


def test_next_burst_starts_fresh(clock: FakeClock) -> None:
    burst: Coalescer[str] = Coalescer(0.3, 2.0, clock=clock)
    burst.add("a")
    clock.advance(0.5)
    assert burst.take() == ["a"]
    clock.advance(10)
    burst.add("b")
    assert burst.deadline() == pytest.approx(clock.now + 0.3)
    clock.advance(0.3)
    assert burst.take() == ["b"]


def test_clear_drops_the_burst(clock: FakeClock) -> None:
    burst: Coalescer[str] = Coalescer(0.3, 2.0, clock=clock)
    burst.add("a")
    burst.clear()
    clock.advance(5)
    assert burst.take() is None


@pytest.mark.parametrize(("quiet", "max_wait"), [(-0.1, 1.0), (1.0, 0.5)])
def test_rejects_inconsistent_periods(quiet: float, max_wait: float) -> None:
    with pytest.raises(ValueError, match="quiet"):
        Coalescer(quiet, max_wait)


def crash_loop(backoff: RestoreBackoff, clock: FakeClock, times: int) -> list[float]:
    """Restore a sandbox that stops right away `times` times; the wait before each."""
    waits = []
    for _ in range(times):
        clock.advance(0.5)  # it stopped half a second after its restore
        wait = backoff.wait("b")
        waits.append(wait)
        clock.advance(wait)
        assert backoff.wait("b") == 0.0
        backoff.restored("b")
    return waits


def test_restores_of_a_sandbox_that_keeps_stopping_back_off(clock: FakeClock) -> None:
    backoff = RestoreBackoff(3, 2.0, 60.0, 20.0, clock=clock)
    waits = crash_loop(backoff, clock, 10)
    assert waits == [0, 0, 0, 2, 4, 8, 16, 32, 60, 60]
    assert backoff.wait("other") == 0.0  # per sandbox


def test_a_hold_is_announced_once(clock: FakeClock) -> None:
    backoff = RestoreBackoff(3, 2.0, 60.0, 20.0, clock=clock)
    crash_loop(backoff, clock, 3)
    clock.advance(0.5)
    assert backoff.wait("b") == 2.0
    assert backoff.announce("b")
    clock.advance(1.0)
    assert backoff.wait("b") == 1.0  # counted from when it was first seen down
    assert not backoff.announce("b")
    clock.advance(1.0)
    backoff.restored("b")
    clock.advance(0.5)
    assert backoff.wait("b") == 4.0
    assert backoff.announce("b")


def test_a_sandbox_that_stayed_up_starts_over(clock: FakeClock) -> None:
    backoff = RestoreBackoff(3, 2.0, 60.0, 20.0, clock=clock)
    crash_loop(backoff, clock, 6)
    clock.advance(20.0)  # up for a while before stopping again
    assert backoff.wait("b") == 0.0
    backoff.restored("b")
    assert crash_loop(backoff, clock, 4) == [0, 0, 2, 4]


def test_reset_forgets_every_streak(clock: FakeClock) -> None:
    backoff = RestoreBackoff(3, 2.0, 60.0, 20.0, clock=clock)
    crash_loop(backoff, clock, 6)
    backoff.reset()
    assert crash_loop(backoff, clock, 4) == [0, 0, 0, 2]
