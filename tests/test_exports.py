"""Export schedules and runs: the cron, time zone and period rules, the dispatcher's finder (DST, no catch-up
storm), idempotent runs and regeneration, the period rule across a funder's schedules and runs, the funder's
pseudonym key, and the audit of every generation.

Runs are made in-process by the use cases (:mod:`core.exports.runs`) and by :func:`core.scheduling.runner.run`
in the scope a worker would enter; delivery is tests/test_export_delivery.py, the API tests/test_exports_api.py.
"""
from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from marshmallow import ValidationError
from sqlalchemy import delete, select, text, update

from core.audit import AuditEvent
from core.auth import roles as R
from core.auth.models import Membership, User
from core.errors import Conflict
from core.exports import delivery, pseudonyms, rules, runs, schedules
from core.exports.access import Scope
from core.exports.models import DONE, ExportDelivery, ExportRun, ExportSchedule, FunderSecret
from core.exports.rules import Period
from core.extensions import db
from core.reports import privacy
from core.scheduling import dispatch, runner
from core.scheduling.exports import KIND, key
from core.scheduling.models import ScheduledItem
from core.scheduling.registry import kinds
from tenants import context, rls
from tenants.context import cross_tenant_scope, tenant_scope
from tenants.models import Consortium, Municipality
from tests.conftest import add_user, enable_policy

#: The scope the tests read in (the use cases enter each schedule's own scope themselves).
READ_ALL = "consortium-aggregation"
#: The report plugins a municipality's policy enables for its exports.
REPORTS = {"report.csv": {}, "report.xlsx": {}, "report.pdf": {}, "report.json": {}}


# ----------------------------------------------------------------------------- helpers (the other export tests too)

def add_funder(email: str, *, municipality: str | None = None, consortium: str | None = None) -> int:
    """A user with the funder role on a municipality or a consortium (by slug); its id."""
    with cross_tenant_scope("platform-maintenance"):
        where = (db.session.scalar(select(Municipality).where(Municipality.slug == municipality)) if municipality
                 else None)
        region = db.session.scalar(select(Consortium).where(Consortium.slug == consortium)) if consortium else None
        user = add_user(email, R.FUNDER, municipality=where, consortium=region)
        db.session.commit()
        return user.id


def funder_id(world) -> int:
    """The world's funder (Aalten)."""
    return db.session.scalar(select(User.id).where(User.email == world.users[R.FUNDER]))


def make_schedule(scope: Scope, funder_email: str, **settings) -> ExportSchedule:
    """A schedule made by the use case (committed); *settings* over a monthly JSON download."""
    data = {"funder_email": funder_email, "cron": "0 6 1 * *", "period": "month", "format": "json",
            "channel": "download", **settings}
    schedule, _ = schedules.create(scope, data)
    db.session.commit()
    return schedule


def match_month(world, slug: str = "aalten") -> Period:
    """The month in which the world's match of *slug* started its trial (its billing is in that month)."""
    with tenant_scope(world.ids[slug]):
        from core.programme.models import Match

        started = db.session.scalar(select(Match.trial_on).where(Match.id == world.records[slug]["match"]))
    return Period.starting("month", started.replace(day=1))


def backdate(schedule_id: int, when: datetime) -> None:
    """Pretend the schedule was made at *when*."""
    with cross_tenant_scope("platform-maintenance"):
        db.session.execute(update(ExportSchedule).where(ExportSchedule.id == schedule_id).values(created_at=when))
        db.session.commit()


def run_item(item_id: int) -> str:
    """Do a scheduled item as a worker would: in its tenant, or its kind's cross-tenant scope."""
    with cross_tenant_scope("scheduler"):
        item = db.session.get(ScheduledItem, item_id)
        tenant_id, kind = item.tenant_id, item.kind
        db.session.rollback()
    with runner.scope(tenant_id, kinds()[kind].cross_scope):
        return runner.run(item_id)


def export_items(now: datetime) -> list[ScheduledItem]:
    """The export items after the dispatcher's find-and-mark at *now*, by id."""
    dispatch.collect(now)
    with cross_tenant_scope("scheduler"):
        found = db.session.scalars(select(ScheduledItem).where(ScheduledItem.kind == KIND)
                                   .order_by(ScheduledItem.id)).all()
        for item in found:
            db.session.expunge(item)
    return found


