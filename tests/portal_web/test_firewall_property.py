"""Property: whatever a signed-in customer sends to any customer-facing route (keys, ids, file names,
query strings, form fields), every request Deskgate then makes to JSM is one of the allowed endpoint
templates, and names only what that customer is authorized for. The one exception is the authorization
check itself (`GET /request/{ref}` and its participants), which must read a request to refuse it.

Run against both JSM flavours, with Mallory as the customer and Alice's requests as the prize. Every
customer route is visited: a test walks the portal's routes and fails when one has no visit here."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import quote

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from deskgate.jsm.client_base import allowed_endpoints
from deskgate.jsm.emulator import EmulatorApp, create_emulator
from deskgate.jsm.endpoints import CloudConfluence, IssueRef
from deskgate.jsm.flavour import flavour_for
from deskgate.web.portal import routes as portal_routes
from tests.portal_web.conftest import SITE, Customer, Rig
from tests.support.databases import database_url
from tests.support.inprocess import running_app

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
AUTHORIZATION_CHECK = {
    ("GET", "/rest/servicedeskapi/request/{issue}"),
    ("GET", "/rest/servicedeskapi/request/{issue}/participant"),
}


class Recording(httpx.AsyncBaseTransport):
    """What Deskgate sends to JSM, exactly as it leaves (method, raw path, body)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.sent: list[tuple[str, str, bytes]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        self.sent.append((request.method, request.url.raw_path.decode("ascii"), body))
        return await self.inner.handle_async_request(request)


@dataclass(repr=False)
class Scene:
    rig: Rig
    recording: Recording
    mallory: Customer
    token: str
    portal: BlockingPortal


@asynccontextmanager
async def _scene(flavour: str, db_url: str, portal: BlockingPortal) -> AsyncIterator[Scene]:
    jsm: EmulatorApp = create_emulator(flavour)  # type: ignore[arg-type]
    recording = Recording(httpx.ASGITransport(app=jsm))
    async with (
        httpx.AsyncClient(transport=recording) as jsm_http,
        running_app(db_url, idp_http=jsm_http, jsm=jsm.connection(SITE)) as (client, services),
    ):
        rig = Rig(jsm, services, client, client._transport)
        mallory = await rig.sign_in("mallory-sub", "mallory@example.com", "Mallory Mole")
        created = await (await services.jsm_client()).create_request(
            "1", "1", {"summary": "Mallory's printer"}, raise_on_behalf_of=mallory.jsm_user_id
        )
        # Mallory also takes part in Bob's ITH-2, so that leaving has something to leave.
        _follow_bobs_request(jsm, mallory)
        page = await mallory.browser.get(f"/portal/requests/{created.issue_key}")
        found = _CSRF.search(page.text)
        assert found
        yield Scene(rig, recording, mallory, found.group(1), portal)


def _follow_bobs_request(jsm: EmulatorApp, mallory: Customer) -> None:
    issue, user = jsm.store.issue("ITH-2"), jsm.store.user_by_email(mallory.email)
    assert issue is not None and user is not None
    if user not in issue.participants:
        issue.participants.append(user)


@pytest.fixture(params=["cloud", "datacenter"], scope="module")
def scene(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    """One app and one emulator per flavour, running in a thread of their own, so that Hypothesis (which
    drives synchronous tests) can send it as many visits as it likes."""
    with (
        database_url("sqlite", tmp_path_factory.mktemp("db")) as db_url,
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(_scene(request.param, db_url, portal)) as built,
    ):
        yield built


# The seed's requests (Alice's ITH-1, ITH-3, HRS-1; Bob's ITH-2, shared with Alice) and Mallory's own
# first request (ITH-4 on the IT desk): by key, by id, and bent.
_SEED = create_emulator("cloud").store.issues
KNOWN_REFS = [*(i.key for i in _SEED), *(i.id for i in _SEED), "ITH-4", str(int(_SEED[-1].id) + 1), "ith-4"]
TRICKS = [
    "ITH-1/../ITH-4",
    "ITH-4/../ITH-1",
    "ITH-1%2F..%2FITH-4",
    "..",
    "%2e%2e",
    "ITH-1\\..",
    "ITH-4?x=1",
    "",
]
REFS = st.one_of(st.sampled_from(KNOWN_REFS + TRICKS), st.text(max_size=30))
ATTACHMENT_IDS = st.one_of(
    st.integers(min_value=10000, max_value=10040).map(str),
    st.sampled_from(["0", "-1", "1e3", "10001/../10002", "10005%2F..%2F10006"]),
    st.text(max_size=20),
)
FILE_NAMES = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        ["../../../rest/servicedeskapi/request/ITH-1/comment", "..\\..\\x", "\u202egnp.exe", "a\x00b"]
    ),
)
FORM_TEXT = st.text(max_size=80)
# Each visit, by the customer route (path template, method) it sends to; the walk below keeps it whole.
ROUTES: dict[str, tuple[str, str]] = {
    "page": ("/portal/requests/{key}", "GET"),
    "api": ("/portal/api/requests/{key}", "GET"),
    "file": ("/portal/requests/{key}/attachments/{attachment_id}", "GET"),
    "comment": ("/portal/requests/{key}/comment", "POST"),
    "share": ("/portal/requests/{key}/share", "POST"),
    "leave": ("/portal/requests/{key}/leave", "POST"),
    "transition": ("/portal/requests/{key}/transition", "POST"),
    "list": ("/portal/requests", "GET"),
    "create": ("/portal/{desk_id}/create/{request_type_id}", "POST"),
    "create-form": ("/portal/{desk_id}/create/{request_type_id}", "GET"),
    "desk": ("/portal/{desk_id:int}", "GET"),
    "jsm-desk": ("/servicedesk/customer/portal/{desk_id:int}", "GET"),
    "jsm-link": ("/servicedesk/customer/portal/{desk_id:int}/{issue_key}", "GET"),
    "article": ("/portal/{desk_id:int}/articles/{page_id}", "GET"),
    "suggest": ("/portal/api/articles", "GET"),
    "search": ("/portal", "GET"),
    "outbox": ("/portal/outbox/{submission_id}", "GET"),
    "outbox-cancel": ("/portal/outbox/{submission_id}/cancel", "POST"),
    "outbox-retry": ("/portal/outbox/{submission_id}/retry", "POST"),
    "account": ("/account", "GET"),
    "time-zone": ("/account/time-zone", "POST"),
}


