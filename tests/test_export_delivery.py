"""Delivering exports: a signed HTTPS POST to a real local receiver with a test certificate (tests/webhook.py),
a mail with a link to a real SMTP server (tests/smtp.py), every attempt recorded, faults that pass tried again,
refusals failing with their reason; and at the end the whole way through the dispatcher, Redis and a real
worker process, which tries a receiver that answered 503 again after its backoff.

Items are done in-process by :func:`core.scheduling.runner.run` in the scope a worker would enter (as
tests/test_mail.py does), except in the last test.
"""
from __future__ import annotations

import ipaddress

import hashlib
import hmac
import time
from datetime import UTC, timedelta

import pytest
from sqlalchemy import select

from core.auth import roles as R
from core.exports import delivery, runs, signing
from core.exports.access import Scope
from core.exports.models import DONE, FAILED, PENDING, ExportDelivery, ExportRun, ExportSchedule
from core.extensions import db
from core.scheduling import dispatch, runner
from core.scheduling.models import DONE as ITEM_DONE
from core.scheduling.models import ScheduledItem
from core.scheduling.registry import BadData
from core.types import utcnow
from tasks.work import _transient
from tenants.context import cross_tenant_scope
from tests.conftest import enable_policy
from tests.test_exports import READ_ALL, REPORTS, backdate, make_schedule, match_month, run_item
from tests.webhook import Receiver
from tests.workers import _scheduling

pg = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
PUBLIC_URL = "https://koppel.example.org"


def _stored(app, world, **settings) -> tuple[int, str | None, int, int | None]:
    """A schedule of Aalten's funder (*settings* over a monthly CSV), its file of the match's month stored and
    its delivery planned: (run id, webhook secret, schedule id, delivery item id)."""
    enable_policy(world.ids["aalten"], REPORTS)
    from core.exports import schedules

    data = {"funder_email": world.users[R.FUNDER], "cron": "0 6 1 * *", "period": "month", "format": "csv",
            "channel": "webhook", **settings}
    schedule, secret = schedules.create(Scope(tenant_id=world.ids["aalten"]), data)
    run, _ = runs.produce(schedule, match_month(world))
    item = delivery.plan(run)
    db.session.commit()
    return run.id, secret, schedule.id, item.id if item else None


def _run(run_id: int) -> ExportRun:
    return db.session.get(ExportRun, run_id)


def _attempts(run_id: int) -> list[tuple]:
    return [(d.channel, d.outcome, d.status_code) for d in db.session.scalars(
        select(ExportDelivery).where(ExportDelivery.run_id == run_id).order_by(ExportDelivery.id))]


def _item_state(item_id: int) -> str:
    with cross_tenant_scope("scheduler"):
        state = db.session.scalar(select(ScheduledItem.state).where(ScheduledItem.id == item_id))
        db.session.rollback()
    return state


def _signed(secret: str, received) -> bool:
    """The receiver's own check: HMAC-SHA256 under the secret of ``timestamp + "." + body``, in constant time,
    and a timestamp within five minutes."""
    timestamp, given = received.headers["x-koppel-timestamp"], received.headers["x-koppel-signature"]
    expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + received.body,
                                    hashlib.sha256).hexdigest()
    return abs(time.time() - int(timestamp)) <= 300 and hmac.compare_digest(expected, given)


# ----------------------------------------------------------------------------- webhook

