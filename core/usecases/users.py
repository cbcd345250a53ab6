"""Users: invitations, passwords set and reset by e-mail link, disabling, settings and API tokens.

An invited user has no usable password (a hash that no password matches,
:data:`UNSET`); the invitation mail carries a link to choose one. A link
(invitation or password reset) is a token signed with ``SECRET_KEY``
(itsdangerous), time-limited, and bound to the user's current password hash:
once a password is set, or the invitation is sent again, the old link no
longer works, so each link works once. The token holds the user's id and a
keyed digest of that hash, nothing personal.

Mail goes out as every Koppel mail does: a scheduled item (kind
``invitation`` or ``password_reset``) is stored in the caller's transaction,
and after the commit it is put on the queue (should that fail, the
dispatcher sends it again after ``SCHEDULER_REQUEUE_SECONDS``); a worker
sends it by :mod:`core.mail`, Dutch first and English below (English only
for a user who chose English). The link in it
starts with ``PUBLIC_URL``; without that setting the item fails with that
reason, which the tenant admin sees under scheduled work.

Users and memberships are not tenant models: the functions that act for a
tenant admin look the user up through a membership of that municipality,
so another municipality's user is "not found".
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from marshmallow import ValidationError
from sqlalchemy import exists, func, insert, select

from core import audit, mail
from core.auth import mfa, passwords, sessions, tokens
from core.auth import roles as R
from core.auth.models import ApiToken, Membership, User
from core.errors import Conflict, NotFound
from core.extensions import db
from core.messages import LANGUAGES, Message, render
from core.scheduling import queue
from core.scheduling.models import PENDING, ScheduledItem
from core.scheduling.registry import BadData, Kind, register
from core.types import utcnow
from tenants.context import cross_tenant_scope, current_tenant_id, tenant_scope
from tenants.models import Consortium, Municipality

log = logging.getLogger(__name__)

INVITATION, PASSWORD_RESET = "invitation", "password_reset"
#: How long a link works.
LINK_AGE = {INVITATION: timedelta(days=7), PASSWORD_RESET: timedelta(hours=2)}
#: The start of the hash of a user without a usable password (no argon2 hash starts so).
UNSET = "!unset:"
#: The roles a tenant admin may give: the municipality's staff.
STAFF_ROLES = (R.COORDINATOR, R.TENANT_ADMIN)
#: Status of a user as the users page shows it.
INVITED, ACTIVE, DISABLED = "invited", "active", "disabled"


class LinkInvalid(Exception):
    """A link that cannot be used (any more); ``reason`` is ``expired`` or ``invalid`` (used, changed, wrong)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# ----------------------------------------------------------------------------- small helpers

def _clean_email(email) -> str:
    return (email or "").strip().lower()


def has_password(user: User) -> bool:
    return not user.password_hash.startswith(UNSET)


def status_of(user: User) -> str:
    return DISABLED if not user.active else ACTIVE if has_password(user) else INVITED


def _unset_hash() -> str:
    return UNSET + secrets.token_urlsafe(24)


def _validate_person(email: str, name: str) -> None:
    errors = {}
    if not email or len(email) > 254 or "@" not in email or email.startswith("@") or email.endswith("@") \
            or any(c.isspace() for c in email):
        errors["email"] = [Message("give a valid e-mail address")]
    if not (name or "").strip() or len(name.strip()) > 120:
        errors["name"] = [Message("give a name of 1 to 120 characters")]
    if errors:
        raise ValidationError(errors)


def _check_role(role: str, municipality, consortium) -> None:
    allowed = R.MUNICIPALITY_ROLES if municipality else R.CONSORTIUM_ROLES if consortium else R.GLOBAL_ROLES
    if role not in R.ROLES or role not in allowed or (municipality is not None and consortium is not None):
        raise ValidationError({"role": [Message("choose a role that fits the municipality or region")]})


# ----------------------------------------------------------------------------- invitations

