"""Each funder's pseudonym key: 32 random bytes, made the first time an export is made for the funder.

The report builder makes a family's pseudonym as HMAC-SHA256 under this key,
so a funder can follow a family across its own exports, while two funders'
exports cannot be linked and no funder can reverse a pseudonym. The key is
never shown, logged or exported; only the builder reads it.
"""
from __future__ import annotations

import os

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from core.exports.models import FunderSecret
from core.extensions import db
from core.types import utcnow

KEY_BYTES = 32


def key_of(funder_id: int) -> bytes:
    """The funder's key, made now when it has none (two processes at once make one: the first insert wins)."""
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    db.session.execute(insert(FunderSecret.__table__)
                       .values(user_id=funder_id, secret=os.urandom(KEY_BYTES), created_at=utcnow())
                       .on_conflict_do_nothing(index_elements=["user_id"]))
    return db.session.scalar(select(FunderSecret.secret).where(FunderSecret.user_id == funder_id))
