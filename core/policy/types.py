"""The plain, read-only values that hooks receive and return (see :mod:`core.hookspecs`)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property

from core.messages import Message

# --- what plugins are given ------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonFacts:
    role: str  # adult | child
    age: int | None  # whole years on the day of the decision; None when the birth date is unknown
    date_of_birth: date | None = None
    vog_issued_on: date | None = None


@dataclass(frozen=True)
class FamilyFacts:
    """What is recorded about a family, as of the decision's day."""

    id: int
    kind: str  # requesting | supporting
    status: str
    members: tuple[PersonFacts, ...] = ()
    problem_areas: frozenset[str] = frozenset()
    household_income: int | None = None  # net euros a month
    arrival_year: int | None = None
    in_professional_care: bool = False
    triage_outcome: str | None = None
    references_checked: int = 0
    training_attended_on: date | None = None
    home_visit_on: date | None = None
    agreement_signed_on: date | None = None
    approvals: tuple[int, ...] = ()  # ids of the coordinators who approved (four eyes)
    consents: frozenset[str] = frozenset()  # purposes with consent in force
    district_code: str | None = None
    neighbourhood_code: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    languages: frozenset[str] = frozenset()
    availability: dict = field(default_factory=dict)  # {"mon": ["morning", ...]}
    weekends: bool = False
    overnight: bool = False
    support_kinds: frozenset[str] = frozenset()
    capacity_children: int | None = None
    capacity_age_min: int | None = None
    capacity_age_max: int | None = None
    children_placed: int = 0  # children in the supporting family's open matches
    wishes: str | None = None
    preferences: str | None = None

    @cached_property  # facts do not change: worked out once per family, not once per pair scored
    def adults(self) -> tuple[PersonFacts, ...]:
        return tuple(m for m in self.members if m.role == "adult")

    @cached_property
    def children(self) -> tuple[PersonFacts, ...]:
        return tuple(m for m in self.members if m.role == "child")


@dataclass(frozen=True)
class MatchFacts:
    id: int
    state: str
    proposed_on: date
    introduction_on: date | None = None
    trial_on: date | None = None
    active_on: date | None = None
    ended_on: date | None = None
    planned_end_on: date | None = None
    extensions: int = 0


@dataclass(frozen=True)
class MunicipalityFacts:
    id: int
    name: str
    inhabitants: int
    matches_started: int = 0  # in the period


@dataclass(frozen=True)
class FundingActivity:
    """What a funding model needs to state the costs of one municipality for a period.

    What was delivered (matches started, active months, outcomes) is counted from ``period_start`` up to
    :attr:`counted_until`: the statement's date ``as_of``, never after ``period_end`` (None: the period's end).
    ``programme_started_on`` is the day the municipality's programme began in Koppel (the earliest of its
    start in Koppel and its first registered family); None when unknown.
    """

    period_start: date
    period_end: date
    municipality: MunicipalityFacts
    consortium_members: tuple[MunicipalityFacts, ...] = ()  # the municipality included
    matches_started: int = 0
    active_match_months: Decimal = Decimal(0)
    outcomes: dict = field(default_factory=dict)  # outcome code -> matches ended with it in the period
    as_of: date | None = None
    programme_started_on: date | None = None

    @property
    def counted_until(self) -> date:
        """The last day whose activity counts: the statement's date, at most the period's end."""
        return min(self.as_of or self.period_end, self.period_end)


# --- what plugins return ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One rule's verdict on one family, with the facts it used and why."""

    rule: str
    result: str  # eligibility: met | not_met | missing; screening: pass | fail | missing; error (set by Koppel)
    explanation: Message | str  # a Message (``plugin.message(...)``) is shown in the reader's language
    facts: dict = field(default_factory=dict)
    effect: str = "include"  # eligibility only: include | exclude


@dataclass(frozen=True)
class ScoreComponent:
    criterion: str
    score: float  # 0 (no fit) to 1 (perfect fit)
    weight: float
    reason: Message | str | Callable[[], Message | str]  # a function: called only for the pairs shown
    veto: bool = False  # rules the pair out whatever the other scores


@dataclass(frozen=True)
class MatchTerms:
    """What the policy allows a match's agreement to say (see ``koppel_match_terms``).

    Durations are in whole months from the start of the active phase;
    ``frequencies`` are the allowed codes (``weekly``, ``fortnightly``,
    ``monthly``); ``extension_needs_both_families``: a match runs longer than
    agreed only when both families want it.
    """

    duration_months_default: int = 12
    duration_months_min: int = 1
    duration_months_max: int = 24
    frequencies: tuple[str, ...] = ("weekly", "fortnightly", "monthly")
    frequency_default: str = "weekly"
    hours_per_session_max: float = 12.0
    hours_per_session_default: float = 4.0
    overnight_allowed: bool = True
    extension_needs_both_families: bool = True


