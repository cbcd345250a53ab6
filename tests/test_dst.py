"""An evaluation due on the Sunday of a clock change falls due once, at 09:00 Amsterdam time.

The dispatcher's ``collect(now)`` runs from the Saturday 00:00 UTC to the
Monday 12:00 UTC around each change of 2026 (to summer time on 29 March, to
winter time on 25 October): every hour, and every 5 minutes on the Sunday
from 06:00 to 09:00 UTC, where 09:00 local time falls under either offset
(every instant where the local date or 09:00 local changes is on a whole
UTC hour, so the hourly steps meet each of them). The evaluation's item
appears at the first ``now`` at or after 09:00 local time (07:00 UTC in
summer, 08:00 UTC in winter), with that instant as its ``due_at``, and is
not made again. No worker: nothing is sent, the items are only found and
marked enqueued.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select, update

from core.extensions import db
from core.programme.models import Evaluation
from core.scheduling.dispatch import collect
from core.scheduling.models import ScheduledItem
from tenants import onboarding
from tenants.context import cross_tenant_scope, tenant_scope
from tests.conftest import populate


def _moments(sunday: date) -> list[datetime]:
    """When the dispatcher runs in the test: hourly from Saturday 00:00 to Monday 12:00 UTC, and every
    5 minutes on the Sunday from 06:00 to 09:00 UTC."""
    saturday = datetime.combine(sunday - timedelta(days=1), time(0), tzinfo=UTC)
    hourly = {saturday + timedelta(hours=h) for h in range(60 + 1)}
    morning = {saturday + timedelta(hours=30, minutes=m) for m in range(0, 3 * 60 + 1, 5)}
    return sorted(hourly | morning)


def _one_evaluation_due_on(day: date) -> int:
    """A municipality whose only open evaluation is due on *day*; its id."""
    with cross_tenant_scope("platform-maintenance"):
        consortium = onboarding.add_consortium("Achterhoek", "achterhoek")
        aalten = onboarding.add_municipality(consortium, name="Aalten", cbs_code="GM0197", slug="aalten",
                                             inhabitants=27500)
        db.session.commit()
        records = populate(aalten.id, today=day - timedelta(days=1))
    with tenant_scope(aalten.id):
        db.session.execute(update(Evaluation).where(Evaluation.completed_on.is_(None))
                           .values(completed_on=day - timedelta(days=1)))
        evaluation = Evaluation(match_id=records["match"], kind="periodic", moment="review", due_on=day)
        db.session.add(evaluation)
        db.session.commit()
        return evaluation.id


@pytest.mark.parametrize("sunday, due_utc", [
    (date(2026, 3, 29), datetime(2026, 3, 29, 7, 0, tzinfo=UTC)),  # to summer time (UTC+2) at 02:00
    (date(2026, 10, 25), datetime(2026, 10, 25, 8, 0, tzinfo=UTC)),  # to winter time (UTC+1) at 03:00
], ids=["to-summer-time", "to-winter-time"])
def test_an_evaluation_due_on_the_sunday_of_a_clock_change_falls_due_once_at_nine(app, sunday, due_utc):
    with app.app_context():
        evaluation_id = _one_evaluation_due_on(sunday)
        appeared = []  # (now, items of the evaluation) whenever their number changed
        for now in _moments(sunday):
            collect(now)
            with cross_tenant_scope("scheduler"):
                count = db.session.scalar(select(func.count()).select_from(ScheduledItem).where(
                    ScheduledItem.kind == "evaluation_due", ScheduledItem.subject_id == evaluation_id))
                db.session.rollback()
            if count != (appeared[-1][1] if appeared else 0):
                appeared.append((now, count))
        with cross_tenant_scope("scheduler"):
            items = db.session.scalars(select(ScheduledItem).where(ScheduledItem.kind == "evaluation_due")).all()
        assert appeared == [(due_utc, 1)], f"the evaluation fell due at {appeared}, not once at {due_utc}"
        assert [(i.subject_id, i.key, i.due_at) for i in items] == [
            (evaluation_id, f"evaluation_due:{evaluation_id}", due_utc)]
