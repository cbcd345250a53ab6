"""The audit log: who did what, in which tenant, when, from where, and how it ended.

Every change, every read of a family record and every refused access goes
through :func:`record`. On PostgreSQL the application's role may only INSERT
and SELECT this table (append-only), a trigger refuses UPDATE and DELETE even
to the table's owner outside the maintenance path (``SET LOCAL
koppel.audit_maintenance = 'on'``), and row-level security shows each tenant
its own events.

The events form hash chains, one per municipality and one for platform
events (no tenant), so that municipalities never wait for each other. Each
event carries its place in its chain (``seq``), the previous event's hash
and its own: HMAC-SHA-256, keyed with ``AUDIT_CHAIN_KEY``, over a canonical
serialisation of its fields and the previous hash (:func:`event_hash`). A
changed, deleted, inserted or reordered event breaks the chain
(:func:`verify`, ``koppel audit verify``); someone who can write the database
but does not hold the key cannot make a consistent chain again.

A chain's newest place and hash are kept in ``audit_chain_head``; an append
takes that row's lock (``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``,
which waits for a concurrent append and then reads its result), so two
writers never fork a chain, and a unique index on ``(chain, seq)`` would
refuse a fork in any case. Events of a transaction are appended when it
commits, after its last flush: the lock is held for the commit only, and
taken after every other lock of the transaction, so it cannot deadlock with
them.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from flask import current_app, g, has_app_context, has_request_context, request
from sqlalchemy import JSON, BigInteger, Index, Integer, String, event, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.extensions import db
from core.types import UTCDateTime, utcnow
from tenants import rls
from tenants.context import Scope, cross_tenant_scope, current_scope, current_tenant_id, tenant_scope
from tenants.isolation import TenantOwned
from tenants.session import TenantSession, engine_for

SUCCESS = "success"
FAILURE = "failure"  # the action was tried and failed (wrong password, invalid input)
DENIED = "denied"  # the action was refused by an access check

#: The chain of platform events (no tenant); a municipality's chain is its id.
PLATFORM_CHAIN = 0
#: The cross-tenant scope that appends platform events and verifies every chain.
PLATFORM_SCOPE = "platform-maintenance"
#: The "previous hash" of a chain's first event.
GENESIS = "0" * 64
#: The refusal of someone with no relation to the municipality (``detail.reason``): its log does not name them.
FOREIGN_REASON = "not a member"

log = logging.getLogger("koppel.audit")


class AuditEvent(TenantOwned, db.Model):
    __tablename__ = "audit_event"
    __tenant_nullable__ = True  # platform events (a login) have no tenant
    # No RETURNING: a platform event (no tenant) is not visible to the writer under RLS.
    __table_args__ = (Index("ix_audit_event_tenant_id_id", "tenant_id", "id"),
                      Index("uq_audit_event_chain_seq", "chain", "seq", unique=True),
                      {"implicit_returning": False})

    id: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(index=True)
    actor_token_id: Mapped[int | None]
    actor: Mapped[str | None] = mapped_column(String(254))  # e-mail or token name, as known at the time
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(45))
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[dict | None] = mapped_column(JSON)
    # the hash chain (None only on a row written around record(): verify reports it)
    chain: Mapped[int | None] = mapped_column(Integer)
    seq: Mapped[int | None] = mapped_column(BigInteger)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


class AuditChainHead(TenantOwned, db.Model):
    """The newest place and hash of each chain; its row lock serialises the appends to a chain. The
    platform chain's head (no tenant) is written in a cross-tenant scope, as the platform's events are read."""

    __tablename__ = "audit_chain_head"
    __tenant_nullable__ = True

    chain: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


#: The fields an event's hash covers, in this order (with the previous hash).
HASHED = ("chain", "seq", "tenant_id", "at", "actor_user_id", "actor_token_id", "actor", "action", "object_type",
          "object_id", "ip", "outcome", "detail")


def chain_of(tenant_id: int | None) -> int:
    return PLATFORM_CHAIN if tenant_id is None else tenant_id


def _key() -> bytes:
    """``AUDIT_CHAIN_KEY``; unset, a key derived from ``SECRET_KEY`` (set the former in production, so that
    the session key can change without breaking the chain)."""
    configured = current_app.config.get("AUDIT_CHAIN_KEY")
    if configured:
        return configured.encode()
    return hmac.new(current_app.config["SECRET_KEY"].encode(), b"koppel audit chain", hashlib.sha256).digest()


def _canonical_time(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat(timespec="microseconds")


def event_hash(key: bytes, values: dict, prev_hash: str) -> str:
    """HMAC-SHA-256 of the event's fields (``HASHED``) and *prev_hash*, as canonical JSON."""
    fields = [_canonical_time(values["at"]) if name == "at" else values[name] for name in HASHED]
    text = json.dumps([*fields, prev_hash], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def actor_user_id() -> int | None:
    """The id of the user behind the current request (or its token), if any; in a worker, the user a
    background job acts for (``g.principal`` of the task's app context)."""
    principal = g.get("principal") if has_app_context() else None
    return principal.user_id if principal else None


def record(
    action: str,
    *,
    outcome: str = SUCCESS,
    object_type: str | None = None,
    object_id=None,
    tenant_id: int | None = None,
    detail: dict | None = None,
    actor: str | None = None,
    user_id: int | None = None,
    apart: bool = True,
) -> None:
    """Write one audit event.

    A successful action is appended when the caller's transaction commits, so it is kept exactly when the
    change is. A failure or refusal is written in a transaction of its own at once, so that it survives
    the rollback that usually follows; ``apart=False`` keeps it in the caller's transaction, for work whose
    transaction commits either way (a background import).
    """
    principal = g.get("principal") if has_app_context() else None
    if tenant_id is None:
        tenant_id = current_tenant_id()
    values = {
        "at": utcnow(),
        "tenant_id": tenant_id,
        "chain": chain_of(tenant_id),
        "actor_user_id": user_id if user_id is not None else (principal.user_id if principal else None),
        "actor_token_id": principal.token_id if principal else None,
        "actor": actor or (principal.label if principal else None),
        "action": action,
        "object_type": object_type,
        "object_id": None if object_id is None else str(object_id),
        "ip": request.remote_addr if has_request_context() else None,
        "outcome": outcome,
        # as stored and read back (a tuple is a list), so that the hash is the same when verified
        "detail": None if detail is None else json.loads(json.dumps(detail)),
    }
    if outcome == SUCCESS or not apart:
        session = db.session()
        session.info.setdefault(PENDING, []).append((session.get_nested_transaction(), values))
    else:
        scope = Scope(tenant_id=tenant_id) if tenant_id is not None else Scope(cross_tenant=PLATFORM_SCOPE)
        with engine_for(scope).begin() as connection:
            if connection.dialect.name == "postgresql" and tenant_id is not None:
                rls.apply_scope(connection, scope)
            _append(connection, [values])
    log.info("audit", extra={"audit": {k: v for k, v in values.items() if k not in ("at", "chain")}})


# ----------------------------------------------------------------------------- appending to the chains

#: session.info key: the events of the session's transaction, appended when it commits.
PENDING = "koppel_audit_pending"


def _append(connection, events: list[dict]) -> None:
    """Append *events* (all of one chain) to their chain on *connection* (a Connection or the Session)."""
    chain, tenant_id = events[0]["chain"], events[0]["tenant_id"]
    head = AuditChainHead.__table__
    dialect = (connection.get_bind() if isinstance(connection, Session) else connection).dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    # takes (or waits for) the head's lock; after a wait, it reads the head the other writer left
    start = upsert(head).values(chain=chain, tenant_id=tenant_id, seq=0, hash=GENESIS)
    start = start.on_conflict_do_update(index_elements=[head.c.chain], set_={"seq": head.c.seq})
    seq, prev = connection.execute(start.returning(head.c.seq, head.c.hash)).one()
    key = _key()
    rows = []
    for values in events:
        seq += 1
        own = event_hash(key, {**values, "seq": seq}, prev)
        rows.append({**values, "seq": seq, "prev_hash": prev, "hash": own})
        prev = own
    if dialect == "postgresql":  # one statement: the rows and the head's new place
        advance = update(head).where(head.c.chain == chain).values(seq=seq, hash=prev)
        connection.execute(insert(AuditEvent.__table__).values(rows).add_cte(advance.cte("advance")))
    else:
        connection.execute(insert(AuditEvent.__table__).values(rows))
        connection.execute(update(AuditChainHead).where(AuditChainHead.chain == chain).values(seq=seq, hash=prev)
                           .execution_options(synchronize_session=False))


@event.listens_for(TenantSession, "before_commit")
def _append_pending(session) -> None:
    """Append the transaction's events as the last thing before COMMIT (a savepoint's release waits)."""
    if session.get_nested_transaction() is not None or not session.info.get(PENDING):
        return
    session.flush()  # every row lock of the transaction before the chains' locks
    pending = [values for _, values in session.info.pop(PENDING)]
    chains: dict[int, list[dict]] = {}
    for values in pending:
        chains.setdefault(values["chain"], []).append(values)
    for chain in sorted(chains):  # always in the same order: two transactions never wait for each other
        _append_in_scope(session, chains[chain])


def _append_in_scope(session, events: list[dict]) -> None:
    """A cross-tenant scope appends to any chain; otherwise a tenant's chain is appended to in that tenant's
    scope (an event about a tenant recorded outside it: onboarding, suspension), the platform's in a
    cross-tenant scope (the app's database role never sees a row without a tenant)."""
    tenant_id, scope = events[0]["tenant_id"], current_scope()
    if (scope is not None and scope.cross_tenant) or (tenant_id is not None and tenant_id == current_tenant_id()):
        _append(session, events)
        return
    with tenant_scope(tenant_id) if tenant_id is not None else cross_tenant_scope(PLATFORM_SCOPE):
        _append(session, events)


@event.listens_for(TenantSession, "after_soft_rollback")
def _forget_pending(session, transaction) -> None:
    """A rollback forgets the events recorded in the transaction (or savepoint) it ends."""
    if PENDING not in session.info:
        return
    if not transaction.nested:
        session.info.pop(PENDING, None)
        return

    def inside(tag) -> bool:
        while tag is not None:
            if tag is transaction:
                return True
            tag = tag.parent
        return False

    session.info[PENDING] = [(tag, values) for tag, values in session.info[PENDING] if not inside(tag)]


# ----------------------------------------------------------------------------- verifying

@dataclass
class ChainReport:
    """One chain's verification: its events counted, and the first broken link (the event's id, if it is an
    event's, and the reason)."""

    chain: int
    tenant_id: int | None
    events: int = 0
    reason: str | None = None
    broken_at: int | None = None

    @property
    def intact(self) -> bool:
        return self.reason is None

    def breaks(self, event_id: int | None, reason: str) -> None:
        if self.intact:
            self.broken_at, self.reason = event_id, reason


def verify(tenant_id: int | None = None, *, all_chains: bool = False) -> list[ChainReport]:
    """Walk the chains (every chain with *all_chains*, in a cross-tenant scope; else *tenant_id*'s) and
    report each: a changed, deleted, inserted or reordered event, a row outside the chain, or a head that
    does not match the chain's last event, is its first broken link."""
    statement = select(AuditEvent).order_by(AuditEvent.chain, AuditEvent.seq, AuditEvent.id)
    heads = select(AuditChainHead)
    if not all_chains:
        statement = statement.where(AuditEvent.tenant_id == tenant_id if tenant_id
                                    else AuditEvent.tenant_id.is_(None))
        heads = heads.where(AuditChainHead.chain == chain_of(tenant_id))
    key = _key()
    heads = {row.chain: row for row in db.session.scalars(heads)}
    reports: dict[int, ChainReport] = {}
    last: dict[int, tuple[int, str]] = {}
    for event in db.session.scalars(statement.execution_options(yield_per=1000)):
        row = {name: getattr(event, name) for name in (*HASHED, "id", "prev_hash", "hash")}
        chain = chain_of(row["tenant_id"])
        report = reports.setdefault(chain, ChainReport(chain, row["tenant_id"]))
        report.events += 1
        if not report.intact:
            continue
        seq, prev = last.get(chain, (0, GENESIS))
        if row["chain"] != chain or row["seq"] is None or row["hash"] is None:
            report.breaks(row["id"], "outside its chain")
        elif row["seq"] != seq + 1:
            report.breaks(row["id"], "an event before it is missing" if row["seq"] > seq + 1 else "out of order")
        elif row["prev_hash"] != prev:
            report.breaks(row["id"], "the previous hash does not match")
        elif not hmac.compare_digest(row["hash"], event_hash(key, row, prev)):
            report.breaks(row["id"], "the event was changed")
        last[chain] = (row["seq"], row["hash"])
    for chain, found in heads.items():
        report = reports.setdefault(chain, ChainReport(chain, found.tenant_id))
        if last.get(chain, (0, GENESIS)) != (found.seq, found.hash):
            report.breaks(None, "events at its end are missing (the head does not match)")
    for chain, report in reports.items():
        if chain not in heads and chain in last:
            report.breaks(None, "the chain has no head")
    return sorted(reports.values(), key=lambda r: r.chain)


# ----------------------------------------------------------------------------- reading the log

def is_foreign(event) -> bool:
    """Whether *event* is the refusal of someone with no relation to the event's municipality."""
    return event.outcome == DENIED and (event.detail or {}).get("reason") == FOREIGN_REASON


def listing(*, action: str | None = None, since=None, until=None):
    """The events of the current scope, filtered on the action (a prefix such as ``family.`` or a whole
    action) and on the day (from *since*, up to and including *until*); for :func:`keyset_page`, newest first."""
    statement = select(AuditEvent)
    if action:
        statement = statement.where(AuditEvent.action == action if not action.endswith(".")
                                    else AuditEvent.action.startswith(action, autoescape=True))
    if since:
        statement = statement.where(AuditEvent.at >= _day_start(since))
    if until:
        statement = statement.where(AuditEvent.at < _day_start(until, 1))
    return statement


def _day_start(day, offset: int = 0) -> datetime:
    """Midnight starting *day* (+ *offset* days) in Amsterdam, the time the log's readers live in."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    local = datetime.combine(day + timedelta(days=offset), datetime.min.time(), ZoneInfo("Europe/Amsterdam"))
    return local.astimezone(timezone.utc)


def shown(event, *, platform: bool) -> dict:
    """*event* as a log's reader sees it: a municipality's log (*platform* false) does not name a user of
    another organisation who was refused there (no e-mail, no user id, no address)."""
    out = {name: getattr(event, name) for name in ("id", "at", "tenant_id", "actor", "actor_user_id", "action",
                                                     "object_type", "object_id", "ip", "outcome", "detail")}
    out["foreign"] = is_foreign(event)
    if out["foreign"] and not platform:
        out.update(actor=None, actor_user_id=None, ip=None)
    return out
