"""Attribute mapping and user filter editors (per IdP), each with a preview on the last test's claims.

Both pages read the claims of the IdP's last successful connection test, so the admin edits against
what the IdP really sends. Preview and "try it" work on the edited, unsaved form and change nothing;
saving goes through `ProviderRegistry.save` (as the CLI and config import do) and is audited as
``admin.idp.mapping`` or ``admin.idp.filters``. A mapping that finds no email address in the last test's
claims (a typo in one claim name) would refuse every customer, so saving one asks for confirmation first. The decisions shown come from the same functions
logins run: `mapping.preview` and `filters.explain`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from deskgate.identity import mapping as attribute_mapping
from deskgate.identity.claims import Claims
from deskgate.identity.filters import FilterRules, explain
from deskgate.identity.mapping import ATTRIBUTES, AttributeMapping, MappedUser, map_claims, normalise_email
from deskgate.identity.provider import ProviderConfig
from deskgate.sessions.store import SessionRecord
from deskgate.web.console import admin_form, admin_only, form_page, route_idp, save_idp
from deskgate.web.context import web
from deskgate.web.policy_forms import (
    claims_of_test,
    filter_values,
    flat_claims,
    mapping_values,
    read_filters,
    read_mapping,
)

NO_TEST = "There is no successful connection test of this identity provider yet: run one first."
# The mapping form's "save anyway" value: a mapping that finds no email in the last test is saved only with it.
CONFIRM_NO_EMAIL = "lock-out-understood"
LABELS = {
    "email": "Email",
    "email_verified": "Email verified",
    "first_name": "First name",
    "last_name": "Last name",
    "display_name": "Display name",
    "groups": "Groups",
    "organization": "Organization",
}


def _base(config: ProviderConfig) -> str:
    return f"/admin/idps/{quote(config.name, safe='')}"


@dataclass(frozen=True, slots=True)
class _Edited:
    """The IdP a page edits, its last connection test and that test's claims (None if it failed)."""

    config: ProviderConfig
    test: dict[str, Any] | None
    claims: Claims | None


async def _load(request: Request) -> _Edited:
    """The IdP the route names (404 if unknown), with its last connection test and that test's claims."""
    config = await route_idp(request)
    test = await web(request).services.connection_tests.latest(config.name)
    return _Edited(config, test, claims_of_test(config.name, test))


def _page(
    request: Request, template: str, edited: _Edited, context: Mapping[str, object], *, status_code: int
) -> Response:
    claims = edited.claims
    flat = flat_claims(claims.raw) if claims is not None else []
    common = {
        "section": "idps",
        "idp": edited.config,
        "base": _base(edited.config),
        "test": edited.test,
        "claims": claims,
        "id_token_claims": flat_claims(claims.id_token) if claims else [],
        "userinfo_claims": flat_claims(claims.userinfo) if claims else [],
        "paths": [path for path, _ in flat] + ["groups"] * ("groups" not in dict(flat)),
        "saved": request.query_params.get("saved") == "1",
    }
    return form_page(request, template, {**common, **context}, status_code=status_code)


# --- attribute mapping -----------------------------------------------------------------------------


def _mapping_page(
    request: Request,
    edited: _Edited,
    *,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    preview: Mapping[str, object] | None = None,
    lockout: Mapping[str, object] | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "attributes": ATTRIBUTES,
        "labels": LABELS,
        "values": values,
        "errors": errors,
        "preview": preview,
        "lockout": lockout,
        "confirm_no_email": CONFIRM_NO_EMAIL,
    }
    return _page(request, "admin/mapping.html", edited, context, status_code=status_code)


def _lockout(claims: Claims | None, mapping: AttributeMapping) -> dict[str, object] | None:
    """What to warn about when `mapping` finds no email address in the last test's claims: customers are
    found by email, so such a mapping refuses every one of them ("You are not allowed to use this
    portal"). None when it finds one, or when there is no successful test to judge by."""
    if claims is None or map_claims(claims, mapping).email is not None:
        return None
    return {"paths": mapping.email, "claims": sorted(claims.raw)}


@admin_only
async def mapping_form(request: Request, admin: SessionRecord) -> Response:
    edited = await _load(request)
    return _mapping_page(request, edited, values=mapping_values(edited.config.mapping), errors={})


@admin_form
async def mapping_submit(request: Request, admin: SessionRecord, form: Mapping[str, str]) -> Response:
    edited = await _load(request)
    config, claims = edited.config, edited.claims
    mapping, errors = read_mapping(form)
    if mapping is not None and form.get("action") == "save":
        lockout = _lockout(claims, mapping)
        if lockout is not None and form.get("confirm_no_email") != CONFIRM_NO_EMAIL:
            return _mapping_page(request, edited, values=form, errors={}, lockout=lockout, status_code=409)
        changed = config.model_copy(update={"mapping": mapping})
        then = f"{_base(config)}/mapping?saved=1"
        return await save_idp(
            request, admin, changed, "admin.idp.mapping", detail="mapping changed", then=then
        )
    preview = None
    if mapping is not None and claims is None:
        errors = {"preview": NO_TEST}
    elif mapping is not None and claims is not None:
        preview = attribute_mapping.preview(claims, mapping)
    status = 400 if errors else 200
    return _mapping_page(request, edited, values=form, errors=errors, preview=preview, status_code=status)


