"""The JSM client and the JSM emulator, both held to Atlassian's OpenAPI contract (tests/contract/jsm/).

The real client drives the emulator through a transport that validates every request *and* response
with openapi-core, so neither side can drift from Jira, even together. Each test also checks that every
operation the client uses was exercised and validated.

Where the vendored 2020 snapshot is older than (or wrong about) today's API, the spec is amended here, in
`amend_servicedesk` and `amend_platform`, each amendment with its reason. Nothing else is exempt, except
what `UNVALIDATED` names.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from deskgate.jsm import JsmClient, JsmConflict, JsmNotFound, RetryPolicy, organizations
from deskgate.jsm.emulator import EmulatorApp, create_emulator

pytestmark = pytest.mark.anyio
CONTRACT = Path(__file__).parent / "jsm"
SITE = "https://jsm.test"
SD_SPEC = json.loads((CONTRACT / "servicedesk-cloud-openapi.json").read_text())
PLATFORM_SPEC = json.loads((CONTRACT / "jira-platform-subset-openapi.json").read_text())

# Paths the client calls that no vendored spec describes, and why that is acceptable.
UNVALIDATED = {
    # Data Center serves an attachment's content from its attachment servlet (the `content` link of its
    # attachment answers), by id; it is a plain file download, not an operation of either REST API.
    re.compile(r"^/secure/attachment/\d+/$"): "attachment content on Data Center (a file)",
}

# Every operation JsmClient uses, by the spec's operationId (or the amendment's, for newer ones).
CLIENT_OPERATIONS = {
    "getServiceDesks",
    "getRequestTypeGroups",
    "getRequestTypes",
    "getRequestTypeFields",
    "getCustomers",
    "addCustomers",
    "createCustomer",
    "createCustomerRequest",
    "getCustomerRequestByIdOrKey",
    "getRequestParticipants",
    "getRequestComments",
    "createRequestComment",
    "attachTemporaryFile",
    "createAttachment",
    "getAttachmentsForRequest",
    "getOrganizations",
    "addUsersToOrganization",
    "getCurrentUser",
    "getServerInfo",
    "getMyPermissions",
    "findUsers",
    "getCommentAttachments",
}
SEARCH_OPERATION = {
    "cloud": "searchForIssuesUsingJqlEnhancedPost",
    "datacenter": "searchForIssuesUsingJqlPost",
}
CONTENT_OPERATION = {"cloud": {"getAttachmentContent"}, "datacenter": set[str]()}


# 1. Authentication: the service-desk snapshot names only OAuth2 scopes per operation (which openapi-core
#    cannot check); Atlassian documents Basic auth (email:API token) for every operation on Cloud, and
#    Data Center takes a personal access token as a Bearer token. Deskgate uses exactly these two, so both
#    specs require one of them (the emulator's own tests check which one each flavour accepts).
AUTH: list[dict[str, list[str]]] = [{"basicAuth": []}, {"bearerAuth": []}]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def amend_servicedesk(spec: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(spec)
    spec["servers"] = [{"url": SITE}]
    # 0. The vendoring project rewrote operation ids and left some twice (getArticles, getProperty…,
    #    none of them used by the client); OpenAPI wants them unique, so later twins get a suffix.
    seen: set[str] = set()
    for item in spec["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and "operationId" in operation:
                while operation["operationId"] in seen:
                    operation["operationId"] += "_again"
                seen.add(operation["operationId"])
    schemes = spec["components"]["securitySchemes"]
    schemes["basicAuth"] = {"type": "http", "scheme": "basic"}
    schemes["bearerAuth"] = {"type": "http", "scheme": "bearer"}
    schemas = spec["components"]["schemas"]
    for item in spec["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["security"] = AUTH  # see 1.
    # 2. Request types and their fields carry a `description` in the live API (the portal shows it);
    #    the 2020 snapshot's DTOs lack it and forbid additional properties.
    schemas["RequestTypeDTO"]["properties"]["description"] = {"type": "string"}
    schemas["RequestTypeFieldDTO"]["properties"]["description"] = {"type": "string"}
    # 3. README "What is newer": POST /customer?strictConflictStatusCode=true answers 409 for an
    #    existing e-mail address.
    create = spec["paths"]["/rest/servicedeskapi/customer"]["post"]
    create.setdefault("parameters", []).append(
        {"name": "strictConflictStatusCode", "in": "query", "schema": {"type": "boolean"}}
    )
    create["responses"]["409"] = {
        "description": "customer exists",
        "content": {"application/json": {"schema": _ref("ErrorResponse")}},
    }
    # 4. README "What is newer": POST /request also takes `form` and `isAdfRequest` (the client sends
    #    neither; accepted so that a future use does not read as a contract breach).
    schemas["RequestCreateDTO"]["properties"] |= {
        "form": {"type": "object"},
        "isAdfRequest": {"type": "boolean"},
    }
    # 5. The snapshot describes the multipart body of attachTemporaryFile as one bare binary string; the
    #    operation's own text says it is a form whose part `file` holds the file(s).
    upload = spec["paths"]["/rest/servicedeskapi/servicedesk/{serviceDeskId}/attachTemporaryFile"]["post"]
    upload["requestBody"] = {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
    return spec


def amend_platform(spec: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(spec)
    spec["servers"] = [{"url": SITE}]
    spec["components"]["securitySchemes"]["basicAuth"] = {"type": "http", "scheme": "basic"}
    spec["components"]["securitySchemes"]["bearerAuth"] = {"type": "http", "scheme": "bearer"}
    for item in spec["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["security"] = AUTH  # see 1.
    # 6. README "What is newer": issue search moved to POST /rest/api/3/search/jql with page tokens;
    #    its shapes here are the README's: {jql, nextPageToken, maxResults, fields} → {issues,
    #    nextPageToken, isLast}, issues being the snapshot's IssueBean.
    spec["paths"]["/rest/api/3/search/jql"] = {
        "post": {
            "operationId": "searchForIssuesUsingJqlEnhancedPost",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["jql"],
                            "properties": {
                                "jql": {"type": "string"},
                                "nextPageToken": {"type": "string"},
                                "maxResults": {"type": "integer", "format": "int32"},
                                "fields": {"type": "array", "items": {"type": "string"}},
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": {
                    "description": "a page of issues",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "additionalProperties": False,
                                "required": ["issues"],
                                "properties": {
                                    "issues": {"type": "array", "items": _ref("IssueBean")},
                                    "nextPageToken": {"type": "string"},
                                    "isLast": {"type": "boolean"},
                                },
                            }
                        }
                    },
                }
            },
            "security": AUTH,
        }
    }
    # 7. Jira Cloud platform REST API v3, "Issue attachments" → "Get attachment content": GET
    #    /rest/api/3/attachment/content/{id}?redirect=…; the bytes (200), or a 303 to a media URL unless
    #    redirect=false. Deskgate fetches content this way, by id, with redirect=false.
    spec["paths"]["/rest/api/3/attachment/content/{id}"] = {
        "get": {
            "operationId": "getAttachmentContent",
            "parameters": [
                {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": "redirect", "in": "query", "schema": {"type": "boolean", "default": True}},
            ],
            "responses": {
                "200": {"description": "the content", "content": {"*/*": {"schema": {}}}},
                "303": {"description": "a redirect to the content"},
                "404": {"description": "no such attachment"},
            },
            "security": AUTH,
        }
    }
    # 8. Jira Cloud platform REST API v3, "Permissions" → "Get my permissions": GET
    #    /rest/api/3/mypermissions?permissions=KEY,…[&projectKey=…] → {permissions: {KEY: UserPermission}}
    #    (`permissions` required on Cloud since 2019). `deskgate jira check` asks it for ADMINISTER (needed
    #    by createCustomer) and, per desk, ADMINISTER_PROJECTS (the service desk administrator role that
    #    addCustomers needs); Data Center's /rest/api/2/mypermissions answers the same shape.
    spec["paths"]["/rest/api/3/mypermissions"] = {
        "get": {
            "operationId": "getMyPermissions",
            "parameters": [
                {"name": "permissions", "in": "query", "required": True, "schema": {"type": "string"}},
                {"name": "projectKey", "in": "query", "schema": {"type": "string"}},
            ],
            "responses": {
                "200": {
                    "description": "the permissions asked for",
                    "content": {"application/json": {"schema": _MY_PERMISSIONS}},
                },
                "400": {"description": "a permission key is not valid"},
                "404": {"description": "no such project"},
            },
            "security": AUTH,
        }
    }
    return spec


_MY_PERMISSIONS = {
    "type": "object",
    "required": ["permissions"],
    "properties": {
        "permissions": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["key", "havePermission"],
                "properties": {
                    "id": {"type": "string"},
                    "key": {"type": "string"},
                    "name": {"type": "string"},
                    "type": {"type": "string", "enum": ["GLOBAL", "PROJECT"]},
                    "description": {"type": "string"},
                    "havePermission": {"type": "boolean"},
                },
            },
        }
    },
}


@functools.cache
def specs() -> tuple[OpenAPI, OpenAPI]:
    """The amended specs, checked once (openapi-core validates a spec when loading it)."""
    return OpenAPI.from_dict(amend_servicedesk(SD_SPEC)), OpenAPI.from_dict(amend_platform(PLATFORM_SPEC))


@dataclass
class HttpxOpenAPIRequest:
    """An httpx request as openapi-core reads one."""

    request: httpx.Request
    path: str
    body: bytes | None

    def __post_init__(self) -> None:
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(self.request.url.params.multi_items())),
            header=Headers(list(self.request.headers.items())),
        )

    @property
    def host_url(self) -> str:
        return f"{self.request.url.scheme}://{self.request.url.netloc.decode()}"

    @property
    def method(self) -> str:
        return self.request.method.lower()

    @property
    def content_type(self) -> str:
        return str(self.request.headers.get("content-type", "application/octet-stream"))


@dataclass
class HttpxOpenAPIResponse:
    status_code: int
    headers: Headers
    data: bytes

    @property
    def content_type(self) -> str:
        return str(self.headers.get("content-type", "application/octet-stream"))


@dataclass
class Contract:
    flavour: str
    servicedesk: OpenAPI = field(init=False)
    platform: OpenAPI = field(init=False)
    validated: set[str] = field(default_factory=set)
    skipped: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.servicedesk, self.platform = specs()
        self._templates = [
            (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), path.count("{"), path, spec)
            for spec in (amend_servicedesk(SD_SPEC), amend_platform(PLATFORM_SPEC))
            for path in spec["paths"]
        ]

    @functools.cached_property
    def experimental(self) -> set[str]:
        """The operations the service desk spec marks `x-experimental`."""
        spec = amend_servicedesk(SD_SPEC)
        return {
            str(op["operationId"])
            for item in spec["paths"].values()
            for op in item.values()
            if isinstance(op, dict) and op.get("x-experimental")
        }

    def spec_path(self, path: str) -> str:
        # Data Center serves the platform API at /rest/api/2 (no vendored spec): for the operations the
        # client uses, v2 and v3 share their shapes, so v2 calls are held to the v3 spec.
        if self.flavour == "datacenter" and path.startswith("/rest/api/2/"):
            return "/rest/api/3/" + path[len("/rest/api/2/") :]
        return path

    def operation_id(self, path: str, method: str) -> str:
        candidates = sorted((t for t in self._templates if t[0].match(path)), key=lambda t: t[1])
        for _, _, template, spec in candidates:
            operation = spec["paths"][template].get(method)
            if operation:
                return str(operation["operationId"])
        raise AssertionError(f"{method.upper()} {path}: no operation of the contract")

    def check(self, request: httpx.Request, body: bytes, response: httpx.Response, data: bytes) -> None:
        path = self.spec_path(request.url.path)
        if any(pattern.match(path) for pattern in UNVALIDATED):
            self.skipped.append(path)
            return
        api = self.servicedesk if path.startswith("/rest/servicedeskapi/") else self.platform
        wrapped = HttpxOpenAPIRequest(request, path, body or None)
        api.validate_request(wrapped)
        answer = HttpxOpenAPIResponse(response.status_code, Headers(list(response.headers.items())), data)
        api.validate_response(wrapped, answer)
        operation = self.operation_id(path, request.method.lower())
        if operation in self.experimental:  # the spec's `x-experimental`: JSM answers 412 without the opt-in
            opt_in = {"cloud": "opt-in", "datacenter": "true"}[self.flavour]
            assert request.headers.get("X-ExperimentalApi") == opt_in, f"{operation} without the opt-in"
        self.validated.add(operation)


class ValidatingTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, contract: Contract) -> None:
        self.inner = inner
        self.contract = contract

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        response = await self.inner.handle_async_request(request)
        data = await response.aread()
        self.contract.check(request, body, response, data)
        return httpx.Response(response.status_code, headers=response.headers, content=data, request=request)


@dataclass
class Rig:
    app: EmulatorApp
    client: JsmClient
    contract: Contract


@pytest.fixture(params=["cloud", "datacenter"])
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    app = create_emulator(request.param, page_cap=2)
    contract = Contract(request.param)
    transport = ValidatingTransport(httpx.ASGITransport(app=app), contract)
    async with httpx.AsyncClient(transport=transport) as http:
        yield Rig(app, JsmClient(http, app.connection(SITE), retry=RetryPolicy(max_attempts=1)), contract)


async def _chunks() -> AsyncIterator[bytes]:
    for part in (b"line one\n", b"line two\n"):
        yield part


def _hardware_values() -> dict[str, Any]:
    return {
        "summary": "Two monitors",
        "description": "For the new desk.",
        "customfield_10200": {"id": "10101"},
        "customfield_10201": 2,
        "customfield_10202": "2026-12-01",
        "customfield_10203": {"id": "10111"},
        "customfield_10204": [{"id": "10120"}, {"id": "10122"}],
        "customfield_10205": {"id": "10140", "child": {"id": "10142"}},
    }


async def test_every_client_operation_keeps_the_contract(rig: Rig) -> None:
    client = rig.client
    assert (await client.myself()).user_id
    assert (await client.server_info()).base_url == SITE
    assert await client.my_permissions("ADMINISTER") == {"ADMINISTER": True}
    assert await client.my_permissions("ADMINISTER_PROJECTS", project_key="ITH") == {
        "ADMINISTER_PROJECTS": True
    }
    desks = await client.service_desks()
    await client.request_type_groups(desks[0].id)
    types = await client.request_types(desks[0].id)
    form = await client.request_form(desks[0].id, types[1].id)
    assert {f.kind for f in form.fields} >= {"select", "number", "date", "radio", "checkboxes", "cascading"}
    software = await client.request_form(desks[0].id, types[2].id)
    assert {f.kind for f in software.fields} >= {"multiselect", "url", "paragraph", "datetime", "text"}

    alice = await client.find_customer_by_email(desks[0].id, "alice@example.com")
    assert alice is not None
    carol = await client.find_customer_by_email(desks[0].id, "carol@example.com")  # via the user search
    assert carol is not None
    dora = await client.create_customer("dora@example.com", "Dora Diaz")
    with pytest.raises(JsmConflict):
        await client.create_customer("dora@example.com", "Dora Again")
    await client.add_customers(desks[0].id, [dora.user_id, carol.user_id])

    created = await client.create_request(
        desks[0].id, types[1].id, _hardware_values(), raise_on_behalf_of=dora.user_id, marker="c0ffee" * 4
    )
    assert (await client.get_request(created.issue_key)).marker == "c0ffee" * 4
    assert (await client.get_request(created.issue_key)).reporter.user_id == dora.user_id
    await client.request_participants("ITH-2")
    page = await client.search_customer_requests("ITH", alice.user_id, "open", "laptop", 0, 5)
    assert [r.issue_key for r in page.values] == ["ITH-1"]

    assert all(c.public for c in await client.comments("ITH-1"))
    await client.add_comment(created.issue_key, "Dora wrote: thanks!")

    first = await client.attach_temporary_file(desks[0].id, "notes.txt", b"some notes", "text/plain")
    second = await client.attach_temporary_file(desks[0].id, "log.txt", _chunks(), "text/plain")
    third = await client.attach_temporary_file(desks[0].id, "more.txt", b"more", "text/plain")
    await client.attach_to_request(created.issue_key, [first, second, third], comment="Three files")
    # More files than one page (page_cap=2): the comment's own list, an experimental call, gives the rest.
    assert len((await client.comments(created.issue_key))[-1].attachments) == 3
    attachments = await client.attachments(created.issue_key)
    async with await client.download_attachment(attachments[1]) as download:
        assert await download.read() == b"line one\nline two\n"

    with pytest.raises(JsmNotFound):
        await client.get_request("ITH-999")

    assert len(await organizations.organizations(client)) == 3  # two pages at page_cap=2
    acme = await organizations.find_organization(client, "ACME corp")
    assert acme is not None and acme.name == "Acme Corp"
    await organizations.add_to_organization(client, acme.id, [dora.user_id])
    with pytest.raises(JsmNotFound):
        await organizations.add_to_organization(client, "999", [dora.user_id])

    expected = CLIENT_OPERATIONS | {SEARCH_OPERATION[rig.app.flavour]} | CONTENT_OPERATION[rig.app.flavour]
    assert expected <= rig.contract.validated, f"not exercised: {sorted(expected - rig.contract.validated)}"
    assert bool(rig.contract.skipped) == (rig.app.flavour == "datacenter"), rig.contract.skipped


def test_the_amendments_touch_only_what_they_name() -> None:
    """The amended specs differ from the vendored ones only where this module says so."""

    def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str]]:
        for path, item in spec["paths"].items():
            for method in item:
                yield path, method

    assert set(operations(amend_servicedesk(SD_SPEC))) == set(operations(SD_SPEC))
    added = set(operations(amend_platform(PLATFORM_SPEC))) - set(operations(PLATFORM_SPEC))
    assert added == {
        ("/rest/api/3/search/jql", "post"),
        ("/rest/api/3/attachment/content/{id}", "get"),
        ("/rest/api/3/mypermissions", "get"),
    }
