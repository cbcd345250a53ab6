"""A real HTTPS receiver for export webhooks, with a certificate made for the test.

:func:`make_certificates` makes, with ``cryptography``, a test CA and a server
certificate for 127.0.0.1 and localhost signed by it. :class:`Receiver` is
``http.server`` behind that certificate, in a thread, on a free port: it
keeps every POST (:class:`Received`: path, headers, body) and answers with
the statuses in ``answers`` first (``[503, 503]``: twice "try later", then
200), after ``delay`` seconds when set. Koppel trusts the test CA through
``WEBHOOK_CA_FILE`` (``receiver.ca_file``); without it the certificate is
refused, as any unknown CA's is.

The fixture ``webhook_receiver`` runs one for the test and points the app's
``WEBHOOK_CA_FILE`` at its CA; a worker process gets ``receiver.environ()``.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOST = "127.0.0.1"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Koppel tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A test CA and a server certificate for 127.0.0.1 and localhost: (CA file, certificate, key), as PEM."""
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("Koppel test CA")).issuer_name(_name("Koppel test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    server = (x509.CertificateBuilder().subject_name(_name("localhost")).issuer_name(ca.subject)
              .public_key(key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
              .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                          x509.IPAddress(ipaddress.ip_address(HOST))]), critical=False)
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
    paths = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


@dataclass
class Received:
    """One POST the receiver got, and what it answered."""

    path: str
    headers: dict  # lower-case names
    body: bytes
    answered: int


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        receiver = self.server.receiver
        status = receiver._next_answer()
        if receiver.delay:
            time.sleep(receiver.delay)
        receiver._keep(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body, status))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):  # http.server writes every request to stderr
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: Receiver

    def handle_error(self, request, client_address):  # a client that gave up (a timeout, a refused certificate)
        pass


@dataclass
class Receiver:
    """An HTTPS server on 127.0.0.1 that keeps what it receives and answers ``answers`` first, then 200."""

    directory: Path
    answers: list[int] = field(default_factory=list)
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    port: int = 0
    _server: _Server | None = None
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self):
        self.ca_file, self.cert_file, self.key_file = make_certificates(self.directory)

    @property
    def url(self) -> str:
        return f"https://{HOST}:{self.port}/koppel/exports?source=koppel"

    def environ(self) -> dict:
        """The environment for a process (a worker) that should trust this receiver."""
        return {"WEBHOOK_CA_FILE": str(self.ca_file), "WEBHOOK_PRIVATE_NETWORKS": HOST}

    def start(self) -> Receiver:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        self._server = _Server((HOST, self.port), _Handler, bind_and_activate=False)
        self._server.allow_reuse_address = True
        self._server.server_bind()
        self._server.server_activate()
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._server.receiver = self
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def refused(self) -> bool:
        """Whether the port is closed (after :meth:`stop`)."""
        with socket.socket() as s:
            return s.connect_ex((HOST, self.port)) != 0

    def _next_answer(self) -> int:
        with self._arrived:
            return self.answers.pop(0) if self.answers else 200

    def _keep(self, received: Received) -> None:
        with self._arrived:
            self.received.append(received)
            self._arrived.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The POSTs once at least *count* have arrived (from another process); fails after *timeout* seconds."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.received)} of {count} webhook calls arrived within {timeout} s")
                self._arrived.wait(left)
            return list(self.received)

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@pytest.fixture
def webhook_receiver(app, tmp_path):
    """A running :class:`Receiver`, its CA trusted by the app (``WEBHOOK_CA_FILE``) for the test."""
    previous = app.config.get("WEBHOOK_CA_FILE"), app.config.get("WEBHOOK_PRIVATE_NETWORKS")
    with Receiver(tmp_path / "webhook") as receiver:
        app.config["WEBHOOK_CA_FILE"] = str(receiver.ca_file)
        app.config["WEBHOOK_PRIVATE_NETWORKS"] = (ipaddress.ip_network(HOST),)
        try:
            yield receiver
        finally:
            app.config["WEBHOOK_CA_FILE"], app.config["WEBHOOK_PRIVATE_NETWORKS"] = previous
