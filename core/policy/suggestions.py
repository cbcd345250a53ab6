"""Match suggestions: supporting families ranked for a requesting family by the matching plugins."""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date
from operator import itemgetter

from sqlalchemy import select

from core.errors import Conflict
from core.extensions import db
from core.messages import Message, current_language, render
from core.policy import facts as facts_module
from core.policy import service
from core.policy.types import ScoreComponent
from core.programme import vocabulary as V
from core.programme.models import Family


log = logging.getLogger("koppel.plugins")


@dataclass
class Suggestion:
    family_id: int
    display_name: str
    score: float  # the weighted mean of the components, 0 to 1
    components: list[dict]


def suggest(requesting: Family, limit: int = 10, today: date | None = None,
            language: str | None = None) -> list[Suggestion]:
    """The best supporting families for *requesting*, best first, with every component's reason.

    Candidates are the municipality's available (or matched, with room left)
    supporting families; a pair that a plugin vetoes, or whose scoring
    failed, is left out. Each component's ``reason`` is text in *language*
    (default: the request's); when the plugin gave a message, ``message``
    holds it as well (:meth:`core.messages.Message.as_dict`), for a client
    that renders it itself.
    """
    today = today or date.today()
    language = language or current_language()
    if requesting.kind != V.REQUESTING:
        raise Conflict("suggestions are made for requesting families")
    policy = service.current(requesting.tenant_id)
    if "matching" not in policy.kinds():
        raise Conflict("this municipality's policy enables no matching plugin")
    available = (Family.kind == V.SUPPORTING) & Family.status.in_((V.AVAILABLE, V.MATCHED))
    mine = facts_module.family(requesting, today)
    facts = facts_module.matching_facts(select(Family.id).where(available), today)
    # a family with no room at all could not be matched anyway (the match service refuses it);
    # how much room is enough for this family is the capacity plugin's to judge
    ids = sorted(i for i, f in facts.items() if (f.capacity_children or 0) > f.children_placed)
    scored = policy.call_many("koppel_match_score", [
        {"requesting": mine, "supporting": facts[i], "today": today} for i in ids])
    ranked = []
    for family_id, results in zip(ids, scored):
        components = _components(results)
        if components is None:
            continue
        weight = total = 0.0
        for _, c in components:
            weight += c.weight
            total += c.score * c.weight
        ranked.append((-round(total / weight if weight else 0.0, 4), family_id, components))
    ranked.sort(key=itemgetter(0, 1))
    return [Suggestion(family_id, name, -negative, [_component(plugin, c, language) for plugin, c in components])
            for negative, family_id, components, name in _named(ranked, limit, available)]


def _named(ranked: list, limit: int, available) -> list[tuple]:
    """The first *limit* of *ranked* with their display names, read for those alone (not for every candidate);
    one that is no longer a candidate by now is passed over."""
    chosen, position = [], 0
    while len(chosen) < limit and position < len(ranked):
        batch = ranked[position:position + limit - len(chosen)]
        position += len(batch)
        names = dict(db.session.execute(select(Family.id, Family.display_name).where(
            available, Family.id.in_([family_id for _, family_id, _ in batch]))).all())
        chosen += [(*r, names[r[1]]) for r in batch if r[1] in names]
    return chosen


def _component(plugin: str, component: ScoreComponent, language: str) -> dict:
    """A score component as the API shows it: its reason (made now when the plugin gave a function) as text
    in *language*."""
    reason = component.reason
    if callable(reason):
        try:
            reason = reason()
        except Exception:  # a plugin's fault: the suggestion stands, with the criterion's name for words
            log.exception("plugin %s failed to word the reason of its score", plugin)
            reason = component.criterion
    shown = {"criterion": component.criterion, "score": component.score, "weight": component.weight,
             "reason": render(reason, language) if isinstance(reason, (Message, str)) else str(reason),
             "plugin": plugin}
    if isinstance(reason, Message):
        shown["message"] = reason.as_dict()
    return shown


def _components(results) -> list[tuple[str, ScoreComponent]] | None:
    """(plugin, component) of a pair, scores clamped to 0..1; None when vetoed or a plugin failed (logged)."""
    components = []
    for plugin, version, value_or_values, error in results:
        if error:
            log.warning("plugin %s %s failed to score a pair: %s", plugin, version, error)
            return None
        if value_or_values is None:
            continue
        for value in value_or_values if isinstance(value_or_values, list) else (value_or_values,):
            if value is None:
                continue
            if not isinstance(value, ScoreComponent):
                log.warning("plugin %s %s returned %r, not a ScoreComponent", plugin, version, value)
                return None
            if value.veto:
                return None
            if not 0.0 <= value.score <= 1.0:
                value = replace(value, score=min(1.0, max(0.0, float(value.score))))
            components.append((plugin, value))
    return components
