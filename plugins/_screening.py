"""Shared pieces of the screening plugins (not a plugin itself).

The results mean the same in every screening plugin:

* ``pass``: the criterion is met;
* ``missing``: a step is not (yet) recorded, e.g. no date, a date after today,
  fewer references or approvals than required: a coordinator has to complete it;
* ``fail``: a recorded fact does not meet the bar, e.g. a VOG or training that is
  too old, or a triage that found the family does not fit.
"""
from __future__ import annotations

import calendar
from datetime import date

from marshmallow import fields, validate

from core.policy.types import Finding
from core.programme.vocabulary import FAMILY_KINDS, SUPPORTING


def finding(plugin, result: str, explanation: str, facts: dict) -> Finding:
    return Finding(rule=plugin.name, result=result, explanation=explanation, facts=facts)


def sentence(parts: list[str]) -> str:
    """``["no VOG recorded: member 2", "..."]`` -> ``"No VOG recorded: member 2; ...."``."""
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] + "."


def kinds_field(default: tuple[str, ...] = (SUPPORTING,)) -> fields.List:
    """The family kinds (requesting, supporting) a check applies to."""
    return fields.List(fields.String(validate=validate.OneOf(FAMILY_KINDS)), load_default=lambda: list(default),
                       validate=validate.Length(min=1))


def iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def months_before(day: date, months: int) -> date:
    """The same day *months* calendar months earlier (the month's last day when it is shorter)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def period(months: int) -> str:
    """``36`` -> ``"3 years"``, ``18`` -> ``"1 year and 6 months"``."""
    years, months = divmod(months, 12)
    parts = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in ((years, "year"), (months, "month")) if n]
    return " and ".join(parts) or "0 months"


def dated_step(plugin, family, today: date, attribute: str, what: str, max_age_months: int | None = None) -> Finding:
    """A step that passes once its date (``family.<attribute>``) is recorded, optionally not too long ago."""
    day = getattr(family, attribute)
    facts = {attribute: iso(day)}
    if max_age_months is not None:
        facts["max_age_months"] = max_age_months
    if day is None:
        return finding(plugin, "missing", f"No {what} is recorded ({attribute}).", facts)
    if day > today:
        return finding(plugin, "missing", f"The {what} is recorded on {day.isoformat()}, after today.", facts)
    if max_age_months is not None:
        cutoff = months_before(today, max_age_months)
        facts["not_before"] = cutoff.isoformat()
        if day < cutoff:
            return finding(plugin, "fail", f"The {what} on {day.isoformat()} is more than "
                           f"{period(max_age_months)} ago.", facts)
    return finding(plugin, "pass", f"The {what} is recorded on {day.isoformat()}.", facts)
