"""Supporting families stay screened: VOGs about to stop counting, and families overdue for a review.

* ``vog_expiring``: an adult of a supporting family that is available,
  matched or paused, whose VOG stops counting within ``vog_warning_days``
  (or has stopped already and was not warned about), becomes a work item for
  the coordinators and a notification. How long a VOG counts is the
  municipality's policy: the ``screening.vog`` plugin's ``max_age_years`` and
  ``max_age_months`` (36 months when the plugin is not enabled), counted as
  the plugin counts it. The item resolves when the VOG is renewed, the member
  is removed or the family is no longer active; a renewed VOG warns again
  when its own time comes (the key holds the date of issue).
* ``supporting_review``: such a family without a completed evaluation of any
  of its matches for ``supporting_review_months``, counted from its last
  completed evaluation or from when it became active, whichever is later,
  gets a review. It resolves when an evaluation is completed after that
  date (or the family became active anew), or when it is no longer active.

"Became active" is the latest status change into available, matched or
paused from any other status (its registration, screening, a reopening):
the moment it was cleared to support. ``status_changed_at`` moves with every
pause and every match, so a family that is matched or pauses now and then
would put its review off for ever, and ``registered_on`` lies before the
screening (or years back for a family registered again); ``registered_on``
serves only when no such change is recorded. The thresholds are the programme-review thresholds
(:mod:`core.scheduling.thresholds`); work falls due at 09:00 in Amsterdam.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import String, cast, exists, func, literal, or_, select, update

from core import notifications
from core.extensions import db
from core.messages import Message
from core.plugin_toolkit import add_months, age_on, months_before
from core.policy import service
from core.policy.models import PolicyVersion
from core.policy.types import ReviewThresholds
from core.programme import vocabulary as V
from core.programme.models import Evaluation, Family, FamilyStatusChange, Match, Member
from core.scheduling import thresholds
from core.scheduling.models import ScheduledItem, WorkItem
from core.scheduling.registry import ZONE, BadData, Due, Kind, at_local, last_day_at, local_today, register
from core.types import utcnow

#: Wall-clock time at which due work is handed out.
AT = time(9, 0)
#: The statuses of a supporting family that is screened and may support.
ACTIVE = (V.AVAILABLE, V.MATCHED, V.PAUSED)
#: The plugin whose configuration says how long a VOG counts, and what it counts when not enabled.
VOG_PLUGIN = "screening.vog"
DEFAULT_VOG_MONTHS = 36
DEFAULTS = ReviewThresholds()
CHUNK = 1000


# ----------------------------------------------------------------------------- shared

def _key(kind: str, subject_id: int, day: date) -> str:
    return f"{kind}:{subject_id}:{day.isoformat()}"


def _day_of(key: str) -> date:
    """The date a key of :func:`_key` ends with."""
    return date.fromisoformat(key.rsplit(":", 1)[1])


def _not_scheduled(found: list[Due]) -> list[Due]:
    """*found* without the items that exist already (one query per chunk, on the unique key)."""
    out = []
    for start in range(0, len(found), CHUNK):
        chunk = found[start:start + CHUNK]
        taken = set(db.session.scalars(select(ScheduledItem.key).where(ScheduledItem.key.in_([d.key for d in chunk]))))
        out += [d for d in chunk if d.key not in taken]
    return out


def _resolve(ids: list[int], now: datetime) -> int:
    if not ids:
        return 0
    result = db.session.execute(update(WorkItem).where(WorkItem.id.in_(ids), WorkItem.resolved_at.is_(None))
                                .values(resolved_at=now).execution_options(synchronize_session=False))
    return result.rowcount or 0


def _open_work(kind: str):
    return db.session.execute(select(WorkItem.id, WorkItem.key, WorkItem.family_id)
                              .where(WorkItem.kind == kind, WorkItem.resolved_at.is_(None))).all()


def _hand_out(kind: str, key: str, family: Family, due_on: date, message: Message) -> None:
    """A work item for the municipality's coordinators, and a notification to each of them."""
    work = WorkItem(kind=kind, key=key, family_id=family.id, due_on=due_on, message=message.as_dict())
    db.session.add(work)
    db.session.flush()
    notifications.notify(notifications.staff(family.tenant_id), kind, key, message, subject_type="family",
                         subject_id=family.id, work_item_id=work.id)


# ----------------------------------------------------------------------------- VOG

def vog_months(plugins: dict) -> int:
    """How many months a VOG counts under a policy's *plugins* (the ``screening.vog`` configuration)."""
    config = plugins.get(VOG_PLUGIN)
    if config is None:
        return DEFAULT_VOG_MONTHS
    return int(config.get("max_age_years", 3)) * 12 + int(config.get("max_age_months", 0))


