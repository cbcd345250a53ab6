"""The plugin toolkit: everything a Koppel plugin may use, in one place.

A plugin (built-in or from another package) imports from this module only,
never from Koppel's internal modules, so that those can change while this
surface stays stable::

    from core.plugin_toolkit import Finding, Label, Plugin, hookimpl

What it offers (see ``docs/plugins.md`` for the guide and
:mod:`core.hookspecs` for the hooks):

* **The contract**: :class:`Plugin` (the base class; ``self.message(...)``
  builds a text for people), :data:`KINDS`, and :data:`hookimpl` to mark a
  hook implementation.
* **The values hooks get and return** (plain frozen dataclasses):
  :class:`FamilyFacts`, :class:`PersonFacts`, :class:`MatchFacts`,
  :class:`MunicipalityFacts`, :class:`FundingActivity`; :class:`Finding`,
  :class:`ScoreComponent`, :class:`MatchTerms`, :class:`ReviewThresholds`,
  :class:`PlannedEvaluation`, :class:`Instrument`, :class:`Question`,
  :class:`FundingStatement`, :class:`CostLine`, :class:`AvoidedCosts`,
  :class:`CostAssumption`, :class:`AssumptionSource`, :class:`Report`,
  :class:`Section`, :class:`Suppressed`, :class:`Chart`, :class:`RenderedReport`.
* **Text for people**: :class:`Message` (an English message id with
  parameters, translated when it is read), :class:`Label` and
  :class:`Labels` (coded values shown by their translated label), :func:`N_`
  (marks a message id that is used later, for extraction), :func:`render`
  (a message as text in a given language: for tests, and for a report
  format that writes its own words in its configured language) and
  :data:`LANGUAGES`.
* **Dates**: :func:`months_before`, :func:`add_months` (calendar months,
  the month's last day when it is shorter) and :func:`age_on` (whole years).
* **Distances**: :func:`great_circle_km` (kilometres as the crow flies).
* **Spreadsheet cells**: :func:`is_formula` (text a spreadsheet would run as
  a formula) and :func:`neutralise` (such text made inert): every report
  format that writes CSV or spreadsheets uses them.
* **Coded values** of the programme: :data:`FAMILY_KINDS` (:data:`REQUESTING`,
  :data:`SUPPORTING`), :data:`PROBLEM_AREAS`, :data:`TRIAGE_OUTCOMES`,
  :data:`CONSENT_PURPOSES`, :data:`SUPPORT_KINDS`, :data:`WEEKDAYS`,
  :data:`DAY_PARTS`, :data:`FREQUENCIES`, :data:`END_REASONS`,
  :data:`OUTCOMES`, :data:`MATCH_STATES` (:data:`ACTIVE`, ...),
  :data:`WELLBEING_SCALES`.
* **Testing a plugin through its hooks**: :func:`build_manager` (a plugin
  manager with just the given plugins and configurations, as Koppel builds
  one per policy) and :func:`plugin_class` (the installed class of a name).
"""
from __future__ import annotations

from datetime import date

from dateutil.relativedelta import relativedelta

from core.cells import is_formula, neutralise
from core.geo import great_circle_km
from core.hookspecs import hookimpl
from core.labels import N_
from core.messages import LANGUAGES, Label, Labels, Message, render
from core.policy.manager import build_manager, plugin_class
from core.policy.plugin import KINDS, Plugin
from core.policy.types import (
    AssumptionSource,
    AvoidedCosts,
    Chart,
    CostAssumption,
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
    ReviewThresholds,
    ScoreComponent,
    Section,
    Suppressed,
)
from core.programme.vocabulary import (
    ACTIVE,
    CONSENT_PURPOSES,
    DAY_PARTS,
    END_REASONS,
    FAMILY_KINDS,
    FREQUENCIES,
    MATCH_STATES,
    OUTCOMES,
    PROBLEM_AREAS,
    REQUESTING,
    SUPPORT_KINDS,
    SUPPORTING,
    TRIAGE_OUTCOMES,
    WEEKDAYS,
    WELLBEING_SCALES,
)


def months_before(day: date, months: int) -> date:
    """The same day *months* calendar months before *day* (the month's last day when that month is shorter).

    ``months_before(date(2026, 5, 31), 3)`` is 28 February 2026.
    """
    return day - relativedelta(months=months)


def age_on(born: date | None, day: date) -> int | None:
    """Whole years of someone born on *born* on *day* (None when the birth date is unknown).

    The same rule by which Koppel fills in :attr:`PersonFacts.age`.
    """
    if born is None:
        return None
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def add_months(day: date, months: int) -> date:
    """The same day *months* calendar months after *day* (the month's last day when that month is shorter)."""
    return day + relativedelta(months=months)


__all__ = [
    "ACTIVE", "CONSENT_PURPOSES", "DAY_PARTS", "END_REASONS", "FAMILY_KINDS", "FREQUENCIES", "KINDS", "LANGUAGES",
    "MATCH_STATES", "OUTCOMES", "PROBLEM_AREAS", "REQUESTING", "SUPPORT_KINDS", "SUPPORTING", "TRIAGE_OUTCOMES",
    "WEEKDAYS", "WELLBEING_SCALES",
    "AssumptionSource", "AvoidedCosts", "Chart", "CostAssumption", "CostLine", "FamilyFacts", "Finding",
    "FundingActivity", "FundingStatement", "Instrument", "Label", "Labels", "MatchFacts", "MatchTerms", "Message",
    "MunicipalityFacts", "N_", "PersonFacts", "PlannedEvaluation",
    "Plugin", "Question", "RenderedReport", "Report", "ReviewThresholds", "ScoreComponent", "Section", "Suppressed",
    "add_months", "age_on", "build_manager", "great_circle_km", "hookimpl", "is_formula", "months_before", "neutralise",
    "plugin_class", "render",
]
