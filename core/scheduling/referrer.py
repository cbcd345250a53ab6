"""Telling the referrer that the family they referred started or ended with a supporting family.

The outbox rows (:class:`~core.programme.models.ReferrerNotification`, made by
:mod:`core.programme.matches` at the trial's start and at the end) become one
item each and are sent by mail to the row's ``recipient``, while the requesting
family's consent ``share_with_referrer`` is in force; without it the row is
cancelled and nothing is sent. The row is marked sent in the transaction
that marks the item done, so it is sent once.

What the referrer reads: the family's display name and the date they
registered (how the referrer knows which family; sharing these is what the
consent ``share_with_referrer`` covers), the municipality, and that the
family started or ended on a date. Nothing more: no problem areas, no
reason for the end, no children, and nothing about the supporting family,
whose data that consent does not cover.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from core import mail
from core.extensions import db
from core.messages import Message, render
from core.programme import consent
from core.programme.models import Match, ReferrerNotification
from core.scheduling.registry import BadData, Due, Kind, local_today, not_scheduled, register
from core.types import utcnow
from tenants.models import Municipality

KIND = "referrer_message"
PENDING, SENT, CANCELLED = "pending", "sent", "cancelled"
LANGUAGES = ("nl", "en")


def find(now: datetime):
    rows = db.session.execute(
        select(ReferrerNotification.id, ReferrerNotification.tenant_id, ReferrerNotification.created_at)
        .where(ReferrerNotification.status == PENDING, not_scheduled(KIND, ReferrerNotification.id)))
    return [Due(r.tenant_id, f"{KIND}:{r.id}", r.created_at, r.id) for r in rows]


def run(item) -> None:
    """Send the message of row ``item.subject_id`` (in its tenant), or cancel it when consent is gone."""
    row = db.session.scalars(select(ReferrerNotification).where(ReferrerNotification.id == item.subject_id)
                             .with_for_update()).first()
    if row is None or row.status != PENDING:  # its match was removed, or consent withdrawn meanwhile
        return
    match = db.session.get(Match, row.match_id)
    family = match.requesting_family
    now = utcnow()
    if not row.recipient or consent.active(family, "share_with_referrer", local_today(now)) is None:
        row.status = CANCELLED
        return
    on = match.trial_on if row.event == "start" else match.ended_on
    if row.event not in ("start", "end") or on is None:
        raise BadData(f"the match has no date for the event {row.event!r}")
    params = {"family": family.display_name, "registered": family.registered_on, "date": on,
              "municipality": db.session.get(Municipality, match.tenant_id).name}
    subject, body = _texts(row.event, params)
    texts = {language: (render(subject, language), "\n\n".join(render(m, language) for m in body))
             for language in LANGUAGES}
    message = mail.compose(item.key, row.recipient, texts)
    row.status, row.sent_at = SENT, now
    db.session.flush()
    mail.send(message)  # last: a failure rolls the row back to pending


def _texts(event: str, params: dict) -> tuple[Message, tuple[Message, ...]]:
    """The subject and the paragraphs of the message about *event*."""
    if event == "start":
        subject = Message("The family you referred has started with a supporting family", code="referrer_start")
        news = Message("On %(registered)s you referred %(family)s to the supporting families programme "
                       "(Steungezinnen) of the municipality of %(municipality)s. On %(date)s this family started "
                       "with a supporting family.", params)
    else:
        subject = Message("The family you referred has stopped with the supporting family", code="referrer_end")
        news = Message("On %(registered)s you referred %(family)s to the supporting families programme "
                       "(Steungezinnen) of the municipality of %(municipality)s. On %(date)s this family stopped "
                       "with the supporting family.", params)
    return subject, (Message("Dear referrer,"), news,
                     Message("The family agreed that we let you know. Do you have questions? Please contact the "
                             "coordinator of the municipality of %(municipality)s.", params))


register(Kind(KIND, {"nl": "Berichten aan verwijzers", "en": "Messages to referrers"}, run, find))
