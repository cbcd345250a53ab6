"""The programme report as plain values: what :func:`core.reports.builder.build` makes and
:func:`core.reports.layout.tables` lays out. Nothing here knows a file format.

A report has one column per municipality: a municipality's report one, a
consortium's one per member and a last one for their total
(``municipality_id`` None). Every figure is given per column, in the order
of :attr:`ProgrammeReport.columns`.

A cell that a funder may not see is a :class:`~core.policy.types.Suppressed`
(see :mod:`core.reports.privacy`); a figure that does not apply is None.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from core.policy.types import Suppressed
from core.programme.kpis import Period

STAFF, FUNDER = "staff", "funder"
#: Who reads a report: staff (coordinators and admins: complete) or a funder (private by construction).
AUDIENCES = (STAFF, FUNDER)
MUNICIPALITY, CONSORTIUM = "municipality", "consortium"

Count = int | Suppressed


@dataclass(frozen=True)
class ReportScope:
    """What a report is about: one municipality, or a consortium (its members side by side)."""

    municipality_id: int | None = None
    consortium_id: int | None = None

    def __post_init__(self):
        if (self.municipality_id is None) == (self.consortium_id is None):
            raise ValueError("a report is about one municipality or one consortium")

    @property
    def kind(self) -> str:
        return MUNICIPALITY if self.municipality_id is not None else CONSORTIUM


@dataclass(frozen=True)
class Column:
    """A column of the report: a municipality, or (``municipality_id`` None) the consortium's total."""

    municipality_id: int | None
    name: str

    @property
    def is_total(self) -> bool:
        return self.municipality_id is None


@dataclass(frozen=True)
class Days:
    """A number of days over a group of ``count``: the nearest-rank median and a high point (the 90th
    percentile, or for the families waiting now the longest wait; None for a funder)."""

    count: int
    median: int | Suppressed | None
    high: int | Suppressed | None


@dataclass(frozen=True)
class Target:
    """The year's target against the new matches (trial started) in that year up to the reference date."""

    year: int
    minimum: int
    maximum: int | None
    new_matches: int
    pro_rata_minimum: float  # the minimum scaled to the part of the year counted
    status: str  # below | within | above
    on_track: bool


@dataclass(frozen=True)
class Figures:
    """The exact figures of one column (see ``docs/reports.md`` and ``docs/kpis.md``)."""

    registered_requesting: int
    registered_supporting: int
    matches_started: int  # trial began in the period
    matches_ended: int
    matches_cancelled: int
    open_by_state: dict  # state -> matches open on the reference date (proposed, introduction, trial, active)
    families_reached: int  # requesting families whose match started in the period
    children_reached: int  # their children, each once
    matches_billed: int  # matches in their trial or active phase on a day of the period, up to the reference date
    active_match_months: float  # their days in that phase in the period / 30.4375
    waiting_now: int
    days_waiting_now: Days  # high: the longest wait (staff only)
    days_to_first_proposal: Days  # high: the 90th percentile
    match_duration_days: Days  # of the matches ended in the period; high: the 90th percentile
    volunteer_hours_logged: float
    volunteer_hours_estimated: float  # never added to the logged hours
    target: Target | None
    # staff only (None in a funder's report)
    started_on_override: int | None = None
    evaluations_due: int | None = None
    evaluations_overdue: int | None = None
    estimated_from_matches: int | None = None
    matches_without_agreed_terms: int | None = None
    supporting_once_helped: int | None = None  # reciprocity now (a stock)


@dataclass(frozen=True)
class Breakdown:
    """Counts by a coded attribute: a row per code, a cell per column; ``totals`` per column (None when
    the rows are not parts of a total shown). ``sensitive``: a funder sees it protected."""

    name: str  # end_reason | outcome | triage | age_band | retention | reciprocity | early_warning | state
    vocabulary: str  # whose labels name the codes
    codes: tuple[str, ...]
    cells: tuple[tuple[Count, ...], ...]  # [code][column]
    totals: tuple[Count, ...] | None
    sensitive: bool = True

    @property
    def has_suppressed(self) -> bool:
        values = [v for row in self.cells for v in row] + list(self.totals or ())
        return any(isinstance(v, Suppressed) for v in values)


@dataclass(frozen=True)
class Wellbeing:
    """One wellbeing scale (0 to 5): the mean score at the start evaluation and at the end evaluation of
    the matches ended in the period that have both, per column, and how many (``n``)."""

    scale: str
    n: tuple[int, ...]
    start: tuple[float | Suppressed | None, ...]
    end: tuple[float | Suppressed | None, ...]


@dataclass(frozen=True)
class Trend:
    """One figure per month from the monthly snapshots: ``values[month][column]`` (None: no snapshot)."""

    figure: str  # matches_started | matches_running | families_waiting | volunteer_hours_logged
    months: tuple[date, ...]
    values: tuple[tuple[int | float | None, ...], ...]


@dataclass(frozen=True)
class Warning:
    """An early warning of the period with its message (staff of the municipality only)."""

    month: date
    code: str
    message: dict  # a Message as a dict, rendered in the report's language


@dataclass(frozen=True)
class District:
    """Supply and demand now in one district (staff only)."""

    municipality: str
    district_code: str | None
    supporting_available: int
    requesting_waiting: int


@dataclass(frozen=True)
class BillingRow:
    """A match billed in the period, as a funder sees it: no outcome, district, age or id used elsewhere."""

    pseudonym: str  # of the requesting family (see core.reports.privacy.pseudonym)
    municipality: str
    month_started: str  # YYYY-MM: the month its trial began
    active_months: float  # in the period, up to the reference date
    state: str  # running | ended (on the reference date)


@dataclass(frozen=True)
class ProgrammeReport:
    """A programme report of one scope and period, for one audience, in one language."""

    scope: ReportScope
    name: str  # the municipality's or the consortium's
    period: Period
    as_of: date  # the reference date: events count up to it, "now" is this day
    audience: str  # staff | funder
    language: str  # nl | en
    threshold: int  # counts from 1 to it are withheld in a funder's breakdowns
    columns: tuple[Column, ...]
    figures: tuple[Figures, ...]  # per column
    breakdowns: tuple[Breakdown, ...]
    wellbeing: tuple[Wellbeing, ...]
    trends: tuple[Trend, ...]
    warnings: tuple[Warning, ...] = ()  # staff of a municipality: each with its message
    districts: tuple[District, ...] = ()  # staff only
    business_cases: tuple = ()  # (column name, core.reports.business_case.BusinessCase) per municipality
    billing: tuple[BillingRow, ...] = ()  # funders only

    def breakdown(self, name: str) -> Breakdown | None:
        return next((b for b in self.breakdowns if b.name == name), None)
