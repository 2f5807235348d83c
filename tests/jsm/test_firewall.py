"""The JSM firewall: typed path values that cannot climb out of their segment, a closed list of endpoints,
and a transport that refuses, logs and reports any request outside that list before it leaves."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from deskgate.jsm import JsmBadRequest, JsmClient, JsmConnection
from deskgate.jsm.client_base import allowed_endpoints
from deskgate.jsm.endpoints import (
    PARAMETERS,
    Call,
    Endpoint,
    IssueRef,
    JsmId,
    ServiceDeskApi,
)
from deskgate.jsm.firewall import JsmRefused, Refusal
from deskgate.jsm.flavour import CLOUD, DATACENTER, Flavour

pytestmark = pytest.mark.anyio
SAFE_SEGMENT = re.compile(r"[A-Z0-9_-]+")
SITE = "https://jsm.example/jira"
CONNECTIONS = {
    "cloud": JsmConnection(
        site_url=SITE, deployment="cloud", email="bot@example.com", api_token=SecretStr("t0ken-never-logged")
    ),
    "datacenter": JsmConnection(
        site_url=SITE, deployment="datacenter", personal_access_token=SecretStr("pat-never-logged")
    ),
}
# Text that tries every trick a path segment can be bent with.
HOSTILE = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="./\\%2FfEe5Cc-_ITH0123456789?#;:@ \t\n\x00", max_size=40),
    st.sampled_from(
        ["..", ".", "", "ITH-1/..", "ITH-1%2F..", "ITH-1\\..", "%2e%2e", "\uff11\uff12", "ITH-\u0661"]
    ),
)


class Recorder(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.sent: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return httpx.Response(200, json={"values": [], "isLastPage": True})


@given(HOSTILE)
def test_an_issue_ref_is_one_safe_segment_or_nothing(text: str) -> None:
    try:
        ref = IssueRef(text)
    except JsmBadRequest:
        return
    assert SAFE_SEGMENT.fullmatch(ref) and ref not in (".", "..")
    assert IssueRef(ref) == ref  # stable


@given(HOSTILE)
def test_a_jsm_id_is_ascii_digits_or_nothing(text: str) -> None:
    try:
        value = JsmId(text)
    except JsmBadRequest:
        return
    assert value.isascii() and value.isdigit()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("ITH-12", "ITH-12"), (" ith-12 ", "ITH-12"), ("10012", "10012"), ("A_B2-7", "A_B2-7")],
)
def test_keys_and_ids_as_jsm_writes_them(text: str, expected: str) -> None:
    assert IssueRef(text) == expected


@pytest.mark.parametrize(
    "text",
    ["ITH-0", "1TH-1", "ITH-1-2", "ITH", "-1", "ITH-1/", "../ITH-1", "ITH-\u0661", "\u0131th-1", "ITH-01"],
)
def test_what_is_not_a_key(text: str) -> None:
    with pytest.raises(JsmBadRequest):
        IssueRef(text)


def test_a_path_takes_only_checked_values() -> None:
    with pytest.raises(TypeError, match="must be a IssueRef"):
        ServiceDeskApi.request(issue="ITH-1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be a JsmId"):
        ServiceDeskApi.request_types(desk=IssueRef("ITH-1"))
    with pytest.raises(TypeError, match="parameters"):
        ServiceDeskApi.request()
    assert ServiceDeskApi.request(issue=IssueRef("ith-3")).path == "/rest/servicedeskapi/request/ITH-3"


@pytest.mark.parametrize("flavour", [CLOUD, DATACENTER])
def test_every_endpoint_built_from_any_valid_values_fits_its_own_template(flavour: Flavour) -> None:
    samples: dict[type, IssueRef | JsmId] = {IssueRef: IssueRef("ITH-1"), JsmId: JsmId("10")}
    for endpoint in allowed_endpoints(flavour):
        names = re.findall(r"\{([a-z_]+)\}", endpoint.template)
        call = endpoint(**{n: samples[PARAMETERS[n]] for n in names})
        assert endpoint.pattern.fullmatch(call.path), endpoint


async def _send_forged(deployment: str, call: Call, **kwargs: object) -> tuple[Recorder, list[Refusal]]:
    recorder, reported = Recorder(), []

    async def report(refusal: Refusal) -> None:
        reported.append(refusal)

    async with httpx.AsyncClient(transport=recorder) as http:
        client = JsmClient(http, CONNECTIONS[deployment], on_refused=report)
        with pytest.raises(JsmRefused):
            await client.transport.send(call, **kwargs)  # type: ignore[arg-type]
    return recorder, reported


GOOD = ServiceDeskApi.request(issue=IssueRef("ITH-1"))
FORGED = [
    # What a caller that bypassed the typed values could build: each would reach another resource.
    pytest.param(replace(GOOD, path="/rest/servicedeskapi/request/ITH-1/../../request/HR-9"), id="dots"),
    pytest.param(replace(GOOD, path="/rest/servicedeskapi/request/ITH-1%2F..%2F..%2Fx"), id="encoded-slash"),
    pytest.param(replace(GOOD, path="/rest/servicedeskapi/request/ITH-1%5C.."), id="backslash"),
    pytest.param(replace(GOOD, path="/rest/servicedeskapi/request//ITH-1"), id="empty-segment"),
    pytest.param(replace(GOOD, path="/rest/servicedeskapi/request/%2e%2e"), id="encoded-dots"),
    pytest.param(replace(GOOD, path="/rest/servicedeskapi/request/ITH-1#x"), id="fragment"),
    pytest.param(replace(GOOD, path="/rest/api/2/user?username=x"), id="another-endpoint's-path"),
    pytest.param(
        Call(
            Endpoint("made up", "GET", "/rest/api/2/issue/{issue}/worklog"), "/rest/api/2/issue/ITH-1/worklog"
        ),
        id="unlisted-endpoint",
    ),
    pytest.param(Call(replace(GOOD.endpoint, method="POST"), GOOD.path), id="other-method"),
]


@pytest.mark.parametrize("deployment", ["cloud", "datacenter"])
@pytest.mark.parametrize("call", FORGED)
async def test_the_transport_refuses_what_fits_no_endpoint_before_it_leaves(
    deployment: str, call: Call, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="deskgate.jsm"):
        recorder, reported = await _send_forged(deployment, call)
    assert recorder.sent == []  # nothing reached JSM
    assert len(reported) == 1 and reported[0].operation == call.operation
    assert "security: JSM firewall refused" in caplog.text
    assert "never-logged" not in caplog.text


@pytest.mark.parametrize("deployment", ["cloud", "datacenter"])
async def test_query_names_outside_the_endpoint_are_refused(deployment: str) -> None:
    recorder, reported = await _send_forged(deployment, GOOD, params={"expand": "changelog"})
    assert recorder.sent == [] and "query names" in reported[0].reason


async def test_a_refusal_that_cannot_be_reported_is_still_a_refusal() -> None:
    async def broken(refusal: Refusal) -> None:
        raise RuntimeError("audit log down")

    recorder = Recorder()
    async with httpx.AsyncClient(transport=recorder) as http:
        client = JsmClient(http, CONNECTIONS["cloud"], on_refused=broken)
        with pytest.raises(JsmRefused):
            await client.transport.send(replace(GOOD, path="/rest/servicedeskapi/request/../servicedesk"))
    assert recorder.sent == []


@pytest.mark.parametrize("deployment", ["cloud", "datacenter"])
@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(ref=HOSTILE, comment=HOSTILE, attachment=HOSTILE)
async def test_whatever_a_customer_names_the_client_sends_only_listed_requests_under_the_site(
    deployment: str, ref: str, comment: str, attachment: str
) -> None:
    """Every client operation that takes a customer's words, called with hostile ones: each request that
    leaves is below the site path, fits an endpoint exactly, and names no other segment than given."""
    recorder = Recorder()
    async with httpx.AsyncClient(transport=recorder) as http:
        client = JsmClient(http, CONNECTIONS[deployment])
        operations: list[Callable[[], Awaitable[object]]] = [
            lambda: client.get_request(ref),
            lambda: client.request_participants(ref),
            lambda: client.comments(ref),
            lambda: client.attachments(ref),
            lambda: client.comment_attachments(ref, comment),
            lambda: client.add_comment(ref, comment),
            lambda: client.download_attachment(attachment),
            lambda: client.request_types(comment),
        ]
        for operation in operations:
            # Refused as not a key or id (JsmBadRequest), or the Recorder's canned answer did not parse.
            with contextlib.suppress(Exception):
                await operation()
    endpoints = allowed_endpoints(CONNECTIONS[deployment].flavour)
    for request in recorder.sent:
        raw = request.url.raw_path.decode()
        path, _, _ = raw.partition("?")
        assert path.startswith("/jira/")
        assert any(
            e.method == request.method and e.pattern.fullmatch(path[len("/jira") :]) for e in endpoints
        )
        assert ".." not in path and "%" not in path and "//" not in path
        if path.startswith("/jira/rest/servicedeskapi/request/"):  # the request named is the one given
            assert path.split("/")[5] == IssueRef(ref)


@pytest.mark.parametrize(
    "site", ["https://JSM.example:443/jira/", "https://jsm.example/jira", "http://jsm.example:8080/jira"]
)
async def test_a_site_url_written_any_valid_way_lets_its_own_calls_through(site: str) -> None:
    recorder = Recorder()
    connection = CONNECTIONS["datacenter"].model_copy(update={"site_url": site.rstrip("/")})
    async with httpx.AsyncClient(transport=recorder) as http:
        await JsmClient(http, connection).request_participants("ITH-1")
    (sent,) = recorder.sent
    assert sent.url.path == "/jira/rest/servicedeskapi/request/ITH-1/participant"
