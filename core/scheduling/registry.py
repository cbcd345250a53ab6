"""The kinds of scheduled work: what the dispatcher looks for, and what a worker then does.

A kind is a :class:`Kind`: a ``find`` function that the dispatcher calls every
minute in the ``scheduler`` cross-tenant scope and that returns what is due
now as :class:`Due` rows (set-based queries over every municipality), and a
``run`` function that a worker calls for one item, in that item's tenant (or
cross-tenant scope), inside the transaction that marks the item done. A kind
whose items are made by a request (a background import) has no ``find``.

A kind may also ``sweep``: resolve, set-based, the work items whose cause is
gone. ``run`` raises :class:`BadData` when the item cannot be done as it stands (no
retry: the item fails with the reason, which the tenant admin sees) and
:class:`Transient` (or a database or connection error) when trying again later
may help.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select

#: Due times are wall-clock times here; they are stored in UTC.
ZONE = ZoneInfo("Europe/Amsterdam")


@dataclass(frozen=True)
class Due:
    """One piece of work the dispatcher found: *key* is unique for all time (kind, scope and subject)."""

    tenant_id: int | None
    key: str
    due_at: datetime
    subject_id: int | None = None
    consortium_id: int | None = None


@dataclass(frozen=True)
class Kind:
    name: str
    title: dict  # {"nl": ..., "en": ...}: what the tenant admin reads
    run: Callable
    find: Callable[[datetime], Iterable[Due]] | None = None
    #: where a worker runs an item without a tenant: a cross-tenant scope's name
    cross_scope: str | None = None
    #: local wall-clock time at which the dispatcher looks for this kind's work, for the schedule overview
    schedule: dict | None = None
    #: called by the dispatcher before ``find`` (scheduler scope): resolve what this kind made and is no longer
    #: needed (a work item whose evaluation was completed); returns how many rows it changed
    sweep: Callable[[datetime], int] | None = None


class BadData(Exception):
    """The item cannot be done as the data stands; *reason* is shown to the tenant admin (no personal data)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Transient(Exception):
    """A fault that may pass (a server down); the item is tried again later."""


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    if kind.name in KINDS and KINDS[kind.name] is not kind:
        raise ValueError(f"scheduled-work kind {kind.name!r} is registered twice")
    KINDS[kind.name] = kind
    return kind


def kinds() -> dict[str, Kind]:
    """Every kind, its modules imported."""
    from core.scheduling import kinds as _  # noqa: F401  (each module registers its kinds)

    return KINDS


# ----------------------------------------------------------------------------- time in Amsterdam

def at_local(day: date, at: time) -> datetime:
    """*day* at wall-clock time *at* in Amsterdam, in UTC (a time that does not exist that day moves on)."""
    return datetime.combine(day, at, tzinfo=ZONE).astimezone(UTC)


def local_today(now: datetime) -> date:
    return now.astimezone(ZONE).date()


def last_day_at(now: datetime, at: time) -> date:
    """The latest day whose wall-clock time *at* in Amsterdam has come by *now*: a due date at or before it
    has fallen due. Counted on the calendar, so it holds across the changes to and from summer time."""
    today = local_today(now)
    return today if at_local(today, at) <= now else today - timedelta(days=1)


def not_scheduled(kind: str, subject_column):
    """A WHERE clause: no item of *kind* about *subject_column* exists yet (the dispatcher's anti-join)."""
    from core.scheduling.models import ScheduledItem

    return ~exists(select(ScheduledItem.id).where(ScheduledItem.kind == kind,
                                                 ScheduledItem.subject_id == subject_column))