def invite(email: str, name: str, role: str, *, municipality=None, consortium=None, invited_by=None) -> User:
    """Invite *email* to *role* in *municipality* (or *consortium*); the caller commits.

    A new address becomes a user without a usable password; an address that exists gets the membership
    added (if it lacks it). Either way an invitation mail is queued when the user has no password yet; a
    user who has one is told by nothing but the new role (they log in as before). Audited.
    Raises ValidationError (fields ``email``, ``name``, ``role``) and Conflict (the user holds the role).
    """
    email = _clean_email(email)
    name = (name or "").strip()
    _validate_person(email, name)
    _check_role(role, municipality, consortium)
    user = db.session.scalar(select(User).where(func.lower(User.email) == email))
    tenant_id = municipality.id if municipality is not None else None
    created = user is None
    if created:
        user = User(email=email, name=name, password_hash=_unset_hash(), active=True)
        db.session.add(user)
    else:
        held = any(m.role == role and m.municipality_id == (municipality.id if municipality else None)
                   and m.consortium_id == (consortium.id if consortium else None) for m in user.memberships)
        if held:
            raise Conflict(Message("This person already has this role here.", code="already_member"))
    user.memberships.append(Membership(role=role, municipality=municipality, consortium=consortium))
    db.session.flush()
    if created:
        audit.record("user.create", object_type="user", object_id=user.id, tenant_id=tenant_id,
                     user_id=invited_by.id if invited_by else None, detail={"role": role, "invited": True})
    audit.record("membership.create", object_type="user", object_id=user.id, tenant_id=tenant_id,
                 user_id=invited_by.id if invited_by else None, detail={"role": role})
    if not has_password(user) and user.active:
        _queue_mail(INVITATION, user, municipality=municipality, consortium=consortium)
    return user


def resend_invitation(municipality: Municipality, user_id: int) -> User:
    """Send a new invitation link (the old one stops working); only to a user who has not chosen a password."""
    user = user_of(municipality, user_id)
    if has_password(user):
        raise Conflict(Message("This person has already chosen a password; send a password link instead.",
                               code="already_accepted"))
    if not user.active:
        raise Conflict(Message("This account is disabled; enable it first.", code="user_disabled"))
    user.password_hash = _unset_hash()
    audit.record("user.invite_again", object_type="user", object_id=user.id, tenant_id=municipality.id)
    _queue_mail(INVITATION, user, municipality=municipality)
    return user


def accept_invitation(token: str, password: str) -> User:
    """Set the first password of the invited user of *token*; the caller commits (and logs them in)."""
    user = check_link(INVITATION, token)
    _set_password(user, password)
    audit.record("user.accept_invitation", object_type="user", object_id=user.id, user_id=user.id,
                 actor=user.email)
    return user


# ----------------------------------------------------------------------------- passwords

def request_password_reset(email: str) -> None:
    """Queue a reset link for the active user *email*; nothing when there is none (the caller says the same
    either way). The caller commits."""
    user = db.session.scalar(select(User).where(func.lower(User.email) == _clean_email(email)))
    if user is None or not user.active:
        audit.record("user.password_reset_request", outcome=audit.FAILURE,
                     detail={"reason": "unknown user" if user is None else "inactive"})
        return
    audit.record("user.password_reset_request", object_type="user", object_id=user.id, user_id=user.id,
                 actor=user.email)
    _queue_mail(PASSWORD_RESET, user)


def send_password_link(municipality: Municipality, user_id: int) -> User:
    """A tenant admin sends *user_id* of their municipality a link to choose a new password."""
    user = user_of(municipality, user_id)
    if not user.active:
        raise Conflict(Message("This account is disabled; enable it first.", code="user_disabled"))
    audit.record("user.password_reset_request", object_type="user", object_id=user.id, tenant_id=municipality.id)
    _queue_mail(PASSWORD_RESET, user, municipality=municipality)
    return user


def reset_password(token: str, password: str) -> User:
    """Set a new password with the reset link *token*; every session of the user ends. The caller commits."""
    user = check_link(PASSWORD_RESET, token)
    _set_password(user, password)
    end_sessions(user)
    audit.record("user.password_reset", object_type="user", object_id=user.id, user_id=user.id, actor=user.email)
    return user


