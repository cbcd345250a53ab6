"""A programme report as sections of a :class:`~core.policy.types.Report`, in the report's language.

Titles, column headings and labels are text in ``report.language`` (Dutch or English, messages in Koppel's
catalogue); a consortium's members are columns side by side with their total last; trend sections carry a
line chart; counts are ints, shares and averages floats, amounts (the business case) Decimals; a withheld
count is a :class:`~core.policy.types.Suppressed`. Notes under a section define a figure where it needs it.
"""
from __future__ import annotations

from core.labels import N_
from core.messages import Message, label as core_label, render
from core.policy.types import Chart, Report, Section, Suppressed
from core.programme import vocabulary as V
from core.reports.model import FUNDER, Breakdown, ProgrammeReport

#: Labels of the codes that Koppel's own vocabularies (core/labels.py) do not name.
LABELS = {
    "age_band": {"0_3": N_("0 to 3 years"), "4_11": N_("4 to 11 years"), "12_17": N_("12 to 17 years"),
                 "18_plus": N_("18 years or older"), "unknown": N_("age not recorded")},
    "retention": {"lasted_12_months": N_("lasted 12 months"),
                  "ended_early_goals_reached": N_("ended before 12 months, goals reached"),
                  "ended_early_other": N_("ended before 12 months, other reasons")},
    "reciprocity": {"registered_in_period": N_("supporting families registered in the period that were once a "
                                               "requesting family")},
    "early_warning": {"no_new_match": N_("no new match while families wait"),
                      "long_wait": N_("a long wait"),
                      "district_out_of_reach": N_("a district without supporting families in reach"),
                      "idle_supporting": N_("supporting families without a match"),
                      "triage_leaving": N_("many families leave at triage"),
                      "target_out_of_reach": N_("the year's target out of reach")},
    "wellbeing_scale": {"parenting": N_("parenting"), "parent_wellbeing": N_("wellbeing of the parents"),
                        "children_wellbeing": N_("wellbeing of the children"),
                        "family_management": N_("running the household")},
    "target_status": {"below": N_("below the target"), "within": N_("within the target"),
                      "above": N_("above the target")},
    "billing_state": {"running": N_("running"), "ended": N_("ended")},
    "not_recorded": {"not_recorded": N_("not recorded")},
}

#: Each breakdown's title and the heading of its first column.
BREAKDOWNS = {
    "end_reason": (N_("Matches ended in the period, by reason"), N_("Reason")),
    "outcome": (N_("Outcomes of the matches ended in the period"), N_("Outcome")),
    "triage": (N_("Requesting families triaged in the period, by outcome"), N_("Outcome")),
    "age_band": (N_("Children reached, by age on the first day of the period"), N_("Age")),
    "retention": (N_("Retention after 12 months"), N_("Course of the match")),
    "early_warning": (N_("Early warnings of the period, by kind"), N_("Warning")),
}

TRENDS = {
    "matches_started": N_("Trend: new matches per month"),
    "matches_running": N_("Trend: running matches at the end of each month"),
    "families_waiting": N_("Trend: families waiting at the end of each month"),
    "volunteer_hours_logged": N_("Trend: volunteer hours logged per month"),
}


class _Words:
    """Koppel's messages in one language."""

    def __init__(self, language: str):
        self.language = language

    def __call__(self, text: str, **params) -> str:
        return render(Message(text, params), self.language)

    def label(self, vocabulary: str, code: str) -> str:
        if code == "not_recorded":
            vocabulary = "not_recorded"
        if vocabulary in LABELS:
            return self(LABELS[vocabulary].get(code, code))
        return core_label(vocabulary, code, self.language)


