"""What the matching plugins share: the weight field, building a score component, and wording.

Every matching plugin returns one :class:`~core.policy.types.ScoreComponent`
whose ``criterion`` is the plugin's name, whose ``weight`` comes from the
plugin's configuration, and whose ``score`` lies between 0 and 1 (rounded to
three decimals, so that a coordinator sees the same number the ranking used).

**Missing facts.** A criterion that cannot be judged because the facts it
needs are not recorded returns ``None``: it then takes no part in the
weighted mean, and the pair is ranked on the other criteria. A missing fact
never vetoes a pair. Each plugin's docstring says exactly which facts it
needs; anything it *can* judge from the recorded facts (for instance a
supporting family that offers none of the asked day parts) is scored, not
skipped.
"""
from __future__ import annotations

from marshmallow import fields, validate

from core.policy.types import ScoreComponent

WEEKDAY_NAMES = {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday", "fri": "Friday",
                 "sat": "Saturday", "sun": "Sunday"}


def weight_field(default: float = 1.0) -> fields.Float:
    """The ``weight`` of a criterion in the weighted mean: 0 (counts only through its veto) to 10."""
    return fields.Float(load_default=default, validate=validate.Range(min=0, max=10))


def score_field(default: float) -> fields.Float:
    """A configurable score between 0 and 1."""
    return fields.Float(load_default=default, validate=validate.Range(min=0, max=1))


def component(plugin, score: float, reason: str, veto: bool = False) -> ScoreComponent:
    """The plugin's score component: clamped to 0..1 and rounded to three decimals."""
    return ScoreComponent(criterion=plugin.name, score=round(min(1.0, max(0.0, float(score))), 3),
                          weight=float(plugin.config["weight"]), reason=reason, veto=veto)


def number(value: float) -> str:
    """A number for a reason: no needless decimals (``2``, ``2.5``, ``0.35``)."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def listing(items) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (plural_form or singular + 's')}"


def share_phrase(covered: list, missed: list, noun: str, nouns: str, label=listing) -> str:
    """How much of what was asked is offered, naming both: "Offers 2 of the 3 asked day parts (a and b; not c)"."""
    total = len(covered) + len(missed)
    if not missed:
        lead = f"Offers the asked {noun}" if total == 1 else f"Offers all {total} asked {nouns}"
        return f"{lead} ({label(covered)})"
    if not covered:
        lead = f"Does not offer the asked {noun}" if total == 1 else f"Offers none of the {total} asked {nouns}"
        return f"{lead} ({label(missed)})"
    return f"Offers {len(covered)} of the {total} asked {nouns} ({label(covered)}; not {label(missed)})"
