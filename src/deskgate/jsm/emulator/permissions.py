"""What the emulator's service account may do, and Jira's "Get my permissions" that reports it.

The contract names the permission each customer operation needs:

- `POST /customer` (createCustomer): "Jira Administrator Global permission" — Jira's global permission
  `ADMINISTER` ("Administer Jira"); without it JSM answers 403.
- `POST /servicedesk/{id}/customer` (addCustomers): "Service desk administrator" — the service project's
  administrator role, which grants the project permission `ADMINISTER_PROJECTS`; without it, 403.
- Raising a request on behalf of a customer (`canRaiseOnBehalfOf`) needs the agent role
  (`SERVICEDESK_AGENT`).

A Jira administrator administers every project too (Jira lets its administrators configure any project),
so here `ADMINISTER` implies `ADMINISTER_PROJECTS`; `deskgate jira check` accepts either for that reason.

The roles are set in process (`app.roles`) or over HTTP (`GET|PUT /__emulator__/roles` with the fields
of `ServiceAccountRoles` as JSON). The default is a fully permitted account, as the demo and tests need.

`GET /rest/api/{2,3}/mypermissions?permissions=KEY,…[&projectKey=…]` answers as Jira's platform API
("Permissions" → "Get my permissions"): `{permissions: {KEY: {id, key, name, type, description,
havePermission}}}`. A project permission asked without a project is held when it is held in any project.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from deskgate.jsm.emulator import render
from deskgate.jsm.emulator.context import context

# key: (id, name, type, description), as Jira lists them.
KNOWN = {
    "ADMINISTER": ("0", "Administer Jira", "GLOBAL", "Create and administer projects, users and settings."),
    "BROWSE_PROJECTS": ("10", "Browse Projects", "PROJECT", "Ability to browse projects and issues."),
    "ADMINISTER_PROJECTS": ("23", "Administer Projects", "PROJECT", "Ability to administer a project."),
    "SERVICEDESK_AGENT": ("10400", "Service Desk Agent", "PROJECT", "Work on service desk requests."),
}


@dataclass
class ServiceAccountRoles:
    jira_administrator: bool = True  # the global permission ADMINISTER: POST /customer
    agent_of: list[str] | None = None  # desk ids where it is an agent (None: every desk)
    admin_of: list[str] | None = None  # desk ids where it is service desk administrator (None: every desk)

    def is_agent(self, desk_id: str) -> bool:
        return self.agent_of is None or desk_id in self.agent_of

    def is_desk_admin(self, desk_id: str) -> bool:
        return self.jira_administrator or self.admin_of is None or desk_id in self.admin_of

    def reset(self) -> None:
        self.jira_administrator, self.agent_of, self.admin_of = True, None, None

    def update(self, values: dict[str, Any]) -> None:
        """Set the named fields (ValueError for an unknown name or a wrong type)."""
        known = {f.name for f in dataclasses.fields(self)}
        for name, value in values.items():
            if name not in known:
                raise ValueError(f"unknown role setting {name!r}; known: {', '.join(sorted(known))}")
            if name == "jira_administrator" and not isinstance(value, bool):
                raise ValueError("jira_administrator: expected bool")
            if name != "jira_administrator" and not (
                value is None or (isinstance(value, list) and all(isinstance(v, str) for v in value))
            ):
                raise ValueError(f"{name}: expected null or a list of desk ids")
            setattr(self, name, value)

    def has(self, key: str, desk_ids: list[str]) -> bool:
        """Whether the account holds permission `key` in one of `desk_ids` (global ones: anywhere)."""
        if key == "ADMINISTER":
            return self.jira_administrator
        if key == "ADMINISTER_PROJECTS":
            return any(self.is_desk_admin(d) for d in desk_ids)
        if key == "SERVICEDESK_AGENT":
            return any(self.is_agent(d) for d in desk_ids)
        return bool(desk_ids)  # BROWSE_PROJECTS: it sees these desks


def roles_of(request: Request) -> ServiceAccountRoles:
    roles: ServiceAccountRoles = request.app.state.roles
    return roles


def forbidden(what: str) -> Response:
    return render.error(403, f"You do not have permission to {what}.")


async def my_permissions(request: Request) -> Response:
    store, _ = context(request)
    roles = roles_of(request)
    asked = [k.strip().upper() for k in request.query_params.get("permissions", "").split(",") if k.strip()]
    if not asked:
        if store.flavour == "cloud":
            return render.platform_error(400, "The 'permissions' query parameter is required.")
        asked = list(KNOWN)
    unknown = [k for k in asked if k not in KNOWN]
    if unknown:
        return render.platform_error(400, f"Invalid permission key(s): {', '.join(unknown)}.")
    project = request.query_params.get("projectKey") or request.query_params.get("projectId")
    desks = store.desks
    if project:
        desks = [d for d in store.desks if project in (d.project_key, d.project_id)]
        if not desks:
            return render.platform_error(404, f"No project could be found with key '{project}'.")
    answer = {}
    for key in asked:
        ident, name, kind, description = KNOWN[key]
        answer[key] = {
            "id": ident,
            "key": key,
            "name": name,
            "type": kind,
            "description": description,
            "havePermission": roles.has(key, [d.id for d in desks]),
        }
    return JSONResponse({"permissions": answer})
