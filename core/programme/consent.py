"""Consent per purpose, and what a withdrawal stops.

* ``processing``: needed to match a family; withdrawing ends or cancels its
  open matches and closes the family.
* ``share_with_referrer``: needed to tell the referrer about start and end;
  withdrawing cancels messages not yet sent.
* ``evaluation_contact``: needed to contact the family for evaluations;
  withdrawing skips the open evaluations of its matches.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select, update

from core import audit
from core.errors import Conflict
from core.messages import Label, Message
from core.extensions import db
from core.programme import vocabulary as V
from core.programme.models import Consent, Evaluation, Family, Match, ReferrerNotification


def give(family: Family, purpose: str, wording_version: str, given_on: date) -> Consent:
    if active(family, purpose, given_on) is not None:
        raise Conflict(Message("Consent for %(purpose)s is already given; withdraw it first to record a new wording.",
                               {"purpose": Label("consent_purpose", purpose)}, code="consent_given_already"))
    consent = Consent(family_id=family.id, purpose=purpose, wording_version=wording_version, given_on=given_on,
                      recorded_by_user_id=audit.actor_user_id())
    db.session.add(consent)
    db.session.flush()
    audit.record("consent.give", object_type="family", object_id=family.id,
                 detail={"purpose": purpose, "wording_version": wording_version})
    return consent


def active(family: Family | int, purpose: str, on: date | None = None) -> Consent | None:
    """The consent for *purpose* in force on *on* (today by default), or None."""
    on = on or date.today()
    family_id = family if isinstance(family, int) else family.id
    return db.session.scalars(select(Consent).where(
        Consent.family_id == family_id, Consent.purpose == purpose, Consent.given_on <= on,
        or_(Consent.withdrawn_on.is_(None), Consent.withdrawn_on > on)).limit(1)).first()


def withdraw(consent: Consent, on: date) -> Consent:
    if consent.withdrawn_on is not None:
        raise Conflict(Message("This consent was already withdrawn on %(on)s.", {"on": consent.withdrawn_on},
                               code="consent_withdrawn_already"))
    consent.withdrawn_on = on
    family = db.session.get(Family, consent.family_id)
    matches = select(Match.id).where(or_(Match.requesting_family_id == family.id, Match.supporting_family_id == family.id))
    effects = {}
    if consent.purpose == "share_with_referrer":
        result = db.session.execute(update(ReferrerNotification).where(
            ReferrerNotification.match_id.in_(matches), ReferrerNotification.status == "pending").values(status="cancelled"))
        effects["notifications_cancelled"] = result.rowcount
    elif consent.purpose == "evaluation_contact":
        result = db.session.execute(update(Evaluation).where(
            Evaluation.match_id.in_(matches), Evaluation.completed_on.is_(None), Evaluation.skipped_reason.is_(None)
        ).values(skipped_reason="consent_withdrawn"))
        effects["evaluations_skipped"] = result.rowcount
    elif consent.purpose == "processing":
        from core.programme import families, matches as match_service

        open_matches = db.session.scalars(select(Match).where(Match.id.in_(matches), Match.state.in_(V.OPEN_MATCH_STATES))).all()
        for match in open_matches:
            match_service.stop(match, on, "consent_withdrawn")
        families.set_status(family, V.CLOSED, "consent for processing withdrawn")
        effects["matches_stopped"] = len(open_matches)
    db.session.flush()
    audit.record("consent.withdraw", object_type="family", object_id=family.id,
                 detail={"purpose": consent.purpose, **effects})
    return consent
