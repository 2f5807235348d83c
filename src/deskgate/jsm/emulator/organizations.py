"""The emulator's JSM organizations: the site's paged list, a desk's (GET /servicedesk/{id}/organization,
in the vendored Cloud spec), and adding users to one."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from deskgate.jsm.emulator import render
from deskgate.jsm.emulator.context import body_json, context, found, page_of

SD = render.SD


async def organizations(request: Request) -> Response:
    store, base = context(request)
    values = [
        {"id": o.id, "name": o.name, "_links": {"self": f"{base}{SD}/organization/{o.id}"}}
        for o in store.organizations
    ]
    return page_of(request, values)


async def desk_organizations(request: Request) -> Response:
    store, base = context(request)
    desk = found(store.desk(request.path_params["desk"]), "service desk")
    values = [
        {"id": o.id, "name": o.name, "_links": {"self": f"{base}{SD}/organization/{o.id}"}}
        for o in store.organizations
        if desk.id in o.desks
    ]
    return page_of(request, values)


async def add_users(request: Request) -> Response:
    store, _ = context(request)
    wanted = request.path_params["org"]
    organization = found(next((o for o in store.organizations if o.id == wanted), None), "organization")
    body = await body_json(request)
    key = "accountIds" if store.flavour == "cloud" else "usernames"
    ids = body.get(key) if isinstance(body, dict) else None
    if not isinstance(ids, list) or not ids:
        return render.error(400, f"Provide the users to add as '{key}'.")
    users = [store.find_user(str(user_id)) for user_id in ids]
    missing = [str(i) for i, user in zip(ids, users, strict=True) if user is None]
    if missing:
        return render.error(400, f"These users do not exist: {', '.join(missing)}")
    organization.members.update(user.account_id for user in users if user is not None)
    return Response(status_code=204)


ROUTES = [
    Route(f"{SD}/organization", organizations, methods=["GET"]),
    Route(f"{SD}/organization/{{org}}/user", add_users, methods=["POST"]),
    Route(f"{SD}/servicedesk/{{desk}}/organization", desk_organizations, methods=["GET"]),
]
