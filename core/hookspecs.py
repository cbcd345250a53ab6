"""Hook specifications: the documentation for plugin authors.

A Koppel plugin is a class that derives from :class:`core.plugin_toolkit.Plugin`
(its name, kind, version, titles, description and configuration schema) and
implements one or more of the hooks below, each method decorated with
``@hookimpl``; a plugin imports all it uses from :mod:`core.plugin_toolkit`.
Plugins are found through the entry point group ``koppel.plugins``; the
built-in ones in ``plugins/`` come in the same way.
Installed is not enabled: a municipality's policy says which plugins run for
it and with which configuration, and each enabled plugin is instantiated with
that configuration (``self.config``, validated by the plugin's schema).

Hooks get plain, read-only facts (:mod:`core.policy.types`), never database
sessions or ORM objects, and return plain values. A hook that raises or runs
longer than ``PLUGIN_TIMEOUT_SECONDS`` does not take the request down: its
finding becomes an error and the decision "needs a coordinator". See
``docs/plugins.md`` for a worked example.

Text for people (a finding's explanation, a score's reason, a cost line's
description) is a :class:`~core.messages.Message` built with
``self.message(...)``: an English message id with parameters, translated from
the plugin's catalogue when someone reads it.

The annotations name the types of :mod:`core.policy.types` (all of them
available from :mod:`core.plugin_toolkit`).
"""
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from core.policy.types import (
        FamilyFacts,
        Finding,
        FundingActivity,
        FundingStatement,
        Instrument,
        MatchFacts,
        MatchTerms,
        PlannedEvaluation,
        RenderedReport,
        Report,
        ReviewThresholds,
        ScoreComponent,
    )

PROJECT = "koppel"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def koppel_eligibility(family: FamilyFacts, today: date) -> Finding | list[Finding] | None:
    """Judge whether a requesting family may take part.

    :param family: :class:`~core.policy.types.FamilyFacts` of a requesting family.
    :param today: the :class:`datetime.date` the decision is made on.
    :return: a :class:`~core.policy.types.Finding` or a list of them, or None
        when the rule does not apply. Set ``effect`` to ``"include"`` for a
        rule that makes a family eligible and ``"exclude"`` for one that
        rules it out; ``result`` is ``"met"``, ``"not_met"`` or ``"missing"``
        (a fact the rule needs is not recorded). Name the facts you used in
        ``facts`` and explain the outcome in ``explanation``, a message
        (``self.message(...)``) that a coordinator can read to the family.

    Results are **collected** from every enabled eligibility plugin. A family
    is eligible when at least one include finding is met and no exclude
    finding is; an error, or only missing facts, makes the decision "needs a
    coordinator".
    """


@hookspec
def koppel_screening(family: FamilyFacts, today: date) -> Finding | list[Finding] | None:
    """Screen a family before it is matched (supporting families, and requesting ones' intake).

    :param family: :class:`~core.policy.types.FamilyFacts` (check ``family.kind``).
    :param today: the date of the screening.
    :return: a :class:`~core.policy.types.Finding` or a list of them, or None
        when the criterion does not apply to this kind of family; ``result``
        is ``"pass"``, ``"fail"`` or ``"missing"``.

    Results are **collected**. The screening passes when every finding
    passes, fails when any fails, and otherwise needs a coordinator.
    """


@hookspec(firstresult=True)
def koppel_funding_statement(activity: FundingActivity) -> FundingStatement | None:
    """State the programme's costs for a period, as the active funding model computes them.

    :param activity: :class:`~core.policy.types.FundingActivity` (the period,
        the municipality, its consortium's members, and what was delivered up
        to the statement's date ``as_of``: matches started, active months,
        outcomes of the matches that ended; ``programme_started_on``).
    :return: a :class:`~core.policy.types.FundingStatement`: what the
        municipality owes, what each fund pays, the consortium's split across
        its members, and the avoided costs (``avoided``, an
        :class:`~core.policy.types.AvoidedCosts` or None): the expected value
        with its low and high end, the method in one sentence, and each
        assumption with its source or none (the municipality's own). Cost
        lines' descriptions, the method and the assumptions' names and values
        are messages; Koppel renders them in the reader's language.

    **First result wins**; a policy enables one funding model at a time.
    """


