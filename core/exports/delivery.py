"""Delivering a stored export file by its schedule's channel, and recording every attempt.

* ``download``: the file is stored and listed for the funder in the API;
  nothing is sent (recorded as delivered when it is made).
* ``email``: a mail to the funder's address with a **link** to the
  authenticated download (``PUBLIC_URL`` + ``/api/v1/.../exports/<id>/file``:
  ids only); never the file itself.
* ``webhook``: an HTTPS POST of the file to the schedule's address, signed
  (:mod:`core.exports.signing`), with the export's id, SHA-256 and media
  type in headers; the receiver's certificate is verified (the system's
  trusted certificates, and ``WEBHOOK_CA_FILE`` when set); no redirect is
  followed; ``WEBHOOK_TIMEOUT_SECONDS`` per attempt.

Delivery is a scheduled item of its own (kind ``export_delivery``, made in
the transaction that stores the file): a retry never makes the file again,
so what was sent once and what is sent again are the same bytes. A fault
that may pass (no connection, a timeout, a 5xx or 429 answer, a mail server
that defers) raises :class:`~core.scheduling.registry.Transient`, and the
runner tries again with backoff; a refusal for good (another 4xx, a
certificate that is not trusted, a redirect) raises
:class:`~core.scheduling.registry.BadData`. On PostgreSQL every attempt is
recorded at once in a transaction of its own, so a failed one stays after
the rollback that follows; SQLite lets one connection write at a time, so
there a failed attempt shows only as the scheduled item's error.
"""
from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import ssl
import time
from datetime import datetime
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import insert, select

from core import mail
from core.exports import access, signing
from core.exports.access import Scope
from core.exports.models import (CANCELLED, DELIVERED, DONE, DOWNLOAD, EMAIL, FAILED, PENDING, REFUSED, RETRY, WEBHOOK,
                                 ExportDelivery, ExportRun, ExportSchedule)
from core.extensions import db
from core.messages import Message, render
from core.scheduling.models import ScheduledItem
from core.scheduling.registry import BadData, Transient
from core.types import utcnow
from tenants import rls
from tenants.context import current_scope
from tenants.session import engine_for
from tenants.models import Consortium, Municipality

#: The kind of scheduled work that delivers a run (core/scheduling/exports.py).
KIND = "export_delivery"
USER_AGENT = "Koppel-Webhook/1"
#: What is read of a receiver's answer (it is not kept).
ANSWER_BYTES = 4096


class ReceiverUnavailable(Transient):
    """The webhook's receiver cannot be reached, took too long, or asked to try later (*status*: its answer)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class ReceiverRefused(BadData):
    """The webhook's receiver refused the export for good (*status*: its answer)."""

    def __init__(self, reason: str, status: int | None = None):
        super().__init__(reason)
        self.status = status


def key(run_id: int) -> str:
    return f"{KIND}:{run_id}"


def plan(run: ExportRun, *, send_now: bool = False) -> ScheduledItem | None:
    """The item that delivers *run* (made once; none when nothing waits to be sent). The caller commits; the
    dispatcher sends it within a minute, or with *send_now* the caller sends it itself after the commit
    (:func:`core.scheduling.status.send`)."""
    if run.status != PENDING:
        return None
    item = db.session.scalar(select(ScheduledItem).where(ScheduledItem.key == key(run.id)))
    if item is None:
        with Scope.of(run).entered():
            now = utcnow()
            item = ScheduledItem(kind=KIND, key=key(run.id), tenant_id=run.tenant_id, consortium_id=run.consortium_id,
                                 subject_id=run.id, due_at=now, enqueued_at=now if send_now else None)
            db.session.add(item)
            db.session.flush()
    return item


def deliver(run: ExportRun) -> None:
    """Send *run* by its schedule's channel, record the attempt, and mark the run done. A superseded run, or
    one whose schedule was deleted or deactivated since, is not sent (cancelled); nor is anything sent to a
    funder who no longer holds the funder role for the scope (refused). Inside the run's scope."""
    schedule = run.schedule
    if run.status == DONE:
        return
    if run.superseded_at is not None or schedule is None or not schedule.active:
        why = ("a newer version replaced it" if run.superseded_at is not None else
               "its schedule was deleted" if schedule is None else "its schedule was deactivated")
        record(run, run.channel, CANCELLED, None, f"not sent: {why} before it was sent; the file is kept",
               apart=False)
        run.status = FAILED
        db.session.flush()
        return
    if schedule.channel != DOWNLOAD and not access.is_funder(run.funder_id, Scope.of(run)):
        record(run, schedule.channel, REFUSED, None, "not sent: the funder no longer holds the funder role for this "
               "scope, or the account is inactive")
        raise BadData("the funder no longer holds the funder role for this scope, or the account is inactive")
    if schedule.channel == EMAIL:
        _attempt(run, EMAIL, lambda: _mail(run, schedule))
    elif schedule.channel == WEBHOOK:
        _attempt(run, WEBHOOK, lambda: _post(run, schedule))
    else:  # the schedule became a download since: the file is there
        record(run, DOWNLOAD, DELIVERED, apart=False)
    run.status = DONE
    db.session.flush()


