"""The monthly programme review: a KPI snapshot for the trend charts, and early warnings with their figures.

On the 1st of every month at 06:00 (Amsterdam) each active municipality's
previous calendar month is reviewed (kind ``programme_review``): its KPIs
for that month, as :mod:`core.programme.kpis` computes them with the
month's last day as the reference date, are stored as a
:class:`~core.scheduling.models.KpiSnapshot`, and every early warning that
the figures give is stored as an :class:`~core.scheduling.models.EarlyWarning`
(its code, the figures that triggered it, and a message that names the cause
and the figures) and notified to the municipality's coordinators and tenant
admins. The thresholds are the municipality's policy
(:mod:`core.scheduling.thresholds`); each warning and the reason for its
default are in ``docs/review.md``.

Once every active member's review of the month has run, the consortium's
review (kind ``consortium_review``, in the ``consortium-aggregation`` scope)
stores the consortium's totals and its members' warning counts as a
:class:`~core.scheduling.models.ConsortiumKpiSnapshot`.

The finders look at the last completed month only: a fresh install, or a
municipality onboarded later, gets no reviews of the months before (there is
no backfill of history), and a month whose review the dispatcher did not
create before the next month ended is not reviewed afterwards.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from dateutil.relativedelta import relativedelta
from sqlalchemy import String, and_, cast, exists, func, literal, or_, select

from core import notifications
from core.auth import roles as R
from core.extensions import db
from core.geo import great_circle_km
from core.messages import Message
from core.policy import service
from core.programme import kpis
from core.programme import vocabulary as V
from core.programme.models import Family, FamilyStatusChange, Match
from core.scheduling import thresholds
from core.scheduling.models import PENDING, ConsortiumKpiSnapshot, EarlyWarning, KpiSnapshot, ScheduledItem
from core.scheduling.registry import BadData, Due, Kind, at_local, last_day_at, register
from tenants.models import ACTIVE, Consortium, Municipality

#: Wall-clock time on the 1st at which the previous month is reviewed.
AT = time(6, 0)
MUNICIPALITY, CONSORTIUM = "programme_review", "consortium_review"
#: Who is told of a warning.
TOLD = (R.COORDINATOR, R.TENANT_ADMIN)
#: Triage outcomes with which a family leaves the programme.
LEAVING = ("too_heavy_referred", "declined_by_family")
TRIAGE_MONTHS = 3


# ----------------------------------------------------------------------------- months and keys

def reviewed_month(now: datetime) -> date:
    """The first day of the last month whose review has fallen due by *now* (the month before the one of
    the latest 1st, 06:00, that has passed)."""
    day = last_day_at(now, AT)
    return day.replace(day=1) - relativedelta(months=1)


def period_of(month: date) -> kpis.Period:
    return kpis.Period(month, month + relativedelta(months=1) - timedelta(days=1))


def due_at(month: date) -> datetime:
    return at_local(month + relativedelta(months=1), AT)


def municipality_key(tenant_id, month: date) -> str:
    return f"{MUNICIPALITY}:{tenant_id}:{month:%Y-%m}"


def consortium_key(consortium_id, month: date) -> str:
    return f"{CONSORTIUM}:{consortium_id}:{month:%Y-%m}"


def month_of(key: str) -> date:
    """The month an item's key names (``...:2026-03``)."""
    return date.fromisoformat(key.rsplit(":", 1)[1] + "-01")


def _key_of(kind: str, id_column, month: date):
    """An item's key built in SQL from *id_column*, for the dispatcher's anti-join."""
    return literal(f"{kind}:") + cast(id_column, String) + literal(f":{month:%Y-%m}")


# ----------------------------------------------------------------------------- finding the work

