"""Screening and eligibility decisions made by the municipality's policy plugins.

The plugins give findings; the rules below combine them into an outcome;
the decision is stored with every finding (which rule, which plugin version,
met or not, the facts used, the explanation) and the policy version.
"""
from __future__ import annotations

import json
import logging
from datetime import date, datetime
from decimal import Decimal

from core.messages import Label, Message, render
from core.policy import facts as facts_module
from core.policy import service
from core.policy.types import Finding
from core.programme import decisions

EXPECTED = {"eligibility": ({"met", "not_met", "missing"}, {"include", "exclude"}),
            "screening": ({"pass", "fail", "missing"}, {"include"})}
HOOKS = {"eligibility": "koppel_eligibility", "screening": "koppel_screening"}
log = logging.getLogger("koppel.plugins")


def _plain(value):
    """JSON for the facts a plugin names: dates as ISO strings, Decimals as strings, sets as sorted lists."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} is not a fact that can be stored")


def _text(explanation: Message | str) -> dict:
    """The stored explanation: English text, and the message it renders in any language."""
    if isinstance(explanation, Message):
        return {"explanation": render(explanation, "en"), "message": explanation.as_dict()}
    return {"explanation": str(explanation)}


def _error(plugin: str | None, version: str | None, message: Message) -> dict:
    return {"rule": plugin, "plugin": plugin, "plugin_version": version, "result": "error", "effect": None,
            "facts": {}, **_text(message)}


def _finding(kind: str, plugin: str, version: str, value) -> dict:
    results, effects = EXPECTED[kind]
    error = None
    if not isinstance(value, Finding) or value.result not in results or value.effect not in effects:
        error = Message("The plugin returned %(value)s, not a %(kind)s finding.",
                        {"value": repr(value)[:200], "kind": kind}, code="plugin_bad_result")
    else:
        try:
            facts = json.loads(json.dumps(value.facts, default=_plain))
        except (TypeError, ValueError) as exc:
            error = Message("The plugin's facts cannot be stored: %(error)s", {"error": str(exc)},
                            code="plugin_bad_facts")
    if error:
        log.error("plugin %s %s: %s", plugin, version, render(error, "en"),
                  extra={"plugin": plugin, "plugin_version": version})
        return _error(plugin, version, error)
    return {"rule": value.rule, "plugin": plugin, "plugin_version": version, "result": value.result,
            "effect": value.effect if kind == "eligibility" else None, "facts": facts, **_text(value.explanation)}


def findings_of(kind: str, results) -> list[dict]:
    """Every plugin's findings as stored dicts; a failed plugin becomes an error finding."""
    found = []
    for result in results:
        if result.error:
            found.append(_error(result.plugin, result.version, Message(
                "The plugin failed: %(error)s", {"error": result.error}, code="plugin_failed")))
            continue
        values = result.value if isinstance(result.value, (list, tuple)) else [result.value]
        found += [_finding(kind, result.plugin, result.version, v) for v in values if v is not None]
    return found


def outcome(kind: str, findings: list[dict]) -> str:
    """Combine findings: see the hook specifications for the rules."""
    results = [f["result"] for f in findings]
    if not findings or "error" in results:
        return "needs_coordinator"
    if kind == "screening":
        if "fail" in results:
            return "failed"
        return "needs_coordinator" if "missing" in results else "passed"
    if any(f["effect"] == "exclude" and f["result"] == "met" for f in findings):
        return "not_eligible"
    if any(f["effect"] == "include" and f["result"] == "met" for f in findings):
        return "eligible"
    if any(f["effect"] == "include" and f["result"] == "missing" for f in findings):
        return "needs_coordinator"
    return "not_eligible"


def evaluate(kind: str, policy: service.ActivePolicy, family_facts, today: date) -> tuple[str, list[dict]]:
    """The outcome and findings of *policy* for one family; writes nothing."""
    findings = findings_of(kind, policy.call(HOOKS[kind], family=family_facts, today=today))
    if not findings:
        return "needs_coordinator", [{
            "rule": "policy", "plugin": None, "plugin_version": None, "result": "missing", "effect": None,
            "facts": {"policy_version": policy.version}, **_text(Message(
                "No %(kind)s rule of this municipality's policy applies to this family; a coordinator decides.",
                {"kind": Label("decision_kind", kind)}, code="no_applicable_rule"))}]
    return outcome(kind, findings), findings


def decide(kind: str, family, today: date | None = None):
    """Run the municipality's policy on *family* and store the decision (the caller commits)."""
    today = today or date.today()
    policy = service.current(family.tenant_id)
    result, findings = evaluate(kind, policy, facts_module.family(family, today), today)
    return decisions.record(family, kind, result, findings, policy.version or None)