def _attempt(run: ExportRun, channel: str, send) -> None:
    """Call *send* (which returns the reply code) and record how it ended; its faults propagate."""
    try:
        code = send()
    except Transient as error:
        record(run, channel, RETRY, _code(error), str(error))
        raise
    except BadData as error:
        record(run, channel, REFUSED, _code(error), error.reason)
        raise
    record(run, channel, DELIVERED, code)


def record(run: ExportRun, channel: str, outcome: str, status_code: int | None = None, error: str | None = None,
           *, apart: bool = True) -> None:
    """One attempt of *run*: with *apart*, on PostgreSQL, in a transaction of its own, at once (so that it
    outlives a rollback); otherwise (and on SQLite) in the current one."""
    values = {"tenant_id": run.tenant_id, "run_id": run.id, "channel": channel, "at": utcnow(), "outcome": outcome,
              "status_code": status_code, "error": error[:300] if error else None}
    if not apart or db.engine.dialect.name != "postgresql":
        db.session.add(ExportDelivery(**values))
        db.session.flush()
        return
    with engine_for(current_scope()).begin() as connection:  # a consortium's run: the cross role's engine
        rls.apply_scope(connection, current_scope())
        connection.execute(insert(ExportDelivery.__table__).values(**values))


def _code(error: Exception) -> int | None:
    """The receiver's HTTP status, or the reply code a mail fault names (``... (550)``, ``answered 451``)."""
    if getattr(error, "status", None) is not None:
        return error.status
    found = re.search(r"(?:\(|answered )([245]\d\d)\b", str(error))
    return int(found.group(1)) if found else None


# ----------------------------------------------------------------------------- e-mail

def download_path(run: ExportRun) -> str:
    """The API path of *run*'s file: ids and the scope's slug only."""
    if run.tenant_id is not None:
        slug = db.session.scalar(select(Municipality.slug).where(Municipality.id == run.tenant_id))
        return f"/api/v1/{slug}/exports/{run.id}/file"
    slug = db.session.scalar(select(Consortium.slug).where(Consortium.id == run.consortium_id))
    return f"/api/v1/consortia/{slug}/exports/{run.id}/file"


def _mail(run: ExportRun, schedule: ExportSchedule) -> int:
    """A mail with a link to the download, to the funder; the SMTP reply (250) when sent."""
    base = current_app.config.get("PUBLIC_URL")
    if not base:
        raise BadData("PUBLIC_URL is not set: a mail with a link to the export needs it")
    funder = schedule.funder
    link = base + download_path(run)
    scope_name = (db.session.scalar(select(Municipality.name).where(Municipality.id == run.tenant_id))
                  if run.tenant_id is not None else
                  db.session.scalar(select(Consortium.name).where(Consortium.id == run.consortium_id)))
    languages = ("en",) if funder.language == "en" else ("nl", "en")
    texts = {language: _text(run, funder.name, scope_name, link, language) for language in languages}
    mail.send(mail.compose(key(run.id), funder.email, texts))
    return 250 if current_app.config.get("SMTP_URL") else None  # the server's "250 OK", or a file (no SMTP_URL)


def _text(run: ExportRun, name: str, scope_name: str, link: str, language: str) -> tuple[str, str]:
    params = {"scope": scope_name, "start": run.period_start, "end": run.period_end}
    subject = render(Message("Koppel export of %(scope)s, %(start)s to %(end)s", params), language)
    lines = [
        render(Message("Dear %(name)s,", {"name": name}), language), "",
        render(Message("The export of %(scope)s for %(start)s to %(end)s is ready (%(format)s, version "
                       "%(version)s).", {**params, "format": run.format, "version": run.version}), language), "",
        render(Message("Download it from Koppel at this address; Koppel asks who you are first (your API token):"),
               language),
        link, "",
        render(Message("The file is not attached to this mail. Its SHA-256 checksum is %(sha256)s.",
                       {"sha256": run.sha256}), language),
    ]
    return subject, "\n".join(lines)


