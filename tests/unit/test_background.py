"""The worker's background loops stop between rounds: a round in progress finishes (nothing it holds is
abandoned half-way), a loop waiting for its next round stops at once, and only a round that outlasts the
grace period is cancelled."""

from __future__ import annotations

import asyncio
import time

import pytest

from deskgate.background import Background

pytestmark = pytest.mark.anyio


async def test_a_round_in_progress_finishes_and_no_new_one_starts() -> None:
    started, finished = asyncio.Event(), []

    async def round_() -> float:
        started.set()
        await asyncio.sleep(0.2)  # a delivery in the middle of its JSM call and its database write
        finished.append(time.monotonic())
        return 0.0  # busy: the next round would start at once

    background = Background()
    background.start(round_)
    await started.wait()
    stopping = time.monotonic()
    await background.stop(grace=5.0)
    assert len(finished) == 1 and finished[0] >= stopping  # it ended its round, then nothing more


async def test_a_loop_waiting_for_its_next_round_stops_at_once() -> None:
    rounds: list[float] = []

    async def round_() -> float:
        rounds.append(time.monotonic())
        return 3600.0

    background = Background()
    background.start(round_)
    await asyncio.sleep(0.05)
    began = time.monotonic()
    await background.stop(grace=5.0)
    assert time.monotonic() - began < 1.0 and len(rounds) == 1


async def test_a_round_longer_than_the_grace_is_cancelled() -> None:
    cancelled = []

    async def round_() -> float:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        return 1.0

    background = Background()
    background.start(round_)
    await asyncio.sleep(0.05)
    began = time.monotonic()
    await background.stop(grace=0.2)
    assert cancelled == [True] and 0.15 < time.monotonic() - began < 2.0


async def test_busy_rounds_follow_each_other_until_stopped() -> None:
    count = 0

    async def round_() -> float:
        nonlocal count
        count += 1
        await asyncio.sleep(0)
        return 0.0

    background = Background()
    background.start(round_)
    await asyncio.sleep(0.05)
    await background.stop()
    assert count > 5


async def test_the_first_round_waits_when_asked_and_a_stop_meanwhile_skips_it() -> None:
    rounds: list[float] = []

    async def round_() -> float:
        rounds.append(time.monotonic())
        return 3600.0

    background = Background()
    began = time.monotonic()
    background.start(round_, first_after=0.2)
    await asyncio.sleep(0.05)
    assert rounds == []
    await asyncio.sleep(0.3)
    assert len(rounds) == 1 and rounds[0] - began >= 0.2
    await background.stop()

    later = Background()
    later.start(round_, first_after=60)
    await later.stop()
    assert len(rounds) == 1  # stopped before its first round: it never ran