def test_a_webhook_posts_the_stored_file_signed_with_its_checksum_and_id(app, world, webhook_receiver):
    with app.app_context(), cross_tenant_scope(READ_ALL):
        run_id, secret, _, item_id = _stored(app, world, webhook_url=webhook_receiver.url)
        assert secret.startswith("whsec_") and _run(run_id).status == PENDING
        assert run_item(item_id) == runner.DONE_NOW
        [received] = webhook_receiver.received
        run = _run(run_id)
        assert received.path == "/koppel/exports?source=koppel" and received.body == run.content
        assert hashlib.sha256(received.body).hexdigest() == received.headers["x-koppel-content-sha256"] == run.sha256
        assert received.headers["x-koppel-export-id"] == str(run_id)
        assert received.headers["content-type"] == run.media_type
        assert run.file_name in received.headers["content-disposition"]
        assert _signed(secret, received) and not _signed(secret + "x", received)
        assert signing.verify(secret, received.headers["x-koppel-timestamp"], received.headers["x-koppel-signature"],
                              received.body, now=time.time())
        tampered = received.body.replace(b";", b",", 1)
        assert not signing.verify(secret, received.headers["x-koppel-timestamp"],
                                  received.headers["x-koppel-signature"], tampered, now=time.time())
        assert not signing.verify(secret, received.headers["x-koppel-timestamp"],
                                  received.headers["x-koppel-signature"], received.body, now=time.time() + 3600)
        assert run.status == DONE and _attempts(run_id) == [("webhook", "delivered", 200)]
        assert run_item(item_id) == runner.NOTHING_TO_DO and len(webhook_receiver.received) == 1


def test_a_receiver_that_answers_503_gets_the_same_bytes_again_until_it_takes_them(app, world, webhook_receiver):
    with app.app_context(), cross_tenant_scope(READ_ALL):
        run_id, secret, _, item_id = _stored(app, world, webhook_url=webhook_receiver.url)
        webhook_receiver.answers = [503, 429]
        for status in (503, 429):
            with pytest.raises(delivery.ReceiverUnavailable) as later:
                run_item(item_id)
            assert _transient(later.value) and str(status) in str(later.value)
            assert _item_state(item_id) == "pending" and _run(run_id).status == PENDING
        assert run_item(item_id) == runner.DONE_NOW
        bodies = {r.body for r in webhook_receiver.received}
        assert [r.answered for r in webhook_receiver.received] == [503, 429, 200] and len(bodies) == 1
        assert all(_signed(secret, r) for r in webhook_receiver.received)
        assert {r.headers["x-koppel-content-sha256"] for r in webhook_receiver.received} == {_run(run_id).sha256}
        if db.engine.dialect.name == "postgresql":  # each attempt in a transaction of its own
            assert _attempts(run_id) == [("webhook", "retry", 503), ("webhook", "retry", 429),
                                         ("webhook", "delivered", 200)]
        else:  # SQLite: a failed attempt is rolled back with its item (its reason stays on the item)
            assert _attempts(run_id) == [("webhook", "delivered", 200)]


@pytest.mark.parametrize("answer, reason", [(410, "refused the export (410)"), (400, "refused the export (400)"),
                                            (308, "redirect, which is not followed")])
def test_a_receiver_that_refuses_or_redirects_fails_the_delivery_for_good(app, world, webhook_receiver, answer,
                                                                          reason):
    with app.app_context(), cross_tenant_scope(READ_ALL):
        run_id, _, _, item_id = _stored(app, world, webhook_url=webhook_receiver.url)
        webhook_receiver.answers = [answer]
        with pytest.raises(BadData) as refused:
            run_item(item_id)
        assert not _transient(refused.value) and reason in refused.value.reason
        assert "127.0.0.1" not in refused.value.reason and "koppel/exports" not in refused.value.reason
        if db.engine.dialect.name == "postgresql":
            assert _attempts(run_id) == [("webhook", "refused", answer)]


