"""The demo: its data (regions, a user per role, programme data; the same after a second run), and what
``koppel demo`` prints: readable log lines in development, JSON lines in production, the framed banner
last, and nothing in the log that names a family."""
import http.cookiejar
import json
import logging
import os
import queue
import re
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from core import demo, logs
from core.auth.models import User
from core.config import ConfigError
from core.extensions import db

ROOT = Path(__file__).resolve().parent.parent
TEXT_LINE = re.compile(r"^\d\d:\d\d:\d\d (DEBUG|INFO|WARNING|ERROR|CRITICAL) +[\w.]+  \S")


def _counts(owner_engine):
    with owner_engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT set_config('koppel.cross_tenant', 'on', true)"))
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                for t in ("consortium", "municipality", "user_account", "membership", "family", "match",
                          "export_schedule", "export_run")}


def test_demo_seed_is_complete_and_idempotent(app, owner_engine):
    with app.app_context():
        rows = demo.seed()
    first = _counts(owner_engine)
    assert first["consortium"] == 2 and first["municipality"] == 11
    assert first["user_account"] == first["membership"] == len(demo.DEMO_USERS)
    assert first["family"] == 11 * demo.DEMO_FAMILIES and first["match"] > 0
    assert first["export_schedule"] == first["export_run"] == 1  # the demo funder's, with last month's file
    assert {role for _, role, _ in rows} == {"coordinator", "tenant_admin", "consortium_admin", "funder", "platform_admin"}
    with app.app_context():
        demo.seed()
        assert db.session.scalar(select(func.count()).select_from(User)) == len(demo.DEMO_USERS)
    assert _counts(owner_engine) == first
    client = app.test_client()
    login = client.post("/login", data={"email": "coordinator.doetinchem@koppel.example", "password": demo.DEMO_PASSWORD})
    assert login.status_code == 302 and login.headers["Location"].endswith("/login/code")
    import pyotp  # the demo users share the documented demo-only authenticator key

    assert client.post("/login/code", data={"code": pyotp.TOTP(demo.DEMO_TOTP_SECRET).now()}).status_code == 302
    assert client.get("/doetinchem/").status_code == 200


# --- the log format ----------------------------------------------------------------------------------

@pytest.mark.parametrize("env, log_format, expected", [
    ({"KOPPEL_ENV": "development"}, None, "text"),
    ({"KOPPEL_ENV": "testing"}, None, "text"),
    ({"KOPPEL_ENV": "production"}, None, "json"),
    ({}, None, "json"),  # no KOPPEL_ENV is production, as in the configuration
    ({"KOPPEL_ENV": "production"}, "text", "text"),
    ({"KOPPEL_ENV": "development"}, "JSON", "json"),
])
def test_log_format_follows_the_environment(monkeypatch, env, log_format, expected):
    monkeypatch.delenv("KOPPEL_ENV", raising=False)
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if log_format:
        monkeypatch.setenv("LOG_FORMAT", log_format)
    assert logs.default_format() == expected
    assert logs.default_format("development") == ("text" if not log_format else log_format.lower())


def test_an_unknown_log_format_is_refused(monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        logs.default_format()


def _record(name="koppel.web", msg="started %s", args=("ok",), **extra):
    record = logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, None)
    record.__dict__.update(extra)
    return record


def test_text_and_json_lines():
    line = logs.formatter("text").format(_record())
    assert TEXT_LINE.match(line) and line.endswith("INFO  koppel.web  started ok"), line
    audit = {"tenant_id": 3, "actor_user_id": 5, "actor_token_id": None, "actor": "someone@example.org",
             "action": "family.create", "object_type": "family", "object_id": "12", "ip": "127.0.0.1",
             "outcome": "success", "detail": {"kind": "requesting"}}
    line = logs.formatter("text").format(_record("koppel.audit", "audit", (), audit=audit))
    assert line.endswith("INFO  koppel.audit  audit family.create family 12 tenant=3 user=5 success"), line
    assert "@" not in line
    parsed = json.loads(logs.formatter("json").format(_record("koppel.audit", "audit", (), audit=audit)))
    assert parsed["level"] == "INFO" and parsed["name"] == "koppel.audit" and parsed["audit"] == audit


# --- koppel demo, run as a process ---------------------------------------------------------------------