@dataclass(frozen=True)
class Visit:
    route: str
    ref: str
    raw: bool  # the ref as it is in the path (httpx may normalise it), else percent-encoded as one segment
    attachment_id: str
    file_name: str
    body: str
    params: dict[str, str]
    desk: str
    request_type: str
    fields: dict[str, str]
    succeeds: bool = False  # an explicit example of an action that must go through

    def segment(self, text: str) -> str:
        return text if self.raw else quote(text, safe="")


VISITS = st.builds(
    Visit,
    route=st.sampled_from(sorted(ROUTES)),
    ref=REFS,
    raw=st.booleans(),
    attachment_id=ATTACHMENT_IDS,
    file_name=FILE_NAMES,
    body=FORM_TEXT,
    params=st.dictionaries(
        st.sampled_from(["desk", "status", "q", "start", "limit", "key", "owner", "type", "sort"]),
        st.one_of(
            FORM_TEXT,
            st.sampled_from(["1", "2", "open", "closed", "ITH-1", "organization", "shared", "updated"]),
            st.sampled_from(["bob@example.com", "alice@example.com", "BOB@example.com ", "Europe/Paris"]),
        ),
    ),
    desk=st.sampled_from(["1", "2", "3", "01", "x"]),
    request_type=st.sampled_from(["1", "2", "10", "999"]),
    fields=st.dictionaries(
        st.sampled_from(
            [
                "summary",
                "description",
                "raiseOnBehalfOf",
                "issue",
                "reporter",
                "email",
                "transition",
                "comment",
            ]
        ),
        st.one_of(FORM_TEXT, st.sampled_from(["851", "861", "1", "bob@example.com", "alice@example.com"])),
    ),
)


async def _visit(scene: Scene, visit: Visit) -> httpx.Response:
    browser = scene.mallory.browser
    where = visit.segment(visit.ref)
    if visit.route == "page":
        return await browser.get(f"/portal/requests/{where}")
    if visit.route == "api":
        return await browser.get(f"/portal/api/requests/{where}", headers={"Accept": "application/json"})
    if visit.route == "file":
        return await browser.get(f"/portal/requests/{where}/attachments/{visit.segment(visit.attachment_id)}")
    if visit.route == "comment":
        return await browser.post(
            f"/portal/requests/{where}/comment",
            data={"csrf_token": scene.token, "body": visit.body or "hello", "key": visit.ref},
            files={"attachment": (visit.file_name or "x", b"bytes", "text/plain")},
        )
    if visit.route in ("share", "leave", "transition"):  # forms on the request's page
        return await browser.post(
            f"/portal/requests/{where}/{visit.route}", data={"csrf_token": scene.token, **visit.fields}
        )
    if visit.route == "list":
        return await browser.get("/portal/requests", params=visit.params)
    if visit.route == "create":
        return await browser.post(
            f"/portal/{visit.desk}/create/{visit.request_type}",
            data={"csrf_token": scene.token, **visit.fields},
            files={"attachment": (visit.file_name or "x", b"bytes", "text/plain")},
        )
    if visit.route == "create-form":
        return await browser.get(f"/portal/{visit.desk}/create/{visit.request_type}", params=visit.params)
    if visit.route == "desk":
        return await browser.get(f"/portal/{visit.desk}", params=visit.params)
    if visit.route == "jsm-desk":
        return await browser.get(f"/servicedesk/customer/portal/{visit.desk}")
    if visit.route == "article":  # a knowledge base article, by desk and page id (the attachment ids)
        where = visit.segment(visit.attachment_id)
        return await browser.get(f"/portal/{visit.desk}/articles/{where}", params=visit.params)
    if visit.route == "suggest":
        return await browser.get("/portal/api/articles", params=visit.params)
    if visit.route == "search":
        return await browser.get("/portal", params=visit.params)
    if visit.route == "outbox":  # a pending submission, by id (never another customer's)
        return await browser.get(f"/portal/outbox/{where}")
    if visit.route in ("outbox-cancel", "outbox-retry"):
        action = visit.route.removeprefix("outbox-")
        return await browser.post(f"/portal/outbox/{where}/{action}", data={"csrf_token": scene.token})
    if visit.route == "account":
        return await browser.get("/account")
    if visit.route == "time-zone":
        zone = visit.fields.get("comment", "Europe/Paris")
        return await browser.post("/account/time-zone", data={"csrf_token": scene.token, "time_zone": zone})
    return await browser.get(f"/servicedesk/customer/portal/1/{where}")