def find_municipalities(now: datetime) -> list[Due]:
    """Every active municipality that existed before the month ended and whose review of it is not there."""
    month = reviewed_month(now)
    ended = at_local(month + relativedelta(months=1), time(0))
    ids = db.session.scalars(
        select(Municipality.id)
        .where(Municipality.status == ACTIVE, Municipality.created_at < ended,
               ~exists(select(ScheduledItem.id).where(ScheduledItem.key == _key_of(MUNICIPALITY, Municipality.id,
                                                                                     month))))
        .order_by(Municipality.id))
    return [Due(tenant_id, municipality_key(tenant_id, month), due_at(month)) for tenant_id in ids]


def find_consortia(now: datetime) -> list[Due]:
    """Every consortium with active members, once each of their reviews of the month has run (or failed)."""
    month = reviewed_month(now)
    active_member = and_(Municipality.consortium_id == Consortium.id, Municipality.status == ACTIVE)
    reviewed = exists(select(ScheduledItem.id).where(
        ScheduledItem.key == _key_of(MUNICIPALITY, Municipality.id, month), ScheduledItem.state != PENDING))
    ids = db.session.scalars(
        select(Consortium.id)
        .where(exists(select(Municipality.id).where(active_member)),
               ~exists(select(Municipality.id).where(active_member, ~reviewed)),
               ~exists(select(ScheduledItem.id).where(ScheduledItem.key == _key_of(CONSORTIUM, Consortium.id,
                                                                                     month))))
        .order_by(Consortium.id))
    return [Due(None, consortium_key(consortium_id, month), due_at(month), consortium_id=consortium_id)
            for consortium_id in ids]


# ----------------------------------------------------------------------------- the warnings

@dataclass
class Found:
    """One early warning: *code*, what it is about (*subject*: a district's code, or empty), the figures
    that triggered it and the message that says so."""

    code: str
    figures: dict
    message: Message
    subject: str = ""


@dataclass
class Review:
    """What the review of one municipality's month found."""

    month: date
    kpis: kpis.Kpis
    warnings: list[Found] = field(default_factory=list)


def review(tenant_id: int, month: date, limits) -> Review:
    """The KPIs of *month* and the warnings they give under *limits* (a ``ReviewThresholds``); call in the
    municipality's tenant scope. Writes nothing."""
    period = period_of(month)
    as_of = period.end
    figures = kpis.municipality_kpis(tenant_id, period, as_of)
    recent = kpis.municipality_kpis(tenant_id, kpis.Period(month - relativedelta(months=TRIAGE_MONTHS - 1), as_of),
                                    as_of)
    waiting = figures.waiting.families_waiting_now
    found = [
        *_no_new_match(as_of, waiting, limits),
        *_long_wait(figures.waiting, limits),
        *_districts_out_of_reach(as_of, figures.districts, limits),
        *_idle_supporting(as_of, waiting, limits),
        *_leaving_at_triage(recent.triage, limits),
        *_target_out_of_reach(month, figures.target, limits),
    ]
    return Review(month, figures, found)


def _no_new_match(as_of: date, waiting: int, limits) -> list[Found]:
    """No match started (trial began, as the KPIs count a start) for ``no_match_weeks`` while families wait."""
    if not waiting:
        return []
    last = db.session.scalar(select(func.max(Match.trial_on)).where(Match.trial_on <= as_of))
    since = last or db.session.scalar(select(func.min(Family.registered_on)).where(Family.registered_on <= as_of))
    weeks = (as_of - since).days // 7
    if weeks < limits.no_match_weeks:
        return []
    figures = {"weeks": weeks, "families_waiting": waiting, "last_match_started_on": last and last.isoformat(),
               "threshold_weeks": limits.no_match_weeks}
    params = {"weeks": weeks, "waiting": waiting, "threshold": limits.no_match_weeks}
    if last is None:
        message = Message("No match has started in the %(weeks)s weeks since the first registration, while families "
                          "wait: %(waiting)s on the waiting list (threshold: %(threshold)s weeks).", params,
                          code="no_new_match")
    else:
        message = Message("No new match in %(weeks)s weeks while families wait: %(waiting)s on the waiting list "
                          "(threshold: %(threshold)s weeks).", params, code="no_new_match")
    return [Found("no_new_match", figures, message)]


