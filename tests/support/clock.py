"""A settable clock for code that takes ``clock=`` (a callable returning an aware datetime)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@dataclass
class Clock:
    """Call it for the time; set ``now`` or ``advance`` it to move on."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
