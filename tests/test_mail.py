"""Mail: the referrer's messages and the daily digest, sent to a real SMTP server (tests/smtp.py).

Items are found by the dispatcher's first half (:func:`core.scheduling.dispatch.collect`) and done
in-process by :func:`core.scheduling.runner.run`, in the scope a worker would enter.
"""
from __future__ import annotations

import os
from datetime import date, time, timedelta
from email import message_from_bytes, policy

import pytest
from sqlalchemy import func, select, update

from core import mail
from core import notifications
from core.auth.models import Membership, User
from core.extensions import db
from core.messages import Label, Message, label, render
from core.programme import consent, matches
from core.programme.models import Consent, Match, ReferrerNotification
from core.scheduling import dispatch, runner
from core.scheduling.models import PENDING, Notification, ScheduledItem
from core.scheduling.registry import BadData, Transient, at_local, kinds, local_today
from core.types import utcnow
from tenants.context import cross_tenant_scope, tenant_scope
from tenants.models import Municipality

REFERRER = "cjg@example.org"  # every requesting family of the world was referred by this address


def _collect(now, kind: str) -> list[ScheduledItem]:
    """Run the dispatcher's find-and-mark at *now*; the new or re-enqueued items of *kind*."""
    ids = [ticket.item_id for ticket in dispatch.collect(now).tickets]
    with cross_tenant_scope("scheduler"):
        items = db.session.scalars(select(ScheduledItem).where(ScheduledItem.id.in_(ids), ScheduledItem.kind == kind)
                                   .order_by(ScheduledItem.id)).all()
        db.session.expunge_all()
    return items


def _run(item: ScheduledItem) -> str:
    with runner.scope(item.tenant_id, kinds()[item.kind].cross_scope):
        return runner.run(item.id)


def _item(item_id: int) -> ScheduledItem:
    with cross_tenant_scope("scheduler"):
        item = db.session.get(ScheduledItem, item_id)
        db.session.expunge_all()
    return item


def _referrer_item(world, slug: str) -> ScheduledItem:
    return next(i for i in _collect(utcnow(), "referrer_message") if i.tenant_id == world.ids[slug])


def _row(tenant_id: int, match_id: int, event: str = "start") -> ReferrerNotification:
    with tenant_scope(tenant_id):
        row = db.session.scalar(select(ReferrerNotification).where(ReferrerNotification.match_id == match_id,
                                                                   ReferrerNotification.event == event))
        db.session.expunge_all()
    return row


def _special_categories(language: str) -> list[str]:
    """What the referrer must not read: the family's problem area, end reasons, the children, the other family."""
    return [label("problem_area", "overload", language), label("end_reason", "mismatch", language),
            "Bo", "Cas", "Dirk", "de Vries"]


# --- the referrer ------------------------------------------------------------------------------------

