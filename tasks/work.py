"""The tasks: the dispatcher (beat, every minute) and the one task that does an item."""
from __future__ import annotations

import logging
import random
import smtplib
import traceback

from celery import shared_task
from sqlalchemy.exc import DBAPIError, OperationalError

from core.scheduling import dispatch as dispatcher
from core.scheduling import runner
from core.scheduling.registry import BadData, Transient
from flask import current_app

from tasks.celery_app import limits

#: Faults that may pass: tried again with exponential backoff, then recorded as failed.
TRANSIENT = (Transient, OperationalError, smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError,
             smtplib.SMTPHeloError, ConnectionError, TimeoutError)
MAX_RETRIES = 5

log = logging.getLogger(__name__)


@shared_task(name="koppel.dispatch", ignore_result=True, acks_late=False)
def dispatch():
    """Find what is due in every municipality and send one task per item (after commit)."""
    out = dispatcher.dispatch()
    return {"new": out.new, "sent": len(out.tickets)}


def backoff(retries: int) -> float:
    """30 s, 60 s, 120 s ... at most 600 s (and half the visibility timeout), with up to 10 % jitter."""
    base = min(limits(current_app.config["BROKER_VISIBILITY_SECONDS"])[0], 30 * 2 ** retries)
    return base * (1 + random.random() / 10)


def _transient(error: BaseException) -> bool:
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500  # 4xx: try again later; 5xx: refused for good
    if isinstance(error, DBAPIError):
        return error.connection_invalidated or isinstance(error, OperationalError)
    return isinstance(error, TRANSIENT)


@shared_task(name="koppel.run_item", bind=True, ignore_result=True, max_retries=MAX_RETRIES)
def run_item(self, item_id: int, tenant_id: int | None = None, cross_scope: str | None = None):
    """Do one scheduled item in its tenant (entered by the task base from ``tenant_id``)."""
    try:
        return runner.run(item_id)
    except Exception as error:
        transient = _transient(error)
        if transient and self.request.retries < self.max_retries:
            countdown = backoff(self.request.retries)
            _record(item_id, error, final=False, retry_in=countdown)
            raise self.retry(countdown=countdown) from None
        if not transient and not isinstance(error, BadData):  # a bug: where, without the error's text
            frame = traceback.extract_tb(error.__traceback__)[-1]
            log.error("scheduled item %s: %s at %s:%s", item_id, runner.reason_of(error), frame.filename, frame.lineno)
        _record(item_id, error, final=True)
        return "failed"


def _record(item_id: int, error: BaseException, **how) -> None:
    """Record the attempt; when the database itself is down, the dispatcher's re-enqueue covers it."""
    try:
        runner.record_failure(item_id, runner.reason_of(error), **how)
    except DBAPIError as db_error:
        log.warning("scheduled item %s: attempt not recorded (%s)", item_id, type(db_error).__name__)