def tables(report: ProgrammeReport) -> Report:
    """The report's sections, in ``report.language``."""
    _ = _Words(report.language)
    names = tuple(_("Total") if column.is_total else column.name for column in report.columns)
    layout = _Layout(report, _, names)
    sections = [layout.key_figures(), layout.open_matches()]
    for name in ("end_reason", "outcome", "triage", "age_band"):
        sections.append(layout.breakdown(report.breakdown(name)))
    sections += [layout.wellbeing(), layout.waiting(), layout.breakdown(report.breakdown("retention")),
                 layout.retention_shares(), layout.reciprocity(), layout.target(), *layout.trends(),
                 layout.breakdown(report.breakdown("early_warning")), layout.warnings(), layout.districts(),
                 *layout.business_case(), layout.billing()]
    period = {"start": report.period.start, "end": report.period.end, "as_of": report.as_of}
    subtitle = (_("%(start)s to %(end)s, as of %(as_of)s; for the funder: small numbers withheld", **period)
                if report.audience == FUNDER else _("%(start)s to %(end)s, as of %(as_of)s", **period))
    return Report(title=_("Programme report %(name)s", name=report.name), subtitle=subtitle,
                  sections=tuple(s for s in sections if s is not None))


class _Layout:
    def __init__(self, report: ProgrammeReport, w: _Words, names: tuple[str, ...]):
        self.report, self.w, self.names = report, w, names
        self.funder = report.audience == FUNDER

    def _rows(self, rows) -> tuple:
        """(label, values per column) rows, those without any value left out."""
        return tuple((label, *values) for label, values in rows if any(v is not None for v in values))

    def _withheld_note(self) -> str:
        _, marker = self.w, str(Suppressed(self.report.threshold + 1))
        return _("%(marker)s: withheld. A count from 1 to %(threshold)s is not shown, nor a further cell "
                      "from which it could be worked out with the totals; such a further cell may hold a larger "
                      "count or be a total.", marker=marker, threshold=self.report.threshold)

    # ------------------------------------------------------------------------------ sections

    def key_figures(self) -> Section:
        _, f = self.w, self.report.figures
        rows = [
            (_("Requesting families registered"), [x.registered_requesting for x in f]),
            (_("Supporting families registered"), [x.registered_supporting for x in f]),
            (_("Matches started (trial period began)"), [x.matches_started for x in f]),
            (_("Matches ended"), [x.matches_ended for x in f]),
            (_("Matches cancelled before their trial"), [x.matches_cancelled for x in f]),
            (_("Requesting families reached (their match started)"), [x.families_reached for x in f]),
            (_("Children reached (their family's match started)"), [x.children_reached for x in f]),
            (_("Matches billed (in their trial or active phase in the period)"), [x.matches_billed for x in f]),
            (_("Active match months"), [x.active_match_months for x in f]),
            (_("Families waiting now"), [x.waiting_now for x in f]),
            (_("Volunteer hours logged"), [x.volunteer_hours_logged for x in f]),
            (_("Volunteer hours estimated from the agreed terms"), [x.volunteer_hours_estimated for x in f]),
            (_("Matches started on a coordinator's override"), [x.started_on_override for x in f]),
            (_("Evaluations due within 30 days"), [x.evaluations_due for x in f]),
            (_("Evaluations overdue"), [x.evaluations_overdue for x in f]),
            (_("Active matches without agreed terms (not estimated)"), [x.matches_without_agreed_terms for x in f]),
        ]
        notes = (
            _("A match starts when its trial period begins. Reached: the requesting families whose match started "
              "in the period, and their children, each counted once."),
            _("Matches billed: in their trial or active phase on at least one day of the period up to the "
              "reference date. Active match months: those days divided by 30.4375."),
            _("Volunteer hours logged (support sessions) and estimated (from the agreed frequency and hours of "
              "the active matches) are two figures: they are never added up."),
        )
        return Section(_("Key figures"), (_("Figure"), *self.names), self._rows(rows), notes=notes)

    def open_matches(self) -> Section:
        _, f = self.w, self.report.figures
        rows = [(_.label("match_state", state), *(x.open_by_state.get(state, 0) for x in f))
                for state in V.OPEN_MATCH_STATES]
        rows.append((_("Total"), *(sum(x.open_by_state.values()) for x in f)))
        return Section(_("Open matches by state, on the reference date"), (_("State"), *self.names), tuple(rows))

    def breakdown(self, found: Breakdown | None) -> Section | None:
        if found is None:
            return None
        _ = self.w
        title, heading = BREAKDOWNS[found.name]
        rows = [(_.label(found.vocabulary, code), *cells) for code, cells in zip(found.codes, found.cells)]
        if found.totals is not None:
            rows.append((_("Total"), *found.totals))
        notes = []
        if found.name == "retention":
            notes.append(self._retention_note())
        if found.name == "age_band":
            notes.append(_("The children of the requesting families whose match started in the period, each "
                           "counted once, by their age on the first day of the period."))
        if self.funder and found.sensitive:
            notes.append(self._withheld_note())
        return Section(_(title), (_(heading), *self.names), tuple(rows), notes=tuple(notes))

    def _retention_note(self) -> str:
        _ = self.w
        group = (_("The group: the matches whose first year (from the start of the trial period) ended in the "
                   "period.") if self.funder else
                 _("The group: every match whose first year (from the start of the trial period) ended by the "
                   "reference date."))
        return group + " " + _("Lasted 12 months and ended early with goals reached are two separate figures: "
                               "they are never added up into one retention figure.")

    def retention_shares(self) -> Section | None:
        found = self.report.breakdown("retention")
        if found is None or found.totals is None:
            return None
        _ = self.w

        def share(count, total):
            if isinstance(count, Suppressed) or isinstance(total, Suppressed):
                return Suppressed(self.report.threshold + 1)
            return round(count / total, 4) if total else None

        rows = [(_.label("retention", code), *(share(c, t) for c, t in zip(cells, found.totals)))
                for code, cells in zip(found.codes, found.cells) if code != "ended_early_other"]
        return Section(_("Retention after 12 months, as a share of the group"), (_("Figure"), *self.names),
                       self._rows((r[0], r[1:]) for r in rows))

    def reciprocity(self) -> Section | None:
        found = self.report.breakdown("reciprocity")
        _ = self.w
        rows = [(_("Supporting families that were once a requesting family, now"),
                 [x.supporting_once_helped for x in self.report.figures])]
        if found is not None:
            rows += [(_.label(found.vocabulary, code), list(cells)) for code, cells in zip(found.codes, found.cells)]
        notes = (self._withheld_note(),) if self.funder else ()
        return Section(_("Reciprocity"), (_("Figure"), *self.names), self._rows(rows), notes=notes)

    def wellbeing(self) -> Section | None:
        _, found = self.w, self.report.wellbeing
        if not found:
            return None
        notes = [_("Mean score from 0 to 5 at the start evaluation and at the end evaluation of the matches ended "
                   "in the period that have the scale at both; n is the number of those matches.")]
        if self.funder:
            notes.append(_("A mean of fewer than %(n)s matches is withheld, and so is a further mean from which it "
                           "could be worked out with the mean of all.", n=self.report.threshold + 1))
        if len(self.names) == 1:
            rows = tuple((_.label("wellbeing_scale", s.scale), s.start[0], s.end[0], s.n[0]) for s in found)
            return Section(_("Wellbeing from the start to the end of the match"),
                           (_("Scale"), _("Mean at the start"), _("Mean at the end"), "n"), rows, notes=tuple(notes))
        rows = []
        for s in found:
            scale = _.label("wellbeing_scale", s.scale)
            rows += [(scale, _("mean at the start"), *s.start), (scale, _("mean at the end"), *s.end),
                     (scale, "n", *s.n)]
        return Section(_("Wellbeing from the start to the end of the match"), (_("Scale"), _("Figure"), *self.names),
                       tuple(rows), notes=tuple(notes))

    def waiting(self) -> Section:
        _, f = self.w, self.report.figures
        rows = [
            (_("Families waiting now"), [x.days_waiting_now.count for x in f]),
            (_("Median days waited so far by the families waiting now"), [x.days_waiting_now.median for x in f]),
            (_("Longest wait so far (days)"), [x.days_waiting_now.high for x in f]),
            (_("Families first proposed a match in the period"), [x.days_to_first_proposal.count for x in f]),
            (_("Median days from registration to the first proposal"), [x.days_to_first_proposal.median for x in f]),
            (_("90th percentile of the days to the first proposal"), [x.days_to_first_proposal.high for x in f]),
            (_("Matches ended in the period after a trial period"), [x.match_duration_days.count for x in f]),
            (_("Median duration of those matches (days)"), [x.match_duration_days.median for x in f]),
            (_("90th percentile of their duration (days)"), [x.match_duration_days.high for x in f]),
        ]
        notes = [_("Medians and percentiles are nearest-rank: always a value that occurs.")]
        if self.funder:
            notes.append(_("A median or percentile of fewer than %(n)s families or matches is withheld.",
                           n=self.report.threshold + 1))
        return Section(_("Waiting times and duration"), (_("Figure"), *self.names), self._rows(rows),
                       notes=tuple(notes))

    def target(self) -> Section | None:
        _, targets = self.w, [x.target for x in self.report.figures]
        if all(t is None for t in targets):
            return None

        def each(get):
            return [None if t is None else get(t) for t in targets]

        rows = [
            (_("Year"), each(lambda t: t.year)),
            (_("Minimum new matches"), each(lambda t: t.minimum)),
            (_("Maximum new matches"), each(lambda t: t.maximum)),
            (_("New matches in the year so far"), each(lambda t: t.new_matches)),
            (_("Minimum, pro rata for the part of the year counted"), each(lambda t: t.pro_rata_minimum)),
            (_("Status"), each(lambda t: _.label("target_status", t.status))),
            (_("On track"), each(lambda t: t.on_track)),
        ]
        return Section(_("Target against actual"), (_("Figure"), *self.names), self._rows(rows), notes=(
            _("The target of the period's last year; a new match is one whose trial period began in that year up "
              "to the reference date."),))

    def trends(self) -> list[Section]:
        _, found = self.w, []
        month = _("Month")
        for trend in self.report.trends:
            if not trend.months:
                continue
            rows = tuple((f"{m:%Y-%m}", *values) for m, values in zip(trend.months, trend.values))
            found.append(Section(_(TRENDS[trend.figure]), (month, *self.names), rows,
                                 chart=Chart("line", month, self.names), notes=(
                                     _("From the monthly review: each month's figures on its last day."),)))
        return found

    def warnings(self) -> Section | None:
        _ = self.w
        if not self.report.warnings:
            return None
        rows = tuple((f"{x.month:%Y-%m}", _.label("early_warning", x.code),
                      render(Message.from_dict(x.message), self.report.language)) for x in self.report.warnings)
        return Section(_("Early warnings of the period"), (_("Month"), _("Warning"), _("Message")), rows)

    def districts(self) -> Section | None:
        _, found = self.w, self.report.districts
        if not found:
            return None
        consortium = len(self.names) > 1
        rows = tuple(((d.municipality,) if consortium else ()) + (
            d.district_code or _("no district recorded"), d.supporting_available, d.requesting_waiting)
            for d in found)
        columns = ((_("Municipality"),) if consortium else ()) + (
            _("District"), _("Supporting families available"), _("Requesting families waiting"))
        return Section(_("Supply and demand per district, on the reference date"), columns, rows)

    def business_case(self) -> list[Section]:
        if not self.report.business_cases:
            return []
        from core.reports import business_case

        return list(business_case.sections(dict(self.report.business_cases), self.report.language))

    def billing(self) -> Section | None:
        _ = self.w
        if not self.funder:
            return None
        consortium = len(self.names) > 1
        rows = tuple((b.pseudonym, *((b.municipality,) if consortium else ()), b.month_started, b.active_months,
                      _.label("billing_state", b.state)) for b in self.report.billing)
        columns = (_("Pseudonym"), *((_("Municipality"),) if consortium else ()), _("Month the trial began"),
                   _("Active months in the period"), _("State on the reference date"))
        return Section(_("Billing list: matches billed in the period"), columns, rows, notes=(
            _("One row per match in its trial or active phase on a day of the period. The pseudonym names the "
              "requesting family: made with your own key, the same in each of your exports and in no one "
              "else's. No outcome, district or age is given."),))