def test_the_referrer_hears_of_the_start_and_the_end_once(app, world, smtp_server):
    aalten, match_id = world.ids["aalten"], world.records["aalten"]["match"]
    with app.app_context():
        found = _collect(utcnow(), "referrer_message")
        assert sorted(i.tenant_id for i in found) == sorted(world.ids[s] for s in ("aalten", "berkelland", "druten"))
        item = next(i for i in found if i.tenant_id == aalten)
        assert item.key == f"referrer_message:{_row(aalten, match_id).id}"
        assert _run(item) == runner.DONE_NOW
        expected_id = mail.message_id(item.key)

        [sent] = smtp_server.messages
        assert sent.to == [REFERRER] and sent.authenticated
        headers = sent.message
        assert headers["To"] == REFERRER and headers["Message-ID"] == expected_id
        assert headers["Auto-Submitted"] == "auto-generated" and headers["Date"] is not None
        assert headers["Content-Language"] == "nl, en"
        assert headers["Subject"] == ("Het gezin dat u heeft aangemeld, is begonnen bij een steungezin / "
                                      "The family you referred has started with a supporting family")
        body = sent.body
        assert body.startswith("(English below)")
        assert body.index("Beste verwijzer") < body.index("Dear referrer")
        assert "Familie Jansen" in body and "de gemeente Aalten" in body and "the municipality of Aalten" in body
        assert "begonnen bij een steungezin" in body and "started with a supporting family" in body
        for text in _special_categories("nl") + _special_categories("en"):
            assert text not in body
        row = _row(aalten, match_id)
        assert row.status == "sent" and row.sent_at is not None

        # done once: the same item again, and the dispatcher again, send nothing
        assert _run(item) == runner.NOTHING_TO_DO
        assert [i for i in _collect(utcnow(), "referrer_message") if i.tenant_id == aalten] == []
        with tenant_scope(aalten):
            assert db.session.scalar(select(func.count()).select_from(ScheduledItem)
                                     .where(ScheduledItem.kind == "referrer_message")) == 1
        assert len(smtp_server.messages) == 1

        with tenant_scope(aalten):
            match = db.session.get(Match, match_id)
            matches.transition(match, "ended", date.today(), "tests", end_reason="mismatch", outcome="unknown")
            db.session.commit()
        [end] = [i for i in _collect(utcnow(), "referrer_message") if i.tenant_id == aalten]
        assert _run(end) == runner.DONE_NOW
        sent = smtp_server.messages[-1]
        assert sent.to == [REFERRER] and sent.message["Message-ID"] == mail.message_id(end.key) != expected_id
        body = sent.body
        assert body.index("gestopt bij het steungezin") < body.index("stopped with the supporting family")
        for text in _special_categories("nl") + _special_categories("en"):
            assert text not in body
        assert _row(aalten, match_id, "end").status == "sent"


def test_no_mail_to_the_referrer_without_consent(app, world, smtp_server):
    with app.app_context():
        found = {i.tenant_id: i for i in _collect(utcnow(), "referrer_message")}
        today = local_today(utcnow())
        # withdrawn through the service after the item was made: the row is cancelled, the item sends nothing
        berkelland = world.ids["berkelland"]
        with tenant_scope(berkelland):
            given = consent.active(world.records["berkelland"]["family"], "share_with_referrer")
            consent.withdraw(given, today)
            db.session.commit()
        # withdrawn behind the outbox's back (the row still pending): the item checks consent itself
        druten = world.ids["druten"]
        with tenant_scope(druten):
            db.session.execute(update(Consent).where(Consent.family_id == world.records["druten"]["family"],
                                                     Consent.purpose == "share_with_referrer")
                               .values(withdrawn_on=today))
            db.session.commit()
        assert _row(druten, world.records["druten"]["match"]).status == "pending"
        for tenant_id in (berkelland, druten):
            assert _run(found[tenant_id]) == runner.DONE_NOW
            slug = "berkelland" if tenant_id == berkelland else "druten"
            assert _row(tenant_id, world.records[slug]["match"]).status == "cancelled"
        assert smtp_server.messages == []


# --- faults ------------------------------------------------------------------------------------------

