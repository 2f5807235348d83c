"""How the outbox retries (`DeliveryPolicy`), and what a customer reads about a write JSM refused."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from deskgate.portal.key_walk import MAX_KEY_PROBES


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    base_delay: float = 30.0  # seconds before the first retry; doubles each time
    max_delay: float = 3600.0
    # JSM may still carry out a call the client gave up on (it was on the wire when the client timed out
    # or its worker died): an unclear write is looked for, and sent again, no sooner than this after the
    # try ended — twice the client's default timeout (`JsmConnection.timeout_seconds`).
    late_commit: float = 20.0
    # Only when the key walk could not finish (`deskgate.portal.adoption`): an empty search is trusted
    # this long after the unclear try ended, Jira's index lagging behind writes (seconds on Cloud).
    search_lag: float = 30.0
    max_key_probes: int = MAX_KEY_PROBES  # keys read one by one per lookup; beyond: search and search_lag
    clock_skew: float = 300.0  # JSM's clock may be this far behind Deskgate's: widens the search window
    lease_seconds: float = 15.0  # a dead worker's claim is taken over this long after its last heartbeat
    heartbeat_seconds: float = 5.0  # a live worker renews its lease this often (well under lease_seconds)
    jitter: Callable[[], float] = field(default=random.random)  # in [0, 1)

    def delay(self, attempts: int) -> float:
        """Wait after failed attempt number `attempts` (1-based): half fixed, half random."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** max(0, attempts - 1))
        return float(ceiling / 2 + self.jitter() * ceiling / 2)


REFUSED = "refused by JSM, error id "  # prefixes of last_error: what the customer is told is
FILES_REFUSED = "files refused by JSM, error id "  # `customer_message`, never JSM's text


def customer_message(last_error: str | None) -> str:
    """What a customer reads about a submission that failed: Deskgate's own words and an error id."""
    text = last_error or ""
    for prefix, message in (
        (REFUSED, "The help desk did not accept this request"),
        (FILES_REFUSED, "The request was created, but the help desk did not accept its files"),
    ):
        if text.startswith(prefix):
            return (
                f"{message}. If you ask the help desk about it, give them the error id {text[len(prefix) :]}."
            )
    return text or "The help desk did not accept this request."
