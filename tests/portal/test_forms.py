"""The create-request form: the spec every kind of field draws, and server-side validation of what comes
back (every kind, malformed and forged input, values kept for the next draw)."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest

from deskgate.jsm.models import FieldValue, RequestField, RequestForm
from deskgate.portal.forms import (
    FormErrors,
    ValidatedRequest,
    build_spec,
    validate,
)

CUSTOM = "com.atlassian.jira.plugin.system.customfieldtypes:"
OS = (FieldValue("10110", "Windows"), FieldValue("10111", "macOS"))
PLACES = (
    FieldValue("10130", "Berlin", (FieldValue("10131", "Floor 1"), FieldValue("10132", "Floor 2"))),
    FieldValue("10140", "Lisbon", (FieldValue("10141", "Floor 3"),)),
)


def custom(number: int, kind: str, schema_type: str, **extra: object) -> RequestField:
    return RequestField(
        field_id=f"customfield_{number}",
        name=f"Field {number}",
        description=f"Help for {number}",
        required=bool(extra.pop("required", False)),
        schema_type=schema_type,
        schema_custom=CUSTOM + kind,
        **extra,  # type: ignore[arg-type]
    )


SUMMARY = RequestField("summary", "Summary", "", True, "string", schema_system="summary")
DESCRIPTION = RequestField("description", "Description", "", False, "string", schema_system="description")
FIELDS = {
    "text": custom(1, "textfield", "string"),
    "paragraph": custom(2, "textarea", "string"),
    "number": custom(3, "float", "number"),
    "date": custom(4, "datepicker", "date"),
    "datetime": custom(5, "datetime", "datetime"),
    "url": custom(6, "url", "string"),
    "select": custom(7, "select", "option", valid_values=OS),
    "multiselect": custom(8, "multiselect", "array", schema_items="option", valid_values=OS),
    "radio": custom(9, "radiobuttons", "option", valid_values=OS, default_values=("10111",)),
    "checkboxes": custom(10, "multicheckboxes", "array", schema_items="option", valid_values=OS),
    "cascading": custom(11, "cascadingselect", "option-with-child", valid_values=PLACES),
}
LABELS = RequestField("labels", "Labels", "", False, "array", schema_items="string", schema_system="labels")
ATTACHMENT = RequestField(
    "attachment", "Files", "", True, "array", schema_items="attachment", schema_system="attachment"
)


def form(*extra: RequestField, description: bool = True) -> RequestForm:
    fields = (SUMMARY, *((DESCRIPTION,) if description else ()), *FIELDS.values(), *extra)
    return RequestForm(fields, can_raise_on_behalf_of=True, can_add_request_participants=True)


def ok(raw: dict[str, list[str]], the_form: RequestForm | None = None, **kw: object) -> ValidatedRequest:
    result = validate(the_form or form(), {"summary": ["Printer"], **raw}, **kw)  # type: ignore[arg-type]
    assert isinstance(result, ValidatedRequest), result
    return result


def bad(raw: dict[str, list[str]], the_form: RequestForm | None = None) -> FormErrors:
    result = validate(the_form or form(), {"summary": ["Printer"], **raw})
    assert isinstance(result, FormErrors), result
    return result


def fid(kind: str) -> str:
    return FIELDS[kind].field_id


# --- the spec -------------------------------------------------------------------------------------------


def test_the_spec_lists_every_kind_in_order_with_label_help_options_and_defaults() -> None:
    spec = build_spec(form(LABELS, ATTACHMENT))
    assert [f.widget for f in spec.fields] == [
        "text",
        "paragraph",
        *FIELDS.keys(),
        "labels",
        "attachment",
    ]
    radio = next(f for f in spec.fields if f.field_id == fid("radio"))
    assert radio.label == "Field 9" and radio.help == "Help for 9" and radio.default == ("10111",)
    assert [o.label for o in radio.options] == ["Windows", "macOS"]
    cascade = next(f for f in spec.fields if f.widget == "cascading")
    assert cascade.child_name == "customfield_11:child"
    assert [c.label for c in cascade.options[0].children] == ["Floor 1", "Floor 2"]
    assert spec.fields[0].required and spec.fields[0].max_length == 255
    assert spec.accepts_attachments and spec.initial_values() == {fid("radio"): ["10111"]}


def test_fields_the_portal_cannot_draw_are_left_out_and_named_when_required() -> None:
    user = RequestField("customfield_99", "Approver", "", True, "user")
    spec = build_spec(form(user))
    assert "customfield_99" not in [f.field_id for f in spec.fields]
    assert spec.unsupported_required == ("Approver",)
    assert "Approver" in bad({}, form(user)).errors[""]


# --- every kind, valid ----------------------------------------------------------------------------------


def test_valid_input_becomes_jsm_request_field_values() -> None:
    result = ok(
        {
            "description": ["Line one\r\nLine two  "],
            fid("text"): ["  hello "],
            fid("paragraph"): ["a\nb"],
            fid("number"): ["3"],
            fid("date"): ["2025-03-31"],
            fid("datetime"): ["2025-03-31T14:30"],
            fid("url"): ["https://example.com/x?y=1"],
            fid("select"): ["10110"],
            fid("multiselect"): ["10110", "10111", "10110"],
            fid("radio"): ["10111"],
            fid("checkboxes"): ["10111"],
            fid("cascading"): ["10130"],
            "customfield_11:child": ["10132"],
            "csrf_token": ["ignored"],
        }
    )
    assert result.summary == "Printer" and result.marker_field == "description"
    assert result.field_values == {
        "summary": "Printer",
        "description": "Line one\nLine two",
        fid("text"): "hello",
        fid("paragraph"): "a\nb",
        fid("number"): 3,
        fid("date"): "2025-03-31",
        fid("datetime"): "2025-03-31T14:30:00.000+0000",
        fid("url"): "https://example.com/x?y=1",
        fid("select"): {"id": "10110"},
        fid("multiselect"): [{"id": "10110"}, {"id": "10111"}],
        fid("radio"): {"id": "10111"},
        fid("checkboxes"): [{"id": "10111"}],
        fid("cascading"): {"id": "10130", "child": {"id": "10132"}},
    }


def test_numbers_dates_and_labels_in_their_other_forms() -> None:
    assert ok({fid("number"): ["-2.5"]}).field_values[fid("number")] == -2.5
    assert ok({fid("number"): ["1e3"]}).field_values[fid("number")] == 1000
    berlin = timezone(timedelta(hours=2))
    moment = ok({fid("datetime"): ["2025-03-31T14:30"]}, timezone=berlin).field_values[fid("datetime")]
    assert moment == "2025-03-31T14:30:00.000+0200"
    given = ok({fid("datetime"): ["2025-03-31T14:30:10-05:00"]}).field_values[fid("datetime")]
    assert given == "2025-03-31T14:30:10.000-0500"
    assert ok({fid("cascading"): ["10140"]}).field_values[fid("cascading")] == {"id": "10140"}
    labelled = ok({"labels": ["vpn  urgent vpn"]}, form(LABELS)).field_values["labels"]
    assert labelled == ["vpn", "urgent"]


def test_empty_optional_fields_are_left_out() -> None:
    result = ok({fid(k): [""] for k in FIELDS} | {"customfield_11:child": [""]})
    assert result.field_values == {"summary": "Printer"}


def test_a_form_without_description_puts_the_marker_in_labels() -> None:
    assert ok({}, form(LABELS, description=False)).marker_field == "labels"
    assert ok({}, form(description=False)).marker_field is None


# --- malformed and forged input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("number", "three", "Enter a number"),
        ("number", "nan", "Enter a number"),
        ("number", "1e999", "Enter a number"),
        ("date", "31.03.2025", "YYYY-MM-DD"),
        ("date", "2025-02-30", "YYYY-MM-DD"),
        ("date", "20250331", "YYYY-MM-DD"),
        ("datetime", "2025-03-31", "date and time"),
        ("datetime", "tomorrow at noon", "date and time"),
        ("url", "javascript:alert(1)", "https://"),
        ("url", "ftp://example.com", "https://"),
        ("url", "https://exa mple.com", "https://"),
        ("text", "two\nlines", "single line"),
        ("text", "x" * 256, "at most 255"),
        ("paragraph", "x" * 32_768, "at most 32,767"),
        ("paragraph", "nul\x00byte", "cannot be stored"),
        ("select", "99999", "listed options"),
        ("radio", "Windows", "listed options"),
        ("multiselect", "10110' OR 1=1", "listed options"),
        ("checkboxes", "10131", "listed options"),
        ("cascading", "10131", "listed options"),
    ],
)
def test_malformed_or_forged_values_are_refused_with_a_message(kind: str, value: str, message: str) -> None:
    errors = bad({fid(kind): [value]})
    assert message in errors.errors[fid(kind)]
    assert errors.values[fid(kind)] == [value]  # kept for the next draw


def test_a_cascade_child_must_belong_to_its_parent_and_needs_one() -> None:
    errors = bad({fid("cascading"): ["10140"], "customfield_11:child": ["10131"]})
    assert "belongs to “Lisbon”" in errors.errors[fid("cascading")]
    orphan = bad({"customfield_11:child": ["10131"]})
    assert "first option" in orphan.errors[fid("cascading")]


def test_two_values_for_a_single_value_field_are_refused() -> None:
    assert "only one" in bad({fid("select"): ["10110", "10111"]}).errors[fid("select")]


def test_required_fields_and_the_summary() -> None:
    required = RequestField(
        "customfield_50", "Reason", "", True, "string", schema_custom=CUSTOM + "textfield"
    )
    errors = validate(form(required, ATTACHMENT), {"summary": ["   "], fid("text"): ["kept"]})
    assert isinstance(errors, FormErrors)
    assert errors.errors["summary"] == "Summary is required."
    assert errors.errors["customfield_50"] == "Reason is required."
    assert "attach a file" in errors.errors["attachment"]
    assert errors.values[fid("text")] == ["kept"]
    passed = validate(
        form(required, ATTACHMENT), {"summary": ["s"], "customfield_50": ["r"]}, attachment_count=1
    )
    assert isinstance(passed, ValidatedRequest) and passed.attachments_required
    assert "summary" in bad({"summary": ["x" * 256]}).errors
    no_summary = RequestForm((DESCRIPTION,), True, True)
    assert validate(no_summary, {"summary": ["s"]}) == FormErrors(
        {"summary": "A summary is required."}, {"summary": ["s"]}
    )