# ----------------------------------------------------------------------------- webhook

def _context() -> ssl.SSLContext:
    """Certificates are verified against the system's trusted ones, and ``WEBHOOK_CA_FILE``'s when set."""
    context = ssl.create_default_context()
    extra = current_app.config.get("WEBHOOK_CA_FILE")
    if extra:
        context.load_verify_locations(cafile=extra)
    return context


def webhook_headers(run: ExportRun, secret: str, body: bytes, now: datetime | None = None) -> dict:
    """The headers of *run*'s POST: media type, file name, timestamp, signature, export id and SHA-256."""
    timestamp = str(int((now or utcnow()).timestamp()))
    return {
        "Content-Type": run.media_type,
        "Content-Disposition": f'attachment; filename="{run.file_name}"',
        "User-Agent": USER_AGENT,
        signing.TIMESTAMP: timestamp,
        signing.SIGNATURE: signing.signature(secret, timestamp, body),
        signing.EXPORT_ID: str(run.id),
        signing.CONTENT_SHA256: run.sha256,
    }


def public_address(host: str, port: int) -> str:
    """The address *host* resolves to, refused (:class:`ReceiverRefused`) when any of its addresses is not public
    (private, loopback, link-local, reserved...) and not in ``WEBHOOK_PRIVATE_NETWORKS``: a webhook must not
    reach the platform's own network."""
    allowed = current_app.config.get("WEBHOOK_PRIVATE_NETWORKS") or ()
    found = {info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}
    for text in sorted(found):
        address = ipaddress.ip_address(text.split("%")[0])
        if not address.is_global and not any(address in network for network in allowed):
            raise ReceiverRefused("the receiver's address is not public (a private, loopback or reserved network); "
                                  "an operator can allow its network in WEBHOOK_PRIVATE_NETWORKS")
    return sorted(found)[0]


class _Pinned(http.client.HTTPSConnection):
    """An HTTPS connection to the address that was checked, not to a second lookup of the host name (which
    could answer differently); the certificate is still verified against the host name."""

    def __init__(self, host: str, address: str, port: int, **kwargs):
        super().__init__(host, port, **kwargs)
        self.address = address

    def connect(self):
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _post(run: ExportRun, schedule: ExportSchedule) -> int:
    """POST the file to the schedule's address; the receiver's HTTP status when it took it (2xx)."""
    parts = urlsplit(schedule.webhook_url or "")
    if parts.scheme != "https" or not parts.hostname:
        raise BadData("the webhook's address is not https://")
    body = bytes(run.content)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    timeout = current_app.config["WEBHOOK_TIMEOUT_SECONDS"]
    started = time.monotonic()
    try:
        address = public_address(parts.hostname, parts.port or 443)
    except OSError as error:  # no such host (yet): perhaps a DNS hiccup
        raise ReceiverUnavailable(f"the receiver's host cannot be found ({type(error).__name__})") from None
    connection = _Pinned(parts.hostname, address, parts.port or 443, timeout=timeout, context=_context())
    try:
        connection.request("POST", path, body=body, headers=webhook_headers(run, schedule.webhook_secret, body))
        response = connection.getresponse()
        response.read(ANSWER_BYTES)
        status = response.status
    except ssl.SSLCertVerificationError as error:
        raise BadData(f"the receiver's certificate is not trusted ({error.verify_message})") from None
    except TimeoutError:
        raise ReceiverUnavailable(f"the receiver did not answer within {timeout:g} s") from None
    except (OSError, http.client.HTTPException) as error:  # refused, reset, no such host, TLS failed
        raise ReceiverUnavailable(f"the receiver cannot be reached ({type(error).__name__} after "
                                  f"{time.monotonic() - started:.1f} s)") from None
    finally:
        connection.close()
    if 200 <= status < 300:
        return status
    if status == 429 or status >= 500:
        raise ReceiverUnavailable(f"the receiver answered {status}; try later", status)
    if 300 <= status < 400:
        raise ReceiverRefused(f"the receiver answered {status} (a redirect, which is not followed): give its final "
                              "address", status)
    raise ReceiverRefused(f"the receiver refused the export ({status})", status)
