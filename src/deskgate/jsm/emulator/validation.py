"""requestFieldValues checked as JSM checks them: known fields only, required ones present, each value of
the shape its field type takes (options by id or value, cascades with a child, dates as ISO dates…)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from deskgate.jsm.emulator.state import Field, RequestType

_LABEL = re.compile(r"^\S{1,255}$")


class FieldError(ValueError):
    pass


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _option(field: Field, value: Any, options: list[dict[str, Any]]) -> dict[str, Any]:
    if not isinstance(value, dict) or not ({"id", "value"} & value.keys()):
        raise FieldError(f"{field.name}: an option is given as {{'id': …}} or {{'value': …}}.")
    for option in options:
        if str(value.get("id", "")) == option["value"] or value.get("value") == option["label"]:
            return {"id": option["value"], "value": option["label"]}
    raise FieldError(f"Specify a valid value for {field.name}.")


def _value(field: Field, value: Any) -> Any:
    kind = field.kind
    if kind in ("summary", "description", "textfield", "textarea", "string"):
        if not isinstance(value, str):
            raise FieldError(f"{field.name}: text expected.")
        if kind == "summary" and ("\n" in value or len(value) > 255):
            raise FieldError("Summary must be one line of at most 255 characters.")
        return value
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise FieldError(f"{field.name}: a number expected.")
        return float(value)
    if kind == "datepicker":
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise FieldError(f"{field.name}: a date as YYYY-MM-DD expected.") from None
    if kind == "datetime":
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            raise FieldError(f"{field.name}: a date-time in ISO 8601 expected.") from None
        return moment.isoformat()
    if kind == "url":
        if not isinstance(value, str) or not value.startswith(("https://", "http://")):
            raise FieldError(f"{field.name}: an http(s) URL expected.")
        return value
    if kind in ("select", "radiobuttons"):
        return _option(field, value, field.valid_values)
    if kind in ("multiselect", "multicheckboxes"):
        if not isinstance(value, list):
            raise FieldError(f"{field.name}: a list of options expected.")
        return [_option(field, item, field.valid_values) for item in value]
    if kind == "cascadingselect":
        parent = _option(field, value, field.valid_values)
        child = value.get("child")
        if child is not None:
            options = next(o["children"] for o in field.valid_values if o["value"] == parent["id"])
            parent["child"] = _option(field, child, options)
        return parent
    if kind == "labels":
        if not isinstance(value, list) or not all(isinstance(v, str) and _LABEL.match(v) for v in value):
            raise FieldError(f"{field.name}: a list of labels without spaces expected.")
        return value
    raise FieldError(f"{field.name}: this field type cannot be set here.")


def check_values(request_type: RequestType, values: Any) -> dict[str, Any]:
    """The values as stored (options resolved to {id, value}); FieldError with JSM's message if invalid."""
    if not isinstance(values, dict):
        raise FieldError("requestFieldValues must be an object.")
    checked: dict[str, Any] = {}
    for field_id, value in values.items():
        field = request_type.field(field_id)
        if field is None:
            raise FieldError(
                f"Field '{field_id}' cannot be set. It is not on the appropriate screen, or unknown."
            )
        if not _empty(value):
            checked[field_id] = _value(field, value)
    for field in request_type.fields:
        if field.required and field.field_id not in checked:
            raise FieldError(f"{field.name} is required.")
    return checked