def test_a_slow_unreachable_or_untrusted_receiver(app, world, webhook_receiver, monkeypatch):
    with app.app_context(), cross_tenant_scope(READ_ALL):
        run_id, _, _, item_id = _stored(app, world, webhook_url=webhook_receiver.url)
        monkeypatch.setitem(app.config, "WEBHOOK_TIMEOUT_SECONDS", 1)
        webhook_receiver.delay = 2.5
        with pytest.raises(delivery.ReceiverUnavailable) as slow:
            run_item(item_id)
        assert _transient(slow.value) and "within 1 s" in str(slow.value)
        webhook_receiver.delay = 0
        # a certificate from a CA that Koppel does not trust is refused, for good
        monkeypatch.setitem(app.config, "WEBHOOK_CA_FILE", None)
        with pytest.raises(BadData) as untrusted:
            run_item(item_id)
        assert "certificate is not trusted" in untrusted.value.reason
        monkeypatch.setitem(app.config, "WEBHOOK_CA_FILE", str(webhook_receiver.ca_file))
        webhook_receiver.stop()
        assert webhook_receiver.refused()
        with pytest.raises(delivery.ReceiverUnavailable) as down:
            run_item(item_id)
        assert _transient(down.value) and "cannot be reached" in str(down.value)
        assert _item_state(item_id) == "pending" and _run(run_id).status == PENDING
        if db.engine.dialect.name == "postgresql":
            assert [a[:2] for a in _attempts(run_id)] == [("webhook", "retry"), ("webhook", "refused"),
                                                          ("webhook", "retry")]
        webhook_receiver.start()  # the same port: the next attempt arrives
        assert run_item(item_id) == runner.DONE_NOW and _run(run_id).status == DONE
        assert [r.answered for r in webhook_receiver.received][-1] == 200


def test_a_receiver_on_a_network_that_is_not_public_is_refused_unless_allowed(app, world, webhook_receiver,
                                                                                monkeypatch):
    """A webhook cannot reach the platform's own network (loopback here): refused for good before anything is
    sent, unless an operator allows that network (WEBHOOK_PRIVATE_NETWORKS)."""
    with app.app_context(), cross_tenant_scope(READ_ALL):
        run_id, _, _, item_id = _stored(app, world, webhook_url=webhook_receiver.url)
        monkeypatch.setitem(app.config, "WEBHOOK_PRIVATE_NETWORKS", ())
        with pytest.raises(BadData) as refused:
            run_item(item_id)
        assert "not public" in refused.value.reason and webhook_receiver.received == []
        monkeypatch.setitem(app.config, "WEBHOOK_PRIVATE_NETWORKS", (ipaddress.ip_network("10.0.0.0/8"),))
        with pytest.raises(BadData):
            run_item(item_id)
        monkeypatch.setitem(app.config, "WEBHOOK_PRIVATE_NETWORKS", (ipaddress.ip_network("127.0.0.0/8"),))
        assert run_item(item_id) == runner.DONE_NOW and len(webhook_receiver.received) == 1


def test_a_delivery_that_failed_for_good_fails_its_run_and_runs_again_on_request(app, world, webhook_receiver):
    from core.scheduling import status

    with app.app_context(), cross_tenant_scope(READ_ALL):
        run_id, _, _, item_id = _stored(app, world, webhook_url=webhook_receiver.url)
        webhook_receiver.answers = [404]
        with pytest.raises(BadData) as refused:
            run_item(item_id)
        runner.record_failure(item_id, runner.reason_of(refused.value), final=True)  # as the task records it
        dispatch.collect(utcnow())  # the sweep
        assert _run(run_id).status == FAILED
        with cross_tenant_scope("scheduler"):
            item = db.session.get(ScheduledItem, item_id)
            assert item.error == "the receiver refused the export (404)"
            status.run_again(item)
            db.session.commit()
        assert run_item(item_id) == runner.DONE_NOW and _run(run_id).status == DONE
        # a superseded run, or one of a schedule deactivated since, is not sent
        run = _run(run_id)
        with Scope.of(run).entered():
            new = runs.regenerate(run)
            item = delivery.plan(new)
            db.session.commit()
            db.session.get(ExportSchedule, new.schedule_id).active = False
            db.session.commit()
        assert run_item(item.id) == runner.DONE_NOW and len(webhook_receiver.received) == 2
        assert _run(new.id).status == FAILED
        assert _attempts(new.id) == [("webhook", "cancelled", None)]
        assert "deactivated" in db.session.scalar(select(ExportDelivery.error).where(ExportDelivery.run_id == new.id))