def _long_wait(waiting: kpis.Waiting, limits) -> list[Found]:
    """The longest wait of the families waiting (the KPI) above ``longest_wait_days``."""
    longest = waiting.days_waiting_now.longest
    if longest is None or longest <= limits.longest_wait_days:
        return []
    figures = {"longest_days": longest, "median_days": waiting.days_waiting_now.median,
               "families_waiting": waiting.families_waiting_now, "threshold_days": limits.longest_wait_days}
    return [Found("long_wait", figures, Message(
        "The longest wait is %(longest)s days, above the target of %(threshold)s days (%(waiting)s families wait; "
        "the median wait is %(median)s days).",
        {"longest": longest, "threshold": limits.longest_wait_days, "waiting": waiting.families_waiting_now,
         "median": waiting.days_waiting_now.median}, code="long_wait"))]


def _districts_out_of_reach(as_of: date, districts: list[kpis.DistrictBalance], limits) -> list[Found]:
    """Districts with waiting families (the KPI's district balance) and no available supporting family in
    the district nor within ``reach_km`` of one of those families (coordinates, as the crow flies)."""
    lacking = [d for d in districts if d.district_code and d.requesting_waiting and not d.supporting_available]
    if not lacking:
        return []
    known = Family.registered_on <= as_of
    located = and_(Family.latitude.is_not(None), Family.longitude.is_not(None))
    codes = [d.district_code for d in lacking]
    waiting_at = defaultdict(list)
    for code, lat, lon in db.session.execute(
            select(Family.district_code, Family.latitude, Family.longitude)
            .where(known, located, Family.kind == V.REQUESTING, Family.status == V.WAITING,
                   Family.district_code.in_(codes))):
        waiting_at[code].append((lat, lon))
    available = db.session.execute(select(Family.latitude, Family.longitude).where(
        known, located, Family.kind == V.SUPPORTING, Family.status == V.AVAILABLE)).all()
    out = []
    for district in lacking:
        distances = [great_circle_km(lat, lon, s.latitude, s.longitude)
                     for lat, lon in waiting_at[district.district_code] for s in available]
        nearest = round(min(distances), 1) if distances else None
        if nearest is not None and nearest <= limits.reach_km:
            continue
        params = {"district": district.district_code, "waiting": district.requesting_waiting,
                  "reach": limits.reach_km}
        figures = {"district_code": district.district_code, "families_waiting": district.requesting_waiting,
                   "nearest_available_km": nearest, "reach_km": limits.reach_km}
        if nearest is None:
            message = Message("District %(district)s: %(waiting)s families wait, and no available supporting family "
                              "lives in the district or within %(reach)s km (the nearest: none with a known "
                              "location).", params, code="district_out_of_reach")
        else:
            message = Message("District %(district)s: %(waiting)s families wait, and no available supporting family "
                              "lives in the district or within %(reach)s km (the nearest: %(km)s km away).",
                              {**params, "km": nearest}, code="district_out_of_reach")
        out.append(Found("district_out_of_reach", figures, message, district.district_code))
    return out


