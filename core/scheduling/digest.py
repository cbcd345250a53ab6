"""The daily digest: at 07:00 (Amsterdam) one mail per user with their notifications not yet mailed nor read.

For every active user with such notifications from a municipality where
they are a coordinator or tenant admin (and that is not suspended), the
dispatcher makes one item a day, ``digest:<user_id>:<local date>``, in the
``scheduler`` cross-tenant scope: one mail lists them all, grouped by
municipality, in the user's language (Dutch, then English, unless the user
chose English). What was created after 07:00 waits for the next day's
digest. The notifications are marked mailed in the transaction that marks
the item done, by an UPDATE that only unmailed ones pass, so none is
mailed twice. A user with nothing new gets no mail.
"""
from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import exists, select, update

from core import mail
from core.auth import roles as R
from core.auth.models import Membership, User
from core.extensions import db
from core.messages import Message, render
from core.scheduling.models import Notification, ScheduledItem
from core.scheduling.registry import Due, Kind, ZONE, at_local, last_day_at, register
from core.types import utcnow
from tenants.models import SUSPENDED, Municipality

KIND = "digest"
#: Wall-clock time of the digest; notifications made up to then are in it.
AT = time(7, 0)
ROLES = (R.COORDINATOR, R.TENANT_ADMIN)


def _waiting(cutoff: datetime):
    """Notifications not mailed nor read, made by *cutoff*, that their user still may read by mail."""
    member = exists(select(Membership.id).where(
        Membership.user_id == Notification.user_id, Membership.municipality_id == Notification.tenant_id,
        Membership.role.in_(ROLES)))
    suspended = select(Municipality.id).where(Municipality.status == SUSPENDED)
    return (Notification.mailed_at.is_(None), Notification.read_at.is_(None), Notification.created_at <= cutoff,
            member, Notification.tenant_id.not_in(suspended))


def find(now: datetime):
    day = last_day_at(now, AT)
    cutoff = at_local(day, AT)
    done = exists(select(ScheduledItem.id).where(ScheduledItem.kind == KIND, ScheduledItem.subject_id == User.id,
                                                 ScheduledItem.due_at == cutoff))
    users = db.session.scalars(
        select(User.id).where(User.active.is_(True), ~done,
                              exists(select(Notification.id).where(Notification.user_id == User.id, *_waiting(cutoff)))))
    return [Due(None, key(user_id, day), cutoff, user_id) for user_id in users]


def key(user_id: int, day: date) -> str:
    return f"{KIND}:{user_id}:{day.isoformat()}"


def run(item) -> None:
    """Mail user ``item.subject_id`` what waits for them, and mark it mailed."""
    user = db.session.get(User, item.subject_id)
    if user is None or not user.active:
        return
    claimed = db.session.scalars(
        update(Notification).where(Notification.user_id == user.id, *_waiting(item.due_at))
        .values(mailed_at=utcnow()).returning(Notification.id).execution_options(synchronize_session=False)).all()
    if not claimed:
        return
    rows = db.session.execute(
        select(Notification.message, Municipality.name).join(Municipality, Municipality.id == Notification.tenant_id)
        .where(Notification.id.in_(claimed)).order_by(Municipality.name, Notification.created_at, Notification.id)).all()
    by_municipality: dict[str, list[Message]] = {}
    for row in rows:
        by_municipality.setdefault(row.name, []).append(Message.from_dict(row.message))
    day = item.due_at.astimezone(ZONE).date()
    languages = ("en",) if user.language == "en" else ("nl", "en")
    texts = {language: _text(user, day, by_municipality, language) for language in languages}
    mail.send(mail.compose(item.key, user.email, texts))


def _text(user: User, day: date, by_municipality: dict[str, list[Message]], language: str) -> tuple[str, str]:
    """The subject and body in *language*."""
    subject = render(Message("Your Koppel summary of %(date)s", {"date": day}), language)
    lines = [render(Message("Dear %(name)s,", {"name": user.name}), language), "",
             render(Message("These notifications are new in Koppel since your last summary:"), language)]
    for name, messages in by_municipality.items():
        heading = render(Message("Municipality of %(name)s", {"name": name}), language)
        lines += ["", heading, "-" * len(heading)]
        lines += [f"- {render(message, language)}" for message in messages]
    lines += ["", render(Message("Read them in Koppel. You get this summary once a day, only when there is "
                                 "something new."), language)]
    return subject, "\n".join(lines)


register(Kind(KIND, {"nl": "Dagelijks overzicht per e-mail", "en": "Daily summary by e-mail"}, run, find,
              cross_scope="scheduler", schedule={"daily": "07:00"}))
