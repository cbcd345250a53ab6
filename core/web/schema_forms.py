"""Forms generated from a plugin's marshmallow configuration schema.

A plugin declares its configuration as a marshmallow ``Schema`` whose fields all have defaults. This
module turns such a schema into form controls (:func:`build`), reads a posted form back into a raw
configuration for the schema to load (:func:`parse`), and puts the schema's validation messages on the
controls they belong to (:func:`attach_errors`), in the reader's language (:func:`translate`).

Controls by field type: a string is a text box (a select when the schema names its choices), an integer
or a decimal number a text box for numbers (a decimal comma is accepted), a date a date box, a boolean a
checkbox (a select with "standard" when it may be null), a list of choices checkboxes, a list of words a
text area (one per line), a list of nested objects repeated rows, a nested object a group of its own;
any other field (a custom one) a text area with its JSON. The schema stays the judge: what a control
cannot read as its type is passed on as typed, so that the schema's own message names the problem.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate
from werkzeug.datastructures import MultiDict

from core.labels import LABELS, N_
from core.messages import Message, current_language, label, render

#: How many rows of a list of objects (a fund) a form may post.
MAX_ROWS = 50
#: The hidden input that says a plugin's controls were on the page (absent: its defaults).
PRESENT = "__present"

#: The configuration settings of the built-in plugins, by field name (English; Dutch in the catalogue).
#: A plugin of another package may name its own in a field's ``metadata={"label": {"nl": ..., "en": ...}}``.
FIELD_LABELS = {
    "amount": _l("Fixed amount (euro)"),
    "amount_per_year": _l("Subsidy per year (euro)"),
    "areas": _l("Problem areas that count"),
    "assume_dutch": _l("Assume Dutch when no language is recorded"),
    "avoided_costs": _l("Estimate the avoided costs"),
    "avoided_outcomes": _l("Outcomes that count as care prevented"),
    "bom": _l("Start the file with a byte order mark"),
    "care_cost_per_year": _l("Yearly cost of referred youth care (euro)"),
    "care_cost_source": _l("Source of the cost of youth care"),
    "charts": _l("Include charts"),
    "consent_purposes": _l("Consent the intake needs"),
    "count_problem_area": _l("Also count the problem area 'single parent with several children'"),
    "couple": _l("Household of two or more adults (euro a month)"),
    "decimal_separator": _l("Decimal separator"),
    "delimiter": _l("Character between cells"),
    "dialect": _l("Dialect"),
    "duration_months_default": _l("Usual duration (months)"),
    "duration_months_max": _l("Longest duration (months)"),
    "duration_months_min": _l("Shortest duration (months)"),
    "ends_on": _l("Subsidy ends on"),
    "escape_formulas": _l("Make text that looks like a formula harmless"),
    "evaluation_reminder_days": _l("Reminder before an evaluation is due (days)"),
    "exclude_in_professional_care": _l("Exclude families in professional care"),
    "exclude_too_heavy_referred": _l("Exclude families referred on as too heavy"),
    "extension_notice_weeks": _l("Notice before an extension decision (weeks)"),
    "extra_questions": _l("Extra questions"),
    "family_kinds": _l("Families it applies to"),
    "far_km": _l("Far away from (km)"),
    "fee_per_active_month": _l("Fee per active match month (euro)"),
    "fee_per_match": _l("Fee per match started (euro)"),
    "font_size": _l("Font size"),
    "frequencies": _l("Frequencies allowed"),
    "funds": _l("Funds that co-finance"),
    "header_fill": _l("Colour of the header row (six hexadecimal digits)"),
    "horizon_source": _l("Source of the number of years"),
    "horizon_years": _l("Years of care a prevented case counts for"),
    "hours_per_session_default": _l("Usual hours per session"),
    "hours_per_session_max": _l("Most hours per session"),
    "idle_supporting_months": _l("Supporting family without a match for (months)"),
    "indent": _l("Indentation (spaces)"),
    "interval_months": _l("Months between evaluations"),
    "language": _l("Language"),
    "longest_wait_days": _l("Longest acceptable wait (days)"),
    "max_age_months": _l("At most this many months old"),
    "max_age_years": _l("At most this many years old"),
    "max_child_age": _l("Age of the youngest child at most (years)"),
    "max_years": _l("Arrived at most this many years ago"),
    "min_approvals": _l("Approvals needed"),
    "min_children": _l("At least this many children"),
    "min_references": _l("References needed"),
    "mode": _l("Mode"),
    "name": _l("Name"),
    "near_km": _l("Close by up to (km)"),
    "negations": _l("Words that negate a wish"),
    "no_match_weeks": _l("Waiting without a match for (weeks)"),
    "no_shared_score": _l("Score without a shared language (0 to 1)"),
    "norms": _l("Social minimum per household type"),
    "orientation": _l("Orientation"),
    "overnight_allowed": _l("Overnight stays allowed"),
    "page_size": _l("Page size"),
    "percentage": _l("Percentage"),
    "placement_cost_per_year": _l("Yearly cost of an out-of-home placement (euro)"),
    "placement_cost_source": _l("Source of the cost of a placement"),
    "placement_share": _l("Share that would have become a placement (0 to 1)"),
    "placement_share_high": _l("High end of that share (0 to 1)"),
    "placement_share_low": _l("Low end of that share (0 to 1)"),
    "placement_share_source": _l("Source of that share"),
    "reach_km": _l("Reach of a supporting family (km)"),
    "same_district_score": _l("Score for the same district (0 to 1)"),
    "scales": _l("Scales"),
    "seconds": _l("Seconds"),
    "single_adult": _l("Single adult (euro a month)"),
    "single_parent": _l("Single parent (euro a month)"),
    "source": _l("Source of the amounts"),
    "split": _l("Split over the region's municipalities"),
    "starts_on": _l("Subsidy starts on"),
    "supporting_review_months": _l("Review of a supporting family after (months)"),
    "target_pace_from_month": _l("Check the pace towards the target from month"),
    "terms": _l("Groups of words for the same wish"),
    "triage_leaving_min": _l("Warn about triage from this many families"),
    "triage_leaving_share": _l("Warn when this share leaves at triage (0 to 1)"),
    "trial_weeks": _l("Trial period (weeks)"),
    "valid_from": _l("Amounts valid from"),
    "veto_beyond_km": _l("Rule out beyond (km)"),
    "veto_on_conflict": _l("Rule out a pair when a wish conflicts"),
    "veto_overnight_not_offered": _l("Rule out when an overnight stay is asked but not offered"),
    "veto_weekends_not_offered": _l("Rule out when weekends are asked but not offered"),
    "veto_when_none_fits": _l("Rule out when no child's age fits"),
    "veto_when_short": _l("Rule out when there is too little room"),
    "vog_warning_days": _l("Warn before a VOG expires (days)"),
    "weight": _l("Weight"),
}

#: Labels of choices that no vocabulary of core/labels.py holds, by field name.
CHOICE_LABELS = {
    "split": {"none": _l("no split"), "inhabitants": _l("by inhabitants"), "matches": _l("by matches started")},
    "dialect": {"nl": _l("Dutch Excel"), "international": _l("international")},
    "orientation": {"auto": _l("automatic"), "portrait": _l("portrait"), "landscape": _l("landscape")},
    "decimal_separator": {",": _l("comma (,)"), ".": _l("full stop (.)")},
    "scales": {"parenting": _l("parenting"), "parent_wellbeing": _l("the parent's wellbeing"),
               "children_wellbeing": _l("the children's wellbeing"), "family_management": _l("running the household")},
    "extra_questions": {
        "recommend_requesting": _l("would the requesting family recommend it"),
        "recommend_supporting": _l("would the supporting family recommend it"),
        "support_again": _l("would the supporting family support again"),
        "coordinator_support": _l("was the coordinator's support good"),
    },
}

#: Marshmallow's own messages (as it formats them) and the same in Koppel's catalogue, to translate.
#: Plugins' own messages are looked up in the plugin's catalogue.
_MARSHMALLOW = [
    # the most specific first: "{max}" would also take "or equal to {max}"
    ("Must be greater than or equal to {min} and less than or equal to {max}.",
     N_("Must be at least %(min)s and at most %(max)s.")),
    ("Must be greater than or equal to {min} and less than {max}.",
     N_("Must be at least %(min)s and less than %(max)s.")),
    ("Must be greater than {min} and less than or equal to {max}.",
     N_("Must be more than %(min)s and at most %(max)s.")),
    ("Must be greater than {min} and less than {max}.", N_("Must be more than %(min)s and less than %(max)s.")),
    ("Must be greater than or equal to {min}.", N_("Must be at least %(min)s.")),
    ("Must be greater than {min}.", N_("Must be more than %(min)s.")),
    ("Must be less than or equal to {max}.", N_("Must be at most %(max)s.")),
    ("Must be less than {max}.", N_("Must be less than %(max)s.")),
    ("Length must be between {min} and {max}.", N_("Give %(min)s to %(max)s characters or items.")),
    ("Shorter than minimum length {min}.", N_("Give at least %(min)s characters or items.")),
    ("Longer than maximum length {max}.", N_("Give at most %(max)s characters or items.")),
    ("Length must be {equal}.", N_("Give exactly %(equal)s characters or items.")),
    ("Must be one of: {choices}.", N_("Choose one of: %(choices)s.")),
    ("Not a valid integer.", N_("Give a whole number.")),
    ("Not a valid number.", N_("Give a number.")),
    ("Number too large.", N_("The number is too large.")),
    ("Special numeric values (nan or infinity) are not permitted.", N_("Give a number.")),
    ("Not a valid boolean.", N_("Choose yes or no.")),
    ("Not a valid date.", N_("Give a date.")),
    ("Not a valid string.", N_("Give a text.")),
    ("Not a valid list.", N_("Give a list.")),
    ("Not a valid mapping type.", N_("Give an object.")),
    ("Not a valid URL.", N_("Give a web address (http or https).")),
    ("Invalid type.", N_("This value is not of the right kind.")),
    ("Invalid input type.", N_("This value is not of the right kind.")),
    ("Missing data for required field.", N_("Fill this in.")),
    ("Field may not be null.", N_("Fill this in.")),
    ("Unknown field.", N_("This setting is unknown.")),
    ("Invalid value.", N_("This value is not valid.")),
    ("Invalid input.", N_("This value is not valid.")),
    ("String does not match expected pattern.", N_("This value does not have the expected form.")),
    # the policy service's own
    ("no such plugin is installed", N_("No such plugin is installed.")),
    ("enable one {kind} plugin at a time, not {names}", N_("Switch on one plugin of this kind at a time, not %(names)s.")),
]


def _pattern(template: str) -> re.Pattern:
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
    return re.compile(f"^{regex}$", re.S)


_PATTERNS = [(_pattern(template), msgid) for template, msgid in _MARSHMALLOW]


def _number(text: str):
    """A number in a message as a number (formatted by Babel), else the text."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        return text
    return int(value) if value == value.to_integral_value() else float(value)