def _template(flavour: str, method: str, path: str) -> tuple[str, str] | None:
    # Cloud's Confluence (an article's page) is on the JSM site; Data Center's, on a site of its own, is
    # not configured here.
    confluence = (CloudConfluence.page,) if flavour == "cloud" else ()
    for endpoint in (*allowed_endpoints(flavour_for(flavour)), *confluence):  # type: ignore[arg-type]
        if endpoint.method == method and endpoint.pattern.fullmatch(path):
            return endpoint.method, endpoint.template
    return None


def _mallorys(scene: Scene) -> set[str]:
    """Keys and ids of every request Mallory reported or participates in (also ones she raised now)."""
    me = scene.mallory.email
    mine = [
        i
        for i in scene.rig.jsm.store.issues
        if i.reporter.email == me or any(p.email == me for p in i.participants)
    ]
    return {i.key for i in mine} | {i.id for i in mine}


def _action(route: str, ref: str, **fields: str) -> Visit:
    """A request-page action that succeeds (so its JSM calls are checked too, not only its refusals)."""
    return Visit(route, ref, False, "", "", "", {}, "1", "1", fields, succeeds=True)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(visit=VISITS)
@example(visit=_action("share", "ITH-4", email="bob@example.com"))
@example(visit=_action("share", "ITH-4", email="alice@example.com"))
@example(visit=_action("transition", "ITH-4", transition="851", comment="Fixed, thanks"))
@example(visit=_action("leave", "ITH-2"))
def test_every_jsm_call_fits_a_template_and_names_only_mallorys_requests(scene: Scene, visit: Visit) -> None:
    scene.recording.sent.clear()
    _follow_bobs_request(scene.rig.jsm, scene.mallory)
    before = _mallorys(scene)  # a request she leaves during the visit was hers when it was named
    try:
        answer = scene.portal.call(_visit, scene, visit)
    except httpx.InvalidURL:  # no browser sends this path either
        assert scene.recording.sent == []
        return
    assert answer.status_code < 500, (visit, answer.status_code, answer.text[:300])
    if visit.succeeds:
        assert answer.status_code == 303, (visit, answer.text[:300])
        acted_on = scene.rig.jsm.store.issue(visit.ref)
        assert acted_on is not None
        taking_part = {p.email for p in acted_on.participants}
        assert taking_part >= {visit.fields["email"]} if "email" in visit.fields else True
        assert scene.mallory.email not in taking_part if visit.route == "leave" else True
    flavour = scene.rig.jsm.flavour
    mine = before | _mallorys(scene)
    mallory_id = scene.mallory.jsm_user_id
    visible_files = {a.id for i in scene.rig.jsm.store.issues if i.key in mine for a in i.attachments}
    for method, raw, body in scene.recording.sent:
        path = raw.partition("?")[0]
        template = _template(flavour, method, path)
        assert template is not None, f"{method} {raw}: no endpoint"
        issue = re.match(r"/rest/servicedeskapi/request/([^/?]+)", path)
        if issue and template not in AUTHORIZATION_CHECK:
            assert IssueRef(issue.group(1)) in mine, f"{method} {raw} names a request that is not Mallory's"
        if "/attachment/content/" in path or path.startswith("/secure/attachment/"):
            assert re.findall(r"\d+", path)[-1] in visible_files, f"{raw}: a file of someone else's request"
        if template[1].endswith("/participant") and method == "DELETE":  # leaving: only herself
            assert [mallory_id] == next(iter(json.loads(body).values())), f"{raw}: removes someone else"
        if template[1] == "/rest/servicedeskapi/request" and method == "POST":
            assert json.loads(body)["raiseOnBehalfOf"] == mallory_id
        if template[1].startswith(("/rest/api/3/search", "/rest/api/2/search")):
            assert mallory_id in json.loads(body)["jql"]


def test_every_customer_route_has_a_visit() -> None:
    """A new customer route fails here until the property above visits it."""
    served = {(r.path, m) for r in portal_routes for m in (r.methods or ()) if m != "HEAD"}
    served.add(("/account", "GET"))  # the account page is served with sign-in (`deskgate.web.auth`)
    assert served == set(ROUTES.values())
