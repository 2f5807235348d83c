"""The create-request form: what to draw (`build_spec`) and what to accept (`validate`). No web framework.

The browser posts plain form fields, one name per JSM field id (`raw[field_id]` is the list of submitted
values; a cascading select's child comes as `<field_id>:child`). `validate` trusts nothing of it: option
values must be among the field's `validValues` (a forged id is refused, never passed on), numbers, dates
and URLs are parsed here, and the result is JSM's `requestFieldValues` in the shapes of the API's "Field
input formats": `{"id": …}` for select and radio, a list of those for multi-select and checkboxes,
`{"id": parent, "child": {"id": child}}` for cascades, numbers as JSON numbers, dates `YYYY-MM-DD`,
date-times `YYYY-MM-DDThh:mm:ss.000+hhmm`. On any problem the customer gets every message at once and
everything they typed back (`FormErrors.values`), so nothing has to be entered twice.

Attachments travel beside the form (see `deskgate.portal.submissions`), never in `requestFieldValues`.
User pickers and unknown field types are not drawn; if such a field is required the request type cannot be
raised here and `FormSpec.unsupported_required` names the fields, so the page can say so.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import Any, Literal

from deskgate.jsm.models import FieldValue, MarkerField, RequestField, RequestForm

WidgetKind = Literal[
    "text",
    "paragraph",
    "number",
    "date",
    "datetime",
    "url",
    "select",
    "multiselect",
    "radio",
    "checkboxes",
    "cascading",
    "labels",
    "attachment",
]
_WIDGETS: frozenset[str] = frozenset(WidgetKind.__args__)  # type: ignore[attr-defined]
_SINGLE_OPTION = frozenset({"select", "radio"})
_MULTI_OPTION = frozenset({"multiselect", "checkboxes"})

# Jira's own limits: single-line text (and URL) fields hold 255 characters, multi-line ones 32,767.
MAX_LINE = 255
MAX_PARAGRAPH = 32_767
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_LABEL = re.compile(r"^\S{1,255}$")
CHILD_SUFFIX = ":child"


@dataclass(frozen=True, slots=True)
class Option:
    value: str  # the option id JSM takes back
    label: str
    children: tuple[Option, ...] = ()


@dataclass(frozen=True, slots=True)
class FormField:
    field_id: str
    widget: WidgetKind
    label: str
    help: str
    required: bool
    options: tuple[Option, ...] = ()
    default: tuple[str, ...] = ()  # option ids, or the text, as the form first shows it
    max_length: int | None = None

    @property
    def child_name(self) -> str:
        """The form name of a cascading select's child control."""
        return self.field_id + CHILD_SUFFIX


@dataclass(frozen=True, slots=True)
class FormSpec:
    fields: tuple[FormField, ...]
    unsupported_required: tuple[str, ...] = ()  # names of required fields the portal cannot draw

    @property
    def accepts_attachments(self) -> bool:
        return any(f.widget == "attachment" for f in self.fields)

    def initial_values(self) -> dict[str, list[str]]:
        """Form values to show before the customer typed anything: the request type's defaults."""
        return {f.field_id: list(f.default) for f in self.fields if f.default}


@dataclass(frozen=True, slots=True)
class ValidatedRequest:
    summary: str
    field_values: dict[str, Any]  # JSM's requestFieldValues
    marker_field: MarkerField | None  # where an idempotency marker can go (see deskgate.jsm.marker)
    attachments_required: bool = False


@dataclass(frozen=True, slots=True)
class FormErrors:
    errors: dict[str, str]  # field id → message for the customer ("" key: about the whole form)
    values: dict[str, list[str]] = field(default_factory=dict)  # what was submitted, to draw again


def _option(value: FieldValue) -> Option:
    return Option(value.value, value.label, tuple(_option(child) for child in value.children))


def _widget(source: RequestField) -> WidgetKind | None:
    kind = source.kind
    return kind if kind in _WIDGETS else None  # type: ignore[return-value]


def build_spec(form: RequestForm) -> FormSpec:
    fields: list[FormField] = []
    unsupported: list[str] = []
    for source in form.fields:
        widget = _widget(source)
        if widget is None:
            if source.required:
                unsupported.append(source.name)
            continue
        limit = {"text": MAX_LINE, "url": MAX_LINE, "paragraph": MAX_PARAGRAPH}.get(widget)
        fields.append(
            FormField(
                field_id=source.field_id,
                widget=widget,
                label=source.name,
                help=source.description,
                required=source.required or source.field_id == "summary",
                options=tuple(_option(v) for v in source.valid_values),
                default=source.default_values,
                max_length=limit,
            )
        )
    return FormSpec(tuple(fields), tuple(unsupported))


class _Invalid(ValueError):
    pass


def _one(values: Sequence[str]) -> str:
    given = [v for v in values if v.strip()]
    if len(given) > 1:
        raise _Invalid("Enter only one value.")
    return given[0] if given else ""