def vog_stops_on(issued: date, months: int) -> date:
    """The first day a VOG issued on *issued* no longer counts: the plugin wants it issued on or after
    ``months_before(day, months)``."""
    day = add_months(issued, months)
    while months_before(day, months) <= issued:  # at most a few days past a short month's end
        day += timedelta(days=1)
    return day


def _vog_months_by_tenant() -> dict[int, int]:
    """The VOG validity of every municipality that has a policy (one query)."""
    newest = (select(PolicyVersion.tenant_id, func.max(PolicyVersion.version).label("version"))
              .group_by(PolicyVersion.tenant_id).subquery())
    rows = db.session.execute(select(PolicyVersion.tenant_id, PolicyVersion.plugins)
                              .join(newest, (newest.c.tenant_id == PolicyVersion.tenant_id)
                                    & (newest.c.version == PolicyVersion.version)))
    return {row.tenant_id: vog_months(row.plugins or {}) for row in rows}


def _is_adult(role: str, born: date | None, today: date) -> bool:
    """As the ``screening.vog`` plugin counts adults: 18 or over, or recorded as an adult when the age is unknown."""
    age = age_on(born, today)
    return age >= 18 if age is not None else role == "adult"


def find_vog(now: datetime) -> list[Due]:
    last = last_day_at(now, AT)
    today = local_today(now)
    months = _vog_months_by_tenant()
    warning = {tenant: t.vog_warning_days for tenant, t in thresholds.by_tenant().items()}
    # a VOG stops counting on a day D with months_before(D, m) > issued: issued before this bound, or it is not due
    widest = months_before(last + timedelta(days=max([DEFAULTS.vog_warning_days, *warning.values()])),
                           min([DEFAULT_VOG_MONTHS, *months.values()]))
    rows = db.session.execute(
        select(Member.id, Member.tenant_id, Member.role, Member.date_of_birth, Member.vog_issued_on)
        .join(Family, Family.id == Member.family_id)
        .where(Family.kind == V.SUPPORTING, Family.status.in_(ACTIVE), Member.vog_issued_on.is_not(None),
               Member.vog_issued_on < widest, Member.vog_issued_on <= today, _vog_not_scheduled()))
    found = []
    for r in rows:
        if not _is_adult(r.role, r.date_of_birth, today):
            continue
        stops = vog_stops_on(r.vog_issued_on, months.get(r.tenant_id, DEFAULT_VOG_MONTHS))
        warn_on = stops - timedelta(days=warning.get(r.tenant_id, DEFAULTS.vog_warning_days))
        if warn_on <= last:
            found.append(Due(r.tenant_id, _key("vog_expiring", r.id, r.vog_issued_on), at_local(warn_on, AT), r.id))
    return found


def _vog_not_scheduled():
    """No item yet for this member's VOG of this date (its key, :func:`_key`), in SQL: a VOG warned about is
    not read again every minute."""
    key = (literal("vog_expiring:") + cast(Member.id, String) + literal(":") + cast(Member.vog_issued_on, String))
    return ~exists(select(ScheduledItem.id).where(ScheduledItem.kind == "vog_expiring",
                                                 ScheduledItem.subject_id == Member.id, ScheduledItem.key == key))


def run_vog(item) -> None:
    member = db.session.get(Member, item.subject_id)
    if member is None or member.vog_issued_on != _day_of(item.key):
        return  # removed, or renewed since: nothing to hand out
    family = db.session.get(Family, member.family_id)
    if family.kind != V.SUPPORTING or family.status not in ACTIVE:
        return
    today = local_today(utcnow())
    stops = vog_stops_on(member.vog_issued_on, vog_months(service.current(family.tenant_id).plugins))
    number = [m.id for m in family.members].index(member.id) + 1
    params = {"member": number, "family": family.id, "date": stops, "issued": member.vog_issued_on}
    if stops <= today:
        message = Message("The VOG of member %(member)s of supporting family %(family)s, issued on %(issued)s, "
                          "no longer counts since %(date)s: ask for a new one.", params, code="vog_expired")
    else:
        message = Message("The VOG of member %(member)s of supporting family %(family)s, issued on %(issued)s, "
                          "stops counting on %(date)s: ask for a new one in time.", params, code="vog_expiring")
    _hand_out("vog_expiring", item.key, family, stops, message)


def sweep_vog(now: datetime) -> int:
    """Resolve the VOG work items whose VOG was renewed, whose member is gone or whose family is not active."""
    work = _open_work("vog_expiring")
    if not work:
        return 0
    member_ids = sorted({int(w.key.split(":")[1]) for w in work})
    current = {}
    for start in range(0, len(member_ids), CHUNK):
        current.update({r.id: r for r in db.session.execute(
            select(Member.id, Member.vog_issued_on, Family.status).join(Family, Family.id == Member.family_id)
            .where(Member.id.in_(member_ids[start:start + CHUNK])))})
    gone = [w.id for w in work if (r := current.get(int(w.key.split(":")[1]))) is None
            or r.vog_issued_on != _day_of(w.key) or r.status not in ACTIVE]
    return _resolve(gone, now)