def translate(text, domain: str | None = None, language: str | None = None) -> str:
    """A validation message in the reader's language: marshmallow's by Koppel's catalogue, a plugin's own
    (*domain*: the plugin's name) by the plugin's catalogue; a Message as it is."""
    if isinstance(text, Message):
        return render(text, language)
    text = str(text)
    for pattern, msgid in _PATTERNS:
        found = pattern.match(text)
        if found:
            params = {k: _number(v) for k, v in found.groupdict().items()}
            if "choices" in params:
                params["choices"] = str(params["choices"])
            if "kind" in params:
                params.pop("kind")
            return render(Message(msgid, params), language)
    return render(Message(text, domain=domain), language)


@dataclass
class Control:
    """One form control (or a group of them) for a field of a configuration schema."""

    path: tuple  # within the configuration: ("norms", "single_adult"), ("funds", 0, "name")
    name: str  # the HTML name
    id: str
    label: str
    widget: str  # text number decimal date checkbox select checkboxes lines groups json group rows
    value: object = ""
    choices: list = field(default_factory=list)  # (value, label)
    optional: bool = False
    hint: str | None = None
    errors: list = field(default_factory=list)
    children: list = field(default_factory=list)  # a group's controls
    rows: list = field(default_factory=list)  # a list of objects: one list of controls per row

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()
        for row in self.rows:
            for child in row:
                yield from child.walk()