def keys(now: datetime) -> list[str]:
    return [item.key for item in export_items(now)]


def audit_events(action: str) -> list[AuditEvent]:
    with cross_tenant_scope("platform-maintenance"):
        found = db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                   .order_by(AuditEvent.id)).all()
        for event in found:
            db.session.expunge(event)
    return found


# ----------------------------------------------------------------------------- rules without a database

@pytest.mark.parametrize("cron", ["0 6 1 * *", "15 * * * *", "0 6 * * 1-5", "@daily", "@HOURLY", " 0  6 1 * * ",
                                  "0 6 L * *", "0 0 1 1,4,7,10 *"])
def test_a_cron_expression_that_fires_at_most_once_an_hour_is_accepted(cron):
    assert rules.check_cron(cron) == []


@pytest.mark.parametrize("cron, code", [
    ("* * * * *", "cron_too_often"), ("*/5 6 * * *", "cron_too_often"), ("0,30 * * * *", "cron_too_often"),
    ("0-59 6 * * *", "cron_too_often"), ("0 6 1 * * 30", "invalid_cron"), ("0 6 1 *", "invalid_cron"),
    ("0 25 * * *", "invalid_cron"), ("a b c d e", "invalid_cron"), ("@reboot", "invalid_cron"),
    ("0 0 30 2 *", "invalid_cron"), ("", "invalid_cron"), ("0 " * 60, "invalid_cron")])
def test_a_cron_expression_that_fires_more_often_or_never_or_is_no_cron_is_refused(cron, code):
    [problem] = rules.check_cron(cron)
    assert problem.code == code


def test_time_zones_are_iana_names_and_a_webhook_is_https_without_a_login():
    assert rules.check_zone("Europe/Amsterdam") == [] and rules.check_zone("America/Curacao") == []
    for zone in ("CEST", "Europe/Nowhere", "../../etc/passwd", "Europe/amsterdam"):
        assert [p.code for p in rules.check_zone(zone)] == ["invalid_time_zone"], zone
    assert rules.check_webhook_url("https://funder.example/hooks/koppel?x=1") == []
    refused = {"http://funder.example/hook": "webhook_not_https", "ftp://funder.example": "webhook_not_https",
               "https://user:pw@funder.example/": "invalid_webhook_url", "https:///path": "invalid_webhook_url",
               "https://funder.example/#frag": "invalid_webhook_url",
               "https://funder.example:99999/": "invalid_webhook_url",
               "https://" + "a" * 2000: "invalid_webhook_url", "": "invalid_webhook_url"}
    for url, code in refused.items():
        assert [p.code for p in rules.check_webhook_url(url)] == [code], url


@pytest.mark.parametrize("moment, kind, zone, expected", [
    ("2026-04-01T04:00:00+00:00", "month", "Europe/Amsterdam", ("2026-03-01", "2026-03-31")),
    ("2026-03-31T22:30:00+00:00", "month", "Europe/Amsterdam", ("2026-03-01", "2026-03-31")),  # April 1st, local
    ("2026-03-31T22:30:00+00:00", "month", "UTC", ("2026-02-01", "2026-02-28")),
    ("2026-01-01T00:00:00+00:00", "month", "UTC", ("2025-12-01", "2025-12-31")),
    ("2026-05-17T12:00:00+00:00", "quarter", "Europe/Amsterdam", ("2026-01-01", "2026-03-31")),
    ("2026-01-02T12:00:00+00:00", "quarter", "Europe/Amsterdam", ("2025-10-01", "2025-12-31")),
    ("2026-12-31T12:00:00+00:00", "year", "Europe/Amsterdam", ("2025-01-01", "2025-12-31")),
])
def test_a_run_covers_the_last_completed_calendar_period_before_it(moment, kind, zone, expected):
    period = rules.period_before(datetime.fromisoformat(moment), kind, zone)
    assert (period.start.isoformat(), period.end.isoformat()) == expected


@pytest.mark.parametrize("cron, kind", [("0 6 * * 1", "month"), ("30 2 * * *", "quarter"), ("0 0 1 * *", "year"),
                                        ("45 23 L * *", "month")])
