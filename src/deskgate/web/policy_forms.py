"""The mapping and filter editors' forms: plain text fields to and from the identity models.

Pure functions (no web framework): the models' own validators decide what is valid, so the console
accepts exactly what the YAML config and the CLI accept; this module only splits text into lists and
puts each validation message next to the field it concerns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from deskgate.identity.claims import Claims
from deskgate.identity.filters import ClaimRule, FilterRules
from deskgate.identity.mapping import ATTRIBUTES, AttributeMapping, ClaimPaths, format_paths, parse_paths
from deskgate.validation import plain_message

BLANK_RULE_ROWS = 2  # empty rows under the existing claim rules, for adding rules without JavaScript
MAX_RULE_ROWS = 100


def _messages(exc: ValidationError) -> str:
    return "; ".join(plain_message(e) for e in exc.errors())


# --- attribute mapping -----------------------------------------------------------------------------


def mapping_values(mapping: AttributeMapping) -> dict[str, str]:
    """The form fields that show ``mapping``: one fallback list per attribute, ``extra`` as lines."""
    values = {attribute: format_paths(getattr(mapping, attribute)) for attribute in ATTRIBUTES}
    values["extra"] = "\n".join(f"{name} = {format_paths(paths)}" for name, paths in mapping.extra.items())
    return values


def read_mapping(form: Mapping[str, str]) -> tuple[AttributeMapping | None, dict[str, str]]:
    """The mapping the form describes, or None and the problems by field name."""
    errors: dict[str, str] = {}
    fields: dict[str, Any] = {}
    for attribute in ATTRIBUTES:
        try:
            fields[attribute] = parse_paths(form.get(attribute, ""))
        except ValueError as exc:
            errors[attribute] = str(exc)
    extra: dict[str, ClaimPaths] = {}
    problems: list[str] = []
    for number, line in enumerate(form.get("extra", "").splitlines(), start=1):
        if not line.strip():
            continue
        name, equals, paths = line.partition("=")
        try:
            if not equals:
                raise ValueError("write it as 'name = claim.path, fallback'")
            entry = {name.strip(): parse_paths(paths)}
            AttributeMapping.model_validate({"extra": entry})  # the model's own check of the name
            extra.update(entry)
        except ValidationError as exc:
            problems.append(f"line {number}: {_messages(exc)}")
        except ValueError as exc:
            problems.append(f"line {number}: {exc}")
    if problems:
        errors["extra"] = "; ".join(problems)
    if errors:
        return None, errors
    try:
        return AttributeMapping.model_validate({**fields, "extra": extra}), {}
    except ValidationError as exc:  # the attribute names of `extra`
        return None, {"extra": _messages(exc)}


# --- user filters ----------------------------------------------------------------------------------


def _rule_row(rule: ClaimRule) -> dict[str, str]:
    return {"effect": rule.effect, "claim": rule.claim, "match": rule.match, "value": rule.value}


def _blank_row() -> dict[str, str]:
    return {"effect": "allow", "claim": "", "match": "exact", "value": ""}


def filter_values(rules: FilterRules) -> dict[str, Any]:
    """The form fields that show ``rules``; claim rules as rows, followed by blank rows."""
    return {
        "allow_domains": "\n".join(rules.allow_domains),
        "deny_domains": "\n".join(rules.deny_domains),
        "require_email_verified": rules.require_email_verified,
        "rows": [_rule_row(rule) for rule in rules.claim_rules] + [_blank_row()] * BLANK_RULE_ROWS,
    }


def _domains(text: str) -> list[str]:
    return [entry for line in text.splitlines() for entry in line.replace(",", " ").split()]


def read_filters(form: Mapping[str, str]) -> tuple[FilterRules | None, dict[str, str], dict[str, Any]]:
    """The rules the form describes (None if invalid), the problems by field, and the values to show.

    A claim rule row left with neither claim nor value is dropped: that is how a rule is deleted.
    Row errors are keyed ``rule-<n>`` by the row's position in the values shown again.
    """
    try:
        count = min(int(form.get("rule_count", "0")), MAX_RULE_ROWS)
    except ValueError:
        count = 0
    rows = [
        {key: form.get(f"rule-{n}-{key}", default).strip() for key, default in _blank_row().items()}
        for n in range(count)
    ]
    errors: dict[str, str] = {}
    rules: list[ClaimRule] = []
    shown_rows: list[dict[str, str]] = []
    for row in rows:
        if not row["claim"] and not row["value"]:
            continue
        try:
            rules.append(ClaimRule.model_validate(row))
        except ValidationError as exc:
            errors[f"rule-{len(shown_rows)}"] = _messages(exc)  # keyed by where the row is shown again
        shown_rows.append(row)
    values: dict[str, Any] = {
        "allow_domains": form.get("allow_domains", ""),
        "deny_domains": form.get("deny_domains", ""),
        "require_email_verified": form.get("require_email_verified") == "on",
        "rows": shown_rows + [_blank_row()] * BLANK_RULE_ROWS,
    }
    data = {
        "allow_domains": _domains(values["allow_domains"]),
        "deny_domains": _domains(values["deny_domains"]),
        "require_email_verified": values["require_email_verified"],
    }
    try:
        parsed = FilterRules.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            errors[str(error["loc"][0])] = plain_message(error)
        return None, errors, values
    if errors:
        return None, errors, values
    return parsed.model_copy(update={"claim_rules": tuple(rules)}), {}, values


# --- the last connection test ----------------------------------------------------------------------


def claims_of_test(idp: str, result: Mapping[str, Any] | None) -> Claims | None:
    """The claims a successful connection test received, merged as the OIDC adapter merges them."""
    if result is None or not result.get("ok"):
        return None
    id_token = dict(result.get("id_token_claims") or {})
    userinfo = dict(result.get("userinfo_claims") or {})
    subject = str(result.get("subject") or id_token.get("sub") or "")
    # ID token claims win over userinfo for the same name, as at a real login: they are signed.
    merged = {**userinfo, **id_token}
    return Claims(
        idp=idp,
        issuer=str(id_token.get("iss", "")),
        subject=subject,
        raw=merged,
        id_token=id_token,
        userinfo=userinfo,
    )


def flat_claims(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Every claim as (dotted path, value), nested objects opened up: what a mapping path can name."""
    found: list[tuple[str, Any]] = []
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            found.extend(flat_claims(value, f"{path}."))
        else:
            found.append((path, value))
    return found
