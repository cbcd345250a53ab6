"""Mail: build one message, and send it by SMTP or (no ``SMTP_URL``) write it as an ``.eml`` file.

Every mail Koppel sends is made for one scheduled item. Its Message-ID comes
from the item's key (and a tag from ``SECRET_KEY``, so two installations never
share one): a mail sent again, because the transaction that sent it was
rolled back, has the same id and the same file name. The body is plain text,
Dutch first and then English when both are given.

A fault that may pass (no connection, a timeout, a 4xx answer) raises
:class:`MailUnavailable`, a :class:`~core.scheduling.registry.Transient`, so
the item is tried again; a refusal for good (a 5xx answer) raises
:class:`~core.scheduling.registry.BadData`. Neither text, nor any log line,
names an address.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app

from core.messages import Message, render
from core.scheduling.registry import ZONE, BadData, Transient
from core.types import utcnow

log = logging.getLogger(__name__)

#: Seconds to wait for the mail server at each step.
TIMEOUT = 30
#: The first line of a Dutch mail that has an English version below it.
ENGLISH_BELOW = "(English below)"
SEPARATOR = "-" * 60
FOOTER = Message("This message was sent automatically by Koppel. Replies to it are not read.")
DEFAULT_PORTS = {"smtps": 465, "starttls": 587, "smtp": 25}


class MailUnavailable(Transient):
    """The mail server cannot be reached or asks to try later; the item is tried again."""


def message_id(key: str) -> str:
    """The Message-ID of the mail made for the item with *key*: the same each time it is made."""
    secret = (current_app.config.get("SECRET_KEY") or "").encode()
    tag = hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()[:16]
    return f"<{_local_part(key)}.{tag}@{_domain()}>"


def compose(key: str, to: str, texts: dict[str, tuple[str, str]]) -> EmailMessage:
    """A text/plain mail to *to* for the item *key*; *texts* maps a language to its (subject, body), in the
    order they appear (Dutch first). The footer is added in each language."""
    languages = list(texts)
    subject = " / ".join(texts[language][0] for language in languages)
    parts = [f"{texts[language][1].rstrip()}\n\n{render(FOOTER, language)}" for language in languages]
    body = f"\n\n{SEPARATOR}\n\n".join(parts)
    if languages[0] != "en" and "en" in languages[1:]:
        body = f"{ENGLISH_BELOW}\n\n{body}"
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    try:
        message["To"] = to
        addresses = message["To"].addresses
    except (ValueError, IndexError):  # a line break or a malformed address
        addresses = ()
    if len(addresses) != 1 or not addresses[0].domain:
        raise BadData("the recipient is not one e-mail address")
    message["Subject"] = subject
    message["Date"] = format_datetime(utcnow().astimezone(ZONE))
    message["Message-ID"] = message_id(key)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no automatic replies
    message["X-Auto-Response-Suppress"] = "All"
    message.set_content(body + "\n", charset="utf-8", cte="quoted-printable")
    message["Content-Language"] = ", ".join(languages)  # after set_content, which drops Content-* headers
    return message


def send(message: EmailMessage) -> None:
    """Send *message* to its ``To`` by ``SMTP_URL``; unset, write it into ``MAIL_DIRECTORY``."""
    url = current_app.config.get("SMTP_URL")
    if url:
        _deliver(message, url)
        log.info("mail %s sent", message["Message-ID"])
    else:
        path = _write(message, Path(current_app.config["MAIL_DIRECTORY"]))
        log.info("mail %s written to %s (no SMTP_URL)", message["Message-ID"], path.name)


def _local_part(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", ".", key).strip(".") or "mail"


def _domain() -> str:
    address = parseaddr(current_app.config["MAIL_FROM"])[1]
    return address.rpartition("@")[2] or "koppel.invalid"


def _write(message: EmailMessage, directory: Path) -> Path:
    """Write *message* as ``<Message-ID's local part>.eml``, readable by its owner only (it holds personal data)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / (message["Message-ID"].strip("<>").partition("@")[0] + ".eml")
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as f:
        f.write(message.as_bytes())
    os.replace(temporary, path)
    return path


def _client(url: str) -> smtplib.SMTP:
    """A connection to the server of *url*, after STARTTLS and login when it asks for them."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
        user, password = unquote(parts.username or ""), unquote(parts.password or "")
        starttls = parse_qs(parts.query).get("starttls", ["false"])[-1].lower() in ("true", "1", "yes")
    except ValueError:
        host = None
    if not host:  # the URL itself is not repeated: it may hold a password
        raise BadData("SMTP_URL names no usable mail server (smtp://user:password@host:port)")
    context = ssl.create_default_context()
    if parts.scheme == "smtps":
        client = smtplib.SMTP_SSL(host, port or DEFAULT_PORTS["smtps"], timeout=TIMEOUT, context=context)
    else:
        client = smtplib.SMTP(host, port or DEFAULT_PORTS["starttls" if starttls else "smtp"], timeout=TIMEOUT)
    try:
        if starttls:
            client.starttls(context=context)
        if user:
            client.login(user, password)
    except BaseException:
        client.close()
        raise
    return client


def _deliver(message: EmailMessage, url: str) -> None:
    """Hand *message* to the server; its faults become :class:`MailUnavailable` or :class:`BadData`, without
    the server's text (it may quote the address)."""
    try:
        client = _client(url)
        try:
            client.send_message(message)
        finally:
            _close(client)
    except smtplib.SMTPRecipientsRefused as error:
        codes = sorted({code for code, _ in error.recipients.values()})
        if codes and all(400 <= code < 500 for code in codes):
            raise MailUnavailable(f"the mail server deferred the recipient ({codes[0]})") from None
        raise BadData(f"the mail server refused the recipient ({', '.join(map(str, codes))})") from None
    except smtplib.SMTPResponseException as error:  # sender, data, login, or the greeting refused
        if 400 <= error.smtp_code < 500:
            raise MailUnavailable(f"the mail server answered {error.smtp_code}; try later") from None
        what = "login" if isinstance(error, smtplib.SMTPAuthenticationError) else "message"
        raise BadData(f"the mail server refused the {what} ({error.smtp_code})") from None
    except smtplib.SMTPServerDisconnected:
        raise MailUnavailable("the mail server closed the connection") from None
    except smtplib.SMTPException as error:  # no STARTTLS or no login method that SMTP_URL needs
        raise BadData(f"the mail server does not offer what SMTP_URL asks ({type(error).__name__})") from None
    except OSError as error:  # refused, reset, timed out, no such host, TLS failed
        raise MailUnavailable(f"the mail server cannot be reached ({type(error).__name__})") from None


def _close(client: smtplib.SMTP) -> None:
    """Say goodbye; a server that answers QUIT badly has the mail already."""
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()
