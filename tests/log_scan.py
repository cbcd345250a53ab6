"""A pytest plugin: no personal data that the tests write may appear in any log line.

For the whole session it keeps (a) every log record at every level, formatted as the log shows it
(traceback included, query strings cut as :mod:`core.logs` cuts them), werkzeug's access lines among them,
and (b) the personal data written to the database: the values of the columns in :data:`PERSONAL` of every
INSERT and UPDATE (ORM and Core alike), at least :data:`MIN_LENGTH` characters long. At the end the log
text is searched once for those values (an index on each value's longest word, then a substring check);
a value found fails the run, naming the value and the line (both cut short).
"""
from __future__ import annotations

import logging
import re
from collections import defaultdict

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.sql.dml import Insert, Update

#: Tables and their columns that hold personal data.
PERSONAL = {
    "family": ("display_name", "street", "postcode", "phone", "email", "referrer_name", "referrer_email",
               "referrer_phone"),
    "member": ("first_name", "last_name"),
    "user_account": ("email",),
    "referrer_notification": ("recipient",),
}
MIN_LENGTH = 5
SHOWN = 20  # leaks listed in the summary

_WORD = re.compile(r"\w+")


class _Lines(logging.Handler):
    """Keeps every record as its formatted text."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        from core import logs

        try:
            self.lines.append(logs.formatted(record))
        except Exception:  # noqa: BLE001 - a record that cannot be formatted: keep what it has
            self.lines.append(f"{record.name} {record.msg!r} {record.args!r}")


_lines = _Lines()
_values: set[str] = set()
_leaks: list[tuple[str, str]] = []


def _collect(row) -> None:
    if not isinstance(row, dict):
        return
    for value in row.values():
        if isinstance(value, str) and len(value.strip()) >= MIN_LENGTH:
            _values.add(value.strip())


def _before_execute(conn, clauseelement, multiparams, params, execution_options):
    if not isinstance(clauseelement, (Insert, Update)):
        return
    columns = PERSONAL.get(clauseelement.table.name)
    if not columns:
        return
    rows = [p for p in (multiparams or ()) for p in (p if isinstance(p, (list, tuple)) else [p])]
    rows += [params] if params else []
    if not rows:
        rows = [clauseelement.compile().params]
    for row in rows:
        if isinstance(row, dict):
            _collect({k: v for k, v in row.items() if k in columns})


def pytest_configure(config):
    from core import logs

    logs.add_handler(_lines)
    event.listen(Engine, "before_execute", _before_execute)


def find_leaks(lines: list[str], values: set[str]) -> list[tuple[str, str]]:
    """(value, line) for each value that appears in a line (case-insensitive)."""
    by_word: dict[str, list[str]] = defaultdict(list)
    for value in values:
        words = _WORD.findall(value.casefold())
        if words:
            by_word[max(words, key=len)].append(value)
    found, seen = [], set()
    for line in lines:
        folded = line.casefold()
        for word in set(_WORD.findall(folded)) & by_word.keys():
            for value in by_word[word]:
                if value not in seen and value.casefold() in folded:
                    seen.add(value)
                    found.append((value, line))
    return found


#: Lines and values scanned in pytest-xdist's workers, added up by the controller.
_workers = {"lines": 0, "values": 0}


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session, exitstatus):
    _leaks.extend(find_leaks(_lines.lines, _values))
    if hasattr(session.config, "workeroutput"):  # an xdist worker: the controller reports and fails the run
        session.config.workeroutput["log_scan"] = {"lines": len(_lines.lines), "values": len(_values),
                                                   "leaks": _leaks[:SHOWN * 10]}
    elif _leaks:
        session.exitstatus = 1


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """The controller under xdist: a worker's scan, added to the run's."""
    found = getattr(node, "workeroutput", {}).get("log_scan")
    if found:
        _workers["lines"] += found["lines"]
        _workers["values"] += found["values"]
        _leaks.extend(tuple(leak) for leak in found["leaks"])


def pytest_terminal_summary(terminalreporter):
    write = terminalreporter.write_line
    if hasattr(terminalreporter.config, "workeroutput"):
        return
    if not _leaks:
        write(f"log scan: {len(_lines.lines) + _workers['lines']} log lines, "
              f"{len(_values) + _workers['values']} personal values written: no value in a log")
        return
    terminalreporter.section("personal data in the log", sep="=", red=True, bold=True)
    for value, line in _leaks[:SHOWN]:
        write(f"{value[:40]!r} in: {line[:300]!r}")
    if len(_leaks) > SHOWN:
        write(f"... and {len(_leaks) - SHOWN} more values")