def change_password(user: User, current: str, new: str, *, keep_session_hash: str | None = None) -> User:
    """Change *user*'s password after checking the current one (field ``current_password``); the user's other
    sessions end (all but the one whose hash is *keep_session_hash*). The caller commits."""
    if not has_password(user) or not passwords.verify(user.password_hash, current or ""):
        raise ValidationError({"current_password": [Message("is not your current password")]})
    _set_password(user, new)
    end_sessions(user, keep=keep_session_hash)
    audit.record("user.password_change", object_type="user", object_id=user.id)
    return user


#: The password rules' problems (core.auth.passwords), as messages read in the reader's language.
PASSWORD_PROBLEMS = {
    f"must be at least {passwords.MIN_LENGTH} characters long":
        Message("must be at least %(n)s characters long", {"n": passwords.MIN_LENGTH}),
    f"must be at most {passwords.MAX_LENGTH} characters long":
        Message("must be at most %(n)s characters long", {"n": passwords.MAX_LENGTH}),
    "is too common or too easy to guess": Message("is too common or too easy to guess"),
    "must not contain your e-mail name": Message("must not contain your e-mail name"),
}


def _set_password(user: User, password: str) -> None:
    problems = passwords.problems(password or "", user.email)
    if problems:
        raise ValidationError({"password": [PASSWORD_PROBLEMS.get(p, p) for p in problems]})
    user.password_hash = passwords.hash_password(password)


# ----------------------------------------------------------------------------- links

def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"koppel.{purpose}")


def _stamp(user: User) -> str:
    """A keyed digest of the user's password hash: a link stops working when the hash changes."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, user.password_hash.encode(), hashlib.sha256).hexdigest()[:20]


def make_link_token(purpose: str, user: User) -> str:
    return _serializer(purpose).dumps([user.id, _stamp(user)])


def check_link(purpose: str, token: str) -> User:
    """The active user whose link of *purpose* this is, or :class:`LinkInvalid`."""
    serializer = _serializer(purpose)
    try:
        user_id, stamp = serializer.loads(token or "", max_age=int(LINK_AGE[purpose].total_seconds()))
    except SignatureExpired:
        raise LinkInvalid("expired") from None
    except (BadSignature, ValueError, TypeError):
        raise LinkInvalid("invalid") from None
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.active or not hmac.compare_digest(str(stamp), _stamp(user)):
        raise LinkInvalid("invalid")
    if purpose == INVITATION and has_password(user):
        raise LinkInvalid("invalid")
    return user


# ----------------------------------------------------------------------------- the mail

def _queue_mail(kind: str, user: User, *, municipality=None, consortium=None) -> None:
    """Store the mail's item in the caller's transaction; it is put on the queue after commit.

    An item of a municipality is stored in its tenant, so that its tenant admin sees a failure under
    scheduled work. An item without one (a password link asked for on the login page, a region's
    invitation) is the scheduler's, like a digest: it is written in that cross-tenant scope, which is
    the only one that may write and read rows without a tenant."""
    now = utcnow()
    tenant_id = municipality.id if municipality is not None else None
    values = {"kind": kind, "key": f"{kind}:{user.id}:{now.strftime('%Y%m%dT%H%M%S%f')}:{secrets.token_hex(3)}",
              "tenant_id": tenant_id, "consortium_id": consortium.id if consortium is not None else None,
              "subject_id": user.id, "due_at": now, "state": PENDING, "attempts": 0, "created_at": now,
              "enqueued_at": now}
    table = ScheduledItem.__table__
    statement = insert(table).values(**values).returning(table.c.id)
    if tenant_id is None:
        scope = cross_tenant_scope("scheduler")
    elif current_tenant_id() != tenant_id:
        scope = tenant_scope(tenant_id)
    else:
        scope = nullcontext()
    with scope:
        item_id = db.session.execute(statement).scalar_one()
    queue.after_commit(db.session, queue.Ticket(item_id, tenant_id, None if tenant_id else "scheduler"))


def _link(endpoint: str, token: str) -> str:
    base = current_app.config.get("PUBLIC_URL")
    if not base:
        raise BadData("PUBLIC_URL is not set, so the mail cannot hold a link to Koppel; set PUBLIC_URL")
    path = current_app.url_map.bind("localhost").build(endpoint, {"token": token})
    return base + path


def _place(item) -> str | None:
    if item.tenant_id is not None:
        return db.session.scalar(select(Municipality.name).where(Municipality.id == item.tenant_id))
    if item.consortium_id is not None:
        return db.session.scalar(select(Consortium.name).where(Consortium.id == item.consortium_id))
    return None


def _mail_texts(kind: str, user: User, link: str, place: str | None, language: str) -> tuple[str, str]:
    def t(message: Message) -> str:
        return render(message, language)

    lines = [t(Message("Dear %(name)s,", {"name": user.name})), ""]
    if kind == INVITATION:
        subject = t(Message("Your invitation to Koppel"))
        if place:
            lines.append(t(Message("You have been invited to work in Koppel for %(place)s. Koppel is the system of "
                                   "the supporting families programme (Steungezinnen).", {"place": place})))
        else:
            lines.append(t(Message("You have been invited to work in Koppel, the system of the supporting "
                                   "families programme (Steungezinnen).")))
        lines += ["", t(Message("Choose your password with this link. Then you are logged in at once:")), "", link, "",
                  t(Message("The link works once, for %(days)s days.", {"days": LINK_AGE[INVITATION].days})),
                  t(Message("Did you not expect this invitation? Then you can ignore this e-mail."))]
    else:
        subject = t(Message("Choose a new password for Koppel"))
        lines += [t(Message("Someone asked for a new password for your Koppel account. Choose a new password "
                            "with this link:")), "", link, "",
                  t(Message("The link works once, for %(hours)s hours.",
                            {"hours": int(LINK_AGE[PASSWORD_RESET].total_seconds() // 3600)})),
                  t(Message("Did you not ask for this? Then you can ignore this e-mail. Your password stays "
                            "the same."))]
    return subject, "\n".join(lines)


def run_mail(item) -> None:
    """The worker's part: compose the mail with a fresh link and send it (last, so a failure sends nothing)."""
    user = db.session.get(User, item.subject_id)
    if user is None or not user.active:
        return  # removed or disabled meanwhile: nothing to send
    if item.kind == INVITATION and has_password(user):
        return  # accepted meanwhile
    endpoint = "web.invitation" if item.kind == INVITATION else "web.password_reset"
    link = _link(endpoint, make_link_token(item.kind, user))
    place = _place(item)
    languages = ("en",) if user.language == "en" else LANGUAGES
    texts = {language: _mail_texts(item.kind, user, link, place, language) for language in languages}
    mail.send(mail.compose(item.key, user.email, texts))


