"""Public registration, confirmed by e-mail: submit, the confirmation mail, confirm, and expiry.

1. :func:`submit` keeps a validated submission as a waiting registration in
   the municipality (:mod:`core.programme.registration`) and stores the
   confirmation mail's scheduled item in the same transaction; after the
   commit the item goes on the queue (else the dispatcher sends it after
   ``SCHEDULER_REQUEUE_SECONDS``). Nobody is notified yet.
2. A worker sends the mail (:func:`run_mail`), Dutch first, English below,
   with a link ``/<municipality>/register/confirm/<token>``: the token is
   the waiting row's id and nonce, signed (itsdangerous, ``SECRET_KEY``).
3. :func:`confirm` takes the row (one request only) and registers the
   family as the form always did (:func:`core.usecases.families.register_from_form`):
   the coordinators are notified then.
4. The dispatcher deletes what expired (``REGISTRATION_CONFIRM_HOURS``, 72
   by default) every minute (the kind's ``sweep``).
"""
from __future__ import annotations

import secrets

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from core import audit, mail
from core.messages import LANGUAGES, Message, render
from core.programme import registration
from core.programme.models import Family
from core.extensions import db
from core.scheduling import queue
from core.scheduling.models import PENDING, ScheduledItem
from core.scheduling.registry import BadData, Kind, register
from core.types import utcnow
from core.usecases import families
from tenants.context import current_tenant_id
from tenants.models import Municipality


KIND = "registration_confirmation"


def submit(data: dict) -> None:
    """Keep a registration (validated ``RegistrationSchema`` data) until it is confirmed, and queue the mail.
    The caller commits. The answer is the same when nothing is sent (the address got a mail minutes ago, see
    :func:`core.programme.registration.store`)."""
    pending = registration.store(data)
    if pending is None:
        audit.record("registration.submit", outcome=audit.FAILURE, actor="public form",
                     detail={"reason": "mailed recently"})
        return
    audit.record("registration.submit", object_type="pending_registration", object_id=pending.id,
                 actor="public form")
    now = utcnow()
    item = ScheduledItem(kind=KIND, key=f"{KIND}:{pending.id}:{secrets.token_hex(6)}", subject_id=pending.id,
                         due_at=now, enqueued_at=now, state=PENDING, attempts=0, created_at=now)
    db.session.add(item)
    db.session.flush()
    queue.after_commit(db.session, queue.Ticket(item.id, current_tenant_id()))


class LinkInvalid(Exception):
    """A confirmation link that cannot be used: forged, of another municipality, used, or expired."""


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="koppel.registration-confirmation")


def make_token(pending: registration.PendingRegistration) -> str:
    return _serializer().dumps([pending.id, pending.nonce])


def _parse(token: str) -> tuple[int, str]:
    try:
        pending_id, nonce = _serializer().loads(token or "")
    except (BadSignature, ValueError, TypeError):
        raise LinkInvalid() from None
    if not isinstance(pending_id, int) or not isinstance(nonce, str):
        raise LinkInvalid()
    return pending_id, nonce


def check(token: str) -> None:
    """Raise :class:`LinkInvalid` unless *token* can confirm a registration of this municipality."""
    if not registration.waiting(*_parse(token)):
        raise LinkInvalid()


def confirm(token: str) -> Family:
    """Confirm the registration of *token* (once): it becomes a family and the coordinators are notified.
    The caller commits."""
    data = registration.take(*_parse(token))
    if data is None:
        raise LinkInvalid()
    family = families.register_from_form(data)
    audit.record("registration.confirm", object_type="family", object_id=family.id, actor="public form")
    return family


# ----------------------------------------------------------------------------- the mail


def _texts(place: str, link: str, language: str) -> tuple[str, str]:
    def t(message: Message) -> str:
        return render(message, language)

    hours = current_app.config["REGISTRATION_CONFIRM_HOURS"]
    subject = t(Message("Confirm your sign-up with %(place)s", {"place": place}))
    lines = [t(Message("Hello,")), "",
             t(Message("You signed up with %(place)s for the supporting families programme (Steungezinnen). "
                       "Confirm your sign-up with this link:", {"place": place})), "", link, "",
             t(Message("Only then does a coordinator see your sign-up. The link works once, for %(hours)s hours.",
                       {"hours": hours})),
             t(Message("Did you not sign up? Then you can ignore this e-mail; your details are deleted after "
                       "%(hours)s hours.", {"hours": hours}))]
    return subject, "\n".join(lines)


def run_mail(item) -> None:
    """The worker's part: the mail with the link, to the address of the waiting registration (none when it was
    confirmed, or expired or was replaced meanwhile)."""
    pending = db.session.get(registration.PendingRegistration, item.subject_id)
    if pending is None:
        return
    base = current_app.config.get("PUBLIC_URL")
    if not base:
        raise BadData("PUBLIC_URL is not set, so the mail cannot hold a link to Koppel; set PUBLIC_URL")
    municipality = db.session.scalar(select(Municipality).where(Municipality.id == item.tenant_id))
    path = current_app.url_map.bind("localhost").build("web.register_confirm",
                                                       {"municipality": municipality.slug, "token": make_token(pending)})
    texts = {language: _texts(municipality.name, base + path, language) for language in LANGUAGES}
    mail.send(mail.compose(item.key, pending.data["email"], texts))


register(Kind(KIND, {"nl": "Bevestiging van aanmeldingen per e-mail", "en": "Confirmations of sign-ups by e-mail"},
              run_mail, sweep=registration.delete_expired))
