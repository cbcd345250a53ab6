"""Shared pieces of the screening plugins (not a plugin itself).

The results mean the same in every screening plugin:

* ``pass``: the criterion is met;
* ``missing``: a step is not (yet) recorded, e.g. no date, a date after today,
  fewer references or approvals than required: a coordinator has to complete it;
* ``fail``: a recorded fact does not meet the bar, e.g. a VOG or training that is
  too old, or a triage that found the family does not fit.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from marshmallow import fields, validate

from core.plugin_toolkit import FAMILY_KINDS, SUPPORTING, Finding, Message, months_before


def finding(plugin, result: str, explanation: Message, facts: dict) -> Finding:
    return Finding(rule=plugin.name, result=result, explanation=explanation, facts=facts)


def kinds_field(default: tuple[str, ...] = (SUPPORTING,)) -> fields.List:
    """The family kinds (requesting, supporting) a check applies to."""
    return fields.List(fields.String(validate=validate.OneOf(FAMILY_KINDS)), load_default=lambda: list(default),
                       validate=validate.Length(min=1))


def iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def whole_years(months: int) -> tuple[int, bool]:
    """A period in months as ``(count, in_years)``: ``36`` -> ``(3, True)``, ``18`` -> ``(18, False)``."""
    return (months // 12, True) if months % 12 == 0 else (months, False)


@dataclass(frozen=True)
class StepTexts:
    """The texts of a dated step (message ids, marked with ``N_`` where they are written).

    ``missing``: no date is recorded; ``future``: the date (``%(date)s``) is
    after today; ``done``: the step took place on ``%(date)s``. For a step that
    may be too old, ``too_old_years`` and ``too_old_months`` are (singular,
    plural) pairs with ``%(date)s`` and the count ``%(n)s``.
    """

    missing: str
    future: str
    done: str
    too_old_years: tuple[str, str] | None = None
    too_old_months: tuple[str, str] | None = None


def dated_step(plugin, family, today: date, attribute: str, texts: StepTexts,
               max_age_months: int | None = None) -> Finding:
    """A step that passes once its date (``family.<attribute>``) is recorded, optionally not too long ago."""
    day = getattr(family, attribute)
    facts = {attribute: iso(day)}
    if max_age_months is not None:
        facts["max_age_months"] = max_age_months
    if day is None:
        return finding(plugin, "missing", plugin.message(texts.missing), facts)
    if day > today:
        return finding(plugin, "missing", plugin.message(texts.future, date=day), facts)
    if max_age_months is not None:
        cutoff = months_before(today, max_age_months)
        facts["not_before"] = cutoff.isoformat()
        if day < cutoff:
            count, in_years = whole_years(max_age_months)
            singular, plural = texts.too_old_years if in_years else texts.too_old_months
            return finding(plugin, "fail", plugin.message(singular, plural=plural, n=count, date=day), facts)
    return finding(plugin, "pass", plugin.message(texts.done, date=day), facts)