@hookspec(firstresult=True)
def koppel_render_report(report: Report, media_format: str) -> RenderedReport | None:
    """Render a report to bytes in one format.

    :param report: a :class:`~core.policy.types.Report` (a title and sections
        of columns, rows and notes, optionally a chart per section). A cell
        is text, a count (int), a share or average (float), an amount in
        euros (Decimal), a boolean, a date, a withheld count
        (:class:`~core.policy.types.Suppressed`) or None. Koppel builds the
        report in the reader's language; a title, heading, cell or note that
        is still a message is the format's to render.
    :param media_format: the format asked for, e.g. ``"csv"``,
        ``"csv-international"``, ``"xlsx"``, ``"pdf"``, ``"json"``.
    :return: a :class:`~core.policy.types.RenderedReport` (content, media
        type, file extension) when this plugin renders *media_format*, else None.

    A format keeps numbers numbers (a spreadsheet cell with a number format;
    text for people written the reader's way), writes a withheld count as
    ``<5`` and never as a number, and writes its own words in its language.
    **First result wins**: the first enabled plugin that renders the format.
    """


@hookspec
def koppel_match_score(requesting: FamilyFacts, supporting: FamilyFacts,
                       today: date) -> ScoreComponent | list[ScoreComponent] | None:
    """Score how well a supporting family fits a requesting family.

    :param requesting: :class:`~core.policy.types.FamilyFacts` of the requesting family.
    :param supporting: :class:`~core.policy.types.FamilyFacts` of a supporting family.
    :param today: the date of the suggestion.
    :return: a :class:`~core.policy.types.ScoreComponent` (a score from 0 to
        1, its weight, and the reason, a message or a function of no
        arguments that returns one; ``veto=True`` rules the pair out), a
        list of them, or None when the facts to judge the pair are not
        recorded. A function is called only for the pairs shown: most of
        the thousands of pairs scored are never read, so a plugin saves
        building their words.

    Results are **collected**; the suggestions are ranked by the weighted mean
    of all components, vetoed pairs left out.
    """


@hookspec(firstresult=True)
def koppel_evaluation_plan(match: MatchFacts) -> list[PlannedEvaluation] | None:
    """Say when the evaluations of a match fall due.

    :param match: :class:`~core.policy.types.MatchFacts` (its state and dates).
    :return: a list of :class:`~core.policy.types.PlannedEvaluation` (kind,
        moment, due date) for the match as it stands now.

    **First result wins**. Without an enabled evaluation plan the platform's
    default applies (trial end after 8 weeks, every 6 months, an extension
    decision 4 weeks before the planned end, and the end).
    """


@hookspec
def koppel_outcome_instrument() -> Instrument | None:
    """Describe the questions and scales an evaluation asks.

    :return: an :class:`~core.policy.types.Instrument` (name, and questions
        with Dutch and English text and a scale).

    Results are **collected**: an evaluation asks the questions of every
    enabled instrument.
    """


@hookspec(firstresult=True)
def koppel_match_terms() -> MatchTerms | None:
    """Say what a match's agreement may contain: its duration, how often the families meet, overnight stays.

    :return: a :class:`~core.policy.types.MatchTerms` (default, shortest and
        longest duration in months; the allowed frequencies; the most hours a
        session may take; whether overnight stays are allowed).

    **First result wins**; a policy enables one match-terms plugin at a time.
    Activation of a match refuses agreed terms outside these, naming the
    term. Without such a plugin the platform's defaults apply
    (``MatchTerms()``: 12 months by default, 1 to 24; any frequency; overnight
    stays allowed).
    """


@hookspec(firstresult=True)
def koppel_review_thresholds() -> ReviewThresholds | None:
    """Say when scheduled work reminds and warns: the municipality's thresholds for the monthly programme review.

    :return: a :class:`~core.policy.types.ReviewThresholds`: the days after
        its due date that an open evaluation is reminded of; how long before a
        VOG stops counting it is flagged; after how many months without an
        evaluation a supporting family is reviewed; and when the monthly
        programme review warns (no new match in ``no_match_weeks`` while
        families wait, a longest wait above ``longest_wait_days``, a district
        with waiting families and no available supporting family within
        ``reach_km``, screened supporting families idle for
        ``idle_supporting_months``, at least ``triage_leaving_min`` families
        and ``triage_leaving_share`` of those triaged in three months leaving
        at triage, the year's target out of reach at the current pace from
        month ``target_pace_from_month``).

    **First result wins**; a policy enables one programme-review plugin at a
    time. Without one, or when it fails, the platform's defaults apply
    (``ReviewThresholds()``, reasoned in ``docs/review.md``). A change of the
    thresholds counts from the next time the work runs.
    """