def test_consecutive_fires_cover_consecutive_periods_that_never_overlap(cron, kind):
    """Every fire time of two years, read as the dispatcher would, gives one period after another."""
    zone = "Europe/Amsterdam"
    now, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 12, 31, 23, 30, tzinfo=UTC)
    periods = []
    while (fired := rules.next_fire(cron, zone, now)) < end:
        period = rules.period_before(fired, kind, zone)
        # the dispatcher at the fire time itself sees it (or, at the hour repeated in October, the first of the two)
        seen = rules.last_fire(cron, zone, fired)
        assert fired - timedelta(hours=1) <= seen <= fired and rules.period_before(seen, kind, zone) == period
        if not periods or periods[-1] != period:
            periods.append(period)
        now = fired
    for before, after in zip(periods, periods[1:]):
        assert after.start == before.end + timedelta(days=1), (before, after)
    assert len(periods) >= {"month": 23, "quarter": 7, "year": 2}[kind]  # two years' worth, none left out


# ----------------------------------------------------------------------------- the dispatcher's finder

def test_the_dispatcher_makes_one_item_per_period_for_the_latest_fire_time_only(app, world):
    with app.app_context(), cross_tenant_scope(READ_ALL):
        schedule = make_schedule(Scope(tenant_id=world.ids["aalten"]), world.users[R.FUNDER])
        backdate(schedule.id, datetime(2025, 6, 1, tzinfo=UTC))
        # the dispatcher was down since; at 2026-03-10 it makes one item, for February only (no catch-up storm)
        [item] = export_items(datetime(2026, 3, 10, 12, tzinfo=UTC))
        assert item.key == key(schedule.id, Period.starting("month", date(2026, 2, 1)))
        assert (item.tenant_id, item.subject_id, item.consortium_id) == (world.ids["aalten"], schedule.id, None)
        assert item.due_at == datetime(2026, 3, 1, 5, tzinfo=UTC)  # 06:00 in Amsterdam, winter time
        assert keys(datetime(2026, 3, 31, 23, tzinfo=UTC)) == [item.key]  # 1 April, 01:00 local: not yet
        april = export_items(datetime(2026, 4, 1, 4, 0, 30, tzinfo=UTC))  # 06:00 local, summer time
        assert [i.key for i in april] == [item.key, key(schedule.id, Period.starting("month", date(2026, 3, 1)))]
        # a schedule made after its last fire time waits for the next; an inactive one never fires
        later = make_schedule(Scope(tenant_id=world.ids["aalten"]), world.users[R.FUNDER], cron="0 7 1 * *")
        backdate(later.id, datetime(2026, 4, 1, 5, 30, tzinfo=UTC))
        schedules.update(later, {"active": False})
        db.session.commit()
        assert len(export_items(datetime(2026, 5, 1, 6, tzinfo=UTC))) == 3


def test_a_schedule_whose_cron_cannot_be_read_does_not_stop_the_dispatcher(app, world):
    with app.app_context(), cross_tenant_scope(READ_ALL):
        broken = make_schedule(Scope(tenant_id=world.ids["aalten"]), world.users[R.FUNDER])
        fine = make_schedule(Scope(tenant_id=world.ids["aalten"]), world.users[R.FUNDER], cron="0 7 1 * *")
        for schedule_id in (broken.id, fine.id):
            backdate(schedule_id, datetime(2026, 1, 15, tzinfo=UTC))
        with cross_tenant_scope("platform-maintenance"):  # as if saved by an older version with other rules
            db.session.execute(update(ExportSchedule).where(ExportSchedule.id == broken.id)
                               .values(cron="61 6 1 * *", time_zone="Nowhere/Atlantis"))
            db.session.commit()
        assert [i.subject_id for i in export_items(datetime(2026, 2, 1, 7, tzinfo=UTC))] == [fine.id]


