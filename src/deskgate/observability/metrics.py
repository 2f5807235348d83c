"""Prometheus metrics: what the code counts as it runs, and the text `/metrics` answers.

Counted as it happens (one set per process, as prometheus_client's multiprocess mode wants it):

- ``deskgate_sign_ins_total{idp,outcome}``: customer sign-ins, outcome success / refused / failure (a
  callback that names no IdP it started, e.g. a forged one, counts under idp="none");
- ``deskgate_sign_in_callback_seconds{idp}``: how long the sign-in callback took, end to end in the app;
- ``deskgate_jsm_calls_total{endpoint,status}`` and ``deskgate_jsm_call_seconds{endpoint}``: every try
  sent to JSM, by the name of its endpoint in `deskgate.jsm.endpoints` (never a path: paths hold issue
  keys), status 2xx / 3xx / 4xx / 5xx, ``error`` (no answer) or ``refused`` (stopped by the firewall);
- ``deskgate_jsm_retries_total{endpoint}``: tries sent again after a failed one;
- ``deskgate_rate_limit_refusals_total{limit}``: submissions / comments / files / admin_sign_in.

Read when scraped (`Gauges`): sessions active, the outbox's depth and the age of its oldest write.

Several workers: `deskgate serve --workers N` points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory
before the workers start (`deskgate.observability.multiprocess`); each worker then writes its counts
there and a scrape, whichever worker answers it, sums them all. With one worker the counts stay in memory.
Tests read differences, since the counts of one process add up across the apps it builds.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from deskgate.observability import context

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
NO_IDP = "none"
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

_REGISTRY = CollectorRegistry(auto_describe=True)
SIGN_INS = Counter(
    "deskgate_sign_ins",
    "Customer sign-ins by identity provider and outcome (success, refused, failure).",
    ["idp", "outcome"],
    registry=_REGISTRY,
)
CALLBACK_SECONDS = Histogram(
    "deskgate_sign_in_callback_seconds",
    "Time the sign-in callback took in Deskgate (code redemption, checks, session), by identity provider.",
    ["idp"],
    buckets=_LATENCY_BUCKETS,
    registry=_REGISTRY,
)
JSM_CALLS = Counter(
    "deskgate_jsm_calls",
    "Tries sent to JSM by endpoint and status class (2xx..5xx, error: no answer, refused: by the firewall).",
    ["endpoint", "status"],
    registry=_REGISTRY,
)
JSM_SECONDS = Histogram(
    "deskgate_jsm_call_seconds",
    "Time one try to JSM took, until its answer's headers, by endpoint.",
    ["endpoint"],
    buckets=_LATENCY_BUCKETS,
    registry=_REGISTRY,
)
JSM_RETRIES = Counter(
    "deskgate_jsm_retries",
    "Tries to JSM sent again after a failed one, by endpoint.",
    ["endpoint"],
    registry=_REGISTRY,
)
RATE_LIMIT_REFUSALS = Counter(
    "deskgate_rate_limit_refusals",
    "Requests refused by a rate limit, by limit (submissions, comments, files, admin_sign_in).",
    ["limit"],
    registry=_REGISTRY,
)


def sign_in(idp: str | None, outcome: str) -> None:
    """A customer sign-in ended (called where it is audited); labels the callback's latency with its IdP."""
    SIGN_INS.labels(idp or NO_IDP, outcome).inc()
    request = context.current()
    if request is not None:
        request.idp = idp or NO_IDP


def callback_took(idp: str | None, seconds: float) -> None:
    CALLBACK_SECONDS.labels(idp or NO_IDP).observe(seconds)


def status_class(status: int) -> str:
    return f"{status // 100}xx" if 100 <= status < 600 else "error"


def jsm_try(endpoint: str, status: str, seconds: float | None) -> None:
    """One try sent to JSM (status from `status_class`, or error / refused); seconds None if never sent."""
    JSM_CALLS.labels(endpoint, status).inc()
    if seconds is not None:
        JSM_SECONDS.labels(endpoint).observe(seconds)


def jsm_retry(endpoint: str) -> None:
    JSM_RETRIES.labels(endpoint).inc()


def rate_limited(limit: str) -> None:
    RATE_LIMIT_REFUSALS.labels(limit).inc()


@dataclass(frozen=True, slots=True)
class Gauges:
    """What is read from the stores when a scrape comes (by the worker that answers it)."""

    sessions_active: int
    outbox_depth: int
    outbox_oldest_seconds: float  # 0 when the outbox is empty

    def families(self) -> list[Metric]:
        values = (
            ("deskgate_sessions_active", "Customer sessions not yet past their end.", self.sessions_active),
            (
                "deskgate_outbox_depth",
                "Customer writes stored and not yet delivered to JSM (pending or being sent).",
                self.outbox_depth,
            ),
            (
                "deskgate_outbox_oldest_seconds",
                "Age of the oldest write still waiting for JSM (0 when none waits).",
                self.outbox_oldest_seconds,
            ),
        )
        return [GaugeMetricFamily(name, text, value=float(value)) for name, text, value in values]


class _Families(Collector):
    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def exposition(gauges: Gauges) -> bytes:
    """The text format answer: every worker's counts (summed in multiprocess mode) and the gauges."""
    directory = multiprocess_dir()
    counted: Iterable[Metric] = _REGISTRY.collect()
    if directory is not None:  # prometheus_client's multiprocess module has no type hints
        counted = MultiProcessCollector(None, directory).collect()  # type: ignore[no-untyped-call]
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families([*counted, *gauges.families()]))
    return generate_latest(registry)