def _idle_supporting(as_of: date, waiting: int, limits) -> list[Found]:
    """Screened supporting families (status available) without an open match, and without one since at
    least ``idle_supporting_months``: since they (last) became available, or their last match ended."""
    day_after = at_local(as_of + timedelta(days=1), time(0))
    became = (select(FamilyStatusChange.family_id, func.max(FamilyStatusChange.at).label("at"))
              .where(FamilyStatusChange.to_status == V.AVAILABLE, FamilyStatusChange.at < day_after)
              .group_by(FamilyStatusChange.family_id)).subquery("became_available")
    closed_on = func.coalesce(Match.ended_on, Match.cancelled_on)
    last_match = (select(Match.supporting_family_id.label("family_id"), func.max(closed_on).label("on"))
                  .where(closed_on <= as_of).group_by(Match.supporting_family_id)).subquery("last_match")
    open_match = exists().where(Match.supporting_family_id == Family.id, Match.proposed_on <= as_of,
                                or_(Match.ended_on.is_(None), Match.ended_on > as_of),
                                or_(Match.cancelled_on.is_(None), Match.cancelled_on > as_of))
    rows = db.session.execute(
        select(Family.registered_on, kpis.dutch_date(became.c.at), last_match.c.on)
        .outerjoin(became, became.c.family_id == Family.id)
        .outerjoin(last_match, last_match.c.family_id == Family.id)
        .where(Family.kind == V.SUPPORTING, Family.status == V.AVAILABLE, Family.registered_on <= as_of,
               ~open_match))
    limit = as_of - relativedelta(months=limits.idle_supporting_months)
    idle_days = [(as_of - since).days for since in (max(d for d in row if d is not None) for row in rows)
                 if since <= limit]
    if not idle_days:
        return []
    figures = {"idle_supporting_families": len(idle_days), "longest_idle_days": max(idle_days),
               "families_waiting": waiting, "threshold_months": limits.idle_supporting_months}
    return [Found("idle_supporting", figures, Message(
        "%(idle)s screened supporting families have had no match for %(threshold)s months or more (the longest "
        "for %(days)s days), while %(waiting)s families wait.",
        {"idle": len(idle_days), "threshold": limits.idle_supporting_months, "days": max(idle_days),
         "waiting": waiting}, code="idle_supporting"))]


def _leaving_at_triage(triage: kpis.Triage, limits) -> list[Found]:
    """Of the families triaged in the last three months (the KPI), at least ``triage_leaving_min`` and
    ``triage_leaving_share`` left: too heavy and referred on, or declined by the family."""
    leaving = triage.too_heavy_referred + triage.declined_by_family
    triaged = leaving + triage.fits
    if not triaged or leaving < limits.triage_leaving_min or leaving / triaged < limits.triage_leaving_share:
        return []
    percent, threshold = round(100 * leaving / triaged), round(100 * limits.triage_leaving_share)
    figures = {"triaged": triaged, "leaving": leaving, "too_heavy_referred": triage.too_heavy_referred,
               "declined_by_family": triage.declined_by_family, "share": round(leaving / triaged, 4),
               "months": TRIAGE_MONTHS, "threshold_share": limits.triage_leaving_share,
               "threshold_min": limits.triage_leaving_min}
    return [Found("triage_leaving", figures, Message(
        "%(leaving)s of the %(triaged)s families triaged in the last three months left at triage (%(percent)s%%): "
        "%(too_heavy)s too heavy and referred on, %(declined)s declined by the family (threshold: %(threshold)s%% "
        "and at least %(minimum)s families).",
        {"leaving": leaving, "triaged": triaged, "percent": percent, "too_heavy": triage.too_heavy_referred,
         "declined": triage.declined_by_family, "threshold": threshold, "minimum": limits.triage_leaving_min},
        code="triage_leaving"))]


def _target_out_of_reach(month: date, target: kpis.TargetProgress | None, limits) -> list[Found]:
    """The year's target (the KPI's progress) not on track, from month ``target_pace_from_month``: at the
    pace so far, extrapolated linearly to the whole year, the minimum is not reached."""
    if target is None or not target.new_matches_min or target.on_track or month.month < limits.target_pace_from_month:
        return []
    first, until = date(target.year, 1, 1), date.fromisoformat(target.counted_until)
    counted = ((until - first).days + 1) / ((date(target.year, 12, 31) - first).days + 1)
    projected = round(target.new_matches / counted) if counted else 0
    figures = {"year": target.year, "new_matches": target.new_matches, "counted_until": target.counted_until,
               "projected_new_matches": projected, "new_matches_min": target.new_matches_min,
               "pro_rata_min": target.pro_rata_min, "threshold_from_month": limits.target_pace_from_month}
    return [Found("target_out_of_reach", figures, Message(
        "At the pace so far the target of %(year)s is out of reach: %(new)s new matches by %(until)s, on course for "
        "about %(projected)s in the year against a minimum of %(minimum)s (%(expected)s expected by now).",
        {"year": str(target.year), "new": target.new_matches, "until": until, "projected": projected,
         "minimum": target.new_matches_min, "expected": target.pro_rata_min}, code="target_out_of_reach"))]