def test_a_schedule_fires_on_its_own_wall_clock_across_both_changes_of_the_clocks(app, world):
    with app.app_context(), cross_tenant_scope(READ_ALL):
        aalten = Scope(tenant_id=world.ids["aalten"])
        nightly = make_schedule(aalten, world.users[R.FUNDER], cron="30 2 * * *")
        backdate(nightly.id, datetime(2026, 3, 28, 2, tzinfo=UTC))  # after its fire of that night
        # 29 March: 02:30 does not exist in Amsterdam; it fires at 03:00 summer time (01:00 UTC), once
        assert export_items(datetime(2026, 3, 29, 0, 59, tzinfo=UTC)) == []
        [spring] = export_items(datetime(2026, 3, 29, 1, 0, 30, tzinfo=UTC))
        assert spring.due_at == datetime(2026, 3, 29, 1, tzinfo=UTC) and spring.key.endswith(":month:2026-02-01")
        assert keys(datetime(2026, 3, 30, 1, tzinfo=UTC)) == [spring.key]
        # 25 October: 02:30 comes twice (summer time, then winter time); both give September's one item
        schedules.update(nightly, {"active": False})
        db.session.commit()
        autumn = make_schedule(aalten, world.users[R.FUNDER], cron="30 2 * * *")
        backdate(autumn.id, datetime(2026, 10, 24, tzinfo=UTC))
        first = export_items(datetime(2026, 10, 25, 0, 30, 30, tzinfo=UTC))[-1]
        assert first.key == key(autumn.id, Period.starting("month", date(2026, 9, 1)))
        assert keys(datetime(2026, 10, 25, 1, 30, 30, tzinfo=UTC))[-1] == first.key
        # and the local midnight of 1 November (23:00 UTC on 31 October) gives October
        midnight = make_schedule(aalten, world.users[R.FUNDER], cron="0 0 1 * *")
        backdate(midnight.id, datetime(2026, 10, 24, tzinfo=UTC))
        newest = export_items(datetime(2026, 10, 31, 23, 0, 30, tzinfo=UTC))[-1]
        assert newest.key == key(midnight.id, Period.starting("month", date(2026, 10, 1)))


# ----------------------------------------------------------------------------- runs

def test_a_period_is_made_once_and_a_regeneration_keeps_the_old_file(app, world):
    with app.app_context(), cross_tenant_scope(READ_ALL):
        enable_policy(world.ids["aalten"], REPORTS)
        schedule = make_schedule(Scope(tenant_id=world.ids["aalten"]), world.users[R.FUNDER], format="csv")
        period = match_month(world)
        first, made = runs.produce(schedule, period)
        db.session.commit()
        assert made and first.version == 1 and first.status == DONE and first.size == len(first.content) > 0
        assert first.file_name == f"koppel-aalten-{period.start:%Y-%m}.csv"
        assert first.media_type.startswith("text/csv") and first.funder_id == funder_id(world)
        again, made = runs.produce(schedule, period)
        db.session.commit()
        assert not made and again.id == first.id and again.content == first.content
        import hashlib

        assert hashlib.sha256(first.content).hexdigest() == first.sha256
        with tenant_scope(world.ids["aalten"]):
            new = runs.regenerate(first)
            db.session.commit()
            old = db.session.get(ExportRun, first.id)
            assert (new.version, new.period_start, new.id != old.id) == (2, period.start, True)
            assert old.superseded_by_id == new.id and old.superseded_at is not None and old.content == first.content
            assert new.file_name == f"koppel-aalten-{period.start:%Y-%m}-v2.csv"
            assert runs.current(schedule.id, period).id == new.id
            assert runs.produce(schedule, period) == (new, False)  # the current version stands
            assert db.session.scalars(select(ExportDelivery.channel).where(ExportDelivery.run_id == new.id)).all() == [
                "download"]
        generated, regenerated = audit_events("export.generate"), audit_events("export.regenerate")
        assert [e.object_id for e in generated] == [str(first.id), str(new.id)]
        assert [e.object_id for e in regenerated] == [str(new.id)]
        assert regenerated[0].detail["supersedes"] == first.id and generated[0].detail["sha256"] == first.sha256
        assert {e.tenant_id for e in generated + regenerated} == {world.ids["aalten"]}
        written = json.dumps([e.detail for e in generated + regenerated])
        assert "@" not in written and "Jansen" not in written