# --- user filters ----------------------------------------------------------------------------------


def _try_user(
    form: Mapping[str, str], config: ProviderConfig, claims: Claims | None
) -> tuple[MappedUser, Claims] | str:
    """Who "try it" evaluates: the typed person, or the last test's claims mapped with the saved
    mapping (as a real login would map them); else the message explaining what is missing."""
    if form.get("try_source") == "test":
        if claims is None:
            return NO_TEST
        return map_claims(claims, config.mapping), claims
    email = form.get("try_email", "").strip()
    if normalise_email(email) is None:
        return "Enter the email address to try, such as ann@corp.com."
    groups = [group.strip() for group in form.get("try_groups", "").split(",") if group.strip()]
    raw = {"sub": "try-it", "email": email, "email_verified": form.get("try_verified") == "on"}
    typed = Claims(idp=config.name, issuer="", subject="try-it", raw={**raw, "groups": groups})
    return map_claims(typed, AttributeMapping()), typed  # typed values are already the attributes


def _rule_labels(rules: FilterRules) -> dict[str, str]:
    """What each ``Verdict.rule`` name stands for, in the words of the form."""
    labels = {
        "deny_domains": "Denied domains: " + (", ".join(rules.deny_domains) or "none"),
        "require_email_verified": "Verified email required",
        "allow_domains": "Allowed domains: " + (", ".join(rules.allow_domains) or "any"),
        "claim_rules": "At least one allow claim rule must match",
        "default": "No rule refused the user",
    }
    for n, rule in enumerate(rules.claim_rules):
        operator = "matches" if rule.match == "regex" else "is"
        labels[f"claim_rules[{n}]"] = (
            f"Claim rule {n + 1} ({rule.effect}): {rule.claim} {operator} {rule.value}"
        )
    return labels


def _filters_page(
    request: Request,
    edited: _Edited,
    *,
    values: Mapping[str, Any],
    errors: Mapping[str, str],
    tried: Mapping[str, str],
    result: Mapping[str, object] | None = None,
    status_code: int = 200,
) -> Response:
    rules = [(n, row) for n, row in enumerate(values["rows"])]
    context = {"values": values, "rules": rules, "errors": errors, "tried": tried, "result": result}
    return _page(request, "admin/filters.html", edited, context, status_code=status_code)


@admin_only
async def filters_form(request: Request, admin: SessionRecord) -> Response:
    edited = await _load(request)
    tried = {"try_source": "test" if edited.claims else "email", "try_rules": "edited", "try_verified": "on"}
    values = filter_values(edited.config.filters)
    return _filters_page(request, edited, values=values, errors={}, tried=tried)


@admin_form
async def filters_submit(request: Request, admin: SessionRecord, form: Mapping[str, str]) -> Response:
    edited = await _load(request)
    config = edited.config
    rules, errors, values = read_filters(form)
    tried = {key: form.get(key, "") for key in ("try_source", "try_email", "try_verified", "try_groups")}
    tried["try_rules"] = "saved" if form.get("try_rules") == "saved" else "edited"
    if form.get("action") == "save":
        if rules is not None:
            changed = config.model_copy(update={"filters": rules})
            then = f"{_base(config)}/filters?saved=1"
            return await save_idp(
                request, admin, changed, "admin.idp.filters", detail="filters changed", then=then
            )
        return _filters_page(request, edited, values=values, errors=errors, tried=tried, status_code=400)
    chosen: FilterRules | None = config.filters if tried["try_rules"] == "saved" else rules
    who = _try_user(form, config, edited.claims)
    result = None
    if isinstance(who, str):
        errors = {**errors, "try": who}
    elif chosen is not None:
        user, user_claims = who
        explanation = explain(user, user_claims, chosen)
        result = {"explanation": explanation, "user": user, "labels": _rule_labels(chosen)}
    status = 400 if errors and result is None else 200
    return _filters_page(
        request, edited, values=values, errors=errors, tried=tried, result=result, status_code=status
    )


routes = [
    Route("/admin/idps/{name}/mapping", mapping_form, methods=["GET"]),
    Route("/admin/idps/{name}/mapping", mapping_submit, methods=["POST"]),
    Route("/admin/idps/{name}/filters", filters_form, methods=["GET"]),
    Route("/admin/idps/{name}/filters", filters_submit, methods=["POST"]),
]