register(Kind(INVITATION, {"nl": "Uitnodigingen per e-mail", "en": "Invitations by e-mail"}, run_mail,
              cross_scope="scheduler"))
register(Kind(PASSWORD_RESET, {"nl": "Links voor een nieuw wachtwoord", "en": "Links to choose a new password"},
              run_mail, cross_scope="scheduler"))


# ----------------------------------------------------------------------------- a municipality's users

@dataclass
class UserRow:
    user: User
    roles: list[str]

    @property
    def status(self) -> str:
        return status_of(self.user)


def users_of(municipality: Municipality) -> list[UserRow]:
    """The users with a role in *municipality*, by name, with their roles there (two queries)."""
    rows = db.session.execute(
        select(Membership.user_id, Membership.role).where(Membership.municipality_id == municipality.id,
                                                          Membership.role.in_(STAFF_ROLES))).all()
    roles: dict[int, list[str]] = {}
    for user_id, role in rows:
        roles.setdefault(user_id, []).append(role)
    if not roles:
        return []
    users = db.session.scalars(select(User).where(User.id.in_(roles)).order_by(func.lower(User.name), User.id)).all()
    return [UserRow(u, sorted(roles[u.id], key=STAFF_ROLES.index)) for u in users]


def user_of(municipality: Municipality, user_id: int) -> User:
    """User *user_id* when they have a role in *municipality*; NotFound otherwise (another municipality's)."""
    member = exists(select(Membership.id).where(Membership.user_id == User.id,
                                                Membership.municipality_id == municipality.id,
                                                Membership.role.in_(STAFF_ROLES)))
    user = db.session.scalar(select(User).where(User.id == user_id, member))
    if user is None:
        raise NotFound(Message("No user %(id)s in this municipality.", {"id": user_id}))
    return user