def _text(value: str, limit: int, *, one_line: bool) -> str:
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if "\x00" in text:
        raise _Invalid("This contains a character that cannot be stored.")
    if one_line and "\n" in text:
        raise _Invalid("Enter a single line.")
    if len(text) > limit:
        raise _Invalid(f"Enter at most {limit:,} characters (this has {len(text):,}).")
    return text


def _number(value: str) -> int | float:
    text = value.strip()
    if not _NUMBER.match(text):
        raise _Invalid("Enter a number, for example 3 or 2.5.")
    number = float(text)
    if not math.isfinite(number):
        raise _Invalid("Enter a number, for example 3 or 2.5.")
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def _date(value: str) -> str:
    text = value.strip()
    try:
        if not _DATE.match(text):
            raise ValueError(text)
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise _Invalid("Enter a date as YYYY-MM-DD, for example 2025-03-31.") from None


def _datetime(value: str, zone: tzinfo) -> str:
    text = value.strip()
    try:
        if not _DATE.match(text[:10]) or len(text) < 16 or text[10] not in "Tt ":
            raise ValueError(text)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _Invalid("Enter a date and time, for example 2025-03-31T14:30.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000%z")


def _url(value: str) -> str:
    text = _text(value, MAX_LINE, one_line=True)
    scheme, _, rest = text.partition("://")
    if scheme.lower() not in ("http", "https") or not rest or any(c.isspace() for c in text):
        raise _Invalid("Enter a web address starting with https:// or http://.")
    return text


def _choose(value: str, options: Sequence[Option]) -> Option:
    found = next((o for o in options if o.value == value), None)
    if found is None:
        raise _Invalid("Choose one of the listed options.")
    return found


def _labels(value: str) -> list[str]:
    labels = list(dict.fromkeys(value.split()))
    if not all(_LABEL.match(label) for label in labels):
        raise _Invalid("Labels are words of at most 255 characters.")
    return labels


def _convert(spec: FormField, raw: Mapping[str, Sequence[str]], zone: tzinfo) -> tuple[Any, bool]:
    """(JSM's value for the field, whether the customer gave one)."""
    values = list(raw.get(spec.field_id, ()))
    widget = spec.widget
    if widget in _MULTI_OPTION:
        chosen = list(dict.fromkeys(v for v in values if v.strip()))
        return [{"id": _choose(v, spec.options).value} for v in chosen], bool(chosen)
    if widget == "cascading":
        parent_id, child_id = _one(values), _one(list(raw.get(spec.child_name, ())))
        if not parent_id:
            if child_id:
                raise _Invalid("Choose the first option before the second.")
            return None, False
        parent = _choose(parent_id, spec.options)
        result: dict[str, Any] = {"id": parent.value}
        if child_id:
            try:
                result["child"] = {"id": _choose(child_id, parent.children).value}
            except _Invalid:
                raise _Invalid(f"Choose a second option that belongs to “{parent.label}”.") from None
        return result, True
    text = _one(values)
    if not text.strip():
        return None, False
    if widget in _SINGLE_OPTION:
        return {"id": _choose(text, spec.options).value}, True
    converters = {
        "text": lambda v: _text(v, MAX_LINE, one_line=True),
        "paragraph": lambda v: _text(v, MAX_PARAGRAPH, one_line=False),
        "number": _number,
        "date": _date,
        "datetime": lambda v: _datetime(v, zone),
        "url": _url,
        "labels": _labels,
    }
    return converters[widget](text), True


def validate(
    form: RequestForm,
    raw: Mapping[str, Sequence[str]],
    *,
    attachment_count: int = 0,
    timezone: tzinfo = UTC,
) -> ValidatedRequest | FormErrors:
    """Check what the customer submitted against the request type's fields. A date-time without an offset
    is read in `timezone` (the customer's, when the page knows it)."""
    spec = build_spec(form)
    submitted = {name: [str(v) for v in values] for name, values in raw.items()}
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    attachments_required = False
    if spec.unsupported_required:
        names = ", ".join(spec.unsupported_required)
        errors[""] = f"This request cannot be raised here (it needs: {names}). Please contact the team."
    for item in spec.fields:
        if item.widget == "attachment":
            attachments_required = item.required
            if item.required and attachment_count == 0:
                errors[item.field_id] = f"{item.label} is required: attach a file."
            continue
        try:
            value, given = _convert(item, submitted, timezone)
        except _Invalid as problem:
            errors[item.field_id] = str(problem)
            continue
        if given:
            out[item.field_id] = value
        elif item.required:
            errors[item.field_id] = f"{item.label} is required."
    if "summary" not in out and "summary" not in errors:
        errors["summary"] = "A summary is required."
    if errors:
        return FormErrors(errors, submitted)
    return ValidatedRequest(
        summary=str(out["summary"]),
        field_values=out,
        marker_field=form.marker_field,
        attachments_required=attachments_required,
    )