# ----------------------------------------------------------------------------- review of a supporting family

def _review_rows(*where):
    """Each active supporting family (filtered by *where*) with when it became active and its last evaluation."""
    entered = (select(FamilyStatusChange.family_id, func.max(FamilyStatusChange.at).label("at"))
               .where(FamilyStatusChange.to_status.in_(ACTIVE),
                      or_(FamilyStatusChange.from_status.is_(None), FamilyStatusChange.from_status.not_in(ACTIVE)))
               .group_by(FamilyStatusChange.family_id).subquery())
    evaluated = (select(Match.supporting_family_id.label("family_id"),
                        func.max(Evaluation.completed_on).label("completed_on"))
                 .join(Evaluation, Evaluation.match_id == Match.id).where(Evaluation.completed_on.is_not(None))
                 .group_by(Match.supporting_family_id).subquery())
    statement = (select(Family.id, Family.tenant_id, Family.registered_on, entered.c.at.label("entered_at"),
                        evaluated.c.completed_on)
                 .outerjoin(entered, entered.c.family_id == Family.id)
                 .outerjoin(evaluated, evaluated.c.family_id == Family.id)
                 .where(Family.kind == V.SUPPORTING, Family.status.in_(ACTIVE), *where))
    return statement, entered, evaluated


def _since(row) -> date:
    """The day a family's review period runs from: its last completed evaluation or its becoming active."""
    entered = row.entered_at.astimezone(ZONE).date() if row.entered_at is not None else row.registered_on
    return max(entered, row.completed_on) if row.completed_on is not None else entered


def _review_months_by_tenant() -> dict[int, int]:
    return {tenant: t.supporting_review_months for tenant, t in thresholds.by_tenant().items()}


def find_review(now: datetime) -> list[Due]:
    last = last_day_at(now, AT)
    months = _review_months_by_tenant()
    # due when add_months(since, m) <= last; add_months clamps to a month's end, hence the three days
    bound = months_before(last, min([DEFAULTS.supporting_review_months, *months.values()])) + timedelta(days=3)
    statement, entered, evaluated = _review_rows()
    statement = statement.where(
        or_(evaluated.c.completed_on.is_(None), evaluated.c.completed_on <= bound),
        or_(entered.c.at < at_local(bound + timedelta(days=1), time(0)),
            entered.c.at.is_(None) & (Family.registered_on <= bound)))
    found = []
    for r in db.session.execute(statement):
        since = _since(r)
        due_on = add_months(since, months.get(r.tenant_id, DEFAULTS.supporting_review_months))
        if due_on <= last:
            found.append(Due(r.tenant_id, _key("supporting_review", r.id, since), at_local(due_on, AT), r.id))
    return _not_scheduled(found)


def run_review(item) -> None:
    family = db.session.get(Family, item.subject_id)
    if family is None:
        raise BadData("the family no longer exists")
    statement, _, _ = _review_rows(Family.id == family.id)
    row = db.session.execute(statement).first()
    since = _day_of(item.key)
    if row is None or _since(row) != since:
        return  # no longer active, or evaluated since: nothing to hand out
    policy = service.current(family.tenant_id)
    due_on = add_months(since, thresholds.of(policy).supporting_review_months)
    message = Message("Supporting family %(family)s has had no evaluation since %(date)s: time to review how the "
                      "family is doing and whether it still fits.", {"family": family.id, "date": since},
                      code="supporting_review")
    _hand_out("supporting_review", item.key, family, due_on, message)


def sweep_review(now: datetime) -> int:
    """Resolve the reviews of families evaluated (or made active again) after the review's date, or no longer
    active."""
    work = _open_work("supporting_review")
    if not work:
        return 0
    family_ids = sorted({w.family_id for w in work})
    current = {}
    for start in range(0, len(family_ids), CHUNK):
        statement, _, _ = _review_rows(Family.id.in_(family_ids[start:start + CHUNK]))
        current.update({r.id: r for r in db.session.execute(statement)})
    done = [w.id for w in work if (r := current.get(w.family_id)) is None or _since(r) > _day_of(w.key)]
    return _resolve(done, now)


register(Kind("vog_expiring", {"nl": "VOG's die verlopen", "en": "Certificates of conduct (VOG) about to expire"},
              run_vog, find_vog, schedule={"daily": "09:00"}, sweep=sweep_vog))
register(Kind("supporting_review", {"nl": "Steungezinnen toe aan een herbeoordeling",
                                     "en": "Supporting families due for a review"},
              run_review, find_review, schedule={"daily": "09:00"}, sweep=sweep_review))