def end_sessions(user: User, keep: str | None = None) -> int:
    """End every web session of *user* (but the one whose hash is *keep*); returns how many."""
    return sessions.end_all(user, keep)


def disable(municipality: Municipality, user_id: int, *, by: User | None) -> User:
    """Disable a user of *municipality*: they cannot log in, their sessions end at once and their own API
    tokens are revoked. Not oneself. The caller commits."""
    user = user_of(municipality, user_id)
    if by is not None and user.id == by.id:
        raise Conflict(Message("You cannot disable your own account.", code="disable_self"))
    if not user.active:
        raise Conflict(Message("This account is disabled already.", code="user_disabled"))
    user.active = False
    sessions = end_sessions(user)
    revoked = 0
    for token in db.session.scalars(select(ApiToken).where(ApiToken.created_by_id == user.id,
                                                           ApiToken.revoked_at.is_(None))):
        tokens.revoke(token)
        revoked += 1
    audit.record("user.disable", object_type="user", object_id=user.id, tenant_id=municipality.id,
                 detail={"sessions_ended": sessions, "tokens_revoked": revoked})
    return user


def enable(municipality: Municipality, user_id: int) -> User:
    """Let a disabled user of *municipality* log in again. The caller commits."""
    user = user_of(municipality, user_id)
    if user.active:
        raise Conflict(Message("This account is active already.", code="user_active"))
    user.active = True
    audit.record("user.enable", object_type="user", object_id=user.id, tenant_id=municipality.id)
    return user


def end_user_sessions(municipality: Municipality, user_id: int, *, by: User | None = None) -> User:
    """A tenant admin logs a user of *municipality* out everywhere (not their own current session). Audited;
    the caller commits."""
    user = user_of(municipality, user_id)
    keep = sessions.current_digest() if by is not None and by.id == user.id else None
    ended = end_sessions(user, keep)
    audit.record("user.sessions_end", object_type="user", object_id=user.id, tenant_id=municipality.id,
                 detail={"sessions_ended": ended})
    return user


def reset_mfa(municipality: Municipality, user_id: int, *, by: User | None = None) -> User:
    """Forget a user's authenticator and recovery codes (a lost phone): they enrol again at their next login,
    and their sessions end. Not oneself. Audited; the caller commits."""
    user = user_of(municipality, user_id)
    if by is not None and user.id == by.id:
        raise Conflict(Message("You cannot reset your own authenticator here.", code="reset_self"))
    mfa.reset(user)
    ended = end_sessions(user)
    audit.record("user.mfa_reset", object_type="user", object_id=user.id, tenant_id=municipality.id,
                 detail={"sessions_ended": ended})
    return user


# ----------------------------------------------------------------------------- the second factor

def enrol_mfa(user: User, code: str) -> list[str]:
    """Confirm *user*'s pending authenticator with *code* (field ``code``); returns the recovery codes, shown
    once. Audited; the caller commits."""
    codes = mfa.confirm(user, code)
    if codes is None:
        raise ValidationError({"code": [Message("is not the code your app shows; try the next one")]})
    audit.record("user.mfa_enrol", object_type="user", object_id=user.id, user_id=user.id, actor=user.email)
    return codes


def new_recovery_codes(user: User) -> list[str]:
    """Replace the own recovery codes (the old ones stop working). Audited; the caller commits."""
    codes = mfa.new_recovery_codes(user)
    audit.record("user.recovery_codes", object_type="user", object_id=user.id)
    return codes


def end_other_sessions(user: User, keep: str | None) -> int:
    """End the user's own sessions but this one (hash *keep*). Audited; the caller commits."""
    ended = end_sessions(user, keep)
    audit.record("user.sessions_end", object_type="user", object_id=user.id, detail={"sessions_ended": ended,
                                                                                     "own": True})
    return ended


