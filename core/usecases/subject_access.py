"""A data subject's access (AVG art. 15): everything stored about one family, and who read or changed it.

:func:`export` gathers the family's rows from every table that references
it (:mod:`core.programme.records` walks the foreign keys, so a new table is
in without a change here), the decisions with their explanations in the
reader's language (the texts the family page shows), and the audit events
about the family and its rows. The export itself is audited. Correction
goes through the ordinary edit paths; erasure through
:func:`core.usecases.retention.request_erasure`.
"""
from __future__ import annotations

import base64
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import and_, or_, select

from core import audit
from core.audit import AuditEvent
from core.lookup import get_or_404
from core.messages import explanation
from core.programme import records
from core.programme.models import Family
from core.types import utcnow
from core.usecases import retention
from core.extensions import db
from tenants.context import current_tenant_id
from tenants.models import Municipality

FORMATS = ("html", "json", "pdf")
#: Audit events listed at most (the newest); the count says how many there are.
MAX_EVENTS = 5000


def _plain(value):
    """A JSON-ready value."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, memoryview)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def export(family_id: int, fmt: str = "json") -> dict:
    """Everything about family *family_id* of this municipality (404 otherwise), as plain JSON-ready data."""
    family = get_or_404(Family, family_id)
    tables = records.collect(family.id)
    for row in tables.get("decision", ()):
        row["explanations"] = [{"rule": f.get("rule"), "result": f.get("result"), "explanation": explanation(f)}
                               for f in row.get("findings") or []]
    conditions = [and_(AuditEvent.object_type == name, AuditEvent.object_id.in_([str(r["id"]) for r in rows]))
                  for name, rows in tables.items() if rows]
    events = db.session.scalars(select(AuditEvent).where(or_(*conditions))
                                .order_by(AuditEvent.id.desc()).limit(MAX_EVENTS)).all()
    audit.record("family.subject_export", object_type="family", object_id=family.id, detail={"format": fmt})
    municipality = db.session.get(Municipality, current_tenant_id())
    return _plain({
        "family_id": family.id,
        "municipality": municipality.name,
        "generated_at": utcnow(),
        "destroyed": retention.is_destroyed(family.id),
        "tables": tables,
        "audit_events": [{"id": e.id, "at": e.at, "actor": e.actor, "action": e.action,
                          "object_type": e.object_type, "object_id": e.object_id, "outcome": e.outcome}
                         for e in reversed(events)],
    })