def html_id(name: str) -> str:
    return "cfg-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)


def field_label(name: str, f: fields.Field) -> str:
    own = (f.metadata or {}).get("label")
    if isinstance(own, dict):
        return own.get(current_language()) or own.get("en") or name
    if name in FIELD_LABELS:
        return str(FIELD_LABELS[name])
    return name.replace("_", " ").capitalize()


def _choices_of(f: fields.Field) -> list | None:
    for validator in f.validators:
        if isinstance(validator, validate.OneOf):
            return list(validator.choices)
    return None


def _vocabulary(name: str, choices: list) -> str | None:
    """The vocabulary of core/labels.py that names *choices* (the field's own name first)."""
    singular = re.sub(r"ies$", "y", name) if name.endswith("ies") else name.rstrip("s")
    for candidate in (name, singular):
        if candidate in LABELS and set(choices) <= set(LABELS[candidate]):
            return candidate
    fitting = [v for v, codes in LABELS.items() if set(choices) <= set(codes)]
    return min(fitting, key=lambda v: len(LABELS[v])) if fitting else None


def choice_labels(name: str, choices: list) -> list[tuple[str, str]]:
    own = CHOICE_LABELS.get(name, {})
    vocabulary = _vocabulary(name, choices) if not own else None
    out = []
    for code in choices:
        if code in own:
            out.append((str(code), str(own[code])))
        elif vocabulary:
            out.append((str(code), label(vocabulary, code)))
        else:
            out.append((str(code), str(code)))
    return out