# ----------------------------------------------------------------------------- doing the work

def run_municipality(item) -> None:
    """Store the month's snapshot and warnings, and tell the coordinators and tenant admins."""
    tenant_id, month = item.tenant_id, month_of(item.key)
    if db.session.scalar(select(KpiSnapshot.id).where(KpiSnapshot.period == month)) is not None:
        return  # reviewed already (an item made again by hand): nothing is stored twice
    found = review(tenant_id, month, thresholds.of(service.current(tenant_id)))
    db.session.add(KpiSnapshot(period=month, figures=found.kpis.to_dict()))
    people = notifications.staff(tenant_id, *TOLD)
    for warning in found.warnings:
        row = EarlyWarning(period=month, code=warning.code, subject=warning.subject, figures=warning.figures,
                           message=warning.message.as_dict())
        db.session.add(row)
        db.session.flush()
        key = f"early_warning:{tenant_id}:{month:%Y-%m}:{warning.code}" + (f":{warning.subject}" if warning.subject
                                                                           else "")
        notifications.notify(people, "early_warning", key, warning.message, subject_type="early_warning",
                             subject_id=row.id)


def run_consortium(item) -> None:
    """Store the consortium's totals of the month and its members' warning counts."""
    consortium_id, month = item.consortium_id, month_of(item.key)
    if db.session.scalar(select(ConsortiumKpiSnapshot.id).where(ConsortiumKpiSnapshot.consortium_id == consortium_id,
                                                                ConsortiumKpiSnapshot.period == month)) is not None:
        return
    ids = kpis.consortium_member_ids(consortium_id)
    if not ids:
        raise BadData("the consortium has no municipalities")
    period = period_of(month)
    figures = kpis.consortium_kpis(ids, period, period.end)
    counts = defaultdict(dict)
    for tenant_id, code, n in db.session.execute(
            select(EarlyWarning.tenant_id, EarlyWarning.code, func.count())
            .where(EarlyWarning.tenant_id.in_(ids), EarlyWarning.period == month)
            .group_by(EarlyWarning.tenant_id, EarlyWarning.code)):
        counts[tenant_id][code] = n
    reviewed = set(db.session.scalars(select(KpiSnapshot.tenant_id).where(KpiSnapshot.tenant_id.in_(ids),
                                                                          KpiSnapshot.period == month)))
    members = [{"municipality_id": i, "reviewed": i in reviewed, "warnings": sum(counts[i].values()),
                "warnings_by_code": dict(sorted(counts[i].items()))} for i in ids]
    db.session.add(ConsortiumKpiSnapshot(consortium_id=consortium_id, period=month, figures={
        "total": figures.total.to_dict(), "warnings": sum(m["warnings"] for m in members), "members": members}))


register(Kind(MUNICIPALITY, {"nl": "Maandelijkse programmareview", "en": "Monthly programme review"},
              run_municipality, find_municipalities, schedule={"monthly": {"day": 1, "at": "06:00"}}))
register(Kind(CONSORTIUM, {"nl": "Maandelijkse review van de regio", "en": "Monthly review of the consortium"},
              run_consortium, find_consortia, cross_scope="consortium-aggregation",
              schedule={"monthly": {"day": 1, "at": "06:00"}}))