def test_a_mail_server_down_or_busy_means_try_again_and_a_refusal_fails_without_the_address(app, world, smtp_server):
    from tasks.work import _transient

    with app.app_context():
        item = _referrer_item(world, "aalten")
        match_id = world.records["aalten"]["match"]

        def still_pending():
            assert _item(item.id).state == PENDING
            assert _row(world.ids["aalten"], match_id).status == "pending"

        smtp_server.stop()  # connection refused
        with pytest.raises(mail.MailUnavailable) as down:
            _run(item)
        assert isinstance(down.value, Transient) and _transient(down.value)
        still_pending()

        smtp_server.start()
        for where, answer in (("answer", "451 4.3.0 Try again later"), ("refuse_recipient", "450 4.2.1 Mailbox busy"),
                              ("answer", "421 4.3.2 Shutting down")):
            setattr(smtp_server, where, answer)
            with pytest.raises(mail.MailUnavailable) as busy:
                _run(item)
            assert _transient(busy.value), answer
            still_pending()
            setattr(smtp_server, where, None)

        smtp_server.refuse_recipient = "550 5.1.1 <cjg@example.org>: no such user"
        with pytest.raises(BadData) as refused:
            _run(item)
        assert not _transient(refused.value)
        assert "550" in refused.value.reason and "@" not in refused.value.reason and "cjg" not in refused.value.reason
        assert runner.reason_of(refused.value) == refused.value.reason
        still_pending()

        smtp_server.refuse_recipient = None
        assert _run(item) == runner.DONE_NOW
        assert [m.to for m in smtp_server.messages] == [[REFERRER]]


def test_without_an_smtp_url_each_mail_is_an_eml_file(app, world, tmp_path, monkeypatch):
    directory = tmp_path / "mail"
    monkeypatch.setitem(app.config, "SMTP_URL", None)
    monkeypatch.setitem(app.config, "MAIL_DIRECTORY", str(directory))
    with app.app_context():
        item = _referrer_item(world, "aalten")
        assert _run(item) == runner.DONE_NOW
        [path] = directory.iterdir()
        assert path.name == mail.message_id(item.key)[1:].partition("@")[0] + ".eml"
        assert os.stat(path).st_mode & 0o777 == 0o600
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert message["To"] == REFERRER and message["Message-ID"] == mail.message_id(item.key)
        assert message.get_content().index("Beste verwijzer") < message.get_content().index("Dear referrer")
        # the same mail made again is the same file; the id depends on the installation's secret
        again = mail.compose(item.key, REFERRER, {"en": ("Again", "The same item.")})
        mail.send(again)
        assert list(directory.iterdir()) == [path] and "The same item." in path.read_text()
        for unusable in ("a@example.org, b@example.org", "no address", "a@example.org\nBcc: b@example.org"):
            with pytest.raises(BadData):
                mail.compose(item.key, unusable, {"en": ("Again", "The same item.")})
        monkeypatch.setitem(app.config, "SECRET_KEY", "another installation")
        assert mail.message_id(item.key) != message["Message-ID"]


# --- the digest --------------------------------------------------------------------------------------

def _at_seven(day: date):
    return at_local(day, time(7, 5))


def _notify(tenant_id: int, users: list[int], key: str, message: Message) -> None:
    with tenant_scope(tenant_id):
        notifications.notify(users, "test", key, message)
        db.session.commit()