def test_each_funder_has_its_own_pseudonym_key_so_two_funders_exports_cannot_be_linked(app, world):
    with app.app_context(), cross_tenant_scope(READ_ALL):
        enable_policy(world.ids["aalten"], REPORTS)
        other = add_funder("tweede-financier@example.org", municipality="aalten")
        aalten = Scope(tenant_id=world.ids["aalten"])
        period = match_month(world)
        mine = runs.produce(make_schedule(aalten, world.users[R.FUNDER]), period)[0]
        theirs = runs.produce(make_schedule(aalten, "tweede-financier@example.org"), period)[0]
        db.session.commit()
        keys = {user_id: pseudonyms.key_of(user_id) for user_id in (funder_id(world), other)}
        assert all(len(k) == 32 for k in keys.values()) and len(set(keys.values())) == 2
        assert pseudonyms.key_of(other) == keys[other]  # made once, then kept
        assert db.session.scalar(select(db.func.count()).select_from(FunderSecret)) == 2
        family = world.records["aalten"]["family"]
        names = {user_id: privacy.pseudonym(k, world.ids["aalten"], family) for user_id, k in keys.items()}
        assert names[funder_id(world)] in mine.content.decode() and names[other] not in mine.content.decode()
        assert names[other] in theirs.content.decode() and names[funder_id(world)] not in theirs.content.decode()
        for run in (mine, theirs):  # no name, no id used elsewhere
            document = run.content.decode()
            assert "Jansen" not in document and "Vries" not in document
            assert f'"{family}"' not in document and json.loads(document)["title"]


def test_no_export_of_a_funder_lies_within_another(app, world):
    with app.app_context(), cross_tenant_scope(READ_ALL):
        enable_policy(world.ids["aalten"], REPORTS)
        add_funder("regio-financier@example.org", consortium="achterhoek")
        aalten, achterhoek = Scope(tenant_id=world.ids["aalten"]), Scope(consortium_id=world.ids["achterhoek"])
        monthly = make_schedule(aalten, "regio-financier@example.org")
        # the same funder's schedules of Aalten, and of its consortium, all cover months
        with pytest.raises(ValidationError) as refused:
            schedules.create(achterhoek, {"funder_email": "regio-financier@example.org", "cron": "0 6 1 1 *",
                                          "period": "year", "format": "json", "channel": "download"})
        assert refused.value.messages["period"][0].code == "period_mismatch"
        db.session.rollback()
        assert make_schedule(achterhoek, "regio-financier@example.org").consortium_id == world.ids["achterhoek"]
        with pytest.raises(ValidationError):  # nor may one of them change alone
            schedules.update(monthly, {"period": "quarter"})
        db.session.rollback()
        # another funder is free to take quarters
        add_funder("kwartaal-financier@example.org", municipality="aalten")
        make_schedule(aalten, "kwartaal-financier@example.org", period="quarter", cron="0 6 1 1,4,7,10 *")
        # once January was sent monthly, a first quarter would contain it: refused when it runs; the next is fine
        runs.produce(monthly, Period.starting("month", date(2026, 1, 1)))
        db.session.commit()
        with cross_tenant_scope("platform-maintenance"):
            db.session.execute(delete(ExportSchedule).where(ExportSchedule.consortium_id == world.ids["achterhoek"]))
            db.session.commit()
        schedules.update(monthly, {"period": "quarter"})
        db.session.commit()
        with pytest.raises(Conflict) as nested:
            runs.produce(monthly, Period.starting("quarter", date(2026, 1, 1)))
        assert nested.value.code == "export_period_overlaps"
        db.session.rollback()
        assert runs.produce(monthly, Period.starting("quarter", date(2026, 4, 1)))[1]


