"""The service desk API (`/rest/servicedeskapi/...`) of the emulator."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from deskgate.jsm.emulator import render
from deskgate.jsm.emulator.context import body_json, context, desk_of, experimental, found, issue_of, page_of
from deskgate.jsm.emulator.permissions import forbidden, roles_of
from deskgate.jsm.emulator.validation import FieldError, check_values

SD = render.SD
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


async def info(request: Request) -> Response:
    _, base = context(request)
    return JSONResponse(
        {
            "version": "10.3.0",
            "platformVersion": "1001.0.0",
            "isLicensedForUse": True,
            "buildChangeSet": "emulator",
            "_links": {"self": f"{base}{SD}/info"},
        }
    )


async def service_desks(request: Request) -> Response:
    store, base = context(request)
    return page_of(request, [render.desk_dto(d, base) for d in store.desks])


async def service_desk(request: Request) -> Response:
    return JSONResponse(render.desk_dto(desk_of(request), context(request)[1]))


async def request_type_groups(request: Request) -> Response:
    desk = desk_of(request)
    return page_of(request, [{"id": gid, "name": name} for gid, name in desk.groups])


async def request_types(request: Request) -> Response:
    desk = desk_of(request)
    _, base = context(request)
    group = request.query_params.get("groupId")
    types = [
        render.request_type_dto(rt, base) for rt in desk.request_types if not group or group in rt.group_ids
    ]
    return page_of(request, types)


async def request_type_fields(request: Request) -> Response:
    desk = desk_of(request)
    rt = found(desk.request_type(request.path_params["rt"]), "request type")
    return JSONResponse(
        {
            "requestTypeFields": [render.field_dto(f) for f in rt.fields],
            "canRaiseOnBehalfOf": roles_of(request).is_agent(desk.id),
            "canAddRequestParticipants": True,
        }
    )


@experimental
async def desk_customers(request: Request) -> Response:
    desk = desk_of(request)
    store, base = context(request)
    query = request.query_params.get("query", "").casefold()
    # Like JSM: a loose match on name and e-mail, so "alice@example.com" also finds "malice@example.com".
    users = [
        u
        for u in store.users
        if u.account_id in desk.customers
        and (query in (u.shown_email(store.flavour) or "").casefold() or query in u.display_name.casefold())
    ]
    return page_of(request, [render.user_dto(store, u, base) for u in users])


async def add_desk_customers(request: Request) -> Response:
    desk = desk_of(request)
    store, _ = context(request)
    if not roles_of(request).is_desk_admin(desk.id):  # the contract: "Service desk administrator"
        return forbidden("add customers to this service desk")
    body = await body_json(request)
    key = "accountIds" if store.flavour == "cloud" else "usernames"
    ids = body.get(key) if isinstance(body, dict) else None
    if not isinstance(ids, list) or not ids:
        return render.error(400, f"Provide the customers to add as '{key}'.")
    missing = []
    for user_id in ids:
        user = store.find_user(str(user_id))
        if user is None:
            missing.append(str(user_id))
        else:
            desk.customers.add(user.account_id)
    if missing:
        return render.error(400, f"These users do not exist: {', '.join(missing)}")
    return Response(status_code=204)


async def create_customer(request: Request) -> Response:
    store, base = context(request)
    if not roles_of(request).jira_administrator:  # the contract: "Jira Administrator Global permission"
        return forbidden("create customers")
    body = await body_json(request)
    name_key = "displayName" if store.flavour == "cloud" else "fullName"
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("email"), str)
        or not _EMAIL.match(body["email"])
    ):
        return render.error(400, "Enter a valid email address.")
    if not isinstance(body.get(name_key), str) or not body[name_key].strip():
        return render.error(400, f"Enter the customer's name ('{name_key}').")
    if store.user_by_email(body["email"]) is not None:
        strict = request.query_params.get("strictConflictStatusCode") == "true" and store.flavour == "cloud"
        return render.error(409 if strict else 400, "An account already exists for this email.")
    user = store.add_user(body["email"].strip(), body[name_key].strip())
    return JSONResponse(render.user_dto(store, user, base), status_code=201)


async def create_request(request: Request) -> Response:
    store, base = context(request)
    body = await body_json(request)
    if not isinstance(body, dict):
        return render.error(400, "The request body must be a JSON object.")
    desk = store.desk(str(body.get("serviceDeskId", "")))
    rt = desk.request_type(str(body.get("requestTypeId", ""))) if desk else None
    if desk is None or rt is None:
        return render.error(400, "The service desk or request type does not exist.")
    reporter = store.service_account
    if body.get("raiseOnBehalfOf") is not None:
        found = store.find_user(str(body["raiseOnBehalfOf"]))
        if found is None or found.account_id not in desk.customers:
            return render.error(400, f"The user '{body['raiseOnBehalfOf']}' is not a customer of this desk.")
        reporter = found
    try:
        values = check_values(rt, body.get("requestFieldValues"))
    except FieldError as exc:
        return render.error(400, str(exc))
    issue = store.add_issue(desk, rt, reporter, values)
    return JSONResponse(render.request_dto(store, issue, base), status_code=201)


async def get_request(request: Request) -> Response:
    issue = issue_of(request)
    store, base = context(request)
    return JSONResponse(render.request_dto(store, issue, base))


async def participants(request: Request) -> Response:
    issue = issue_of(request)
    store, base = context(request)
    return page_of(request, [render.user_dto(store, u, base) for u in issue.participants])


async def comments(request: Request) -> Response:
    issue = issue_of(request)
    store, base = context(request)
    # Both filters default to true: without internal=false an agent's call returns internal comments too.
    public = request.query_params.get("public", "true") != "false"
    internal = request.query_params.get("internal", "true") != "false"
    shown = [c for c in issue.comments if (c.public and public) or (not c.public and internal)]
    # `expand` is multi-valued: repeated, or comma-separated within one value.
    expand = {part.strip() for value in request.query_params.getlist("expand") for part in value.split(",")}
    cap: int = request.app.state.page_cap
    values = [render.comment_dto(store, issue, c, base, expand=expand, attachment_limit=cap) for c in shown]
    return page_of(request, values)


async def add_comment(request: Request) -> Response:
    issue = issue_of(request)
    store, base = context(request)
    body = await body_json(request)
    if not isinstance(body, dict) or not isinstance(body.get("body"), str) or not body["body"].strip():
        return render.error(400, "The comment body is required.")
    # Without `public: true` the comment is internal: customers never see it.
    comment = store.add_comment(issue, body["body"], public=body.get("public") is True)
    return JSONResponse(render.comment_dto(store, issue, comment, base), status_code=201)


ROUTES = [
    Route(f"{SD}/info", info),
    Route(f"{SD}/customer", create_customer, methods=["POST"]),
    Route(f"{SD}/servicedesk", service_desks),
    Route(f"{SD}/servicedesk/{{desk}}", service_desk),
    Route(f"{SD}/servicedesk/{{desk}}/requesttypegroup", request_type_groups),
    Route(f"{SD}/servicedesk/{{desk}}/requesttype", request_types),
    Route(f"{SD}/servicedesk/{{desk}}/requesttype/{{rt}}/field", request_type_fields),
    Route(f"{SD}/servicedesk/{{desk}}/customer", desk_customers, methods=["GET"]),
    Route(f"{SD}/servicedesk/{{desk}}/customer", add_desk_customers, methods=["POST"]),
    Route(f"{SD}/request", create_request, methods=["POST"]),
    Route(f"{SD}/request/{{key}}", get_request),
    Route(f"{SD}/request/{{key}}/participant", participants),
    Route(f"{SD}/request/{{key}}/comment", comments, methods=["GET"]),
    Route(f"{SD}/request/{{key}}/comment", add_comment, methods=["POST"]),
]