def test_the_digest_mails_each_user_once_a_day_with_all_that_is_new(app, world, smtp_server):
    aalten, berkelland = world.ids["aalten"], world.ids["berkelland"]
    due = Message("Evaluation due: %(kind)s of match %(match)s, on %(date)s.",
                  {"kind": Label("evaluation_kind", "periodic"), "match": 7, "date": date(2026, 3, 2)})
    overdue = Message("Reminder: the %(kind)s evaluation of match %(match)s was due on %(date)s and is still open.",
                      {"kind": Label("evaluation_kind", "trial_end"), "match": 8, "date": date(2026, 2, 1)})
    with app.app_context():
        with cross_tenant_scope("platform-maintenance"):
            users = {u.email.split("@")[0]: u for u in db.session.scalars(select(User))}
            users["anna"].memberships.append(Membership(role="coordinator", municipality_id=berkelland))
            users["bart"].language = "en"
            users["tenant-admin"].active = False  # and the funder is no coordinator: neither gets a digest
            ids = {name: user.id for name, user in users.items()}
            db.session.commit()
        everyone = [ids[n] for n in ("anna", "bart", "coordinator", "tenant-admin", "funder")]
        _notify(aalten, everyone, "due:7", due)
        _notify(berkelland, [ids["anna"], ids["bart"]], "overdue:8", overdue)  # bart is not in Berkelland
        with tenant_scope(aalten):
            db.session.execute(update(Notification).where(Notification.user_id == ids["coordinator"])
                               .values(read_at=utcnow()))  # read in the app already: not mailed
            db.session.commit()

        with cross_tenant_scope("scheduler"):  # the world's own notifications are mailed already
            mailed_before = set(db.session.scalars(select(Notification.user_id)
                                                   .where(Notification.mailed_at.is_not(None))))
        tomorrow = local_today(utcnow()) + timedelta(days=1)
        found = _collect(_at_seven(tomorrow), "digest")
        assert sorted(i.subject_id for i in found) == sorted([ids["anna"], ids["bart"]])
        assert {i.key for i in found} == {f"digest:{ids[n]}:{tomorrow.isoformat()}" for n in ("anna", "bart")}
        assert {i.tenant_id for i in found} == {None}
        assert all(_run(i) == runner.DONE_NOW for i in found)

        by_user = {m.to[0].split("@")[0]: m for m in smtp_server.messages}
        assert sorted(by_user) == ["anna", "bart"]
        body = by_user["anna"].body
        assert body.startswith("(English below)") and body.index("Beste anna,") < body.index("Dear anna,")
        assert body.index("Gemeente Aalten") < body.index("Gemeente Berkelland") < body.index("Municipality of Aalten")
        for message in (due, overdue):
            assert render(message, "nl") in body and render(message, "en") in body
        assert by_user["anna"].message["Message-ID"] == mail.message_id(f"digest:{ids['anna']}:{tomorrow.isoformat()}")
        english = by_user["bart"].body
        assert "Beste" not in english and "(English below)" not in english and "Dear bart," in english
        assert render(due, "en") in english and render(overdue, "en") not in english
        assert by_user["bart"].message["Subject"] == f"Your Koppel summary of {tomorrow:%B} {tomorrow.day}, {tomorrow.year}"

        with cross_tenant_scope("scheduler"):
            mailed = dict(db.session.execute(select(Notification.user_id, Notification.mailed_at)
                                             .where(Notification.mailed_at.is_not(None))
                                             .order_by(Notification.user_id)).all())
        assert set(mailed) - mailed_before == {ids["anna"], ids["bart"]}

        # nothing twice: the item again, the dispatcher again, the next day with nothing new
        assert all(_run(i) == runner.NOTHING_TO_DO for i in found)
        assert _collect(_at_seven(tomorrow), "digest") == []
        assert _collect(_at_seven(tomorrow + timedelta(days=1)), "digest") == []
        assert len(smtp_server.messages) == 2

        # something new after the day's digest waits for the next one, and comes alone
        later = Message("Only a failed item can be run again; this one is %(state)s.", {"state": "done"})
        _notify(aalten, [ids["anna"]], "later", later)
        assert _collect(_at_seven(tomorrow), "digest") == []
        [next_day] = _collect(_at_seven(tomorrow + timedelta(days=1)), "digest")
        assert _run(next_day) == runner.DONE_NOW
        body = smtp_server.messages[-1].body
        assert render(later, "nl") in body and render(due, "nl") not in body
        assert len(smtp_server.messages) == 3


def test_a_suspended_municipality_waits_and_the_digest_sends_nothing_then(app, world, smtp_server):
    aalten = world.ids["aalten"]
    with app.app_context():
        with cross_tenant_scope("platform-maintenance"):
            anna = db.session.scalar(select(User.id).where(User.email == world.users["person"]))
            db.session.execute(update(Municipality).where(Municipality.id == aalten).values(status="suspended"))
            db.session.commit()
        _notify(aalten, [anna], "k", Message("Dear referrer,"))
        tomorrow = local_today(utcnow()) + timedelta(days=1)
        assert _collect(_at_seven(tomorrow), "digest") == []
        assert smtp_server.messages == []
