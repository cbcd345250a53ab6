"""A pytest plugin: a real SMTP server (aiosmtpd) on 127.0.0.1, for tests of mail.

The fixture ``smtp_server`` starts one for the test, on a free port, and
points the app's ``SMTP_URL`` at it (restored afterwards). The server
accepts mail, with or without the login in :data:`LOGIN` (which its URL
carries), and keeps each mail as a :class:`Received`::

    def test_something(app, smtp_server):
        ...                                   # send a mail
        [mail] = smtp_server.messages
        assert mail.to == ["someone@example.org"] and "Koppel" in mail.message["Subject"]

To test faults: ``smtp_server.answer = "451 4.3.0 Try again later"`` makes
it refuse every mail with that answer (``refuse_recipient`` does so at RCPT),
``smtp_server.stop()`` closes the port (connection refused) and
``smtp_server.start()`` opens it again on the same port.

Without the ``app`` fixture (a Celery worker in a process of its own), use
:class:`SmtpServer` as a context manager and hand ``server.url`` to the
process as ``SMTP_URL`` (``server.environ()``). :meth:`SmtpServer.wait_for`
waits for mail sent from another process.

aiosmtpd's own log (logger ``mail.log``) names senders and recipients; it is
switched off when a server starts, so the log scan (tests/log_scan.py) sees
only what Koppel logs.
"""
from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

HOST = "127.0.0.1"
#: The login the test server accepts (``smtp://koppel:secret@127.0.0.1:<port>``).
LOGIN = ("koppel", "secret")


@dataclass
class Received:
    """One mail the server accepted: the envelope, the parsed message, and whether the client logged in."""

    mail_from: str
    to: list[str]
    message: EmailMessage
    authenticated: bool

    @property
    def body(self) -> str:
        return self.message.get_content()


class _Handler:
    def __init__(self, server: SmtpServer):
        self.server = server

    async def handle_RCPT(self, smtp, session, envelope, address, options):
        if self.server.refuse_recipient:
            return self.server.refuse_recipient
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp, session, envelope):
        if self.server.answer:
            return self.server.answer
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        self.server._received(Received(envelope.mail_from, list(envelope.rcpt_tos), message,
                                       bool(session.authenticated)))
        return "250 Message accepted for delivery"


def _authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login.decode(), auth_data.password.decode()) == LOGIN
    return AuthResult(success=ok)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass
class SmtpServer:
    """An SMTP server on 127.0.0.1 that keeps what it receives; ``answer``/``refuse_recipient`` make it refuse."""

    port: int = field(default_factory=_free_port)
    messages: list[Received] = field(default_factory=list)
    #: an SMTP answer to DATA instead of accepting ("451 ...", "554 ...")
    answer: str | None = None
    #: an SMTP answer to every RCPT TO ("550 5.1.1 No such user", "450 ...")
    refuse_recipient: str | None = None
    _controller: Controller | None = None
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    @property
    def url(self) -> str:
        return f"smtp://{LOGIN[0]}:{LOGIN[1]}@{HOST}:{self.port}"

    def environ(self) -> dict:
        """The environment for a process (a worker) that should send here."""
        return {"SMTP_URL": self.url}

    def start(self) -> SmtpServer:
        if self._controller is None:
            logging.getLogger("mail.log").disabled = True
            self._controller = Controller(_Handler(self), hostname=HOST, port=self.port, server_hostname="localhost",
                                          authenticator=_authenticate, auth_require_tls=False, ready_timeout=10)
            self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def clear(self) -> None:
        with self._arrived:
            self.messages.clear()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The mails once at least *count* have arrived (from another process); fails after *timeout* seconds."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.messages)} of {count} mails arrived within {timeout} s")
                self._arrived.wait(left)
            return list(self.messages)

    def _received(self, received: Received) -> None:
        with self._arrived:
            self.messages.append(received)
            self._arrived.notify_all()

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@pytest.fixture
def smtp_server(app):
    """A running :class:`SmtpServer`, with the app's ``SMTP_URL`` pointing at it for the test."""
    previous = app.config.get("SMTP_URL")
    with SmtpServer() as server:
        app.config["SMTP_URL"] = server.url
        try:
            yield server
        finally:
            app.config["SMTP_URL"] = previous