@dataclass(frozen=True)
class ReviewThresholds:
    """When scheduled work warns (see ``koppel_review_thresholds``); the defaults are the platform's.

    ``evaluation_reminder_days``: remind of an evaluation still open this long
    after its due date. ``vog_warning_days``: warn this long before a VOG stops
    counting. ``supporting_review_months``: a supporting family without an
    evaluation for this long gets a review. The monthly review warns when no
    match started in ``no_match_weeks`` while families wait; when the longest
    wait exceeds ``longest_wait_days``; when a district has waiting families
    and no available supporting family within ``reach_km``; when screened
    supporting families are idle for ``idle_supporting_months``; when at least
    ``triage_leaving_min`` families and ``triage_leaving_share`` of those
    triaged in the last three months left at triage; and when the year's
    target is out of reach at the current pace (from ``target_pace_from_month``).
    """

    evaluation_reminder_days: int = 14
    vog_warning_days: int = 60
    supporting_review_months: int = 12
    no_match_weeks: int = 8
    longest_wait_days: int = 90
    reach_km: float = 5.0
    idle_supporting_months: int = 3
    triage_leaving_share: float = 0.3
    triage_leaving_min: int = 5
    target_pace_from_month: int = 3


@dataclass(frozen=True)
class PlannedEvaluation:
    kind: str  # trial_end | periodic | extension_decision | end
    moment: str  # start | review | end
    due_on: date


@dataclass(frozen=True)
class Question:
    key: str
    text: dict  # {"nl": ..., "en": ...}
    scale_min: int
    scale_max: int
    labels: dict = field(default_factory=dict)  # optional: {"nl": [...], "en": [...]}


@dataclass(frozen=True)
class Instrument:
    name: str
    title: dict
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class CostLine:
    description: str  # a Message (rendered to text in the reader's language by Koppel)
    amount: Decimal
    source: str | None = None  # no longer used by the built-in models; kept for third-party models


@dataclass(frozen=True)
class AssumptionSource:
    """Where an assumption's figure comes from: a publication, primary (the figures' own origin: a
    municipality's accounts, a study that measured them) or secondary (a source that quotes others)."""

    title: str
    publisher: str
    year: int
    kind: str  # primary | secondary
    url: str | None = None  # http(s)


@dataclass(frozen=True)
class CostAssumption:
    """One figure the avoided costs rest on. Without a ``source`` it is the municipality's own assumption;
    ``note`` is the municipality's own description of it (a free text, never a source)."""

    name: str  # a Message: what is assumed
    value: str  # a Message: the figure, written by Babel ("€ 80.000,00 per jaar")
    source: AssumptionSource | None = None
    note: str | None = None


@dataclass(frozen=True)
class AvoidedCosts:
    """The care that the matches ended in the period prevented, as expected values with a range.

    ``prevented`` matches ended with one of ``outcomes``; of those, ``placement_share`` (``low`` to ``high``)
    would have led to an out-of-home placement and the rest to referred youth care, each for
    ``horizon_years`` at the yearly cost: ``expected = prevented × (share × placement cost + (1 − share) ×
    care cost) × horizon``, and ``low``/``high`` the same with the low and high share. An estimate beside the
    costs, never subtracted from them.
    """

    outcomes: tuple[str, ...]
    prevented: int
    horizon_years: int
    placement_share: Decimal
    placement_share_low: Decimal
    placement_share_high: Decimal
    placement_cost_per_year: Decimal
    care_cost_per_year: Decimal
    expected: Decimal
    low: Decimal
    high: Decimal
    method: str  # a Message: the method in one sentence
    assumptions: tuple[CostAssumption, ...] = ()


@dataclass(frozen=True)
class FundingStatement:
    model: str
    period_start: date
    period_end: date
    lines: tuple[CostLine, ...]  # what the programme costs in the period
    total: Decimal
    municipality_pays: Decimal
    funds_pay: dict  # fund name -> Decimal
    consortium_split: dict  # municipality name -> Decimal
    avoided: AvoidedCosts | None = None  # None: the model estimates none
    as_of: date | None = None  # delivered activity is counted up to this day


@dataclass(frozen=True)
class Chart:
    kind: str  # bar | line
    x_column: str
    y_columns: tuple[str, ...]


@dataclass(frozen=True)
class Suppressed:
    """A cell whose count is withheld to protect the people behind it: shown as "<5" (``fewer_than`` 5).

    Every format writes it the same way (text ``<5``; JSON ``{"suppressed": true, "fewer_than": 5}``), never
    as a number, so no sum over a column or row can bring it back.
    """

    fewer_than: int

    def __str__(self) -> str:
        return f"<{self.fewer_than}"


@dataclass(frozen=True)
class Section:
    """One table of a report: a title, column headings, rows of cells, and optionally a chart and notes.

    ``notes`` are paragraphs of text shown under the table (a method, an assumption's source); each is a
    string or a :class:`~core.messages.Message`. A cell is ``str``, ``int``, ``float``, ``Decimal`` (always an
    amount in euros), ``bool``, ``date``, ``datetime``, :class:`Suppressed`, a Message, or None (empty).
    """

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple, ...]
    chart: Chart | None = None
    notes: tuple = ()


@dataclass(frozen=True)
class Report:
    title: str
    sections: tuple[Section, ...]
    subtitle: str | None = None


@dataclass(frozen=True)
class RenderedReport:
    content: bytes
    media_type: str
    extension: str  # without the dot
