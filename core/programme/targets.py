"""Programme targets per municipality and year."""
from __future__ import annotations

from sqlalchemy import select

from core import audit
from core.extensions import db
from core.programme.models import ProgrammeTarget


def set_target(year: int, data: dict) -> ProgrammeTarget:
    """Create or replace the target for *year* in the current municipality."""
    target = db.session.scalar(select(ProgrammeTarget).where(ProgrammeTarget.year == year))
    if target is None:
        target = ProgrammeTarget(year=year, **data)
        db.session.add(target)
    else:
        for name, value in data.items():
            setattr(target, name, value)
    db.session.flush()
    audit.record("target.set", object_type="programme_target", object_id=target.id, detail={"year": year, **data})
    return target