# ----------------------------------------------------------------------------- own settings

def change_settings(user: User, *, name: str, language: str | None) -> User:
    """The user's name and language (``nl``, ``en``, or None: the browser's). The caller commits."""
    name = (name or "").strip()
    errors = {}
    if not name or len(name) > 120:
        errors["name"] = [Message("give a name of 1 to 120 characters")]
    if language not in (None, *LANGUAGES):
        errors["language"] = [Message("choose Dutch, English or the browser's language")]
    if errors:
        raise ValidationError(errors)
    user.name, user.language = name, language
    audit.record("user.settings", object_type="user", object_id=user.id, detail={"language": language})
    return user


# ----------------------------------------------------------------------------- API tokens

def token_scopes(user: User) -> list[tuple[str, Membership]]:
    """Where *user* may make an own token: one choice per municipality or region with their roles there."""
    seen: dict[str, Membership] = {}
    for m in user.memberships:
        key = f"m{m.municipality_id}" if m.municipality_id else f"c{m.consortium_id}" if m.consortium_id else "p"
        seen.setdefault(key, m)
    return sorted(seen.items())


def own_tokens(user: User) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(ApiToken.created_by_id == user.id)
                                   .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def create_own_token(user: User, name: str, scope: str, days: int | None) -> tuple[str, ApiToken]:
    """A token that acts for *user* with all their roles in one *scope* (a key of :func:`token_scopes`)."""
    chosen = dict(token_scopes(user)).get(scope)
    if chosen is None:
        raise ValidationError({"scope": [Message("choose where the token may be used")]})
    roles = [m.role for m in user.memberships if m.municipality_id == chosen.municipality_id
             and m.consortium_id == chosen.consortium_id]
    raw, token = tokens.create((name or "").strip(), roles, municipality=chosen.municipality,
                               consortium=chosen.consortium, days=days, created_by=user)
    audit.record("token.create", object_type="api_token", object_id=token.id, tenant_id=chosen.municipality_id,
                 detail={"roles": sorted(roles), "own": True})
    return raw, token


def revoke_own_token(user: User, token_id: int) -> ApiToken:
    token = db.session.scalar(select(ApiToken).where(ApiToken.id == token_id, ApiToken.created_by_id == user.id))
    if token is None:
        raise NotFound(Message("No token %(id)s of yours.", {"id": token_id}))
    tokens.revoke(token)
    audit.record("token.revoke", object_type="api_token", object_id=token.id, tenant_id=token.municipality_id)
    return token


def municipality_tokens(municipality: Municipality) -> list[ApiToken]:
    """The municipality's tokens for its own systems (not a person's own tokens), newest first."""
    return list(db.session.scalars(select(ApiToken).where(ApiToken.municipality_id == municipality.id,
                                                          ApiToken.created_by_id.is_(None))
                                   .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def create_municipality_token(municipality: Municipality, name: str, roles, days: int | None) -> tuple[str, ApiToken]:
    """A token for the municipality's own systems with *roles* among coordinator and tenant admin."""
    roles = list(roles or [])
    if not roles or any(role not in STAFF_ROLES for role in roles):
        raise ValidationError({"roles": [Message("choose coordinator, tenant admin or both")]})
    raw, token = tokens.create((name or "").strip(), roles, municipality=municipality, days=days)
    audit.record("token.create", object_type="api_token", object_id=token.id, tenant_id=municipality.id,
                 detail={"roles": sorted(roles)})
    return raw, token


def revoke_municipality_token(municipality: Municipality, token_id: int) -> ApiToken:
    token = db.session.scalar(select(ApiToken).where(ApiToken.id == token_id,
                                                     ApiToken.municipality_id == municipality.id,
                                                     ApiToken.created_by_id.is_(None)))
    if token is None:
        raise NotFound(Message("No token %(id)s of this municipality.", {"id": token_id}))
    tokens.revoke(token)
    audit.record("token.revoke", object_type="api_token", object_id=token.id, tenant_id=municipality.id)
    return token


def is_expired(token: ApiToken, now: datetime | None = None) -> bool:
    return token.expires_at <= (now or utcnow())