def test_nothing_is_sent_to_a_funder_who_lost_the_funder_role(app, world, webhook_receiver):
    from sqlalchemy import delete

    from core.auth.models import Membership, User

    with app.app_context(), cross_tenant_scope(READ_ALL):
        run_id, _, _, item_id = _stored(app, world, webhook_url=webhook_receiver.url)
        with cross_tenant_scope("platform-maintenance"):
            funder = db.session.scalar(select(User.id).where(User.email == world.users[R.FUNDER]))
            db.session.execute(delete(Membership).where(Membership.user_id == funder))
            db.session.commit()
        with pytest.raises(BadData) as refused:
            run_item(item_id)
        assert "no longer holds the funder role" in refused.value.reason and webhook_receiver.received == []
        if db.engine.dialect.name == "postgresql":
            assert _attempts(run_id) == [("webhook", "refused", None)]


# ----------------------------------------------------------------------------- e-mail

def test_an_email_export_is_a_mail_with_a_link_to_the_download_never_the_file(app, world, client, smtp_server,
                                                                           monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_URL", PUBLIC_URL)
    with app.app_context(), cross_tenant_scope(READ_ALL):
        run_id, secret, _, item_id = _stored(app, world, channel="email")
        assert secret is None
        assert run_item(item_id) == runner.DONE_NOW
        run = _run(run_id)
        [mail] = smtp_server.messages
        assert mail.to == [world.users[R.FUNDER]]
        assert not mail.message.is_multipart() and list(mail.message.iter_attachments()) == []
        assert mail.message.get_content_type() == "text/plain" and "attachment" not in str(mail.message)
        link = f"{PUBLIC_URL}/api/v1/aalten/exports/{run_id}/file"
        body = mail.body
        assert body.count(link) == 2 and run.sha256 in body  # Dutch, then English
        assert body.index("Beste funder") < body.index("Dear funder") and "niet als bijlage" in body
        assert run.content.decode("utf-8-sig")[:40] not in body
        assert "funder@" not in link and "Jansen" not in body
        assert run.status == DONE and _attempts(run_id) == [("email", "delivered", 250)]
        content = run.content
    # the link is the authenticated download: the funder's token gets the file, no token gets 401
    path = link.removeprefix(PUBLIC_URL)
    assert client.get(path).status_code == 401
    answer = client.get(path, headers=world.bearer(R.FUNDER))
    assert answer.status_code == 200 and answer.data == content


def test_an_email_export_without_public_url_or_with_a_refusing_mail_server_fails_with_the_reason(
        app, world, smtp_server, monkeypatch):
    with app.app_context(), cross_tenant_scope(READ_ALL):
        run_id, _, _, item_id = _stored(app, world, channel="email")
        monkeypatch.setitem(app.config, "PUBLIC_URL", None)
        with pytest.raises(BadData) as unset:
            run_item(item_id)
        assert "PUBLIC_URL" in unset.value.reason
        monkeypatch.setitem(app.config, "PUBLIC_URL", PUBLIC_URL)
        smtp_server.answer = "451 4.3.0 Try again later"
        with pytest.raises(Exception) as later:
            run_item(item_id)
        assert _transient(later.value)
        smtp_server.answer = None
        smtp_server.refuse_recipient = "550 5.1.1 no such user"
        with pytest.raises(BadData) as refused:
            run_item(item_id)
        assert "550" in refused.value.reason and "@" not in refused.value.reason
        if db.engine.dialect.name == "postgresql":
            assert _attempts(run_id) == [("email", "refused", None), ("email", "retry", 451),
                                         ("email", "refused", 550)]


# ----------------------------------------------------------------------------- the whole way

@pg
def test_the_dispatcher_and_a_real_worker_make_and_deliver_due_exports_and_retry_a_503(
        app, world, backend, redis_server, tmp_path, tmp_path_factory, monkeypatch):
    receiver = Receiver(tmp_path / "webhook", answers=[503]).start()
    try:
        scheduling_ = _scheduling(app, backend, tmp_path, tmp_path_factory, monkeypatch, redis_server.url, {},
                                  REDIS_URL=redis_server.url, PUBLIC_URL=PUBLIC_URL, **receiver.environ())
        scheduling = next(scheduling_)
        try:
            _deliver_through_a_worker(app, world, scheduling, receiver)
        finally:
            scheduling_.close()
    finally:
        receiver.stop()


def _deliver_through_a_worker(app, world, scheduling, receiver) -> None:
    with app.app_context(), cross_tenant_scope(READ_ALL):
        enable_policy(world.ids["aalten"], REPORTS)
        aalten = Scope(tenant_id=world.ids["aalten"])
        made = {channel: make_schedule(aalten, world.users[R.FUNDER], channel=channel, format="csv",
                                       **({"webhook_url": receiver.url} if channel == "webhook" else {}))
                for channel in ("download", "email", "webhook")}
        ids = {channel: schedule.id for channel, schedule in made.items()}
        for schedule_id in ids.values():
            backdate(schedule_id, utcnow() - timedelta(days=70))
        secret = db.session.scalar(select(ExportSchedule.webhook_secret).where(ExportSchedule.id == ids["webhook"]))
    scheduling.start_workers("alpha")
    started = time.monotonic()
    found = scheduling.dispatch()  # as beat does: the three exports fell due on the 1st of the month
    assert found.found["export"] == 3
    items = scheduling.wait_until_done(timeout=150, dispatch_every=0.5)
    exports = [i for i in items if i.kind in ("export", "export_delivery")]
    assert sorted(i.kind for i in exports) == ["export"] * 3 + ["export_delivery"] * 2, scheduling.explain()
    assert all(i.state == ITEM_DONE for i in exports), [(i.kind, i.state, i.error) for i in exports]
    webhook_item = next(i for i in exports if i.kind == "export_delivery" and i.attempts == 2)
    assert webhook_item.error is None
    # the receiver answered 503 first; the worker tried again after its backoff (30 s and more), with the same bytes
    first, second = receiver.wait_for(2)
    assert (first.answered, second.answered) == (503, 200) and first.body == second.body
    assert _signed(secret, first) and _signed(secret, second) and time.monotonic() - started >= 30
    with app.app_context(), cross_tenant_scope(READ_ALL):
        made = {channel: db.session.scalar(select(ExportRun).where(ExportRun.schedule_id == schedule_id))
                for channel, schedule_id in ids.items()}
        assert {channel: run.status for channel, run in made.items()} == dict.fromkeys(ids, DONE)
        assert second.body == made["webhook"].content
        assert second.headers["x-koppel-content-sha256"] == hashlib.sha256(second.body).hexdigest()
        assert _attempts(made["webhook"].id) == [("webhook", "retry", 503), ("webhook", "delivered", 200)]
        assert _attempts(made["email"].id) == [("email", "delivered", 250)]
        assert _attempts(made["download"].id) == [("download", "delivered", None)]
        last_month = (utcnow().astimezone(UTC).date().replace(day=1) - timedelta(days=1)).replace(day=1)
        assert all(run.period_start <= last_month for run in made.values())
        link = f"{PUBLIC_URL}/api/v1/aalten/exports/{made['email'].id}/file"
    mails = [m for m in scheduling.smtp.wait_for(1) if m.to == [world.users[R.FUNDER]]]
    assert len(mails) == 1 and link in mails[0].body and not mails[0].message.is_multipart()
    # nothing more to do: the next dispatch finds no export
    assert scheduling.dispatch().found["export"] == 0