class Demo:
    """``koppel demo --port 0`` in a process of its own; its stdout and stderr, merged, line by line."""

    def __init__(self, database: Path, **env):
        environment = {k: v for k, v in os.environ.items()
                       if k not in ("KOPPEL_ENV", "LOG_FORMAT", "LOG_LEVEL", "DATABASE_URL", "MIGRATION_DATABASE_URL",
                                    "REDIS_URL")}
        environment.update(DATABASE_URL=f"sqlite:///{database}", PYTHONUNBUFFERED="1", **env)
        self.lines: list[str] = []
        self._queue: queue.Queue = queue.Queue()
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from core.cli import main; main()", "demo", "--port", "0"], cwd=ROOT,
            env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8")
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, predicate, timeout=90.0) -> str:
        """Read lines until one satisfies *predicate*; that line."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
            if predicate(line):
                return line
        raise AssertionError("koppel demo did not print the expected line:\n" + "\n".join(self.lines))

    def started(self) -> str:
        """Wait for the banner's closing rule; the demo's address."""
        self.wait_for(lambda line: "Stop with Ctrl-C" in line)
        self.wait_for(lambda line: line.startswith("+-"))
        return re.search(r"running at (http://\S+/)", "\n".join(self.lines)).group(1)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


def _banner_span(lines: list[str]) -> tuple[int, int]:
    rules = [i for i, line in enumerate(lines) if line.startswith("+-") and line.endswith("-+")]
    assert len(rules) == 2, lines
    return rules[0], rules[1]


def _get(opener, url: str, data: dict | None = None) -> tuple[int, str]:
    try:
        with opener.open(url, data=urllib.parse.urlencode(data).encode() if data else None, timeout=20) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""


def _family_data(database: Path) -> list[str]:
    """Every family's name, every member's full name, every e-mail address of a family or its referrer."""
    with sqlite3.connect(database) as conn:
        names = [r[0] for r in conn.execute("SELECT display_name FROM family")]
        names += [f"{first} {last}" for first, last in conn.execute("SELECT first_name, last_name FROM member")]
        names += [r[0] for r in conn.execute(
            "SELECT email FROM family WHERE email IS NOT NULL UNION SELECT referrer_email FROM family "
            "WHERE referrer_email IS NOT NULL")]
    return names


@pytest.fixture(scope="module")
def demo_database(tmp_path_factory):
    return tmp_path_factory.mktemp("demo") / "koppel.sqlite3"


def test_koppel_demo_logs_text_in_development_and_shows_the_banner_last(demo_database):
    running = Demo(demo_database, KOPPEL_ENV="development")
    try:
        url = running.started()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        assert _get(opener, url + "healthz")[0] == 200
        running.wait_for(lambda line: "GET /healthz" in line)
        names = _family_data(demo_database)
        searched = next(n for n in names if " " in n and "@" not in n)
        # a search for a family by name (refused without a token: the request line is logged all the same)
        assert _get(opener, url + "api/v1/doetinchem/families?" + urllib.parse.urlencode({"q": searched}))[0] == 401
        running.wait_for(lambda line: "GET /api/v1/doetinchem/families" in line)
        _, page = _get(opener, url + "login")
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        status, _ = _get(opener, url + "login", {"csrf_token": csrf, "email": "coordinator.doetinchem@koppel.example",
                                                 "password": demo.DEMO_PASSWORD, "next": ""})
        assert status == 200  # after the redirect
        running.wait_for(lambda line: "auth.login" in line)
    finally:
        running.stop()
    lines = running.lines
    start, end = _banner_span(lines)
    started = lines[:lines.index(next(line for line in lines if "GET /healthz" in line))]
    # the banner is the last thing printed at start-up, after the log lines
    assert [line for line in started[end + 1:] if line.strip()] == []
    log_lines = [line for line in lines[:start] + lines[end + 1:] if line.strip()]
    assert any("alembic" in line or "koppel.audit" in line for line in lines[:start])
    assert any("Running on http://127.0.0.1:" in line for line in lines[:start])
    for line in log_lines:  # text: "12:01:02 INFO  werkzeug  ..." (the server's address continues a line)
        assert TEXT_LINE.match(line) or line.startswith(" * Running on"), line
    assert not any(line.lstrip().startswith("{") for line in log_lines)
    banner = "\n".join(lines[start:end + 1])
    assert demo.DEMO_PASSWORD in banner and all(email in banner for email, *_ in demo.DEMO_USERS)
    assert url in banner
    # nothing logged names a family (nor a demo user's e-mail: users are shown by id)
    logged = "\n".join(log_lines)
    assert "?..." in logged and urllib.parse.quote_plus(searched) not in logged
    assert not [n for n in names if n in logged]
    assert "@" not in logged
    assert re.search(r"koppel\.audit  audit auth\.login user=\d+ success", logged)
    assert "\x1b[" not in logged  # no terminal colours when the output is not a terminal


def test_koppel_demo_logs_json_in_production(demo_database):
    running = Demo(demo_database, KOPPEL_ENV="production", SECRET_KEY="a-production-secret-for-the-test-only-42",
                   FIELD_ENCRYPTION_KEYS="prod1:" + "A" * 43 + "=")
    try:
        url = running.started()
        assert _get(urllib.request.build_opener(), url + "api/v1/doetinchem/families?q=Jansen")[0] == 401
        running.wait_for(lambda line: "GET /api/v1/doetinchem/families" in line)
    finally:
        running.stop()
    lines = running.lines
    start, end = _banner_span(lines)
    assert lines[end + 1:] and not [line for line in lines[end + 1:] if "Running on" in line]
    log_lines = [line for line in lines[:start] + lines[end + 1:] if line.strip()]
    records = [json.loads(line) for line in log_lines]  # every log line is one JSON object
    assert all({"asctime", "level", "name", "message"} <= set(r) for r in records)
    started = [json.loads(line) for line in lines[:start] if line.strip()]
    assert any(r["name"] == "werkzeug" and "Running on" in r["message"] for r in started)
    request = next(r for r in records if r["name"] == "werkzeug" and "/families" in r["message"])
    assert "Jansen" not in request["message"] and "?..." in request["message"]
    assert not any(TEXT_LINE.match(line) for line in log_lines)
