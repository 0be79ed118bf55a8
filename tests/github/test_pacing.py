"""The pace bulk re-evaluations take turns at, and when the budget is kept for live events."""

from __future__ import annotations

import pytest

from bot.github.pacing import EVALUATION_BURST, RESERVE_MARGIN, Pacer, low


async def test_a_burst_is_free_then_every_evaluation_waits_its_turn() -> None:
    moment = [0.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        moment[0] += seconds

    pacer = Pacer(per_minute=120.0, clock=lambda: moment[0], sleep=sleep)
    for _ in range(EVALUATION_BURST):
        await pacer.take()
    assert waits == []
    await pacer.take(4)  # a repository's four PRs at once: a debt of four turns
    assert waits == [2.0]
    await pacer.take()
    assert waits == [2.0, 0.5]
    moment[0] += 60  # a quiet minute refills the burst, never more
    for _ in range(EVALUATION_BURST):
        await pacer.take()
    assert len(waits) == 2


def test_a_pace_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Pacer(per_minute=0)


@pytest.mark.parametrize(
    ("remaining", "limit", "floor", "expected"),
    [
        (2_500 + RESERVE_MARGIN, 5_000, 0, False),
        (2_499 + RESERVE_MARGIN, 5_000, 0, True),
        (100, None, 0, False),  # no limit known: only the floor counts
        (100, None, 500, True),
        (6_000, 12_500, 0, True),  # a larger installation keeps half of its own limit
    ],
)
def test_half_the_hour_is_kept_for_live_events(
    remaining: int, limit: int | None, floor: int, expected: bool
) -> None:
    assert low(remaining, limit, floor=floor) is expected