def test_a_funder_without_the_funder_role_gets_no_export_and_is_refused_as_a_recipient(app, world):
    with app.app_context(), cross_tenant_scope(READ_ALL):
        enable_policy(world.ids["aalten"], REPORTS)
        aalten = Scope(tenant_id=world.ids["aalten"])
        for email in ("coordinator@aalten.example", "nobody@example.org", world.users[R.FUNDER].upper()):
            data = {"funder_email": email, "cron": "0 6 1 * *", "period": "month", "format": "json",
                    "channel": "download"}
            if email.isupper():  # the address is matched without regard to case
                assert schedules.create(aalten, data)[0].funder_id == funder_id(world)
                db.session.rollback()
                continue
            with pytest.raises(ValidationError) as refused:
                schedules.create(aalten, data)
            assert refused.value.messages["funder_email"][0].code == "not_a_funder"
            db.session.rollback()
        # Druten's funder cannot receive Aalten's exports
        add_funder("druten-financier@example.org", municipality="druten")
        with pytest.raises(ValidationError):
            schedules.create(aalten, {"funder_email": "druten-financier@example.org", "cron": "0 6 1 * *",
                                      "period": "month", "format": "json", "channel": "download"})
        db.session.rollback()
        schedule = make_schedule(aalten, world.users[R.FUNDER])
        with cross_tenant_scope("platform-maintenance"):
            db.session.execute(delete(Membership).where(Membership.user_id == funder_id(world)))
            db.session.commit()
        with pytest.raises(Conflict) as refused:
            runs.produce(schedule, match_month(world))
        assert refused.value.code == "funder_without_role"
        db.session.rollback()


def test_the_worker_makes_the_file_in_the_schedules_own_scope_and_a_consortiums_is_no_tenants(app, world):
    with app.app_context(), cross_tenant_scope(READ_ALL):
        enable_policy(world.ids["aalten"], REPORTS)
        add_funder("regio-financier@example.org", consortium="achterhoek")
        aalten = make_schedule(Scope(tenant_id=world.ids["aalten"]), world.users[R.FUNDER])
        region = make_schedule(Scope(consortium_id=world.ids["achterhoek"]), "regio-financier@example.org",
                               format="csv")
        for schedule in (aalten, region):
            backdate(schedule.id, datetime(2026, 1, 15, tzinfo=UTC))
        items = export_items(datetime(2026, 2, 1, 5, 0, 30, tzinfo=UTC))
        assert [(i.tenant_id, i.consortium_id) for i in items] == [(world.ids["aalten"], None),
                                                                    (None, world.ids["achterhoek"])]
        assert [run_item(i.id) for i in items] == [runner.DONE_NOW, runner.DONE_NOW]
        assert [run_item(i.id) for i in items] == [runner.NOTHING_TO_DO, runner.NOTHING_TO_DO]
        with cross_tenant_scope("consortium-aggregation"):
            made = db.session.scalars(select(ExportRun).where(ExportRun.schedule_id.in_([aalten.id, region.id]))
                                      .order_by(ExportRun.id)).all()
            assert [(r.tenant_id, r.consortium_id, r.period_start, r.status) for r in made] == [
                (world.ids["aalten"], None, date(2026, 1, 1), DONE), (None, world.ids["achterhoek"], date(2026, 1, 1),
                                                                      DONE)]
            assert made[1].file_name == "koppel-achterhoek-2026-01.csv" and b"Aalten" in made[1].content
            region_run = made[1].id
            db.session.rollback()
        # a consortium's run is nobody's tenant: a municipality sees it neither through the ORM nor in SQL
        with tenant_scope(world.ids["aalten"]):
            assert db.session.get(ExportRun, region_run) is None
            db.session.rollback()
        if db.engine.dialect.name == "postgresql":  # the app role in Aalten's scope (this block runs as the cross role)
            with db.engine.begin() as connection:
                rls.apply_scope(connection, context.Scope(tenant_id=world.ids["aalten"]))
                assert connection.execute(text("SELECT count(*) FROM export_run WHERE tenant_id IS NULL")).scalar() == 0
        # nothing waits to be delivered for a download
        assert delivery.plan(made[0]) is None


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_demo_funder_gets_the_regions_monthly_export(app):
    from core import demo

    with app.app_context():
        demo.seed()
        demo.seed()  # again: still one schedule
        with cross_tenant_scope(READ_ALL):
            [schedule] = db.session.scalars(select(ExportSchedule)).all()
            assert (schedule.consortium_id is not None, schedule.period, schedule.format, schedule.channel) == (
                True, "month", "xlsx", "download")
            assert schedule.funder.email == demo.DEMO_EXPORT["funder_email"]
            run, made = runs.produce(schedule, rules.period_before(datetime.now(UTC), "month", schedule.time_zone))
            assert not made  # the demo made last month's file already: it is the one returned
            assert run.file_name.startswith("koppel-achterhoek-") and run.content[:2] == b"PK"