def _shown(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _control(name: str, f: fields.Field, value, path: tuple, prefix: str) -> Control:
    html_name = prefix + ".".join(str(p) for p in path)
    base = {"path": path, "name": html_name, "id": html_id(html_name), "label": field_label(name, f),
            "optional": bool(f.allow_none)}
    if isinstance(f, fields.Nested) and not f.many:
        sub = f.schema
        values = value if isinstance(value, dict) else {}
        return Control(widget="group", children=[_control(n, sf, values.get(n), path + (n,), prefix)
                                                 for n, sf in sub.fields.items()], **base)
    if isinstance(f, fields.List) and isinstance(f.inner, fields.Nested):
        sub = f.inner.schema
        items = [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
        rows = [[_control(n, sf, item.get(n), path + (i, n), prefix) for n, sf in sub.fields.items()]
                for i, item in enumerate([*items, {}])]  # one empty row to add one
        for row in rows:  # a row's fields are filled in or left empty as a whole
            for control in row:
                control.optional = True
        return Control(widget="rows", rows=rows, **base)
    if isinstance(f, fields.Boolean):
        if f.allow_none:
            return Control(widget="select", value=_shown(value), choices=[
                ("", _("standard")), ("true", _("yes")), ("false", _("no"))], **base)
        return Control(widget="checkbox", value=bool(value), **base)
    if isinstance(f, fields.Integer):
        return Control(widget="number", value=_shown(value), **base)
    if isinstance(f, fields.Number):  # Float, Decimal
        return Control(widget="decimal", value=_shown(value), **base)
    if isinstance(f, fields.Date) and not isinstance(f, fields.DateTime):
        return Control(widget="date", value=_shown(value), **base)
    if isinstance(f, fields.String):
        choices = _choices_of(f)
        if choices is not None:
            options = choice_labels(name, choices)
            if f.allow_none:
                options = [("", _("standard")), *options]
            return Control(widget="select", value=_shown(value), choices=options, **base)
        return Control(widget="text", value=_shown(value), **base)
    if isinstance(f, fields.List) and isinstance(f.inner, fields.String):
        choices = _choices_of(f.inner)
        items = [str(v) for v in value] if isinstance(value, list) else []
        if choices is not None:
            return Control(widget="checkboxes", value=items, choices=choice_labels(name, choices), **base)
        return Control(widget="lines", value="\n".join(items), hint=_("One per line."), **base)
    if (isinstance(f, fields.List) and isinstance(f.inner, fields.List)
            and isinstance(f.inner.inner, fields.String)):
        groups = value if isinstance(value, list) else []
        text = "\n".join(", ".join(str(t) for t in group) for group in groups if isinstance(group, list))
        return Control(widget="groups", value=text, hint=_("One group per line, the words separated by commas."),
                       **base)
    text = "" if value is None else value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return Control(widget="json", value=text, hint=_("A text, or an object in JSON."), **base)


def build(schema: Schema, values: dict | None, prefix: str) -> list[Control]:
    """The controls of *schema*, filled in with *values* (a configuration as the schema dumps it)."""
    values = values or {}
    return [_control(name, f, values.get(name), (name,), prefix) for name, f in schema.fields.items()]


def defaults(schema_class) -> dict:
    """The schema's default configuration, as JSON (Decimals and dates as text)."""
    schema = schema_class()
    return json.loads(json.dumps(schema.dump(schema.load({})), default=str))


# --- reading a posted form -------------------------------------------------------------------------------

_INTEGER = re.compile(r"^[+-]?\d+$")


def _read(name: str, f: fields.Field, form: MultiDict, path: tuple, prefix: str):
    """The raw value of one field from *form*; ``missing`` when the form does not carry it."""
    html_name = prefix + ".".join(str(p) for p in path)
    if isinstance(f, fields.Nested) and not f.many:
        return {n: v for n, sf in f.schema.fields.items()
                if (v := _read(n, sf, form, path + (n,), prefix)) is not _MISSING}
    if isinstance(f, fields.List) and isinstance(f.inner, fields.Nested):
        rows = []
        for i in range(MAX_ROWS):
            row_prefix = f"{html_name}.{i}."
            if not any(key.startswith(row_prefix) for key in form):
                continue
            raw = {n: v for n, sf in f.inner.schema.fields.items()
                   if (v := _read(n, sf, form, path + (i, n), prefix)) is not _MISSING}
            if any(v not in (None, "", [], False) for v in raw.values()):
                rows.append(raw)
        return rows
    if isinstance(f, fields.Boolean) and not f.allow_none:
        return html_name in form  # a checkbox: absent when off
    if isinstance(f, fields.List) and isinstance(f.inner, fields.String) and _choices_of(f.inner) is not None:
        return [v for v in form.getlist(html_name) if v]
    if html_name not in form:
        return _MISSING
    text = form.get(html_name, "").strip()
    if text == "" and f.allow_none:
        return None
    if isinstance(f, fields.Boolean):
        return {"true": True, "false": False}.get(text, text)
    if isinstance(f, fields.Integer):
        return int(text) if _INTEGER.match(text) else text
    if isinstance(f, fields.Float):
        try:
            return float(text.replace(",", "."))
        except ValueError:
            return text
    if isinstance(f, fields.Number):  # Decimal: loaded from text, exactly
        return text.replace(",", ".") if re.fullmatch(r"[+-]?\d+(,\d+)?", text) else text
    if isinstance(f, fields.List) and isinstance(f.inner, fields.String):
        return [line.strip() for line in text.splitlines() if line.strip()]
    if isinstance(f, fields.List) and isinstance(f.inner, fields.List):
        return [[t.strip() for t in line.split(",") if t.strip()] for line in text.splitlines() if line.strip()]
    if isinstance(f, (fields.String, fields.Date)):
        return text
    if text == "":
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


class _Missing:
    def __repr__(self):
        return "<missing>"


_MISSING = _Missing()


def parse(schema: Schema, form: MultiDict, prefix: str) -> dict:
    """The raw configuration that *form* posts for *schema* (for the schema to load and judge); ``{}`` (the
    defaults) when the form did not carry this plugin's controls."""
    if prefix + PRESENT not in form:
        return {}
    return {name: value for name, f in schema.fields.items()
            if (value := _read(name, f, form, (name,), prefix)) is not _MISSING}


# --- messages on the controls -----------------------------------------------------------------------------

def _flatten(messages, path: tuple = ()):
    if isinstance(messages, dict):
        for key, value in messages.items():
            yield from _flatten(value, path + (key,))
    elif isinstance(messages, (list, tuple)) and not all(isinstance(m, (str, Message)) for m in messages):
        for item in messages:
            yield from _flatten(item, path)
    elif isinstance(messages, (list, tuple)):
        yield path, list(messages)
    else:
        yield path, [messages]


def attach_errors(controls: list[Control], messages, domain: str | None = None) -> list[str]:
    """Put the schema's *messages* (marshmallow's nested dict) on the controls of their fields, translated;
    returns the messages that belong to no control (the configuration as a whole)."""
    by_path = {c.path: c for top in controls for c in top.walk()}
    general = []
    for path, texts in _flatten(messages):
        texts = [translate(t, domain) for t in texts]
        path = tuple(p for p in path if p != "_schema")
        target = None
        for end in range(len(path), 0, -1):
            target = by_path.get(path[:end]) or by_path.get(tuple(int(p) if str(p).isdigit() else p
                                                                  for p in path[:end]))
            if target is not None:
                break
        if target is None:
            general.extend(texts)
        else:
            target.errors.extend(texts)
    return general


def problems(controls: list[Control]) -> list[tuple[Control, str]]:
    """(control, message) of every control with a message, in the form's order, for the error summary."""
    return [(c, e) for top in controls for c in top.walk() for e in c.errors]
