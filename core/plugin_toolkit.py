"""The plugin toolkit: everything a Koppel plugin may use, in one place.

A plugin (built-in or from another package) imports from this module only,
never from Koppel's internal modules, so that those can change while this
surface stays stable::

    from core.plugin_toolkit import Finding, Plugin, hookimpl

See ``docs/plugins.md`` for the guide and :mod:`core.hookspecs` for the hooks.
"""
from core.hookspecs import hookimpl
from core.messages import Label, Labels, Message
from core.policy.plugin import KINDS, Plugin
from core.policy.types import (
    Chart,
    CostLine,
    FamilyFacts,
    Finding,
    FundingActivity,
    FundingStatement,
    Instrument,
    MatchFacts,
    MatchTerms,
    MunicipalityFacts,
    PersonFacts,
    PlannedEvaluation,
    Question,
    RenderedReport,
    Report,
    ScoreComponent,
    Section,
)
from core.programme.vocabulary import (
    CONSENT_PURPOSES,
    DAY_PARTS,
    END_REASONS,
    FAMILY_KINDS,
    OUTCOMES,
    PROBLEM_AREAS,
    REQUESTING,
    SUPPORT_KINDS,
    SUPPORTING,
    TRIAGE_OUTCOMES,
    WEEKDAYS,
)

__all__ = [
    "CONSENT_PURPOSES", "DAY_PARTS", "END_REASONS", "FAMILY_KINDS", "KINDS", "OUTCOMES", "PROBLEM_AREAS",
    "REQUESTING", "SUPPORT_KINDS", "SUPPORTING", "TRIAGE_OUTCOMES", "WEEKDAYS",
    "Chart", "CostLine", "FamilyFacts", "Finding", "FundingActivity", "FundingStatement", "Instrument", "Label",
    "Labels", "MatchFacts", "MatchTerms", "Message", "MunicipalityFacts", "PersonFacts", "PlannedEvaluation",
    "Plugin", "Question", "RenderedReport", "Report", "ScoreComponent", "Section", "hookimpl",
]
